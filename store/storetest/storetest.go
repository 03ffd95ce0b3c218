// Package storetest is the conformance suite every store.Store
// implementation passes: the same writes, queries and edge cases, so that
// rules and forensics behave the same on every engine.
package storetest

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"sort"
	"sync"
	"testing"
	"time"

	"github.com/tracehound/tracehound/span"
	"github.com/tracehound/tracehound/store"
)

// Factory returns a new, empty store. The suite closes it.
type Factory func(t *testing.T) store.Store

// Run runs the suite against stores made by newStore.
func Run(t *testing.T, newStore Factory) {
	tests := []struct {
		name string
		fn   func(*testing.T, store.Store)
	}{
		{"RoundTrip", testRoundTrip},
		{"TraceNotFound", testTraceNotFound},
		{"TraceOrdering", testTraceOrdering},
		{"ClickHouseFunctions", testClickHouseFunctions},
		{"ReferenceQueries", testReferenceQueries},
		{"TimeWindow", testTimeWindow},
		{"InvalidQuery", testInvalidQuery},
		{"MaxRows", testMaxRows},
		{"DeleteBefore", testDeleteBefore},
		{"Stats", testStats},
		{"ConcurrentWrites", testConcurrentWrites},
		{"EmptyStrings", testEmptyStrings},
		{"WriteAfterClose", testWriteAfterClose},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := newStore(t)
			if tc.name != "WriteAfterClose" {
				t.Cleanup(func() { s.Close() })
			}
			tc.fn(t, s)
		})
	}
}

// Base is the fixed time the suite's spans are placed around.
var Base = time.Date(2026, 3, 2, 2, 17, 0, 0, time.UTC)

// ServerSpan returns a complete server span for tests.
func ServerSpan(i int, at time.Time) span.Span {
	return span.Span{
		Timestamp:     at,
		TraceID:       fmt.Sprintf("%032x", i+1),
		SpanID:        fmt.Sprintf("%016x", i+1),
		ServiceName:   "datavault-api",
		SpanName:      "GET /v1/admin/export",
		SpanKind:      span.KindServer,
		DurationNS:    uint64(1_000_000 + i),
		OtelStatus:    "Unset",
		HTTPMethod:    "GET",
		HTTPTarget:    fmt.Sprintf("/v1/admin/export?collection_id=%d&page=%d", i%50+1, i%3+1),
		HTTPPath:      "/v1/admin/export",
		HTTPQuery:     fmt.Sprintf("collection_id=%d&page=%d", i%50+1, i%3+1),
		StatusCode:    200,
		PeerIP:        fmt.Sprintf("203.0.113.%d", i%3+1),
		NetPeerIP:     "10.0.0.1",
		ServerAddress: "api.example.test",
		UserAgent:     "python-requests/2.31.0",
		RequestBytes:  0,
		ResponseBytes: 187_000,
		UserID:        "acct_trial_1",
		APIKeyID:      "key_0123456789abcdef",
		SpanAttributes: []span.Attr{
			{Key: "http.request.method", Value: "GET"},
			{Key: "url.path", Value: "/v1/admin/export"},
			{Key: "app.note", Value: fmt.Sprintf("n%d", i)},
		},
		ResourceAttributes: []span.Attr{{Key: "service.name", Value: "datavault-api"}},
	}
}

func write(t *testing.T, s store.Store, spans []span.Span) {
	t.Helper()
	if err := s.Write(context.Background(), spans); err != nil {
		t.Fatalf("Write(%d spans) = %v", len(spans), err)
	}
}

func query(t *testing.T, s store.Store, q string, args ...any) *store.Result {
	t.Helper()
	res, err := s.Query(context.Background(), q, store.QueryOptions{}, args...)
	if err != nil {
		t.Fatalf("Query(%q) = %v", q, err)
	}
	return res
}

// scalar returns the single value of a one-row, one-column result as int64.
func scalar(t *testing.T, s store.Store, q string, args ...any) int64 {
	t.Helper()
	res := query(t, s, q, args...)
	if len(res.Rows) != 1 || len(res.Rows[0]) != 1 {
		t.Fatalf("Query(%q) returned %d rows, want 1 row of 1 column", q, len(res.Rows))
	}
	return toInt(t, res.Rows[0][0])
}

func toInt(t *testing.T, v any) int64 {
	t.Helper()
	switch x := v.(type) {
	case int64:
		return x
	case uint64:
		return int64(x)
	case int32:
		return int64(x)
	case uint32:
		return int64(x)
	case int:
		return int64(x)
	case float64:
		return int64(x)
	}
	t.Fatalf("value %v (%T) is not an integer", v, v)
	return 0
}

