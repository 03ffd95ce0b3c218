package statetest

import (
	"bytes"
	"context"
	"errors"
	"testing"
	"time"

	"github.com/tracehound/tracehound/state"
)

// RunExclusionStore runs the state.ExclusionStore suite against stores
// made by newStore; the factory arranges for the store to be closed.
func RunExclusionStore(t *testing.T, newStore func(t *testing.T) state.ExclusionStore) {
	tests := []struct {
		name string
		fn   func(*testing.T, state.ExclusionStore)
	}{
		{"CRUD", testExclusionCRUD},
		{"Filters", testExclusionFilters},
		{"Hits", testExclusionHits},
		{"ShadowSuppressions", testShadowSuppressions},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) { tc.fn(t, newStore(t)) })
	}
}

func exclusionRecord(id string, expires time.Time) state.ExclusionRecord {
	return state.ExclusionRecord{ID: id, Body: []byte(`{"id":"` + id + `"}`), Mode: "active", ExpiresAt: expires,
		CreatedAt: base, CreatedBy: "alice", UpdatedAt: base, UpdatedBy: "alice"}
}

func sameExclusion(a, b state.ExclusionRecord) bool {
	return a.ID == b.ID && bytes.Equal(a.Body, b.Body) && a.Mode == b.Mode && a.ExpiresAt.Equal(b.ExpiresAt) &&
		a.ShadowUntil.Equal(b.ShadowUntil) && a.CreatedAt.Equal(b.CreatedAt) && a.CreatedBy == b.CreatedBy &&
		a.UpdatedAt.Equal(b.UpdatedAt) && a.UpdatedBy == b.UpdatedBy && a.HitCount == b.HitCount && a.LastHit.Equal(b.LastHit)
}

func testExclusionCRUD(t *testing.T, s state.ExclusionStore) {
	ctx := context.Background()
	if _, err := s.Exclusion(ctx, "health"); !errors.Is(err, state.ErrNotFound) {
		t.Errorf("Exclusion(health) on an empty store = %v, want ErrNotFound", err)
	}
	if list, err := s.Exclusions(ctx, state.ExclusionFilter{}); err != nil || list == nil || len(list) != 0 {
		t.Errorf("Exclusions() on an empty store = %v, %v; want an empty, non-nil slice", list, err)
	}
	if err := s.DeleteExclusion(ctx, "health"); !errors.Is(err, state.ErrNotFound) {
		t.Errorf("DeleteExclusion(health) on an empty store = %v, want ErrNotFound", err)
	}
	if err := s.UpdateExclusion(ctx, exclusionRecord("health", time.Time{})); !errors.Is(err, state.ErrNotFound) {
		t.Errorf("UpdateExclusion(health) on an empty store = %v, want ErrNotFound", err)
	}
	rec := exclusionRecord("health", time.Time{})
	rec.Mode, rec.ShadowUntil = "shadow", base.Add(7*24*time.Hour)
	if err := s.CreateExclusion(ctx, rec); err != nil {
		t.Fatalf("CreateExclusion = %v", err)
	}
	if err := s.CreateExclusion(ctx, rec); !errors.Is(err, state.ErrExists) {
		t.Errorf("CreateExclusion twice = %v, want ErrExists", err)
	}
	got, err := s.Exclusion(ctx, "health")
	if err != nil || !sameExclusion(got, rec) {
		t.Errorf("Exclusion(health) = %+v, %v; want %+v", got, err, rec)
	}
	upd := rec
	upd.Body, upd.Mode, upd.ShadowUntil = []byte(`{"id":"health","mode":"active"}`), "active", time.Time{}
	upd.ExpiresAt, upd.UpdatedAt, upd.UpdatedBy = base.Add(30*24*time.Hour), base.Add(time.Hour), "bob"
	upd.CreatedBy, upd.CreatedAt = "mallory", base.Add(time.Hour) // not updatable
	if err := s.UpdateExclusion(ctx, upd); err != nil {
		t.Fatalf("UpdateExclusion = %v", err)
	}
	want := upd
	want.CreatedBy, want.CreatedAt = rec.CreatedBy, rec.CreatedAt
	if got, err := s.Exclusion(ctx, "health"); err != nil || !sameExclusion(got, want) {
		t.Errorf("Exclusion(health) after update = %+v, %v; want %+v", got, err, want)
	}
	if err := s.DeleteExclusion(ctx, "health"); err != nil {
		t.Fatalf("DeleteExclusion = %v", err)
	}
	if _, err := s.Exclusion(ctx, "health"); !errors.Is(err, state.ErrNotFound) {
		t.Errorf("Exclusion(health) after delete = %v, want ErrNotFound", err)
	}
}

