package sqlite_test

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/tracehound/tracehound/state"
	"github.com/tracehound/tracehound/state/sqlite"
	"github.com/tracehound/tracehound/state/statetest"
)

func TestExclusionStoreConformance(t *testing.T) {
	statetest.RunExclusionStore(t, func(t *testing.T) state.ExclusionStore {
		s, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "state.db"))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { s.Close() })
		return s
	})
}

func TestSilenceStoreConformance(t *testing.T) {
	statetest.RunSilenceStore(t, func(t *testing.T) state.SilenceStore {
		s, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "state.db"))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { s.Close() })
		return s
	})
}

func TestExclusionsSurviveReopen(t *testing.T) {
	path := filepath.Join(t.TempDir(), "state.db")
	ctx := context.Background()
	at := time.Date(2026, 3, 2, 2, 31, 0, 0, time.UTC)
	s, err := sqlite.Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	rec := state.ExclusionRecord{ID: "partner", Body: []byte(`{}`), Mode: "active", CreatedAt: at, CreatedBy: "alice", UpdatedAt: at, UpdatedBy: "alice"}
	if err := s.CreateExclusion(ctx, rec); err != nil {
		t.Fatal(err)
	}
	if err := s.AddExclusionHits(ctx, []state.ExclusionHits{{ID: "partner", Rows: 42, Last: at}}); err != nil {
		t.Fatal(err)
	}
	s.Close()
	s, err = sqlite.Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	got, err := s.Exclusion(ctx, "partner")
	if err != nil || got.HitCount != 42 || !got.LastHit.Equal(at) || !got.ExpiresAt.IsZero() {
		t.Errorf("Exclusion(partner) after reopen = %+v, %v; want 42 hits, last %v, no expiry", got, err, at)
	}
}
