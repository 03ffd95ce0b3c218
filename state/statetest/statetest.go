// Package statetest is the conformance suite every state.Store passes.
package statetest

import (
	"context"
	"errors"
	"testing"

	"github.com/tracehound/tracehound/state"
)

// Factory returns a new, empty store; the suite closes it.
type Factory func(t *testing.T) state.Store

// Run runs the suite against stores made by newStore.
func Run(t *testing.T, newStore Factory) {
	t.Run("Settings", func(t *testing.T) {
		s := newStore(t)
		defer s.Close()
		ctx := context.Background()
		if _, err := s.Setting(ctx, "missing"); !errors.Is(err, state.ErrNotFound) {
			t.Errorf("Setting(missing) = %v, want ErrNotFound", err)
		}
		for _, v := range []string{"one", "two"} {
			if err := s.SetSetting(ctx, "k", v); err != nil {
				t.Fatalf("SetSetting(k, %q) = %v", v, err)
			}
			got, err := s.Setting(ctx, "k")
			if err != nil || got != v {
				t.Errorf("Setting(k) = %q, %v; want %q", got, err, v)
			}
		}
	})
	runMapStore(t, newStore)
	runAuthStore(t, newStore)
}
