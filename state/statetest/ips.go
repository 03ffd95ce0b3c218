package statetest

import (
	"context"
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/tracehound/tracehound/state"
)

// RunIPStore runs the IPStore conformance suite against stores made by
// newStore; each subtest gets a new, empty store, which newStore arranges
// to close.
func RunIPStore(t *testing.T, newStore func(t *testing.T) state.IPStore) {
	tests := []struct {
		name string
		fn   func(*testing.T, state.IPStore)
	}{
		{"ApplyIPChange", testApplyIPChange},
		{"IPChanges", testIPChanges},
		{"IPFilters", testIPFilters},
		{"IPStatsAndEnrichment", testIPStatsAndEnrichment},
		{"Decisions", testDecisions},
		{"Bouncers", testBouncers},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tc.fn(t, newStore(t))
		})
	}
}

func blockedState(reason string, sev int, expires time.Time, tags ...string) *state.IPState {
	return &state.IPState{Status: state.IPBlocked, Reason: reason, Source: "manual", Severity: sev, Tags: tags, ExpiresAt: expires}
}

func testApplyIPChange(t *testing.T, s state.IPStore) {
	ctx := context.Background()
	if _, err := s.IP(ctx, "203.0.113.7"); !errors.Is(err, state.ErrNotFound) {
		t.Errorf("IP() on an empty store = %v, want ErrNotFound", err)
	}
	exp := base.Add(time.Hour)
	id1, err := s.ApplyIPChange(ctx, state.IPChange{At: base, Actor: "alice", Reason: "exfil", Action: state.IPActionSet, Source: "manual",
		Items: []state.IPChangeItem{
			{Value: "203.0.113.7", After: blockedState("exfil", 80, exp, "do", "campaign", "do")},
			{Value: "2001:db8::/32", After: &state.IPState{Status: state.IPTrusted, Reason: "office", Source: "manual", Notes: "HQ"}},
		}})
	if err != nil {
		t.Fatalf("ApplyIPChange(create) = %v", err)
	}
	r, err := s.IP(ctx, "203.0.113.7")
	if err != nil {
		t.Fatal(err)
	}
	if r.Status != state.IPBlocked || r.Severity != 80 || !r.ExpiresAt.Equal(exp) || !slices.Equal(r.Tags, []string{"campaign", "do"}) ||
		r.CreatedBy != "alice" || r.UpdatedBy != "alice" || !r.CreatedAt.Equal(base) || !r.UpdatedAt.Equal(base) {
		t.Errorf("IP(203.0.113.7) = %+v", r)
	}

	// A stale Before writes nothing, not even the valid items.
	_, err = s.ApplyIPChange(ctx, state.IPChange{At: base.Add(time.Minute), Actor: "bob", Action: state.IPActionSet,
		Items: []state.IPChangeItem{
			{Value: "198.51.100.1", After: blockedState("x", 0, time.Time{})},
			{Value: "203.0.113.7", Before: blockedState("stale", 80, exp), After: blockedState("y", 0, time.Time{})},
		}})
	if !errors.Is(err, state.ErrIPChangeConflict) {
		t.Errorf("ApplyIPChange(stale before) = %v, want ErrIPChangeConflict", err)
	}
	if _, err := s.IP(ctx, "198.51.100.1"); !errors.Is(err, state.ErrNotFound) {
		t.Errorf("a conflicting change wrote 198.51.100.1: %v", err)
	}
	if _, err := s.IPChange(ctx, id1+1); !errors.Is(err, state.ErrNotFound) {
		t.Errorf("a conflicting change was recorded: %v", err)
	}

	// Update, then delete.
	cur := r.IPState
	next := cur
	next.Status, next.Tags = state.IPMonitoring, []string{"reviewed"}
	id2, err := s.ApplyIPChange(ctx, state.IPChange{At: base.Add(2 * time.Minute), Actor: "bob", Action: state.IPActionSet,
		Items: []state.IPChangeItem{{Value: "203.0.113.7", Before: &cur, After: &next}}})
	if err != nil || id2 <= id1 {
		t.Fatalf("ApplyIPChange(update) = %d, %v; want an id above %d", id2, err, id1)
	}
	r, _ = s.IP(ctx, "203.0.113.7")
	if r.Status != state.IPMonitoring || r.UpdatedBy != "bob" || r.CreatedBy != "alice" || !r.UpdatedAt.Equal(base.Add(2*time.Minute)) ||
		!slices.Equal(r.Tags, []string{"reviewed"}) {
		t.Errorf("IP(203.0.113.7) after update = %+v", r)
	}
	if page, _ := s.IPs(ctx, state.IPFilter{Tag: "do"}); page.Total != 0 {
		t.Errorf("IPs(tag do) after the tag was removed = %d records", page.Total)
	}
	if _, err := s.ApplyIPChange(ctx, state.IPChange{At: base.Add(3 * time.Minute), Actor: "bob", Action: state.IPActionUndo, UndoOf: id2,
		Items: []state.IPChangeItem{{Value: "203.0.113.7", Before: &next, After: nil}}}); err != nil {
		t.Fatalf("ApplyIPChange(delete) = %v", err)
	}
	if _, err := s.IP(ctx, "203.0.113.7"); !errors.Is(err, state.ErrNotFound) {
		t.Errorf("IP() after delete = %v, want ErrNotFound", err)
	}
	if c, _ := s.IPChange(ctx, id2); c.UndoneBy == 0 {
		t.Errorf("IPChange(%d).UndoneBy = 0 after it was undone", id2)
	}
	if _, err := s.ApplyIPChange(ctx, state.IPChange{At: base, Actor: "x", Action: state.IPActionUndo, UndoOf: id2}); !errors.Is(err, state.ErrIPChangeConflict) {
		t.Errorf("undoing twice = %v, want ErrIPChangeConflict", err)
	}

	// Shadow changes are recorded, not applied.
	if _, err := s.ApplyIPChange(ctx, state.IPChange{At: base, Actor: "rule", Action: state.IPActionSet, Source: "rule:r1", Shadow: true,
		Items: []state.IPChangeItem{{Value: "192.0.2.1", After: blockedState("would", 0, time.Time{})}}}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.IP(ctx, "192.0.2.1"); !errors.Is(err, state.ErrNotFound) {
		t.Errorf("a shadow change wrote a record: %v", err)
	}
	got, err := s.LookupIPs(ctx, []string{"2001:db8::/32", "192.0.2.1", "203.0.113.7"})
	if err != nil || len(got) != 1 || got["2001:db8::/32"].Notes != "HQ" {
		t.Errorf("LookupIPs() = %+v, %v; want only 2001:db8::/32", got, err)
	}
}

func testIPChanges(t *testing.T, s state.IPStore) {
	ctx := context.Background()
	var ids []int64
	for i, v := range []string{"203.0.113.1", "203.0.113.2", "203.0.113.1"} {
		var before *state.IPState
		if i == 2 {
			before = blockedState("r0", 0, time.Time{})
		}
		id, err := s.ApplyIPChange(ctx, state.IPChange{At: base.Add(time.Duration(i) * time.Minute), Actor: "a", Reason: "r", Action: state.IPActionSet,
			Items: []state.IPChangeItem{{Value: v, Before: before, After: blockedState("r"+string(rune('0'+i)), 0, time.Time{})}}})
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, id)
	}
	revoke, err := s.ApplyIPChange(ctx, state.IPChange{At: base.Add(time.Hour), Actor: "a", Action: state.IPActionRevokeAPIKey, Subject: "key_1"})
	if err != nil {
		t.Fatal(err)
	}
	hist, err := s.IPChanges(ctx, state.IPChangeFilter{Value: "203.0.113.1"})
	if err != nil || len(hist) != 2 || hist[0].ID != ids[2] || hist[1].ID != ids[0] || hist[0].Items[0].Before.Reason != "r0" {
		t.Errorf("IPChanges(value) = %+v, %v; want changes %d and %d, newest first", hist, err, ids[2], ids[0])
	}
	if c, err := s.IPChanges(ctx, state.IPChangeFilter{Action: state.IPActionRevokeAPIKey}); err != nil || len(c) != 1 || c[0].Subject != "key_1" || c[0].ID != revoke || c[0].Items == nil {
		t.Errorf("IPChanges(revoke) = %+v, %v", c, err)
	}
	if c, err := s.IPChanges(ctx, state.IPChangeFilter{BeforeID: revoke, Limit: 2}); err != nil || len(c) != 2 || c[0].ID != ids[2] || c[1].ID != ids[1] {
		t.Errorf("IPChanges(page) = %+v, %v", c, err)
	}
	no := false
	if c, err := s.IPChanges(ctx, state.IPChangeFilter{Shadow: &no}); err != nil || len(c) != 4 {
		t.Errorf("IPChanges(not shadow) = %d, %v; want 4", len(c), err)
	}
	if c, err := s.IPChanges(ctx, state.IPChangeFilter{Value: "192.0.2.9"}); err != nil || c == nil || len(c) != 0 {
		t.Errorf("IPChanges(unknown value) = %v, %v; want empty, non-nil", c, err)
	}
}

