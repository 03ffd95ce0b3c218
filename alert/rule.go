package alert

import (
	"bytes"
	"embed"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"maps"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"text/template"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/tracehound/tracehound/apimap"
	"github.com/tracehound/tracehound/auth"
	"github.com/tracehound/tracehound/sqlguard"
)

// Rule sources: where a rule's rows come from.
const (
	// SourceSQL rules run their SQL over the traces table.
	SourceSQL = "sql"
	// SourceAPIMapEvent rules turn the API map's unconsumed events of one
	// kind into rows, one per endpoint.
	SourceAPIMapEvent = "apimap_event"
)

// Defaults of a rule's optional fields.
const (
	DefaultInterval = time.Minute
	// DefaultLimit caps the instances of a rule without a limit: a rule
	// that returns more rows fails rather than flooding its receivers.
	DefaultLimit = 1000
)

// Rule is one detection rule.
type Rule struct {
	// ID names the rule uniquely; it is the alertname label.
	ID          string
	Name        string
	Description string
	// Source is SourceSQL (the default) or SourceAPIMapEvent.
	Source string
	// Event is the API map event kind an apimap_event rule consumes.
	Event string
	// Interval is how often the rule runs.
	Interval time.Duration
	// SQL is a ClickHouse-dialect SELECT over traces; now() is the
	// evaluation time (minus the engine's query offset).
	SQL string
	// For is how long an instance must keep matching before it fires;
	// KeepFiringFor how long it keeps firing after it stopped matching.
	For           time.Duration
	KeepFiringFor time.Duration
	Severity      Severity
	// Labels are added to every instance's labels.
	Labels map[string]string
	// Annotations are text/template sources executed over the row.
	Annotations map[string]string
	// Limit caps the instances one evaluation may return; above it the
	// evaluation fails. Zero means DefaultLimit.
	Limit int
	Mode  Mode
	// GroupBy names the columns that identify an instance; when empty, the
	// string and boolean columns do.
	GroupBy []string
	// Response is what the rule does when an instance starts firing,
	// besides alerting; nil for none.
	Response *Response
	// Applications limits the rule to the spans of these applications
	// (resource attribute tracehound.application); empty: every span.
	Applications []string

	// File and Line say where the rule was defined, for messages.
	File string
	Line int

	annotations map[string]*template.Template
	// annotationsUseTime is set when an annotation shows .EvalTime.
	annotationsUseTime bool
}

// ruleYAML is the YAML form of a rule.
type ruleYAML struct {
	ID            string            `yaml:"id"`
	Name          string            `yaml:"name"`
	Description   string            `yaml:"description"`
	Source        string            `yaml:"source"`
	Event         string            `yaml:"event"`
	Interval      string            `yaml:"interval"`
	SQL           string            `yaml:"sql"`
	For           string            `yaml:"for"`
	KeepFiringFor string            `yaml:"keep_firing_for"`
	Severity      string            `yaml:"severity"`
	Labels        map[string]string `yaml:"labels"`
	Annotations   map[string]string `yaml:"annotations"`
	Limit         int               `yaml:"limit"`
	Mode          string            `yaml:"mode"`
	GroupBy       []string          `yaml:"group_by"`
	Response      *responseYAML     `yaml:"response"`
	Applications  []string          `yaml:"applications"`
}

type fileYAML struct {
	Rules []ruleYAML `yaml:"rules"`
}

// ErrInvalidRule is wrapped by every error about a rule's definition.
var ErrInvalidRule = errors.New("invalid rule")

// RuleError is one problem in a rule file, with its position.
type RuleError struct {
	File string
	Line int
	// RuleID is empty when the problem is not in one rule.
	RuleID string
	Msg    string
}

// Error renders the problem as file:line: rule "id": message.
func (e *RuleError) Error() string {
	var b strings.Builder
	if e.File != "" {
		b.WriteString(e.File)
		b.WriteString(":")
	}
	if e.Line > 0 {
		fmt.Fprintf(&b, "%d:", e.Line)
	}
	if b.Len() > 0 {
		b.WriteString(" ")
	}
	if e.RuleID != "" {
		fmt.Fprintf(&b, "rule %q: ", e.RuleID)
	}
	b.WriteString(e.Msg)
	return b.String()
}

