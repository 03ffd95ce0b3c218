package clickhouse

import (
	"context"
	"fmt"
	"math"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/tracehound/tracehound/alert"
	"github.com/tracehound/tracehound/apimap"
	"github.com/tracehound/tracehound/forensics"
	"github.com/tracehound/tracehound/otlp"
	"github.com/tracehound/tracehound/scenario"
	"github.com/tracehound/tracehound/span"
	"github.com/tracehound/tracehound/sqlguard"
	"github.com/tracehound/tracehound/store"
	"github.com/tracehound/tracehound/store/clickhouse/chtest"
	"github.com/tracehound/tracehound/store/duckdb"
)

// The product's read SQL on a real ClickHouse engine: the same scenario
// traffic goes into a DuckDB store (the reference: its answers are checked
// by the alert, forensics and sqlguard tests) and into ClickHouse 18.16
// (legacy rendering), and every query tracehound generates for reads runs
// on both; ClickHouse must parse and run it and return the same rows.

// productStart and productNow are the forensics fixture's week.
var (
	productStart = time.Date(2026, 3, 2, 0, 0, 0, 0, time.UTC)
	productNow   = productStart.Add(7*24*time.Hour - 30*time.Minute)
)

// tee buffers spans and writes them to every store in large batches,
// with whole-second timestamps (ClickHouse 18.16 keeps no fractions, and
// the stores must hold the same data). It accepts every export at once, so
// the exporter never retries, and it drops a span it has already seen.
type tee struct {
	mu     sync.Mutex
	stores []store.Writer
	buf    []span.Span
	seen   map[string]bool
	err    error
}

func newTee(stores ...store.Writer) *tee {
	return &tee{stores: stores, seen: map[string]bool{}}
}

func (t *tee) Write(_ context.Context, spans []span.Span) error {
	t.mu.Lock()
	defer t.mu.Unlock()
	for _, sp := range spans {
		if id := sp.TraceID + sp.SpanID; !t.seen[id] {
			t.seen[id] = true
			sp.Timestamp = sp.Timestamp.Truncate(time.Second)
			t.buf = append(t.buf, sp)
		}
	}
	if len(t.buf) >= 50_000 {
		t.flushLocked()
	}
	return nil
}

// flush writes the buffered spans to every store at once.
func (t *tee) flush() error {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.flushLocked()
	return t.err
}

func (t *tee) flushLocked() {
	batch := t.buf
	t.buf = nil
	var wg sync.WaitGroup
	errs := make([]error, len(t.stores))
	for i, s := range t.stores {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[i] = s.Write(context.Background(), batch)
		}()
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil && t.err == nil {
			t.err = err
		}
	}
}

type productFixture struct {
	dir     string
	duck    *duckdb.Store
	ch      *Store
	catalog forensics.StaticCatalog
	spans   int64
}

// legacyProduct is the fixture on ClickHouse 18.16, shared by the tests
// of the package (seeding takes a while); TestMain removes it.
func legacyProduct(t *testing.T) *productFixture {
	t.Helper()
	if testing.Short() {
		t.Skip("seeds a week of scenario traffic")
	}
	srv := chtest.Legacy(t)
	legacyFixtureOnce.Do(func() {
		db := "th_test_product"
		ctx := context.Background()
		srv.Query(ctx, "DROP DATABASE IF EXISTS "+db)
		chs, err := Open(ctx, Options{DSN: srv.DSN(""), Database: db, legacy: true})
		if err != nil {
			legacyFixtureErr = err
			return
		}
		afterAll = append(afterAll, func() {
			chs.Close()
			srv.Query(ctx, "DROP DATABASE IF EXISTS "+db)
		})
		legacyFixture, legacyFixtureErr = seed(chs)
	})
	if legacyFixtureErr != nil {
		t.Fatal(legacyFixtureErr)
	}
	return legacyFixture
}

var (
	legacyFixtureOnce sync.Once
	legacyFixture     *productFixture
	legacyFixtureErr  error
	// afterAll run when the package's tests are done (TestMain).
	afterAll []func()
)

