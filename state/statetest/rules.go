package statetest

import (
	"bytes"
	"context"
	"errors"
	"testing"
	"time"

	"github.com/tracehound/tracehound/state"
)

// RunRuleStore runs the state.RuleStore conformance suite against stores
// made by newStore. When a store also implements io.Closer, the suite
// closes it.
func RunRuleStore(t *testing.T, newStore func(t *testing.T) state.RuleStore) {
	tests := []struct {
		name string
		fn   func(*testing.T, state.RuleStore)
	}{
		{"RuleDefs", testRuleDefs},
		{"RuleStates", testRuleStates},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := newStore(t)
			if c, ok := s.(interface{ Close() error }); ok {
				defer c.Close()
			}
			tc.fn(t, s)
		})
	}
}

func testRuleDefs(t *testing.T, s state.RuleStore) {
	ctx := context.Background()
	if _, err := s.RuleDef(ctx, "admin"); !errors.Is(err, state.ErrNotFound) {
		t.Errorf("RuleDef(admin) on an empty store = %v, want ErrNotFound", err)
	}
	if defs, err := s.RuleDefs(ctx); err != nil || defs == nil || len(defs) != 0 {
		t.Errorf("RuleDefs() on an empty store = %v, %v; want an empty, non-nil slice", defs, err)
	}
	if err := s.DeleteRuleDef(ctx, "admin"); !errors.Is(err, state.ErrNotFound) {
		t.Errorf("DeleteRuleDef(admin) on an empty store = %v, want ErrNotFound", err)
	}
	put := []state.RuleDef{
		{ID: "zeta", Body: []byte("id: zeta\n"), Enabled: true, UpdatedAt: base, UpdatedBy: "alice"},
		{ID: "admin", Body: []byte("id: admin\n"), Enabled: true, UpdatedAt: base.Add(time.Minute), UpdatedBy: "bob"},
		{ID: "zeta", Body: []byte("id: zeta\nseverity: high\n"), Enabled: false, UpdatedAt: base.Add(time.Hour), UpdatedBy: "carol"},
	}
	for _, d := range put {
		if err := s.PutRuleDef(ctx, d); err != nil {
			t.Fatalf("PutRuleDef(%s) = %v", d.ID, err)
		}
	}
	got, err := s.RuleDef(ctx, "zeta")
	if err != nil || !sameRuleDef(got, put[2]) {
		t.Errorf("RuleDef(zeta) = %+v, %v; want the replacement %+v", got, err, put[2])
	}
	defs, err := s.RuleDefs(ctx)
	if err != nil {
		t.Fatalf("RuleDefs() = %v", err)
	}
	if len(defs) != 2 || !sameRuleDef(defs[0], put[1]) || !sameRuleDef(defs[1], put[2]) {
		t.Errorf("RuleDefs() = %+v, want admin then the replaced zeta", defs)
	}
	if err := s.DeleteRuleDef(ctx, "admin"); err != nil {
		t.Fatalf("DeleteRuleDef(admin) = %v", err)
	}
	if _, err := s.RuleDef(ctx, "admin"); !errors.Is(err, state.ErrNotFound) {
		t.Errorf("RuleDef(admin) after delete = %v, want ErrNotFound", err)
	}
}

func sameRuleDef(a, b state.RuleDef) bool {
	return a.ID == b.ID && bytes.Equal(a.Body, b.Body) && a.Enabled == b.Enabled &&
		a.UpdatedAt.Equal(b.UpdatedAt) && a.UpdatedBy == b.UpdatedBy
}