// Unwrap makes every RuleError an ErrInvalidRule.
func (e *RuleError) Unwrap() error { return ErrInvalidRule }

// RuleErrors lists every problem found in a set of rule files.
type RuleErrors []*RuleError

// Error renders one problem a line.
func (es RuleErrors) Error() string {
	msgs := make([]string, len(es))
	for i, e := range es {
		msgs[i] = e.Error()
	}
	return strings.Join(msgs, "\n")
}

// Unwrap returns the individual errors.
func (es RuleErrors) Unwrap() []error {
	out := make([]error, len(es))
	for i, e := range es {
		out[i] = e
	}
	return out
}

// ParseRules reads a rule file (a top-level `rules:` list) named file (used
// in messages only) and validates every rule. It refuses unknown fields and
// duplicate ids and reports every problem found, each with its line.
func ParseRules(file string, data []byte) ([]Rule, error) {
	var doc yaml.Node
	dec := yaml.NewDecoder(bytes.NewReader(data))
	if err := dec.Decode(&doc); err != nil {
		if errors.Is(err, io.EOF) {
			return nil, RuleErrors{{File: file, Msg: "empty rule file (want a top-level rules: list)"}}
		}
		return nil, RuleErrors{yamlError(file, err)}
	}
	var f fileYAML
	strict := yaml.NewDecoder(bytes.NewReader(data))
	strict.KnownFields(true)
	if err := strict.Decode(&f); err != nil {
		return nil, RuleErrors{yamlError(file, err)}
	}
	var more yaml.Node
	if err := dec.Decode(&more); err == nil {
		return nil, RuleErrors{{File: file, Line: more.Line, Msg: "more than one YAML document; put all rules under one rules: list"}}
	}
	items := ruleNodes(&doc)
	if items == nil {
		return nil, RuleErrors{{File: file, Line: doc.Line, Msg: "no top-level rules: list"}}
	}
	var errs RuleErrors
	rules := make([]Rule, 0, len(f.Rules))
	for i, ry := range f.Rules {
		lines := map[string]int{}
		line := 0
		if i < len(items) {
			line = items[i].Line
			for j := 0; j+1 < len(items[i].Content); j += 2 {
				k := items[i].Content[j]
				lines[k.Value] = k.Line
			}
		}
		r, es := ry.rule(file, line, lines)
		errs = append(errs, es...)
		if len(es) == 0 {
			rules = append(rules, r)
		}
	}
	errs = append(errs, duplicateIDs(rules)...)
	if len(errs) > 0 {
		return nil, errs
	}
	return rules, nil
}

// ruleNodes returns the items of the rules: sequence, or nil.
func ruleNodes(doc *yaml.Node) []*yaml.Node {
	if doc.Kind != yaml.DocumentNode || len(doc.Content) == 0 {
		return nil
	}
	m := doc.Content[0]
	if m.Kind != yaml.MappingNode {
		return nil
	}
	for i := 0; i+1 < len(m.Content); i += 2 {
		if m.Content[i].Value == "rules" && m.Content[i+1].Kind == yaml.SequenceNode {
			return m.Content[i+1].Content
		}
	}
	return nil
}

var yamlLine = regexp.MustCompile(`^yaml: (?:unmarshal errors:\n\s*)?line (\d+): (.*)$`)

// yamlError turns a YAML error into a RuleError with its line.
func yamlError(file string, err error) *RuleError {
	msg := err.Error()
	var te *yaml.TypeError
	if errors.As(err, &te) && len(te.Errors) > 0 {
		msg = te.Errors[0]
		if len(te.Errors) > 1 {
			msg += fmt.Sprintf(" (and %d more)", len(te.Errors)-1)
		}
		msg = "line " + strings.TrimPrefix(msg, "line ")
		if m := regexp.MustCompile(`^line (\d+): (.*)$`).FindStringSubmatch(msg); m != nil {
			n, _ := strconv.Atoi(m[1])
			return &RuleError{File: file, Line: n, Msg: strings.ReplaceAll(m[2], "alert.ruleYAML", "rule")}
		}
	}
	if m := yamlLine.FindStringSubmatch(msg); m != nil {
		n, _ := strconv.Atoi(m[1])
		return &RuleError{File: file, Line: n, Msg: m[2]}
	}
	return &RuleError{File: file, Msg: strings.TrimPrefix(msg, "yaml: ")}
}

