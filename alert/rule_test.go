package alert

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestParseRulesErrors(t *testing.T) {
	tests := []struct {
		name string
		src  string
		want string // substring of the error, with its line
	}{
		{"unknown field", "rules:\n  - id: a\n    severity: high\n    sqll: SELECT 1\n", "4: field sqll not found"},
		{"duplicate id", "rules:\n  - id: a\n    severity: low\n    sql: SELECT 1 FROM traces\n  - id: a\n    severity: low\n    sql: SELECT 1 FROM traces\n", `5: rule "a": duplicate id (first defined at f.yaml:2)`},
		{"bad duration", "rules:\n  - id: a\n    severity: low\n    interval: 5x\n    sql: SELECT 1 FROM traces\n", `4: rule "a": interval: invalid duration "5x"`},
		{"bad for", "rules:\n  - id: a\n    severity: low\n    for: -1m\n    sql: SELECT 1 FROM traces\n", `4: rule "a": for: duration "-1m" is negative`},
		{"missing severity", "rules:\n  - id: a\n    sql: SELECT 1 FROM traces\n", `2: rule "a": severity: missing`},
		{"bad severity", "rules:\n  - id: a\n    severity: urgent\n    sql: SELECT 1 FROM traces\n", `3: rule "a": severity: unknown severity "urgent"`},
		{"sql refused", "rules:\n  - id: a\n    severity: low\n    sql: DELETE FROM traces\n", `4: rule "a": sql: query refused`},
		{"other table", "rules:\n  - id: a\n    severity: low\n    sql: SELECT * FROM users\n", `4: rule "a": sql: query refused`},
		{"template error", "rules:\n  - id: a\n    severity: low\n    sql: SELECT 1 FROM traces\n    annotations:\n      summary: \"{{.x\"\n", `5: rule "a": annotations: summary:`},
		{"bad mode", "rules:\n  - id: a\n    severity: low\n    mode: loud\n    sql: SELECT 1 FROM traces\n", `4: rule "a": mode: unknown mode "loud"`},
		{"bad label", "rules:\n  - id: a\n    severity: low\n    sql: SELECT 1 FROM traces\n    labels: {\"bad-name\": x}\n", `5: rule "a": labels: label name "bad-name"`},
		{"reserved label", "rules:\n  - id: a\n    severity: low\n    sql: SELECT 1 FROM traces\n    labels: {severity: x}\n", `labels: label "severity" is set by the engine`},
		{"event without source", "rules:\n  - id: a\n    severity: low\n    event: apimap.new_shadow_endpoint\n    sql: SELECT 1 FROM traces\n", `4: rule "a": event: only an apimap_event rule`},
		{"unknown event", "rules:\n  - id: a\n    severity: low\n    source: apimap_event\n    event: x\n", `5: rule "a": event: unknown event "x"`},
		{"bad id", "rules:\n  - id: 'a b'\n    severity: low\n    sql: SELECT 1 FROM traces\n", `2: rule "a b": id: "a b": want letters`},
		{"no rules list", "groups: []\n", "1: field groups not found"},
		{"empty", "", "empty rule file"},
		{"not yaml", "rules: [\n", "f.yaml:1: did not find expected node content"},
		{"rules not a list", "rules: 3\n", "cannot unmarshal"},
		{"response mode", "rules:\n  - id: a\n    severity: low\n    sql: SELECT 1 FROM traces\n    response:\n      mode: loud\n      block: 1h\n", `5: rule "a": response: mode "loud": want shadow or enforce`},
		{"response block", "rules:\n  - id: a\n    severity: low\n    sql: SELECT 1 FROM traces\n    response:\n      block: 2y\n", `response: block: invalid duration "2y"`},
		{"response block too long", "rules:\n  - id: a\n    severity: low\n    sql: SELECT 1 FROM traces\n    response:\n      block: 400d\n", `response: block: 400d is longer than a year`},
		{"response rate limit", "rules:\n  - id: a\n    severity: low\n    sql: SELECT 1 FROM traces\n    response:\n      rate_limit: lots\n", `response: rate_limit: "lots": want requests per unit`},
		{"response without action", "rules:\n  - id: a\n    severity: low\n    sql: SELECT 1 FROM traces\n    response: {mode: enforce}\n", `response: names no action`},
		{"response on an event rule", "rules:\n  - id: a\n    severity: low\n    source: apimap_event\n    event: apimap.new_shadow_endpoint\n    response: {block: 1h}\n", `response: an apimap_event rule has no client address`},
		{"response unknown field", "rules:\n  - id: a\n    severity: low\n    sql: SELECT 1 FROM traces\n    response: {ban: 1h}\n", `field ban not found`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ParseRules("f.yaml", []byte(tc.src))
			if err == nil {
				t.Fatalf("ParseRules(%q) = nil error, want one containing %q", tc.src, tc.want)
			}
			if !errors.Is(err, ErrInvalidRule) {
				t.Errorf("ParseRules(%q) error %v does not wrap ErrInvalidRule", tc.src, err)
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Errorf("ParseRules(%q) = %v, want an error containing %q", tc.src, err, tc.want)
			}
		})
	}
}

