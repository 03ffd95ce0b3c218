package sqlguard

import (
	"errors"
	"strings"
	"testing"
	"time"
)

func TestParseWindowed(t *testing.T) {
	q := `SELECT peer_ip,
	       countIf(status_code >= 200 AND status_code < 300) AS successes,
	       sum(response_bytes) AS bytes_read,
	       avg(response_bytes) AS avg_response_bytes,
	       uniqExact(http_path) AS paths,
	       count(DISTINCT if(http_route != '', http_route, http_path)) endpoints,
	       left(peer_ip, 3) AS prefix,
	       [1, 2] AS pair
	FROM traces
	WHERE span_kind = 'Server'
	  AND timestamp > now() - INTERVAL 1 HOUR AND timestamp <= now()
	  AND status_code BETWEEN 100 AND 599
	  AND NOT (peer_ip LIKE '10.%' OR peer_ip = '::1')
	GROUP BY peer_ip, prefix
	HAVING successes >= 100 AND count() > 3 AND bytes_read >= 50000000;`
	w, err := ParseWindowed(q)
	if err != nil {
		t.Fatal(err)
	}
	if w.From != "traces" || w.Window != time.Hour || w.LowerInclusive || !w.UpperInclusive {
		t.Errorf("from %q window %v %v %v", w.From, w.Window, w.LowerInclusive, w.UpperInclusive)
	}
	wantWhere := []string{"span_kind = 'Server'", "status_code BETWEEN 100 AND 599", "NOT (peer_ip LIKE '10.%' OR peer_ip = '::1')"}
	if strings.Join(w.Where, "|") != strings.Join(wantWhere, "|") {
		t.Errorf("where %q, want %q", w.Where, wantWhere)
	}
	var names, exprs []string
	for _, c := range w.Columns {
		names = append(names, c.Alias)
		exprs = append(exprs, c.Expr.String())
	}
	if got := strings.Join(names, ","); got != "peer_ip,successes,bytes_read,avg_response_bytes,paths,endpoints,prefix,pair" {
		t.Errorf("columns %s", got)
	}
	if exprs[1] != "countIf(status_code >= 200 AND status_code < 300)" || exprs[5] != "count(DISTINCT if(http_route != '', http_route, http_path))" || exprs[6] != "left(peer_ip, 3)" {
		t.Errorf("expressions %q", exprs)
	}
	if len(w.GroupBy) != 2 || w.GroupBy[0].Identifier() != "peer_ip" || w.GroupBy[1].Identifier() != "prefix" {
		t.Errorf("group by %v", w.GroupBy)
	}
	if len(w.HavingTerms) != 3 || w.HavingTerms[1].String() != "count() > 3" || !w.HavingTerms[1].HasAggregate() || w.HavingTerms[0].HasAggregate() {
		t.Errorf("having terms %q", w.HavingTerms)
	}
	if w.Having.String() != "successes >= 100 AND count() > 3 AND bytes_read >= 50000000" {
		t.Errorf("having %q", w.Having.String())
	}

	// Exclusions' filtered traces, other interval spellings and bounds.
	w, err = ParseWindowed(`SELECT api_key_id, uniqExact(peer_ip) AS ips FROM (SELECT * FROM traces WHERE NOT coalesce((peer_ip = ?), false)) AS traces
		WHERE traces.timestamp >= now() - INTERVAL '15 minutes' AND timestamp < now() GROUP BY api_key_id`)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(w.From, "(SELECT * FROM traces WHERE NOT") || w.Window != 15*time.Minute || !w.LowerInclusive || w.UpperInclusive || len(w.Where) != 0 || w.Having != nil {
		t.Errorf("%+v", w)
	}
	if w, err = ParseWindowed(`SELECT peer_ip, count() AS n FROM traces WHERE timestamp > now() - toIntervalMinute(5) AND timestamp <= now() GROUP BY peer_ip`); err != nil || w.Window != 5*time.Minute {
		t.Errorf("toIntervalMinute: %v %+v", err, w)
	}

	// Time bounds inside a condition narrow an aggregate to part of the
	// window.
	w, err = ParseWindowed(`SELECT service_name,
		countIf(timestamp > now() - INTERVAL 5 MINUTE) AS recent,
		countIf(timestamp <= now() - INTERVAL 5 MINUTE AND status_code >= 500 AND http_method = 'GET') AS older_errors,
		sumIf(response_bytes, timestamp >= now() - INTERVAL 10 MINUTE AND timestamp < now() - INTERVAL 2 MINUTE) AS middle
		FROM traces WHERE timestamp > now() - INTERVAL 65 MINUTE AND timestamp <= now() GROUP BY service_name`)
	if err != nil {
		t.Fatal(err)
	}
	aggs := []*Aggregate{w.Columns[1].Expr[0].Agg, w.Columns[2].Expr[0].Agg, w.Columns[3].Expr[0].Agg}
	if a := aggs[0]; a.Args[0] != "true" || a.Newer != 5*time.Minute || a.NewerInclusive || a.Older != 0 {
		t.Errorf("recent: %+v", a)
	}
	if a := aggs[1]; a.Args[0] != "(status_code >= 500) AND (http_method = 'GET')" || a.Older != 5*time.Minute || !a.OlderInclusive || a.Newer != 0 {
		t.Errorf("older_errors: %+v", a)
	}
	if a := aggs[2]; a.Args[0] != "response_bytes" || a.Args[1] != "true" || a.Newer != 10*time.Minute || !a.NewerInclusive || a.Older != 2*time.Minute || a.OlderInclusive {
		t.Errorf("middle: %+v", a)
	}
}

