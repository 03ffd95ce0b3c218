package app

import (
	"context"
	"slices"
	"testing"
	"testing/synctest"
	"time"

	"github.com/tracehound/tracehound/config"
)

func TestEvery(t *testing.T) {
	tests := []struct {
		name string
		last time.Duration // before the start; 0: no earlier run
		job  time.Duration // how long each run takes
		want []time.Duration
	}{
		{"first run at once without an earlier one", 0, 0, []time.Duration{0, time.Hour, 2 * time.Hour, 3 * time.Hour}},
		{"first run one interval after the last", 20 * time.Minute, 0, []time.Duration{40 * time.Minute, 100 * time.Minute, 160 * time.Minute}},
		{"a long run does not shift the schedule", 0, 10 * time.Minute, []time.Duration{0, time.Hour, 2 * time.Hour, 3 * time.Hour}},
		{"a run longer than the interval is followed at once", 0, 90 * time.Minute, []time.Duration{0, 90 * time.Minute, 180 * time.Minute}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				start := time.Now()
				last := time.Time{}
				if tc.last > 0 {
					last = start.Add(-tc.last)
				}
				ctx, cancel := context.WithCancel(context.Background())
				var runs []time.Duration
				done := make(chan struct{})
				go func() {
					every(ctx, time.Hour, last, time.Now, func(context.Context) {
						runs = append(runs, time.Since(start))
						time.Sleep(tc.job)
					})
					close(done)
				}()
				time.Sleep(3*time.Hour + time.Minute)
				cancel()
				<-done
				if !slices.Equal(runs, tc.want) {
					t.Errorf("every(1h) ran at %v, want %v", runs, tc.want)
				}
			})
		})
	}
}

func TestIncrementalWindow(t *testing.T) {
	now := time.Date(2026, 11, 2, 12, 0, 0, 0, time.UTC)
	week := 7 * 24 * time.Hour
	tests := []struct {
		last     time.Time
		interval time.Duration
		want     time.Duration
	}{
		{time.Time{}, time.Hour, week},
		{now.Add(-time.Hour), time.Hour, time.Hour + 15*time.Minute},
		{now.Add(-30 * time.Minute), time.Hour, time.Hour + 15*time.Minute},
		{now.Add(-5 * time.Hour), time.Hour, 5*time.Hour + 15*time.Minute},
		{now.Add(-time.Minute), time.Minute, 6 * time.Minute},
		{now.Add(-30 * 24 * time.Hour), time.Hour, week},
	}
	for _, tt := range tests {
		if got := incrementalWindow(tt.last, now, tt.interval, week); got != tt.want {
			t.Errorf("incrementalWindow(last %v ago, interval %v) = %v, want %v", now.Sub(tt.last), tt.interval, got, tt.want)
		}
	}
}

// TestRunSnapshots runs the snapshot schedule of a real App with a short
// interval: a snapshot at once (none is stored yet), then one per interval.
func TestRunSnapshots(t *testing.T) {
	c := config.Default()
	c.Data = t.TempDir()
	c.APIMap.SnapshotInterval = config.Duration(50 * time.Millisecond)
	a, err := New(context.Background(), Options{Config: c})
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { a.runSnapshots(ctx); close(done) }()
	deadline := time.Now().Add(10 * time.Second)
	for {
		list, err := a.Snapshots(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		if len(list.Snapshots) >= 3 {
			// The first covers the map window, the later ones what came since.
			last := list.Snapshots[len(list.Snapshots)-1]
			if got := time.Duration(last.WindowSeconds) * time.Second; got != time.Duration(c.APIMap.Window) {
				t.Errorf("first scheduled snapshot covers %v, want the map window %v", got, time.Duration(c.APIMap.Window))
			}
			if got := time.Duration(list.Snapshots[0].WindowSeconds) * time.Second; got > 10*time.Minute {
				t.Errorf("a later scheduled snapshot covers %v, want about an interval plus its margin", got)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d snapshots after 10 s with a 50 ms interval, want 3", len(list.Snapshots))
		}
		time.Sleep(10 * time.Millisecond)
	}
	cancel()
	<-done

	c.APIMap.SnapshotInterval = 0
	a.cfg = c
	ctx, cancel = context.WithCancel(context.Background())
	defer cancel()
	off := make(chan struct{})
	go func() { a.runSnapshots(ctx); close(off) }()
	select {
	case <-off:
	case <-time.After(5 * time.Second):
		t.Errorf("runSnapshots with a zero interval still runs, want it to return at once")
	}
}