// seedProduct seeds chs and a DuckDB store for one test.
func seedProduct(t *testing.T, chs *Store) *productFixture {
	t.Helper()
	if testing.Short() {
		t.Skip("seeds a week of scenario traffic")
	}
	t.Cleanup(func() { chs.Close() })
	f, err := seed(chs)
	if f != nil {
		t.Cleanup(func() { f.duck.Close(); os.RemoveAll(f.dir) })
	}
	if err != nil {
		t.Fatal(err)
	}
	return f
}

// seed sends the scenario week through the OTLP receiver into chs and a
// new DuckDB store, and builds the forensics catalog from DuckDB.
func seed(chs *Store) (*productFixture, error) {
	ctx := context.Background()
	dir, err := os.MkdirTemp("", "tracehound-product-")
	if err != nil {
		return nil, err
	}
	duck, err := duckdb.Open(ctx, filepath.Join(dir, "traces.duckdb"), duckdb.Options{})
	if err != nil {
		os.RemoveAll(dir)
		return nil, err
	}
	f := &productFixture{duck: duck, ch: chs, dir: dir}
	afterAll = append(afterAll, func() { duck.Close(); os.RemoveAll(dir) })
	both := newTee(duck, chs)
	srv := httptest.NewServer(otlp.NewReceiver(otlp.Options{Writer: both}))
	_, err = scenario.Backfill(ctx, scenario.Options{
		Scenario: scenario.DefaultScenario, Start: productStart, Days: 7, Scale: 0.0002, Seed: 11, Endpoint: srv.URL,
	})
	srv.Close()
	if err != nil {
		return f, fmt.Errorf("backfill: %w", err)
	}
	if err := both.flush(); err != nil {
		return f, fmt.Errorf("write the spans: %w", err)
	}
	// Queries may skip waiting for a large backlog; the fixture must see it all.
	if err := duck.Sync(ctx); err != nil {
		return f, err
	}
	inv, err := apimap.Build(ctx, duck, apimap.BuildOptions{Now: productNow, Window: 8 * 24 * time.Hour})
	if err != nil {
		return f, fmt.Errorf("build the API map: %w", err)
	}
	f.catalog = forensics.CatalogFromInventory(inv)
	for name, s := range map[string]store.Store{"duckdb": duck, "clickhouse": chs} {
		st, err := s.Stats(ctx)
		if err != nil {
			return f, err
		}
		if f.spans != 0 && st.Spans != f.spans {
			return f, fmt.Errorf("%s holds %d spans, the other store %d", name, st.Spans, f.spans)
		}
		f.spans = st.Spans
	}
	if f.spans < 10_000 {
		return f, fmt.Errorf("the scenario wrote %d spans, want at least 10,000", f.spans)
	}
	return f, nil
}

// canon renders a result value so that the engines' types compare: numbers
// by value (booleans as 0/1, as ClickHouse returns them), times in UTC,
// lists as sorted multisets (groupArray and the like have no order).
func canon(v any) string {
	switch x := v.(type) {
	case nil:
		return "NULL"
	case bool:
		if x {
			return "1"
		}
		return "0"
	case time.Time:
		return x.UTC().Format(time.RFC3339Nano)
	case string:
		return fmt.Sprintf("%q", x)
	case []any:
		parts := make([]string, len(x))
		for i, e := range x {
			parts[i] = canon(e)
		}
		sort.Strings(parts)
		return "[" + strings.Join(parts, ",") + "]"
	case map[string]any:
		parts := make([]string, 0, len(x))
		for k, e := range x {
			parts = append(parts, k+"="+canon(e))
		}
		sort.Strings(parts)
		return "{" + strings.Join(parts, ",") + "}"
	}
	if f, ok := store.AsFloat64(v); ok {
		if math.IsNaN(f) {
			return "NaN"
		}
		return fmt.Sprintf("%.9g", f)
	}
	return fmt.Sprintf("%T:%v", v, v)
}

// rowSet is a result as a sorted list of canonical rows.
func rowSet(res *store.Result) []string {
	out := make([]string, len(res.Rows))
	for i, r := range res.Rows {
		parts := make([]string, len(r))
		for j, v := range r {
			parts[j] = canon(v)
		}
		out[i] = strings.Join(parts, " | ")
	}
	sort.Strings(out)
	return out
}

