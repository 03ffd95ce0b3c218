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

// Run runs the suite against stores made by newStore: every part of
// state.Store.
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
	runApplicationStore(t, newStore)
	// The parts whose suites take a narrower factory get a store that is
	// closed when the subtest ends.
	closed := func(t *testing.T) state.Store {
		s := newStore(t)
		t.Cleanup(func() { s.Close() })
		return s
	}
	t.Run("TriageStore", func(t *testing.T) {
		RunTriageStore(t, func(t *testing.T) state.TriageStore { return closed(t) })
	})
	t.Run("NotifyLogStore", func(t *testing.T) {
		RunNotifyLogStore(t, func(t *testing.T) state.NotifyLogStore { return closed(t) })
	})
	t.Run("IPStore", func(t *testing.T) {
		RunIPStore(t, func(t *testing.T) state.IPStore { return closed(t) })
	})
	// RunRuleStore closes its stores itself.
	t.Run("RuleStore", func(t *testing.T) {
		RunRuleStore(t, func(t *testing.T) state.RuleStore { return newStore(t) })
	})
	runOrdering(t, newStore)
	runEdgeCases(t, newStore)
}
