package app

import (
	"context"
	"errors"
	"testing"
	"testing/synctest"
	"time"
)

// The warm pass waits while a dry run or backtest someone waits for
// runs, goes on once none does, and stops when its context ends.
func TestWarmingPausesForWaitedReplays(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var w waitedReplays
		if err := w.pause(t.Context()); err != nil {
			t.Fatalf("pause with nothing running = %v", err)
		}
		first, second := w.start(), w.start()
		resumed := make(chan error, 1)
		go func() { resumed <- w.pause(t.Context()) }()
		for _, done := range []func(){first, second} {
			time.Sleep(time.Minute)
			synctest.Wait()
			select {
			case err := <-resumed:
				t.Fatalf("the warm pass went on (%v) while a dry run ran", err)
			default:
			}
			done()
		}
		time.Sleep(time.Second)
		synctest.Wait()
		select {
		case err := <-resumed:
			if err != nil {
				t.Fatalf("pause after the dry runs ended = %v", err)
			}
		default:
			t.Fatal("the warm pass still waits after the dry runs ended")
		}

		defer w.start()()
		ctx, cancel := context.WithCancel(t.Context())
		go func() { resumed <- w.pause(ctx) }()
		cancel()
		if err := <-resumed; !errors.Is(err, context.Canceled) {
			t.Errorf("pause when its context ends = %v, want context.Canceled", err)
		}
	})
}
