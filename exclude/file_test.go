package exclude

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"
)

func TestParseFile(t *testing.T) {
	one := `
id: partner-sync
conditions:
  - {kind: api_key, value: dvk_partner}
  - {kind: path_glob, value: "/v1/collections/*/documents"}
scope: {kind: rules, rule_ids: [bulk_reads_per_ip, api_key_volume_spike]}
reason: the partner's nightly sync
expires_at: 90d
`
	es, err := ParseFile([]byte(one))
	if err != nil {
		t.Fatalf("ParseFile(one) = %v", err)
	}
	e := es[0]
	if len(es) != 1 || e.ID != "partner-sync" || e.Match != MatchAll || e.Mode != ModeActive || e.ExpiresAt.In != 90*24*time.Hour ||
		len(e.Conditions) != 2 || e.Scope.RuleIDs[0] != "api_key_volume_spike" {
		t.Errorf("ParseFile(one) = %+v", es)
	}
	many := `exclusions:
  - conditions: [{kind: path_glob, value: "/health*"}]
    scope: {kind: any}
    reason: probes
    expires_at: never
  - id: until
    conditions: [{kind: ip_cidr, value: "198.51.100.0/24"}]
    scope: {kind: existing}
    reason: monitoring
    expires_at: 2027-01-01T00:00:00Z
    mode: shadow
    shadow_until: 2026-12-01T00:00:00Z
`
	es, err = ParseFile([]byte(many))
	if err != nil {
		t.Fatalf("ParseFile(many) = %v", err)
	}
	if len(es) != 2 || es[0].ID != "" || !es[0].ExpiresAt.Never || !es[1].ExpiresAt.At.Equal(time.Date(2027, 1, 1, 0, 0, 0, 0, time.UTC)) ||
		es[1].Mode != ModeShadow || es[1].ShadowUntil.IsZero() {
		t.Errorf("ParseFile(many) = %+v", es)
	}
	// JSON is YAML.
	b, _ := json.Marshal(es[1])
	back, err := ParseFile(b)
	if err != nil || len(back) != 1 || back[0].ExpiresAt != es[1].ExpiresAt || back[0].Conditions[0] != es[1].Conditions[0] {
		t.Errorf("ParseFile(JSON of %+v) = %+v, %v", es[1], back, err)
	}
	bad := []struct{ in, want string }{
		{"", "want one exclusion"},
		{"- a\n- b\n", "want one exclusion"},
		{"id: x\nconditions: [{kind: path_glob, value: /x}]\nscope: {kind: any}\nreason: r\n", "no expires_at"},
		{"id: x\nconditions: [{kind: path_glob, value: /x}]\nscope: {kind: any}\nexpires_at: never\n", "no reason"},
		{"id: x\nconditions: []\nscope: {kind: any}\nreason: r\nexpires_at: never\n", "no conditions"},
		{"id: x\nconditions: [{kind: regex, value: .*}]\nscope: {kind: any}\nreason: r\nexpires_at: never\n", "unknown condition kind"},
		{"id: x\nconditions: [{kind: path_glob, value: /x}]\nscope: {kind: any}\nreason: r\nexpires_at: never\ncolour: red\n", "field colour not found"},
		{"id: x\nconditions: [{kind: path_glob, value: /x}]\nscope: {kind: rule}\nreason: r\nexpires_at: never\n", "exactly one rule"},
		{"id: x\nconditions: [{kind: path_glob, value: /x}]\nscope: {kind: any}\nreason: r\nexpires_at: soon\n", "want never"},
		{"exclusions:\n  - {id: a, conditions: [{kind: api_key, value: k}], scope: {kind: any}, reason: r, expires_at: never}\n  - {id: a, conditions: [{kind: api_key, value: k}], scope: {kind: any}, reason: r, expires_at: never}\n", "used twice"},
		{"id: x\nconditions: [{kind: path_glob, value: /x}]\nscope: {kind: any}\nreason: r\nexpires_at: never\n---\nid: y\n", "more than one YAML document"},
	}
	for _, tc := range bad {
		_, err := ParseFile([]byte(tc.in))
		if !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("ParseFile(%q) = %v, want an ErrInvalid containing %q", tc.in, err, tc.want)
		}
	}
}

