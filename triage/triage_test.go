package triage_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/url"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/tracehound/tracehound/alert"
	"github.com/tracehound/tracehound/state"
	"github.com/tracehound/tracehound/state/sqlite"
	"github.com/tracehound/tracehound/triage"
)

var day1 = time.Date(2026, 3, 2, 2, 31, 0, 0, time.UTC)

func newService(t *testing.T, now *time.Time) *triage.Service {
	t.Helper()
	store, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "state.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { store.Close() })
	return triage.New(store, triage.Options{
		IncidentWindow: 12 * time.Hour,
		Logger:         slog.New(slog.NewTextHandler(io.Discard, nil)),
		Now:            func() time.Time { return *now },
	})
}

// exportAlert is an alert of the reference scenario: one IP calling
// /admin/export with the trial key.
func exportAlert(rule, ip string, sev alert.Severity, st alert.State, at time.Time) alert.Alert {
	a := alert.Alert{
		Fingerprint: rule + "/" + ip, RuleID: rule, RuleName: "Admin export by " + rule, Severity: sev,
		Mode: alert.ModeActive, State: st,
		Labels: map[string]string{alert.LabelAlertName: rule, alert.LabelSeverity: string(sev), alert.LabelIP: ip,
			alert.LabelAPIKey: "key-trial-7f3a", alert.LabelEndpoint: "GET /admin/export"},
		Annotations: map[string]string{"summary": ip + " exported collections"},
		StartsAt:    at, EvaluatedAt: at,
	}
	if st == alert.StateResolved {
		a.EndsAt = at
	}
	return a
}

func TestRecordGroupsTheCampaignIntoOneIncident(t *testing.T) {
	ctx := context.Background()
	now := day1
	s := newService(t, &now)
	ips := []string{"104.248.73.19", "167.71.205.88", "178.128.44.156"}
	var batch []alert.Alert
	for i, ip := range ips {
		batch = append(batch, exportAlert("bola-enumeration", ip, alert.SeverityHigh, alert.StateFiring, day1.Add(time.Duration(i)*time.Hour)))
	}
	batch = append(batch, exportAlert("export-volume", ips[0], alert.SeverityCritical, alert.StateFiring, day1.Add(4*time.Hour)))
	shadow := exportAlert("new-narrow-rule", ips[1], alert.SeverityCritical, alert.StateFiring, day1.Add(5*time.Hour))
	shadow.Mode = alert.ModeShadow
	batch = append(batch, shadow)
	if err := s.Record(ctx, batch); err != nil {
		t.Fatalf("Record = %v", err)
	}

	page, err := s.Notifications(ctx, state.NotificationFilter{})
	if err != nil {
		t.Fatal(err)
	}
	if page.Total != 4 || len(page.Alerts) != 4 {
		t.Fatalf("default list = %d of %d, want the 4 active notifications", len(page.Alerts), page.Total)
	}
	for _, n := range page.Alerts {
		if n.Mode != "active" || n.APIKey != "key-trial-7f3a" || n.Endpoint != "GET /admin/export" {
			t.Errorf("listed notification %+v, want an active one carrying the key and endpoint labels", n)
		}
	}
	if sh, err := s.Notifications(ctx, state.NotificationFilter{Mode: "shadow"}); err != nil || sh.Total != 1 || sh.Alerts[0].IncidentID != 0 {
		t.Errorf("shadow list = %+v, %v; want the one shadow notification, outside incidents", sh, err)
	}

	incs, err := s.Incidents(ctx, state.IncidentFilter{})
	if err != nil {
		t.Fatal(err)
	}
	if len(incs.Incidents) != 1 {
		t.Fatalf("incidents = %+v, want one campaign", incs.Incidents)
	}
	inc := incs.Incidents[0]
	if inc.Severity != "critical" || inc.NotificationCount != 4 || !slices.Equal(inc.IPs, ips) ||
		inc.Title != "Admin export by bola-enumeration: GET /admin/export, 104.248.73.19, key-trial-7f3a" {
		t.Errorf("incident = %+v", inc)
	}

	// The alert clears on its own: recorded, but the triage status stays.
	now = day1.Add(6 * time.Hour)
	if err := s.Record(ctx, []alert.Alert{exportAlert("bola-enumeration", ips[0], alert.SeverityHigh, alert.StateResolved, now)}); err != nil {
		t.Fatal(err)
	}
	resolved, err := s.Notifications(ctx, state.NotificationFilter{AlertState: "resolved"})
	if err != nil || resolved.Total != 1 || resolved.Alerts[0].Status != state.TriageOpen || resolved.Alerts[0].IP != ips[0] {
		t.Errorf("after the alert resolved: %+v, %v; want it resolved as an alert and still open in triage", resolved, err)
	}

	// Triage the incident with its members.
	now = day1.Add(7 * time.Hour)
	if _, err := s.UpdateIncident(ctx, inc.ID, "", triage.Change{Status: state.TriageInvestigating}, true); !errors.Is(err, triage.ErrInvalid) {
		t.Errorf("UpdateIncident without an actor = %v, want ErrInvalid", err)
	}
	if _, err := s.UpdateIncident(ctx, inc.ID, "ana", triage.Change{Status: state.TriageInvestigating, Note: "three DO IPs, one trial key"}, true); err != nil {
		t.Fatalf("UpdateIncident = %v", err)
	}
	inv, err := s.Notifications(ctx, state.NotificationFilter{Statuses: []string{state.TriageInvestigating}})
	if err != nil || inv.Total != 4 {
		t.Errorf("investigating notifications after the cascade = %d, %v; want 4", inv.Total, err)
	}
	detail, err := s.Incident(ctx, inc.ID)
	if err != nil {
		t.Fatal(err)
	}
	if detail.Status != state.TriageInvestigating || len(detail.Notifications) != 4 {
		t.Errorf("incident detail = %+v", detail.Incident)
	}
	var kinds []string
	for _, ev := range detail.Timeline {
		kinds = append(kinds, ev.Kind)
	}
	for _, want := range []string{state.EventOpened, state.EventJoined, state.EventAlertResolved, state.EventStatus, state.EventNote} {
		if !slices.Contains(kinds, want) {
			t.Errorf("timeline kinds %v lack %q", kinds, want)
		}
	}
	if last := detail.Timeline[len(detail.Timeline)-1]; last.Actor != "ana" || !last.At.Equal(now) {
		t.Errorf("last timeline event = %+v, want ana's at %v", last, now)
	}

	// JSON shapes the API serves.
	b, err := json.Marshal(page)
	if err != nil {
		t.Fatal(err)
	}
	var loose struct {
		Alerts []map[string]any `json:"alerts"`
		Total  int              `json:"total"`
	}
	if err := json.Unmarshal(b, &loose); err != nil || len(loose.Alerts) != 4 || loose.Total != 4 {
		t.Fatalf("page JSON = %s", b)
	}
	for _, key := range []string{"id", "fingerprint", "rule_id", "severity", "status", "alert_state", "first_seen", "last_seen", "incident_id", "api_key_id"} {
		if _, ok := loose.Alerts[0][key]; !ok {
			t.Errorf("notification JSON lacks %q: %v", key, loose.Alerts[0])
		}
	}
}

