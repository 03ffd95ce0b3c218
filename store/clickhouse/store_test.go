package clickhouse

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/tracehound/tracehound/span"
	"github.com/tracehound/tracehound/store"
	"github.com/tracehound/tracehound/store/storetest"
)

// These tests run the store's own code paths on ClickHouse 18.16 (legacy
// rendering); TestModern* run the suite on a modern server when there is one.

func TestLegacyQueryRefusesWrites(t *testing.T) {
	s, _, db := openLegacy(t, Options{})
	defer s.Close()
	ctx := context.Background()
	for _, q := range []string{
		"CREATE TABLE x (a UInt8) ENGINE = Memory",
		"DROP TABLE traces",
		"INSERT INTO traces (trace_id) SELECT 'x'",
		"ALTER TABLE traces DELETE WHERE 1",
		"SELECT 1; DROP TABLE traces",
	} {
		if _, err := s.Query(ctx, q, store.QueryOptions{Timeout: 10 * time.Second}); !errors.Is(err, store.ErrQuery) {
			t.Errorf("Query(%q) = %v, want ErrQuery", q, err)
		}
	}
	res, err := s.Query(ctx, "SELECT count() FROM system.tables WHERE database = ? AND name = 'traces'", store.QueryOptions{}, db)
	if err != nil {
		t.Fatal(err)
	}
	if res.Rows[0][0] != uint64(1) {
		t.Errorf("the traces table is gone after the refused queries: %v", res.Rows)
	}
}

func TestLegacyQueryTimeout(t *testing.T) {
	s, _, _ := openLegacy(t, Options{})
	defer s.Close()
	start := time.Now()
	_, err := s.Query(context.Background(), "SELECT sleep(3)", store.QueryOptions{Timeout: time.Second})
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("Query past its timeout = %v, want context.DeadlineExceeded", err)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("the timed-out query took %v", d)
	}
	// The store still answers afterwards.
	if res, err := s.Query(context.Background(), "SELECT 1 + ?", store.QueryOptions{}, 1); err != nil || res.Rows[0][0] != uint64(2) {
		t.Errorf("Query after a timeout = %v, %v", res, err)
	}
}

func TestLegacyResultTypes(t *testing.T) {
	s, _, _ := openLegacy(t, Options{})
	defer s.Close()
	res, err := s.Query(context.Background(), `SELECT toInt8(-1) AS i8, toUInt16(7) AS u16, toFloat32(0.5) AS f32, 'x' AS s,
		toDateTime('2026-03-02 02:17:00', 'UTC') AS ts, [1, 2] AS arr, CAST(NULL AS Nullable(String)) AS n,
		toFixedString('ab', 2) AS fs, toDecimal64(1.5, 2) AS dec, tuple(1, 'a') AS tup, toUUID('0b9c7f5e-6f4e-4b8a-9d1c-3a2b1c0d9e8f') AS id`,
		store.QueryOptions{})
	if err != nil {
		t.Fatal(err)
	}
	want := []any{int64(-1), uint64(7), 0.5, "x", time.Date(2026, 3, 2, 2, 17, 0, 0, time.UTC), []any{uint64(1), uint64(2)}, nil,
		"ab", 1.5, []any{uint64(1), "a"}, "0b9c7f5e-6f4e-4b8a-9d1c-3a2b1c0d9e8f"}
	for i, w := range want {
		if got := res.Rows[0][i]; fmt.Sprintf("%#v", got) != fmt.Sprintf("%#v", w) {
			t.Errorf("%s (%s) = %#v, want %#v", res.Columns[i], res.Types[i], got, w)
		}
	}
	if res.Types[1] != "UInt16" || res.Columns[4] != "ts" {
		t.Errorf("columns %v types %v", res.Columns, res.Types)
	}
}

func TestLegacyOverloaded(t *testing.T) {
	s, _, _ := openLegacy(t, Options{MaxQueuedSpans: 10, FlushInterval: 2 * time.Second})
	defer s.Close()
	batch := func(n, from int) []span.Span {
		var out []span.Span
		for i := range n {
			out = append(out, storetest.ServerSpan(from+i, storetest.Base))
		}
		return out
	}
	done := make(chan error, 1)
	go func() { done <- s.Write(context.Background(), batch(10, 0)) }()
	for s.queued.Load() != 10 {
		time.Sleep(time.Millisecond)
	}
	if err := s.Write(context.Background(), batch(1, 100)); !errors.Is(err, store.ErrOverloaded) {
		t.Errorf("Write beyond MaxQueuedSpans = %v, want ErrOverloaded", err)
	}
	if err := <-done; err != nil {
		t.Fatalf("first Write = %v", err)
	}
	// Once inserted, the queue has room again; a single Write larger than
	// the queue is still taken when the queue is empty.
	if err := s.Write(context.Background(), batch(25, 200)); err != nil {
		t.Errorf("Write of 25 into an empty queue of 10 = %v", err)
	}
	res, err := s.Query(context.Background(), "SELECT count() FROM traces", store.QueryOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if res.Rows[0][0] != uint64(35) {
		t.Errorf("count = %v, want 35 (the refused span must not be stored)", res.Rows[0][0])
	}
}

func TestLegacyInsertFailure(t *testing.T) {
	s, srv, db := openLegacy(t, Options{FlushInterval: time.Millisecond})
	defer s.Close()
	if _, err := srv.Query(context.Background(), "DROP TABLE "+db+".traces"); err != nil {
		t.Fatal(err)
	}
	err := s.Write(context.Background(), []span.Span{storetest.ServerSpan(1, storetest.Base)})
	if !errors.Is(err, store.ErrOverloaded) {
		t.Errorf("Write into a dropped table = %v, want ErrOverloaded (retryable)", err)
	}
	if s.queued.Load() != 0 {
		t.Errorf("%d spans still counted as queued after the failed insert", s.queued.Load())
	}
}

func TestLegacyWriteContext(t *testing.T) {
	s, _, _ := openLegacy(t, Options{FlushInterval: time.Second})
	defer s.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	err := s.Write(ctx, []span.Span{storetest.ServerSpan(1, storetest.Base)})
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("Write whose context ends before the insert = %v, want DeadlineExceeded", err)
	}
	// At-least-once: the span is inserted anyway, and Close waits for it.
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
}