// productQuery is one read query tracehound generates.
type productQuery struct {
	source string // where it comes from, for messages
	sql    string
	args   []any
	// chOnly: DuckDB cannot run it (a ClickHouse-only spelling of the
	// sqlguard corpus); ClickHouse must.
	chOnly bool
}

// notOn1816 are the queries ClickHouse 18.16 cannot run, by source, and
// why; each must still fail there (when the reason goes, so must the
// entry), and each runs on DuckDB and, with TRACEHOUND_CLICKHOUSE_DSN, on
// a modern ClickHouse (TestModernProductSQL).
var notOn1816 = map[string]string{
	// The product's own queries all run (admin_endpoint_new_caller lost its
	// positional GROUP BY, bulk_reads_per_ip its column-shadowing alias).

	// The sqlguard corpus of legitimate queries holds DuckDB spellings
	// (the SQL console of a DuckDB store accepts them) and newer SQL.
	"sqlguard window row_number":                   "18.16 has no window functions (ClickHouse 21.x)",
	"sqlguard window lag gaps":                     "18.16 has no window functions (ClickHouse 21.x)",
	"sqlguard window rank and lead":                "18.16 has no window functions (ClickHouse 21.x)",
	"sqlguard named window":                        "18.16 has no window functions (ClickHouse 21.x)",
	"sqlguard qualify":                             "18.16 has no window functions or QUALIFY",
	"sqlguard sequential id enumeration with CTE":  "18.16 has no WITH name AS (subquery)",
	"sqlguard two CTEs":                            "18.16 has no WITH name AS (subquery)",
	"sqlguard recursive-free CTE with column list": "18.16 has no WITH name AS (subquery)",
	"sqlguard EXISTS subquery":                     "18.16 has no EXISTS",
	"sqlguard trim from and position in":           "18.16 has no trim(both … FROM …) or position(… IN …)",
	"sqlguard IS DISTINCT FROM":                    "18.16 has no IS DISTINCT FROM",
	"sqlguard map_keys unnest":                     "DuckDB functions map_keys and unnest",
	"sqlguard regexp extract path id":              "DuckDB function regexp_extract",
	"sqlguard regexp_matches":                      "DuckDB function regexp_matches",
	"sqlguard cutQueryString and split_part":       "DuckDB function split_part",
	"sqlguard CAST and TRY_CAST":                   "DuckDB TRY_CAST",
	"sqlguard double-colon cast":                   "DuckDB :: cast with DuckDB type names",
	"sqlguard date_trunc and strftime":             "DuckDB date_trunc and strftime (18.16 has neither)",
	"sqlguard epoch and toUnixTimestamp":           "DuckDB function epoch",
	"sqlguard time_bucket":                         "DuckDB function time_bucket",
	"sqlguard percentiles DuckDB spelling":         "DuckDB function quantile_cont",
	"sqlguard percentile_cont within group":        "DuckDB WITHIN GROUP",
	"sqlguard argMax":                              "DuckDB function arg_min",
	"sqlguard string_agg and list":                 "DuckDB functions string_agg and list",
	"sqlguard list functions and lambda":           "DuckDB list functions and lambda syntax",
	"sqlguard FROM-first DuckDB form":              "DuckDB FROM-first SELECT",
	"sqlguard parameters question mark":            "an ISO-8601 string ('2000-01-01T00:00:00Z') compared with a DateTime: 18.16 parses 'YYYY-MM-DD hh:mm:ss' only",
}

// sameRowsExceptions are queries whose rows may differ between the
// engines, and why.
var sameRowsExceptions = map[string]string{
	"sqlguard avgIf maxIf minIf":        "-If aggregates over no row: ClickHouse 0 (nan for avgIf), DuckDB's macros NULL",
	"sqlguard map access on attributes": "a missing map key: ClickHouse '', DuckDB NULL",
}

var (
	limitClause   = regexp.MustCompile(`(?i)\bLIMIT\s+\d`)
	orderByClause = regexp.MustCompile(`(?i)\bORDER\s+BY\b`)
)