func testRoundTrip(t *testing.T, s store.Store) {
	want := ServerSpan(7, Base)
	child := ServerSpan(7, Base.Add(time.Millisecond))
	child.SpanID, child.ParentSpanID, child.SpanKind, child.SpanName = "00000000000000ff", want.SpanID, span.KindClient, "db.query"
	write(t, s, []span.Span{want, child})
	got, err := s.Trace(context.Background(), want.TraceID)
	if err != nil {
		t.Fatalf("Trace(%q) = %v", want.TraceID, err)
	}
	if len(got) != 2 {
		t.Fatalf("Trace(%q) returned %d spans, want 2", want.TraceID, len(got))
	}
	if !reflect.DeepEqual(normalise(got[0]), normalise(want)) {
		t.Errorf("Trace(%q)[0] =\n%+v\nwant\n%+v", want.TraceID, got[0], want)
	}
	if got[1].ParentSpanID != want.SpanID || got[1].SpanKind != span.KindClient {
		t.Errorf("Trace(%q)[1] = parent %q kind %q, want parent %q kind Client", want.TraceID, got[1].ParentSpanID, got[1].SpanKind, want.SpanID)
	}
	if v := query(t, s, "SELECT span_attributes['app.note'] AS note FROM traces WHERE span_id = ?", want.SpanID).Rows[0][0]; v != "n7" {
		t.Errorf("span_attributes['app.note'] = %v, want n7", v)
	}
}

// normalise sorts attributes so that stores that do not keep attribute order compare equal.
func normalise(s span.Span) span.Span {
	for _, attrs := range [][]span.Attr{s.SpanAttributes, s.ResourceAttributes} {
		sort.Slice(attrs, func(i, j int) bool { return attrs[i].Key < attrs[j].Key })
	}
	return s
}

func testTraceNotFound(t *testing.T, s store.Store) {
	write(t, s, []span.Span{ServerSpan(1, Base)})
	_, err := s.Trace(context.Background(), "ffffffffffffffffffffffffffffffff")
	if !errors.Is(err, store.ErrNotFound) {
		t.Errorf("Trace(unknown) = %v, want ErrNotFound", err)
	}
}

func testTraceOrdering(t *testing.T, s store.Store) {
	var spans []span.Span
	for i := 5; i >= 0; i-- {
		sp := ServerSpan(0, Base.Add(time.Duration(i)*time.Millisecond))
		sp.SpanID = fmt.Sprintf("%016x", 100+i)
		spans = append(spans, sp)
	}
	write(t, s, spans)
	got, err := s.Trace(context.Background(), spans[0].TraceID)
	if err != nil {
		t.Fatal(err)
	}
	for i := 1; i < len(got); i++ {
		if got[i].Timestamp.Before(got[i-1].Timestamp) {
			t.Fatalf("Trace spans out of order at %d: %v before %v", i, got[i].Timestamp, got[i-1].Timestamp)
		}
	}
}

func testClickHouseFunctions(t *testing.T, s store.Store) {
	var spans []span.Span
	for i := range 30 {
		spans = append(spans, ServerSpan(i, Base.Add(time.Duration(i)*time.Second)))
	}
	write(t, s, spans)
	tests := []struct {
		q    string
		want int64
	}{
		{"SELECT count() FROM traces", 30},
		{"SELECT countIf(status_code = 200) FROM traces", 30},
		{"SELECT uniqExact(peer_ip) FROM traces", 3},
		{"SELECT uniqExact(peer_ip, api_key_id) FROM traces", 3},
		{"SELECT uniqExact(extractURLParameter(http_target, 'collection_id')) FROM traces", 30},
		{"SELECT countIf(extractURLParameter(http_target, 'missing') = '') FROM traces", 30},
		{"SELECT sumIf(response_bytes, peer_ip = '203.0.113.1') FROM traces", 10 * 187_000},
		{"SELECT count() FROM traces WHERE startsWith(http_path, '/v1/admin')", 30},
		{"SELECT intDiv(7, 2)", 3},
		{"SELECT count(DISTINCT toStartOfMinute(timestamp)) FROM traces", 1},
		{"SELECT countIf(mapContains(span_attributes, 'url.path')) FROM traces", 30},
	}
	for _, tc := range tests {
		if got := scalar(t, s, tc.q); got != tc.want {
			t.Errorf("Query(%q) = %d, want %d", tc.q, got, tc.want)
		}
	}
}

// ReferenceQueries are the two queries of the reference scenario: the
// 15-minute admin-endpoint rule and the count of distinct objects pulled
// through a bulk endpoint. They must run unchanged on every engine.
var ReferenceQueries = []string{
	`SELECT peer_ip, count() AS requests, uniqExact(api_key_id) AS keys
FROM traces
WHERE http_path LIKE '/v1/admin/%' AND timestamp >= now() - INTERVAL 15 MINUTE
GROUP BY peer_ip
HAVING requests > 10
ORDER BY requests DESC`,
	`SELECT uniqExact(extractURLParameter(http_target, 'collection_id')) AS collections,
       count() AS requests, sum(response_bytes) AS bytes
FROM traces
WHERE http_path = '/v1/admin/export' AND timestamp >= now() - INTERVAL 7 DAY`,
}