func TestParseRulesFields(t *testing.T) {
	src := `rules:
  - id: r1
    name: Rule one
    interval: 2m
    for: 5m
    keep_firing_for: 1d
    severity: critical
    mode: shadow
    limit: 7
    group_by: [peer_ip]
    labels: {team: sec}
    annotations: {summary: "{{humanizeBytes .b}} from {{.peer_ip}}"}
    sql: SELECT peer_ip, sum(response_bytes) AS b FROM traces WHERE timestamp > now() - INTERVAL 5 MINUTE GROUP BY peer_ip
`
	rules, err := ParseRules("f.yaml", []byte(src))
	if err != nil {
		t.Fatal(err)
	}
	r := rules[0]
	if r.Interval != 2*time.Minute || r.For != 5*time.Minute || r.KeepFiringFor != 24*time.Hour || r.Severity != SeverityCritical ||
		r.Mode != ModeShadow || r.Limit != 7 || r.GroupBy[0] != "peer_ip" || r.Labels["team"] != "sec" || r.Name != "Rule one" ||
		r.Source != SourceSQL || r.Line != 2 {
		t.Errorf("ParseRules() = %+v, want the fields as written", r)
	}
	got := r.expand(map[string]any{"b": int64(191488), "peer_ip": "203.0.113.9"})["summary"]
	if got != "187 KiB from 203.0.113.9" {
		t.Errorf("summary = %q, want %q", got, "187 KiB from 203.0.113.9")
	}
	// Defaults.
	rules, err = ParseRules("f.yaml", []byte("rules:\n  - id: d\n    severity: info\n    sql: SELECT 1 FROM traces\n"))
	if err != nil {
		t.Fatal(err)
	}
	if d := rules[0]; d.Interval != DefaultInterval || d.Mode != ModeActive || d.Name != "d" || d.limit() != DefaultLimit {
		t.Errorf("defaults = %+v", d)
	}
}

func TestParseRuleDef(t *testing.T) {
	body := []byte("id: mine\nseverity: low\nsql: SELECT peer_ip FROM traces\n")
	r, err := ParseRuleDef("mine", body)
	if err != nil || r.ID != "mine" {
		t.Fatalf("ParseRuleDef(mine) = %+v, %v", r, err)
	}
	if _, err := ParseRuleDef("other", body); err == nil || !strings.Contains(err.Error(), `id: want "other"`) {
		t.Errorf("ParseRuleDef(other) = %v, want an id mismatch", err)
	}
	if _, err := ParseRuleDef("mine", []byte("id: mine\nseverity: low\nsql: SELECT 1 FROM traces\nextra: 1\n")); err == nil || !strings.Contains(err.Error(), "4: field extra not found") {
		t.Errorf("ParseRuleDef(extra field) = %v, want line 4 unknown field", err)
	}
}

func TestLoadDirAndDuplicatesAcrossFiles(t *testing.T) {
	dir := t.TempDir()
	rule := "rules:\n  - id: same\n    severity: low\n    sql: SELECT 1 FROM traces\n"
	for _, name := range []string{"a.yaml", "b.yml", "ignored.txt"} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(rule), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	_, err := LoadDir(dir)
	if err == nil || !strings.Contains(err.Error(), "b.yml:2: rule \"same\": duplicate id") {
		t.Errorf("LoadDir() = %v, want a duplicate across files", err)
	}
}

