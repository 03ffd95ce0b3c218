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

// TestReopen checks what survives closing and opening the file again:
// settings, idempotent migrations, rule state.
func TestReopen(t *testing.T) {
	statetest.RunReopen(t, opener)
}
