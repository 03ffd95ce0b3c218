package app

import (
	"context"
	"time"

	"github.com/tracehound/tracehound/store/duckdb"
)

// Compaction timing: the first pass waits for start-up work (the first
// snapshot) to settle, and a pass waits while spans arrive faster than
// compactBusyRate (a backfill, such as a demo's seeding), which it would
// slow down and which would soon grow the periods it rewrites.
var (
	compactDelay    = 2 * time.Minute
	compactInterval = 10 * time.Minute
	compactRecheck  = time.Minute
	compactBusyRate = 20_000.0 // spans a second
)

// compactLoop rewrites the DuckDB store's closed periods in the order
// investigations and endpoint questions read them (duckdb.Store.Compact),
// unless store.compact is off.
func (a *App) compactLoop(ctx context.Context) {
	inner, _ := a.store.(scopedStore)
	st, ok := inner.Store.(*duckdb.Store)
	if !ok || a.cfg.Store.Compact == "off" {
		return
	}
	wait := compactDelay
	for {
		n0, t0 := st.CommittedSpans(), time.Now()
		select {
		case <-ctx.Done():
			return
		case <-time.After(wait):
		}
		if rate := float64(st.CommittedSpans()-n0) / time.Since(t0).Seconds(); rate > compactBusyRate {
			a.log.Debug("compaction waits for ingest to slow down", "spans_per_second", int(rate))
			wait = compactRecheck
			continue
		}
		wait = compactInterval
		res, err := st.Compact(ctx, duckdb.CompactOptions{Budget: compactInterval})
		a.storeMetrics.compacted(res.Spans, res.Elapsed, res.Pending)
		switch {
		case err != nil && ctx.Err() == nil:
			a.log.Error("compaction", "err", err)
		case res.Periods > 0:
			a.log.Info("compaction pass", "periods", res.Periods, "spans", res.Spans, "pending", res.Pending, "took", res.Elapsed.Round(time.Millisecond))
		}
	}
}
