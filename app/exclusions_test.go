package app_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/tracehound/tracehound/alert"
	"github.com/tracehound/tracehound/api"
	"github.com/tracehound/tracehound/exclude"
	"github.com/tracehound/tracehound/scenario"
	"github.com/tracehound/tracehound/state"
)

// exclusionWindow covers the seeded week: seedScenario ends it now and
// starts it on scenario.DefaultStart, at most eight days back.
const exclusionWindow = "8d"

// seedScenario sends a week of a scenario, ending now, through the App's
// OTLP receiver. TRACEHOUND_EXCLUSION_SCALE overrides scale.
func seedScenario(t *testing.T, s *server, name string, scale float64) scenario.Summary {
	t.Helper()
	if v := os.Getenv("TRACEHOUND_EXCLUSION_SCALE"); v != "" {
		f, err := strconv.ParseFloat(v, 64)
		if err != nil {
			t.Fatalf("TRACEHOUND_EXCLUSION_SCALE=%q: %v", v, err)
		}
		scale = f
	}
	now := time.Now()
	began := time.Now()
	sum, err := scenario.Backfill(context.Background(), scenario.Options{
		Scenario: name, Start: scenario.DefaultStart(now, 7), Days: 7, End: now, Scale: scale, Seed: 11,
		Endpoint: "http://" + s.OTLPHTTPAddr(),
	})
	if err != nil {
		t.Fatalf("seed %s: %v", name, err)
	}
	if err := s.Sync(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Logf("seeded %s at scale %g: %d requests, %d spans in %v", name, scale, sum.Requests, sum.Spans, time.Since(began).Round(time.Second))
	return sum
}

// recordBuiltinAlerts stands in for a week of the live engine: it
// backtests every active-mode SQL rule of the built-in pack over the
// window and delivers the firings and resolutions to the App, which
// records them for triage as the engine's deliveries would be. It returns
// the notifications, newest first.
func recordBuiltinAlerts(t *testing.T, s *server) []state.Notification {
	t.Helper()
	ctx := context.Background()
	var alerts []alert.Alert
	for _, r := range alert.Builtin() {
		if r.Source != alert.SourceSQL || r.Mode != alert.ModeActive {
			continue
		}
		res, err := s.App.BacktestRule(ctx, api.BacktestRequest{RuleID: r.ID, Since: exclusionWindow})
		if err != nil {
			t.Fatalf("backtest %s: %v", r.ID, err)
		}
		for _, f := range res.Firings {
			a := alert.Alert{Fingerprint: f.Fingerprint, RuleID: r.ID, RuleName: r.Name, Severity: r.Severity, Mode: r.Mode,
				State: alert.StateFiring, Labels: f.Labels, Annotations: f.Annotations, Values: f.Values,
				ActiveAt: f.ActiveAt, StartsAt: f.StartedAt, EvaluatedAt: f.StartedAt}
			alerts = append(alerts, a)
			if !f.ResolvedAt.IsZero() {
				a.State, a.EndsAt, a.EvaluatedAt = alert.StateResolved, f.ResolvedAt, f.ResolvedAt
				alerts = append(alerts, a)
			}
		}
	}
	slices.SortStableFunc(alerts, func(a, b alert.Alert) int { return a.EvaluatedAt.Compare(b.EvaluatedAt) })
	for _, a := range alerts {
		if err := s.App.Deliver(ctx, []alert.Alert{a}); err != nil {
			t.Fatalf("Deliver: %v", err)
		}
	}
	p, err := s.App.Alerts(ctx, api.AlertQuery{Limit: 1000})
	if err != nil {
		t.Fatal(err)
	}
	return p.Alerts
}

func notificationIDs(ns []state.Notification) []int64 {
	ids := make([]int64, len(ns))
	for i, n := range ns {
		ids[i] = n.ID
	}
	return ids
}

func setTriage(t *testing.T, s *server, ids []int64, status, reason string) {
	t.Helper()
	if _, err := s.App.UpdateAlerts(context.Background(), api.AlertChange{IDs: ids, Status: status, Reason: reason}); err != nil {
		t.Fatalf("UpdateAlerts(%v, %s): %v", ids, status, err)
	}
}

// removes reports whether a dry run removes a firing of n's instance that
// overlaps it (give or take the rule's interval).
func removes(res *exclude.DryRunResult, n state.Notification) bool {
	for _, f := range res.Removed {
		if f.RuleID == n.RuleID && f.Fingerprint == n.Fingerprint &&
			f.StartedAt.Sub(n.StartsAt).Abs() <= 15*time.Minute {
			return true
		}
	}
	return false
}

// TestSuggestionsOnBenignSpike: every notification of the benign-spike
// scenario is a false positive. Once an analyst closes them as such, the
// suggestions remove all of them with narrow exclusions (the caller's key,
// addresses and paths) that suppress no true positive; applied, they leave
// the built-in pack silent over the week. With one of them triaged as a
// true positive instead, no suggestion removes it.
func TestSuggestionsOnBenignSpike(t *testing.T) {
	if testing.Short() || os.Getenv("TRACEHOUND_ACCEPTANCE") == "" {
		t.Skip("seeds a week of a scenario and replays the built-in rules: about ten minutes on two cores; run with make test-acceptance")
	}
	ctx := context.Background()
	s := start(t, testConfig(t, t.TempDir()))
	sum := seedScenario(t, s, "benign-spike", 0.002)
	for _, c := range sum.Campaigns {
		if c.Label != scenario.LabelBenign {
			t.Fatalf("campaign %s is labelled %s; the scenario should be benign", c.Name, c.Label)
		}
	}
	notes := recordBuiltinAlerts(t, s)
	if len(notes) == 0 {
		t.Fatal("the built-in pack raised no notification: the test would check nothing")
	}
	for _, n := range notes {
		t.Logf("notification %d: %s %v at %s", n.ID, n.RuleID, n.Labels, n.StartsAt.Format(time.RFC3339))
	}
	setTriage(t, s, notificationIDs(notes), state.TriageFalsePositive, "benign: the scenario has no attacker")
	until := time.Now().Add(-time.Minute).Truncate(time.Minute)
	q := api.SuggestionQuery{Since: exclusionWindow, Until: until}

	began := time.Now()
	list, err := s.App.ExclusionSuggestions(ctx, q)
	if err != nil {
		t.Fatalf("ExclusionSuggestions: %v", err)
	}
	t.Logf("%d suggestion(s) in %v", len(list.Suggestions), time.Since(began).Round(time.Millisecond))
	if len(list.Suggestions) == 0 {
		t.Fatal("no suggestion for the false positives")
	}
	for _, sg := range list.Suggestions {
		d := sg.DryRun
		t.Logf("suggestion %s (%s, caller %s, tried %d): %s; %d of %d spans excluded, notifications %d → %d",
			sg.Exclusion.ID, sg.Source, sg.Caller.Kind, sg.Tried, conditionsOf(sg.Exclusion), d.RowsExcluded, d.RowsTotal, d.NotificationsBefore, d.NotificationsAfter)
		if len(d.SuppressedTruePositives) != 0 {
			t.Errorf("suggestion %s flags %v", sg.Exclusion.ID, d.SuppressedTruePositives)
		}
		if sg.Source != "false_positive" {
			t.Errorf("suggestion %s comes from %s, want false_positive", sg.Exclusion.ID, sg.Source)
		}
		// Narrow: several conditions, a sliver of the traffic, and only
		// the addresses of the caller it is about.
		if len(sg.Exclusion.Conditions) < 2 || sg.Exclusion.Match != exclude.MatchAll {
			t.Errorf("suggestion %s is %s; want at least two conditions, all matching", sg.Exclusion.ID, conditionsOf(sg.Exclusion))
		}
		if d.RowsExcluded == 0 || d.RowsExcluded > sg.Caller.Requests || d.RowsExcluded*10 > d.RowsTotal {
			t.Errorf("suggestion %s excludes %d of %d spans; want some, at most its caller's %d requests, under 10%% of the traffic",
				sg.Exclusion.ID, d.RowsExcluded, d.RowsTotal, sg.Caller.Requests)
		}
		for _, k := range d.TopKeys {
			if k.Key == "peer_ip" && !slices.Contains(sg.Caller.IPs, k.Value) {
				t.Errorf("suggestion %s excludes traffic from %s, not one of its caller's addresses %v", sg.Exclusion.ID, k.Value, sg.Caller.IPs)
			}
		}
	}
	for _, n := range notes {
		found := false
		for _, sg := range list.Suggestions {
			found = found || removes(sg.DryRun, n)
		}
		if !found {
			t.Errorf("no suggestion removes notification %d (%s %v)", n.ID, n.RuleID, n.Labels)
		}
	}
	kinds := map[string]bool{}
	for _, sg := range list.Suggestions {
		kinds[sg.Caller.Kind] = true
	}
	if !kinds["scheduled_partner"] {
		t.Errorf("no suggestion recognises the partner's nightly schedule (caller kinds %v)", kinds)
	}

	// A notification triaged as a true positive is never suggested away.
	tp := notes[0]
	setTriage(t, s, []int64{tp.ID}, state.TriageResolved, "pretend this one was real")
	guarded, err := s.App.ExclusionSuggestions(ctx, q)
	if err != nil {
		t.Fatal(err)
	}
	for _, sg := range guarded.Suggestions {
		if removes(sg.DryRun, tp) || len(sg.DryRun.SuppressedTruePositives) > 0 {
			t.Errorf("with notification %d triaged as a true positive, suggestion %s still removes it (flags %v)",
				tp.ID, sg.Exclusion.ID, sg.DryRun.SuppressedTruePositives)
		}
	}
	setTriage(t, s, []int64{tp.ID}, state.TriageFalsePositive, "benign after all")

	// Applied, the suggestions silence the built-in pack over the week.
	for _, sg := range list.Suggestions {
		if _, err := s.App.AddExclusion(ctx, api.ExclusionRequest{Exclusion: sg.Exclusion, Since: exclusionWindow, Until: until}); err != nil {
			t.Fatalf("AddExclusion(%s): %v", sg.Exclusion.ID, err)
		}
	}
	for _, r := range alert.Builtin() {
		if r.Source != alert.SourceSQL || r.Mode != alert.ModeActive {
			continue
		}
		res, err := s.App.BacktestRule(ctx, api.BacktestRequest{RuleID: r.ID, Since: exclusionWindow})
		if err != nil {
			t.Fatal(err)
		}
		if len(res.Firings) != 0 {
			t.Errorf("with the suggestions applied, %s still fires %d time(s), first %v", r.ID, len(res.Firings), res.Firings[0].Labels)
		}
	}
}

// TestDryRunFlagsCampaignOnDataVault: on the reference exfiltration, once
// triage confirms the campaign's notifications, an exclusion of the admin
// section its target lives in is flagged as suppressing them, and applying
// it needs force with a reason; an exclusion of the campaign's failed
// requests only is not flagged. The dry run of the admin exclusion over
// every rule is timed.
func TestDryRunFlagsCampaignOnDataVault(t *testing.T) {
	if testing.Short() || os.Getenv("TRACEHOUND_ACCEPTANCE") == "" {
		t.Skip("seeds a week of a scenario and replays the built-in rules: about ten minutes on two cores; run with make test-acceptance")
	}
	ctx := context.Background()
	s := start(t, testConfig(t, t.TempDir()))
	sum := seedScenario(t, s, scenario.DefaultScenario, 0.0002)
	var camp scenario.CampaignSummary
	for _, c := range sum.Campaigns {
		if c.Label == scenario.LabelAttacker && c.Target != "" {
			camp = c
		}
	}
	if camp.Name == "" {
		t.Fatalf("no attacker campaign with a target in %+v", sum.Campaigns)
	}
	_, target, ok := strings.Cut(camp.Target, " ")
	if !ok || !strings.HasPrefix(target, "/") {
		t.Fatalf("campaign target %q: want METHOD /path", camp.Target)
	}
	notes := recordBuiltinAlerts(t, s)
	var confirmed []state.Notification
	for _, n := range notes {
		if slices.Contains(camp.IPs, n.IP) || slices.Contains(camp.APIKeyIDs, n.APIKey) || n.Endpoint == camp.Target {
			confirmed = append(confirmed, n)
		}
	}
	if len(confirmed) == 0 {
		t.Fatalf("no notification about the campaign among %d", len(notes))
	}
	setTriage(t, s, notificationIDs(confirmed), state.TriageResolved, "confirmed: exfiltration through the admin export")
	until := time.Now().Add(-time.Minute).Truncate(time.Minute)

	admin := exclude.Exclusion{
		Conditions: []exclude.Condition{{Kind: exclude.KindPathGlob, Value: path.Dir(target) + "/*"}},
		Scope:      exclude.Scope{Kind: exclude.ScopeAny}, Reason: "the admin section is only used by our staff",
		ExpiresAt: exclude.Expiry{In: 30 * 24 * time.Hour},
	}
	began := time.Now()
	res, err := s.App.DryRunExclusion(ctx, api.DryRunRequest{Exclusion: &admin, Since: exclusionWindow, Until: until})
	if err != nil {
		t.Fatalf("DryRunExclusion: %v", err)
	}
	elapsed := time.Since(began)
	flagged := map[int64]bool{}
	for _, f := range res.SuppressedTruePositives {
		if f.Why == exclude.WhyTriaged {
			flagged[f.NotificationID] = true
		}
	}
	for _, n := range confirmed {
		if n.Endpoint == camp.Target && !flagged[n.ID] {
			t.Errorf("notification %d (%s about %s) is not flagged as a suppressed true positive", n.ID, n.RuleID, n.Endpoint)
		}
	}
	if len(flagged) == 0 {
		t.Errorf("%s: nothing flagged; removed %d firings", conditionsOf(admin), len(res.Removed))
	}
	replayed := 0
	for _, r := range res.Rules {
		if r.Skipped == "" {
			replayed++
		}
		t.Logf("rule %s: %d → %d notifications, %s %s", r.RuleID, r.NotificationsBefore, r.NotificationsAfter, time.Duration(r.Elapsed).Round(time.Millisecond), r.Skipped)
	}
	perDay := float64(res.RowsTotal) / res.To.Sub(res.From).Hours() * 24
	t.Logf("dry run of %s: %d rules replayed over %v (%d server spans, about %.0f a day) in %v; %d of %d notifications removed, %d flagged; linear extrapolation to 12M requests a day: %v",
		conditionsOf(admin), replayed, res.To.Sub(res.From), res.RowsTotal, perDay, elapsed.Round(time.Millisecond),
		res.NotificationsBefore-res.NotificationsAfter, res.NotificationsBefore, len(res.SuppressedTruePositives),
		time.Duration(float64(elapsed)*12e6/max(perDay, 1)).Round(time.Second))

	// Control: the campaign's failed requests only; its notifications stay.
	var confirmedRules []string
	for _, n := range confirmed {
		if !slices.Contains(confirmedRules, n.RuleID) {
			confirmedRules = append(confirmedRules, n.RuleID)
		}
	}
	failed := exclude.Exclusion{
		Conditions: []exclude.Condition{{Kind: exclude.KindIPCIDR, Value: strings.Join(camp.IPs, ", ")}, {Kind: exclude.KindStatus, Value: "4xx,5xx"}},
		Scope:      exclude.Scope{Kind: exclude.ScopeRules, RuleIDs: confirmedRules},
	}
	control, err := s.App.DryRunExclusion(ctx, api.DryRunRequest{Exclusion: &failed, Since: exclusionWindow, Until: until})
	if err != nil {
		t.Fatal(err)
	}
	if control.RowsExcluded == 0 {
		t.Errorf("%s excludes nothing: the control would not tell", conditionsOf(failed))
	}
	for _, f := range control.SuppressedTruePositives {
		if f.Why == exclude.WhyTriaged {
			t.Errorf("%s flags notification %d, which its failed requests did not cause", conditionsOf(failed), f.NotificationID)
		}
	}

	// Applying it needs force and a reason.
	_, err = s.App.AddExclusion(ctx, api.ExclusionRequest{Exclusion: admin, Since: exclusionWindow, Until: until})
	if !errors.Is(err, api.ErrBadRequest) || !strings.Contains(err.Error(), "true positives") {
		t.Fatalf("AddExclusion(%s) = %v, want a refusal naming the true positives", conditionsOf(admin), err)
	}
	if l, _ := s.App.Exclusions(ctx, api.ExclusionQuery{All: true}); len(l.Exclusions) != 0 {
		t.Errorf("a refused exclusion was stored: %+v", l.Exclusions)
	}
	if _, err := s.App.AddExclusion(ctx, api.ExclusionRequest{Exclusion: admin, Force: true, Since: exclusionWindow, Until: until}); !errors.Is(err, api.ErrBadRequest) {
		t.Errorf("AddExclusion with force and no reason = %v, want a refusal", err)
	}
	d, err := s.App.AddExclusion(ctx, api.ExclusionRequest{Exclusion: admin, Force: true, ForceReason: "the export is being decommissioned", Since: exclusionWindow, Until: until})
	if err != nil {
		t.Fatalf("AddExclusion(force) = %v", err)
	}
	if d.ForceReason == "" || d.DryRun == nil || len(d.DryRun.SuppressedTruePositives) == 0 || d.Status != exclude.StatusActive {
		t.Errorf("forced exclusion = %+v; want the reason, its flagged dry run and status active", d.ExclusionInfo)
	}
	audit, err := s.App.Audit(ctx, api.AuditQuery{Action: "exclusion."})
	if err != nil || len(audit.Entries) != 1 || !strings.Contains(string(audit.Entries[0].After), "decommissioned") {
		t.Errorf("audit of exclusion changes = %+v, %v; want one exclusion.create with the force reason", audit, err)
	}
}

func conditionsOf(e exclude.Exclusion) string {
	parts := make([]string, len(e.Conditions))
	for i, c := range e.Conditions {
		parts[i] = fmt.Sprintf("%s=%s", c.Kind, c.Value)
	}
	return strings.Join(parts, " "+string(e.Match)+" ")
}

// TestSilencesMuteNotifications: an alert a silence matches is recorded
// for triage but not sent; alerts that one matcher rejects are sent.
func TestSilencesMuteNotifications(t *testing.T) {
	received := make(chan string, 20)
	hook := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var body struct {
			Alerts []struct {
				Labels map[string]string `json:"labels"`
			} `json:"alerts"`
		}
		if err := json.NewDecoder(r.Body).Decode(&body); err == nil {
			for _, a := range body.Alerts {
				received <- a.Labels["alertname"] + "@" + a.Labels["peer_ip"]
			}
		}
	}))
	defer hook.Close()
	c := testConfig(t, t.TempDir())
	var n yaml.Node
	if err := yaml.Unmarshal([]byte(`
route: {receiver: hook, group_by: [alertname, peer_ip], group_wait: 0s, group_interval: 1s}
receivers:
  - name: hook
    webhook_configs: [{url: "`+hook.URL+`"}]
`), &n); err != nil {
		t.Fatal(err)
	}
	c.Notify = *n.Content[0]
	s := start(t, c)
	ctx := context.Background()
	for _, bad := range []api.SilenceRequest{
		{Matchers: []string{`alertname=~".*"`}, Duration: "1h", Comment: "everything"},
		{Matchers: []string{`alertname="noisy"`}, Duration: "1h"},
		{Matchers: []string{`alertname="noisy"`}, Comment: "no end"},
		{Matchers: []string{`alertname=="noisy`}, Duration: "1h", Comment: "bad matcher"},
	} {
		if _, err := s.App.AddSilence(ctx, bad); !errors.Is(err, api.ErrBadRequest) {
			t.Errorf("AddSilence(%+v) = %v, want a bad request", bad, err)
		}
	}
	sil, err := s.App.AddSilence(ctx, api.SilenceRequest{Matchers: []string{`alertname="noisy"`, `peer_ip=~"203\\.0\\.113\\..*"`},
		Duration: "1h", Comment: "load test from our lab range"})
	if err != nil {
		t.Fatalf("AddSilence: %v", err)
	}
	now := time.Now().UTC()
	mk := func(rule, ip string) alert.Alert {
		return alert.Alert{Fingerprint: rule + ip, RuleID: rule, RuleName: rule, Severity: alert.SeverityHigh, Mode: alert.ModeActive,
			State: alert.StateFiring, Labels: map[string]string{alert.LabelAlertName: rule, alert.LabelIP: ip}, StartsAt: now, EvaluatedAt: now}
	}
	if err := s.App.Deliver(ctx, []alert.Alert{mk("noisy", "203.0.113.7"), mk("noisy", "198.51.100.1"), mk("other", "203.0.113.7")}); err != nil {
		t.Fatalf("Deliver: %v", err)
	}
	got := map[string]bool{}
	deadline := time.After(10 * time.Second)
	for len(got) < 2 {
		select {
		case r := <-received:
			got[r] = true
		case <-deadline:
			t.Fatalf("received %v after 10s, want noisy@198.51.100.1 and other@203.0.113.7", got)
		}
	}
	select {
	case r := <-received:
		got[r] = true
	case <-time.After(2 * time.Second):
	}
	if got["noisy@203.0.113.7"] || !got["noisy@198.51.100.1"] || !got["other@203.0.113.7"] {
		t.Errorf("the receiver got %v; want everything but the silenced noisy@203.0.113.7", got)
	}
	p, err := s.App.Alerts(ctx, api.AlertQuery{})
	if err != nil || p.Total != 3 {
		t.Errorf("triage recorded %d notifications (%v), want all 3: silences mute receivers, not triage", p.Total, err)
	}
	list, err := s.App.Silences(ctx, false)
	if err != nil || len(list.Silences) != 1 || !list.Silences[0].Active || list.Silences[0].ID != sil.ID {
		t.Errorf("Silences = %+v, %v; want the one active silence", list, err)
	}
	if err := s.App.DeleteSilence(ctx, sil.ID); err != nil {
		t.Fatal(err)
	}
	audit, err := s.App.Audit(ctx, api.AuditQuery{Action: "silence."})
	if err != nil || len(audit.Entries) != 2 {
		t.Errorf("audit of silences = %+v, %v; want create and delete", audit, err)
	}
}

