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
	written := func(d time.Duration) store.Changes {
		return store.Changes{Written: true, WrittenFrom: storetest.Base.Add(d)}
	}
	write(0, time.Minute)
	m1 := mark()
	if ch := s.ChangedSince(m1); ch.Any() {
		t.Fatalf("ChangedSince(now) = %+v; want nothing changed", ch)
	}
	write(2*time.Hour, 10*time.Minute)
	m2 := mark() // commits the Write acknowledged before it
	if ch := s.ChangedSince(m1); ch != written(10*time.Minute) {
		t.Errorf("ChangedSince(m1) = %+v; want %+v", ch, written(10*time.Minute))
	}
	write(3 * time.Hour)
	mark()
	if ch := s.ChangedSince(m2); ch != written(3*time.Hour) {
		t.Errorf("ChangedSince(m2) = %+v; want %+v", ch, written(3*time.Hour))
	}
	// A deletion tells what it deleted before.
	if _, err := s.DeleteBefore(ctx, storetest.Base.Add(5*time.Minute)); err != nil {
		t.Fatal(err)
	}
	want := written(3 * time.Hour)
	want.DeletedBefore = storetest.Base.Add(5 * time.Minute)
	if ch := s.ChangedSince(m2); ch != want {
		t.Errorf("ChangedSince(a mark before a deletion) = %+v; want %+v", ch, want)
	}
	if ch := s.ChangedSince(mark()); ch.Any() {
		t.Errorf("ChangedSince(a mark after the deletion) = %+v; want nothing changed", ch)
	}
	// A deletion of nothing changes nothing.
	m3 := mark()
	if _, err := s.DeleteBefore(ctx, storetest.Base); err != nil {
		t.Fatal(err)
	}
	if ch := s.ChangedSince(m3); ch.Any() {
		t.Errorf("ChangedSince(a mark before a deletion of nothing) = %+v; want nothing changed", ch)
	}
}

// Marks hold across restarts: after a reopen, a mark taken before tells
// what the writes and deletions since changed, the merged old entries
// included, and a commit the log did not record makes it tell that
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
	before := make([]store.Changes, len(marks))
	for i, mk := range marks {
		before[i] = s.ChangedSince(mk)
		// Merged entries may report earlier than the exact time, never
		// later.
		exact := time.Time{}
		for m := i + 1; m < len(marks); m++ {
			if at := storetest.Base.Add(offset(m)); exact.IsZero() || at.Before(exact) {
				exact = at
			}
		}
		if before[i].Written != !exact.IsZero() || before[i].WrittenFrom.After(exact) || before[i].Unknown || !before[i].DeletedBefore.IsZero() {
			t.Fatalf("ChangedSince(mark %d) = %+v; exact %v", i, before[i], exact)
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
		if ch := s.ChangedSince(mk); ch != before[i] {
			t.Errorf("after reopen, ChangedSince(mark %d) = %+v; before it %+v", i, ch, before[i])
		}
	}
	last := marks[len(marks)-1]
	if err := s.Write(ctx, []span.Span{storetest.ServerSpan(99, storetest.Base.Add(-time.Hour))}); err != nil {
		t.Fatal(err)
	}
	reopen() // the Write is committed from the write-ahead log on open
	want := store.Changes{Written: true, WrittenFrom: storetest.Base.Add(-time.Hour)}
	if ch := s.ChangedSince(last); ch != want {
		t.Errorf("ChangedSince(last mark) after a write and a reopen = %+v; want %+v", ch, want)
	}
	last, _ = s.Mark(ctx)
	if _, err := s.DeleteBefore(ctx, storetest.Base); err != nil {
		t.Fatal(err)
	}
	reopen()
	if ch := s.ChangedSince(last); ch != (store.Changes{DeletedBefore: storetest.Base}) {
		t.Errorf("ChangedSince(a mark before a deletion) after reopen = %+v; want deleted before %v", ch, storetest.Base)
	}
	last, _ = s.Mark(ctx)
	if ch := s.ChangedSince(last); ch.Any() {
		t.Fatalf("ChangedSince(now) = %+v", ch)
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
	if ch := s.ChangedSince(last); !ch.Unknown {
		t.Errorf("ChangedSince(a mark before an unrecorded commit) = %+v; want anything changed", ch)
	}
	// A mark after that holds across a restart without writes.
	last, _ = s.Mark(ctx)
	reopen()
	if ch := s.ChangedSince(last); ch.Any() {
		t.Errorf("ChangedSince(a mark before a restart without writes) = %+v", ch)
	}
	other := open(t, filepath.Join(t.TempDir(), "other.duckdb"), duckdb.Options{})
	defer other.Close()
	if other.StoreID() == s.StoreID() {
		t.Errorf("two stores share the id %q", s.StoreID())
	}
}