func TestBuiltinPackAndCaseStudyLoad(t *testing.T) {
	rules := Builtin()
	want := []string{"admin_endpoint_new_caller", "api_key_many_ips", "api_key_volume_spike", "new_shadow_endpoint",
		"bulk_reads_per_ip", "auth_failure_burst", "error_rate_spike"}
	ids := map[string]bool{}
	for _, r := range rules {
		ids[r.ID] = true
		if r.Description == "" || r.Annotations["summary"] == "" {
			t.Errorf("built-in rule %s lacks a description or summary", r.ID)
		}
		// Generic patterns only: never the reference scenario's literals.
		for _, lit := range []string{"/admin/export", "collection_id", "104.248.73.19", "167.71.205.88", "178.128.44.156", "'page'"} {
			if strings.Contains(r.SQL, lit) {
				t.Errorf("built-in rule %s names the reference scenario's %q", r.ID, lit)
			}
		}
	}
	for _, id := range want {
		if !ids[id] {
			t.Errorf("built-in pack lacks %s", id)
		}
	}
	cs, err := LoadFiles("testdata/casestudy.yaml")
	if err != nil || len(cs) != 2 {
		t.Fatalf("LoadFiles(casestudy) = %d rules, %v", len(cs), err)
	}
}

func TestParseDuration(t *testing.T) {
	tests := []struct {
		in   string
		want time.Duration
		ok   bool
	}{
		{"30s", 30 * time.Second, true}, {"1h30m", 90 * time.Minute, true}, {"7d", 7 * 24 * time.Hour, true},
		{"2w", 14 * 24 * time.Hour, true}, {"-1s", 0, false}, {"d", 0, false}, {"1x", 0, false}, {"99999999999d", 0, false},
	}
	for _, tc := range tests {
		got, err := ParseDuration(tc.in)
		if (err == nil) != tc.ok || got != tc.want {
			t.Errorf("ParseDuration(%q) = %v, %v; want %v (ok %v)", tc.in, got, err, tc.want, tc.ok)
		}
	}
}

func FuzzParseRules(f *testing.F) {
	for _, p := range []string{"rules/admin.yaml", "rules/apikeys.yaml", "rules/traffic.yaml", "rules/apimap.yaml", "testdata/casestudy.yaml"} {
		data, err := os.ReadFile(p)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	f.Add([]byte("rules:\n  - id: a\n    severity: low\n    sql: SELECT 1 FROM traces\n    for: 1d\n"))
	f.Add([]byte("rules: [{id: x, severity: high, source: apimap_event, event: apimap.new_shadow_endpoint}]"))
	f.Fuzz(func(t *testing.T, data []byte) {
		rules, err := ParseRules("fuzz.yaml", data)
		if err != nil {
			if !errors.Is(err, ErrInvalidRule) {
				t.Fatalf("ParseRules error %v does not wrap ErrInvalidRule", err)
			}
			return
		}
		seen := map[string]bool{}
		for _, r := range rules {
			if seen[r.ID] {
				t.Fatalf("ParseRules accepted duplicate id %q", r.ID)
			}
			seen[r.ID] = true
			if r.Severity.Rank() < 0 || r.Interval < time.Second || (r.Mode != ModeActive && r.Mode != ModeShadow) {
				t.Fatalf("ParseRules accepted an invalid rule %+v", r)
			}
			r2 := r
			if err := r2.Validate(); err != nil {
				t.Fatalf("a parsed rule fails Validate: %v", err)
			}
			r.expand(map[string]any{"x": 1})
		}
	})
}

func TestParseRuleResponse(t *testing.T) {
	src := "rules:\n  - id: a\n    severity: high\n    sql: SELECT peer_ip FROM traces\n    response:\n      block: 7d\n      revoke_key: true\n      rate_limit: 60/min\n" +
		"  - id: b\n    severity: high\n    sql: SELECT peer_ip FROM traces\n    response: {mode: enforce, block: 90m}\n" +
		"  - id: c\n    severity: low\n    sql: SELECT peer_ip FROM traces\n"
	rules, err := ParseRules("f.yaml", []byte(src))
	if err != nil {
		t.Fatal(err)
	}
	a, b, c := rules[0].Response, rules[1].Response, rules[2].Response
	if a == nil || a.Mode != ResponseShadow || a.Enforced() || a.Block != 7*24*time.Hour || !a.RevokeKey || a.RateLimit != "60/min" {
		t.Errorf("rule a response = %+v, want a shadow block of 7d, revoke key, rate-limit 60/min", a)
	}
	if got, want := a.Summary(), "block 7d, revoke key, rate-limit 60/min (shadow)"; got != want {
		t.Errorf("Summary() = %q, want %q", got, want)
	}
	if b == nil || !b.Enforced() || b.Block != 90*time.Minute || b.Summary() != "block 1h30m (enforce)" {
		t.Errorf("rule b response = %+v (%q), want an enforced block of 1h30m", b, b.Summary())
	}
	if c != nil || !c.IsZero() || c.Enforced() {
		t.Errorf("rule c has no response, got %+v", c)
	}
}
