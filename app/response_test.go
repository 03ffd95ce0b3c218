package app_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tracehound/tracehound/alert"
	"github.com/tracehound/tracehound/api"
	"github.com/tracehound/tracehound/app"
	"github.com/tracehound/tracehound/config"
	"github.com/tracehound/tracehound/scenario"
)

// webhookSink records the response webhook events it receives.
type webhookSink struct {
	mu     sync.Mutex
	events []map[string]any
}

func (w *webhookSink) ServeHTTP(rw http.ResponseWriter, r *http.Request) {
	b, _ := io.ReadAll(r.Body)
	var ev map[string]any
	if json.Unmarshal(b, &ev) == nil {
		w.mu.Lock()
		w.events = append(w.events, ev)
		w.mu.Unlock()
	}
}

func (w *webhookSink) types() []string {
	w.mu.Lock()
	defer w.mu.Unlock()
	var out []string
	for _, ev := range w.events {
		out = append(out, ev["type"].(string))
	}
	slices.Sort(out)
	return out
}

const responseRules = `
- id: dump_shadow
  severity: high
  sql: SELECT peer_ip, count() AS n FROM traces GROUP BY peer_ip
  response: {block: 24h}
- id: dump_enforce
  severity: critical
  sql: SELECT peer_ip, api_key_id, count() AS n FROM traces GROUP BY peer_ip, api_key_id
  response: {mode: enforce, block: 1h, revoke_key: true, rate_limit: 60/min}
`

// firing is a newly firing alert of a rule for an address (and key).
func firing(rule, ip, key string, mode alert.Mode) alert.Alert {
	now := time.Now().UTC()
	labels := map[string]string{"alertname": rule, "severity": "high", alert.LabelIP: ip}
	if key != "" {
		labels[alert.LabelAPIKey] = key
	}
	return alert.Alert{Fingerprint: rule + ip, RuleID: rule, RuleName: rule, Severity: alert.SeverityHigh, Mode: mode,
		State: alert.StateFiring, Labels: labels, Annotations: map[string]string{"summary": ip + " dumped the database"},
		ActiveAt: now, StartsAt: now, EvaluatedAt: now}
}

