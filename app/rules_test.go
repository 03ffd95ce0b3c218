package app_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/tracehound/tracehound/alert"
	"github.com/tracehound/tracehound/api"
	"github.com/tracehound/tracehound/store"
)

const exportRule = `id: export_callers
name: Calls to the admin dump
interval: 5m
severity: high
annotations:
  summary: "{{.peer_ip}} made {{.requests}} calls"
sql: |
  SELECT peer_ip, count() AS requests
  FROM traces
  WHERE span_kind = 'Server' AND endsWith(http_path, '/admin/dump')
    AND timestamp > now() - INTERVAL 30 MINUTE AND timestamp <= now()
  GROUP BY peer_ip
`

func TestRulesAPI(t *testing.T) {
	s := start(t, testConfig(t, t.TempDir()))
	ctx := context.Background()
	sendShop(t, s, []shopRequest{
		{ago: 50 * time.Minute, method: "GET", path: "/api/admin/dump", status: 200, ip: "203.0.113.8", key: "k2"},
		{ago: 49 * time.Minute, method: "GET", path: "/api/admin/dump", status: 200, ip: "203.0.113.8", key: "k2"},
		{ago: 10 * time.Minute, method: "GET", path: "/api/orders/1", route: "/orders/{order_id}", status: 200, ip: "198.51.100.2"},
	})
	c := s.client(t)
	for name, b := range map[string]api.RulesBackend{"local": s.App, "http": c} {
		list, err := b.Rules(ctx)
		if err != nil {
			t.Fatalf("%s: Rules: %v", name, err)
		}
		if len(list.Rules) < 5 || list.Rules[0].Origin != "builtin" {
			t.Errorf("%s: %d rules, first %+v; want the built-in pack", name, len(list.Rules), list.Rules)
		}
	}
	enabled := true
	r, err := c.PutRule(ctx, "export_callers", api.RuleRequest{Body: exportRule, Enabled: &enabled})
	if err != nil {
		t.Fatal(err)
	}
	if r.Origin != "api" || r.Severity != "high" || !r.Enabled {
		t.Errorf("PutRule = %+v", r.RuleInfo)
	}
	if _, err := c.PutRule(ctx, "export_callers", api.RuleRequest{Body: "id: export_callers\nsql: DELETE FROM traces\n"}); !errors.Is(err, api.ErrBadRequest) {
		t.Errorf("a rule with a write: %v, want a bad request", err)
	}
	if _, err := c.PutRule(ctx, "auth_failure_burst", api.RuleRequest{Body: "id: auth_failure_burst\nsql: SELECT 1 AS x\n"}); !errors.Is(err, api.ErrBadRequest) {
		t.Errorf("reusing a built-in id: %v, want a bad request", err)
	}
	if err := c.DeleteRule(ctx, "auth_failure_burst"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("deleting a built-in rule: %v, want not found", err)
	}

	// The backtest replays the stored rule: the two calls 50 minutes ago
	// make it fire for 203.0.113.8, and only for it.
	bt, err := c.BacktestRule(ctx, api.BacktestRequest{RuleID: "export_callers", Since: "2h", IncidentStart: time.Now().Add(-51 * time.Minute)})
	if err != nil {
		t.Fatal(err)
	}
	if len(bt.Firings) != 1 || bt.Firings[0].Labels["peer_ip"] != "203.0.113.8" {
		t.Fatalf("backtest firings %+v, want one for 203.0.113.8", bt.Firings)
	}
	if gap := time.Duration(bt.DetectionGap); gap < 0 || gap > 10*time.Minute {
		t.Errorf("detection gap %v, want the first 5-minute step after the calls", gap)
	}
	// A draft is backtested without being saved.
	draft := `id: orders
severity: low
sql: SELECT peer_ip, count() AS n FROM traces WHERE http_route = '/orders/{order_id}' AND timestamp > now() - INTERVAL 30 MINUTE AND timestamp <= now() GROUP BY peer_ip
`
	bt, err = s.App.BacktestRule(ctx, api.BacktestRequest{Body: draft, Since: "1h", Step: "1m"})
	if err != nil || len(bt.Firings) != 1 || bt.Firings[0].Labels["peer_ip"] != "198.51.100.2" {
		t.Fatalf("draft backtest = %+v, %v", bt, err)
	}
	if _, err := s.App.Rule(ctx, "orders"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("a backtested draft was saved: %v", err)
	}

	if err := c.DeleteRule(ctx, "export_callers"); err != nil {
		t.Fatal(err)
	}
	if entries, err := c.Audit(ctx, api.AuditQuery{Action: "rule."}); err != nil || len(entries.Entries) != 2 {
		t.Errorf("audit of rule changes = %+v, %v; want put and delete", entries, err)
	}
}

// TestDeliverRecordsAlerts checks the engine's sink: a firing alert
// becomes a triage notification.
func TestDeliverRecordsAlerts(t *testing.T) {
	s := start(t, testConfig(t, t.TempDir()))
	ctx := context.Background()
	now := time.Now().UTC()
	al := alert.Alert{Fingerprint: "f1", RuleID: "r1", RuleName: "Rule one", Severity: alert.SeverityHigh, Mode: alert.ModeActive,
		State: alert.StateFiring, Labels: map[string]string{"alertname": "r1", "severity": "high", alert.LabelIP: "203.0.113.9"},
		Annotations: map[string]string{"summary": "hello"}, ActiveAt: now, StartsAt: now, EvaluatedAt: now}
	if err := s.App.Deliver(ctx, []alert.Alert{al}); err != nil {
		t.Fatal(err)
	}
	page, err := s.client(t).Alerts(ctx, api.AlertQuery{})
	if err != nil {
		t.Fatal(err)
	}
	if len(page.Alerts) != 1 || page.Alerts[0].RuleID != "r1" || page.Alerts[0].IP != "203.0.113.9" {
		t.Fatalf("alerts after Deliver = %+v", page.Alerts)
	}
}