func TestExclusionStatus(t *testing.T) {
	now := time.Date(2026, 3, 2, 12, 0, 0, 0, time.UTC)
	e := Exclusion{Mode: ModeActive, ExpiresAt: Expiry{At: now.Add(time.Hour)}, Scope: Scope{Kind: ScopeRules, RuleIDs: []string{"a"}}}
	if e.Status(now) != StatusActive || !e.Applies("a", now) || e.Applies("b", now) || e.Shadows("a", now) {
		t.Errorf("an active exclusion: status %s", e.Status(now))
	}
	if e.Status(now.Add(time.Hour)) != StatusExpired || e.Applies("a", now.Add(time.Hour)) {
		t.Errorf("at its expiry: status %s, want expired", e.Status(now.Add(time.Hour)))
	}
	e.Mode, e.ShadowUntil = ModeShadow, now.Add(30*time.Minute)
	if e.Status(now) != StatusShadow || e.Applies("a", now) || !e.Shadows("a", now) {
		t.Errorf("a shadow exclusion: status %s", e.Status(now))
	}
	if e.Status(now.Add(40*time.Minute)) != StatusReview || e.Shadows("a", now.Add(40*time.Minute)) {
		t.Errorf("after its shadow period: status %s, want review", e.Status(now.Add(40*time.Minute)))
	}
	e.ExpiresAt = Expiry{Never: true}
	if e.Status(now.Add(1000*time.Hour)) != StatusReview {
		t.Errorf("never expires: status %s", e.Status(now.Add(1000*time.Hour)))
	}
	any := Exclusion{Mode: ModeActive, ExpiresAt: Expiry{Never: true}, Scope: Scope{Kind: ScopeAny}}
	if !any.Applies("added-later", now) {
		t.Errorf("scope any does not cover a new rule")
	}
	check := Exclusion{ID: "x", Conditions: []Condition{{KindAPIKey, "k"}}, Match: MatchAll, Scope: Scope{Kind: ScopeAny}, Reason: "r",
		ExpiresAt: Expiry{At: now.Add(-time.Second)}, Mode: ModeActive}
	if err := check.Check(now); err == nil || !strings.Contains(err.Error(), "in the past") {
		t.Errorf("Check(expired) = %v", err)
	}
	check.ExpiresAt = Expiry{In: time.Hour}
	if err := check.Check(now); err != nil {
		t.Errorf("Check(relative expiry) = %v", err)
	}
	if got := check.ExpiresAt.Resolve(now); !got.At.Equal(now.Add(time.Hour)) || got.In != 0 {
		t.Errorf("Resolve = %+v", got)
	}
}

func TestLookback(t *testing.T) {
	tests := []struct {
		sql  string
		want time.Duration
		ok   bool
	}{
		{"SELECT 1 FROM traces WHERE timestamp > now() - INTERVAL 5 MINUTE", 5 * time.Minute, true},
		{"SELECT 1 FROM traces WHERE timestamp > now() - INTERVAL 1 DAY AND x > now() - INTERVAL 65 MINUTE", 24 * time.Hour, true},
		{"SELECT 1 FROM traces WHERE timestamp > now() - INTERVAL '2 hours'", 2 * time.Hour, true},
		{"SELECT 1 FROM traces", 0, false},
		{"SELECT 1 FROM traces WHERE timestamp > today() AND timestamp > now() - INTERVAL 1 HOUR", 0, false},
		{"SELECT 1 FROM traces WHERE timestamp > now() - INTERVAL 3 MONTH", 0, false},
	}
	for _, tc := range tests {
		got, ok := lookback(tc.sql)
		if got != tc.want || ok != tc.ok {
			t.Errorf("lookback(%q) = %v, %v; want %v, %v", tc.sql, got, ok, tc.want, tc.ok)
		}
	}
}

// FuzzParseFile checks that any file either is refused with ErrInvalid or
// yields valid exclusions that compile (asn aside) and survive JSON.
func FuzzParseFile(f *testing.F) {
	f.Add([]byte("id: a\nconditions: [{kind: path_glob, value: /health*}]\nscope: {kind: any}\nreason: r\nexpires_at: never\n"))
	f.Add([]byte("exclusions:\n  - {conditions: [{kind: ip_cidr, value: '2001:db8::/32'}], scope: {kind: rule, rule_ids: [x]}, reason: r, expires_at: 30d}\n"))
	f.Add([]byte(`{"id":"j","conditions":[{"kind":"status","value":"4xx"}],"match":"any","scope":{"kind":"existing"},"reason":"r","expires_at":"2027-01-01T00:00:00Z"}`))
	f.Add([]byte("id: s\nconditions: [{kind: sql_predicate, value: \"http_method = 'HEAD'\"}]\nscope: {kind: any}\nreason: r\nexpires_at: never\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		es, err := ParseFile(data)
		if err != nil {
			if !errors.Is(err, ErrInvalid) {
				t.Fatalf("ParseFile = %v, want ErrInvalid", err)
			}
			return
		}
		for _, e := range es {
			if e.ID == "" {
				e.ID = "draft"
			}
			if err := e.Validate(); err != nil {
				t.Fatalf("ParseFile returned an invalid exclusion %+v: %v", e, err)
			}
			b, err := json.Marshal(e)
			if err != nil {
				t.Fatal(err)
			}
			back, err := ParseFile(b)
			if err != nil || len(back) != 1 || len(back[0].Conditions) != len(e.Conditions) || back[0].ExpiresAt != e.ExpiresAt {
				t.Fatalf("%+v does not survive JSON: %+v, %v", e, back, err)
			}
		}
	})
}
