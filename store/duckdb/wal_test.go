package duckdb

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"testing"
	"time"

	"github.com/tracehound/tracehound/span"
	"github.com/tracehound/tracehound/store"
	"github.com/tracehound/tracehound/store/storetest"
)

// crash abandons the store as a killed process would: nothing queued is
// committed to DuckDB and nothing is closed in order. (It lets the encoders
// finish first: in a real crash they die with the process, here they would
// touch the appender torn down under them.)
func (s *Store) crash() {
	s.mu.Lock()
	s.closed = true
	s.mu.Unlock()
	s.encoding.Wait()
	s.wal.close()
	s.app.close()
	s.db.Close()
}

func countSpans(t *testing.T, s *Store) int64 {
	t.Helper()
	var n int64
	if err := s.db.QueryRow("SELECT count(*) FROM spans").Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

func TestCrashRecoveryReplaysAcknowledgedSpans(t *testing.T) {
	path := filepath.Join(t.TempDir(), "traces.duckdb")
	opts := Options{ApplyInterval: time.Hour, ApplyBatchSpans: 1 << 30}
	s, err := Open(context.Background(), path, opts)
	if err != nil {
		t.Fatal(err)
	}
	for b := range 3 {
		spans := make([]span.Span, 700)
		for i := range spans {
			spans[i] = storetest.ServerSpan(b*1000+i, storetest.Base)
		}
		if err := s.Write(context.Background(), spans); err != nil {
			t.Fatal(err)
		}
	}
	if got := countSpans(t, s); got != 0 {
		t.Fatalf("%d spans in DuckDB before the apply interval; the test needs them only in the log", got)
	}
	s.crash()

	s, err = Open(context.Background(), path, Options{})
	if err != nil {
		t.Fatalf("reopen after crash: %v", err)
	}
	defer s.Close()
	if got := countSpans(t, s); got != 2100 {
		t.Errorf("after crash recovery: %d spans, want 2100", got)
	}
	// A second recovery must not apply the records again.
	s.Close()
	s, err = Open(context.Background(), path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if got := countSpans(t, s); got != 2100 {
		t.Errorf("after a clean reopen: %d spans, want 2100 (no duplicates)", got)
	}
}

func TestTornLogTailIsDiscarded(t *testing.T) {
	path := filepath.Join(t.TempDir(), "traces.duckdb")
	s, err := Open(context.Background(), path, Options{ApplyInterval: time.Hour, ApplyBatchSpans: 1 << 30})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Write(context.Background(), []span.Span{storetest.ServerSpan(1, storetest.Base)}); err != nil {
		t.Fatal(err)
	}
	s.crash()
	segs, _ := filepath.Glob(filepath.Join(path+".tracehound-wal", "*.wal"))
	if len(segs) != 1 {
		t.Fatalf("log segments = %v, want 1", segs)
	}
	f, err := os.OpenFile(segs[0], os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	f.Write([]byte{0x40, 0, 0, 0, 1, 2, 3, 4, 9, 9}) // a frame header cut short
	f.Close()

	s, err = Open(context.Background(), path, Options{})
	if err != nil {
		t.Fatalf("reopen with a torn tail: %v", err)
	}
	if got := countSpans(t, s); got != 1 {
		t.Errorf("after a torn tail: %d spans, want the 1 acknowledged", got)
	}
	// The log keeps working after the cut.
	if err := s.Write(context.Background(), []span.Span{storetest.ServerSpan(2, storetest.Base)}); err != nil {
		t.Fatal(err)
	}
	s.Close()
	s, err = Open(context.Background(), path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if got := countSpans(t, s); got != 2 {
		t.Errorf("after writing past the cut: %d spans, want 2", got)
	}
}

func TestQueriesSeeAcknowledgedWrites(t *testing.T) {
	s, err := Open(context.Background(), filepath.Join(t.TempDir(), "traces.duckdb"), Options{ApplyInterval: time.Hour, ApplyBatchSpans: 1 << 30})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	for i := range 5 {
		if err := s.Write(context.Background(), []span.Span{storetest.ServerSpan(i, storetest.Base)}); err != nil {
			t.Fatal(err)
		}
		res, err := s.Query(context.Background(), "SELECT count() FROM traces", store.QueryOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if got := res.Rows[0][0].(int64); got != int64(i+1) {
			t.Fatalf("after %d acknowledged writes a query saw %d spans", i+1, got)
		}
	}
}

func TestRecordRoundTrip(t *testing.T) {
	a := storetest.ServerSpan(1, storetest.Base)
	b := storetest.ServerSpan(2, storetest.Base.Add(time.Second))
	b.ResourceAttributes = a.ResourceAttributes // shared, as the normaliser shares them
	c := span.Span{Timestamp: storetest.Base, TraceID: "t", SpanID: "s"}
	in := []span.Span{a, b, c}
	out, err := decodeRecord(appendRecord(nil, in))
	if err != nil {
		t.Fatal(err)
	}
	for i := range in {
		if in[i].SpanAttributes == nil {
			in[i].SpanAttributes = []span.Attr{}
		}
		if in[i].ResourceAttributes == nil {
			in[i].ResourceAttributes = []span.Attr{}
		}
	}
	if !reflect.DeepEqual(out, in) {
		t.Errorf("decodeRecord(appendRecord(x)) =\n%+v\nwant\n%+v", out, in)
	}
}

func FuzzDecodeRecord(f *testing.F) {
	f.Add(appendRecord(nil, []span.Span{storetest.ServerSpan(1, storetest.Base), storetest.ServerSpan(2, storetest.Base)}))
	f.Add([]byte{1, 0})
	f.Add([]byte{0xff, 0xff, 0xff, 0xff, 0x0f})
	f.Fuzz(func(t *testing.T, b []byte) {
		spans, err := decodeRecord(b)
		if err != nil {
			return
		}
		// Whatever decodes re-encodes to a record that decodes the same.
		again, err := decodeRecord(appendRecord(nil, spans))
		if err != nil || len(again) != len(spans) {
			t.Fatalf("re-encoded record does not decode: %v", err)
		}
	})
}

// TestIngestResumesAfterAFailedCommit: after a commit fails (a full disk),
// Writes are refused and what was acknowledged waits in the log; the
// applier then commits it from the log and reopens ingest by itself,
// without skipping or repeating a record.
func TestIngestResumesAfterAFailedCommit(t *testing.T) {
	defer func(d time.Duration) { resumeInterval = d }(resumeInterval)
	resumeInterval = 50 * time.Millisecond
	path := filepath.Join(t.TempDir(), "traces.duckdb")
	s, err := Open(context.Background(), path, Options{ApplyInterval: time.Hour, ApplyBatchSpans: 1 << 30})
	if err != nil {
		t.Fatal(err)
	}
	write := func(b int) error {
		spans := make([]span.Span, 300)
		for i := range spans {
			spans[i] = storetest.ServerSpan(b*1000+i, storetest.Base)
		}
		return s.Write(context.Background(), spans)
	}
	if err := write(0); err != nil {
		t.Fatal(err)
	}
	if err := s.Sync(context.Background()); err != nil {
		t.Fatal(err)
	}
	if err := write(1); err != nil { // acknowledged, waiting for the applier
		t.Fatal(err)
	}
	s.failApply(errors.New("simulated: no space left on device"))
	if err := write(2); !errors.Is(err, store.ErrOverloaded) {
		t.Fatalf("Write after a failed commit: %v, want ErrOverloaded", err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for s.applyErr.Load() != nil && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if err := write(3); err != nil {
		t.Fatalf("Write after the applier resumed: %v", err)
	}
	if err := s.Sync(context.Background()); err != nil {
		t.Fatal(err)
	}
	if got := countSpans(t, s); got != 900 {
		t.Fatalf("%d spans after resuming, want 900 (batches 0, 1 and 3)", got)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	s, err = Open(context.Background(), path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	var n, distinct int64
	if err := s.db.QueryRow("SELECT count(*), count(DISTINCT span_id || trace_id) FROM spans").Scan(&n, &distinct); err != nil {
		t.Fatal(err)
	}
	if n != 900 || distinct != 900 {
		t.Fatalf("after a restart %d spans (%d distinct), want 900 once each", n, distinct)
	}
}

// A commit larger than flushChunks moves rows into the transaction in
// several flushes; if it then fails, none of them may be kept.
func TestLargeCommitIsAllOrNothing(t *testing.T) {
	defer func(d time.Duration) { resumeInterval = d }(resumeInterval)
	resumeInterval = time.Hour
	path := filepath.Join(t.TempDir(), "traces.duckdb")
	s, err := Open(context.Background(), path, Options{ApplyInterval: time.Hour, ApplyBatchSpans: 1 << 30})
	if err != nil {
		t.Fatal(err)
	}
	const n = (2*flushChunks + 3) * 2048 // three flushes
	write := func(first int) {
		spans := make([]span.Span, n)
		for i := range spans {
			spans[i] = storetest.ServerSpan(first+i, storetest.Base)
		}
		if err := s.Write(context.Background(), spans); err != nil {
			t.Fatal(err)
		}
	}
	write(0)
	if err := s.Sync(context.Background()); err != nil {
		t.Fatal(err)
	}
	var rows, distinct int64
	if err := s.db.QueryRow("SELECT count(*), count(DISTINCT span_id) FROM spans").Scan(&rows, &distinct); err != nil {
		t.Fatal(err)
	}
	if rows != n || distinct != n {
		t.Fatalf("after a commit of %d spans: %d rows, %d distinct", n, rows, distinct)
	}

	// The commit's last statement records the log position; without its
	// table, it fails after every chunk was flushed.
	if _, err := s.db.Exec("ALTER TABLE wal_state RENAME TO wal_state_gone"); err != nil {
		t.Fatal(err)
	}
	write(n)
	if err := s.Sync(context.Background()); err == nil {
		t.Fatal("Sync succeeded although the commit could not record its log position")
	}
	if s.applyErr.Load() == nil {
		t.Fatal("the failed commit was not recorded")
	}
	if got := countSpans(t, s); got != n {
		t.Fatalf("%d spans after a failed commit, want the first %d only", got, n)
	}
	s.crash()
}
