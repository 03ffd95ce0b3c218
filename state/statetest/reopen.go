package statetest

import (
	"context"
	"testing"
	"time"

	"github.com/tracehound/tracehound/state"
)

// Opener opens one and the same store each time it is called (one file,
// one database): what a store it opened wrote, the next one reads. Stores
// may be open at the same time, like replicas; the suites close every
// store they open.
type Opener func(t *testing.T) state.Store

// RunReopen runs the tests of what survives closing and opening the store
// again against stores made by newOpener, which returns the Opener of a
// new, empty store.
func RunReopen(t *testing.T, newOpener func(t *testing.T) Opener) {
	t.Run("SettingsAndMigrations", func(t *testing.T) {
		open := newOpener(t)
		ctx := context.Background()
		s := open(t)
		if err := s.SetSetting(ctx, "hash_key", "abc"); err != nil {
			t.Fatal(err)
		}
		s.Close()
		// Opening again applies no migration twice.
		s = open(t)
		defer s.Close()
		if v, err := s.Setting(ctx, "hash_key"); err != nil || v != "abc" {
			t.Errorf("Setting(hash_key) after reopen = %q, %v; want abc", v, err)
		}
	})
	t.Run("RuleState", func(t *testing.T) {
		open := newOpener(t)
		ctx := context.Background()
		at := time.Date(2026, 3, 2, 2, 31, 0, 0, time.UTC)
		s := open(t)
		st := state.RuleState{RuleID: "r", LastEval: at, Instances: []state.RuleInstance{
			{Fingerprint: "f", State: "pending", ActiveAt: at.Add(-3 * time.Minute), LastMatchAt: at, Data: []byte("{}")},
		}}
		if err := s.SaveRuleState(ctx, st); err != nil {
			t.Fatal(err)
		}
		s.Close()
		s = open(t)
		defer s.Close()
		got, err := s.RuleState(ctx, "r")
		if err != nil || len(got.Instances) != 1 || !got.Instances[0].ActiveAt.Equal(st.Instances[0].ActiveAt) || !got.LastEval.Equal(at) {
			t.Errorf("RuleState(r) after reopen = %+v, %v; want %+v", got, err, st)
		}
	})
	t.Run("TwoOpenAtOnce", func(t *testing.T) {
		open := newOpener(t)
		ctx := context.Background()
		a, b := open(t), open(t)
		defer a.Close()
		defer b.Close()
		if err := a.SetSetting(ctx, "k", "from a"); err != nil {
			t.Fatal(err)
		}
		if v, err := b.Setting(ctx, "k"); err != nil || v != "from a" {
			t.Errorf("b.Setting(k) = %q, %v; want what a wrote", v, err)
		}
	})
}