func TestParseWindowedRefuses(t *testing.T) {
	for _, q := range []string{
		`SELECT peer_ip, count() AS n FROM traces WHERE timestamp > now() - INTERVAL 5 MINUTE GROUP BY peer_ip`,
		`SELECT peer_ip, count() AS n FROM traces WHERE timestamp <= now() GROUP BY peer_ip`,
		`SELECT peer_ip, count() AS n FROM traces WHERE timestamp > now() - INTERVAL 5 MINUTE AND timestamp <= now() OR 1 = 1 GROUP BY peer_ip`,
		`SELECT peer_ip, countIf(timestamp > now() - INTERVAL 1 MINUTE OR status_code = 500) AS n FROM traces WHERE timestamp > now() - INTERVAL 5 MINUTE AND timestamp <= now() GROUP BY peer_ip`,
		`SELECT peer_ip, sum(if(timestamp > now() - INTERVAL 1 MINUTE, 1, 0)) AS n FROM traces WHERE timestamp > now() - INTERVAL 5 MINUTE AND timestamp <= now() GROUP BY peer_ip`,
		`SELECT peer_ip, count() / dateDiff('minute', min(timestamp), today()) AS n FROM traces WHERE timestamp > now() - INTERVAL 5 MINUTE AND timestamp <= now() GROUP BY peer_ip`,
		`SELECT peer_ip, toStartOfHour(now()) AS h, count() AS n FROM traces WHERE timestamp > now() - INTERVAL 5 MINUTE AND timestamp <= now() GROUP BY peer_ip, h`,
		`SELECT peer_ip, count() AS n FROM traces WHERE timestamp > now() - INTERVAL 5 MINUTE AND timestamp <= now() GROUP BY peer_ip, toHour(now())`,
		`SELECT peer_ip, max(timestamp) > now() - INTERVAL 1 MINUTE AS n FROM traces WHERE timestamp > now() - INTERVAL 5 MINUTE AND timestamp <= now() GROUP BY peer_ip HAVING n AND now` + "(1)" + ` > 0`,
		`SELECT peer_ip, count() AS n FROM traces WHERE timestamp > now() - INTERVAL 5 MINUTE AND timestamp <= now() AND peer_ip NOT IN (SELECT peer_ip FROM traces) GROUP BY peer_ip`,
		`SELECT peer_ip, count() AS n FROM traces WHERE timestamp > now() - INTERVAL 5 MINUTE AND timestamp <= now() GROUP BY peer_ip ORDER BY n DESC`,
		`SELECT peer_ip, count() AS n FROM traces WHERE timestamp > now() - INTERVAL 5 MINUTE AND timestamp <= now() GROUP BY peer_ip LIMIT 3`,
		`SELECT peer_ip, quantile(0.9)(duration_ns) AS p FROM traces WHERE timestamp > now() - INTERVAL 5 MINUTE AND timestamp <= now() GROUP BY peer_ip`,
		`SELECT peer_ip, any(http_path) AS p FROM traces WHERE timestamp > now() - INTERVAL 5 MINUTE AND timestamp <= now() GROUP BY peer_ip`,
		`SELECT peer_ip, avgIf(duration_ns, status_code = 200) AS p FROM traces WHERE timestamp > now() - INTERVAL 5 MINUTE AND timestamp <= now() GROUP BY peer_ip`,
		`SELECT peer_ip, count() FROM traces WHERE timestamp > now() - INTERVAL 5 MINUTE AND timestamp <= now() GROUP BY peer_ip`,
		`SELECT * FROM traces WHERE timestamp > now() - INTERVAL 5 MINUTE AND timestamp <= now() GROUP BY peer_ip`,
		`SELECT DISTINCT peer_ip FROM traces WHERE timestamp > now() - INTERVAL 5 MINUTE AND timestamp <= now() GROUP BY peer_ip`,
		`SELECT t.peer_ip, count() AS n FROM traces t JOIN traces u ON t.trace_id = u.trace_id WHERE timestamp > now() - INTERVAL 5 MINUTE AND timestamp <= now() GROUP BY t.peer_ip`,
		`SELECT peer_ip, count() AS n FROM spans WHERE timestamp > now() - INTERVAL 5 MINUTE AND timestamp <= now() GROUP BY peer_ip`,
		`SELECT peer_ip, count() AS n FROM traces WHERE timestamp > now() - INTERVAL 5 MINUTE AND timestamp <= now()`,
		`SELECT peer_ip, count() AS n FROM traces WHERE timestamp > now() - INTERVAL 5 MINUTE AND timestamp <= now() AND peer_ip = ? GROUP BY peer_ip`,
		`SELECT peer_ip, count() OVER () AS n FROM traces WHERE timestamp > now() - INTERVAL 5 MINUTE AND timestamp <= now() GROUP BY peer_ip`,
		`SELECT peer_ip, count() FILTER (WHERE status_code = 200) AS n FROM traces WHERE timestamp > now() - INTERVAL 5 MINUTE AND timestamp <= now() GROUP BY peer_ip`,
		`SELECT peer_ip, count() AS n FROM traces WHERE timestamp > now() - INTERVAL 5 MINUTE AND timestamp <= now() GROUP BY 1`,
		`SELECT peer_ip, count() AS n FROM traces WHERE timestamp > now() - INTERVAL 5 MONTH AND timestamp <= now() GROUP BY peer_ip`,
		`SELECT peer_ip, count() AS n FROM traces WHERE timestamp > now() - INTERVAL 5 MINUTE AND timestamp <= now() GROUP BY peer_ip; DROP TABLE traces`,
		`SELECT peer_ip, sum(count()) AS n FROM traces WHERE timestamp > now() - INTERVAL 5 MINUTE AND timestamp <= now() GROUP BY peer_ip`,
		`WITH x AS (SELECT 1) SELECT peer_ip, count() AS n FROM traces WHERE timestamp > now() - INTERVAL 5 MINUTE AND timestamp <= now() GROUP BY peer_ip`,
	} {
		if w, err := ParseWindowed(q); !errors.Is(err, ErrNotWindowed) {
			t.Errorf("ParseWindowed(%s) = %+v, %v; want ErrNotWindowed", q, w, err)
		}
	}
}