func TestLegacyTraceKeepsAttributeOrder(t *testing.T) {
	s, _, _ := openLegacy(t, Options{FlushInterval: time.Millisecond})
	defer s.Close()
	sp := storetest.ServerSpan(3, storetest.Base)
	sp.SpanAttributes = []span.Attr{{Key: "z", Value: "1"}, {Key: "a", Value: "2"}, {Key: "m", Value: "3"}, {Key: "a", Value: "4"}}
	sp.ResourceAttributes = nil
	if err := s.Write(context.Background(), []span.Span{sp}); err != nil {
		t.Fatal(err)
	}
	got, err := s.Trace(context.Background(), strings.ToUpper(sp.TraceID))
	if err != nil {
		t.Fatal(err)
	}
	if fmt.Sprint(got[0].SpanAttributes) != fmt.Sprint(sp.SpanAttributes) || got[0].ResourceAttributes != nil {
		t.Errorf("Trace attributes = %v / %v, want %v / none", got[0].SpanAttributes, got[0].ResourceAttributes, sp.SpanAttributes)
	}
}

func TestLegacyDeleteBeforeMidDay(t *testing.T) {
	s, _, _ := openLegacy(t, Options{FlushInterval: time.Millisecond})
	defer s.Close()
	day := time.Date(2026, 3, 2, 0, 0, 0, 0, time.UTC)
	var spans []span.Span
	for i, h := range []int{-30, 1, 10, 12, 23} { // the day before, then hours of the day
		spans = append(spans, storetest.ServerSpan(i, day.Add(time.Duration(h)*time.Hour)))
	}
	if err := s.Write(context.Background(), spans); err != nil {
		t.Fatal(err)
	}
	n, err := s.DeleteBefore(context.Background(), day.Add(11*time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	if n != 3 {
		t.Errorf("DeleteBefore removed %d, want 3 (one by partition drop, two by mutation)", n)
	}
	st, err := s.Stats(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if st.Spans != 2 || !st.Oldest.Equal(day.Add(12*time.Hour)) {
		t.Errorf("after DeleteBefore: %+v, want 2 spans from 12:00", st)
	}
}

func TestLegacyOpen(t *testing.T) {
	srv, db := legacyServer(t)
	ctx := context.Background()
	if _, err := Open(ctx, Options{DSN: srv.DSN(""), Database: db}); err == nil || !strings.Contains(err.Error(), "older than 23.8") {
		t.Errorf("Open on ClickHouse %s without the legacy rendering = %v, want a version error", srv.Version, err)
	}
	if _, err := Open(ctx, Options{DSN: srv.DSN(""), Database: db, SkipDDL: true, legacy: true}); err == nil || !strings.Contains(err.Error(), "does not exist") {
		t.Errorf("Open with SkipDDL and no table = %v, want a missing-table error", err)
	}
	s, err := Open(ctx, Options{DSN: srv.DSN(db), legacy: true})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if s.sc.database != db || s.Mode() != ModeNative || s.Version() != srv.Version {
		t.Errorf("store from a DSN with database %s: database %s, mode %s, version %s", db, s.sc.database, s.Mode(), s.Version())
	}
	st, err := s.Stats(ctx)
	if err != nil || st.Spans != 0 || !st.Oldest.IsZero() {
		t.Errorf("Stats of an empty store = %+v, %v; want zero", st, err)
	}
	// Opening again finds the schema in place.
	s2, err := Open(ctx, Options{DSN: srv.DSN(db), legacy: true})
	if err != nil {
		t.Fatalf("second Open: %v", err)
	}
	s2.Close()
	if _, err := s.Query(ctx, "SELECT 1", store.QueryOptions{}); err != nil {
		t.Fatal(err)
	}
	s.Close()
	if _, err := s.Query(ctx, "SELECT 1", store.QueryOptions{}); !errors.Is(err, store.ErrClosed) {
		t.Errorf("Query after Close = %v, want ErrClosed", err)
	}
}

func TestOpenErrors(t *testing.T) {
	ctx := context.Background()
	if _, err := Open(ctx, Options{}); err == nil {
		t.Error("Open without a DSN succeeded")
	}
	_, err := Open(ctx, Options{DSN: "clickhouse://u:s3cret@[::1:9000/db"})
	if err == nil || strings.Contains(err.Error(), "s3cret") {
		t.Errorf("Open with a bad DSN = %v, want an error without the password", err)
	}
	if _, err := Open(ctx, Options{DSN: "clickhouse://127.0.0.1:1/db", Mode: "cassandra"}); err == nil || !strings.Contains(err.Error(), "unknown mode") {
		t.Errorf("Open with an unknown mode = %v", err)
	}
}
