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

// Marks hold across restarts: after a reopen, a mark taken before tells
// what the writes since changed, the merged old entries included, and a
// deletion or a commit the log did not record makes it tell that
// anything may have changed.
func TestMarksHoldAcrossReopen(t *testing.T) {
	defer duckdb.SetMaxChanges(16)()
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "traces.duckdb")
	s := open(t, path, duckdb.Options{})
	defer func() { s.Close() }()
	reopen := func() {
		t.Helper()
		if err := s.Close(); err != nil {
			t.Fatal(err)
		}
		s = open(t, path, duckdb.Options{})
	}
	// Each Write then Mark is one commit; commit m's earliest span is
	// Base plus offset(m) minutes.
	offset := func(m int) time.Duration { return time.Duration((m*37)%101) * time.Minute }
	var marks []uint64
	for m := range 50 {
		if err := s.Write(ctx, []span.Span{storetest.ServerSpan(m, storetest.Base.Add(offset(m)))}); err != nil {
			t.Fatal(err)
		}
		mk, err := s.Mark(ctx)
		if err != nil {
			t.Fatal(err)
		}
		marks = append(marks, mk)
	}
	type answer struct {
		e       time.Time
		changed bool
	}
	before := make([]answer, len(marks))
	for i, mk := range marks {
		before[i].e, before[i].changed = s.ChangedSince(mk)
		// Merged entries may report earlier than the exact time, never
		// later.
		exact := time.Time{}
		for m := i + 1; m < len(marks); m++ {
			if at := storetest.Base.Add(offset(m)); exact.IsZero() || at.Before(exact) {
				exact = at
			}
		}
		if before[i].changed != !exact.IsZero() || before[i].e.After(exact) {
			t.Fatalf("ChangedSince(mark %d) = %v, %v; exact %v", i, before[i].e, before[i].changed, exact)
		}
	}
	id := s.StoreID()
	if id == "" {
		t.Fatal("StoreID() is empty")
	}
	reopen()
	if got := s.StoreID(); got != id {
		t.Errorf("StoreID() after reopen = %q, want %q", got, id)
	}
	for i, mk := range marks {
		e, changed := s.ChangedSince(mk)
		if changed != before[i].changed || !e.Equal(before[i].e) {
			t.Errorf("after reopen, ChangedSince(mark %d) = %v, %v; before it %v, %v", i, e, changed, before[i].e, before[i].changed)
		}
	}
	last := marks[len(marks)-1]
	if err := s.Write(ctx, []span.Span{storetest.ServerSpan(99, storetest.Base.Add(-time.Hour))}); err != nil {
		t.Fatal(err)
	}
	reopen() // the Write is committed from the write-ahead log on open
	if e, changed := s.ChangedSince(last); !changed || !e.Equal(storetest.Base.Add(-time.Hour)) {
		t.Errorf("ChangedSince(last mark) after a write and a reopen = %v, %v; want %v", e, changed, storetest.Base.Add(-time.Hour))
	}
	last, _ = s.Mark(ctx)
	if _, err := s.DeleteBefore(ctx, storetest.Base); err != nil {
		t.Fatal(err)
	}
	reopen()
	if e, changed := s.ChangedSince(last); !changed || !e.IsZero() {
		t.Errorf("ChangedSince(a mark before a deletion) after reopen = %v, %v; want anything changed", e, changed)
	}
	last, _ = s.Mark(ctx)
	if _, changed := s.ChangedSince(last); changed {
		t.Fatal("ChangedSince(now) = changed")
	}
	// A commit the log lacks (an earlier version wrote it).
	if err := s.Write(ctx, []span.Span{storetest.ServerSpan(100, storetest.Base.Add(time.Hour))}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Mark(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := s.DB().ExecContext(ctx, "DELETE FROM span_changes"); err != nil {
		t.Fatal(err)
	}
	reopen()
	if e, changed := s.ChangedSince(last); !changed || !e.IsZero() {
		t.Errorf("ChangedSince(a mark before an unrecorded commit) = %v, %v; want anything changed", e, changed)
	}
	// A mark after that holds across a restart without writes.
	last, _ = s.Mark(ctx)
	reopen()
	if e, changed := s.ChangedSince(last); changed {
		t.Errorf("ChangedSince(a mark before a restart without writes) = %v, changed", e)
	}
	other := open(t, filepath.Join(t.TempDir(), "other.duckdb"), duckdb.Options{})
	defer other.Close()
	if other.StoreID() == s.StoreID() {
		t.Errorf("two stores share the id %q", s.StoreID())
	}
}
