package exclude

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/tracehound/tracehound/span"
	"github.com/tracehound/tracehound/sqlguard"
	"github.com/tracehound/tracehound/store"
)

// ruleShapes are rule queries of every shape the rewrite must handle,
// with how many reads of traces each has.
var ruleShapes = []struct {
	name string
	sql  string
	refs int
}{
	{"plain", `SELECT peer_ip, count() AS n FROM traces WHERE span_kind = 'Server' AND timestamp > now() - INTERVAL 3 HOUR GROUP BY peer_ip`, 1},
	{"alias", `SELECT t.http_path, count() AS n FROM traces t WHERE t.timestamp > now() - INTERVAL 3 HOUR GROUP BY t.http_path`, 1},
	{"as alias", `SELECT x.api_key_id, sum(x.response_bytes) AS b FROM traces AS x GROUP BY x.api_key_id`, 1},
	{"qualified by the table name", `SELECT traces.user_agent, count() AS n FROM traces GROUP BY traces.user_agent`, 1},
	{"quoted name", `SELECT status_code, count() AS n FROM "traces" GROUP BY status_code`, 1},
	{"cte", `WITH recent AS (SELECT * FROM traces WHERE timestamp > now() - INTERVAL 3 HOUR)
		SELECT peer_ip, count() AS n FROM recent GROUP BY peer_ip`, 1},
	{"two ctes", `WITH a AS (SELECT peer_ip FROM traces WHERE status_code >= 400), b AS (SELECT peer_ip FROM traces WHERE status_code < 400)
		SELECT (SELECT count() FROM a) AS bad, (SELECT count() FROM b) AS good`, 2},
	{"not in subquery", `SELECT peer_ip, count() AS n FROM traces WHERE http_path LIKE '/admin%'
		AND peer_ip NOT IN (SELECT peer_ip FROM traces WHERE http_path = '/health') GROUP BY peer_ip`, 2},
	{"self join", `SELECT a.peer_ip, count() AS n FROM traces a JOIN traces b ON a.trace_id = b.trace_id AND a.span_id != b.span_id GROUP BY a.peer_ip`, 2},
	{"comma join", `SELECT a.api_key_id, count() AS n FROM traces a, traces b WHERE a.peer_ip = b.peer_ip AND a.span_id = b.span_id GROUP BY a.api_key_id`, 2},
	{"left join subquery", `SELECT t.peer_ip, count() AS n, max(s.c) AS c FROM traces t LEFT JOIN (SELECT peer_ip, count() AS c FROM traces GROUP BY peer_ip) s ON s.peer_ip = t.peer_ip GROUP BY t.peer_ip`, 2},
	{"union", `SELECT peer_ip AS k, count() AS n FROM traces GROUP BY peer_ip UNION ALL SELECT http_path AS k, count() AS n FROM traces GROUP BY http_path`, 2},
	{"from first", `FROM traces SELECT http_path, count() AS n GROUP BY http_path`, 1},
	{"words in strings and comments", `SELECT count() AS n, 'FROM traces' AS s -- FROM traces
		FROM traces /* JOIN traces */ WHERE http_path != 'from traces'`, 1},
	{"extract from", `SELECT extract(hour FROM timestamp) AS h, count() AS n FROM traces GROUP BY h`, 1},
	{"in subquery in having", `SELECT peer_ip, count() AS n FROM traces GROUP BY peer_ip HAVING peer_ip IN (SELECT peer_ip FROM traces WHERE status_code = 401)`, 2},
}

func TestRewriteShapes(t *testing.T) {
	p := Predicate{SQL: "http_path = ?", Args: []any{"/health"}}
	g := sqlguard.New()
	for _, tc := range ruleShapes {
		t.Run(tc.name, func(t *testing.T) {
			if err := g.Check(tc.sql); err != nil {
				t.Fatalf("the rule itself is refused: %v", err)
			}
			sql, args, err := Rewrite(tc.sql, p)
			if err != nil {
				t.Fatalf("Rewrite = %v", err)
			}
			if got := strings.Count(sql, "NOT coalesce((http_path = ?), false)"); got != tc.refs || len(args) != tc.refs {
				t.Errorf("Rewrite filtered %d reads with %d arguments, want %d:\n%s", got, len(args), tc.refs, sql)
			}
			if err := g.Check(sql); err != nil {
				t.Errorf("the rewritten rule is refused by the guard: %v\n%s", err, sql)
			}
		})
	}
	if sql, args, err := Rewrite(ruleShapes[0].sql, Predicate{}); err != nil || sql != ruleShapes[0].sql || args != nil {
		t.Errorf("Rewrite with no predicate = %q %v %v, want the rule unchanged", sql, args, err)
	}
	if _, _, err := Rewrite("SELECT count() FROM traces WHERE peer_ip = ?", p); err == nil {
		t.Errorf("Rewrite of a rule with a placeholder = nil error")
	}
}

