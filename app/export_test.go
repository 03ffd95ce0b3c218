package app

import "time"

// SetCompactTiming sets the compaction loop's timing and the ingest rate
// it waits under, and returns a function that restores them.
func SetCompactTiming(delay, interval time.Duration, busyRate float64) func() {
	d, i, r, b := compactDelay, compactInterval, compactRecheck, compactBusyRate
	compactDelay, compactInterval, compactRecheck, compactBusyRate = delay, interval, delay, busyRate
	return func() { compactDelay, compactInterval, compactRecheck, compactBusyRate = d, i, r, b }
}

// SpanStore is the span store under the application scoping.
func (a *App) SpanStore() any { return a.store.(scopedStore).Store }
