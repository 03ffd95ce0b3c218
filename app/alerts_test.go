package app_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/tracehound/tracehound/alert"
	"github.com/tracehound/tracehound/api"
	"github.com/tracehound/tracehound/app"
	"github.com/tracehound/tracehound/auth"
	"github.com/tracehound/tracehound/state"
	"github.com/tracehound/tracehound/store"
	"github.com/tracehound/tracehound/triage"
)

// Label values of the seeded alerts.
const (
	scannerIP = "203.0.113.7"
	otherIP   = "198.51.100.20"
)

// seedAlerts records four firing alerts: two sharing scannerIP (one
// incident), one from otherIP with an API key (a second incident) and one
// in shadow mode (hidden from default lists, in no incident).
func seedAlerts(t *testing.T, a *app.App) {
	t.Helper()
	now := time.Now().UTC().Truncate(time.Second)
	mk := func(fp, rule string, sev alert.Severity, mode alert.Mode, labels map[string]string, ago time.Duration) alert.Alert {
		return alert.Alert{
			Fingerprint: fp, RuleID: rule, RuleName: rule, Severity: sev, Mode: mode, State: alert.StateFiring,
			Labels: labels, Annotations: map[string]string{"summary": rule + " fired"},
			StartsAt: now.Add(-ago), EvaluatedAt: now.Add(-ago),
		}
	}
	alerts := []alert.Alert{
		mk("fp-scan", "admin_scan", alert.SeverityHigh, alert.ModeActive,
			map[string]string{alert.LabelIP: scannerIP, alert.LabelEndpoint: "GET /admin/export"}, 3*time.Hour),
		mk("fp-stuff", "credential_stuffing", alert.SeverityCritical, alert.ModeActive,
			map[string]string{alert.LabelIP: scannerIP}, 2*time.Hour),
		mk("fp-bola", "bola", alert.SeverityMedium, alert.ModeActive,
			map[string]string{alert.LabelIP: otherIP, alert.LabelAPIKey: "key_9f"}, time.Hour),
		mk("fp-shadow", "new_rule", alert.SeverityLow, alert.ModeShadow,
			map[string]string{alert.LabelIP: scannerIP}, 30*time.Minute),
	}
	if err := a.RecordAlerts(context.Background(), alerts); err != nil {
		t.Fatalf("RecordAlerts: %v", err)
	}
}

// alertIDs maps rule ids to the ids of their notifications.
func alertIDs(t *testing.T, b api.AlertsBackend) map[string]int64 {
	t.Helper()
	p, err := b.Alerts(context.Background(), api.AlertQuery{Mode: "any"})
	if err != nil {
		t.Fatalf("Alerts: %v", err)
	}
	ids := map[string]int64{}
	for _, n := range p.Alerts {
		ids[n.RuleID] = n.ID
	}
	return ids
}

func alertRules(ns []state.Notification) []string {
	out := make([]string, len(ns))
	for i, n := range ns {
		out[i] = n.RuleID
	}
	return out
}

// isAlertBadRequest reports whether err is a refused request, from the App
// (triage.ErrInvalid) or through the client (api.ErrBadRequest).
func isAlertBadRequest(err error) bool {
	return errors.Is(err, triage.ErrInvalid) || errors.Is(err, api.ErrBadRequest)
}

func isAlertNotFound(err error) bool {
	return errors.Is(err, state.ErrNotFound) || errors.Is(err, store.ErrNotFound)
}