func testExclusionFilters(t *testing.T, s state.ExclusionStore) {
	ctx := context.Background()
	recs := []state.ExclusionRecord{
		exclusionRecord("c-never", time.Time{}),
		exclusionRecord("a-soon", base.Add(time.Hour)),
		exclusionRecord("b-later", base.Add(48*time.Hour)),
	}
	recs[2].Mode = "shadow"
	for _, r := range recs {
		if err := s.CreateExclusion(ctx, r); err != nil {
			t.Fatal(err)
		}
	}
	ids := func(f state.ExclusionFilter) []string {
		list, err := s.Exclusions(ctx, f)
		if err != nil {
			t.Fatalf("Exclusions(%+v) = %v", f, err)
		}
		out := []string{}
		for _, r := range list {
			out = append(out, r.ID)
		}
		return out
	}
	at := base.Add(2 * time.Hour)
	tests := []struct {
		name string
		f    state.ExclusionFilter
		want []string
	}{
		{"all, by id", state.ExclusionFilter{}, []string{"a-soon", "b-later", "c-never"}},
		{"live", state.ExclusionFilter{LiveAt: at}, []string{"b-later", "c-never"}},
		{"live at the expiry", state.ExclusionFilter{LiveAt: base.Add(time.Hour)}, []string{"b-later", "c-never"}},
		{"expired", state.ExclusionFilter{ExpiredAt: at}, []string{"a-soon"}},
		{"expired later", state.ExclusionFilter{ExpiredAt: base.Add(72 * time.Hour)}, []string{"a-soon", "b-later"}},
		{"mode", state.ExclusionFilter{Mode: "shadow"}, []string{"b-later"}},
	}
	for _, tc := range tests {
		if got := ids(tc.f); !equalStrings(got, tc.want) {
			t.Errorf("%s: Exclusions(%+v) = %v, want %v", tc.name, tc.f, got, tc.want)
		}
	}
}

