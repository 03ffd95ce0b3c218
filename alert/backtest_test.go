package alert

import (
	"context"
	"fmt"
	"reflect"
	"strings"
	"testing"
	"time"
)

func TestBacktestBatchedMatchesStepByStep(t *testing.T) {
	traces := openTraces(t)
	requests(t, traces, t0.Add(30*time.Minute), 12, 20*time.Second, "203.0.113.19", "/v1/admin/export")
	requests(t, traces, t0.Add(26*time.Hour), 900, time.Second, "203.0.113.20", "/v1/admin/export")
	requests(t, traces, t0, 2000, time.Minute, "198.51.100.2", "/v1/admin/users")
	rules, err := LoadFiles("testdata/casestudy.yaml")
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	for _, r := range rules {
		t.Run(r.ID, func(t *testing.T) {
			var progress []int
			opts := BacktestOptions{From: t0, To: t0.Add(48 * time.Hour), IncidentStart: t0.Add(30 * time.Minute),
				BatchSteps: 500, Method: "batched", Progress: func(done, total int) { progress = append(progress, done) }}
			batched, err := Backtest(ctx, traces, r, opts)
			if err != nil {
				t.Fatal(err)
			}
			// One step alone, a probe of 30 steps, then batches of 500.
			if !batched.Batched || batched.Queries != 8 || batched.Evaluations != 2881 {
				t.Errorf("Backtest() batched=%v queries=%d evaluations=%d (%s), want batched in 8 queries of 2881 steps", batched.Batched, batched.Queries, batched.Evaluations, batched.FallbackReason)
			}
			if want := []int{31, 531, 1031, 1531, 2031, 2531, 2881}; !reflect.DeepEqual(progress, want) {
				t.Errorf("progress = %v, want %v", progress, want)
			}
			// Step by step is slow: compare around each burst.
			for _, from := range []time.Time{t0, t0.Add(25*time.Hour + 30*time.Minute)} {
				opts := BacktestOptions{From: from, To: from.Add(90 * time.Minute), BatchSteps: 1}
				single, err := Backtest(ctx, traces, r, opts)
				if err != nil {
					t.Fatal(err)
				}
				opts.BatchSteps, opts.Method = 0, "batched"
				many, err := Backtest(ctx, traces, r, opts)
				if err != nil {
					t.Fatal(err)
				}
				if single.Batched || !many.Batched || !reflect.DeepEqual(single.Firings, many.Firings) || single.Notifications != many.Notifications {
					t.Errorf("from %v: step-by-step firings %+v\n differ from batched %+v", from, single.Firings, many.Firings)
				}
				opts.Method = ""
				sliding, err := Backtest(ctx, traces, r, opts)
				if err != nil {
					t.Fatal(err)
				}
				if sliding.Method != "sliding" || !reflect.DeepEqual(single.Firings, sliding.Firings) || single.Notifications != sliding.Notifications {
					t.Errorf("from %v: step-by-step firings %+v\n differ from sliding (%s, %s) %+v", from, single.Firings, sliding.Method, sliding.FallbackReason, sliding.Firings)
				}
				if r.ID == "casestudy_admin_export" && len(single.Firings) != 1 {
					t.Errorf("from %v: %d firings, want 1 (the comparison must compare something)", from, len(single.Firings))
				}
			}
		})
	}
	// The narrow rule fires at the first probe; the volume rule a day later.
	narrow, _ := Backtest(ctx, traces, rules[1], BacktestOptions{From: t0, To: t0.Add(48 * time.Hour), IncidentStart: t0.Add(30 * time.Minute)})
	if narrow.DetectionGap < 0 || narrow.DetectionGap > time.Minute || len(narrow.Firings) != 2 || narrow.PerDay[0].Firings != 1 {
		t.Errorf("narrow rule: gap %v, firings %+v, per day %+v; want a gap under a minute and one firing per day", narrow.DetectionGap, narrow.Firings, narrow.PerDay)
	}
	volume, _ := Backtest(ctx, traces, rules[0], BacktestOptions{From: t0, To: t0.Add(48 * time.Hour), IncidentStart: t0.Add(30 * time.Minute)})
	if volume.FirstFiring.Before(t0.Add(26*time.Hour)) || volume.DetectionGap < 25*time.Hour {
		t.Errorf("volume rule: first firing %v (gap %v), want on day 2", volume.FirstFiring, volume.DetectionGap)
	}
	if len(volume.Firings) != 1 || volume.Firings[0].ResolvedAt.IsZero() || volume.Notifications != 2 {
		t.Errorf("volume rule firings %+v, notifications %d; want one fired and resolved (2 notifications)", volume.Firings, volume.Notifications)
	}
}