func testRuleStates(t *testing.T, s state.RuleStore) {
	ctx := context.Background()
	if _, err := s.RuleState(ctx, "admin"); !errors.Is(err, state.ErrNotFound) {
		t.Errorf("RuleState(admin) on an empty store = %v, want ErrNotFound", err)
	}
	if sts, err := s.RuleStates(ctx); err != nil || sts == nil || len(sts) != 0 {
		t.Errorf("RuleStates() on an empty store = %v, %v; want an empty, non-nil slice", sts, err)
	}
	if err := s.DeleteRuleState(ctx, "admin"); err != nil {
		t.Errorf("DeleteRuleState(admin) on an empty store = %v, want nil", err)
	}
	first := state.RuleState{RuleID: "admin", LastEval: base, Instances: []state.RuleInstance{
		{Fingerprint: "b2", State: "pending", ActiveAt: base, LastMatchAt: base, Data: []byte(`{"labels":{"peer_ip":"198.51.100.7"}}`)},
		{Fingerprint: "a1", State: "firing", ActiveAt: base.Add(-time.Hour), FiredAt: base.Add(-50 * time.Minute), LastMatchAt: base, Data: []byte(`{}`)},
	}}
	if err := s.SaveRuleState(ctx, first); err != nil {
		t.Fatalf("SaveRuleState(admin) = %v", err)
	}
	other := state.RuleState{RuleID: "keys", Instances: []state.RuleInstance{}}
	if err := s.SaveRuleState(ctx, other); err != nil {
		t.Fatalf("SaveRuleState(keys) = %v", err)
	}
	got, err := s.RuleState(ctx, "admin")
	if err != nil {
		t.Fatalf("RuleState(admin) = %v", err)
	}
	want := first
	want.Instances = []state.RuleInstance{first.Instances[1], first.Instances[0]}
	if !sameRuleState(got, want) {
		t.Errorf("RuleState(admin) = %+v, want %+v (instances by fingerprint)", got, want)
	}
	// A later save replaces the instances: b2 fired, a1 resolved, c3 gone.
	second := state.RuleState{RuleID: "admin", LastEval: base.Add(time.Minute), Instances: []state.RuleInstance{
		{Fingerprint: "a1", State: "resolved", ActiveAt: base.Add(-time.Hour), FiredAt: base.Add(-50 * time.Minute),
			ResolvedAt: base.Add(time.Minute), LastMatchAt: base, Data: []byte(`{"sent":true}`)},
		{Fingerprint: "b2", State: "firing", ActiveAt: base, FiredAt: base.Add(time.Minute), LastMatchAt: base.Add(time.Minute), Data: []byte(`{}`)},
	}}
	if err := s.SaveRuleState(ctx, second); err != nil {
		t.Fatalf("SaveRuleState(admin) again = %v", err)
	}
	sts, err := s.RuleStates(ctx)
	if err != nil {
		t.Fatalf("RuleStates() = %v", err)
	}
	if len(sts) != 2 || !sameRuleState(sts[0], second) || !sameRuleState(sts[1], other) {
		t.Errorf("RuleStates() = %+v, want admin (second save) then keys", sts)
	}
	if !sts[1].LastEval.IsZero() {
		t.Errorf("RuleStates()[keys].LastEval = %v, want zero (never evaluated)", sts[1].LastEval)
	}
	if err := s.DeleteRuleState(ctx, "admin"); err != nil {
		t.Fatalf("DeleteRuleState(admin) = %v", err)
	}
	if _, err := s.RuleState(ctx, "admin"); !errors.Is(err, state.ErrNotFound) {
		t.Errorf("RuleState(admin) after delete = %v, want ErrNotFound", err)
	}
	// Saving again after a delete starts from nothing: no instance survives.
	if err := s.SaveRuleState(ctx, state.RuleState{RuleID: "admin", LastEval: base}); err != nil {
		t.Fatalf("SaveRuleState(admin) after delete = %v", err)
	}
	if got, err := s.RuleState(ctx, "admin"); err != nil || len(got.Instances) != 0 || got.Instances == nil {
		t.Errorf("RuleState(admin) after delete and save = %+v, %v; want no instances (non-nil)", got, err)
	}
}

func sameRuleState(a, b state.RuleState) bool {
	if a.RuleID != b.RuleID || !a.LastEval.Equal(b.LastEval) || len(a.Instances) != len(b.Instances) {
		return false
	}
	for i := range a.Instances {
		x, y := a.Instances[i], b.Instances[i]
		if x.Fingerprint != y.Fingerprint || x.State != y.State || !x.ActiveAt.Equal(y.ActiveAt) ||
			!x.FiredAt.Equal(y.FiredAt) || !x.ResolvedAt.Equal(y.ResolvedAt) || !x.LastMatchAt.Equal(y.LastMatchAt) ||
			!bytes.Equal(x.Data, y.Data) {
			return false
		}
	}
	return true
}
