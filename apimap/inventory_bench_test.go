package apimap

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/tracehound/tracehound/span"
	"github.com/tracehound/tracehound/store"
)

var benchInventorySpans = flag.Int("inventory-spans", 10_000_000, "server spans BenchmarkBuildInventory synthesises")

// benchRoute is one endpoint of the synthetic API: how its paths and
// queries look, and its share of the traffic.
type benchRoute struct {
	method, route string
	path          func(r *rand.Rand) string
	query         func(r *rand.Rand) string
	weight        int
}

func benchRoutes() []benchRoute {
	id := func(n int) func(r *rand.Rand) int { return func(r *rand.Rand) int { return 1 + r.IntN(n) } }
	doc, coll, user := id(2_000_000), id(12_000), id(50_000)
	fixed := func(p string) func(*rand.Rand) string { return func(*rand.Rand) string { return p } }
	none := func(*rand.Rand) string { return "" }
	page := func(r *rand.Rand) string { return fmt.Sprintf("page=%d&limit=50", 1+r.IntN(20)) }
	return []benchRoute{
		{"GET", "/v1/documents/{id}", func(r *rand.Rand) string { return fmt.Sprintf("/v1/documents/%d", doc(r)) }, none, 30},
		{"GET", "/v1/documents", fixed("/v1/documents"), page, 12},
		{"POST", "/v1/documents", fixed("/v1/documents"), none, 4},
		{"PUT", "/v1/documents/{id}", func(r *rand.Rand) string { return fmt.Sprintf("/v1/documents/%d", doc(r)) }, none, 3},
		{"DELETE", "/v1/documents/{id}", func(r *rand.Rand) string { return fmt.Sprintf("/v1/documents/%d", doc(r)) }, none, 1},
		{"GET", "/v1/documents/{id}/content", func(r *rand.Rand) string { return fmt.Sprintf("/v1/documents/%d/content", doc(r)) }, none, 8},
		{"GET", "/v1/documents/{id}/shares/{share_id}", func(r *rand.Rand) string {
			return fmt.Sprintf("/v1/documents/%d/shares/%08x-%04x-4%03x-8%03x-%012x", doc(r), r.Uint32(), r.IntN(1<<16), r.IntN(1<<12), r.IntN(1<<12), r.Uint64()&(1<<48-1))
		}, none, 2},
		{"GET", "/v1/collections/{id}/documents", func(r *rand.Rand) string { return fmt.Sprintf("/v1/collections/%d/documents", coll(r)) }, page, 10},
		{"GET", "/v1/collections/{id}", func(r *rand.Rand) string { return fmt.Sprintf("/v1/collections/%d", coll(r)) }, none, 5},
		{"GET", "/v1/search", fixed("/v1/search"), func(r *rand.Rand) string { return fmt.Sprintf("q=term%d", r.IntN(5000)) }, 6},
		{"GET", "/v1/users/{id}", func(r *rand.Rand) string { return fmt.Sprintf("/v1/users/%d", user(r)) }, none, 4},
		{"GET", "/v1/users/me", fixed("/v1/users/me"), none, 5},
		{"POST", "/v1/auth/login", fixed("/v1/auth/login"), none, 3},
		{"GET", "/v1/health", fixed("/v1/health"), none, 5},
		// No route: the classifier and the trie do the work.
		{"GET", "", func(r *rand.Rand) string { return fmt.Sprintf("/v1/teams/team-%s/members", benchSlug(r)) }, none, 1},
		{"GET", "", fixed("/v1/admin/export"), func(r *rand.Rand) string {
			return fmt.Sprintf("collection_id=%d&page=%d", coll(r), 1+r.IntN(30))
		}, 1},
	}
}

// benchSlug returns one of a few thousand team names.
func benchSlug(r *rand.Rand) string {
	const letters = "abcdefghijklmnopqrstuvwxyz"
	n := r.IntN(3000)
	return string([]byte{letters[n%26], letters[n/26%26], letters[n/676%26], 'x', letters[n%7]})
}