func TestAlertsList(t *testing.T) {
	s := start(t, testConfig(t, t.TempDir()))
	seedAlerts(t, s.App)
	backends := map[string]api.AlertsBackend{"local": s.App, "http": s.client(t)}
	tests := []struct {
		name  string
		q     api.AlertQuery
		want  []string // rule ids, newest first
		total int
	}{
		{"default hides shadow mode", api.AlertQuery{}, []string{"bola", "credential_stuffing", "admin_scan"}, 3},
		{"any mode", api.AlertQuery{Mode: "any"}, []string{"new_rule", "bola", "credential_stuffing", "admin_scan"}, 4},
		{"severity list", api.AlertQuery{Severity: "high,critical"}, []string{"credential_stuffing", "admin_scan"}, 2},
		{"rule", api.AlertQuery{Rule: "bola"}, []string{"bola"}, 1},
		{"ip", api.AlertQuery{IP: scannerIP}, []string{"credential_stuffing", "admin_scan"}, 2},
		{"api key", api.AlertQuery{APIKey: "key_9f"}, []string{"bola"}, 1},
		{"endpoint", api.AlertQuery{Endpoint: "GET /admin/export"}, []string{"admin_scan"}, 1},
		{"status", api.AlertQuery{Status: "resolved"}, []string{}, 0},
		{"since", api.AlertQuery{Since: "150m"}, []string{"bola", "credential_stuffing"}, 2},
		{"until", api.AlertQuery{Until: "150m"}, []string{"admin_scan"}, 1},
		{"first page", api.AlertQuery{Limit: 2}, []string{"bola", "credential_stuffing"}, 3},
	}
	for name, b := range backends {
		for _, tc := range tests {
			t.Run(name+"/"+tc.name, func(t *testing.T) {
				p, err := b.Alerts(context.Background(), tc.q)
				if err != nil {
					t.Fatalf("Alerts(%+v): %v", tc.q, err)
				}
				if got := strings.Join(alertRules(p.Alerts), ","); got != strings.Join(tc.want, ",") || p.Total != tc.total {
					t.Errorf("Alerts(%+v) = %s (total %d), want %s (total %d)", tc.q, got, p.Total, strings.Join(tc.want, ","), tc.total)
				}
			})
		}
		t.Run(name+"/next page", func(t *testing.T) {
			first, err := b.Alerts(context.Background(), api.AlertQuery{Limit: 2})
			if err != nil || first.NextCursor == "" {
				t.Fatalf("first page: %+v, %v; want a next cursor", first, err)
			}
			next, err := b.Alerts(context.Background(), api.AlertQuery{Limit: 2, Cursor: first.NextCursor})
			if err != nil || strings.Join(alertRules(next.Alerts), ",") != "admin_scan" || next.NextCursor != "" {
				t.Errorf("next page = %+v, %v; want admin_scan and no cursor", next, err)
			}
		})
		for _, q := range []api.AlertQuery{{Severity: "urgent"}, {IP: "not-an-ip"}, {Since: "yesterday"}, {Limit: 5000}, {Status: "closed"}, {Mode: "dry"}} {
			if _, err := b.Alerts(context.Background(), q); !isAlertBadRequest(err) {
				t.Errorf("%s: Alerts(%+v) error = %v, want a bad request", name, q, err)
			}
		}
		if _, err := b.Alert(context.Background(), 9999); !isAlertNotFound(err) {
			t.Errorf("%s: Alert(9999) error = %v, want not found", name, err)
		}
	}
}

