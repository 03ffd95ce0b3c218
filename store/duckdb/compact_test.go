package duckdb_test

import (
	"context"
	"fmt"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/tracehound/tracehound/span"
	"github.com/tracehound/tracehound/store/duckdb"
	"github.com/tracehound/tracehound/store/storetest"
)

// compactSpans is n spans evenly over [from, from+d), in time order:
// server spans from 40 addresses to 7 routes, one address sending a
// sixth of them to one route, and every third span one inside a request
// (no route, no address).
func compactSpans(first, n int, from time.Time, d time.Duration) []span.Span {
	out := make([]span.Span, 0, n)
	for i := range n {
		s := storetest.ServerSpan(first+i, from.Add(time.Duration(i)*d/time.Duration(n)))
		s.PeerIP = fmt.Sprintf("198.51.100.%d", (first+i)*7%40)
		s.HTTPRoute = fmt.Sprintf("/v1/r%d/{id}", (first+i)%7)
		switch (first + i) % 6 {
		case 1:
			s.PeerIP, s.HTTPRoute = "203.0.113.9", "/v1/r3/{id}"
		case 2, 5:
			s.SpanKind, s.PeerIP, s.HTTPRoute = span.KindInternal, "", ""
		}
		out = append(out, s)
	}
	return out
}

// digest sums every span's identity and content, to compare the table
// before and after a rewrite.
func digest(t *testing.T, s *duckdb.Store) (int64, string) {
	t.Helper()
	var n int64
	var h string
	err := s.DB().QueryRow(`SELECT count(*), CAST(sum(hash(timestamp, trace_id, span_id, peer_ip, http_route, http_target, response_bytes, span_attributes_json)) AS VARCHAR) FROM spans`).Scan(&n, &h)
	if err != nil {
		t.Fatal(err)
	}
	return n, h
}

// unordered counts, within [from, to), the neighbouring rows with a
// route or a client address (in storage order) that are out of the
// compaction order.
func unordered(t *testing.T, s *duckdb.Store, from, to time.Time) int {
	t.Helper()
	var n int
	err := s.DB().QueryRow(`SELECT count(*) FROM (
		SELECT service_name, http_route, peer_ip, timestamp,
			lag(service_name) OVER w AS s0, lag(http_route) OVER w AS r0, lag(peer_ip) OVER w AS p0, lag(timestamp) OVER w AS t0
		FROM spans WHERE timestamp >= ? AND timestamp < ? AND (http_route <> '' OR peer_ip <> '')
		WINDOW w AS (ORDER BY rowid))
		WHERE s0 IS NOT NULL AND (s0, r0, p0, t0) > (service_name, http_route, peer_ip, timestamp)`, from, to).Scan(&n)
	if err != nil {
		t.Fatal(err)
	}
	return n
}

