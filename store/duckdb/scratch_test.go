package duckdb_test

import (
	"context"
	"errors"
	"path/filepath"
	"sync"
	"testing"

	"github.com/tracehound/tracehound/span"
	"github.com/tracehound/tracehound/store"
	"github.com/tracehound/tracehound/store/duckdb"
	"github.com/tracehound/tracehound/store/storetest"
)

// A copy is a table every query of the store can read, on any of its
// connections, until it is dropped.
func TestScratch(t *testing.T) {
	ctx := context.Background()
	s := open(t, filepath.Join(t.TempDir(), "traces.duckdb"), duckdb.Options{})
	defer s.Close()
	spans := make([]span.Span, 300)
	for i := range spans {
		spans[i] = storetest.ServerSpan(i, storetest.Base)
	}
	if err := s.Write(ctx, spans); err != nil {
		t.Fatal(err)
	}
	table, n, drop, err := s.Scratch(ctx, "SELECT peer_ip, timestamp FROM traces WHERE status_code < ?", 1000, 1000)
	if err != nil || n != 300 {
		t.Fatalf("Scratch() = %d rows, %v; want 300", n, err)
	}
	// Concurrent queries run on several of the pool's connections.
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			res, err := s.Query(ctx, "SELECT count(*) FROM "+table, store.QueryOptions{})
			if err != nil {
				errs <- err
				return
			}
			if got, _ := store.AsInt64(res.Rows[0][0]); got != 300 {
				errs <- errors.New("the copy holds a wrong count")
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	drop()
	if _, err := s.Query(ctx, "SELECT count(*) FROM "+table, store.QueryOptions{}); err == nil {
		t.Error("the copy is still there after drop")
	}
	// At most maxRows+1 rows are copied.
	_, n, drop, err = s.Scratch(ctx, "SELECT * FROM traces", 10)
	if err != nil || n != 11 {
		t.Errorf("Scratch(maxRows 10) = %d rows, %v; want 11", n, err)
	}
	if drop != nil {
		drop()
	}
	if _, _, _, err := s.Scratch(ctx, "DROP TABLE spans", 10); !errors.Is(err, store.ErrQuery) {
		t.Errorf("Scratch(DROP TABLE) = %v, want a refused query", err)
	}
}
