package forensics_test

import (
	"context"
	"os"
	"strconv"
	"testing"
	"time"

	"github.com/tracehound/tracehound/apimap"
	"github.com/tracehound/tracehound/forensics"
	"github.com/tracehound/tracehound/store"
	"github.com/tracehound/tracehound/store/duckdb"
	"github.com/tracehound/tracehound/store/storetest"
)

// TestLargeStoreTimes asks the headline questions of a large store and
// fails when one takes more than 2 s. It runs only when
// FORENSICS_LARGE_STORE names a DuckDB file that no other process has open
// (a copy of a `tracehound demo` data directory's traces.duckdb), or a new
// one to fill with FORENSICS_LARGE_SPANS synthetic spans
// (storetest.SyntheticSpansSQL). It compacts the store first, as the
// server does in the background.
func TestLargeStoreTimes(t *testing.T) {
	path := os.Getenv("FORENSICS_LARGE_STORE")
	if path == "" {
		t.Skip("set FORENSICS_LARGE_STORE to a DuckDB file to time questions on it")
	}
	ctx := context.Background()
	_, statErr := os.Stat(path)
	st, err := duckdb.Open(ctx, path, duckdb.Options{MemoryLimit: "1GB"})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	if n, _ := strconv.Atoi(os.Getenv("FORENSICS_LARGE_SPANS")); n > 0 && os.IsNotExist(statErr) {
		// A new file: fill it with n synthetic spans over 7 days (84000000
		// is a week of a 12 M/day stream).
		start := time.Now()
		if _, err := st.DB().ExecContext(ctx, storetest.SyntheticSpansSQL(n)); err != nil {
			t.Fatal(err)
		}
		if _, err := st.DB().ExecContext(ctx, "CHECKPOINT"); err != nil {
			t.Fatal(err)
		}
		t.Logf("built %d synthetic spans in %v", n, time.Since(start).Round(time.Second))
	}
	res, err := st.Query(ctx, "SELECT max(timestamp), count() FROM traces", store.QueryOptions{})
	if err != nil {
		t.Fatal(err)
	}
	now := res.Rows[0][0].(time.Time).Add(time.Minute)
	t.Logf("%v spans, evaluated at %s", res.Rows[0][1], now.Format(time.RFC3339))
	// As the server would have by then (the first time: ~75 s per day of
	// 12 M spans).
	cs, err := st.Compact(ctx, duckdb.CompactOptions{Now: now})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("compaction: %d periods, %d spans in %v", cs.Periods, cs.Spans, cs.Elapsed.Round(time.Second))
	start := time.Now()
	inv, err := apimap.Build(ctx, st, apimap.BuildOptions{Now: now})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("API map for the catalog: %d endpoints in %v", len(inv.Endpoints), time.Since(start).Round(time.Millisecond))
	cat := forensics.CatalogFromInventory(inv)
	for _, q := range append(forensics.Examples,
		"how many distinct collection ids were pulled from /admin/export this week",
		"total bytes downloaded from /admin/export in the last 7 days",
		"top 10 endpoints by requests in the last 7 days",
	) {
		start := time.Now()
		a, err := forensics.Ask(ctx, st, cat, q, now)
		if err != nil {
			t.Fatalf("Ask(%q): %v", q, err)
		}
		d := time.Since(start)
		first := "-"
		if len(a.Rows) > 0 {
			first = forensicsCell(a.Rows[0])
		}
		t.Logf("%6.0f ms  %-80s rows=%d first=%s", float64(d.Microseconds())/1000, q, len(a.Rows), first)
		if d > 2*time.Second {
			t.Errorf("Ask(%q) took %v, want ≤ 2s", q, d)
		}
	}
}

func forensicsCell(row []any) string {
	s := ""
	for i, v := range row {
		if i > 2 {
			break
		}
		s += cell(v) + " "
	}
	return s
}
