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