// writeBenchSpans synthesises n server spans over six days into s.
func writeBenchSpans(b *testing.B, s interface {
	Write(context.Context, []span.Span) error
}, n int, start time.Time) {
	b.Helper()
	routes := benchRoutes()
	var weights []int
	for i, rt := range routes {
		for range rt.weight {
			weights = append(weights, i)
		}
	}
	r := rand.New(rand.NewPCG(1, 2))
	const batch = 50_000
	spans := make([]span.Span, 0, batch)
	step := 6 * 24 * time.Hour / time.Duration(n)
	for i := range n {
		rt := routes[weights[r.IntN(len(weights))]]
		path, query := rt.path(r), rt.query(r)
		target := path
		if query != "" {
			target += "?" + query
		}
		status := uint16(200)
		switch x := r.IntN(100); {
		case x < 3:
			status = 404
		case x < 4:
			status = 401
		case x < 5:
			status = 500
		}
		key := fmt.Sprintf("key_%04d", r.IntN(2000))
		if status == 401 {
			key = ""
		}
		spans = append(spans, span.Span{
			Timestamp: start.Add(time.Duration(i) * step), TraceID: fmt.Sprintf("%032x", i+1), SpanID: fmt.Sprintf("%016x", i+1),
			ServiceName: "datavault-api", SpanName: rt.method + " " + rt.route, SpanKind: span.KindServer,
			DurationNS: uint64(1_000_000 + r.IntN(50_000_000)), OtelStatus: "Unset",
			HTTPMethod: rt.method, HTTPTarget: target, HTTPPath: path, HTTPQuery: query, HTTPRoute: rt.route, StatusCode: status,
			PeerIP: fmt.Sprintf("198.51.%d.%d", r.IntN(20), r.IntN(250)), ServerAddress: "api.example.test",
			ResponseBytes: int64(500 + r.IntN(5000)), APIKeyID: key,
		})
		if len(spans) == batch || i == n-1 {
			for {
				err := s.Write(context.Background(), spans)
				if errors.Is(err, store.ErrOverloaded) {
					time.Sleep(20 * time.Millisecond) // the applier catches up
					continue
				}
				if err != nil {
					b.Fatalf("write spans: %v", err)
				}
				break
			}
			spans = spans[:0]
		}
	}
}

// BenchmarkBuildInventory builds the inventory of -inventory-spans server
// spans (10 million by default) of a 16-endpoint API with two million
// document ids, stored in DuckDB.
func BenchmarkBuildInventory(b *testing.B) {
	s := openStore(b)
	start := time.Date(2026, 3, 2, 0, 0, 0, 0, time.UTC)
	writeStart := time.Now()
	writeBenchSpans(b, s, *benchInventorySpans, start)
	// A first query waits until every span is in DuckDB, not only in its
	// write-ahead log.
	if _, err := s.Stats(context.Background()); err != nil {
		b.Fatal(err)
	}
	b.Logf("wrote %d spans in %v", *benchInventorySpans, time.Since(writeStart).Round(time.Millisecond))
	spec := loadSpecFile(b, "testdata/spec/datavault.yaml")
	opts := BuildOptions{Now: start.Add(6 * 24 * time.Hour), Specs: map[string]*Spec{"datavault-api": spec}}
	b.ReportAllocs()
	b.ResetTimer()
	var inv *Inventory
	for b.Loop() {
		var err error
		if inv, err = Build(context.Background(), s, opts); err != nil {
			b.Fatal(err)
		}
	}
	b.StopTimer()
	if len(inv.Endpoints) < 16 || len(inv.Endpoints) > 40 {
		b.Errorf("built %d endpoints, want the synthetic API's 16 plus a few zombies", len(inv.Endpoints))
	}
	b.ReportMetric(float64(*benchInventorySpans)/b.Elapsed().Seconds()*float64(b.N), "spans/s")
}
