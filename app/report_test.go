package app_test

import (
	"bytes"
	"context"
	"strings"
	"testing"
	"time"

	"github.com/tracehound/tracehound/alert"
	"github.com/tracehound/tracehound/api"
	"github.com/tracehound/tracehound/report"
	"github.com/tracehound/tracehound/scenario"
)

// TestIncidentReportDataVault seeds the reference scenario, raises the
// notifications its attackers would cause, and checks the incident report:
// one campaign of the three addresses, the undocumented target, the unique
// objects taken, and a detection gap of more than a day (the alerts come
// at the end of the campaign); Markdown and HTML render it.
func TestIncidentReportDataVault(t *testing.T) {
	if testing.Short() {
		t.Skip("seeds a scenario")
	}
	s := start(t, testConfig(t, t.TempDir()))
	ctx := context.Background()
	const days = 4
	if _, err := scenario.Backfill(ctx, scenario.Options{
		Scenario: scenario.DefaultScenario, Start: scenario.DefaultStart(time.Now(), days), Days: days, Scale: 0.001, Seed: 5,
		Endpoint: "http://" + s.OTLPHTTPAddr(), Protocol: scenario.ProtocolHTTP,
	}); err != nil {
		t.Fatalf("Backfill: %v", err)
	}
	if err := s.Sync(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := s.RegisterSpec(ctx, api.SpecUpload{Service: scenario.ServiceName, Raw: scenario.DataVaultSpec()}); err != nil {
		t.Fatal(err)
	}
	now := time.Now().UTC()
	var alerts []alert.Alert
	for i, ip := range scenario.ExfilIPs {
		alerts = append(alerts, alert.Alert{Fingerprint: "exfil-" + ip, RuleID: "export_volume", RuleName: "export volume", Severity: alert.SeverityHigh,
			Mode: alert.ModeActive, State: alert.StateFiring, Labels: map[string]string{alert.LabelIP: ip, alert.LabelEndpoint: "GET /v1/admin/export"},
			StartsAt: now.Add(-time.Duration(3-i) * time.Minute), EvaluatedAt: now})
	}
	if err := s.RecordAlerts(ctx, alerts); err != nil {
		t.Fatal(err)
	}
	incs, err := s.Incidents(ctx, api.IncidentQuery{})
	if err != nil || len(incs.Incidents) == 0 {
		t.Fatalf("incidents = %+v, %v", incs, err)
	}
	rep, err := s.client(t).IncidentReport(ctx, incs.Incidents[0].ID)
	if err != nil {
		t.Fatalf("IncidentReport over the API: %v", err)
	}
	if rep.Campaign == nil || rep.Campaign.IPCount != 3 || rep.Exposure.UniqueObjects == 0 || !rep.RootCause.Shadow || len(rep.Infrastructure) != 3 {
		t.Errorf("report: campaign %+v, exposure %+v, root cause %+v, %d hosts", rep.Campaign, rep.Exposure, rep.RootCause, len(rep.Infrastructure))
	}
	if rep.Detection.Gap <= 24*time.Hour || !strings.HasPrefix(rep.Verdict, "Malicious") {
		t.Errorf("report: verdict %q, detection %+v; want malicious and a gap of more than a day", rep.Verdict, rep.Detection)
	}
	var md, html bytes.Buffer
	if err := report.Markdown(&md, rep); err != nil {
		t.Fatal(err)
	}
	if err := report.HTML(&html, rep); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"Detection gap", "undocumented", "unique objects", "104.248.73.19"} {
		if !strings.Contains(md.String(), want) || !strings.Contains(html.String(), want) {
			t.Errorf("the Markdown or HTML report lacks %q", want)
		}
	}
	if !strings.Contains(html.String(), "<svg") || strings.Contains(html.String(), "<script") {
		t.Error("the HTML report has no chart, or has a script")
	}
}
