package alert

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/tracehound/tracehound/scenario"
	"github.com/tracehound/tracehound/span"
	"github.com/tracehound/tracehound/store"
	"github.com/tracehound/tracehound/store/duckdb"
)

// demoData names a directory holding a seeded demo (traces.duckdb and
// scenario/summary.json), copied from `tracehound demo --no-serve`'s data
// directory; benchmarks and TestDemoPack use it when set.
const demoDataEnv = "TRACEHOUND_DEMO_DATA"

// benchStore opens the demo store, or builds a synthetic one: a day of
// traffic at 2M spans (a sixth of DataVault's 12M).
func benchStore(b testing.TB) (store.Querier, time.Time, time.Time) {
	if dir := os.Getenv(demoDataEnv); dir != "" {
		s, err := duckdb.Open(context.Background(), filepath.Join(dir, "traces.duckdb"), duckdb.Options{MemoryLimit: "1GB"})
		if err != nil {
			b.Fatal(err)
		}
		b.Cleanup(func() { s.Close() })
		st, err := s.Stats(context.Background())
		if err != nil {
			b.Fatal(err)
		}
		return s, st.Oldest, st.Newest
	}
	s := openTraces(b)
	const n = 2_000_000
	start := t0
	batch := make([]span.Span, 0, 100_000)
	for i := range n {
		ts := start.Add(time.Duration(i) * 24 * time.Hour / n)
		id := fmt.Sprintf("%032x", i)
		ip := fmt.Sprintf("198.51.%d.%d", i%200, i%250)
		path := []string{"/v1/documents", "/v1/search", "/v1/collections/12", "/v1/internal/status", "/v1/login"}[i%5]
		status := uint16(200)
		if i%97 == 0 {
			status = 401
		}
		batch = append(batch, span.Span{Timestamp: ts, TraceID: id, SpanID: id[16:], ServiceName: "vault", SpanName: "GET " + path,
			SpanKind: span.KindServer, HTTPMethod: "GET", HTTPTarget: path, HTTPPath: path, HTTPRoute: path, StatusCode: status,
			PeerIP: ip, APIKeyID: fmt.Sprintf("key-%d", i%500), ResponseBytes: int64(1000 + i%50000)})
		if len(batch) == cap(batch) {
			write(b, s, batch)
			batch = make([]span.Span, 0, 100_000)
		}
	}
	write(b, s, batch)
	return s, start, start.Add(24 * time.Hour)
}

