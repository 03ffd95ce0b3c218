package app

import (
	"context"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/tracehound/tracehound/exclude"
)

// The replay cache is kept warm: warmDelay after the server starts, then
// every warmInterval, each rule is replayed over the default dry-run
// window into it. The first pass evaluates the whole window; the later
// ones only the steps that are new or whose spans changed, so that an
// exclusion's dry run replays little more than what the exclusion
// changes.
var (
	warmDelay    = 2 * time.Minute
	warmInterval = 5 * time.Minute
	warmRecheck  = 200 * time.Millisecond
)

// waitedReplays counts the dry runs and backtests someone is waiting
// for: the warm pass pauses between rules while any runs, instead of
// sharing the cores and the store's memory with them.
//
// It also keeps the Go heap's soft limit, when the App has one (Options.
// GCLimit): the base, plus what the replay cache holds (live heap by
// design), plus replayRoom while any of them runs. A week of one-minute
// steps of a busy rule holds about a gigabyte of rows; under the base
// limit the collector ran back to back, and its backtest took 38 s
// through the server instead of 22 s (26-30 s with 1 GiB of room, 26-28 s
// with 2).
type waitedReplays struct {
	n atomic.Int32

	mu       sync.Mutex
	base     int64
	cache    int64
	setLimit func(int64) // nil: no limit kept
}

// replayRoom is what the heap's soft limit rises by while a dry run or
// backtest runs.
const replayRoom = 2 << 30

// start marks a dry run or backtest someone waits for until the returned
// func is called.
func (w *waitedReplays) start() func() {
	w.n.Add(1)
	w.limit()
	return func() {
		w.n.Add(-1)
		w.limit()
	}
}

// cached records what the replay cache holds (alert.StepCache.OnResize).
func (w *waitedReplays) cached(bytes int64) {
	w.mu.Lock()
	w.cache = bytes
	w.mu.Unlock()
	w.limit()
}

// limit sets the heap's soft limit from what runs and is cached now.
func (w *waitedReplays) limit() {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.setLimit == nil {
		return
	}
	l := w.base + w.cache
	if w.n.Load() > 0 {
		l += replayRoom
	}
	w.setLimit(l)
}

// pause waits while a dry run or backtest someone waits for runs.
func (w *waitedReplays) pause(ctx context.Context) error {
	for w.n.Load() > 0 {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(warmRecheck):
		}
	}
	return nil
}

// warmReplays keeps the rules' baseline replays in the replay cache until
// ctx ends.
func (a *App) warmReplays(ctx context.Context) {
	if a.replays == nil {
		return
	}
	timer := time.NewTimer(warmDelay)
	defer timer.Stop()
	level := slog.LevelInfo // the first pass, which replays whole windows
	for {
		select {
		case <-ctx.Done():
			return
		case <-timer.C:
		}
		start := time.Now()
		from, to, err := a.window("", time.Time{})
		if err == nil {
			var opts exclude.DryRunOptions
			if opts, err = a.dryRunOptions(ctx, from, to); err == nil {
				opts.Pause = a.waited.pause
				var steps, cached int
				steps, cached, err = exclude.WarmBaselines(ctx, opts)
				a.log.Log(ctx, level, "rule replays warmed for dry runs", "steps", steps, "from_cache", cached, "elapsed", time.Since(start).Round(time.Millisecond))
				level = slog.LevelDebug
			}
		}
		if err != nil && ctx.Err() == nil {
			a.log.Warn("warming the rule replays for dry runs", "err", err)
		}
		a.saveReplays(false) // the next start takes them from the file
		timer.Reset(warmInterval)
	}
}
