package sqlguard

import (
	"reflect"
	"strings"
	"testing"
	"time"
)

func TestShared(t *testing.T) {
	const admin = `match(lower(http_path), '(^|/)(admin|internal)(/|$)')`
	for _, c := range []struct {
		name, q string
		want    SharedFilter
		wantOK  bool
	}{
		{"one read", `SELECT peer_ip, count() AS n FROM traces WHERE span_kind = 'Server' AND timestamp > now() - INTERVAL 15 MINUTE AND timestamp <= now() GROUP BY peer_ip`,
			SharedFilter{Conds: []string{"span_kind = 'Server'"}, Lookback: 15 * time.Minute, Upto: true}, true},
		{"subqueries share two terms", `SELECT peer_ip, count() AS n FROM traces
			WHERE span_kind = 'Server' AND ` + admin + ` AND peer_ip != '' AND timestamp > now() - INTERVAL 5 MINUTE AND timestamp <= now()
			  AND peer_ip NOT IN (SELECT peer_ip FROM traces WHERE span_kind='Server' AND timestamp > now() - INTERVAL 1 DAY
			      AND timestamp <= now() - INTERVAL 5 MINUTE AND  ` + admin + ` GROUP BY peer_ip HAVING count() > 5)
			GROUP BY peer_ip`,
			SharedFilter{Conds: []string{"span_kind = 'Server'", admin}, Lookback: 24 * time.Hour, Upto: true}, true},
		{"a filtered copy", `SELECT peer_ip, count() AS n FROM (SELECT * FROM traces WHERE NOT (peer_ip = ?)) AS traces WHERE http_method = 'GET' AND timestamp >= now() - INTERVAL 1 HOUR GROUP BY peer_ip`,
			SharedFilter{Conds: []string{"http_method = 'GET'"}, Lookback: time.Hour}, true},
		{"string spacing is kept", `SELECT count() AS n FROM traces WHERE http_path = '/a  b' AND timestamp > now() - INTERVAL 1 HOUR`,
			SharedFilter{Conds: []string{"http_path = '/a  b'"}, Lookback: time.Hour}, true},
		{"nothing shared", `SELECT count() AS n FROM traces WHERE http_method = 'GET' AND timestamp > now() - INTERVAL 1 HOUR AND peer_ip IN (SELECT peer_ip FROM traces WHERE http_method = 'POST' AND timestamp > now() - INTERVAL 1 HOUR)`, SharedFilter{}, false},
		{"no lower bound", `SELECT count() AS n FROM traces WHERE http_method = 'GET' AND timestamp <= now()`, SharedFilter{}, false},
		{"a read without WHERE", `SELECT count() AS n FROM traces WHERE http_method = 'GET' AND timestamp > now() - INTERVAL 1 HOUR AND peer_ip IN (SELECT peer_ip FROM traces)`, SharedFilter{}, false},
		{"an alias", `SELECT count() AS n FROM traces t WHERE t.http_method = 'GET' AND t.timestamp > now() - INTERVAL 1 HOUR`, SharedFilter{}, false},
		{"a join", `SELECT count() AS n FROM traces JOIN traces AS u ON traces.trace_id = u.trace_id WHERE http_method = 'GET' AND timestamp > now() - INTERVAL 1 HOUR`, SharedFilter{}, false},
		{"a top-level OR", `SELECT count() AS n FROM traces WHERE http_method = 'GET' OR timestamp > now() - INTERVAL 1 HOUR`, SharedFilter{}, false},
		{"terms with the time or a placeholder are not shared", `SELECT count() AS n FROM traces WHERE toHour(now()) = 3 AND peer_ip = ? AND timestamp > now() - INTERVAL 1 HOUR`, SharedFilter{}, false},
	} {
		got, ok := Shared(c.q)
		for _, at := range got.At {
			if !strings.EqualFold(c.q[at:at+len("traces")], "traces") {
				t.Errorf("%s: a read at %d is %q", c.name, at, c.q[at:])
			}
		}
		if ok && len(got.At) != strings.Count(c.q, "FROM traces") {
			t.Errorf("%s: reads at %v, want every FROM traces", c.name, got.At)
		}
		got.At = nil
		if ok != c.wantOK || !reflect.DeepEqual(got, c.want) {
			t.Errorf("%s: Shared() = %+v, %v; want %+v, %v", c.name, got, ok, c.want, c.wantOK)
		}
	}
}

func FuzzShared(f *testing.F) {
	f.Add(`SELECT count() AS n FROM traces WHERE http_method = 'GET' AND timestamp > now() - INTERVAL 1 HOUR`)
	f.Add(`SELECT count() FROM (SELECT * FROM traces WHERE NOT (a = ?)) AS traces WHERE b = 1 AND timestamp >= now() - INTERVAL 1 DAY GROUP BY c`)
	f.Add(`SELECT x FROM traces WHERE (SELECT 1 FROM traces WHERE a=1 AND timestamp > now() - INTERVAL 2 DAY) AND a=1 AND timestamp > now() - INTERVAL 1 DAY`)
	f.Fuzz(func(t *testing.T, q string) {
		got, ok := Shared(q)
		for _, at := range got.At {
			if !strings.EqualFold(q[at:at+len("traces")], "traces") {
				t.Errorf("Shared(%q): a read at %d is %q", q, at, q[at:])
			}
		}
		if ok && (len(got.Conds) == 0 || got.Lookback <= 0 || len(got.At) == 0) {
			t.Errorf("Shared(%q) = %+v, true: want conditions and a lookback", q, got)
		}
	})
}

func TestBounded(t *testing.T) {
	for _, c := range []struct {
		name, q  string
		lookback time.Duration
		ok       bool
	}{
		{"one window", `SELECT peer_ip, count() AS n FROM traces WHERE timestamp > now() - INTERVAL 15 MINUTE AND timestamp <= now() GROUP BY peer_ip`, 15 * time.Minute, true},
		{"reads that share nothing", `SELECT count() AS n FROM traces WHERE http_method = 'GET' AND timestamp > now() - INTERVAL 1 HOUR AND timestamp <= now()
			AND peer_ip NOT IN (SELECT peer_ip FROM traces WHERE http_method = 'POST' AND timestamp > now() - INTERVAL 1 DAY AND timestamp < now() - INTERVAL 1 HOUR)`, 24 * time.Hour, true},
		{"a filtered copy", `SELECT count() AS n FROM (SELECT * FROM traces WHERE NOT (peer_ip = ?)) AS traces WHERE timestamp >= now() - INTERVAL 1 HOUR AND timestamp < now()`, time.Hour, true},
		{"a read without an upper bound", `SELECT count() AS n FROM traces WHERE timestamp > now() - INTERVAL 1 HOUR AND timestamp <= now()
			AND peer_ip IN (SELECT peer_ip FROM traces WHERE timestamp > now() - INTERVAL 1 DAY)`, 0, false},
		{"no lower bound", `SELECT count() AS n FROM traces WHERE timestamp <= now()`, 0, false},
		{"no read", `SELECT 1 AS n`, 0, false},
	} {
		lb, ok := Bounded(c.q)
		if lb != c.lookback || ok != c.ok {
			t.Errorf("%s: Bounded() = %v, %v; want %v, %v", c.name, lb, ok, c.lookback, c.ok)
		}
	}
}
