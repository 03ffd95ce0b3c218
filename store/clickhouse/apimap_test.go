package clickhouse

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/tracehound/tracehound/apimap"
	"github.com/tracehound/tracehound/store"
)

// duckAPIMapSQL rebuilds the API map's DuckDB queries from apimap/sql as
// apimap/query.go does (the path key spliced in without its comments).
func duckAPIMapSQL(t *testing.T) map[string]string {
	t.Helper()
	read := func(name string) string {
		b, err := os.ReadFile(filepath.Join("..", "..", "apimap", "sql", name))
		if err != nil {
			t.Fatal(err)
		}
		return string(b)
	}
	var lines []string
	for line := range strings.SplitSeq(read("path_key.sql"), "\n") {
		if tl := strings.TrimSpace(line); tl != "" && !strings.HasPrefix(tl, "--") {
			lines = append(lines, line)
		}
	}
	pathKey := strings.Join(lines, "\n")
	out := map[string]string{}
	for name := range APIMapQueries {
		out[strings.ReplaceAll(read(name), "/*path_key*/", pathKey)] = name
	}
	return out
}

// apimapQuerier runs the API map's queries on a ClickHouse store in their
// ClickHouse versions, as the API map does with a querier whose Dialect
// is clickhouse.
type apimapQuerier struct {
	s      *Store
	byText map[string]string // DuckDB text → file name
	used   map[string]bool
}

func (q *apimapQuerier) Query(ctx context.Context, sql string, opts store.QueryOptions, args ...any) (*store.Result, error) {
	name, ok := q.byText[sql]
	if !ok {
		return q.s.Query(ctx, sql, opts, args...)
	}
	q.used[name] = true
	res, err := q.s.Query(ctx, APIMapQueries[name], opts, args...)
	if err != nil || !q.s.legacy {
		return res, err
	}
	// 18.16 has no Bool: has_2xx comes back as 0 or 1; nor
	// quantilesExactInclusive: quantilesExact returns the column's type.
	for i, c := range res.Columns {
		for _, row := range res.Rows {
			switch c {
			case "has_2xx":
				row[i] = row[i] == uint64(1)
			case "latency_ns":
				for j, v := range row[i].([]any) {
					row[i].([]any)[j], _ = store.AsFloat64(v)
				}
			}
		}
	}
	return res, nil
}

// TestLegacyAPIMap builds the API map of the scenario week from DuckDB
// with apimap's own queries and from ClickHouse 18.16 with their
// ClickHouse versions, and compares the inventories: endpoints, templates,
// traffic, status codes, callers, keys, parameters, auth. Latency is left
// out: 18.16 lacks quantilesExactInclusive.
func TestLegacyAPIMap(t *testing.T) {
	testAPIMap(t, legacyProduct(t))
}

func testAPIMap(t *testing.T, f *productFixture) {
	ctx := context.Background()
	opts := apimap.BuildOptions{Now: productNow, Window: 8 * 24 * time.Hour}
	want, err := apimap.Build(ctx, f.duck, opts)
	if err != nil {
		t.Fatal(err)
	}
	q := &apimapQuerier{s: f.ch, byText: duckAPIMapSQL(t), used: map[string]bool{}}
	got, err := apimap.Build(ctx, q, opts)
	if err != nil {
		t.Fatalf("apimap.Build on ClickHouse %s: %v", f.ch.Version(), err)
	}
	services, err := apimap.Services(ctx, q)
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"observations.sql", "stats.sql", "breakdown.sql", "params.sql"} {
		if !q.used[name] {
			t.Errorf("apimap.Build did not run %s: its DuckDB text changed; update the ClickHouse version", name)
		}
	}
	if !q.used["services.sql"] || !reflect.DeepEqual(services, []string{"datavault-api"}) {
		t.Errorf("apimap.Services = %v (ran services.sql: %v)", services, q.used["services.sql"])
	}
	if len(want.Endpoints) < 20 {
		t.Fatalf("DuckDB's inventory has %d endpoints, want at least 20", len(want.Endpoints))
	}
	if len(got.Endpoints) != len(want.Endpoints) {
		t.Fatalf("ClickHouse inventory: %d endpoints, DuckDB %d", len(got.Endpoints), len(want.Endpoints))
	}
	params := 0
	for i := range want.Endpoints {
		g, w := got.Endpoints[i], want.Endpoints[i]
		if f.ch.legacy {
			g.Latency, w.Latency = apimap.Latency{}, apimap.Latency{}
		}
		params += len(w.QueryParams)
		gj, _ := json.Marshal(g)
		wj, _ := json.Marshal(w)
		if string(gj) != string(wj) {
			t.Errorf("endpoint %s %s differs:\nclickhouse %s\nduckdb     %s", w.Method, w.Template, gj, wj)
		}
	}
	if params == 0 {
		t.Error("no endpoint has query parameters: params.sql was not compared")
	}
	if got.Unrouted != want.Unrouted {
		t.Errorf("unrouted: ClickHouse %+v, DuckDB %+v", got.Unrouted, want.Unrouted)
	}
}
