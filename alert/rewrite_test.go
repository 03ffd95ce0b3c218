package alert

import (
	"context"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// dropIP is a Rewriter that keeps one address out of the rule, the way
// an exclusion does: through a placeholder and its argument.
func dropIP(ip string, calls *int) Rewriter {
	return func(r *Rule) (string, []any, error) {
		*calls++
		return strings.Replace(r.SQL, "FROM traces", "FROM (SELECT * FROM traces WHERE peer_ip != ?) AS traces", 1), []any{ip}, nil
	}
}

func TestRewriteInEngineBacktestAndEvaluate(t *testing.T) {
	traces := openTraces(t)
	requests(t, traces, t0.Add(3*time.Minute), 60, 5*time.Second, "203.0.113.7", "/v1/things")
	requests(t, traces, t0.Add(3*time.Minute), 60, 5*time.Second, "198.51.100.9", "/v1/things")
	r := perIP(t, "0s")
	ctx := context.Background()

	calls := 0
	bt, err := Backtest(ctx, traces, r, BacktestOptions{From: t0, To: t0.Add(15 * time.Minute), Rewrite: dropIP("203.0.113.7", &calls)})
	if err != nil {
		t.Fatal(err)
	}
	if calls != 1 || len(bt.Firings) != 1 || bt.Firings[0].Labels["peer_ip"] != "198.51.100.9" {
		t.Errorf("Backtest with a rewrite: %d calls, firings %v; want one call and only 198.51.100.9", calls, bt.Firings)
	}
	if r.SQL != perIP(t, "0s").SQL {
		t.Errorf("Backtest changed the caller's rule")
	}

	insts, err := Evaluate(ctx, traces, r, t0.Add(5*time.Minute), dropIP("198.51.100.9", &calls))
	if err != nil || len(insts) != 1 || insts[0].Labels["peer_ip"] != "203.0.113.7" {
		t.Errorf("Evaluate with a rewrite = %v, %v; want only 203.0.113.7", insts, err)
	}
	all, err := Evaluate(ctx, traces, r, t0.Add(5*time.Minute), nil)
	if err != nil || len(all) != 2 {
		t.Errorf("Evaluate = %v, %v; want both addresses", all, err)
	}
	for _, in := range all {
		if in.Labels["peer_ip"] == "203.0.113.7" && in.Fingerprint != insts[0].Fingerprint {
			t.Errorf("the same instance has two fingerprints: %s and %s", in.Fingerprint, insts[0].Fingerprint)
		}
	}

	failing := func(*Rule) (string, []any, error) { return "", nil, context.Canceled }
	if _, err := Backtest(ctx, traces, r, BacktestOptions{From: t0, To: t0.Add(time.Minute), Rewrite: failing}); err == nil {
		t.Errorf("Backtest with a failing rewrite = nil error")
	}

	synctest.Test(t, func(t *testing.T) {
		s := &sink{}
		n := 0
		e := runEngine(t, Options{Querier: traces, Sink: s, Registerer: prometheus.NewRegistry(), QueryOffset: -1,
			Rewrite: dropIP("203.0.113.7", &n)}, []Rule{r}, 12*time.Minute)
		for _, a := range s.alerts("per_ip") {
			if a.Labels["peer_ip"] == "203.0.113.7" {
				t.Errorf("the engine delivered %v, which the rewrite keeps out", a.Labels)
			}
		}
		if len(s.alerts("per_ip")) == 0 || n == 0 {
			t.Errorf("the engine delivered nothing (%d rewrites)", n)
		}
		for _, st := range e.Status() {
			if st.RuleID == "per_ip" && st.Health != HealthOK {
				t.Errorf("rule health %s (%s)", st.Health, st.LastError)
			}
		}
	})
}
