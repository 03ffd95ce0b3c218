package alert

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/tracehound/tracehound/sqlguard"
)

// semiRules are sliding rules with WHERE terms "key [NOT] IN (subquery)".
var semiRules = []string{
	// A caller new to an endpoint (nothing from it in the window's first
	// 40 minutes) that few others use.
	`SELECT peer_ip, service_name,
	        http_method || ' ' || if(http_route != '', http_route, http_path) AS endpoint,
	        count() AS requests, sum(response_bytes) AS bytes_read
	 FROM traces
	 WHERE span_kind = 'Server'
	   AND timestamp > now() - INTERVAL 1 HOUR AND timestamp <= now()
	   AND http_method || ' ' ||if(http_route != '', http_route, http_path) NOT IN (
	     SELECT http_method || ' ' || if(http_route != '', http_route, http_path)
	     FROM traces
	     WHERE span_kind = 'Server'
	       AND timestamp > now() - INTERVAL 2 HOUR AND timestamp <= now() - INTERVAL 30 MINUTE
	     GROUP BY 1
	     HAVING uniqExact(peer_ip) > 45)
	 GROUP BY peer_ip, service_name, endpoint
	 HAVING count() >= 3 AND countIf(timestamp <= now() - INTERVAL 20 MINUTE) = 0`,
	// Busy callers that also failed to log in lately.
	`SELECT peer_ip, count() AS requests, sum(response_bytes) AS bytes_read
	 FROM traces
	 WHERE timestamp > now() - INTERVAL 5 MINUTE AND timestamp <= now()
	   AND peer_ip IN (SELECT peer_ip FROM traces
	                   WHERE timestamp > now() - INTERVAL 30 MINUTE AND timestamp <= now() AND status_code = 401
	                   GROUP BY peer_ip HAVING count() >= 3)
	 GROUP BY peer_ip
	 HAVING count() >= 12`,
}

// excluding is a rewriter that filters every read of traces, as
// exclusions do, with cond and its arguments once per read.
func excluding(cond string, args ...any) Rewriter {
	return func(r *Rule) (string, []any, error) {
		var all []any
		for range strings.Count(r.SQL, "FROM traces") {
			all = append(all, args...)
		}
		return strings.ReplaceAll(r.SQL, "FROM traces", "FROM (SELECT * FROM traces WHERE NOT coalesce(("+cond+"), false)) AS traces"), all, nil
	}
}

func TestSemiJoinSlidingMatchesStepByStep(t *testing.T) {
	traces := openTraces(t)
	mixedTraffic(t, traces)
	ctx := context.Background()
	from, to := t0.Add(20*time.Minute), t0.Add(5*time.Hour)
	// An exclusion filters every read, with its arguments once per read.
	exclude := excluding("peer_ip = ? OR api_key_id = ?", "198.51.100.7", "key-3")
	for i, sql := range semiRules {
		for _, tc := range []struct {
			step    time.Duration
			rewrite Rewriter
		}{{time.Minute, nil}, {5 * time.Minute, nil}, {time.Minute, exclude}} {
			r := Rule{ID: fmt.Sprintf("s%d", i), Name: "semi", Interval: tc.step, Severity: "low", SQL: sql, For: tc.step}
			name := fmt.Sprintf("%s/%v/rewrite=%v", r.ID, tc.step, tc.rewrite != nil)
			opts := BacktestOptions{From: from, To: to, Step: tc.step, Rewrite: tc.rewrite}
			sliding := slidesLikeSteps(t, name, traces, r, opts)
			// The subquery must matter: without it the rule fires more.
			rest, _, ok := sqlguard.SplitSemiJoins(sql)
			if !ok {
				t.Fatalf("%s: not split", name)
			}
			r.SQL = rest
			all, err := Backtest(ctx, traces, r, opts)
			if err != nil {
				t.Fatalf("%s: without the subquery: %v", name, err)
			}
			if len(all.Firings) <= len(sliding.Firings) {
				t.Errorf("%s: %d firings without the subquery, %d with it; the test must filter something", name, len(all.Firings), len(sliding.Firings))
			}
		}
	}
}

func TestPlanSemiSlidingRefuses(t *testing.T) {
	for _, sql := range []string{
		// The key is no column.
		`SELECT peer_ip, count() AS n FROM traces WHERE timestamp > now() - INTERVAL 5 MINUTE AND timestamp <= now()
		   AND api_key_id IN (SELECT api_key_id FROM traces) GROUP BY peer_ip`,
		// The key is an aggregate column.
		`SELECT peer_ip, count() AS n FROM traces WHERE timestamp > now() - INTERVAL 5 MINUTE AND timestamp <= now()
		   AND count() IN (SELECT 1) GROUP BY peer_ip`,
		// The rest is not windowed.
		`SELECT peer_ip, count() AS n FROM traces WHERE timestamp > now() - INTERVAL 5 MINUTE
		   AND peer_ip IN (SELECT peer_ip FROM traces) GROUP BY peer_ip`,
		// No subquery at all.
		`SELECT peer_ip, count() AS n FROM traces WHERE timestamp > now() - INTERVAL 5 MINUTE AND timestamp <= now() GROUP BY peer_ip`,
	} {
		if _, err := planSemiSliding(nil, &Rule{ID: "r", SQL: sql}); err == nil {
			t.Errorf("planSemiSliding(%s) = nil error", sql)
		}
	}
}

// TestSemiJoinTooManyCandidatesFallsBack replays a rule whose part
// without its subquery matches more groups than the limit allows: the
// replay falls back to batched steps, which apply the subquery in the
// query, and fires as step by step does.
func TestSemiJoinTooManyCandidatesFallsBack(t *testing.T) {
	traces := openTraces(t)
	mixedTraffic(t, traces)
	defer func(n int) { relaxedLimit = n }(relaxedLimit)
	relaxedLimit = 1
	r := Rule{ID: "s1", Name: "semi", Interval: time.Minute, Severity: "low", SQL: semiRules[1], For: time.Minute}
	opts := BacktestOptions{From: t0.Add(20 * time.Minute), To: t0.Add(5 * time.Hour), Step: time.Minute, Method: "per-step"}
	single, err := Backtest(context.Background(), traces, r, opts)
	if err != nil {
		t.Fatal(err)
	}
	opts.Method = ""
	res, err := Backtest(context.Background(), traces, r, opts)
	if err != nil {
		t.Fatal(err)
	}
	if res.Method != "batched" || !strings.Contains(res.FallbackReason, "limit of 1 rows") {
		t.Errorf("method %s, fallback %q; want batched after the sliding part's row limit", res.Method, res.FallbackReason)
	}
	if len(single.Firings) < 2 || firingsText(single.Firings) != firingsText(res.Firings) {
		t.Errorf("step by step:\n%s\nafter the fallback:\n%s", firingsText(single.Firings), firingsText(res.Firings))
	}
}
