package sqlite_test

import (
	"context"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/tracehound/tracehound/state"
	"github.com/tracehound/tracehound/state/sqlite"
	"github.com/tracehound/tracehound/state/statetest"
)

func TestIPStoreConformance(t *testing.T) {
	statetest.RunIPStore(t, func(t *testing.T) state.IPStore {
		s, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "state.db"))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { s.Close() })
		return s
	})
}

// BenchmarkIPsPage100k measures one page (50 records, with its total) of
// the IP list over 100,000 records for each filter and sort the UI
// offers. The contract is at most 100 ms a page.
func BenchmarkIPsPage100k(b *testing.B) {
	s, err := sqlite.Open(context.Background(), filepath.Join(b.TempDir(), "state.db"))
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	start := time.Now()
	statetest.SeedIPs(b, s, 100_000)
	b.Logf("seeded 100,000 records in %v", time.Since(start))
	statetest.RunIPsPageBenchmark(b, s)
}

// BenchmarkApplyIPChange1000 measures one change that blocks 1,000 IPs
// (one transaction).
func BenchmarkApplyIPChange1000(b *testing.B) {
	s, err := sqlite.Open(context.Background(), filepath.Join(b.TempDir(), "state.db"))
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	ctx := context.Background()
	n := 0
	for b.Loop() {
		c := state.IPChange{At: time.Now(), Actor: "bench", Action: state.IPActionSet}
		for range 1000 {
			n++
			c.Items = append(c.Items, state.IPChangeItem{Value: fmt.Sprintf("10.%d.%d.%d", n/65536%256, n/256%256, n%256),
				After: &state.IPState{Status: state.IPBlocked, Source: "manual", Tags: []string{"bench"}}})
		}
		if _, err := s.ApplyIPChange(ctx, c); err != nil {
			b.Fatal(err)
		}
	}
}
