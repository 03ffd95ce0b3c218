package duckdb_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/tracehound/tracehound/store"
	"github.com/tracehound/tracehound/store/duckdb"
	"github.com/tracehound/tracehound/store/storetest"
)

// benchSpanCount is the size of the reference-query benchmark's store.
const benchSpanCount = 10_000_000

// openBenchStore opens a store of benchSpanCount server spans spread over
// the 7 days before now, built once with SQL and cached in the temp
// directory (delete it to rebuild). 0.1% of the requests hit an admin
// export endpoint from a handful of IPs, the rest spread over 40 routes
// and 50,000 clients.
func openBenchStore(b *testing.B) *duckdb.Store {
	b.Helper()
	dir := filepath.Join(os.TempDir(), "tracehound-bench")
	path := filepath.Join(dir, fmt.Sprintf("reference-%d.duckdb", benchSpanCount))
	fresh := false
	if fi, err := os.Stat(path); err != nil || time.Since(fi.ModTime()) > 20*time.Hour {
		os.RemoveAll(dir)
		os.MkdirAll(dir, 0o755)
		fresh = true
	}
	s, err := duckdb.Open(context.Background(), path, duckdb.Options{})
	if err != nil {
		b.Fatal(err)
	}
	if fresh {
		start := time.Now()
		_, err := s.DB().Exec(storetest.SyntheticSpansSQL(benchSpanCount))
		if err != nil {
			b.Fatal(err)
		}
		if _, err := s.DB().Exec("CHECKPOINT"); err != nil {
			b.Fatal(err)
		}
		b.Logf("built %d spans in %s", benchSpanCount, time.Since(start).Round(time.Second))
	}
	return s
}

// BenchmarkReferenceQueries runs the reference scenario's two queries over
// 10 million spans, with their 15-minute and 7-day windows.
func BenchmarkReferenceQueries(b *testing.B) {
	s := openBenchStore(b)
	defer s.Close()
	queries := map[string]string{
		"admin-rule-15m":        storetest.ReferenceQueries[0],
		"export-collections-7d": storetest.ReferenceQueries[1],
		"admin-rule-7d":         replaceWindow(storetest.ReferenceQueries[0]),
	}
	for name, q := range queries {
		b.Run(name, func(b *testing.B) {
			for b.Loop() {
				if _, err := s.Query(context.Background(), q, store.QueryOptions{}); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func replaceWindow(q string) string {
	const from, to = "INTERVAL 15 MINUTE", "INTERVAL 7 DAY"
	for i := 0; i+len(from) <= len(q); i++ {
		if q[i:i+len(from)] == from {
			return q[:i] + to + q[i+len(from):]
		}
	}
	return q
}
