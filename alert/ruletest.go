package alert

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/tracehound/tracehound/span"
	"github.com/tracehound/tracehound/store/duckdb"
)

// BuiltinRuleFile names the built-in pack in a test file's rule_files.
const BuiltinRuleFile = "builtin"

// testFileYAML is a rule unit-test file (promtool style).
type testFileYAML struct {
	RuleFiles []string `yaml:"rule_files"`
	// Start is the time fixture offsets and eval times count from.
	Start              time.Time    `yaml:"start"`
	EvaluationInterval string       `yaml:"evaluation_interval"`
	Spans              []fixtureRow `yaml:"spans"`
	Tests              []testCase   `yaml:"tests"`
}

// fixtureRow is one span, or a series of them, in a test file.
type fixtureRow struct {
	Offset        string    `yaml:"offset"`
	Timestamp     time.Time `yaml:"timestamp"`
	Method        string    `yaml:"method"`
	Path          string    `yaml:"path"`
	Route         string    `yaml:"route"`
	Status        uint16    `yaml:"status"`
	PeerIP        string    `yaml:"peer_ip"`
	APIKeyID      string    `yaml:"api_key_id"`
	UserAgent     string    `yaml:"user_agent"`
	ResponseBytes int64     `yaml:"response_bytes"`
	Service       string    `yaml:"service"`
	Repeat        int       `yaml:"repeat"`
	Interval      string    `yaml:"interval"`
}

type testCase struct {
	Name      string        `yaml:"name"`
	Rule      string        `yaml:"rule"`
	EvalTime  string        `yaml:"eval_time"`
	ExpAlerts []expectAlert `yaml:"exp_alerts"`
}

type expectAlert struct {
	Labels   map[string]string `yaml:"labels"`
	State    string            `yaml:"state"`
	Severity string            `yaml:"severity"`
}

// TestReport is the outcome of RunTests.
type TestReport struct {
	Files  []TestFileReport `json:"files"`
	Passed int              `json:"passed"`
	Failed int              `json:"failed"`
}

// TestFileReport is the outcome of one test file.
type TestFileReport struct {
	File  string           `json:"file"`
	Cases []TestCaseReport `json:"cases"`
}

// TestCaseReport is the outcome of one expectation.
type TestCaseReport struct {
	Name     string    `json:"name"`
	Rule     string    `json:"rule"`
	EvalTime time.Time `json:"eval_time"`
	Passed   bool      `json:"passed"`
	// Diff lists, when the case failed, the expected alerts not found (-)
	// and the alerts found but not expected (+).
	Diff string `json:"diff,omitempty"`
}

// OK reports whether every case passed.
func (r TestReport) OK() bool { return r.Failed == 0 }

// String renders the report for a terminal.
func (r TestReport) String() string {
	var b strings.Builder
	for _, f := range r.Files {
		for _, c := range f.Cases {
			mark := "PASS"
			if !c.Passed {
				mark = "FAIL"
			}
			fmt.Fprintf(&b, "%s %s: %s (rule %s at %s)\n", mark, f.File, c.Name, c.Rule, c.EvalTime.Format(time.RFC3339))
			if c.Diff != "" {
				for _, line := range strings.Split(strings.TrimRight(c.Diff, "\n"), "\n") {
					b.WriteString("    " + line + "\n")
				}
			}
		}
	}
	fmt.Fprintf(&b, "%d passed, %d failed\n", r.Passed, r.Failed)
	return b.String()
}

// RunTests runs rule unit tests. Each path is a test file or a directory,
// whose *_test.yaml files are run. A test file names rule files (relative
// to itself, or "builtin"), fixture spans that are written to a fresh
// embedded DuckDB store, and the alerts expected at given evaluation
// times. The error reports files that cannot be run at all; failed
// expectations are in the report.
func RunTests(ctx context.Context, paths ...string) (TestReport, error) {
	var files []string
	for _, p := range paths {
		fi, err := os.Stat(p)
		if err != nil {
			return TestReport{}, fmt.Errorf("rule tests: %w", err)
		}
		if !fi.IsDir() {
			files = append(files, p)
			continue
		}
		for _, pat := range []string{"*_test.yaml", "*_test.yml"} {
			m, err := filepath.Glob(filepath.Join(p, pat))
			if err != nil {
				return TestReport{}, err
			}
			files = append(files, m...)
		}
	}
	sort.Strings(files)
	var rep TestReport
	for _, f := range files {
		fr, err := runTestFile(ctx, f)
		if err != nil {
			return rep, err
		}
		for _, c := range fr.Cases {
			if c.Passed {
				rep.Passed++
			} else {
				rep.Failed++
			}
		}
		rep.Files = append(rep.Files, fr)
	}
	return rep, nil
}

