package app

import (
	"slices"
	"testing"
)

// The heap's soft limit is the base, plus what the replay cache holds,
// plus room while a replay someone waits for runs.
func TestReplayGCLimit(t *testing.T) {
	var set []int64
	w := &waitedReplays{base: 100, setLimit: func(l int64) { set = append(set, l) }}
	w.cached(50)
	one := w.start()
	two := w.start()
	one()
	w.cached(70)
	two()
	want := []int64{150, 150 + replayRoom, 150 + replayRoom, 150 + replayRoom, 170 + replayRoom, 170}
	if !slices.Equal(set, want) {
		t.Errorf("limits set %v, want %v", set, want)
	}
	var none waitedReplays
	none.start()() // no limit kept: nothing to set
}
