package exclude

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tracehound/tracehound/alert"
	"github.com/tracehound/tracehound/span"
	"github.com/tracehound/tracehound/store"
)

// countingQuerier counts the queries that reach a store.
type countingQuerier struct {
	store.Querier
	n atomic.Int64
}

func (c *countingQuerier) Query(ctx context.Context, q string, opts store.QueryOptions, args ...any) (*store.Result, error) {
	c.n.Add(1)
	return c.Querier.Query(ctx, q, opts, args...)
}

// dryRunSpans: two hours from testT0 of a health checker (203.0.113.10,
// 20 requests every 5 minutes on /healthz), a scanner bursting on an admin
// path at +60m (198.51.100.66, 30 requests, answered 500 half the time)
// and a quiet customer.
func dryRunSpans() []span.Span {
	var out []span.Span
	add := func(at time.Time, ip, path string, status uint16) {
		id := fmt.Sprintf("%032x", len(out)+1)
		out = append(out, span.Span{Timestamp: at, TraceID: id, SpanID: id[16:], ServiceName: "vault", SpanName: "GET " + path,
			SpanKind: span.KindServer, HTTPMethod: "GET", HTTPTarget: path, HTTPPath: path, StatusCode: status, PeerIP: ip,
			UserAgent: "kube-probe/1.29"})
	}
	for m := 0; m < 120; m += 5 {
		for i := range 20 {
			add(testT0.Add(time.Duration(m)*time.Minute+time.Duration(i)*10*time.Second), "203.0.113.10", "/healthz", 200)
		}
		add(testT0.Add(time.Duration(m)*time.Minute+time.Minute), "192.0.2.5", "/v1/documents/1", 200)
	}
	for i := range 30 {
		st := uint16(200)
		if i%2 == 0 {
			st = 500
		}
		add(testT0.Add(60*time.Minute+time.Duration(i)*5*time.Second), "198.51.100.66", "/admin/export", st)
	}
	return out
}

var dryRunRules = []alert.Rule{
	{ID: "busy_ip", Name: "Busy address", Severity: alert.SeverityLow, Interval: 5 * time.Minute, SQL: `SELECT peer_ip, count() AS n FROM traces
		WHERE span_kind = 'Server' AND timestamp > now() - INTERVAL 5 MINUTE AND timestamp <= now() GROUP BY peer_ip HAVING count() >= 10`},
	{ID: "error_ratio", Name: "Errors", Severity: alert.SeverityHigh, Interval: 5 * time.Minute, SQL: `SELECT service_name,
		countIf(status_code >= 500) AS errors, count() AS n FROM traces
		WHERE span_kind = 'Server' AND timestamp > now() - INTERVAL 5 MINUTE AND timestamp <= now()
		GROUP BY service_name HAVING countIf(status_code >= 500) * 3 > count()`},
	{ID: "map_events", Name: "From the API map", Severity: alert.SeverityLow, Source: alert.SourceAPIMapEvent, Event: "apimap.new_shadow_endpoint"},
}