// testStart is the default start of a test file's timeline.
var testStart = time.Date(2026, 3, 2, 0, 0, 0, 0, time.UTC)

func runTestFile(ctx context.Context, file string) (TestFileReport, error) {
	data, err := os.ReadFile(file)
	if err != nil {
		return TestFileReport{}, fmt.Errorf("rule tests: %w", err)
	}
	var tf testFileYAML
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	if err := dec.Decode(&tf); err != nil {
		return TestFileReport{}, yamlError(file, err)
	}
	if tf.Start.IsZero() {
		tf.Start = testStart
	}
	rules := map[string]Rule{}
	for _, rf := range tf.RuleFiles {
		var rs []Rule
		if rf == BuiltinRuleFile {
			rs = Builtin()
		} else {
			if !filepath.IsAbs(rf) {
				rf = filepath.Join(filepath.Dir(file), rf)
			}
			if rs, err = LoadFiles(rf); err != nil {
				return TestFileReport{}, fmt.Errorf("%s: %w", file, err)
			}
		}
		for _, r := range rs {
			rules[r.ID] = r
		}
	}
	var interval time.Duration
	if tf.EvaluationInterval != "" {
		if interval, err = ParseDuration(tf.EvaluationInterval); err != nil || interval <= 0 {
			return TestFileReport{}, fmt.Errorf("%s: evaluation_interval: %v", file, err)
		}
	}
	spans, err := fixtureSpans(tf.Start, tf.Spans)
	if err != nil {
		return TestFileReport{}, fmt.Errorf("%s: %w", file, err)
	}
	dir, err := os.MkdirTemp("", "tracehound-ruletest-")
	if err != nil {
		return TestFileReport{}, err
	}
	defer os.RemoveAll(dir)
	st, err := duckdb.Open(ctx, filepath.Join(dir, "traces.duckdb"), duckdb.Options{})
	if err != nil {
		return TestFileReport{}, fmt.Errorf("%s: fixture store: %w", file, err)
	}
	defer st.Close()
	if len(spans) > 0 {
		if err := st.Write(ctx, spans); err != nil {
			return TestFileReport{}, fmt.Errorf("%s: write fixture spans: %w", file, err)
		}
	}
	fr := TestFileReport{File: file}
	// Group the cases by rule, replay each rule once up to its latest
	// eval time, and compare at each case's time.
	type pending struct {
		idx int
		at  time.Time
	}
	byRule := map[string][]pending{}
	cases := make([]TestCaseReport, len(tf.Tests))
	for i, tc := range tf.Tests {
		r, ok := rules[tc.Rule]
		if !ok {
			return fr, fmt.Errorf("%s: test %q: no rule %q in %v", file, tc.Name, tc.Rule, tf.RuleFiles)
		}
		off, err := ParseDuration(tc.EvalTime)
		if err != nil {
			return fr, fmt.Errorf("%s: test %q: eval_time: %w", file, tc.Name, err)
		}
		step := interval
		if step == 0 {
			step = r.Interval
		}
		if off%step != 0 {
			return fr, fmt.Errorf("%s: test %q: eval_time %s is not a whole number of evaluation intervals (%s)", file, tc.Name, tc.EvalTime, step)
		}
		cases[i] = TestCaseReport{Name: tc.Name, Rule: tc.Rule, EvalTime: tf.Start.Add(off)}
		if cases[i].Name == "" {
			cases[i].Name = fmt.Sprintf("%s at %s", tc.Rule, tc.EvalTime)
		}
		byRule[tc.Rule] = append(byRule[tc.Rule], pending{i, tf.Start.Add(off)})
	}
	for id, ps := range byRule {
		r := rules[id]
		if r.Source != SourceSQL {
			return fr, fmt.Errorf("%s: rule %q: only SQL rules can be tested with span fixtures", file, id)
		}
		step := interval
		if step == 0 {
			step = r.Interval
		}
		last := tf.Start
		want := map[int64][]int{}
		for _, p := range ps {
			if p.at.After(last) {
				last = p.at
			}
			want[p.at.UnixNano()] = append(want[p.at.UnixNano()], p.idx)
		}
		m := newMachine(&r)
		var steps []time.Time
		for t := tf.Start; !t.After(last); t = t.Add(step) {
			steps = append(steps, t)
		}
		_, _, _, err := replay(ctx, st, &r, steps, BacktestOptions{}, func(ts time.Time, rows []Row) error {
			alerts, err := m.step(ts, rows)
			if err != nil {
				return err
			}
			m.markSent(alerts)
			for _, i := range want[ts.UnixNano()] {
				cases[i].Diff = diffAlerts(tf.Tests[i].ExpAlerts, m.active(ts))
				cases[i].Passed = cases[i].Diff == ""
			}
			return nil
		})
		if err != nil {
			return fr, fmt.Errorf("%s: rule %q: %w", file, id, err)
		}
	}
	fr.Cases = cases
	return fr, nil
}

