package duckdb

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/tracehound/tracehound/span"
	"github.com/tracehound/tracehound/store/storetest"
)

// Under overload, Stats answers with the latest figures at once and
// refreshes them in the background; otherwise it reads them.
func TestStatsUnderOverload(t *testing.T) {
	ctx := context.Background()
	s, err := Open(ctx, filepath.Join(t.TempDir(), "traces.duckdb"), Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	write := func(n int) {
		t.Helper()
		spans := make([]span.Span, n)
		for i := range spans {
			spans[i] = storetest.ServerSpan(i, storetest.Base)
		}
		if err := s.Write(ctx, spans); err != nil {
			t.Fatal(err)
		}
		if err := s.Sync(ctx); err != nil {
			t.Fatal(err)
		}
	}
	spans := func() int64 {
		t.Helper()
		st, err := s.Stats(ctx)
		if err != nil {
			t.Fatal(err)
		}
		return st.Spans
	}
	write(100)
	if n := spans(); n != 100 {
		t.Fatalf("Stats() = %d spans, want 100", n)
	}
	write(50)
	s.queued.Add(staleBacklog + 1) // a backlog, as under overload
	if n := spans(); n != 100 {
		t.Errorf("Stats() under overload = %d spans, want the latest figure, 100", n)
	}
	time.Sleep(1100 * time.Millisecond)
	deadline := time.Now().Add(10 * time.Second)
	for spans() != 150 {
		if time.Now().After(deadline) {
			t.Fatal("Stats() under overload never refreshed to 150 spans")
		}
		time.Sleep(20 * time.Millisecond)
	}
	s.queued.Add(-(staleBacklog + 1))
	write(25)
	if n := spans(); n != 175 {
		t.Errorf("Stats() after the overload = %d spans, want 175", n)
	}
}
