package app

import (
	"context"
	"time"

	"github.com/tracehound/tracehound/store/duckdb"
)

// Compaction timing: the first pass waits for start-up work (a demo's
// seeding, the first snapshot) to settle.
var (
	compactDelay    = 2 * time.Minute
	compactInterval = 10 * time.Minute
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
		select {
		case <-ctx.Done():
			return
		case <-time.After(wait):
		}
		wait = compactInterval
		res, err := st.Compact(ctx, duckdb.CompactOptions{Budget: compactInterval})
		switch {
		case err != nil && ctx.Err() == nil:
			a.log.Error("compaction", "err", err)
		case res.Periods > 0:
			a.log.Info("compaction pass", "periods", res.Periods, "spans", res.Spans, "pending", res.Pending, "took", res.Elapsed.Round(time.Millisecond))
		}
	}
}
