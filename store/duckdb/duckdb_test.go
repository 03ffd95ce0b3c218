package duckdb_test

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/tracehound/tracehound/span"
	"github.com/tracehound/tracehound/store"
	"github.com/tracehound/tracehound/store/duckdb"
	"github.com/tracehound/tracehound/store/storetest"
)

func open(t testing.TB, path string, opts duckdb.Options) *duckdb.Store {
	t.Helper()
	s, err := duckdb.Open(context.Background(), path, opts)
	if err != nil {
		t.Fatalf("Open(%q) = %v", path, err)
	}
	return s
}

func TestConformance(t *testing.T) {
	storetest.Run(t, func(t *testing.T) store.Store {
		return open(t, filepath.Join(t.TempDir(), "traces.duckdb"), duckdb.Options{})
	})
}

func TestReopenKeepsSpans(t *testing.T) {
	path := filepath.Join(t.TempDir(), "traces.duckdb")
	s := open(t, path, duckdb.Options{})
	var spans []span.Span
	for i := range 5000 {
		spans = append(spans, storetest.ServerSpan(i, storetest.Base))
	}
	if err := s.Write(context.Background(), spans); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	s = open(t, path, duckdb.Options{})
	defer s.Close()
	st, err := s.Stats(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if st.Spans != 5000 {
		t.Errorf("after reopen: %d spans, want 5000", st.Spans)
	}
}