// responses waits for n audit entries of automatic responses.
func responses(t *testing.T, c *api.Client, n int) []api.AuditEntry {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		list, err := c.Audit(context.Background(), api.AuditQuery{Action: "response.", Limit: 100})
		if err != nil {
			t.Fatal(err)
		}
		if len(list.Entries) >= n || time.Now().After(deadline) {
			if len(list.Entries) != n {
				t.Fatalf("%d automatic responses in the audit log, want %d: %+v", len(list.Entries), n, list.Entries)
			}
			return list.Entries
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func putRules(t *testing.T, c *api.Client, src string) {
	t.Helper()
	enabled := true
	for _, body := range strings.Split(strings.TrimSpace(src), "\n- ") {
		body = strings.TrimPrefix(body, "- ")
		id := strings.TrimSpace(strings.TrimPrefix(strings.SplitN(body, "\n", 2)[0], "id:"))
		if _, err := c.PutRule(context.Background(), id, api.RuleRequest{Body: dedent(body), Enabled: &enabled}); err != nil {
			t.Fatalf("put rule %s: %v", id, err)
		}
	}
}

// dedent removes the two-space indent of a list item's following lines.
func dedent(s string) string {
	lines := strings.Split(s, "\n")
	for i := range lines {
		lines[i] = strings.TrimPrefix(lines[i], "  ")
	}
	return strings.Join(lines, "\n") + "\n"
}

func TestRuleResponse(t *testing.T) {
	hooks := &webhookSink{}
	srv := httptest.NewServer(hooks)
	defer srv.Close()
	cfg := testConfig(t, t.TempDir())
	cfg.Contain.Webhooks = []string{srv.URL}
	cfg.Contain.MaxAutoBlocksPerHour = 1
	cfg.Contain.Detector.InvestigateAlerts = false
	s := start(t, cfg)
	ctx := context.Background()
	c := s.client(t)
	putRules(t, c, responseRules)
	if _, err := c.SetIPStatus(ctx, api.IPStatusRequest{IPs: []string{"198.51.100.0/24"}, Status: "trusted", Reason: "partner range"}); err != nil {
		t.Fatal(err)
	}

	// A shadow response records what it would have done.
	if err := s.App.Deliver(ctx, []alert.Alert{firing("dump_shadow", "203.0.113.7", "", alert.ModeActive)}); err != nil {
		t.Fatal(err)
	}
	entries := responses(t, c, 1)
	if e := entries[0]; e.Action != "response.block" || e.Target != "ip:203.0.113.7" || !strings.Contains(string(e.After), `"mode":"shadow"`) {
		t.Errorf("shadow response audit = %+v %s", e, e.After)
	}
	ip, err := c.IP(ctx, "203.0.113.7", 0)
	if err != nil {
		t.Fatal(err)
	}
	var ruleChanges []api.IPChange
	for _, ch := range ip.History {
		if ch.Source == "rule:dump_shadow" {
			ruleChanges = append(ruleChanges, ch)
		}
	}
	if ip.Effective == "blocked" || len(ruleChanges) != 1 || !ruleChanges[0].Shadow {
		t.Errorf("after a shadow response: effective %q, the rule's changes %+v; want one shadow change", ip.Effective, ruleChanges)
	}

	// An enforced response blocks, revokes the key and advises a rate
	// limit, each sent to the webhooks; the block undoes in one step.
	if err := s.App.Deliver(ctx, []alert.Alert{firing("dump_enforce", "203.0.113.8", "key-42", alert.ModeActive)}); err != nil {
		t.Fatal(err)
	}
	entries = responses(t, c, 4)
	ip, err = c.IP(ctx, "203.0.113.8", 0)
	if err != nil {
		t.Fatal(err)
	}
	if ip.Effective != "blocked" || ip.Source != "rule:dump_enforce" || time.Until(ip.ExpiresAt) > time.Hour || time.Until(ip.ExpiresAt) < 50*time.Minute {
		t.Fatalf("after an enforced response: effective %q source %q expires %v; want blocked by the rule for 1h", ip.Effective, ip.Source, ip.ExpiresAt)
	}
	var blockChange int64
	for _, e := range entries {
		var after struct {
			Mode     string `json:"mode"`
			ChangeID int64  `json:"change_id"`
		}
		json.Unmarshal(e.After, &after)
		if e.Action == "response.block" && e.Target == "ip:203.0.113.8" {
			blockChange = after.ChangeID
		}
		if e.Target != "ip:203.0.113.7" && after.Mode != "enforce" {
			t.Errorf("%s %s: mode %q, want enforce", e.Action, e.Target, after.Mode)
		}
	}
	if blockChange == 0 {
		t.Fatalf("no change id for the enforced block in %+v", entries)
	}
	deadline := time.Now().Add(10 * time.Second)
	want := []string{"api_key.revoked", "ip.blocked", "ip.rate_limit_advised"}
	for !slices.Equal(hooks.types(), want) && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	if got := hooks.types(); !slices.Equal(got, want) {
		t.Errorf("webhook events %v, want %v", got, want)
	}
	if _, err := c.UndoIPChange(ctx, blockChange); err != nil {
		t.Fatal(err)
	}
	if ip, err = c.IP(ctx, "203.0.113.8", 0); err != nil || ip.Effective == "blocked" {
		t.Errorf("after undo: effective %q, %v; want unblocked", ip.Effective, err)
	}

	// The circuit breaker (1 an hour here) turns the next enforced block
	// into shadow; a trusted address is never blocked; a shadow-mode
	// alert only records; loopback is never touched.
	if err := s.App.Deliver(ctx, []alert.Alert{
		firing("dump_enforce", "203.0.113.9", "", alert.ModeActive),
		firing("dump_enforce", "198.51.100.4", "", alert.ModeActive),
		firing("dump_enforce", "127.0.0.1", "", alert.ModeActive),
	}); err != nil {
		t.Fatal(err)
	}
	entries = responses(t, c, 8)
	byTarget := map[string]string{}
	for _, e := range entries[:4] {
		if e.Action == "response.block" {
			byTarget[e.Target] = string(e.After)
		}
	}
	if a := byTarget["ip:203.0.113.9"]; !strings.Contains(a, `"mode":"shadow"`) || !strings.Contains(a, "max_auto_blocks_per_hour") {
		t.Errorf("block beyond the breaker: %s; want shadow, saying why", a)
	}
	if a := byTarget["ip:198.51.100.4"]; !strings.Contains(a, `"skipped":"trusted"`) {
		t.Errorf("block of a trusted address: %s; want skipped", a)
	}
	if _, ok := byTarget["ip:127.0.0.1"]; ok {
		t.Errorf("loopback was acted on: %v", byTarget)
	}
	for _, addr := range []string{"203.0.113.9", "198.51.100.4"} {
		if ip, err := c.IP(ctx, addr, 0); err != nil || ip.Effective == "blocked" {
			t.Errorf("%s: effective %q, %v; want not blocked", addr, ip.Effective, err)
		}
	}
	// Re-sends of an alert already firing do nothing more.
	again := firing("dump_shadow", "203.0.113.7", "", alert.ModeActive)
	again.StartsAt = again.EvaluatedAt.Add(-time.Minute)
	if err := s.App.Deliver(ctx, []alert.Alert{again}); err != nil {
		t.Fatal(err)
	}
	time.Sleep(200 * time.Millisecond)
	responses(t, c, 8)
}

// TestAutoResponseShadowSwitch: contain.auto_response: shadow records an
// enforced rule's actions without applying them.
func TestAutoResponseShadowSwitch(t *testing.T) {
	cfg := testConfig(t, t.TempDir())
	cfg.Contain.AutoResponse = config.AutoResponseShadow
	cfg.Contain.Detector.InvestigateAlerts = false
	s := start(t, cfg)
	c := s.client(t)
	putRules(t, c, responseRules)
	if err := s.App.Deliver(context.Background(), []alert.Alert{firing("dump_enforce", "203.0.113.8", "key-1", alert.ModeActive)}); err != nil {
		t.Fatal(err)
	}
	for _, e := range responses(t, c, 3) {
		if !strings.Contains(string(e.After), `"mode":"shadow"`) {
			t.Errorf("%s %s: %s; want shadow", e.Action, e.Target, e.After)
		}
	}
	if ip, err := c.IP(context.Background(), "203.0.113.8", 0); err != nil || ip.Effective == "blocked" {
		t.Errorf("effective %q, %v; want not blocked", ip.Effective, err)
	}
}

// TestDetectorResponse: the detectors rate the client address of a newly
// firing alert; the exfiltrating address is tagged malicious and blocked,
// a benign one is tagged and left alone.
func TestDetectorResponse(t *testing.T) {
	if testing.Short() {
		t.Skip("seeds a scenario")
	}
	cfg := testConfig(t, t.TempDir())
	cfg.Contain.Detector.Window = config.Duration(7 * 24 * time.Hour)
	cfg.Contain.Detector.Block = config.Duration(24 * time.Hour)
	cfg.Contain.Detector.Mode = "enforce"
	s := start(t, cfg)
	ctx := context.Background()
	if _, err := s.SeedScenario(ctx, app.SeedOptions{Scenario: scenario.DefaultScenario, Days: 4, Scale: 0.0005, Seed: 7}); err != nil {
		t.Fatal(err)
	}
	res, err := s.SQL(ctx, `SELECT peer_ip, count() AS n FROM traces WHERE span_kind = 'Server' AND peer_ip NOT IN ('`+
		strings.Join(scenario.ExfilIPs[:], "','")+`') GROUP BY peer_ip ORDER BY n DESC LIMIT 1`)
	if err != nil || len(res.Rows) != 1 {
		t.Fatalf("a benign address: %v %v", res, err)
	}
	benign := res.Rows[0][0].(string)
	attacker := scenario.ExfilIPs[0]
	if err := s.App.Deliver(ctx, []alert.Alert{firing("any_rule", attacker, "", alert.ModeActive), firing("any_rule", benign, "", alert.ModeActive)}); err != nil {
		t.Fatal(err)
	}
	c := s.client(t)
	deadline := time.Now().Add(60 * time.Second)
	var a, b *api.IPDetail
	for time.Now().Before(deadline) {
		a, _ = c.IP(ctx, attacker, 0)
		b, _ = c.IP(ctx, benign, 0)
		if a != nil && b != nil && hasTagPrefix(a.Tags, app.DetectorTagPrefix) && hasTagPrefix(b.Tags, app.DetectorTagPrefix) && a.Effective == "blocked" {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	if !slices.Contains(a.Tags, "detector:malicious") || a.Effective != "blocked" || a.Source != "detector" {
		t.Errorf("attacker %s: tags %v, effective %q, source %q; want tagged malicious and blocked by the detector", attacker, a.Tags, a.Effective, a.Source)
	}
	if slices.Contains(b.Tags, "detector:malicious") || b.Effective == "blocked" || !hasTagPrefix(b.Tags, app.DetectorTagPrefix) {
		t.Errorf("benign %s: tags %v, effective %q; want a verdict tag, not malicious, not blocked", benign, b.Tags, b.Effective)
	}
}

func hasTagPrefix(tags []string, prefix string) bool {
	for _, t := range tags {
		if strings.HasPrefix(t, prefix) {
			return true
		}
	}
	return false
}