func testIPFilters(t *testing.T, s state.IPStore) {
	ctx := context.Background()
	type rec struct {
		value, status string
		sev           int
		tags          []string
		notes         string
		expires       time.Duration
	}
	recs := []rec{
		{"104.248.73.19", state.IPBlocked, 90, []string{"do", "exfil"}, "DigitalOcean NL", time.Hour},
		{"104.248.0.0/16", state.IPMonitoring, 10, []string{"do"}, "", 0},
		{"167.71.205.88", state.IPBlocked, 90, []string{"do"}, "second IP", 3 * time.Hour},
		{"10.0.0.0/8", state.IPTrusted, 0, nil, "office 100%_match", 0},
		{"2001:db8::1", state.IPInvestigating, 50, []string{"v6"}, "", 30 * time.Minute},
		{"2001:db8::/32", state.IPBlocked, 30, nil, "", 0},
	}
	for i, r := range recs {
		var exp time.Time
		if r.expires != 0 {
			exp = base.Add(r.expires)
		}
		if _, err := s.ApplyIPChange(ctx, state.IPChange{At: base.Add(time.Duration(i) * time.Second), Actor: "a", Action: state.IPActionSet,
			Items: []state.IPChangeItem{{Value: r.value, After: &state.IPState{Status: r.status, Source: "manual", Severity: r.sev, Tags: r.tags, Notes: r.notes, ExpiresAt: exp}}}}); err != nil {
			t.Fatalf("ApplyIPChange(%s) = %v", r.value, err)
		}
	}
	values := func(p state.IPPage) []string {
		out := []string{}
		for _, r := range p.Records {
			out = append(out, r.Value)
		}
		return out
	}
	tests := []struct {
		name  string
		f     state.IPFilter
		want  []string
		total int
	}{
		{"all by value", state.IPFilter{}, []string{"10.0.0.0/8", "104.248.0.0/16", "104.248.73.19", "167.71.205.88", "2001:db8::/32", "2001:db8::1"}, 6},
		{"status", state.IPFilter{Statuses: []string{state.IPBlocked, state.IPTrusted}}, []string{"10.0.0.0/8", "104.248.73.19", "167.71.205.88", "2001:db8::/32"}, 4},
		{"tag", state.IPFilter{Tag: "do"}, []string{"104.248.0.0/16", "104.248.73.19", "167.71.205.88"}, 3},
		{"within", state.IPFilter{Within: "104.248.0.0/16"}, []string{"104.248.0.0/16", "104.248.73.19"}, 2},
		{"within v6", state.IPFilter{Within: "2001:db8::/32"}, []string{"2001:db8::/32", "2001:db8::1"}, 2},
		{"containing", state.IPFilter{Containing: "104.248.73.19"}, []string{"104.248.0.0/16", "104.248.73.19"}, 2},
		{"containing range", state.IPFilter{Containing: "10.1.0.0/16"}, []string{"10.0.0.0/8"}, 1},
		{"containing v6", state.IPFilter{Containing: "2001:db8::1"}, []string{"2001:db8::/32", "2001:db8::1"}, 2},
		{"text", state.IPFilter{Text: "digitalocean"}, []string{"104.248.73.19"}, 1},
		{"short text scans", state.IPFilter{Text: "nl"}, []string{"104.248.73.19"}, 1},
		{"text wildcard is literal", state.IPFilter{Text: "100%_"}, []string{"10.0.0.0/8"}, 1},
		{"text matches tags", state.IPFilter{Text: "exfil"}, []string{"104.248.73.19"}, 1},
		{"expires before", state.IPFilter{ExpiresBefore: base.Add(2 * time.Hour)}, []string{"104.248.73.19", "2001:db8::1"}, 2},
		{"expires after", state.IPFilter{ExpiresAfter: base.Add(2 * time.Hour)}, []string{"167.71.205.88"}, 1},
		{"active at", state.IPFilter{ActiveAt: base.Add(2 * time.Hour), Statuses: []string{state.IPBlocked}}, []string{"167.71.205.88", "2001:db8::/32"}, 2},
		{"severity desc, ties by value desc", state.IPFilter{Sort: state.IPSortSeverity, Desc: true, Limit: 3}, []string{"167.71.205.88", "104.248.73.19", "2001:db8::1"}, 6},
		{"expires asc page 2", state.IPFilter{Sort: state.IPSortExpiresAt, Statuses: []string{state.IPBlocked, state.IPInvestigating}, Limit: 2, Offset: 2},
			[]string{"104.248.73.19", "167.71.205.88"}, 4},
		{"created desc", state.IPFilter{Sort: state.IPSortCreatedAt, Desc: true, Limit: 1}, []string{"2001:db8::/32"}, 6},
	}
	for _, tc := range tests {
		page, err := s.IPs(ctx, tc.f)
		if err != nil {
			t.Errorf("IPs(%s) = %v", tc.name, err)
			continue
		}
		if got := values(page); !slices.Equal(got, tc.want) || page.Total != tc.total {
			t.Errorf("IPs(%s) = %v (total %d), want %v (total %d)", tc.name, got, page.Total, tc.want, tc.total)
		}
	}
	if _, err := s.IPs(ctx, state.IPFilter{Sort: "password"}); err == nil {
		t.Error("IPs(sort password) succeeded, want an error")
	}
	if page, err := s.IPs(ctx, state.IPFilter{Tag: "none"}); err != nil || page.Records == nil || len(page.Records) != 0 {
		t.Errorf("IPs(no match) = %+v, %v; want an empty, non-nil page", page, err)
	}
}

