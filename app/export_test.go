package app

import "time"

// SetCompactTiming sets the compaction loop's timing and returns a
// function that restores it.
func SetCompactTiming(delay, interval time.Duration) func() {
	d, i := compactDelay, compactInterval
	compactDelay, compactInterval = delay, interval
	return func() { compactDelay, compactInterval = d, i }
}

// SpanStore is the span store under the application scoping.
func (a *App) SpanStore() any { return a.store.(scopedStore).Store }
