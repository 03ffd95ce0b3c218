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

func TestRuleStoreConformance(t *testing.T) {
	statetest.RunRuleStore(t, func(t *testing.T) state.RuleStore {
		s, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "state.db"))
		if err != nil {
			t.Fatal(err)
		}
		return s
	})
}

func TestRuleStateSurvivesReopen(t *testing.T) {
	path := filepath.Join(t.TempDir(), "state.db")
	ctx := context.Background()
	at := time.Date(2026, 3, 2, 2, 31, 0, 0, time.UTC)
	s, err := sqlite.Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	st := state.RuleState{RuleID: "r", LastEval: at, Instances: []state.RuleInstance{
		{Fingerprint: "f", State: "pending", ActiveAt: at.Add(-3 * time.Minute), LastMatchAt: at, Data: []byte("{}")},
	}}
	if err := s.SaveRuleState(ctx, st); err != nil {
		t.Fatal(err)
	}
	s.Close()
	s, err = sqlite.Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	got, err := s.RuleState(ctx, "r")
	if err != nil || len(got.Instances) != 1 || !got.Instances[0].ActiveAt.Equal(st.Instances[0].ActiveAt) || !got.LastEval.Equal(at) {
		t.Errorf("RuleState(r) after reopen = %+v, %v; want %+v", got, err, st)
	}
}