func TestUpdateValidatesAndAudits(t *testing.T) {
	ctx := context.Background()
	now := day1
	s := newService(t, &now)
	if err := s.Record(ctx, []alert.Alert{
		exportAlert("r1", "10.0.0.1", alert.SeverityLow, alert.StateFiring, day1),
		exportAlert("r2", "10.0.0.2", alert.SeverityLow, alert.StateFiring, day1),
		{Fingerprint: "x", State: alert.StatePending},
	}); !errors.Is(err, triage.ErrInvalid) {
		t.Errorf("Record with a pending alert = %v, want ErrInvalid for it", err)
	}
	page, err := s.Notifications(ctx, state.NotificationFilter{})
	if err != nil || page.Total != 2 {
		t.Fatalf("notifications = %+v, %v; want the 2 valid alerts recorded", page, err)
	}
	ids := []int64{page.Alerts[0].ID, page.Alerts[1].ID}
	bob := "bob"
	tests := []struct {
		name  string
		ids   []int64
		actor string
		c     triage.Change
		want  error
	}{
		{"no ids", nil, "ana", triage.Change{Status: "resolved"}, triage.ErrInvalid},
		{"no actor", ids, " ", triage.Change{Status: "resolved"}, triage.ErrInvalid},
		{"unknown status", ids, "ana", triage.Change{Status: "closed"}, triage.ErrInvalid},
		{"false positive without reason", ids, "ana", triage.Change{Status: "false_positive"}, triage.ErrInvalid},
		{"nothing", ids, "ana", triage.Change{}, triage.ErrInvalid},
		{"title", ids, "ana", triage.Change{Title: "x"}, triage.ErrInvalid},
		{"missing id", []int64{ids[0], 99999}, "ana", triage.Change{Status: "resolved"}, state.ErrNotFound},
		{"bulk false positive", ids, "ana", triage.Change{Status: "false_positive", Reason: "load test", Assignee: &bob}, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := s.Update(ctx, tc.ids, tc.actor, tc.c)
			if tc.want == nil && err != nil || tc.want != nil && !errors.Is(err, tc.want) {
				t.Errorf("Update(%v, %q, %+v) = %v, want %v", tc.ids, tc.actor, tc.c, err, tc.want)
			}
		})
	}
	for _, id := range ids {
		d, err := s.Notification(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		if d.Status != state.TriageFalsePositive || d.Reason != "load test" || d.Assignee != "bob" {
			t.Errorf("notification %d = %+v, want the bulk change only", id, d.Notification)
		}
		if len(d.Audit) != 4 || d.Audit[2].Before != "open" || d.Audit[2].After != "false_positive" || d.Audit[2].Actor != "ana" {
			// opened, joined, status, assignee
			t.Errorf("audit of %d = %+v", id, d.Audit)
		}
	}
}