func TestAlertsUpdate(t *testing.T) {
	s := start(t, testConfig(t, t.TempDir()))
	seedAlerts(t, s.App)
	ctx := context.Background()
	c := s.client(t)
	ids := alertIDs(t, s.App)
	tokenActor := cliTokenActor(t, c)
	ana := "ana"

	// A bulk change through the API, as the CLI's token.
	res, err := c.UpdateAlerts(ctx, api.AlertChange{IDs: []int64{ids["admin_scan"], ids["credential_stuffing"]},
		Status: state.TriageInvestigating, Assignee: &ana, Note: "same scanner"})
	if err != nil {
		t.Fatalf("UpdateAlerts: %v", err)
	}
	if len(res.Alerts) != 2 || res.Alerts[0].ID != ids["admin_scan"] {
		t.Fatalf("UpdateAlerts answered %+v, want the two alerts in the order asked", res.Alerts)
	}
	for _, n := range res.Alerts {
		if n.Status != state.TriageInvestigating || n.Assignee != "ana" {
			t.Errorf("alert %d after the change: status %q assignee %q, want investigating, ana", n.ID, n.Status, n.Assignee)
		}
	}
	byStatus, err := s.App.Alerts(ctx, api.AlertQuery{Status: "investigating", Assignee: "ana"})
	if err != nil || byStatus.Total != 2 {
		t.Errorf("investigating alerts of ana = %+v, %v; want 2", byStatus, err)
	}

	// A false positive needs a reason, on both backends, and a refused
	// change changes nothing.
	for name, b := range map[string]api.AlertsBackend{"local": s.App, "http": c} {
		_, err := b.UpdateAlerts(ctx, api.AlertChange{IDs: []int64{ids["bola"]}, Status: state.TriageFalsePositive})
		if !isAlertBadRequest(err) || !strings.Contains(err.Error(), "needs a reason") {
			t.Errorf("%s: false_positive without a reason: %v, want a bad request naming the reason", name, err)
		}
		_, err = b.UpdateAlerts(ctx, api.AlertChange{IDs: []int64{ids["bola"], 9999}, Status: state.TriageResolved})
		if !isAlertNotFound(err) {
			t.Errorf("%s: change with a missing id: %v, want not found", name, err)
		}
		_, err = b.UpdateAlerts(ctx, api.AlertChange{IDs: []int64{ids["bola"]}, Status: "closed"})
		if !isAlertBadRequest(err) {
			t.Errorf("%s: unknown status: %v, want a bad request", name, err)
		}
	}
	if d, err := c.Alert(ctx, ids["bola"]); err != nil || d.Status != state.TriageOpen {
		t.Fatalf("bola after refused changes: %+v, %v; want open", d, err)
	}

	// Locally, the CLI on the data directory acts as "local".
	res, err = s.App.UpdateAlerts(ctx, api.AlertChange{IDs: []int64{ids["bola"]}, Status: state.TriageFalsePositive, Reason: "pen test"})
	if err != nil || res.Alerts[0].Status != state.TriageFalsePositive || res.Alerts[0].Reason != "pen test" {
		t.Fatalf("local false_positive = %+v, %v", res, err)
	}

	// One alert's PATCH answers the alert itself.
	var one state.Notification
	status, body := alertRequest(t, s, http.MethodPatch, "/api/v1/alerts/"+idText(ids["bola"]), `{"status":"resolved","reason":"blocked upstream"}`, &one)
	if status != http.StatusOK || one.ID != ids["bola"] || one.Status != state.TriageResolved {
		t.Errorf("PATCH one alert: %d %s", status, body)
	}
	if status, body := alertRequest(t, s, http.MethodPatch, "/api/v1/alerts", `{"status":"resolved"}`, nil); status != http.StatusBadRequest {
		t.Errorf("bulk PATCH without ids: %d %s, want 400", status, body)
	}

	// The trail and the audit log name who did what.
	d, err := c.Alert(ctx, ids["admin_scan"])
	if err != nil {
		t.Fatal(err)
	}
	var trail []string
	for _, e := range d.Audit {
		trail = append(trail, e.Kind+" by "+e.Actor)
	}
	for _, want := range []string{"status by " + tokenActor, "assignee by " + tokenActor, "note by " + tokenActor} {
		if !strings.Contains(strings.Join(trail, "; "), want) {
			t.Errorf("trail of admin_scan = %q, want %q", trail, want)
		}
	}
	wantAudit := []struct {
		action, target, actor string
		n                     int
	}{
		{"alert.status", "alert:" + idText(ids["admin_scan"]), tokenActor, 1},
		{"alert.assignee", "alert:" + idText(ids["credential_stuffing"]), tokenActor, 1},
		{"alert.note", "alert:" + idText(ids["credential_stuffing"]), tokenActor, 1},
		{"alert.status", "alert:" + idText(ids["bola"]), "local", 1},
		{"alert.status", "alert:" + idText(ids["bola"]), tokenActor, 1},
	}
	for _, w := range wantAudit {
		list, err := c.Audit(ctx, api.AuditQuery{Action: w.action, Target: w.target, Actor: w.actor})
		if err != nil || len(list.Entries) != w.n {
			t.Errorf("audit %s %s by %s = %+v, %v; want %d entries", w.action, w.target, w.actor, list, err, w.n)
		}
	}
	list, err := c.Audit(ctx, api.AuditQuery{Action: "alert.status", Target: "alert:" + idText(ids["bola"]), Actor: "local"})
	if err == nil && len(list.Entries) == 1 {
		if got := string(list.Entries[0].Before) + " → " + string(list.Entries[0].After); got != `{"status":"open"} → {"status":"false_positive","reason":"pen test"}` {
			t.Errorf("audit of the false positive = %s", got)
		}
	}
}

