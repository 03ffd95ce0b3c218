package exclude

import (
	"context"
	"fmt"
	"os"
	"strconv"
	"testing"
	"time"

	"github.com/tracehound/tracehound/alert"
	"github.com/tracehound/tracehound/span"
	"github.com/tracehound/tracehound/store"
)

// TestDryRunPerformance times the dry run of one exclusion (a health
// checker: path and user agent) across the built-in rules over seven days
// of synthetic traffic at TRACEHOUND_EXCLUSION_PERF requests a day, written
// straight to DuckDB; it is skipped when the variable is unset. It runs
// the dry run twice: cold (baselines replayed) and with the baselines
// cached, the cost of testing a second candidate.
func TestDryRunPerformance(t *testing.T) {
	perDay, _ := strconv.Atoi(os.Getenv("TRACEHOUND_EXCLUSION_PERF"))
	if perDay <= 0 {
		t.Skip("set TRACEHOUND_EXCLUSION_PERF to the requests a day to measure")
	}
	ctx := context.Background()
	start := time.Date(2026, 3, 2, 0, 0, 0, 0, time.UTC)
	const days = 7
	s := openStore(t, nil)
	paths := []string{"/v1/documents/1", "/v1/documents/2/content", "/v1/search", "/v1/collections/3/documents", "/v1/admin/users", "/healthz"}
	began := time.Now()
	batch := make([]span.Span, 0, 50_000)
	total := perDay * days
	for i := range total {
		ts := start.Add(time.Duration(float64(i) / float64(total) * float64(days*24*time.Hour)))
		id := fmt.Sprintf("%032x", i+1)
		p := paths[i%len(paths)]
		ua, ip, key := "datavault-python/2.4.1", fmt.Sprintf("198.51.%d.%d", (i/7)%200, i%250), fmt.Sprintf("dvk_%03d", i%500)
		if p == "/healthz" {
			ua, ip, key = "kube-probe/1.29", "10.0.3."+strconv.Itoa(i%4), ""
		}
		status := uint16(200)
		if i%53 == 0 {
			status = 401
		} else if i%97 == 0 {
			status = 500
		}
		batch = append(batch, span.Span{Timestamp: ts, TraceID: id, SpanID: id[16:], ServiceName: "datavault-api", SpanName: "GET " + p,
			SpanKind: span.KindServer, HTTPMethod: "GET", HTTPTarget: p, HTTPPath: p, StatusCode: status, PeerIP: ip, APIKeyID: key,
			UserAgent: ua, ResponseBytes: int64(500 + i%90_000)})
		if len(batch) == cap(batch) {
			if err := s.Write(ctx, batch); err != nil {
				t.Fatal(err)
			}
			batch = make([]span.Span, 0, cap(batch)) // the store may keep the slice until it commits
		}
	}
	if err := s.Write(ctx, batch); err != nil {
		t.Fatal(err)
	}
	// With a large backlog queries read what is committed; wait for all.
	for deadline := time.Now().Add(5 * time.Minute); ; time.Sleep(200 * time.Millisecond) {
		res, err := s.Query(ctx, "SELECT count() FROM traces", store.QueryOptions{})
		if err != nil || len(res.Rows) != 1 {
			t.Fatalf("count the spans: %v", err)
		}
		n, _ := store.AsInt64(res.Rows[0][0])
		if n == int64(total) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the store holds %d spans after 5 minutes, want %d", n, total)
		}
	}
	t.Logf("wrote %d spans (%d a day for %d days) in %v", total, perDay, days, time.Since(began).Round(time.Millisecond))
	probes := Exclusion{ID: "probes", Conditions: []Condition{{KindPathGlob, "/health*"}, {KindUserAgent, "kube-probe/*"}},
		Scope: Scope{Kind: ScopeAny}, Reason: "probes", ExpiresAt: Expiry{Never: true}}
	opts := DryRunOptions{Querier: s, Rules: alert.Builtin(), Candidate: probes, From: start, To: start.Add(days * 24 * time.Hour),
		Baselines: NewMemoryBaselines(64, time.Hour, nil)}
	for _, run := range []string{"cold", "baselines cached"} {
		began := time.Now()
		res, err := DryRun(ctx, opts)
		if err != nil {
			t.Fatal(err)
		}
		elapsed := time.Since(began)
		replayed := 0
		for _, r := range res.Rules {
			if r.Skipped == "" {
				replayed++
			}
			t.Logf("  %s: %v %s", r.RuleID, time.Duration(r.Elapsed).Round(time.Millisecond), r.Skipped)
		}
		t.Logf("%s: %d rules replayed over %d days of %d requests a day in %v (%d of %d spans excluded); linear in volume, 12M a day would take %v",
			run, replayed, days, perDay, elapsed.Round(time.Millisecond), res.RowsExcluded, res.RowsTotal,
			time.Duration(float64(elapsed)*12e6/float64(perDay)).Round(time.Second))
		// A second, narrower candidate: only its own replays run.
		opts.Candidate.ID = "probes-2"
		opts.Candidate.Conditions = append([]Condition{{KindStatus, "2xx"}}, probes.Conditions...)
	}
}