// rowsMayDiffer says why a query's rows may differ between the engines:
// a listed exception, or a LIMIT without ORDER BY, which lets each engine
// pick any rows.
func rowsMayDiffer(q productQuery) (string, bool) {
	if why, ok := sameRowsExceptions[q.source]; ok {
		return why, true
	}
	if limitClause.MatchString(q.sql) && !orderByClause.MatchString(q.sql) {
		return "LIMIT without ORDER BY picks any rows", true
	}
	return "", false
}

// runBoth runs queries on both stores and compares the rows. On a modern
// ClickHouse (modern) the 18.16 exceptions do not apply.
func runBoth(t *testing.T, f *productFixture, queries []productQuery, modern bool) (checked, nonEmpty int) {
	t.Helper()
	ctx := context.Background()
	opts := store.QueryOptions{MaxRows: 1_000_000, Timeout: time.Minute}
	reported := map[string]bool{}
	fail := func(source, format string, args ...any) {
		if !reported[source] {
			reported[source] = true
			t.Errorf(format, args...)
		}
	}
	couldNot := map[string]bool{}
	for _, q := range queries {
		chRes, chErr := f.ch.Query(ctx, q.sql, opts, q.args...)
		if why, ok := notOn1816[q.source]; ok && modern {
			if chErr != nil {
				couldNot[q.source+": "+chErr.Error()] = true
				continue
			}
		} else if ok {
			if chErr == nil {
				fail(q.source, "%s now runs on ClickHouse 18.16 (listed as not: %s); remove it from notOn1816", q.source, why)
			}
			couldNot[q.source+": "+why] = true
			continue
		}
		if chErr != nil {
			fail(q.source, "%s fails on ClickHouse 18.16: %v\n%s", q.source, chErr, q.sql)
			continue
		}
		if q.chOnly {
			checked++
			continue
		}
		duckRes, err := f.duck.Query(ctx, q.sql, opts, q.args...)
		if err != nil {
			fail(q.source, "%s fails on DuckDB (the reference): %v", q.source, err)
			continue
		}
		checked++
		if len(duckRes.Rows) > 0 {
			nonEmpty++
		}
		got, want := rowSet(chRes), rowSet(duckRes)
		if strings.Join(got, "\n") != strings.Join(want, "\n") {
			if why, ok := rowsMayDiffer(q); ok {
				if !reported[q.source] {
					reported[q.source] = true
					t.Logf("%s: rows differ, as expected (%s)", q.source, why)
				}
				continue
			}
			fail(q.source, "%s: ClickHouse returned %d rows, DuckDB %d; first differences:\n%s\nquery:\n%s", q.source, len(got), len(want), diffRows(got, want), q.sql)
		} else if why, ok := rowsMayDiffer(q); ok && len(want) > 0 && !reported[q.source+" same"] {
			reported[q.source+" same"] = true
			t.Logf("%s: rows are the same here although they may differ (%s)", q.source, why)
		}
	}
	if len(couldNot) > 0 {
		engine := "ClickHouse 18.16"
		if modern {
			engine = "ClickHouse " + f.ch.Version()
		}
		var list []string
		for k := range couldNot {
			list = append(list, k)
		}
		sort.Strings(list)
		t.Logf("not checked on %s (%d):\n  %s", engine, len(list), strings.Join(list, "\n  "))
	}
	return checked, nonEmpty
}

func diffRows(got, want []string) string {
	in := func(xs []string) map[string]int {
		m := map[string]int{}
		for _, x := range xs {
			m[x]++
		}
		return m
	}
	g, w := in(got), in(want)
	var b strings.Builder
	n := 0
	for _, x := range got {
		if g[x] > w[x] && n < 5 {
			fmt.Fprintf(&b, "  clickhouse only: %s\n", x)
			g[x]--
			n++
		}
	}
	n = 0
	for _, x := range want {
		if w[x] > in(got)[x] && n < 5 {
			fmt.Fprintf(&b, "  duckdb only:     %s\n", x)
			w[x]--
			n++
		}
	}
	return b.String()
}

