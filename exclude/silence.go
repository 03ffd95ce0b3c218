package exclude

import (
	"encoding/json"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"time"
)

// Silence mutes notifications, after the rules: an alert whose labels
// satisfy every matcher between StartsAt and EndsAt is still recorded for
// triage but sent to no receiver (Alertmanager silences). Unlike an
// exclusion it changes nothing a rule computes: use it for maintenance
// windows and known incidents, an exclusion for benign traffic.
type Silence struct {
	ID        string    `json:"id"`
	Matchers  []Matcher `json:"matchers"`
	StartsAt  time.Time `json:"starts_at"`
	EndsAt    time.Time `json:"ends_at"`
	CreatedBy string    `json:"created_by,omitempty"`
	CreatedAt time.Time `json:"created_at,omitzero"`
	// Comment says why; it is required.
	Comment string `json:"comment"`
}

// MaxSilence bounds how long one silence may last.
const MaxSilence = 90 * 24 * time.Hour

// Active reports whether the silence mutes at t.
func (s *Silence) Active(t time.Time) bool { return !t.Before(s.StartsAt) && t.Before(s.EndsAt) }

// Mutes reports whether the silence mutes an alert with labels at t.
func (s *Silence) Mutes(labels map[string]string, t time.Time) bool {
	if !s.Active(t) {
		return false
	}
	for _, m := range s.Matchers {
		if !m.Matches(labels) {
			return false
		}
	}
	return true
}

// Validate checks a silence: an id, at least one matcher of which one
// does not match the empty string (a silence must not mute everything),
// an end after its start and at most MaxSilence later, and a comment.
func (s *Silence) Validate() error {
	if !idPattern.MatchString(s.ID) {
		return invalidf("silence id %q: want letters, digits, '_', '.', ':' or '-', at most 64", clip(s.ID))
	}
	if len(s.Matchers) == 0 {
		return invalidf("a silence needs at least one matcher, such as alertname=\"bulk_reads_per_ip\"")
	}
	if len(s.Matchers) > MaxConditions {
		return invalidf("%d matchers: at most %d", len(s.Matchers), MaxConditions)
	}
	narrow := false
	for _, m := range s.Matchers {
		if m.re == nil && (m.Op == OpRegex || m.Op == OpNotRegex) {
			return invalidf("matcher %s was not parsed", m)
		}
		narrow = narrow || !m.Matches(map[string]string{})
	}
	if !narrow {
		return invalidf("the matchers match alerts without any label: a silence must name what it mutes")
	}
	switch {
	case s.StartsAt.IsZero() || s.EndsAt.IsZero():
		return invalidf("a silence needs a start and an end")
	case !s.EndsAt.After(s.StartsAt):
		return invalidf("the silence ends (%s) before it starts (%s)", s.EndsAt.Format(time.RFC3339), s.StartsAt.Format(time.RFC3339))
	case s.EndsAt.Sub(s.StartsAt) > MaxSilence:
		return invalidf("the silence lasts %v; at most %v (use an exclusion for lasting benign traffic)", s.EndsAt.Sub(s.StartsAt), MaxSilence)
	}
	if strings.TrimSpace(s.Comment) == "" {
		return invalidf("a silence needs a comment saying why")
	}
	return nil
}

// Matcher operators, in Alertmanager syntax.
const (
	OpEqual    = "="
	OpNotEqual = "!="
	OpRegex    = "=~"
	OpNotRegex = "!~"
)

// Matcher is one label matcher: name="value", name!="value",
// name=~"regexp" or name!~"regexp". Regular expressions match the whole
// value; a missing label is the empty string.
type Matcher struct {
	Name  string
	Op    string
	Value string
	re    *regexp.Regexp
}

var labelName = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)

// ParseMatcher reads one matcher; the quotes around the value may be left
// out when it has no spaces, commas or quotes.
func ParseMatcher(s string) (Matcher, error) {
	s = strings.TrimSpace(s)
	bad := invalidf("matcher %q: want name=\"value\", name!=\"value\", name=~\"re\" or name!~\"re\"", clip(s))
	i := strings.IndexAny(s, "=!")
	if i <= 0 {
		return Matcher{}, bad
	}
	m := Matcher{Name: strings.TrimSpace(s[:i])}
	rest := s[i:]
	for _, op := range []string{OpRegex, OpNotRegex, OpNotEqual, OpEqual} {
		if strings.HasPrefix(rest, op) {
			m.Op, rest = op, strings.TrimSpace(rest[len(op):])
			break
		}
	}
	if m.Op == "" || !labelName.MatchString(m.Name) {
		return Matcher{}, bad
	}
	if strings.HasPrefix(rest, `"`) {
		v, err := strconv.Unquote(rest)
		if err != nil {
			return Matcher{}, invalidf("matcher %q: bad quoted value", clip(s))
		}
		m.Value = v
	} else {
		if strings.ContainsAny(rest, "\" ,") {
			return Matcher{}, invalidf("matcher %q: quote a value with spaces, commas or quotes", clip(s))
		}
		m.Value = rest
	}
	if len(m.Value) > MaxValueBytes {
		return Matcher{}, invalidf("matcher %q: the value is %d bytes; at most %d", clip(s), len(m.Value), MaxValueBytes)
	}
	if err := m.compile(); err != nil {
		return Matcher{}, invalidf("matcher %q: %v", clip(s), err)
	}
	return m, nil
}

func (m *Matcher) compile() error {
	if m.Op != OpRegex && m.Op != OpNotRegex {
		return nil
	}
	re, err := regexp.Compile("^(?:" + m.Value + ")$")
	if err != nil {
		return err
	}
	m.re = re
	return nil
}

// Matches reports whether labels satisfy the matcher.
func (m Matcher) Matches(labels map[string]string) bool {
	v := labels[m.Name]
	switch m.Op {
	case OpEqual:
		return v == m.Value
	case OpNotEqual:
		return v != m.Value
	case OpRegex:
		return m.re != nil && m.re.MatchString(v)
	case OpNotRegex:
		return m.re != nil && !m.re.MatchString(v)
	}
	return false
}

// String renders the matcher as ParseMatcher reads it.
func (m Matcher) String() string { return m.Name + m.Op + strconv.Quote(m.Value) }

// MarshalJSON writes the matcher as its text.
func (m Matcher) MarshalJSON() ([]byte, error) { return json.Marshal(m.String()) }

// UnmarshalJSON reads a matcher from its text.
func (m *Matcher) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return fmt.Errorf("%w: a matcher is a string such as alertname=\"x\"", ErrInvalid)
	}
	v, err := ParseMatcher(s)
	if err != nil {
		return err
	}
	*m = v
	return nil
}