func equalStrings(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func testExclusionHits(t *testing.T, s state.ExclusionStore) {
	ctx := context.Background()
	for _, id := range []string{"a", "b"} {
		if err := s.CreateExclusion(ctx, exclusionRecord(id, time.Time{})); err != nil {
			t.Fatal(err)
		}
	}
	steps := [][]state.ExclusionHits{
		{{ID: "a", Rows: 10, Last: base.Add(time.Minute)}, {ID: "missing", Rows: 5, Last: base}},
		{{ID: "a", Rows: 3, Last: base}, {ID: "b", Rows: 0}}, // an older last hit does not move it back
		{{ID: "b", Rows: 7, Last: base.Add(time.Hour)}},
	}
	for _, h := range steps {
		if err := s.AddExclusionHits(ctx, h); err != nil {
			t.Fatalf("AddExclusionHits(%v) = %v", h, err)
		}
	}
	a, _ := s.Exclusion(ctx, "a")
	b, _ := s.Exclusion(ctx, "b")
	if a.HitCount != 13 || !a.LastHit.Equal(base.Add(time.Minute)) {
		t.Errorf("a: %d hits, last %v; want 13, %v", a.HitCount, a.LastHit, base.Add(time.Minute))
	}
	if b.HitCount != 7 || !b.LastHit.Equal(base.Add(time.Hour)) {
		t.Errorf("b: %d hits, last %v; want 7, %v", b.HitCount, b.LastHit, base.Add(time.Hour))
	}
	upd := a
	upd.Body, upd.UpdatedAt = []byte(`{"id":"a","reason":"x"}`), base.Add(2*time.Hour)
	if err := s.UpdateExclusion(ctx, upd); err != nil {
		t.Fatal(err)
	}
	if a2, _ := s.Exclusion(ctx, "a"); a2.HitCount != 13 {
		t.Errorf("an update reset the hit count to %d, want 13", a2.HitCount)
	}
}

func testShadowSuppressions(t *testing.T, s state.ExclusionStore) {
	ctx := context.Background()
	sup := state.ShadowSuppression{ExclusionID: "shadowed", RuleID: "bulk", Fingerprint: "fp1",
		Labels: map[string]string{"peer_ip": "203.0.113.7"}, StartsAt: base, At: base.Add(time.Minute)}
	if err := s.AddShadowSuppression(ctx, sup); !errors.Is(err, state.ErrNotFound) {
		t.Errorf("AddShadowSuppression for a missing exclusion = %v, want ErrNotFound", err)
	}
	rec := exclusionRecord("shadowed", time.Time{})
	rec.Mode = "shadow"
	if err := s.CreateExclusion(ctx, rec); err != nil {
		t.Fatal(err)
	}
	later := sup
	later.Fingerprint, later.StartsAt, later.At = "fp2", base.Add(time.Hour), base.Add(time.Hour+time.Minute)
	for _, x := range []state.ShadowSuppression{sup, later, sup} {
		if err := s.AddShadowSuppression(ctx, x); err != nil {
			t.Fatalf("AddShadowSuppression = %v", err)
		}
	}
	got, err := s.ShadowSuppressions(ctx, "shadowed", 0)
	if err != nil || len(got) != 2 || got[0].Fingerprint != "fp2" || got[1].Labels["peer_ip"] != "203.0.113.7" || !got[1].StartsAt.Equal(base) {
		t.Errorf("ShadowSuppressions = %+v, %v; want fp2 then fp1, once each", got, err)
	}
	if got, _ := s.ShadowSuppressions(ctx, "shadowed", 1); len(got) != 1 {
		t.Errorf("ShadowSuppressions(limit 1) returned %d", len(got))
	}
	if r, _ := s.Exclusion(ctx, "shadowed"); r.ShadowSuppressions != 2 {
		t.Errorf("the record counts %d shadow suppressions, want 2", r.ShadowSuppressions)
	}
	if err := s.DeleteExclusion(ctx, "shadowed"); err != nil {
		t.Fatal(err)
	}
	if got, err := s.ShadowSuppressions(ctx, "shadowed", 0); err != nil || len(got) != 0 {
		t.Errorf("ShadowSuppressions after delete = %v, %v; want none", got, err)
	}
}

// RunSilenceStore runs the state.SilenceStore suite against a store made
// by newStore; the factory arranges for the store to be closed.
func RunSilenceStore(t *testing.T, newStore func(t *testing.T) state.SilenceStore) {
	testSilences(t, newStore(t))
}

func testSilences(t *testing.T, s state.SilenceStore) {
	ctx := context.Background()
	if got, err := s.Silences(ctx, time.Time{}); err != nil || got == nil || len(got) != 0 {
		t.Errorf("Silences() on an empty store = %v, %v; want an empty, non-nil slice", got, err)
	}
	if err := s.DeleteSilence(ctx, "m"); !errors.Is(err, state.ErrNotFound) {
		t.Errorf("DeleteSilence(m) on an empty store = %v, want ErrNotFound", err)
	}
	recs := []state.SilenceRecord{
		{ID: "later", Body: []byte(`{"id":"later"}`), StartsAt: base.Add(time.Hour), EndsAt: base.Add(3 * time.Hour), CreatedAt: base, CreatedBy: "alice"},
		{ID: "now", Body: []byte(`{"id":"now"}`), StartsAt: base, EndsAt: base.Add(2 * time.Hour), CreatedAt: base, CreatedBy: "bob"},
		{ID: "over", Body: []byte(`{"id":"over"}`), StartsAt: base.Add(-2 * time.Hour), EndsAt: base.Add(-time.Hour), CreatedAt: base, CreatedBy: "bob"},
	}
	for _, r := range recs {
		if err := s.CreateSilence(ctx, r); err != nil {
			t.Fatalf("CreateSilence(%s) = %v", r.ID, err)
		}
	}
	if err := s.CreateSilence(ctx, recs[0]); !errors.Is(err, state.ErrExists) {
		t.Errorf("CreateSilence twice = %v, want ErrExists", err)
	}
	all, err := s.Silences(ctx, time.Time{})
	if err != nil || len(all) != 3 || all[0].ID != "over" || all[1].ID != "now" || all[2].ID != "later" ||
		!all[2].EndsAt.Equal(recs[0].EndsAt) || string(all[2].Body) != `{"id":"later"}` || all[2].CreatedBy != "alice" {
		t.Errorf("Silences() = %+v, %v; want over, now, later", all, err)
	}
	live, err := s.Silences(ctx, base.Add(2*time.Hour))
	if err != nil || len(live) != 1 || live[0].ID != "later" {
		t.Errorf("Silences(ending after +2h) = %+v, %v; want later (now ends exactly then)", live, err)
	}
	if err := s.DeleteSilence(ctx, "now"); err != nil {
		t.Fatal(err)
	}
	if all, _ := s.Silences(ctx, time.Time{}); len(all) != 2 {
		t.Errorf("Silences() after delete = %+v", all)
	}
}