func TestCompact(t *testing.T) {
	// A day's 4,700 keyed spans are sorted in chunks: the order must not
	// depend on the split, nor lose or copy twice a span at a bound,
	// where one address's many spans to one route straddle it.
	defer duckdb.SetCompactChunkRows(1000)()
	ctx := context.Background()
	s := open(t, filepath.Join(t.TempDir(), "traces.duckdb"), duckdb.Options{})
	defer s.Close()
	now := time.Date(2026, 5, 4, 15, 30, 0, 0, time.UTC)
	days := now.Truncate(24 * time.Hour).Add(-48 * time.Hour)
	// Two whole days, then today up to now.
	if err := s.Write(ctx, compactSpans(0, 20_000, days, now.Sub(days))); err != nil {
		t.Fatal(err)
	}
	if err := s.Sync(ctx); err != nil {
		t.Fatal(err)
	}
	n0, h0 := digest(t, s)
	if got := unordered(t, s, days, days.Add(24*time.Hour)); got == 0 {
		t.Fatal("spans written in time order are already in the compaction order; the test proves nothing")
	}

	st, err := s.Compact(ctx, duckdb.CompactOptions{Now: now})
	if err != nil {
		t.Fatal(err)
	}
	// Two days and today's hours 00…14 minus the one ending within the
	// grace: 14:00–15:00 ends 30 minutes before now, so it is closed.
	if st.Periods != 2+15 || st.Spans == 0 {
		t.Errorf("Compact = %+v, want 17 periods", st)
	}
	if n, h := digest(t, s); n != n0 || h != h0 {
		t.Fatalf("after compaction: %d spans (digest %s), want %d (%s)", n, h, n0, h0)
	}
	for _, p := range []struct{ from, to time.Time }{
		{days, days.Add(24 * time.Hour)},
		{days.Add(24 * time.Hour), days.Add(48 * time.Hour)},
		{days.Add(50 * time.Hour), days.Add(51 * time.Hour)},
	} {
		if got := unordered(t, s, p.from, p.to); got != 0 {
			t.Errorf("%s…%s: %d rows out of order after compaction", p.from.Format(time.RFC3339), p.to.Format(time.RFC3339), got)
		}
	}
	if got := unordered(t, s, now.Truncate(time.Hour), now); got == 0 {
		t.Error("the open hour was rewritten")
	}

	// Nothing new: nothing to do.
	if st, err := s.Compact(ctx, duckdb.CompactOptions{Now: now}); err != nil || st.Periods != 0 {
		t.Errorf("second Compact = %+v, %v; want nothing done", st, err)
	}

	// Late spans grow the first day by 5%: it is rewritten again, and
	// spans written meanwhile are kept.
	if err := s.Write(ctx, compactSpans(100_000, 350, days, 24*time.Hour)); err != nil {
		t.Fatal(err)
	}
	if err := s.Sync(ctx); err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for i := range 20 {
			if err := s.Write(ctx, compactSpans(200_000+i*100, 100, days.Add(time.Hour), time.Hour)); err != nil {
				t.Error(err)
				return
			}
		}
	}()
	st, err = s.Compact(ctx, duckdb.CompactOptions{Now: now})
	wg.Wait()
	if err != nil {
		t.Fatal(err)
	}
	if st.Periods < 1 {
		t.Errorf("Compact after late spans = %+v, want the day rewritten", st)
	}
	if err := s.Sync(ctx); err != nil {
		t.Fatal(err)
	}
	if n, _ := digest(t, s); n != n0+350+2000 {
		t.Errorf("after late spans and a concurrent compaction: %d spans, want %d", n, n0+350+2000)
	}
	var dup int
	if err := s.DB().QueryRow(`SELECT count(*) FROM (SELECT trace_id, span_id FROM spans GROUP BY ALL HAVING count(*) > 1)`).Scan(&dup); err != nil || dup != 0 {
		t.Errorf("%d spans stored twice (%v)", dup, err)
	}

	// A period above MaxSpans is left alone and reported pending; a
	// later one is still rewritten.
	if err := s.Write(ctx, compactSpans(300_000, 5000, days.Add(time.Hour), time.Hour)); err != nil {
		t.Fatal(err)
	}
	if err := s.Write(ctx, compactSpans(400_000, 200, days.Add(25*time.Hour), time.Hour)); err != nil {
		t.Fatal(err)
	}
	if err := s.Sync(ctx); err != nil {
		t.Fatal(err)
	}
	st, err = s.Compact(ctx, duckdb.CompactOptions{Now: now, MaxSpans: 10_000})
	if err != nil || st.Periods != 1 || st.Pending != 1 {
		t.Errorf("Compact with MaxSpans 10,000 = %+v, %v; want the second day rewritten and the first pending", st, err)
	}
	if got := unordered(t, s, days.Add(24*time.Hour), days.Add(48*time.Hour)); got != 0 {
		t.Errorf("second day: %d rows out of order after its late spans were compacted", got)
	}
}