func duplicateIDs(rules []Rule) RuleErrors {
	var errs RuleErrors
	seen := map[string]Rule{}
	for _, r := range rules {
		if prev, ok := seen[r.ID]; ok {
			errs = append(errs, &RuleError{File: r.File, Line: r.Line, RuleID: r.ID,
				Msg: fmt.Sprintf("duplicate id (first defined at %s:%d)", prev.File, prev.Line)})
			continue
		}
		seen[r.ID] = r
	}
	return errs
}

var (
	idPattern    = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_.:-]{0,127}$`)
	labelPattern = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)
)

// rule validates ry and converts it; lines maps field names to lines.
func (ry ruleYAML) rule(file string, line int, lines map[string]int) (Rule, RuleErrors) {
	r := Rule{
		ID: ry.ID, Name: ry.Name, Description: ry.Description, Source: ry.Source, Event: ry.Event,
		SQL: ry.SQL, Labels: ry.Labels, Annotations: ry.Annotations, Limit: ry.Limit,
		GroupBy: ry.GroupBy, File: file, Line: line,
	}
	var errs RuleErrors
	fail := func(field, format string, args ...any) {
		l := line
		if fl, ok := lines[field]; ok {
			l = fl
		}
		msg := fmt.Sprintf(format, args...)
		if field != "" {
			msg = field + ": " + msg
		}
		errs = append(errs, &RuleError{File: file, Line: l, RuleID: ry.ID, Msg: msg})
	}
	dur := func(field, s string, def time.Duration) time.Duration {
		if s == "" {
			return def
		}
		d, err := ParseDuration(s)
		if err != nil {
			fail(field, "%v", err)
		}
		return d
	}
	r.Interval = dur("interval", ry.Interval, DefaultInterval)
	r.For = dur("for", ry.For, 0)
	r.KeepFiringFor = dur("keep_firing_for", ry.KeepFiringFor, 0)
	if ry.Severity == "" {
		fail("severity", "missing (want info, low, medium, high or critical)")
	} else if sev, err := ParseSeverity(ry.Severity); err != nil {
		fail("severity", "%v", err)
	} else {
		r.Severity = sev
	}
	switch ry.Mode {
	case "", string(ModeActive):
		r.Mode = ModeActive
	case string(ModeShadow):
		r.Mode = ModeShadow
	default:
		fail("mode", "unknown mode %q (want active or shadow)", ry.Mode)
	}
	r.Annotations = ry.Annotations
	src := ry.Source
	if src == "" {
		src = SourceSQL
	}
	r.Response = ry.Response.response(src, func(format string, args ...any) { fail("response", format, args...) })
	for _, a := range ry.Applications {
		if !auth.ValidName(a) {
			fail("applications", "%q: want 1-64 letters, digits, '.', '_', '-' or '@'", a)
		}
	}
	if len(ry.Applications) > 0 {
		if src != SourceSQL {
			fail("applications", "only a sql rule reads spans to scope")
		}
		r.Applications = slices.Compact(slices.Sorted(slices.Values(ry.Applications)))
	}
	if errs2 := r.compile(); len(errs2) > 0 {
		for _, e := range errs2 {
			fail(e.field, "%s", e.msg)
		}
	}
	if r.Name == "" {
		r.Name = r.ID
	}
	if r.Source == "" {
		r.Source = SourceSQL
	}
	return r, errs
}

type fieldError struct{ field, msg string }

// compile validates everything but durations, severity and mode, and
// parses the annotation templates.
func (r *Rule) compile() []fieldError {
	var errs []fieldError
	fail := func(field, format string, args ...any) {
		errs = append(errs, fieldError{field, fmt.Sprintf(format, args...)})
	}
	if r.ID == "" {
		fail("id", "missing")
	} else if !idPattern.MatchString(r.ID) {
		fail("id", "%q: want letters, digits, '_', '.', ':' or '-', at most 128", r.ID)
	}
	if r.Interval < time.Second {
		fail("interval", "%v is below the minimum of 1s", r.Interval)
	}
	if r.For < 0 {
		fail("for", "negative")
	}
	if r.KeepFiringFor < 0 {
		fail("keep_firing_for", "negative")
	}
	if r.Limit < 0 {
		fail("limit", "negative")
	}
	switch r.Source {
	case "", SourceSQL:
		if strings.TrimSpace(r.SQL) == "" {
			fail("sql", "missing")
		} else if err := sqlguard.New().Check(r.SQL); err != nil {
			fail("sql", "%v", err)
		} else if _, err := sqlguard.BindNow(r.SQL, time.Unix(0, 0)); err != nil {
			fail("sql", "%v", err)
		}
		if r.Event != "" {
			fail("event", "only an apimap_event rule has an event")
		}
	case SourceAPIMapEvent:
		if r.SQL != "" {
			fail("sql", "an apimap_event rule has no sql")
		}
		switch r.Event {
		case apimap.EventNewShadowEndpoint, apimap.EventNewSensitiveEndpoint:
		case "":
			fail("event", "missing (want %s or %s)", apimap.EventNewShadowEndpoint, apimap.EventNewSensitiveEndpoint)
		default:
			fail("event", "unknown event %q (want %s or %s)", r.Event, apimap.EventNewShadowEndpoint, apimap.EventNewSensitiveEndpoint)
		}
	default:
		fail("source", "unknown source %q (want sql or apimap_event)", r.Source)
	}
	for _, name := range slices.Sorted(maps.Keys(r.Labels)) {
		if !labelPattern.MatchString(name) {
			fail("labels", "label name %q: want letters, digits and '_', not starting with a digit", name)
		}
		if name == LabelAlertName || name == LabelSeverity {
			fail("labels", "label %q is set by the engine", name)
		}
	}
	seen := map[string]bool{}
	for _, c := range r.GroupBy {
		if !labelPattern.MatchString(c) {
			fail("group_by", "column %q: want a plain column name", c)
		}
		if seen[c] {
			fail("group_by", "column %q listed twice", c)
		}
		seen[c] = true
	}
	r.annotations = map[string]*template.Template{}
	r.annotationsUseTime = false
	for _, name := range slices.Sorted(maps.Keys(r.Annotations)) {
		r.annotationsUseTime = r.annotationsUseTime || strings.Contains(r.Annotations[name], "EvalTime")
		t, err := template.New(name).Funcs(templateFuncs).Option("missingkey=zero").Parse(r.Annotations[name])
		if err != nil {
			fail("annotations", "%s: %v", name, strings.TrimPrefix(err.Error(), "template: "))
			continue
		}
		r.annotations[name] = t
	}
	return errs
}

func mapsKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	return keys
}

// Validate checks a rule built in Go (rather than parsed), fills in the
// defaults of its optional fields and compiles its templates. ParseRules
// returns rules already validated.
func (r *Rule) Validate() error {
	if r.Interval == 0 {
		r.Interval = DefaultInterval
	}
	if r.Mode == "" {
		r.Mode = ModeActive
	}
	if r.Source == "" {
		r.Source = SourceSQL
	}
	if r.Name == "" {
		r.Name = r.ID
	}
	var errs RuleErrors
	if r.Severity.Rank() < 0 {
		errs = append(errs, &RuleError{File: r.File, Line: r.Line, RuleID: r.ID, Msg: fmt.Sprintf("severity: unknown severity %q", r.Severity)})
	}
	if r.Mode != ModeActive && r.Mode != ModeShadow {
		errs = append(errs, &RuleError{File: r.File, Line: r.Line, RuleID: r.ID, Msg: fmt.Sprintf("mode: unknown mode %q", r.Mode)})
	}
	for _, e := range r.compile() {
		errs = append(errs, &RuleError{File: r.File, Line: r.Line, RuleID: r.ID, Msg: e.field + ": " + e.msg})
	}
	if len(errs) > 0 {
		return errs
	}
	return nil
}

// limit is the effective instance cap.
func (r *Rule) limit() int {
	if r.Limit > 0 {
		return r.Limit
	}
	return DefaultLimit
}

// ParseDuration parses a Go duration ("90s", "1h30m") or a Prometheus-style
// one with days or weeks ("7d", "1w").
func ParseDuration(s string) (time.Duration, error) {
	s = strings.TrimSpace(s)
	if d, err := time.ParseDuration(s); err == nil {
		if d < 0 {
			return 0, fmt.Errorf("duration %q is negative", s)
		}
		return d, nil
	}
	if n := len(s); n >= 2 && (s[n-1] == 'd' || s[n-1] == 'w') {
		v, err := strconv.ParseUint(s[:n-1], 10, 32)
		if err == nil {
			unit := 24 * time.Hour
			if s[n-1] == 'w' {
				unit *= 7
			}
			if v > uint64(100*365*24*time.Hour/unit) {
				return 0, fmt.Errorf("duration %q is too long", s)
			}
			return time.Duration(v) * unit, nil
		}
	}
	return 0, fmt.Errorf("invalid duration %q (want e.g. 30s, 5m, 1h or 7d)", s)
}

// LoadFiles parses the rule files at paths and checks that ids are unique
// across them.
func LoadFiles(paths ...string) ([]Rule, error) {
	var rules []Rule
	var errs RuleErrors
	for _, p := range paths {
		data, err := os.ReadFile(p)
		if err != nil {
			return nil, fmt.Errorf("load rules: %w", err)
		}
		rs, err := ParseRules(p, data)
		var re RuleErrors
		if errors.As(err, &re) {
			errs = append(errs, re...)
			continue
		} else if err != nil {
			return nil, err
		}
		rules = append(rules, rs...)
	}
	errs = append(errs, duplicateIDs(rules)...)
	if len(errs) > 0 {
		return nil, errs
	}
	return rules, nil
}

// LoadDir loads every *.yaml and *.yml file of dir (not its
// subdirectories), in name order.
func LoadDir(dir string) ([]Rule, error) {
	paths, err := ruleFiles(dir)
	if err != nil {
		return nil, err
	}
	return LoadFiles(paths...)
}

func ruleFiles(dir string) ([]string, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("load rules: %w", err)
	}
	var paths []string
	for _, e := range entries {
		if !e.IsDir() && (strings.HasSuffix(e.Name(), ".yaml") || strings.HasSuffix(e.Name(), ".yml")) {
			paths = append(paths, filepath.Join(dir, e.Name()))
		}
	}
	return paths, nil
}

//go:embed rules/*.yaml
var builtinFS embed.FS

// Builtin returns the built-in rule pack (alert/rules/*.yaml).
func Builtin() []Rule {
	names, err := fs.Glob(builtinFS, "rules/*.yaml")
	if err != nil {
		panic(err)
	}
	sort.Strings(names)
	var rules []Rule
	for _, name := range names {
		data, err := builtinFS.ReadFile(name)
		if err != nil {
			panic(err)
		}
		rs, err := ParseRules("builtin:"+name, data)
		if err != nil {
			panic(fmt.Sprintf("built-in rule pack: %v", err)) // covered by tests
		}
		rules = append(rules, rs...)
	}
	return rules
}

// ParseRuleDef parses the body of an API-edited rule: one rule as a YAML
// mapping, with the fields of a rule file's items, whose id must be id.
func ParseRuleDef(id string, body []byte) (Rule, error) {
	var doc yaml.Node
	if err := yaml.Unmarshal(body, &doc); err != nil {
		return Rule{}, RuleErrors{yamlError(id, err)}
	}
	if doc.Kind != yaml.DocumentNode || len(doc.Content) == 0 || doc.Content[0].Kind != yaml.MappingNode {
		return Rule{}, RuleErrors{{File: id, Line: doc.Line, Msg: "want one rule as a YAML mapping"}}
	}
	var ry ruleYAML
	strict := yaml.NewDecoder(bytes.NewReader(body))
	strict.KnownFields(true)
	if err := strict.Decode(&ry); err != nil {
		return Rule{}, RuleErrors{yamlError(id, err)}
	}
	m := doc.Content[0]
	lines := map[string]int{}
	for j := 0; j+1 < len(m.Content); j += 2 {
		lines[m.Content[j].Value] = m.Content[j].Line
	}
	r, errs := ry.rule(id, m.Line, lines)
	if len(errs) > 0 {
		return Rule{}, errs
	}
	if r.ID != id {
		return Rule{}, RuleErrors{{File: id, Line: lines["id"], RuleID: r.ID, Msg: fmt.Sprintf("id: want %q, the rule's id in the API", id)}}
	}
	return r, nil
}