func testIPStatsAndEnrichment(t *testing.T, s state.IPStore) {
	ctx := context.Background()
	if _, err := s.ApplyIPChange(ctx, state.IPChange{At: base, Actor: "a", Action: state.IPActionSet,
		Items: []state.IPChangeItem{{Value: "104.248.73.19", After: &state.IPState{Status: state.IPMonitoring, Source: "detector"}}}}); err != nil {
		t.Fatal(err)
	}
	if err := s.SetIPEnrichment(ctx, "104.248.73.19", []byte(`{"asn":14061}`), base); err != nil {
		t.Fatal(err)
	}
	if err := s.SetIPEnrichment(ctx, "192.0.2.1", []byte(`{}`), base); !errors.Is(err, state.ErrNotFound) {
		t.Errorf("SetIPEnrichment(no record) = %v, want ErrNotFound", err)
	}
	n, err := s.UpdateIPStats(ctx, []state.IPStats{
		{Value: "104.248.73.19", FirstSeen: base.Add(time.Hour), LastSeen: base.Add(2 * time.Hour), RequestCount: 47, ByteCount: 8_000_000},
		{Value: "192.0.2.1", FirstSeen: base, LastSeen: base, RequestCount: 1},
	})
	if err != nil || n != 1 {
		t.Fatalf("UpdateIPStats() = %d, %v; want 1 record updated", n, err)
	}
	if _, err := s.UpdateIPStats(ctx, []state.IPStats{{Value: "104.248.73.19", FirstSeen: base.Add(3 * time.Hour), LastSeen: base.Add(90 * time.Minute), RequestCount: 3214, ByteCount: 9}}); err != nil {
		t.Fatal(err)
	}
	r, _ := s.IP(ctx, "104.248.73.19")
	if string(r.Enrichment) != `{"asn":14061}` || !r.EnrichedAt.Equal(base) || !r.FirstSeen.Equal(base.Add(time.Hour)) ||
		!r.LastSeen.Equal(base.Add(2*time.Hour)) || r.RequestCount != 3214 || r.ByteCount != 9 {
		t.Errorf("IP() after stats = %+v; want earliest first seen, latest last seen, replaced counts", r)
	}
	if page, _ := s.IPs(ctx, state.IPFilter{Sort: state.IPSortRequests, Desc: true}); len(page.Records) != 1 {
		t.Errorf("IPs(sort requests) = %+v", page)
	}
}