// diffAlerts compares the expected alerts with the pending and firing
// instances; each expectation's labels must be a subset of one instance's.
func diffAlerts(exp []expectAlert, got []Alert) string {
	var live []Alert
	for _, a := range got {
		if a.State == StatePending || a.State == StateFiring {
			live = append(live, a)
		}
	}
	used := make([]bool, len(live))
	var b strings.Builder
	for _, e := range exp {
		state := State(e.State)
		if state == "" {
			state = StateFiring
		}
		found := false
		for i, a := range live {
			if used[i] || a.State != state || (e.Severity != "" && string(a.Severity) != e.Severity) || !subset(e.Labels, a.Labels) {
				continue
			}
			used[i], found = true, true
			break
		}
		if !found {
			fmt.Fprintf(&b, "- %s %s%s\n", state, formatLabels(e.Labels), sevSuffix(e.Severity))
		}
	}
	for i, a := range live {
		if !used[i] {
			fmt.Fprintf(&b, "+ %s %s severity=%s\n", a.State, formatLabels(a.Labels), a.Severity)
		}
	}
	return b.String()
}

func sevSuffix(s string) string {
	if s == "" {
		return ""
	}
	return " severity=" + s
}

func subset(want, have map[string]string) bool {
	for k, v := range want {
		if have[k] != v {
			return false
		}
	}
	return true
}

func formatLabels(l map[string]string) string {
	keys := mapsKeys(l)
	sort.Strings(keys)
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = fmt.Sprintf("%s=%q", k, l[k])
	}
	return "{" + strings.Join(parts, ", ") + "}"
}

// fixtureSpans expands the fixture rows into server spans.
func fixtureSpans(start time.Time, rows []fixtureRow) ([]span.Span, error) {
	var out []span.Span
	for i, fr := range rows {
		at := fr.Timestamp
		if at.IsZero() {
			off, err := ParseDuration(orDefault(fr.Offset, "0s"))
			if err != nil {
				return nil, fmt.Errorf("spans[%d]: offset: %w", i, err)
			}
			at = start.Add(off)
		}
		n := max(fr.Repeat, 1)
		var every time.Duration
		if fr.Interval != "" {
			var err error
			if every, err = ParseDuration(fr.Interval); err != nil {
				return nil, fmt.Errorf("spans[%d]: interval: %w", i, err)
			}
		}
		if n > 1_000_000 {
			return nil, fmt.Errorf("spans[%d]: repeat %d is above 1,000,000", i, n)
		}
		path, query, _ := strings.Cut(fr.Path, "?")
		for k := range n {
			ts := at.Add(time.Duration(k) * every).UTC()
			id := sha256.Sum256(fmt.Appendf(nil, "%d/%d", i, k))
			s := span.Span{
				Timestamp: ts, TraceID: hex.EncodeToString(id[:16]), SpanID: hex.EncodeToString(id[16:24]),
				ServiceName: orDefault(fr.Service, "api"), SpanName: orDefault(fr.Method, "GET") + " " + orDefault(fr.Route, path),
				SpanKind: span.KindServer, DurationNS: uint64(20 * time.Millisecond), OtelStatus: "Unset",
				HTTPMethod: orDefault(fr.Method, "GET"), HTTPTarget: fr.Path, HTTPPath: path, HTTPQuery: query,
				HTTPRoute: fr.Route, StatusCode: fr.Status, PeerIP: fr.PeerIP, NetPeerIP: fr.PeerIP,
				UserAgent: fr.UserAgent, ResponseBytes: fr.ResponseBytes, APIKeyID: fr.APIKeyID,
			}
			if s.StatusCode == 0 {
				s.StatusCode = 200
			}
			if s.StatusCode >= 500 {
				s.OtelStatus = "Error"
			}
			out = append(out, s)
		}
	}
	return out, nil
}

func orDefault(s, def string) string {
	if s == "" {
		return def
	}
	return s
}