// write writes spans, waiting while the store is overloaded.
func write(b testing.TB, s *duckdb.Store, spans []span.Span) {
	for {
		err := s.Write(context.Background(), spans)
		if !errors.Is(err, store.ErrOverloaded) {
			if err != nil {
				b.Fatal(err)
			}
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func benchRules(b testing.TB) []Rule {
	cs, err := LoadFiles("testdata/casestudy.yaml")
	if err != nil {
		b.Fatal(err)
	}
	var out []Rule
	for _, r := range append(Builtin(), cs...) {
		if r.Source == SourceSQL {
			out = append(out, r)
		}
	}
	return out
}

// BenchmarkRuleEvaluation evaluates each SQL rule once per iteration at a
// time inside the data, as the scheduler does.
func BenchmarkRuleEvaluation(b *testing.B) {
	q, _, newest := benchStore(b)
	at := newest.Add(-6 * time.Hour)
	for _, r := range benchRules(b) {
		b.Run(r.ID, func(b *testing.B) {
			b.ReportAllocs()
			for i := 0; b.Loop(); i++ {
				if _, err := evalSQL(context.Background(), q, &r, at.Add(time.Duration(i)*time.Minute), time.Minute); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkFiftyRules evaluates 50 rules, the SQL rules of the built-in
// pack and the case study over and over, each at a 1-minute interval: one
// iteration is one minute of the scheduler's work. core% is the process's
// CPU time (DuckDB's threads included) per minute of wall time the
// scheduler would have, as a share of one core.
func BenchmarkFiftyRules(b *testing.B) {
	q, _, newest := benchStore(b)
	base := benchRules(b)
	rules := make([]Rule, 50)
	machines := make([]*machine, len(rules))
	for i := range rules {
		rules[i] = base[i%len(base)]
		rules[i].ID = fmt.Sprintf("%s_%d", rules[i].ID, i)
		rules[i].Interval = time.Minute
		machines[i] = newMachine(&rules[i])
	}
	at := newest.Add(-6 * time.Hour)
	reads := newReadCache(q, nil)
	defer reads.retain(nil)
	minutes := 0
	cpu := processCPU(b)
	for b.Loop() {
		ts := at.Add(time.Duration(minutes) * time.Minute)
		for i := range rules {
			// As the engine does: through the copies of what long-window
			// rules read.
			rr, err := reads.source(context.Background(), &rules[i], &rules[i], ts)
			if err != nil {
				b.Fatal(err)
			}
			rows, err := evalSQL(context.Background(), q, rr, ts, time.Minute)
			if err != nil {
				b.Fatal(err)
			}
			if _, err := machines[i].step(ts, rows); err != nil {
				b.Fatal(err)
			}
		}
		minutes++
	}
	used := processCPU(b) - cpu
	b.ReportMetric(100*used.Seconds()/(float64(minutes)*60), "core%")
}

// processCPU is the CPU time the process has used, in user and system
// mode, on all its threads.
func processCPU(b *testing.B) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		b.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// BenchmarkBacktest7Days replays the case study's narrow rule, the
// admin-new-caller and bulk-reads rules (every SQL rule with BACKTEST_ALL
// set) over 7 days at one-minute steps.
func BenchmarkBacktest7Days(b *testing.B) {
	q, _, newest := benchStore(b)
	for _, r := range benchRules(b) {
		if os.Getenv("BACKTEST_ALL") == "" && r.ID != "casestudy_admin_export" && r.ID != "admin_endpoint_new_caller" && r.ID != "bulk_reads_per_ip" {
			continue
		}
		b.Run(r.ID, func(b *testing.B) {
			for b.Loop() {
				res, err := Backtest(context.Background(), q, r, BacktestOptions{From: newest.Add(-7 * 24 * time.Hour), To: newest, Step: time.Minute})
				if err != nil {
					b.Fatal(err)
				}
				b.ReportMetric(float64(res.Evaluations), "evals/op")
				b.Logf("%s: %s in %d queries, %d firings %s", r.ID, res.Method, res.Queries, len(res.Firings), res.FallbackReason)
			}
		})
	}
}

// BenchmarkBacktestFromCache replays the built-in rules over 7 days at
// their intervals from a step cache that holds every step but the last
// hour's: what a dry run or a backtest repeated an hour later costs.
func BenchmarkBacktestFromCache(b *testing.B) {
	q, _, newest := benchStore(b)
	ct, ok := q.(store.ChangeTracker)
	if !ok {
		b.Skip("the store does not track its changes")
	}
	for _, r := range Builtin() {
		if r.Source != SourceSQL {
			continue
		}
		b.Run(r.ID, func(b *testing.B) {
			to := newest.Add(-time.Hour)
			var evaluated int
			for b.Loop() {
				b.StopTimer()
				cache := NewStepCache(ct, 1<<30)
				if _, err := Backtest(context.Background(), q, r, BacktestOptions{From: to.Add(-7 * 24 * time.Hour), To: to, Cache: cache}); err != nil {
					b.Fatal(err)
				}
				b.StartTimer()
				res, err := Backtest(context.Background(), q, r, BacktestOptions{From: newest.Add(-7 * 24 * time.Hour), To: newest, Cache: cache})
				if err != nil {
					b.Fatal(err)
				}
				evaluated = res.Evaluations - res.CachedSteps
			}
			b.ReportMetric(float64(evaluated), "evaluated/op")
		})
	}
}

// TestDemoPack backtests the built-in pack and the case-study rules over
// the demo data and scores them against the scenario's ground truth.
func TestDemoPack(t *testing.T) {
	dir := os.Getenv(demoDataEnv)
	if dir == "" {
		t.Skip("set " + demoDataEnv + " to a copy of a seeded demo data directory")
	}
	raw, err := os.ReadFile(filepath.Join(dir, "scenario", scenario.SummaryFile))
	if err != nil {
		t.Fatal(err)
	}
	var sum scenario.Summary
	if err := json.Unmarshal(raw, &sum); err != nil {
		t.Fatal(err)
	}
	type campaign struct {
		name      string
		ips, keys []string
		first     time.Time
	}
	q, oldest, newest := benchStore(t)
	// A campaign starts with its first request to its target (day 1 of
	// the story), not with the attacker's sign-up days before.
	var camps []campaign
	for _, c := range sum.Campaigns {
		first := c.FirstSeen
		res, err := q.Query(context.Background(), `SELECT min(timestamp) FROM traces WHERE span_kind = 'Server'
			AND http_method || ' ' || http_route = ? AND list_contains(?, peer_ip)`, store.QueryOptions{}, c.Target, c.IPs)
		if err == nil && len(res.Rows) == 1 {
			if ts, ok := res.Rows[0][0].(time.Time); ok {
				first = ts
			}
		}
		camps = append(camps, campaign{c.Name, c.IPs, c.APIKeyIDs, first})
	}
	if len(camps) == 0 {
		t.Fatal("summary has no campaign")
	}
	t.Logf("data %s … %s; campaigns: %+v", oldest.Format(time.RFC3339), newest.Format(time.RFC3339), camps)
	earliestBuiltin := time.Time{}
	only := os.Getenv("TRACEHOUND_DEMO_RULES") // comma-separated rule ids; all when empty
	for _, r := range benchRules(t) {
		if only != "" && !slices.Contains(strings.Split(only, ","), r.ID) {
			continue
		}
		start := time.Now()
		from, to := oldest, newest
		if sum.Start.After(from) {
			from = sum.Start
		}
		if end := sum.Start.Add(time.Duration(sum.Days) * 24 * time.Hour); end.Before(to) {
			to = end
		}
		from = from.Truncate(time.Minute)
		res, err := Backtest(context.Background(), q, r, BacktestOptions{From: from, To: to, IncidentStart: camps[0].first})
		if err != nil {
			t.Fatalf("Backtest(%s) = %v", r.ID, err)
		}
		tp, firstTP := 0, time.Time{}
		detected := map[string]bool{}
		for _, f := range res.Firings {
			for _, c := range camps {
				if slices.Contains(c.ips, f.Labels[LabelIP]) || slices.Contains(c.keys, f.Labels[LabelAPIKey]) {
					tp++
					detected[c.name] = true
					if firstTP.IsZero() || f.StartedAt.Before(firstTP) {
						firstTP = f.StartedAt
					}
					break
				}
			}
		}
		precision := 0.0
		if len(res.Firings) > 0 {
			precision = float64(tp) / float64(len(res.Firings))
		}
		gap := "never"
		if !firstTP.IsZero() {
			gap = firstTP.Sub(camps[0].first).Round(time.Minute).String()
		}
		t.Logf("%-28s firings %5d  true %4d  precision %.2f  campaigns %d/%d  first true firing after campaign start %s  (%d evals, %d queries, %s)",
			r.ID, len(res.Firings), tp, precision, len(detected), len(camps), gap, res.Evaluations, res.Queries, time.Since(start).Round(time.Millisecond))
		if r.ID == "casestudy_admin_export" && (firstTP.IsZero() || firstTP.Sub(camps[0].first) > 15*time.Minute) {
			t.Errorf("narrow rule first fired %v after the campaign started, want within minutes", firstTP.Sub(camps[0].first))
		}
		if !slices.Contains([]string{"casestudy_admin_export", "casestudy_admin_volume"}, r.ID) && !firstTP.IsZero() &&
			(earliestBuiltin.IsZero() || firstTP.Before(earliestBuiltin)) {
			earliestBuiltin = firstTP
		}
	}
	if only == "" && (earliestBuiltin.IsZero() || earliestBuiltin.Sub(camps[0].first) > 36*time.Hour) {
		t.Errorf("no built-in rule fired on the campaign by early day 2 (earliest %v)", earliestBuiltin)
	}
}
