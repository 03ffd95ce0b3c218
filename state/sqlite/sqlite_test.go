package sqlite_test

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/tracehound/tracehound/state"
	"github.com/tracehound/tracehound/state/sqlite"
	"github.com/tracehound/tracehound/state/statetest"
)

func TestConformance(t *testing.T) {
	statetest.Run(t, func(t *testing.T) state.Store {
		s, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "state.db"))
		if err != nil {
			t.Fatal(err)
		}
		return s
	})
}

// opener opens stores on one new database file.
func opener(t *testing.T) statetest.Opener {
	path := filepath.Join(t.TempDir(), "state.db")
	return func(t *testing.T) state.Store {
		s, err := sqlite.Open(context.Background(), path)
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
}

// TestReplicas runs the concurrent-writer suite on two handles of one file:
// writes that read first take the write lock at BEGIN (_txlock=immediate),
// so none is lost to SQLITE_BUSY.
func TestReplicas(t *testing.T) {
	statetest.RunReplicas(t, opener)
}

func TestReopenKeepsSettingsAndMigrations(t *testing.T) {
	path := filepath.Join(t.TempDir(), "state.db")
	ctx := context.Background()
	s, err := sqlite.Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.SetSetting(ctx, "hash_key", "abc"); err != nil {
		t.Fatal(err)
	}
	s.Close()
	s, err = sqlite.Open(ctx, path)
	if err != nil {
		t.Fatalf("reopen (migrations must be idempotent): %v", err)
	}
	defer s.Close()
	if v, err := s.Setting(ctx, "hash_key"); err != nil || v != "abc" {
		t.Errorf("Setting(hash_key) after reopen = %q, %v; want abc", v, err)
	}
}