func TestIncidents(t *testing.T) {
	s := start(t, testConfig(t, t.TempDir()))
	seedAlerts(t, s.App)
	ctx := context.Background()
	c := s.client(t)
	ids := alertIDs(t, s.App)
	tokenActor := cliTokenActor(t, c)

	var scanner int64
	for name, b := range map[string]api.AlertsBackend{"local": s.App, "http": c} {
		p, err := b.Incidents(ctx, api.IncidentQuery{})
		if err != nil || len(p.Incidents) != 2 {
			t.Fatalf("%s: Incidents = %+v, %v; want 2 (shadow alerts join none)", name, p, err)
		}
		for _, inc := range p.Incidents {
			if strings.Join(inc.IPs, ",") == scannerIP {
				scanner = inc.ID
				if inc.NotificationCount != 2 || inc.Severity != "critical" {
					t.Errorf("%s: scanner incident %+v: want 2 notifications, critical", name, inc)
				}
			}
		}
		if scanner == 0 {
			t.Fatalf("%s: no incident holds only %s: %+v", name, scannerIP, p.Incidents)
		}
		d, err := b.Incident(ctx, scanner)
		if err != nil {
			t.Fatalf("%s: Incident: %v", name, err)
		}
		if got := strings.Join(alertRules(d.Notifications), ","); got != "credential_stuffing,admin_scan" || len(d.Timeline) == 0 {
			t.Errorf("%s: Incident members %s, %d timeline events; want credential_stuffing,admin_scan and a timeline", name, got, len(d.Timeline))
		}
		if _, err := b.Incident(ctx, 9999); !isAlertNotFound(err) {
			t.Errorf("%s: Incident(9999): %v, want not found", name, err)
		}
		if _, err := b.Incidents(ctx, api.IncidentQuery{Status: "done"}); !isAlertBadRequest(err) {
			t.Errorf("%s: Incidents(status=done): %v, want a bad request", name, err)
		}
		if _, err := b.UpdateIncident(ctx, scanner, api.IncidentChange{Status: state.TriageFalsePositive}); !isAlertBadRequest(err) {
			t.Errorf("%s: incident false_positive without a reason: %v, want a bad request", name, err)
		}
	}

	// Renaming and resolving with a cascade, through the API.
	d, err := c.UpdateIncident(ctx, scanner, api.IncidentChange{Status: state.TriageResolved, Reason: "IP blocked",
		Title: "Scanner 203.0.113.7", Note: "blocked at the edge", Cascade: true})
	if err != nil {
		t.Fatalf("UpdateIncident: %v", err)
	}
	if d.Status != state.TriageResolved || d.Title != "Scanner 203.0.113.7" {
		t.Errorf("incident after the change: %+v", d.Incident)
	}
	for _, n := range d.Notifications {
		if n.Status != state.TriageResolved || n.Reason != "IP blocked" {
			t.Errorf("member %s after the cascade: %s (%q), want resolved (IP blocked)", n.RuleID, n.Status, n.Reason)
		}
	}
	if p, err := c.Incidents(ctx, api.IncidentQuery{Status: "open"}); err != nil || len(p.Incidents) != 1 || p.Incidents[0].ID == scanner {
		t.Errorf("open incidents after resolving the scanner's = %+v, %v; want the other one", p, err)
	}
	for _, w := range []struct{ action, target string }{
		{"incident.status", "incident:" + idText(scanner)},
		{"incident.title", "incident:" + idText(scanner)},
		{"incident.note", "incident:" + idText(scanner)},
		{"alert.status", "alert:" + idText(ids["admin_scan"])},
		{"alert.status", "alert:" + idText(ids["credential_stuffing"])},
	} {
		list, err := c.Audit(ctx, api.AuditQuery{Action: w.action, Target: w.target, Actor: tokenActor})
		if err != nil || len(list.Entries) != 1 {
			t.Errorf("audit %s %s = %+v, %v; want one entry by %s", w.action, w.target, list, err, tokenActor)
		}
	}
	// Without a cascade the members keep their status.
	ana := "ana"
	other := alertIDs(t, s.App)["bola"]
	bola, err := s.App.Alert(ctx, other)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.App.UpdateIncident(ctx, bola.IncidentID, api.IncidentChange{Status: state.TriageInvestigating, Assignee: &ana}); err != nil {
		t.Fatal(err)
	}
	if n, err := s.App.Alert(ctx, other); err != nil || n.Status != state.TriageOpen {
		t.Errorf("member of an incident changed without a cascade: %+v, %v; want it open", n, err)
	}
	if list, err := c.Audit(ctx, api.AuditQuery{Action: "incident.assignee", Actor: "local"}); err != nil || len(list.Entries) != 1 {
		t.Errorf("local incident assignee audit = %+v, %v; want one entry", list, err)
	}
}

