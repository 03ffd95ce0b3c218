package exclude

import (
	"encoding/json"
	"strings"
	"testing"
	"time"
)

func TestMatcher(t *testing.T) {
	labels := map[string]string{"alertname": "bulk_reads_per_ip", "peer_ip": "10.0.3.7", "severity": "low"}
	tests := []struct {
		in   string
		want bool
	}{
		{`alertname="bulk_reads_per_ip"`, true},
		{`alertname=bulk_reads_per_ip`, true},
		{`alertname!="bulk_reads_per_ip"`, false},
		{`peer_ip=~"10\\.0\\..*"`, true},
		{`peer_ip=~"10\\.0"`, false}, // the whole value must match
		{`peer_ip!~"192\\..*"`, true},
		{`endpoint=""`, true}, // a missing label is empty
		{`severity=~"high|critical"`, false},
		{` severity = "low" `, true},
	}
	for _, tc := range tests {
		m, err := ParseMatcher(tc.in)
		if err != nil {
			t.Fatalf("ParseMatcher(%q) = %v", tc.in, err)
		}
		if got := m.Matches(labels); got != tc.want {
			t.Errorf("ParseMatcher(%q).Matches(%v) = %v, want %v", tc.in, labels, got, tc.want)
		}
		back, err := ParseMatcher(m.String())
		if err != nil || back.String() != m.String() {
			t.Errorf("ParseMatcher(%q).String() = %q does not read back: %v", tc.in, m.String(), err)
		}
	}
	for _, bad := range []string{"", "alertname", "=x", "1abc=x", `a="unterminated`, "a=b c", `a=~"("`, "a==b"} {
		if m, err := ParseMatcher(bad); err == nil && bad != "a==b" {
			t.Errorf("ParseMatcher(%q) = %v, want an error", bad, m)
		}
	}
}

func TestSilence(t *testing.T) {
	now := time.Date(2026, 3, 2, 12, 0, 0, 0, time.UTC)
	m1, _ := ParseMatcher(`alertname="error_rate_spike"`)
	m2, _ := ParseMatcher(`service_name=~"billing|vault"`)
	s := Silence{ID: "maint", Matchers: []Matcher{m1, m2}, StartsAt: now, EndsAt: now.Add(2 * time.Hour), Comment: "database upgrade"}
	if err := s.Validate(); err != nil {
		t.Fatalf("Validate = %v", err)
	}
	hit := map[string]string{"alertname": "error_rate_spike", "service_name": "vault"}
	miss := map[string]string{"alertname": "error_rate_spike", "service_name": "search"}
	switch {
	case !s.Mutes(hit, now), !s.Mutes(hit, now.Add(time.Hour)):
		t.Errorf("the silence does not mute %v during its window", hit)
	case s.Mutes(hit, now.Add(-time.Second)), s.Mutes(hit, now.Add(2*time.Hour)):
		t.Errorf("the silence mutes %v outside its window", hit)
	case s.Mutes(miss, now):
		t.Errorf("the silence mutes %v, which one matcher rejects", miss)
	}
	b, err := json.Marshal(s)
	if err != nil {
		t.Fatal(err)
	}
	var back Silence
	if err := json.Unmarshal(b, &back); err != nil || !back.Mutes(hit, now) || back.Mutes(miss, now) || !strings.Contains(string(b), `service_name=~\"billing|vault\"`) {
		t.Errorf("the silence does not survive JSON: %s → %+v, %v", b, back, err)
	}
	all, _ := ParseMatcher(`alertname=~".*"`)
	bad := []struct {
		s    Silence
		want string
	}{
		{Silence{ID: "x", StartsAt: now, EndsAt: now.Add(time.Hour), Comment: "c"}, "at least one matcher"},
		{Silence{ID: "x", Matchers: []Matcher{all}, StartsAt: now, EndsAt: now.Add(time.Hour), Comment: "c"}, "must name what it mutes"},
		{Silence{ID: "x", Matchers: []Matcher{m1}, StartsAt: now, EndsAt: now, Comment: "c"}, "before it starts"},
		{Silence{ID: "x", Matchers: []Matcher{m1}, StartsAt: now, EndsAt: now.Add(100 * 24 * time.Hour), Comment: "c"}, "at most"},
		{Silence{ID: "x", Matchers: []Matcher{m1}, StartsAt: now, EndsAt: now.Add(time.Hour)}, "comment"},
		{Silence{ID: "", Matchers: []Matcher{m1}, StartsAt: now, EndsAt: now.Add(time.Hour), Comment: "c"}, "silence id"},
	}
	for _, tc := range bad {
		if err := tc.s.Validate(); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("Validate(%+v) = %v, want an error containing %q", tc.s, err, tc.want)
		}
	}
}

func FuzzParseMatcher(f *testing.F) {
	for _, s := range []string{`alertname="x"`, `peer_ip=~"10\\..*"`, `a!~b`, `a!=""`, `a="\u00e9"`, `a=~"(?i)X"`} {
		f.Add(s, "x")
	}
	f.Fuzz(func(t *testing.T, s, value string) {
		m, err := ParseMatcher(s)
		if err != nil {
			return
		}
		back, err := ParseMatcher(m.String())
		if err != nil || back.Name != m.Name || back.Op != m.Op || back.Value != m.Value {
			t.Fatalf("ParseMatcher(%q) = %+v renders %q, which reads back as %+v, %v", s, m, m.String(), back, err)
		}
		labels := map[string]string{m.Name: value}
		switch m.Op {
		case OpEqual:
			if m.Matches(labels) != (value == m.Value) {
				t.Errorf("%s on %q", m, value)
			}
		case OpNotEqual:
			if m.Matches(labels) != (value != m.Value) {
				t.Errorf("%s on %q", m, value)
			}
		case OpRegex, OpNotRegex:
			neg, _ := ParseMatcher(m.Name + map[string]string{OpRegex: OpNotRegex, OpNotRegex: OpRegex}[m.Op] + `"` + strings.NewReplacer(`\`, `\\`, `"`, `\"`).Replace(m.Value) + `"`)
			if neg.re != nil && neg.Matches(labels) == m.Matches(labels) {
				t.Errorf("%s and %s agree on %q", m, neg, value)
			}
		}
	})
}
