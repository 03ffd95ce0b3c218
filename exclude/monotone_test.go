package exclude

import (
	"testing"
	"time"

	"github.com/tracehound/tracehound/alert"
)

func TestOnlyShrinks(t *testing.T) {
	const head = `SELECT peer_ip, count() AS n, countIf(status_code >= 500) AS errors, uniqExact(api_key_id) AS keys,
		sum(response_bytes) AS bytes, countIf(status_code >= 500) / count() AS ratio, max(response_bytes) AS biggest
		FROM traces WHERE span_kind = 'Server' AND timestamp > now() - INTERVAL 10 MINUTE AND timestamp <= now()
		GROUP BY peer_ip`
	tests := []struct {
		having string
		want   bool
	}{
		{"", true},
		{" HAVING count() >= 3", true},
		{" HAVING count() > 3", true},
		{" HAVING 3 <= count()", true},
		{" HAVING 3 < countIf(status_code >= 500)", true},
		{" HAVING n >= 3 AND keys >= 2", true},
		{" HAVING uniqExact(api_key_id) >= 2 AND max(response_bytes) >= 1000", true},
		{" HAVING biggest > 1.5", true},
		{" HAVING countIf(timestamp <= now() - INTERVAL 5 MINUTE) >= 3", true},
		// Removing rows can make these hold.
		{" HAVING count() < 3", false},
		{" HAVING count() <= 3", false},
		{" HAVING count() = 3", false},
		{" HAVING n >= 3 AND errors = 0", false},
		{" HAVING ratio >= 0.5", false},
		{" HAVING countIf(status_code >= 500) / count() >= 0.5", false},
		{" HAVING countIf(status_code >= 500) * 4 > count()", false},
		{" HAVING count() >= 3 * uniqExact(api_key_id)", false},
		{" HAVING min(response_bytes) >= 3", false},
		{" HAVING avg(response_bytes) >= 3", false},
		// A sum falls when a negative value is added.
		{" HAVING sum(response_bytes) >= 3", false},
		{" HAVING bytes >= 3", false},
		{" HAVING count() >= 3 OR n >= 5", false},
		{" HAVING max(timestamp) > now() - INTERVAL 1 MINUTE", false},
		{" HAVING count() >= -3", false},
		{" HAVING peer_ip >= 3", false},
	}
	for _, tt := range tests {
		r := alert.Rule{ID: "r", Interval: time.Minute, SQL: head + tt.having}
		if got := onlyShrinks(&r); got != tt.want {
			t.Errorf("onlyShrinks(…%s) = %v, want %v", tt.having, got, tt.want)
		}
	}
	// Not of the single-window shape: a NOT IN subquery grows with fewer
	// rows.
	semi := alert.Rule{ID: "s", Interval: time.Minute, SQL: `SELECT peer_ip, count() AS n FROM traces
		WHERE timestamp > now() - INTERVAL 10 MINUTE AND timestamp <= now()
		AND peer_ip NOT IN (SELECT peer_ip FROM traces WHERE timestamp > now() - INTERVAL 1 HOUR AND timestamp <= now() - INTERVAL 10 MINUTE)
		GROUP BY peer_ip HAVING count() >= 3`}
	if onlyShrinks(&semi) {
		t.Error("onlyShrinks(a NOT IN subquery) = true, want false")
	}
	want := map[string]bool{"api_key_many_ips": true, "bulk_reads_per_ip": false, "auth_failure_burst": false,
		"api_key_volume_spike": false, "error_rate_spike": false, "admin_endpoint_new_caller": false}
	for _, r := range alert.Builtin() {
		if w, ok := want[r.ID]; ok && onlyShrinks(&r) != w {
			t.Errorf("onlyShrinks(%s) = %v, want %v", r.ID, !w, w)
		}
	}
}

func TestFiredOnly(t *testing.T) {
	keys := groupKeys{exprs: []string{`"peer_ip"`, `"http_path"`}, names: []string{"peer_ip", "http_path"}}
	tc, _ := touchedFrom(keys, [][]any{{"192.0.2.1", "/a"}, {"192.0.2.1", "/b"}, {"192.0.2.2", "/a"}, {"192.0.2.3", "/c"}})
	fired := []alert.Firing{
		{Labels: map[string]string{"peer_ip": "192.0.2.1", "http_path": "/b"}},
		{Labels: map[string]string{"peer_ip": "192.0.2.1", "http_path": "/b"}}, // fired twice
		{Labels: map[string]string{"peer_ip": "192.0.2.3", "http_path": "/c"}},
		{Labels: map[string]string{"peer_ip": "192.0.2.9", "http_path": "/a"}}, // not touched
	}
	got, ok := tc.firedOnly(fired)
	if !ok || got.groups != 2 {
		t.Fatalf("firedOnly = %d groups, %v; want 2, true", got.groups, ok)
	}
	keep := got.keep()
	if want := `"peer_ip" IN (?, ?) AND "http_path" IN (?, ?)`; keep.SQL != want {
		t.Errorf("keep = %s, want %s", keep.SQL, want)
	}
	if want := []any{"192.0.2.1", "192.0.2.3", "/b", "/c"}; len(keep.Args) != 4 || keep.Args[0] != want[0] || keep.Args[1] != want[1] ||
		keep.Args[2] != want[2] || keep.Args[3] != want[3] {
		t.Errorf("keep args = %v, want %v", keep.Args, want)
	}
	// A key the labels lack: nothing is known.
	if _, ok := tc.firedOnly([]alert.Firing{{Labels: map[string]string{"peer_ip": "192.0.2.1"}}}); ok {
		t.Error("firedOnly(labels without http_path) ok, want not")
	}
	if got, ok := tc.firedOnly(nil); !ok || got.groups != 0 {
		t.Errorf("firedOnly(none fired) = %d groups, %v; want 0, true", got.groups, ok)
	}
}