func TestDryRun(t *testing.T) {
	if testing.Short() {
		t.Skip("opens a DuckDB store")
	}
	ctx := context.Background()
	q := &countingQuerier{Querier: openStore(t, dryRunSpans())}
	from, to := testT0.Add(-time.Minute), testT0.Add(2*time.Hour)
	// The scanner's busy_ip firing, as triage would know it.
	base, err := alert.Backtest(ctx, q, dryRunRules[0], alert.BacktestOptions{From: from, To: to})
	if err != nil {
		t.Fatal(err)
	}
	var scanner alert.Firing
	for _, f := range base.Firings {
		if f.Labels["peer_ip"] == "198.51.100.66" {
			scanner = f
		}
	}
	if scanner.Fingerprint == "" || len(base.Firings) < 2 {
		t.Fatalf("baseline firings %v: want the health checker's and the scanner's", base.Firings)
	}
	known := []KnownAlert{{NotificationID: 7, RuleID: "busy_ip", Fingerprint: scanner.Fingerprint, Labels: scanner.Labels,
		StartsAt: scanner.StartedAt.Add(90 * time.Second), Status: "resolved", Reason: "confirmed scan"}}

	health := Exclusion{ID: "health", Conditions: []Condition{{KindPathGlob, "/health*"}, {KindUserAgent, "kube-probe/*"}},
		Scope: Scope{Kind: ScopeAny}, Reason: "probes", ExpiresAt: Expiry{Never: true}}
	var progress []Progress
	cache := NewMemoryBaselines(8, time.Hour, nil)
	opts := DryRunOptions{Querier: q, Rules: dryRunRules, Candidate: health, From: from, To: to, Known: known,
		IsMalicious: func(ip string) bool { return ip == "198.51.100.66" }, Baselines: cache,
		Progress: func(p Progress) { progress = append(progress, p) }}
	res, err := DryRun(ctx, opts)
	if err != nil {
		t.Fatalf("DryRun(health) = %v", err)
	}
	if res.RowsExcluded != 480 || res.RowsTotal != 534 {
		t.Errorf("rows excluded %d of %d, want 480 of 534", res.RowsExcluded, res.RowsTotal)
	}
	if len(res.TopKeys) == 0 || res.TopKeys[0] != (KeyCount{Key: "peer_ip", Value: "203.0.113.10", Rows: 480}) {
		t.Errorf("top keys %v, want the health checker first", res.TopKeys)
	}
	if len(res.PerDay) != 1 || res.PerDay[0].Day != "2026-03-02" || res.PerDay[0].RowsExcluded != 480 {
		t.Errorf("per day %+v", res.PerDay)
	}
	removedIPs := map[string]bool{}
	for _, f := range res.Removed {
		removedIPs[f.Labels["peer_ip"]] = true
	}
	if !removedIPs["203.0.113.10"] || removedIPs["198.51.100.66"] {
		t.Errorf("removed %v: want the health checker's firing, not the scanner's", res.Removed)
	}
	// Without the probes' successful requests, the scanner's errors are
	// more than a third of the traffic: the error rule starts firing.
	if len(res.Added) == 0 || res.Added[0].RuleID != "error_ratio" {
		t.Errorf("added %v: want error_ratio to fire once the probes are gone", res.Added)
	}
	if len(res.SuppressedTruePositives) != 0 {
		t.Errorf("health flags %v", res.SuppressedTruePositives)
	}
	if res.NotificationsBefore <= res.NotificationsAfter-len(res.Added)*2 {
		t.Errorf("notifications %d → %d", res.NotificationsBefore, res.NotificationsAfter)
	}
	var mapRule *RuleEffect
	for i := range res.Rules {
		if res.Rules[i].RuleID == "map_events" {
			mapRule = &res.Rules[i]
		}
	}
	if mapRule == nil || mapRule.Skipped == "" {
		t.Errorf("the apimap_event rule is not reported as skipped: %+v", res.Rules)
	}
	if len(progress) == 0 || progress[len(progress)-1].Phase != "done" || progress[len(progress)-2].RulesDone != 2 {
		t.Errorf("progress %+v: want replay reports ending with both rules done", progress)
	}

	// The same window again: the baselines come from the cache.
	first := q.n.Load()
	if _, err := DryRun(ctx, opts); err != nil {
		t.Fatal(err)
	}
	second := q.n.Load() - first
	if second >= first {
		t.Errorf("the second dry run made %d queries, the first %d: the baselines were not reused", second, first)
	}

	// Excluding the scanner suppresses the confirmed scan: flagged, twice.
	scan := Exclusion{ID: "scan", Conditions: []Condition{{KindIPCIDR, "198.51.100.0/24"}}, Scope: Scope{Kind: ScopeRule, RuleIDs: []string{"busy_ip"}},
		Reason: "r", ExpiresAt: Expiry{Never: true}}
	opts.Candidate = scan
	res, err = DryRun(ctx, opts)
	if err != nil {
		t.Fatal(err)
	}
	whys := map[string]int{}
	for _, s := range res.SuppressedTruePositives {
		whys[s.Why]++
		if s.Why == WhyTriaged && s.NotificationID != 7 {
			t.Errorf("flagged notification %d, want 7", s.NotificationID)
		}
	}
	if whys[WhyTriaged] != 1 || whys[WhyMaliciousIP] != 1 || whys[WhyExcludesRated] != 1 {
		t.Errorf("flags %v, want the triaged notification, the alert about and the traffic from the malicious address", res.SuppressedTruePositives)
	}
	if len(res.Rules) != 1 || res.Rules[0].RuleID != "busy_ip" {
		t.Errorf("a rule-scoped exclusion replayed %+v", res.Rules)
	}

	// An active exclusion is part of the baseline: testing it again (a
	// stored exclusion of the same id) replaces it, testing another one
	// on top of it shows only the difference.
	opts.Active = []Exclusion{scan}
	opts.Known = nil
	opts.IsMalicious = nil
	res, err = DryRun(ctx, opts)
	if err != nil || len(res.Removed) != 1 {
		t.Errorf("re-testing the active exclusion: removed %v, %v; want the scanner's firing", res.Removed, err)
	}
	opts.Candidate = health
	res, err = DryRun(ctx, opts)
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range res.Removed {
		if f.Labels["peer_ip"] == "198.51.100.66" {
			t.Errorf("with the scanner already excluded, health removes its firing %v", f)
		}
	}

	// A span the rule cannot see (before its look-back) leaves it alone.
	old := Exclusion{ID: "old", Conditions: []Condition{{KindIPCIDR, "192.0.2.5"}}, Scope: Scope{Kind: ScopeAny}, Reason: "r", ExpiresAt: Expiry{Never: true}}
	opts.Candidate, opts.Active = old, nil
	opts.From = testT0.Add(3 * time.Hour)
	opts.To = testT0.Add(4 * time.Hour)
	res, err = DryRun(ctx, opts)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range res.Rules {
		if r.Skipped == "" {
			t.Errorf("rule %s was replayed for an exclusion that matches nothing it reads", r.RuleID)
		}
	}
}

