package duckdb_test

import (
	"context"
	"path/filepath"
	"testing"
	"time"

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

func TestChangedSince(t *testing.T) {
	ctx := context.Background()
	s := open(t, filepath.Join(t.TempDir(), "traces.duckdb"), duckdb.Options{})
	defer s.Close()
	write := func(offsets ...time.Duration) {
		t.Helper()
		var spans []span.Span
		for i, d := range offsets {
			spans = append(spans, storetest.ServerSpan(i, storetest.Base.Add(d)))
		}
		if err := s.Write(ctx, spans); err != nil {
			t.Fatal(err)
		}
	}
	mark := func() uint64 {
		t.Helper()
		m, err := s.Mark(ctx)
		if err != nil {
			t.Fatal(err)
		}
		return m
	}
	write(0, time.Minute)
	m1 := mark()
	if _, changed := s.ChangedSince(m1); changed {
		t.Fatal("ChangedSince(now) = changed; want nothing changed")
	}
	write(2*time.Hour, 10*time.Minute)
	m2 := mark() // commits the Write acknowledged before it
	if e, changed := s.ChangedSince(m1); !changed || !e.Equal(storetest.Base.Add(10*time.Minute)) {
		t.Errorf("ChangedSince(m1) = %v, %v; want %v", e, changed, storetest.Base.Add(10*time.Minute))
	}
	write(3 * time.Hour)
	mark()
	if e, changed := s.ChangedSince(m2); !changed || !e.Equal(storetest.Base.Add(3*time.Hour)) {
		t.Errorf("ChangedSince(m2) = %v, %v; want %v", e, changed, storetest.Base.Add(3*time.Hour))
	}
	if _, err := s.DeleteBefore(ctx, storetest.Base.Add(5*time.Minute)); err != nil {
		t.Fatal(err)
	}
	if e, changed := s.ChangedSince(m2); !changed || !e.IsZero() {
		t.Errorf("ChangedSince(a mark before a deletion) = %v, %v; want anything changed", e, changed)
	}
	if _, changed := s.ChangedSince(mark()); changed {
		t.Error("ChangedSince(a mark after the deletion) = changed; want nothing changed")
	}
}