const liveCallersRule = `id: live_callers
name: Callers of the last six hours
interval: 1m
severity: low
sql: |
  SELECT peer_ip, count() AS n
  FROM traces
  WHERE span_kind = 'Server' AND timestamp > now() - INTERVAL 6 HOUR AND timestamp <= now()
  GROUP BY peer_ip
  HAVING count() >= 3
`

// TestExclusionsInTheLiveEngine: the running engine reads the rules
// through the active exclusions (the excluded caller never fires), from
// its copies of their rows for a rule that looks back hours, counts
// their hits as it runs, and records what a shadow exclusion would have
// suppressed without suppressing it.
func TestExclusionsInTheLiveEngine(t *testing.T) {
	if testing.Short() {
		t.Skip("waits for the engine's evaluations")
	}
	ctx := context.Background()
	s := start(t, testConfig(t, t.TempDir()))
	const probe, partner, other, earlier = "10.0.3.7", "203.0.113.50", "198.51.100.20", "198.51.100.21"
	active := exclude.Exclusion{ID: "probes", Conditions: []exclude.Condition{{Kind: exclude.KindPathGlob, Value: "/health*"}},
		Scope: exclude.Scope{Kind: exclude.ScopeAny}, Reason: "liveness probes", ExpiresAt: exclude.Expiry{Never: true}}
	shadow := exclude.Exclusion{ID: "partner", Conditions: []exclude.Condition{{Kind: exclude.KindIPCIDR, Value: partner}},
		Scope: exclude.Scope{Kind: exclude.ScopeAny}, Reason: "partner sync, on trial", ExpiresAt: exclude.Expiry{In: 30 * 24 * time.Hour},
		Mode: exclude.ModeShadow, ShadowUntil: time.Now().Add(7 * 24 * time.Hour)}
	for _, e := range []exclude.Exclusion{active, shadow} {
		if _, err := s.App.AddExclusion(ctx, api.ExclusionRequest{Exclusion: e}); err != nil {
			t.Fatalf("AddExclusion(%s): %v", e.ID, err)
		}
	}
	if _, err := s.App.PutRule(ctx, "live_callers", api.RuleRequest{Body: liveCallersRule}); err != nil {
		t.Fatalf("PutRule: %v", err)
	}
	var reqs []shopRequest
	for i := range 4 {
		ago := 40*time.Second + time.Duration(i)*time.Second
		reqs = append(reqs,
			shopRequest{ago: ago, method: "GET", path: "/healthz", status: 200, ip: probe},
			shopRequest{ago: ago, method: "GET", path: "/api/orders/1", status: 200, ip: partner, key: "kp"},
			shopRequest{ago: ago, method: "GET", path: "/api/orders/2", status: 200, ip: other, key: "ko"},
			// Older than the newest minutes that the engine reads from
			// the store: read from its copy.
			shopRequest{ago: 20*time.Minute + ago, method: "GET", path: "/api/orders/3", status: 200, ip: earlier, key: "ke"})
	}
	sendShop(t, s, reqs)

	deadline := time.Now().Add(3 * time.Minute)
	for {
		a, errA := s.App.Exclusion(ctx, "probes")
		p, errP := s.App.Exclusion(ctx, "partner")
		if errA != nil || errP != nil {
			t.Fatal(errA, errP)
		}
		if a.HitCount > 0 && p.HitCount > 0 && len(p.Suppressed) > 0 {
			if a.HitCount != 4 || p.HitCount != 4 || a.LastHit.IsZero() {
				t.Errorf("hits: probes %d (last %v), partner %d; want 4 each", a.HitCount, a.LastHit, p.HitCount)
			}
			if sp := p.Suppressed[0]; sp.RuleID != "live_callers" || sp.Labels[alert.LabelIP] != partner || p.ShadowSuppressions != 1 {
				t.Errorf("shadow suppressions %+v (%d); want live_callers about %s", p.Suppressed, p.ShadowSuppressions, partner)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("after 3 minutes: probes %d hits, partner %d hits and %d shadow suppressions", a.HitCount, p.HitCount, len(p.Suppressed))
		}
		time.Sleep(time.Second)
	}
	notes, err := s.App.Alerts(ctx, api.AlertQuery{Rule: "live_callers"})
	if err != nil {
		t.Fatal(err)
	}
	fired := map[string]bool{}
	for _, n := range notes.Alerts {
		fired[n.IP] = true
	}
	if fired[probe] || !fired[partner] || !fired[other] || !fired[earlier] {
		t.Errorf("live_callers fired for %v; want the partner (shadow suppresses nothing) and the other callers, not the probe", fired)
	}
	resp, err := http.Get("http://" + s.Addr() + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	var copied float64
	for _, l := range strings.Split(string(body), "\n") {
		if v, ok := strings.CutPrefix(l, "tracehound_rule_copied_rows "); ok {
			copied, _ = strconv.ParseFloat(v, 64)
		}
	}
	if copied < 4 { // the earlier caller's requests, all but the probe's
		t.Errorf("tracehound_rule_copied_rows = %v, want the earlier caller's 4 requests or more:\n%s", copied, grepLines(string(body), "copied"))
	}
}