// differentialExclusions are exclusions Go can evaluate on spans.
var differentialExclusions = []Exclusion{
	{ID: "glob", Conditions: []Condition{{KindPathGlob, "/health*"}}},
	{ID: "segment", Conditions: []Condition{{KindPathGlob, "/api/*/status"}}},
	{ID: "deep", Conditions: []Condition{{KindPathGlob, "/admin/**"}}},
	{ID: "template", Conditions: []Condition{{KindPathGlob, "/v1/users/{id}"}}},
	{ID: "meta", Conditions: []Condition{{KindPathGlob, "/a+b/(c)"}}},
	{ID: "v4 range", Conditions: []Condition{{KindIPCIDR, "198.51.100.0/24"}}},
	{ID: "v4 address", Conditions: []Condition{{KindIPCIDR, "203.0.113.7"}}},
	{ID: "v6 range", Conditions: []Condition{{KindIPCIDR, "2001:db8::/32"}}},
	{ID: "v6 narrow", Conditions: []Condition{{KindIPCIDR, "2001:db8::/126"}}},
	{ID: "v6 address", Conditions: []Condition{{KindIPCIDR, "2001:db8::2"}}},
	{ID: "v6 loopback", Conditions: []Condition{{KindIPCIDR, "::1"}}},
	{ID: "v6 top", Conditions: []Condition{{KindIPCIDR, "2001:db8:ffff::/48"}}},
	{ID: "mixed list", Conditions: []Condition{{KindIPCIDR, "10.0.0.0/8, 2001:db8::1, 203.0.113.8"}}},
	{ID: "key", Conditions: []Condition{{KindAPIKey, "key_partner"}}},
	{ID: "ua glob", Conditions: []Condition{{KindUserAgent, "kube-probe/*"}}},
	{ID: "ua exact", Conditions: []Condition{{KindUserAgent, "kube-probe/1.29"}}},
	{ID: "status", Conditions: []Condition{{KindStatus, "4xx,503"}}},
	{ID: "all", Match: MatchAll, Conditions: []Condition{{KindPathGlob, "/admin/**"}, {KindIPCIDR, "198.51.100.0/24"}, {KindStatus, "2xx"}}},
	{ID: "any", Match: MatchAny, Conditions: []Condition{{KindAPIKey, "key_trial"}, {KindIPCIDR, "2001:db8::/32"}}},
}

// TestRewriteDifferential runs every rule shape rewritten with every
// exclusion over a store of all spans, and the rule itself over a store
// holding only the spans Go says the exclusion keeps: the results must be
// the same. This checks the SQL of each condition (globs, IPv4 and IPv6
// ranges in every spelling, statuses…) against its Go meaning, and that
// the rewrite filters every read of traces and nothing else.
func TestRewriteDifferential(t *testing.T) {
	if testing.Short() {
		t.Skip("opens DuckDB stores")
	}
	ctx := context.Background()
	spans := mixedSpans(1500)
	full := openStore(t, spans)
	at := testT0.Add(2 * time.Hour)
	for _, e := range differentialExclusions {
		e.Normalize()
		t.Run(e.ID, func(t *testing.T) {
			var kept []span.Span
			for _, s := range spans {
				m, known := e.Matches(fieldsOf(s))
				if !known {
					t.Fatalf("Go cannot evaluate %v", e.Conditions)
				}
				if !m {
					kept = append(kept, s)
				}
			}
			if len(kept) == len(spans) || len(kept) == 0 {
				t.Fatalf("the exclusion keeps %d of %d spans: the test would not tell", len(kept), len(spans))
			}
			filtered := openStore(t, kept)
			p, err := Compile(ctx, e, CompileOptions{})
			if err != nil {
				t.Fatal(err)
			}
			for _, r := range ruleShapes {
				bound, err := sqlguard.BindNow(r.sql, at)
				if err != nil {
					t.Fatal(err)
				}
				want, err := filtered.Query(ctx, bound, store.QueryOptions{})
				if err != nil {
					t.Fatalf("%s: %v", r.name, err)
				}
				sql, args, err := Rewrite(bound, p)
				if err != nil {
					t.Fatalf("%s: Rewrite = %v", r.name, err)
				}
				got, err := full.Query(ctx, sql, store.QueryOptions{}, args...)
				if err != nil {
					t.Fatalf("%s: rewritten rule: %v\n%s", r.name, err, sql)
				}
				if w, g := rowsText(want), rowsText(got); !slices.Equal(w, g) {
					t.Errorf("%s: the rewritten rule returns %d rows %.300v, the rule over the kept spans %d rows %.300v", r.name, len(g), g, len(w), w)
				}
			}
		})
	}
}

func TestKeep(t *testing.T) {
	p := Predicate{SQL: "coalesce(resource_attributes['tracehound.application'], '') IN ('shop')"}
	got, args, err := Keep("SELECT t.peer_ip, count() AS n FROM traces t JOIN traces ON t.trace_id = traces.trace_id WHERE t.status_code = ? GROUP BY t.peer_ip", p)
	if err != nil || len(args) != 0 {
		t.Fatalf("Keep = %q, %v, %v", got, args, err)
	}
	want := "SELECT t.peer_ip, count() AS n FROM (SELECT * FROM traces WHERE coalesce((" + p.SQL + "), false)) t JOIN (SELECT * FROM traces WHERE coalesce((" +
		p.SQL + "), false)) AS traces ON t.trace_id = traces.trace_id WHERE t.status_code = ? GROUP BY t.peer_ip"
	if got != want {
		t.Errorf("Keep =\n%s\nwant\n%s", got, want)
	}
	if _, _, err := Keep("SELECT count() FROM traces WHERE peer_ip = ?", Predicate{SQL: "peer_ip = ?", Args: []any{"x"}}); err == nil {
		t.Error("Keep with arguments over a query with placeholders: no error")
	}
	if same, _, _ := Keep("SELECT 1 FROM traces", Predicate{}); same != "SELECT 1 FROM traces" {
		t.Errorf("Keep with no predicate changed the query: %q", same)
	}
}