func TestCountHits(t *testing.T) {
	if testing.Short() {
		t.Skip("opens a DuckDB store")
	}
	ctx := context.Background()
	s := openStore(t, dryRunSpans())
	var preds []Predicate
	ids := []string{"health", "scan", "none"}
	for _, c := range []Condition{{KindPathGlob, "/healthz"}, {KindIPCIDR, "198.51.100.0/24"}, {KindAPIKey, "nobody"}} {
		p, err := compileCondition(ctx, c, CompileOptions{})
		if err != nil {
			t.Fatal(err)
		}
		preds = append(preds, p)
	}
	hits, err := CountHits(ctx, s, ids, preds, testT0.Add(54*time.Minute), testT0.Add(65*time.Minute))
	if err != nil {
		t.Fatal(err)
	}
	want := []Hits{{"health", 41, testT0.Add(65 * time.Minute)}, {"scan", 30, testT0.Add(60*time.Minute + 145*time.Second)}, {"none", 0, time.Time{}}}
	if !slices.EqualFunc(hits, want, func(a, b Hits) bool { return a.ID == b.ID && a.Rows == b.Rows && a.Last.Equal(b.Last) }) {
		t.Errorf("CountHits = %+v, want %+v", hits, want)
	}
}

// TestDryRunReportsFailedRule checks that a rule whose replay fails is
// reported, with a warning, while the others' effects are still shown;
// and that a dry run whose every replay failed is an error.
func TestDryRunReportsFailedRule(t *testing.T) {
	if testing.Short() {
		t.Skip("opens a DuckDB store")
	}
	ctx := context.Background()
	st := openStore(t, dryRunSpans())
	tight := dryRunRules[0]
	tight.ID, tight.Limit = "tight", 1
	tight.SQL = `SELECT peer_ip, count() AS n FROM traces
		WHERE span_kind = 'Server' AND timestamp > now() - INTERVAL 5 MINUTE AND timestamp <= now() GROUP BY peer_ip`
	health := Exclusion{ID: "health", Conditions: []Condition{{KindPathGlob, "/health*"}}, Scope: Scope{Kind: ScopeAny}, Reason: "probes", ExpiresAt: Expiry{Never: true}}
	opts := DryRunOptions{Querier: st, Rules: []alert.Rule{dryRunRules[0], tight}, Candidate: health, From: testT0.Add(-time.Minute), To: testT0.Add(2 * time.Hour)}
	res, err := DryRun(ctx, opts)
	if err != nil {
		t.Fatalf("DryRun = %v; want the failure reported with the rule", err)
	}
	var failed, fine *RuleEffect
	for i := range res.Rules {
		switch res.Rules[i].RuleID {
		case "tight":
			failed = &res.Rules[i]
		case dryRunRules[0].ID:
			fine = &res.Rules[i]
		}
	}
	if failed == nil || !strings.Contains(failed.Error, "limit") || fine == nil || fine.Error != "" || fine.FiringsRemoved == 0 {
		t.Errorf("rules %+v: want tight failed on its row limit and busy_ip's firings removed", res.Rules)
	}
	if len(res.Warnings) == 0 || !strings.Contains(strings.Join(res.Warnings, "\n"), "rule tight could not be replayed") {
		t.Errorf("warnings %q: want one about tight", res.Warnings)
	}
	if res.NotificationsBefore != fine.NotificationsBefore {
		t.Errorf("notifications before %d: want busy_ip's %d only", res.NotificationsBefore, fine.NotificationsBefore)
	}
	opts.Rules = []alert.Rule{tight}
	if _, err := DryRun(ctx, opts); err == nil || !strings.Contains(err.Error(), "tight") {
		t.Errorf("DryRun with only a failing rule = %v; want its error", err)
	}
}
