package notify

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"
)

func TestParseConfig(t *testing.T) {
	tests := []struct {
		name, yaml, err string
	}{
		{"empty", "", ""},
		{"full", timingConfig, ""},
		{"unknown key", "route: {receiver: a, group_wiat: 1s}\nreceivers: [{name: a}]", "group_wiat"},
		{"unknown receiver", "route: {receiver: b}\nreceivers: [{name: a}]", `unknown receiver "b"`},
		{"root without receiver", "route: {group_by: [a]}\nreceivers: [{name: a}]", "needs a receiver"},
		{"duplicate receiver", "route: {receiver: a}\nreceivers: [{name: a}, {name: a}]", "defined twice"},
		{"bad matcher", "route: {receiver: a, routes: [{matchers: ['sev~x']}]}\nreceivers: [{name: a}]", "matcher"},
		{"bad regexp", "route: {receiver: a, routes: [{matchers: ['sev=~\"(\"']}]}\nreceivers: [{name: a}]", "matcher"},
		{"bad group_by", "route: {receiver: a, group_by: ['a-b']}\nreceivers: [{name: a}]", "group_by"},
		{"zero interval", "route: {receiver: a, group_interval: 0s}\nreceivers: [{name: a}]", "positive"},
		{"bad duration", "route: {receiver: a, group_wait: soon}\nreceivers: [{name: a}]", "duration"},
		{"slack url", "route: {receiver: a}\nreceivers: [{name: a, slack_configs: [{webhook_url: 'ftp://x'}]}]", "webhook_url"},
		{"both auths", "route: {receiver: a}\nreceivers: [{name: a, webhook_configs: [{url: 'https://x', bearer_token: t, basic_auth: {username: u}}]}]", "not both"},
		{"email", "route: {receiver: a}\nreceivers: [{name: a, email_configs: [{to: [x@y], from: a@b, smarthost: 'mail:587'}]}]", ""},
		{"email host", "route: {receiver: a}\nreceivers: [{name: a, email_configs: [{to: [x@y], from: a@b, smarthost: mail}]}]", "host:port"},
		{"days", "route: {receiver: a, repeat_interval: 1d}\nreceivers: [{name: a}]", ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ParseConfig([]byte(tc.yaml))
			if tc.err == "" && err != nil || tc.err != "" && (err == nil || !strings.Contains(err.Error(), tc.err)) {
				t.Errorf("ParseConfig(%q) = %v, want error containing %q", tc.yaml, err, tc.err)
			}
		})
	}
}

func TestSecretsDoNotMarshal(t *testing.T) {
	cfg := webhookConfig(timingConfig)
	for name, marshal := range map[string]func(any) ([]byte, error){"json": json.Marshal, "yaml": yaml.Marshal} {
		b, err := marshal(cfg)
		if err != nil {
			t.Fatal(err)
		}
		if strings.Contains(string(b), "secret-path-123") || strings.Contains(string(b), "tok-secret-456") || !strings.Contains(strings.ReplaceAll(string(b), `\u003c`, "<"), "<secret") {
			t.Errorf("%s of the config shows a secret:\n%s", name, b)
		}
	}
}

func FuzzParseConfig(f *testing.F) {
	for _, seed := range []string{"", timingConfig,
		"route: {receiver: a, routes: [{matchers: ['a=~\"x|y\"', b!=\"c\"], continue: true}]}\nreceivers: [{name: a}]",
		"route: {receiver: a, group_by: ['...']}\nreceivers: [{name: a}]"} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, data string) {
		cfg, err := ParseConfig([]byte(data))
		if err != nil {
			return
		}
		d, err := New(cfg, Options{})
		if err != nil {
			t.Fatalf("ParseConfig accepted %q but New = %v", data, err)
		}
		d.Close()
	})
}

func FuzzParseMatcher(f *testing.F) {
	for _, seed := range []string{`a="b"`, `a!~"x.*"`, `severity=~high|critical`, `a=`, `="x"`, `a=="b"`} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, s string) {
		m, err := parseMatcher(s)
		if err != nil {
			return
		}
		// What String renders parses back to the same matcher.
		back, err := parseMatcher(m.String())
		if err != nil || back.name != m.name || back.op != m.op || back.value != m.value {
			t.Fatalf("parseMatcher(%q) = %v, but its String %q parses to %v, %v", s, m, m.String(), back, err)
		}
		m.matches(map[string]string{m.name: m.value})
	})
}

func TestSecretFiles(t *testing.T) {
	dir := t.TempDir()
	write := func(name, v string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(v), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	url := write("slack", "https://hooks.example/T0/B0/file-secret\n")
	tok := write("token", "tok-from-file\n")
	pw := write("pw", "smtp-pass")
	empty := write("empty", "\n")
	cfg, err := ParseConfig([]byte(`route: {receiver: a}
receivers:
- name: a
  slack_configs: [{webhook_url_file: ` + url + `}]
  webhook_configs: [{url: 'https://x.example/hook', bearer_token_file: ` + tok + `}]
  email_configs: [{to: [x@y], from: a@b, smarthost: 'mail:587', auth_username: u, auth_password_file: ` + pw + `}]
`))
	if err != nil {
		t.Fatal(err)
	}
	r := cfg.Receivers[0]
	if r.SlackConfigs[0].WebhookURL != "https://hooks.example/T0/B0/file-secret" || r.WebhookConfigs[0].BearerToken != "tok-from-file" || r.EmailConfigs[0].AuthPassword != "smtp-pass" {
		t.Errorf("secrets from files = %q %q %q", string(r.SlackConfigs[0].WebhookURL), string(r.WebhookConfigs[0].BearerToken), string(r.EmailConfigs[0].AuthPassword))
	}
	b, _ := json.Marshal(cfg)
	if strings.Contains(string(b), "file-secret") || strings.Contains(string(b), "tok-from-file") || strings.Contains(string(b), "smtp-pass") {
		t.Errorf("a secret read from a file shows in the config's JSON: %s", b)
	}
	for name, c := range map[string]struct{ yaml, want string }{
		"both":    {"slack_configs: [{webhook_url: 'https://x', webhook_url_file: " + url + "}]", "not both"},
		"missing": {"slack_configs: [{webhook_url_file: " + filepath.Join(dir, "nope") + "}]", "no such file"},
		"empty":   {"webhook_configs: [{url_file: " + empty + "}]", "is empty"},
		"dir":     {"webhook_configs: [{url: 'https://x', bearer_token_file: " + dir + "}]", "not a regular file"},
	} {
		_, err := ParseConfig([]byte("route: {receiver: a}\nreceivers:\n- name: a\n  " + c.yaml + "\n"))
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: ParseConfig = %v, want %q", name, err, c.want)
		}
	}
}