// TestLegacyProductSQL runs on ClickHouse 18.16 every read query of the
// built-in rule pack and the case-study rules (bound to every hour of the
// week, as the rule engine binds now()), the sqlguard corpus of legitimate
// queries, and the forensics compiler's output for every answerable
// question of its test table, and compares the rows with DuckDB's.
func TestLegacyProductSQL(t *testing.T) {
	testProductSQL(t, legacyProduct(t), false)
}

func testProductSQL(t *testing.T, f *productFixture, modern bool) {
	t.Run("rules", func(t *testing.T) {
		rules := alert.Builtin()
		cs, err := alert.LoadFiles(filepath.Join("..", "..", "alert", "testdata", "casestudy.yaml"))
		if err != nil {
			t.Fatal(err)
		}
		rules = append(rules, cs...)
		var qs []productQuery
		nRules := 0
		for _, r := range rules {
			if r.Source != alert.SourceSQL && r.Source != "" {
				continue
			}
			nRules++
			for at := productStart.Add(time.Hour); !at.After(productNow); at = at.Add(time.Hour) {
				bound, err := sqlguard.BindNow(r.SQL, at)
				if err != nil {
					t.Fatal(err)
				}
				qs = append(qs, productQuery{source: "rule " + r.ID, sql: bound})
			}
		}
		checked, nonEmpty := runBoth(t, f, qs, modern)
		t.Logf("%d rules: %d evaluations compared, %d with rows", nRules, checked, nonEmpty)
		if nRules < 6 || nonEmpty < 10 {
			t.Errorf("compared %d rules with %d non-empty evaluations; want at least 6 rules and 10 non-empty evaluations", nRules, nonEmpty)
		}
	})
	t.Run("sqlguard corpus", func(t *testing.T) {
		data, err := os.ReadFile(filepath.Join("..", "..", "sqlguard", "testdata", "legit.yaml"))
		if err != nil {
			t.Fatal(err)
		}
		var cases []struct {
			Name   string `yaml:"name"`
			Query  string `yaml:"query"`
			DuckDB string `yaml:"duckdb"`
			Args   []any  `yaml:"args"`
		}
		if err := yaml.Unmarshal(data, &cases); err != nil {
			t.Fatal(err)
		}
		var qs []productQuery
		for _, c := range cases {
			bound, err := sqlguard.BindNow(c.Query, productNow)
			if err != nil {
				t.Fatal(err)
			}
			qs = append(qs, productQuery{source: "sqlguard " + c.Name, sql: bound, args: c.Args, chOnly: c.DuckDB == "skip"})
		}
		checked, nonEmpty := runBoth(t, f, qs, modern)
		t.Logf("%d legitimate queries: %d ran, %d with rows on both", len(cases), checked, nonEmpty)
		if checked < 35 {
			t.Errorf("ran %d of the corpus's queries, want at least 35", checked)
		}
	})
	t.Run("forensics", func(t *testing.T) {
		data, err := os.ReadFile(filepath.Join("..", "..", "forensics", "testdata", "questions.yaml"))
		if err != nil {
			t.Fatal(err)
		}
		var cases []struct {
			Q     string `yaml:"q"`
			Error string `yaml:"error"`
		}
		if err := yaml.Unmarshal(data, &cases); err != nil {
			t.Fatal(err)
		}
		var qs []productQuery
		for _, c := range cases {
			if c.Error != "" {
				continue
			}
			a, err := forensics.Prepare(c.Q, f.catalog, productNow, forensics.CompileOptions{})
			if err != nil {
				t.Errorf("Prepare(%q): %v", c.Q, err)
				continue
			}
			qs = append(qs, productQuery{source: "forensics " + c.Q, sql: a.SQL, args: a.Args})
			if a.Timeline != nil {
				qs = append(qs, productQuery{source: "forensics timeline " + c.Q, sql: a.Timeline.SQL, args: a.Timeline.Args})
			}
		}
		checked, nonEmpty := runBoth(t, f, qs, modern)
		t.Logf("%d forensic queries: %d compared, %d with rows", len(qs), checked, nonEmpty)
		if checked < 60 || nonEmpty < 40 {
			t.Errorf("compared %d forensic queries, %d with rows; want at least 60 and 40", checked, nonEmpty)
		}
	})
}