func TestParseNotificationFilter(t *testing.T) {
	now := day1
	tests := []struct {
		query string
		want  state.NotificationFilter
		err   bool
	}{
		{"", state.NotificationFilter{Limit: triage.DefaultLimit}, false},
		{"status=open,investigating&severity=high,%20critical&limit=10&cursor=77",
			state.NotificationFilter{Statuses: []string{"open", "investigating"}, Severities: []string{"high", "critical"}, Limit: 10, BeforeID: 77}, false},
		{"ip=::ffff:104.248.73.19&api_key=k&endpoint=GET+/admin/export&rule=r&mode=any&alert_state=firing&incident=3",
			state.NotificationFilter{IP: "104.248.73.19", APIKey: "k", Endpoint: "GET /admin/export", RuleID: "r", Mode: "any",
				AlertState: "firing", IncidentID: 3, Limit: triage.DefaultLimit}, false},
		{"since=7d&until=2026-03-02T00:00:00Z", state.NotificationFilter{Since: now.Add(-7 * 24 * time.Hour),
			Until: time.Date(2026, 3, 2, 0, 0, 0, 0, time.UTC), Limit: triage.DefaultLimit}, false},
		{"since=90m", state.NotificationFilter{Since: now.Add(-90 * time.Minute), Limit: triage.DefaultLimit}, false},
		{"status=closed", state.NotificationFilter{}, true},
		{"severity=urgent", state.NotificationFilter{}, true},
		{"ip=evil", state.NotificationFilter{}, true},
		{"limit=0", state.NotificationFilter{}, true},
		{"limit=5000", state.NotificationFilter{}, true},
		{"cursor=-1", state.NotificationFilter{}, true},
		{"since=-3h", state.NotificationFilter{}, true},
		{"since=1h&until=2h", state.NotificationFilter{}, true},
		{"mode=all", state.NotificationFilter{}, true},
	}
	for _, tc := range tests {
		t.Run(tc.query, func(t *testing.T) {
			q, err := url.ParseQuery(tc.query)
			if err != nil {
				t.Fatal(err)
			}
			got, err := triage.ParseNotificationFilter(q, now)
			if tc.err {
				if !errors.Is(err, triage.ErrInvalid) {
					t.Errorf("ParseNotificationFilter(%q) = %+v, %v; want ErrInvalid", tc.query, got, err)
				}
				return
			}
			if err != nil || !sameFilter(got, tc.want) {
				t.Errorf("ParseNotificationFilter(%q) = %+v, %v; want %+v", tc.query, got, err, tc.want)
			}
		})
	}
}

func sameFilter(a, b state.NotificationFilter) bool {
	return slices.Equal(a.Statuses, b.Statuses) && slices.Equal(a.Severities, b.Severities) &&
		a.RuleID == b.RuleID && a.IP == b.IP && a.APIKey == b.APIKey && a.Endpoint == b.Endpoint &&
		a.Assignee == b.Assignee && a.IncidentID == b.IncidentID && a.AlertState == b.AlertState && a.Mode == b.Mode &&
		a.Since.Equal(b.Since) && a.Until.Equal(b.Until) && a.BeforeID == b.BeforeID && a.Limit == b.Limit
}

func FuzzParseNotificationFilter(f *testing.F) {
	for _, seed := range []string{"", "status=open&severity=high", "since=7d&until=1d", "ip=::1&limit=1000",
		"since=1e308d", "since=2026-03-02T00:00:00Z", "cursor=9223372036854775807", "since=0.5w&mode=shadow"} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		q, err := url.ParseQuery(raw)
		if err != nil {
			return
		}
		got, err := triage.ParseNotificationFilter(q, day1)
		if err != nil {
			if !errors.Is(err, triage.ErrInvalid) {
				t.Fatalf("ParseNotificationFilter(%q) error %v does not wrap ErrInvalid", raw, err)
			}
			return
		}
		if got.Limit < 1 || got.Limit > triage.MaxLimit || got.BeforeID < 0 || got.IncidentID < 0 {
			t.Fatalf("ParseNotificationFilter(%q) = %+v: limit or ids out of range", raw, got)
		}
		for _, s := range got.Statuses {
			if !state.ValidTriageStatus(s) {
				t.Fatalf("ParseNotificationFilter(%q) let status %q through", raw, s)
			}
		}
		if !got.Since.IsZero() && !got.Until.IsZero() && !got.Since.Before(got.Until) {
			t.Fatalf("ParseNotificationFilter(%q) = since %v not before until %v", raw, got.Since, got.Until)
		}
		if _, err := triage.ParseIncidentFilter(q, day1); err != nil && !errors.Is(err, triage.ErrInvalid) {
			t.Fatalf("ParseIncidentFilter(%q) error %v does not wrap ErrInvalid", raw, err)
		}
	})
}
