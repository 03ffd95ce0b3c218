package forensics_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/tracehound/tracehound/forensics"
	"github.com/tracehound/tracehound/scenario"
	"github.com/tracehound/tracehound/sqlguard"
	"github.com/tracehound/tracehound/store"
)

// questionCase is one row of testdata/questions.yaml.
type questionCase struct {
	Q string `yaml:"q"`
	// IR is the expected compact IR (forensics.IR.String).
	IR string `yaml:"ir"`
	// SQL is an independently written query whose rows must equal the
	// answer's (columns Compare of the answer, in order; all by default).
	SQL     string   `yaml:"sql"`
	Compare []string `yaml:"compare"`
	Ordered bool     `yaml:"ordered"`
	// Value names a ground-truth figure of the scenario the answer's single
	// cell must equal.
	Value string `yaml:"value"`
	// Timeline is an independently written per-bucket count the answer's
	// timeline must equal.
	Timeline string `yaml:"timeline"`
	// EmptyOK allows an empty expected result; otherwise it must have rows
	// and a non-zero first value, so the comparison means something.
	EmptyOK bool `yaml:"empty_ok"`
	// Error is a fragment of the expected error; Note of an expected note.
	Error string `yaml:"error"`
	Note  string `yaml:"note"`
}

func loadQuestions(t testing.TB) []questionCase {
	t.Helper()
	b, err := os.ReadFile("testdata/questions.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var qs []questionCase
	if err := yaml.Unmarshal(b, &qs); err != nil {
		t.Fatal(err)
	}
	return qs
}

// TestQuestions asks every question of the table against the seeded
// DuckDB store and compares the answer with the independently written SQL
// or the scenario's ground truth.
func TestQuestions(t *testing.T) {
	f := seeded(t)
	qs := loadQuestions(t)
	if answerable := slices.IndexFunc(qs, func(q questionCase) bool { return q.Error != "" }); answerable >= 0 && answerable < 60 {
		t.Fatalf("the table has %d answerable questions before its first refusal, want at least 60", answerable)
	}
	ctx := context.Background()
	guard := sqlguard.New()
	for _, tc := range qs {
		t.Run(tc.Q, func(t *testing.T) {
			a, err := forensics.Ask(ctx, f.store, f.catalog, tc.Q, fixtureNow)
			if tc.Error != "" {
				if err == nil || !strings.Contains(err.Error(), tc.Error) {
					t.Fatalf("Ask(%q) error = %v, want one containing %q", tc.Q, err, tc.Error)
				}
				return
			}
			if err != nil {
				t.Fatalf("Ask(%q): %v", tc.Q, err)
			}
			if a.IR != tc.IR {
				t.Errorf("Ask(%q).IR =\n  %s\nwant\n  %s", tc.Q, a.IR, tc.IR)
			}
			if err := guard.Check(a.SQL); err != nil {
				t.Errorf("compiled SQL refused by the guard: %v\n%s", err, a.SQL)
			}
			if tc.Note != "" && !slices.ContainsFunc(a.Notes, func(n string) bool { return strings.Contains(n, tc.Note) }) {
				t.Errorf("Ask(%q).Notes = %q, want one containing %q", tc.Q, a.Notes, tc.Note)
			}
			got := project(t, a.Columns, a.Rows, tc.Compare)
			if tc.Value != "" {
				want := groundTruth(t, f.summary, tc.Value)
				if len(got) != 1 || len(got[0]) != 1 || got[0][0] != want {
					t.Errorf("Ask(%q) = %v, want %s = %s", tc.Q, got, tc.Value, want)
				}
			}
			if tc.SQL != "" {
				want := runExpected(t, f.store, tc.SQL)
				if !tc.EmptyOK && !slices.ContainsFunc(want, func(r []string) bool { return r[len(r)-1] != "0" && r[len(r)-1] != "NULL" }) {
					t.Fatalf("the expected SQL returns nothing to compare (%v); seed data for it or set empty_ok", want)
				}
				compareRows(t, tc.Q, got, want, tc.Ordered)
			}
			if tc.Timeline != "" {
				if a.Timeline == nil {
					t.Fatalf("Ask(%q) has no timeline", tc.Q)
				}
				want := runExpected(t, f.store, tc.Timeline)
				compareRows(t, tc.Q+" (timeline)", project(t, a.Timeline.Columns, a.Timeline.Rows, nil), want, true)
			}
			if tc.SQL == "" && tc.Value == "" {
				t.Fatal("the case has neither sql nor value to check the answer with")
			}
		})
	}
}

func groundTruth(t *testing.T, sum scenario.Summary, name string) string {
	t.Helper()
	var camp scenario.CampaignSummary
	for _, c := range sum.Campaigns {
		if c.Name == scenario.ExfilCampaign {
			camp = c
		}
	}
	switch name {
	case "exfil_collections":
		return strconv.Itoa(scenario.ExfilCollections)
	case "exfil_requests":
		return strconv.Itoa(scenario.ExfilRequests)
	case "exfil_ips":
		return strconv.Itoa(len(scenario.ExfilIPs))
	case "exfil_bytes":
		return strconv.FormatInt(camp.Bytes, 10)
	case "exfil_keys":
		return strconv.Itoa(len(camp.APIKeyIDs))
	}
	t.Fatalf("unknown ground truth %q", name)
	return ""
}

func runExpected(t *testing.T, q store.Querier, sql string) [][]string {
	t.Helper()
	bound, err := sqlguard.BindNow(sql, fixtureNow)
	if err != nil {
		t.Fatalf("bind expected SQL: %v", err)
	}
	res, err := q.Query(context.Background(), bound, store.QueryOptions{})
	if err != nil {
		t.Fatalf("expected SQL: %v\n%s", err, sql)
	}
	return project(t, res.Columns, res.Rows, nil)
}

// project keeps the named columns (all when names is empty) as strings.
func project(t *testing.T, cols []string, rows [][]any, names []string) [][]string {
	t.Helper()
	idx := make([]int, 0, len(cols))
	if len(names) == 0 {
		for i := range cols {
			idx = append(idx, i)
		}
	}
	for _, n := range names {
		i := slices.Index(cols, n)
		if i < 0 {
			t.Fatalf("the answer has no column %q (columns %v)", n, cols)
		}
		idx = append(idx, i)
	}
	out := make([][]string, len(rows))
	for r, row := range rows {
		for _, i := range idx {
			out[r] = append(out[r], cell(row[i]))
		}
	}
	return out
}

func cell(v any) string {
	switch v := v.(type) {
	case nil:
		return "NULL"
	case float64:
		return strconv.FormatFloat(v, 'g', 9, 64)
	case float32:
		return strconv.FormatFloat(float64(v), 'g', 9, 64)
	case time.Time:
		return v.UTC().Format(time.RFC3339Nano)
	}
	return fmt.Sprint(v)
}

func compareRows(t *testing.T, q string, got, want [][]string, ordered bool) {
	t.Helper()
	if !ordered {
		sortRows(got)
		sortRows(want)
	}
	if !slices.EqualFunc(got, want, slices.Equal) {
		t.Errorf("Ask(%q): %d rows differ from the expected SQL's %d\n got %v\nwant %v", q, len(got), len(want), head(got), head(want))
	}
}

func sortRows(rows [][]string) {
	slices.SortFunc(rows, func(a, b []string) int { return slices.Compare(a, b) })
}

func head(rows [][]string) [][]string {
	if len(rows) > 6 {
		return rows[:6]
	}
	return rows
}

// TestCountryNeedsEnrichment checks that a country question without an IP
// lookup is refused with ErrNeedsEnrichment, and compiles with one.
func TestCountryNeedsEnrichment(t *testing.T) {
	_, err := forensics.Prepare("requests from country NL in the last 7 days", nil, fixtureNow, forensics.CompileOptions{})
	if !errors.Is(err, forensics.ErrNeedsEnrichment) {
		t.Fatalf("Prepare(country) error = %v, want ErrNeedsEnrichment", err)
	}
	a, err := forensics.Prepare("requests from country NL in the last 7 days", nil, fixtureNow, forensics.CompileOptions{CountryExpr: "ip_country(peer_ip)"})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(a.SQL, "ip_country(peer_ip) = ?") || !slices.Contains(a.Args, any("NL")) {
		t.Errorf("Prepare(country).SQL = %s %v, want ip_country(peer_ip) = ? with NL", a.SQL, a.Args)
	}
}