func TestAlertsRoles(t *testing.T) {
	s := start(t, testConfig(t, t.TempDir()))
	seedAlerts(t, s.App)
	ctx := context.Background()
	ids := alertIDs(t, s.App)
	admin := s.client(t)
	tok, err := admin.CreateToken(ctx, api.TokenRequest{Name: "dashboard", Role: auth.RoleViewer, Service: true})
	if err != nil {
		t.Fatal(err)
	}
	viewer := s.client(t)
	viewer.SetToken(tok.Secret)
	if _, err := viewer.Alerts(ctx, api.AlertQuery{}); err != nil {
		t.Errorf("viewer lists alerts: %v", err)
	}
	if _, err := viewer.UpdateAlerts(ctx, api.AlertChange{IDs: []int64{ids["bola"]}, Status: state.TriageResolved}); !errors.Is(err, auth.ErrForbidden) {
		t.Errorf("viewer changes an alert: %v, want forbidden", err)
	}
	if _, err := viewer.UpdateIncident(ctx, 1, api.IncidentChange{Status: state.TriageResolved}); !errors.Is(err, auth.ErrForbidden) {
		t.Errorf("viewer changes an incident: %v, want forbidden", err)
	}
	anon, err := api.NewClient("http://" + s.Addr())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := anon.Alerts(ctx, api.AlertQuery{}); !errors.Is(err, auth.ErrUnauthenticated) {
		t.Errorf("alerts without a token: %v, want unauthenticated", err)
	}
}

func TestAlertsNotifyStatus(t *testing.T) {
	c := testConfig(t, t.TempDir())
	const secret = "https://hooks.example/T0/B0/very-secret-part"
	var n yaml.Node
	if err := yaml.Unmarshal([]byte(`
route: {receiver: security}
receivers:
  - name: security
    slack_configs: [{webhook_url: "`+secret+`"}]
`), &n); err != nil {
		t.Fatal(err)
	}
	c.Notify = *n.Content[0]
	s := start(t, c)
	for name, b := range map[string]api.AlertsBackend{"local": s.App, "http": s.client(t)} {
		st, err := b.NotifyStatus(context.Background())
		if err != nil {
			t.Fatalf("%s: NotifyStatus: %v", name, err)
		}
		if len(st.Receivers) != 1 || st.Receivers[0].Receiver != "security" || st.Receivers[0].Integration != "slack[0]" {
			t.Errorf("%s: NotifyStatus = %+v, want security/slack[0]", name, st)
		}
	}
	_, body := alertRequest(t, s, http.MethodGet, "/api/v1/notify/status", "", nil)
	if strings.Contains(body, "very-secret") || !strings.Contains(body, `"receivers"`) {
		t.Errorf("GET /api/v1/notify/status = %s: want the receivers and no secret", body)
	}
}

// cliTokenActor is the audit actor of the server's local CLI token, which
// s.client authenticates with.
func cliTokenActor(t *testing.T, c *api.Client) string {
	t.Helper()
	toks, err := c.Tokens(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	for _, tok := range toks.Tokens {
		if tok.Name == "local-cli" {
			return auth.Principal{Kind: "token", TokenID: tok.ID}.Actor()
		}
	}
	t.Fatalf("no local-cli token in %+v", toks.Tokens)
	return ""
}

func idText(id int64) string { return strconv.FormatInt(id, 10) }

// alertRequest sends a raw API request to s with the local CLI's token and
// decodes a 200 answer into out.
func alertRequest(t *testing.T, s *server, method, path, body string, out any) (int, string) {
	t.Helper()
	tok, err := os.ReadFile(filepath.Join(s.Config().Data, app.CLITokenFile))
	if err != nil {
		t.Fatal(err)
	}
	req, err := http.NewRequest(method, "http://"+s.Addr()+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+strings.TrimSpace(string(tok)))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if out != nil && resp.StatusCode == http.StatusOK {
		if err := json.Unmarshal(b, out); err != nil {
			t.Fatalf("%s %s: decode %s: %v", method, path, b, err)
		}
	}
	return resp.StatusCode, string(b)
}