func testDecisions(t *testing.T, s state.IPStore) {
	ctx := context.Background()
	t1 := base.Add(time.Minute)
	want := []state.Decision{
		{Value: "203.0.113.7", Scenario: "exfil", Until: base.Add(time.Hour)},
		{Value: "198.51.100.0/24", Scenario: "scan"},
		{Value: "2001:db8::/48", Scenario: "v6", Until: base.Add(10 * time.Minute)},
	}
	if c, d, err := s.SyncDecisions(ctx, want, t1); err != nil || c != 3 || d != 0 {
		t.Fatalf("SyncDecisions(first) = %d, %d, %v; want 3 created", c, d, err)
	}
	if c, d, err := s.SyncDecisions(ctx, want, t1.Add(time.Second)); err != nil || c != 0 || d != 0 {
		t.Errorf("SyncDecisions(same) = %d, %d, %v; want no change", c, d, err)
	}
	active, err := s.ActiveDecisions(ctx, t1, "198.51.100.9")
	if err != nil || len(active) != 1 || active[0].Value != "198.51.100.0/24" || !active[0].CreatedAt.Equal(t1) {
		t.Errorf("ActiveDecisions(containing 198.51.100.9) = %+v, %v", active, err)
	}
	if active, _ := s.ActiveDecisions(ctx, t1, "2001:db8::1"); len(active) != 1 {
		t.Errorf("ActiveDecisions(containing 2001:db8::1) = %+v", active)
	}
	if active, _ := s.ActiveDecisions(ctx, base.Add(11*time.Minute), ""); len(active) != 2 {
		t.Errorf("ActiveDecisions(after the v6 expiry) = %+v; want 2", active)
	}

	// 203.0.113.7 is extended (a new decision replaces the old), the range
	// is removed.
	t2 := base.Add(5 * time.Minute)
	want2 := []state.Decision{{Value: "203.0.113.7", Scenario: "exfil", Until: base.Add(2 * time.Hour)}, want[2]}
	if c, d, err := s.SyncDecisions(ctx, want2, t2); err != nil || c != 1 || d != 2 {
		t.Fatalf("SyncDecisions(second) = %d, %d, %v; want 1 created, 2 deleted", c, d, err)
	}
	// A bouncer that pulled at t1 sees the extension as new, the range as
	// deleted, and not the replaced decision of a value still active.
	created, deleted, err := s.DecisionChanges(ctx, t1, t2.Add(time.Second))
	if err != nil {
		t.Fatal(err)
	}
	vals := func(ds []state.Decision) []string {
		out := []string{}
		for _, d := range ds {
			out = append(out, d.Value)
		}
		return out
	}
	if !slices.Equal(vals(created), []string{"203.0.113.7"}) || !slices.Equal(vals(deleted), []string{"198.51.100.0/24"}) {
		t.Errorf("DecisionChanges(t1) = new %v, deleted %v", vals(created), vals(deleted))
	}
	// Expiry shows as deleted without any sync.
	_, deleted, _ = s.DecisionChanges(ctx, t2, base.Add(11*time.Minute))
	if !slices.Equal(vals(deleted), []string{"2001:db8::/48"}) {
		t.Errorf("DecisionChanges(across the expiry) deleted = %v; want 2001:db8::/48", vals(deleted))
	}
	// A sync after the expiry deletes it at its until, so it is not
	// reported again to a bouncer that pulled after that.
	if _, d, err := s.SyncDecisions(ctx, want2[:1], base.Add(20*time.Minute)); err != nil || d != 1 {
		t.Errorf("SyncDecisions(after expiry) = %d deleted, %v", d, err)
	}
	if _, deleted, _ := s.DecisionChanges(ctx, base.Add(15*time.Minute), base.Add(21*time.Minute)); len(deleted) != 0 {
		t.Errorf("DecisionChanges(after expiry was reported) deleted = %v; want none", vals(deleted))
	}
}

