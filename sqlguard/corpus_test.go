package sqlguard

import (
	"errors"
	"os"
	"regexp"
	"strings"
	"testing"
	"time"

	"gopkg.in/yaml.v3"
)

// corpusCase is one entry of testdata/injections.yaml or testdata/legit.yaml.
type corpusCase struct {
	Name   string `yaml:"name"`
	Query  string `yaml:"query"`
	Why    string `yaml:"why"`
	Want   string `yaml:"want"`
	DuckDB string `yaml:"duckdb"`
	Args   []any  `yaml:"args"`
}

func loadCorpus(t *testing.T, path string) []corpusCase {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var cases []corpusCase
	if err := yaml.Unmarshal(data, &cases); err != nil {
		t.Fatalf("parse %s: %v", path, err)
	}
	names := map[string]bool{}
	for _, c := range cases {
		if c.Name == "" || c.Query == "" || names[c.Name] {
			t.Fatalf("%s: entry %q has no name, no query or a duplicate name", path, c.Name)
		}
		names[c.Name] = true
	}
	return cases
}

func TestInjectionCorpus(t *testing.T) {
	cases := loadCorpus(t, "testdata/injections.yaml")
	if len(cases) < 60 {
		t.Errorf("injection corpus has %d entries, want at least 60", len(cases))
	}
	g := New()
	for _, c := range cases {
		t.Run(c.Name, func(t *testing.T) {
			if c.Want == "" || c.Why == "" {
				t.Fatalf("entry has no want or why")
			}
			err := g.Check(c.Query)
			if !errors.Is(err, ErrRefused) {
				t.Fatalf("Check(%q) = %v, want a refusal (%s)", c.Query, err, c.Why)
			}
			if !strings.Contains(err.Error(), c.Want) {
				t.Errorf("Check(%q) = %q, want a message containing %q", c.Query, err, c.Want)
			}
			var re *RefusalError
			if !errors.As(err, &re) || re.Offset >= len(c.Query) {
				t.Errorf("Check(%q) = %#v, want a *RefusalError with an offset inside the query", c.Query, err)
			}
			switch c.DuckDB {
			case "blocks", "runs", "skip":
			default:
				t.Errorf("duckdb = %q, want blocks, runs or skip", c.DuckDB)
			}
		})
	}
}

func TestLegitimateCorpus(t *testing.T) {
	cases := loadCorpus(t, "testdata/legit.yaml")
	if len(cases) < 40 {
		t.Errorf("legitimate corpus has %d entries, want at least 40", len(cases))
	}
	g := New()
	at := time.Date(2026, 3, 2, 2, 17, 0, 0, time.UTC)
	for _, c := range cases {
		t.Run(c.Name, func(t *testing.T) {
			if err := g.Check(c.Query); err != nil {
				t.Fatalf("Check(%q) = %v, want nil", c.Query, err)
			}
			// Rules are bound to their evaluation time before they run.
			bound, err := BindNow(c.Query, at)
			if err != nil {
				t.Fatalf("BindNow(%q) = %v", c.Query, err)
			}
			if err := g.Check(bound); err != nil {
				t.Errorf("Check(BindNow(%q)) = %v, want nil", c.Query, err)
			}
		})
	}
}

// TestMacrosAllowed keeps the allow-list in step with the DuckDB store's
// ClickHouse-compatibility macros.
func TestMacrosAllowed(t *testing.T) {
	data, err := os.ReadFile("../store/duckdb/macros.sql")
	if err != nil {
		t.Fatal(err)
	}
	g := New()
	macros := regexp.MustCompile(`(?i)CREATE OR REPLACE MACRO (\w+)`).FindAllStringSubmatch(string(data), -1)
	if len(macros) < 10 {
		t.Fatalf("found %d macros in macros.sql, want at least 10", len(macros))
	}
	for _, m := range macros {
		if err := g.Check("SELECT " + m[1] + "(timestamp) FROM traces"); err != nil {
			t.Errorf("macro %s is not allowed: %v", m[1], err)
		}
	}
}

func TestAllowAndForbidListsDisjoint(t *testing.T) {
	for _, name := range builtinFunctions {
		if why, bad := forbiddenFunctionReason(strings.ToLower(name)); bad {
			t.Errorf("function %s is both allowed and forbidden (%s)", name, why)
		}
		if why := forbiddenKeywords[strings.ToLower(name)]; why != "" {
			t.Errorf("function %s is also a forbidden keyword (%s)", name, why)
		}
	}
}