func testReferenceQueries(t *testing.T, s store.Store) {
	now := time.Now().UTC()
	var spans []span.Span
	for i := range 60 {
		// 45 recent requests from three IPs, 15 older than 15 minutes.
		at := now.Add(-time.Duration(i) * 10 * time.Second)
		if i >= 45 {
			at = now.Add(-2 * time.Hour)
		}
		spans = append(spans, ServerSpan(i, at))
	}
	write(t, s, spans)
	res := query(t, s, ReferenceQueries[0])
	if len(res.Rows) != 3 {
		t.Fatalf("admin rule returned %d rows, want 3: %v", len(res.Rows), res.Rows)
	}
	for _, r := range res.Rows {
		if n := toInt(t, r[1]); n != 15 {
			t.Errorf("admin rule: %v made %d requests in the window, want 15", r[0], n)
		}
	}
	res = query(t, s, ReferenceQueries[1])
	if got := toInt(t, res.Rows[0][0]); got != 50 {
		t.Errorf("distinct collections = %d, want 50", got)
	}
	if got := toInt(t, res.Rows[0][2]); got != 60*187_000 {
		t.Errorf("bytes = %d, want %d", got, 60*187_000)
	}
}

func testTimeWindow(t *testing.T, s store.Store) {
	var spans []span.Span
	for i := range 10 {
		spans = append(spans, ServerSpan(i, Base.Add(time.Duration(i)*time.Hour)))
	}
	write(t, s, spans)
	got := scalar(t, s, "SELECT count() FROM traces WHERE timestamp >= ? AND timestamp < ?", Base.Add(2*time.Hour), Base.Add(5*time.Hour))
	if got != 3 {
		t.Errorf("count in [2h, 5h) = %d, want 3", got)
	}
}

func testInvalidQuery(t *testing.T, s store.Store) {
	for _, q := range []string{"SELECT nope FROM traces", "SELEC 1", "SELECT * FROM missing_table"} {
		_, err := s.Query(context.Background(), q, store.QueryOptions{})
		if !errors.Is(err, store.ErrQuery) {
			t.Errorf("Query(%q) = %v, want ErrQuery", q, err)
		}
	}
}

func testMaxRows(t *testing.T, s store.Store) {
	var spans []span.Span
	for i := range 25 {
		spans = append(spans, ServerSpan(i, Base))
	}
	write(t, s, spans)
	res, err := s.Query(context.Background(), "SELECT span_id FROM traces", store.QueryOptions{MaxRows: 10})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Rows) != 10 || !res.Truncated {
		t.Errorf("Query with MaxRows 10 = %d rows, truncated %v; want 10, true", len(res.Rows), res.Truncated)
	}
}

func testDeleteBefore(t *testing.T, s store.Store) {
	var spans []span.Span
	for i := range 10 {
		spans = append(spans, ServerSpan(i, Base.Add(time.Duration(i)*24*time.Hour)))
	}
	write(t, s, spans)
	n, err := s.DeleteBefore(context.Background(), Base.Add(4*24*time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	if n != 4 {
		t.Errorf("DeleteBefore removed %d spans, want 4", n)
	}
	if got := scalar(t, s, "SELECT count() FROM traces"); got != 6 {
		t.Errorf("count after retention = %d, want 6", got)
	}
}

func testStats(t *testing.T, s store.Store) {
	write(t, s, []span.Span{ServerSpan(1, Base), ServerSpan(2, Base.Add(time.Hour))})
	st, err := s.Stats(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if st.Spans != 2 || !st.Oldest.Equal(Base) || !st.Newest.Equal(Base.Add(time.Hour)) {
		t.Errorf("Stats = %+v, want 2 spans from %v to %v", st, Base, Base.Add(time.Hour))
	}
}

func testConcurrentWrites(t *testing.T, s store.Store) {
	const writers, batches, per = 4, 20, 50
	var wg sync.WaitGroup
	errs := make(chan error, writers*batches)
	for w := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for b := range batches {
				spans := make([]span.Span, per)
				for i := range spans {
					spans[i] = ServerSpan(w*100000+b*1000+i, Base)
				}
				if err := s.Write(context.Background(), spans); err != nil {
					errs <- err
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Errorf("concurrent Write = %v", err)
	}
	if got := scalar(t, s, "SELECT count() FROM traces"); got != writers*batches*per {
		t.Errorf("count = %d, want %d", got, writers*batches*per)
	}
}

func testEmptyStrings(t *testing.T, s store.Store) {
	sp := span.Span{Timestamp: Base, TraceID: fmt.Sprintf("%032x", 99), SpanID: fmt.Sprintf("%016x", 99), SpanKind: span.KindInternal, OtelStatus: "Unset"}
	write(t, s, []span.Span{sp})
	if got := scalar(t, s, "SELECT count() FROM traces WHERE http_path = '' AND peer_ip = '' AND status_code = 0"); got != 1 {
		t.Errorf("empty columns matched %d rows, want 1", got)
	}
}

func testWriteAfterClose(t *testing.T, s store.Store) {
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	err := s.Write(context.Background(), []span.Span{ServerSpan(1, Base)})
	if !errors.Is(err, store.ErrClosed) {
		t.Errorf("Write after Close = %v, want ErrClosed", err)
	}
}