func TestBacktestRefusesEventRules(t *testing.T) {
	for _, r := range Builtin() {
		if r.Source != SourceAPIMapEvent {
			continue
		}
		_, err := Backtest(context.Background(), openTraces(t), r, BacktestOptions{From: t0, To: t0.Add(time.Hour)})
		if err == nil || !strings.Contains(err.Error(), "only SQL rules") {
			t.Errorf("Backtest(%s) = %v, want a refusal", r.ID, err)
		}
	}
}

func TestBatchSQLRunsPackOnDuckDB(t *testing.T) {
	// Every built-in SQL rule must be accepted in the batched form, so
	// backtests never fall back to one query per step on DuckDB.
	traces := openTraces(t)
	requests(t, traces, t0, 100, time.Second, "203.0.113.1", "/v1/internal/x")
	for _, r := range Builtin() {
		if r.Source != SourceSQL {
			continue
		}
		res, err := Backtest(context.Background(), traces, r, BacktestOptions{From: t0, To: t0.Add(10 * time.Minute), Step: time.Minute})
		if err != nil || !res.Batched {
			t.Errorf("Backtest(%s) batched=%v err=%v fallback=%q", r.ID, res.Batched, err, res.FallbackReason)
		}
	}
}

// TestBatchedSharedFilterMatchesStepByStep replays the admin new-caller
// rule, whose two reads of traces share their span kind and path
// conditions, batched (from one copy of the matching rows), sliding (its
// subquery at the steps with candidates only) and step by step: new
// callers fire, a caller back within the day does not, and neither does a
// new caller of an endpoint that many called before.
func TestBatchedSharedFilterMatchesStepByStep(t *testing.T) {
	traces := openTraces(t)
	requests(t, traces, t0.Add(20*time.Minute), 6, 30*time.Second, "203.0.113.5", "/v1/admin/export")
	requests(t, traces, t0.Add(40*time.Minute), 4, time.Minute, "203.0.113.6", "/v1/internal/jobs")
	requests(t, traces, t0.Add(3*time.Hour), 4, time.Minute, "203.0.113.6", "/v1/internal/jobs")
	for i := range 8 {
		requests(t, traces, t0.Add(time.Duration(i)*10*time.Minute-5*time.Hour), 3, time.Minute, fmt.Sprintf("198.51.100.%d", 10+i), "/v1/admin/users")
	}
	requests(t, traces, t0.Add(3*time.Hour+30*time.Minute), 5, time.Minute, "198.51.100.30", "/v1/admin/users")
	requests(t, traces, t0, 600, 30*time.Second, "198.51.100.2", "/v1/orders")
	var rule Rule
	for _, r := range Builtin() {
		if r.ID == "admin_endpoint_new_caller" {
			rule = r
		}
	}
	steps := stepTimes(t0, t0.Add(4*time.Hour), rule.Interval)
	sql, err := batchSQL(&rule, steps)
	if err != nil || !strings.Contains(sql, "__th_src AS MATERIALIZED") || strings.Count(sql, "FROM __th_src") != 2 || strings.Contains(sql, "FROM traces\n") {
		t.Fatalf("batchSQL() = %v, %s; want the two reads from one filtered copy", err, sql)
	}
	ctx := context.Background()
	opts := BacktestOptions{From: t0, To: t0.Add(4 * time.Hour), Method: "batched"}
	batched, err := Backtest(ctx, traces, rule, opts)
	if err != nil {
		t.Fatal(err)
	}
	opts.Method = "per-step"
	single, err := Backtest(ctx, traces, rule, opts)
	if err != nil {
		t.Fatal(err)
	}
	if batched.Method != "batched" || !reflect.DeepEqual(single.Firings, batched.Firings) {
		t.Errorf("step-by-step firings %+v\ndiffer from batched (%s, %s) %+v", single.Firings, batched.Method, batched.FallbackReason, batched.Firings)
	}
	opts.Method = ""
	sliding, err := Backtest(ctx, traces, rule, opts)
	if err != nil {
		t.Fatal(err)
	}
	if sliding.Method != "sliding" || !reflect.DeepEqual(single.Firings, sliding.Firings) {
		t.Errorf("step-by-step firings %+v\ndiffer from sliding (%s, %s) %+v", single.Firings, sliding.Method, sliding.FallbackReason, sliding.Firings)
	}
	var fired []string
	for _, f := range single.Firings {
		fired = append(fired, f.Labels["peer_ip"]+" "+f.StartedAt.Sub(t0).String())
	}
	if want := []string{"203.0.113.5 25m0s", "203.0.113.6 45m0s"}; !reflect.DeepEqual(fired, want) {
		t.Errorf("fired %v, want %v", fired, want)
	}
}