func FuzzParseWindowed(f *testing.F) {
	f.Add(`SELECT peer_ip, count() AS n FROM traces WHERE timestamp > now() - INTERVAL 5 MINUTE AND timestamp <= now() GROUP BY peer_ip HAVING n > 3`)
	f.Add(`SELECT a, uniqExact(b, c) AS u, sumIf(x, y BETWEEN 1 AND 2) s FROM (SELECT * FROM traces WHERE NOT coalesce((a = ?), false)) AS traces WHERE timestamp >= now() - INTERVAL '1 hour' AND timestamp < now() GROUP BY a`)
	f.Fuzz(func(t *testing.T, q string) {
		w, err := ParseWindowed(q)
		if err != nil {
			if !errors.Is(err, ErrNotWindowed) {
				t.Fatalf("error %v does not wrap ErrNotWindowed", err)
			}
			return
		}
		if w.Window <= 0 || len(w.Columns) == 0 || len(w.GroupBy) == 0 {
			t.Fatalf("accepted %q as %+v", q, w)
		}
		for _, c := range w.Columns {
			if c.Alias == "" {
				t.Fatalf("unnamed column in %q", q)
			}
			for _, p := range c.Expr {
				if p.Agg != nil && !supportedAggregates[p.Agg.Name] {
					t.Fatalf("unsupported aggregate %s accepted", p.Agg.Name)
				}
			}
		}
	})
}

func TestParseWindowedNow(t *testing.T) {
	q := `SELECT api_key_id,
	       countIf(timestamp > now() - INTERVAL 15 MINUTE) AS recent,
	       countIf(timestamp <= now() - INTERVAL 15 MINUTE)
	         / greatest(dateDiff('minute', min(timestamp), now() - INTERVAL 15 MINUTE) / 15.0, 1.0) AS baseline
	FROM traces
	WHERE timestamp > now() - INTERVAL 1 DAY AND timestamp <= now()
	GROUP BY api_key_id
	HAVING recent >= 200 AND recent > 10 * baseline AND max(timestamp) > now() - INTERVAL 5 MINUTE`
	w, err := ParseWindowed(q)
	if err != nil {
		t.Fatal(err)
	}
	if !w.UsesNow || w.Columns[1].Expr.UsesNow() || !w.Columns[2].Expr.UsesNow() || !w.Having.UsesNow() {
		t.Errorf("UsesNow = %v, columns %v %v, having %v; want the baseline and the HAVING", w.UsesNow, w.Columns[1].Expr.UsesNow(), w.Columns[2].Expr.UsesNow(), w.Having.UsesNow())
	}
	var nows int
	for _, p := range w.Columns[2].Expr {
		if p.Now {
			nows++
		}
	}
	if got := w.Columns[2].Expr.String(); nows != 1 || !strings.Contains(got, "min(timestamp), now() - INTERVAL 15 MINUTE)") {
		t.Errorf("baseline = %q with %d now() parts, want its text back and one", got, nows)
	}
	w, err = ParseWindowed(`SELECT peer_ip, count() AS n FROM traces WHERE timestamp > now() - INTERVAL 5 MINUTE AND timestamp <= now() GROUP BY peer_ip`)
	if err != nil || w.UsesNow {
		t.Errorf("a plain window: UsesNow %v, %v", w.UsesNow, err)
	}
}
