package duckdb_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/tracehound/tracehound/span"
	"github.com/tracehound/tracehound/sqlguard"
	"github.com/tracehound/tracehound/store"
	"github.com/tracehound/tracehound/store/duckdb"
	"github.com/tracehound/tracehound/store/storetest"
)

// guardCase is one entry of the sqlguard corpora
// (sqlguard/testdata/legit.yaml and injections.yaml).
type guardCase struct {
	Name   string `yaml:"name"`
	Query  string `yaml:"query"`
	Why    string `yaml:"why"`
	Want   string `yaml:"want"`
	DuckDB string `yaml:"duckdb"`
	Args   []any  `yaml:"args"`
}

func loadGuardCorpus(t *testing.T, file string) []guardCase {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("..", "..", "sqlguard", "testdata", file))
	if err != nil {
		t.Fatal(err)
	}
	var cases []guardCase
	if err := yaml.Unmarshal(data, &cases); err != nil {
		t.Fatalf("parse %s: %v", file, err)
	}
	if len(cases) == 0 {
		t.Fatalf("%s has no cases", file)
	}
	return cases
}

// openGuardStore opens a throwaway store that cannot download extensions,
// so that no test input reaches the network.
func openGuardStore(t *testing.T) *duckdb.Store {
	t.Helper()
	s := open(t, filepath.Join(t.TempDir(), "traces.duckdb"), duckdb.Options{})
	t.Cleanup(func() { s.Close() })
	if _, err := s.DB().ExecContext(context.Background(), "SET GLOBAL autoinstall_known_extensions = false"); err != nil {
		t.Fatalf("disable extension downloads: %v", err)
	}
	return s
}

// TestGuardLegitimateQueriesRun runs every legitimate query through the
// guard, binds it to an evaluation time as the rule engine does, and runs it
// on a real store holding a few spans: what the guard lets through must be
// what the store can run.
func TestGuardLegitimateQueriesRun(t *testing.T) {
	s := openGuardStore(t)
	now := time.Now().UTC()
	var spans []span.Span
	for i := range 30 {
		spans = append(spans, storetest.ServerSpan(i, now.Add(-time.Duration(i)*time.Minute)))
	}
	if err := s.Write(context.Background(), spans); err != nil {
		t.Fatal(err)
	}
	g := sqlguard.New()
	ran := 0
	for _, c := range loadGuardCorpus(t, "legit.yaml") {
		t.Run(c.Name, func(t *testing.T) {
			if err := g.Check(c.Query); err != nil {
				t.Fatalf("Check(%q) = %v, want nil", c.Query, err)
			}
			if c.DuckDB == "skip" {
				t.Skipf("ClickHouse-only: %s", c.Why)
			}
			q, err := sqlguard.BindNow(c.Query, now)
			if err != nil {
				t.Fatalf("BindNow(%q) = %v", c.Query, err)
			}
			if _, err := s.Query(context.Background(), q, store.QueryOptions{MaxRows: 1000, Timeout: 10 * time.Second}, c.Args...); err != nil {
				t.Fatalf("Query(%q) = %v, want nil", q, err)
			}
			ran++
		})
	}
	if ran < 40 {
		t.Errorf("ran %d legitimate queries on DuckDB, want at least 40", ran)
	}
}

// TestGuardHostileQueriesAgainstDuckDB shows where defence in depth exists:
// every hostile input is refused by the guard, and each one that is safe to
// run is then run directly on a throwaway store, bypassing the guard. Inputs
// marked "blocks" must also fail on DuckDB; those marked "runs" are the ones
// only the guard stops.
func TestGuardHostileQueriesAgainstDuckDB(t *testing.T) {
	g := sqlguard.New()
	var blocked, ran, skipped []string
	// Inputs that might change the store get a store of their own; the
	// others share one, which keeps the test fast.
	shared := openGuardStore(t)
	mayWrite := regexp.MustCompile(`(?i)\b(drop|delete|insert|update|attach|detach|set|reset|begin|pragma|call|load|install|copy|export|checkpoint|setseed|nextval)\b`)
	for _, c := range loadGuardCorpus(t, "injections.yaml") {
		t.Run(c.Name, func(t *testing.T) {
			if err := g.Check(c.Query); !errors.Is(err, sqlguard.ErrRefused) {
				t.Fatalf("Check(%q) = %v, want a refusal", c.Query, err)
			}
			if c.DuckDB == "skip" {
				skipped = append(skipped, c.Name)
				return
			}
			s := shared
			if mayWrite.MatchString(c.Query) {
				s = openGuardStore(t)
			}
			_, err := s.Query(context.Background(), c.Query, store.QueryOptions{MaxRows: 10, Timeout: 10 * time.Second})
			switch {
			case err != nil && c.DuckDB == "runs":
				t.Logf("DuckDB now refuses %q too (%v): mark it \"blocks\"", c.Query, firstLine(err))
			case err == nil && c.DuckDB == "blocks":
				t.Errorf("DuckDB ran %q, which the corpus says it refuses: defence in depth is gone", c.Query)
			case c.DuckDB != "runs" && c.DuckDB != "blocks":
				t.Errorf("duckdb = %q, want blocks, runs or skip (DuckDB error: %v)", c.DuckDB, err)
			}
			if err != nil {
				blocked = append(blocked, c.Name)
			} else {
				ran = append(ran, c.Name)
			}
		})
	}
	t.Logf("DuckDB also refuses %d hostile inputs: %s", len(blocked), strings.Join(blocked, "; "))
	t.Logf("DuckDB runs %d hostile inputs that only the guard stops: %s", len(ran), strings.Join(ran, "; "))
	t.Logf("not run (network, files or extensions): %s", strings.Join(skipped, "; "))
}

func firstLine(err error) string {
	msg, _, _ := strings.Cut(err.Error(), "\n")
	return msg
}
