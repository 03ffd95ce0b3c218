package contain_test

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/tracehound/tracehound/contain"
	"github.com/tracehound/tracehound/state"
)

// TestSetIfAbsent: a record created only where none exists never replaces
// a status set meanwhile.
func TestSetIfAbsent(t *testing.T) {
	ctx := context.Background()
	c, s, _ := newContainment(t, false, contain.Options{})
	mustSet(t, c, contain.SetRequest{IPs: []string{"203.0.113.7"}, Status: state.IPBlocked, Duration: time.Hour, Reason: "rule", Actor: "system"})
	res := mustSet(t, c, contain.SetRequest{IPs: []string{"203.0.113.7", "203.0.113.8"}, Status: state.IPMonitoring, Reason: "enriched",
		Actor: "system", IfAbsent: true})
	if !slices.Equal(res.Changed, []string{"203.0.113.8"}) || !slices.Equal(res.Unchanged, []string{"203.0.113.7"}) {
		t.Errorf("Set(IfAbsent) = %+v; want only the new address changed", res)
	}
	if r, err := s.IP(ctx, "203.0.113.7"); err != nil || r.Status != state.IPBlocked {
		t.Errorf("the blocked address after Set(IfAbsent): %+v, %v; want still blocked", r, err)
	}
}

// TestTagKeepsStatus: Tag replaces the tags under a prefix, keeps the
// status and expiry, creates monitoring records for new addresses, and
// undoes like any change.
func TestTagKeepsStatus(t *testing.T) {
	ctx := context.Background()
	c, s, _ := newContainment(t, false, contain.Options{})
	mustSet(t, c, contain.SetRequest{IPs: []string{"203.0.113.7"}, Status: state.IPBlocked, Duration: time.Hour, Reason: "rule",
		Actor: "alice", Tags: []string{"campaign-1", "detector:suspicious"}})
	before, _ := s.IP(ctx, "203.0.113.7")
	id, err := c.Tag(ctx, contain.TagRequest{IPs: []string{"203.0.113.7", "198.51.100.2"}, Add: []string{"detector:malicious"},
		ReplacePrefix: "detector:", Reason: "verdict", Actor: "system", Source: contain.SourceDetector})
	if err != nil || id == 0 {
		t.Fatalf("Tag = %d, %v", id, err)
	}
	r, _ := s.IP(ctx, "203.0.113.7")
	if r.Status != state.IPBlocked || !r.ExpiresAt.Equal(before.ExpiresAt) || !slices.Equal(r.Tags, []string{"campaign-1", "detector:malicious"}) {
		t.Errorf("tagged blocked address: %+v; want blocked as before, the verdict tag replaced", r)
	}
	n, _ := s.IP(ctx, "198.51.100.2")
	if n.Status != state.IPMonitoring || !slices.Equal(n.Tags, []string{"detector:malicious"}) || n.Source != contain.SourceDetector {
		t.Errorf("tagged new address: %+v; want a monitoring record with the tag", n)
	}
	if again, err := c.Tag(ctx, contain.TagRequest{IPs: []string{"203.0.113.7"}, Add: []string{"detector:malicious"}, ReplacePrefix: "detector:",
		Actor: "system", Source: contain.SourceDetector}); err != nil || again != 0 {
		t.Errorf("the same tag again = %d, %v; want no change", again, err)
	}
	if _, err := c.Undo(ctx, id, "alice"); err != nil {
		t.Fatal(err)
	}
	if r, _ := s.IP(ctx, "203.0.113.7"); !slices.Equal(r.Tags, []string{"campaign-1", "detector:suspicious"}) || r.Status != state.IPBlocked {
		t.Errorf("after undo: %+v; want the earlier tags", r)
	}
}

// TestRevokeShadow: a shadow revocation is recorded, sends nothing and
// cannot be undone; an enforced one from a rule carries its source.
func TestRevokeShadow(t *testing.T) {
	ctx := context.Background()
	c, s, _ := newContainment(t, false, contain.Options{})
	id, err := c.Revoke(ctx, contain.RevokeRequest{KeyID: "key-1", Reason: "rule r", Actor: "system", Source: "rule:r", Shadow: true})
	if err != nil {
		t.Fatal(err)
	}
	ch, err := s.IPChange(ctx, id)
	if err != nil || !ch.Shadow || ch.Source != "rule:r" || ch.Subject != "key-1" || ch.Action != state.IPActionRevokeAPIKey {
		t.Errorf("shadow revocation = %+v, %v", ch, err)
	}
	if _, err := c.Undo(ctx, id, "alice"); err == nil {
		t.Error("undo of a shadow revocation succeeded; want refused")
	}
	if _, err := c.Revoke(ctx, contain.RevokeRequest{KeyID: "key-1", Actor: "system", Source: "rule with space"}); err == nil {
		t.Error("a revocation with a bad source was accepted")
	}
}
