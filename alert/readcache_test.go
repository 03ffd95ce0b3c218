package alert

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/tracehound/tracehound/span"
)

// Evaluations that read the cache's copies give what evaluations that
// scan traces give, minute after minute, while spans arrive late into
// copied chunks and old spans are deleted.
func TestReadCacheMatchesUncached(t *testing.T) {
	traces := openTraces(t)
	mixedTraffic(t, traces)
	ctx := context.Background()
	exclude := excluding("peer_ip = ?", "198.51.100.7")
	rules := []Rule{
		{ID: "semi", SQL: semiRules[0], Interval: 2 * time.Minute},
		{ID: "sliding", SQL: slidingRules[0], Interval: 5 * time.Minute},
		{ID: "excluded", SQL: semiRules[0], Interval: 2 * time.Minute},
		// Reads every column: not cached.
		{ID: "star", Interval: 10 * time.Minute, SQL: `SELECT * FROM traces WHERE span_kind = 'Server' AND http_path = '/v1/admin/users'
			AND timestamp > now() - INTERVAL 1 HOUR AND timestamp <= now() ORDER BY timestamp DESC LIMIT 1`},
	}
	for i := range rules {
		rules[i].Name, rules[i].Severity = rules[i].ID, "low"
	}
	// The rules look back an hour or two, over the test's six hours.
	defer func(old time.Duration) { readCacheMinLookback = old }(readCacheMinLookback)
	readCacheMinLookback = time.Hour
	cache := newReadCache(traces, nil)
	if cache == nil {
		t.Fatal("the DuckDB store cannot keep copies")
	}
	late := t0.Add(3*time.Hour + 12*time.Minute)
	cachedEvals, rowsSeen, lateSeen := 0, 0, false
	for at := t0.Add(2 * time.Hour); !at.After(t0.Add(4*time.Hour + 40*time.Minute)); at = at.Add(time.Minute) {
		switch at {
		case t0.Add(3*time.Hour + 26*time.Minute):
			// A new caller's requests to a rarely used admin endpoint,
			// ingested 10 minutes late: into a copied chunk.
			var spans []span.Span
			for i := range 4 {
				id := fmt.Sprintf("%032x", 2_000_000+i)
				spans = append(spans, span.Span{Timestamp: late.Add(time.Duration(i) * time.Minute), TraceID: id, SpanID: id[16:], ServiceName: "vault",
					SpanName: "GET /v1/admin/keys", SpanKind: span.KindServer, HTTPMethod: "GET", HTTPPath: "/v1/admin/keys", HTTPRoute: "/v1/admin/keys",
					StatusCode: 200, PeerIP: "192.0.2.77", ResponseBytes: 100})
			}
			if err := traces.Write(ctx, spans); err != nil {
				t.Fatal(err)
			}
		case t0.Add(4 * time.Hour):
			if _, err := traces.DeleteBefore(ctx, t0.Add(3*time.Hour+40*time.Minute)); err != nil {
				t.Fatal(err)
			}
		}
		for _, r := range rules {
			if at.Sub(t0)%r.Interval != 0 {
				continue
			}
			var rw Rewriter
			if r.ID == "excluded" {
				rw = exclude
			}
			q, rr, err := rewrite(traces, &r, rw)
			if err != nil {
				t.Fatal(err)
			}
			want, err := evalSQL(ctx, q, rr, at, time.Minute)
			if err != nil {
				t.Fatalf("%s at %s: %v", r.ID, at.Format("15:04"), err)
			}
			cr, err := cache.source(ctx, &r, rr, at)
			if err != nil {
				t.Fatalf("%s at %s: copy: %v", r.ID, at.Format("15:04"), err)
			}
			if cr.SQL != rr.SQL {
				cachedEvals++
				if r.ID == "star" {
					t.Errorf("%s: a rule that selects every column read a copy", r.ID)
				}
			}
			got, err := evalSQL(ctx, q, cr, at, time.Minute)
			if err != nil {
				t.Fatalf("%s at %s: cached: %v\n%s", r.ID, at.Format("15:04"), err, cr.SQL)
			}
			if g, w := rowsText(got), rowsText(want); g != w {
				t.Fatalf("%s at %s: cached rows\n%s\nwant\n%s", r.ID, at.Format("15:04"), g, w)
			}
			rowsSeen += len(want)
			if strings.Contains(rowsText(want), "192.0.2.77") {
				lateSeen = true
			}
		}
	}
	if cachedEvals < 150 {
		t.Errorf("%d evaluations read a copy, want most of them", cachedEvals)
	}
	if rowsSeen == 0 || !lateSeen {
		t.Errorf("rows compared %d, late caller seen %v: the comparison compares too little", rowsSeen, lateSeen)
	}
	cache.retain(nil)
	if cache.held() != 0 {
		t.Errorf("%d rows still held after every rule went", cache.held())
	}
}

// rowsText is rows in a stable order, for comparison.
func rowsText(rows []Row) string {
	var out []string
	for _, r := range rows {
		var cols []string
		for c, v := range r.cols() {
			cols = append(cols, fmt.Sprintf("%s=%v", c, v))
		}
		slices.Sort(cols)
		out = append(out, strings.Join(cols, " "))
	}
	slices.Sort(out)
	return strings.Join(out, "\n")
}

// A rule whose shared rows are too many is left to read traces.
func TestReadCacheGivesUpOnManyRows(t *testing.T) {
	traces := openTraces(t)
	mixedTraffic(t, traces)
	cache := newReadCache(traces, nil)
	r := Rule{ID: "wide", Name: "wide", Severity: "low", Interval: time.Minute, SQL: slidingRules[0]}
	at := t0.Add(5 * time.Hour)
	defer func(rows int64, lookback time.Duration) { readCacheMaxRows, readCacheMinLookback = rows, lookback }(readCacheMaxRows, readCacheMinLookback)
	readCacheMaxRows, readCacheMinLookback = 100, time.Hour
	cr, err := cache.source(context.Background(), &r, &r, at)
	if err != nil {
		t.Fatal(err)
	}
	if cr.SQL != r.SQL || cache.held() != 0 {
		t.Errorf("a rule past the row limit reads a copy (%d rows held)", cache.held())
	}
	if cr, _ := cache.source(context.Background(), &r, &r, at.Add(time.Minute)); cr.SQL != r.SQL {
		t.Errorf("a rule past the row limit was copied again a minute later")
	}
}