func testBouncers(t *testing.T, s state.IPStore) {
	ctx := context.Background()
	if bs, err := s.Bouncers(ctx); err != nil || bs == nil || len(bs) != 0 {
		t.Errorf("Bouncers() on an empty store = %v, %v", bs, err)
	}
	b, err := s.AddBouncer(ctx, state.Bouncer{Name: "fw", KeyHash: "h1", CreatedAt: base})
	if err != nil || b.ID == 0 {
		t.Fatalf("AddBouncer() = %+v, %v", b, err)
	}
	if _, err := s.AddBouncer(ctx, state.Bouncer{Name: "fw", KeyHash: "h2", CreatedAt: base}); !errors.Is(err, state.ErrBouncerExists) {
		t.Errorf("AddBouncer(same name) = %v, want ErrBouncerExists", err)
	}
	if _, err := s.AddBouncer(ctx, state.Bouncer{Name: "cdn", KeyHash: "h3", CreatedAt: base}); err != nil {
		t.Fatal(err)
	}
	if err := s.SetBouncerPull(ctx, b.ID, base.Add(time.Minute)); err != nil {
		t.Fatal(err)
	}
	got, err := s.BouncerByKeyHash(ctx, "h1")
	if err != nil || got.Name != "fw" || !got.LastPull.Equal(base.Add(time.Minute)) || !got.CreatedAt.Equal(base) {
		t.Errorf("BouncerByKeyHash(h1) = %+v, %v", got, err)
	}
	if _, err := s.BouncerByKeyHash(ctx, "nope"); !errors.Is(err, state.ErrNotFound) {
		t.Errorf("BouncerByKeyHash(nope) = %v, want ErrNotFound", err)
	}
	if bs, _ := s.Bouncers(ctx); len(bs) != 2 || bs[0].Name != "cdn" || !bs[0].LastPull.IsZero() {
		t.Errorf("Bouncers() = %+v; want cdn then fw", bs)
	}
	if err := s.DeleteBouncer(ctx, "fw"); err != nil {
		t.Fatal(err)
	}
	if err := s.DeleteBouncer(ctx, "fw"); !errors.Is(err, state.ErrNotFound) {
		t.Errorf("DeleteBouncer(twice) = %v, want ErrNotFound", err)
	}
	if _, err := s.BouncerByKeyHash(ctx, "h1"); !errors.Is(err, state.ErrNotFound) {
		t.Errorf("deleted bouncer's key still resolves: %v", err)
	}
}
