package app_test

import (
	"context"
	"encoding/json"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"
)

// TestSettingsHideSecrets: the Settings answer describes every integration
// and never carries a secret: keys are reported as set, URLs by host only.
func TestSettingsHideSecrets(t *testing.T) {
	c := testConfig(t, t.TempDir())
	c.IPIntel.AbuseIPDB.APIKey = "abuse-secret-123"
	c.IPIntel.AbuseIPDB.BaseURL = "http://127.0.0.1:1/api/v2"
	c.LLM.BaseURL, c.LLM.Model, c.LLM.APIKey = "http://127.0.0.1:2/v1", "local-model", "sk-llm-secret"
	c.Contain.Webhooks = []string{"https://soar.example/hooks/tok-webhook-secret"}
	if err := yaml.Unmarshal([]byte(`
route: {receiver: sec}
receivers:
  - name: sec
    slack_configs: [{webhook_url: "https://hooks.slack.example/T0/B0/slack-secret"}]
    webhook_configs: [{url: "https://soar.example/am?token=am-secret"}]
`), &c.Notify); err != nil {
		t.Fatal(err)
	}
	s := start(t, c)
	set, err := s.client(t).Settings(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	body, _ := json.Marshal(set)
	for _, secret := range []string{"abuse-secret-123", "sk-llm-secret", "tok-webhook-secret", "slack-secret", "am-secret", "hooks/"} {
		if strings.Contains(string(body), secret) {
			t.Errorf("GET /api/v1/settings leaks %q: %s", secret, body)
		}
	}
	if !set.IPIntel.AbuseIPDB || !set.LLM.Configured || !set.LLM.KeySet || set.LLM.Model != "local-model" || set.LLM.Server != "http://127.0.0.1:2" {
		t.Errorf("settings: abuseipdb %v, llm %+v; want both reported", set.IPIntel.AbuseIPDB, set.LLM)
	}
	if len(set.Contain.Webhooks) != 1 || set.Contain.Webhooks[0] != "https://soar.example" || set.Contain.AutoResponse != "on" {
		t.Errorf("contain settings %+v", set.Contain)
	}
	if len(set.Notify) != 1 || set.Notify[0].Name != "sec" || strings.Join(set.Notify[0].Kinds, ",") != "slack,webhook" {
		t.Errorf("receivers %+v, want sec with slack and webhook", set.Notify)
	}
}
