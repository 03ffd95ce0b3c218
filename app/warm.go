package app

import (
	"context"
	"log/slog"
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
)

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
				var steps, cached int
				steps, cached, err = exclude.WarmBaselines(ctx, opts)
				a.log.Log(ctx, level, "rule replays warmed for dry runs", "steps", steps, "from_cache", cached, "elapsed", time.Since(start).Round(time.Millisecond))
				level = slog.LevelDebug
			}
		}
		if err != nil && ctx.Err() == nil {
			a.log.Warn("warming the rule replays for dry runs", "err", err)
		}
		timer.Reset(warmInterval)
	}
}
