package contain_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tracehound/tracehound/contain"
	"github.com/tracehound/tracehound/state"
)

func effectiveValues(t *testing.T, c *contain.Containment, now time.Time) []string {
	t.Helper()
	bl, err := c.Effective(context.Background(), now)
	if err != nil {
		t.Fatalf("Effective() = %v", err)
	}
	out := []string{}
	for _, e := range bl.Entries {
		out = append(out, contain.Value(e.Prefix))
	}
	return out
}

func activeDecisionValues(t *testing.T, s state.IPStore, now time.Time) []string {
	t.Helper()
	ds, err := s.ActiveDecisions(context.Background(), now, "")
	if err != nil {
		t.Fatalf("ActiveDecisions() = %v", err)
	}
	out := []string{}
	for _, d := range ds {
		out = append(out, d.Value)
	}
	slices.Sort(out)
	return out
}

func TestParsePrefix(t *testing.T) {
	tests := []struct {
		in, want string
		ok       bool
	}{
		{"203.0.113.7", "203.0.113.7", true},
		{" 203.0.113.7\n", "203.0.113.7", true},
		{"203.0.113.7/32", "203.0.113.7", true},
		{"198.51.100.9/24", "198.51.100.0/24", true},
		{"2001:DB8::1", "2001:db8::1", true},
		{"2001:db8:0:0::/32", "2001:db8::/32", true},
		{"::ffff:192.0.2.1", "192.0.2.1", true},
		{"::ffff:192.0.2.0/120", "192.0.2.0/24", true},
		{"0.0.0.0/0", "0.0.0.0/0", true},
		{"fe80::1%eth0", "", false},
		{"203.0.113.256", "", false},
		{"203.0.113.7/33", "", false},
		{"example.com", "", false},
		{"", "", false},
		{"1.2.3.4/", "", false},
		{"01.2.3.4", "", false},
	}
	for _, tc := range tests {
		got, err := contain.CanonicalValue(tc.in)
		if tc.ok && (err != nil || got != tc.want) {
			t.Errorf("CanonicalValue(%q) = %q, %v; want %q", tc.in, got, err, tc.want)
		}
		if !tc.ok && !errors.Is(err, contain.ErrInvalid) {
			t.Errorf("CanonicalValue(%q) = %q, %v; want ErrInvalid", tc.in, got, err)
		}
	}
}

func TestSetValidation(t *testing.T) {
	c, _, _ := newContainment(t, false, contain.Options{})
	tests := []struct {
		name    string
		req     contain.SetRequest
		message string
	}{
		{"bad status", contain.SetRequest{IPs: []string{"203.0.113.7"}, Status: "banned", Actor: "a"}, `unknown status "banned"`},
		{"bad source", contain.SetRequest{IPs: []string{"203.0.113.7"}, Status: "blocked", Actor: "a", Source: "rule:"}, `unknown source "rule:"`},
		{"bad addresses", contain.SetRequest{IPs: []string{"203.0.113.7", "nope", "fe80::1%eth0"}, Status: "blocked", Actor: "a"}, `"nope" is not an address`},
		{"whole space", contain.SetRequest{IPs: []string{"::/0"}, Status: "blocked", Actor: "a"}, "whole address space"},
		{"no actor", contain.SetRequest{IPs: []string{"203.0.113.7"}, Status: "blocked"}, "no actor"},
		{"severity", contain.SetRequest{IPs: []string{"203.0.113.7"}, Status: "blocked", Actor: "a", Severity: 101}, "severity 101"},
		{"nothing", contain.SetRequest{Status: "blocked", Actor: "a"}, "no address"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := c.Set(context.Background(), tc.req)
			if !errors.Is(err, contain.ErrInvalid) || !strings.Contains(err.Error(), tc.message) {
				t.Errorf("Set(%+v) = %v; want ErrInvalid mentioning %q", tc.req, err, tc.message)
			}
		})
	}
	if _, err := c.Set(context.Background(), tests[2].req); !strings.Contains(err.Error(), "zone") {
		t.Errorf("Set with two bad addresses = %v; want both reported", err)
	}
}

func TestSetCanonicalisesAndRecordsHistory(t *testing.T) {
	ctx := context.Background()
	c, s, clk := newContainment(t, false, contain.Options{})
	res := mustSet(t, c, contain.SetRequest{IPs: []string{"203.0.113.7", "198.51.100.9/24", "::ffff:192.0.2.1", "2001:DB8::/32", "203.0.113.7/32"},
		Status: state.IPBlocked, Duration: 24 * time.Hour, Reason: "exfiltration", Actor: "alice", Severity: 80, Tags: []string{"do", "campaign-1"}})
	want := []string{"203.0.113.7", "198.51.100.0/24", "192.0.2.1", "2001:db8::/32"}
	if !slices.Equal(res.Changed, want) || res.ChangeID == 0 {
		t.Fatalf("Set() = %+v; want changed %v in one change", res, want)
	}
	r, err := s.IP(ctx, "198.51.100.0/24")
	if err != nil {
		t.Fatal(err)
	}
	if r.Status != state.IPBlocked || r.Severity != 80 || r.CreatedBy != "alice" || !r.ExpiresAt.Equal(t0.Add(24*time.Hour)) ||
		!slices.Equal(r.Tags, []string{"campaign-1", "do"}) || r.Source != contain.SourceManual {
		t.Errorf("IP(198.51.100.0/24) = %+v", r)
	}
	// The same state at the same time changes nothing.
	again := mustSet(t, c, contain.SetRequest{IPs: []string{"192.0.2.1"}, Status: state.IPBlocked, Duration: 24 * time.Hour,
		Reason: "exfiltration", Severity: 80, Tags: []string{"do"}})
	if again.ChangeID != 0 || !slices.Equal(again.Unchanged, []string{"192.0.2.1"}) {
		t.Errorf("Set(same state) = %+v; want no change", again)
	}
	clk.Advance(time.Minute)
	// A minute later the expiry moves: a change.
	if again := mustSet(t, c, contain.SetRequest{IPs: []string{"192.0.2.1"}, Status: state.IPBlocked, Duration: 24 * time.Hour,
		Reason: "exfiltration"}); again.ChangeID == 0 {
		t.Errorf("Set(same, a minute later) = %+v; want a change (the expiry moves)", again)
	}
	mustSet(t, c, contain.SetRequest{IPs: []string{"192.0.2.1"}, Status: state.IPInvestigating, Reason: "checking", Actor: "bob"})
	hist, err := s.IPChanges(ctx, state.IPChangeFilter{Value: "192.0.2.1"})
	if err != nil {
		t.Fatal(err)
	}
	if len(hist) != 3 {
		t.Fatalf("IPChanges(192.0.2.1) = %d changes, want 3", len(hist))
	}
	last := hist[0]
	if last.Actor != "bob" || len(last.Items) != 1 || last.Items[0].Before.Status != state.IPBlocked ||
		last.Items[0].After.Status != state.IPInvestigating || last.Reason != "checking" {
		t.Errorf("latest history entry = %+v; want bob: blocked → investigating", last)
	}
	if hist[2].Items[0].Before != nil {
		t.Errorf("first history entry before = %+v, want nil (no record)", hist[2].Items[0].Before)
	}
	if got := effectiveValues(t, c, clk.Now()); !slices.Equal(got, []string{"198.51.100.0/24", "203.0.113.7", "2001:db8::/32"}) {
		t.Errorf("Effective() = %v", got)
	}
}

func TestTrustedBeatsBlocked(t *testing.T) {
	ctx := context.Background()
	c, s, clk := newContainment(t, false, contain.Options{})
	mustSet(t, c, contain.SetRequest{IPs: []string{"10.0.0.0/8", "2001:db8::5"}, Status: state.IPTrusted, Reason: "office"})

	for _, ip := range []string{"10.1.2.3", "10.0.0.0/8", "10.0.0.0/16", "2001:db8::5"} {
		_, err := c.Set(ctx, contain.SetRequest{IPs: []string{"203.0.113.9", ip}, Status: state.IPBlocked, Actor: "a"})
		if !errors.Is(err, contain.ErrTrusted) || !strings.Contains(err.Error(), "trusted entry") {
			t.Errorf("Set(blocked, %s) = %v; want ErrTrusted naming the trusted entry", ip, err)
		}
	}
	if _, err := s.IP(ctx, "203.0.113.9"); !errors.Is(err, state.ErrNotFound) {
		t.Errorf("a refused Set wrote 203.0.113.9: %v", err)
	}

	// A block around trusted addresses is carved.
	mustSet(t, c, contain.SetRequest{IPs: []string{"8.0.0.0/6", "2001:db8::/125"}, Status: state.IPBlocked, Reason: "range"})
	bl, err := c.Effective(ctx, clk.Now())
	if err != nil {
		t.Fatal(err)
	}
	covered := func(a string) bool {
		addr := netip.MustParseAddr(a)
		for _, e := range bl.Entries {
			if e.Prefix.Contains(addr) {
				return true
			}
		}
		return false
	}
	for a, want := range map[string]bool{"8.0.0.1": true, "9.255.255.255": true, "10.0.0.1": false, "10.255.255.255": false,
		"11.0.0.0": true, "2001:db8::4": true, "2001:db8::5": false, "2001:db8::6": true} {
		if got := covered(a); got != want {
			t.Errorf("effective blocklist covers %s = %v, want %v (entries %v)", a, got, want, effectiveValues(t, c, clk.Now()))
		}
	}
	if got := activeDecisionValues(t, s, clk.Now()); slices.Contains(got, "8.0.0.0/6") || !slices.Contains(got, "11.0.0.0/8") {
		t.Errorf("decisions = %v; want the carved range, never the whole 8.0.0.0/6", got)
	}

	// Trusting a range moves the blocks inside it to monitoring, in one
	// change that undo reverts.
	mustSet(t, c, contain.SetRequest{IPs: []string{"192.0.2.5", "192.0.2.77"}, Status: state.IPBlocked, Reason: "scan"})
	trust := mustSet(t, c, contain.SetRequest{IPs: []string{"192.0.2.0/24"}, Status: state.IPTrusted, Reason: "partner range"})
	if !slices.Equal(trust.Changed, []string{"192.0.2.0/24", "192.0.2.5", "192.0.2.77"}) {
		t.Errorf("Set(trusted 192.0.2.0/24).Changed = %v; want the range and the two blocks it supersedes", trust.Changed)
	}
	if r, _ := s.IP(ctx, "192.0.2.5"); r.Status != state.IPMonitoring {
		t.Errorf("192.0.2.5 after trusting its range = %s, want monitoring", r.Status)
	}
	if got := activeDecisionValues(t, s, clk.Now()); slices.Contains(got, "192.0.2.5") {
		t.Errorf("decisions after trust = %v; want 192.0.2.5 gone", got)
	}
	if _, err := c.Undo(ctx, trust.ChangeID, "alice"); err != nil {
		t.Fatalf("Undo(trust) = %v", err)
	}
	if r, _ := s.IP(ctx, "192.0.2.5"); r.Status != state.IPBlocked {
		t.Errorf("192.0.2.5 after undoing the trust = %s, want blocked", r.Status)
	}
	if _, err := s.IP(ctx, "192.0.2.0/24"); !errors.Is(err, state.ErrNotFound) {
		t.Errorf("IP(192.0.2.0/24) after undoing its creation = %v, want ErrNotFound", err)
	}
	if got := activeDecisionValues(t, s, clk.Now()); !slices.Contains(got, "192.0.2.77") {
		t.Errorf("decisions after undoing the trust = %v; want 192.0.2.77 back", got)
	}
}

func TestExpiryAndSweep(t *testing.T) {
	ctx := context.Background()
	c, s, clk := newContainment(t, false, contain.Options{})
	mustSet(t, c, contain.SetRequest{IPs: []string{"203.0.113.1"}, Status: state.IPBlocked, Duration: time.Hour, Reason: "short"})
	mustSet(t, c, contain.SetRequest{IPs: []string{"203.0.113.2"}, Status: state.IPBlocked, Reason: "forever"})
	mustSet(t, c, contain.SetRequest{IPs: []string{"203.0.113.3"}, Status: state.IPTrusted, Duration: 30 * time.Minute, Reason: "temp"})

	clk.Advance(59 * time.Minute)
	if got := effectiveValues(t, c, clk.Now()); !slices.Equal(got, []string{"203.0.113.1", "203.0.113.2"}) {
		t.Errorf("Effective(+59m) = %v", got)
	}
	// An expired trust no longer protects.
	mustSet(t, c, contain.SetRequest{IPs: []string{"203.0.113.3"}, Status: state.IPBlocked, Reason: "after trust expired"})

	clk.Advance(2 * time.Minute)
	if got := effectiveValues(t, c, clk.Now()); !slices.Equal(got, []string{"203.0.113.2", "203.0.113.3"}) {
		t.Errorf("Effective(+61m) = %v; want the 1h block gone before any sweep", got)
	}
	if got := activeDecisionValues(t, s, clk.Now()); slices.Contains(got, "203.0.113.1") {
		t.Errorf("active decisions at +61m = %v; want the expired one inactive", got)
	}
	res, err := c.Sweep(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Expired) != 1 || res.Expired[0].Value != "203.0.113.1" || res.ChangeID == 0 {
		t.Fatalf("Sweep() = %+v; want 203.0.113.1 expired", res)
	}
	if r, _ := s.IP(ctx, "203.0.113.1"); r.Status != state.IPMonitoring || !r.ExpiresAt.IsZero() || r.UpdatedBy != "system" {
		t.Errorf("IP(203.0.113.1) after sweep = %+v; want monitoring, no expiry, by system", r)
	}
	if res, err := c.Sweep(ctx); err != nil || len(res.Expired) != 0 || res.ChangeID != 0 {
		t.Errorf("second Sweep() = %+v, %v; want nothing", res, err)
	}
}

func TestShadowAndUndo(t *testing.T) {
	ctx := context.Background()
	c, s, clk := newContainment(t, false, contain.Options{})
	shadow := mustSet(t, c, contain.SetRequest{IPs: []string{"104.248.73.19", "167.71.205.88"}, Status: state.IPBlocked, Duration: 4 * time.Hour,
		Reason: "bola enumeration", Source: "rule:bola-1", Shadow: true})
	auto := mustSet(t, c, contain.SetRequest{IPs: []string{"178.128.44.156"}, Status: state.IPBlocked, Source: contain.SourceAutoShadow, Reason: "detector"})
	if !shadow.Shadow || !auto.Shadow {
		t.Errorf("Set(shadow) = %+v, Set(auto-shadow) = %+v; want both shadow", shadow, auto)
	}
	if _, err := s.IP(ctx, "104.248.73.19"); !errors.Is(err, state.ErrNotFound) {
		t.Errorf("a shadow block wrote a record: %v", err)
	}
	if got := effectiveValues(t, c, clk.Now()); len(got) != 0 {
		t.Errorf("Effective() after shadow blocks = %v; want empty", got)
	}
	if got := activeDecisionValues(t, s, clk.Now()); len(got) != 0 {
		t.Errorf("decisions after shadow blocks = %v; want none", got)
	}
	yes := true
	would, err := s.IPChanges(ctx, state.IPChangeFilter{Shadow: &yes})
	if err != nil || len(would) != 2 || would[1].Source != "rule:bola-1" || len(would[1].Items) != 2 || would[1].Items[0].After.Status != state.IPBlocked {
		t.Errorf("IPChanges(shadow) = %+v, %v; want the two would-have-blocked changes", would, err)
	}
	if _, err := c.Undo(ctx, shadow.ChangeID, "alice"); !errors.Is(err, contain.ErrInvalid) {
		t.Errorf("Undo(shadow change) = %v, want ErrInvalid", err)
	}

	// Undo a real batch in one step, and not twice.
	block := mustSet(t, c, contain.SetRequest{IPs: []string{"104.248.73.19", "167.71.205.88", "178.128.44.156"}, Status: state.IPBlocked, Reason: "exfiltration"})
	if got := activeDecisionValues(t, s, clk.Now()); len(got) != 3 {
		t.Fatalf("decisions after block = %v", got)
	}
	undo, err := c.Undo(ctx, block.ChangeID, "alice")
	if err != nil {
		t.Fatalf("Undo(block) = %v", err)
	}
	if got := activeDecisionValues(t, s, clk.Now()); len(got) != 0 {
		t.Errorf("decisions after undo = %v; want none", got)
	}
	if _, err := c.Undo(ctx, block.ChangeID, "alice"); !errors.Is(err, state.ErrIPChangeConflict) {
		t.Errorf("second Undo(block) = %v, want ErrIPChangeConflict", err)
	}
	// Undoing the undo redoes.
	if _, err := c.Undo(ctx, undo, "alice"); err != nil {
		t.Fatalf("Undo(undo) = %v", err)
	}
	if got := activeDecisionValues(t, s, clk.Now()); len(got) != 3 {
		t.Errorf("decisions after redo = %v; want the three back", got)
	}
	// A change whose records moved on cannot be undone blindly.
	later := mustSet(t, c, contain.SetRequest{IPs: []string{"104.248.73.19"}, Status: state.IPInvestigating, Reason: "look again"})
	mustSet(t, c, contain.SetRequest{IPs: []string{"104.248.73.19"}, Status: state.IPTrusted, Reason: "customer"})
	if _, err := c.Undo(ctx, later.ChangeID, "alice"); !errors.Is(err, state.ErrIPChangeConflict) {
		t.Errorf("Undo(change since overwritten) = %v, want ErrIPChangeConflict", err)
	}
	if _, err := c.Undo(ctx, 9999, "alice"); !errors.Is(err, state.ErrNotFound) {
		t.Errorf("Undo(9999) = %v, want ErrNotFound", err)
	}
}

func TestBatchSetThousands(t *testing.T) {
	ctx := context.Background()
	c, s, clk := newContainment(t, false, contain.Options{})
	ips := make([]string, 5000)
	for i := range ips {
		ips[i] = fmt.Sprintf("100.%d.%d.%d", i/65536, (i/256)%256, i%256)
	}
	start := time.Now()
	res := mustSet(t, c, contain.SetRequest{IPs: ips, Status: state.IPBlocked, Duration: time.Hour, Reason: "botnet"})
	elapsed := time.Since(start)
	ch, err := s.IPChange(ctx, res.ChangeID)
	if err != nil || len(ch.Items) != len(ips) {
		t.Fatalf("IPChange(%d) = %d items, %v; want %d in one change", res.ChangeID, len(ch.Items), err, len(ips))
	}
	if got := activeDecisionValues(t, s, clk.Now()); len(got) != len(ips) {
		t.Errorf("decisions = %d, want %d", len(got), len(ips))
	}
	t.Logf("Set of %d IPs (one transaction, decisions synced): %v", len(ips), elapsed)
	un := mustSet(t, c, contain.SetRequest{IPs: ips, Status: state.IPMonitoring, Reason: "done"})
	if len(un.Changed) != len(ips) {
		t.Errorf("batch unblock changed %d, want %d", len(un.Changed), len(ips))
	}
}

// hookRecorder is a local webhook receiver that fails the first request
// of each event type with 503.
type hookRecorder struct {
	mu       sync.Mutex
	attempts map[string]int
	events   []contain.Event
}

func (h *hookRecorder) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	h.mu.Lock()
	defer h.mu.Unlock()
	body, _ := io.ReadAll(r.Body)
	var ev contain.Event
	if err := json.Unmarshal(body, &ev); err != nil || r.Header.Get("Content-Type") != "application/json" {
		http.Error(w, "bad body", http.StatusBadRequest)
		return
	}
	if ev.Type != r.Header.Get("X-Tracehound-Event") {
		http.Error(w, "event header mismatch", http.StatusBadRequest)
		return
	}
	h.attempts[ev.Type]++
	if ev.Type == "reject.me" {
		http.Error(w, "no", http.StatusBadRequest)
		return
	}
	if h.attempts[ev.Type] == 1 {
		http.Error(w, "try later", http.StatusServiceUnavailable)
		return
	}
	h.events = append(h.events, ev)
}

func TestResponseWebhooks(t *testing.T) {
	ctx := context.Background()
	rec := &hookRecorder{attempts: map[string]int{}}
	srv := httptest.NewServer(rec)
	defer srv.Close()
	hooks := contain.NewWebhooks(contain.WebhookConfig{URLs: []string{srv.URL}, Backoff: 10 * time.Millisecond})
	c, _, _ := newContainment(t, false, contain.Options{Webhooks: hooks})

	block := mustSet(t, c, contain.SetRequest{IPs: []string{"104.248.73.19", "10.0.0.0/24"}, Status: state.IPBlocked, Duration: time.Hour, Reason: "exfil"})
	c.Close()
	mustSet(t, c, contain.SetRequest{IPs: []string{"10.0.0.0/24"}, Status: state.IPMonitoring, Reason: "fp"})
	c.Close()
	revoke, err := c.RevokeAPIKey(ctx, "key_trial_123", "shared across three IPs", "alice")
	if err != nil {
		t.Fatal(err)
	}
	c.Close()
	if _, err := c.Undo(ctx, revoke, "bob"); err != nil {
		t.Fatalf("Undo(revoke) = %v", err)
	}
	c.Close()

	rec.mu.Lock()
	type got struct {
		typ  string
		ips  string
		key  string
		exp  bool
		chID int64
	}
	var gots []got
	for _, ev := range rec.events {
		gots = append(gots, got{ev.Type, strings.Join(ev.IPs, ","), ev.APIKeyID, ev.ExpiresAt != nil, ev.ChangeID})
	}
	want := []got{
		{contain.EventIPBlocked, "104.248.73.19,10.0.0.0/24", "", true, block.ChangeID},
		{contain.EventIPUnblocked, "10.0.0.0/24", "", false, block.ChangeID + 1},
		{contain.EventAPIKeyRevoked, "", "key_trial_123", false, revoke},
		{contain.EventAPIKeyRevocationUndone, "", "key_trial_123", false, revoke + 1},
	}
	if !slices.Equal(gots, want) {
		t.Errorf("webhook events = %+v\nwant %+v", gots, want)
	}
	for typ, n := range rec.attempts {
		if n != 2 {
			t.Errorf("%s attempts = %d, want 2 (one 503, one success)", typ, n)
		}
	}
	rec.mu.Unlock()
	// A 4xx other than 429 is not retried; the error says so.
	err = hooks.Send(ctx, contain.Event{Type: "reject.me"})
	rec.mu.Lock()
	defer rec.mu.Unlock()
	if err == nil || !strings.Contains(err.Error(), "status 400") || rec.attempts["reject.me"] != 1 {
		t.Errorf("Send(rejected) = %v after %d attempts; want one attempt and status 400", err, rec.attempts["reject.me"])
	}
}

func TestWebhookRetriesAreBounded(t *testing.T) {
	var mu sync.Mutex
	n := 0
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		n++
		mu.Unlock()
		w.WriteHeader(http.StatusBadGateway)
	}))
	defer srv.Close()
	hooks := contain.NewWebhooks(contain.WebhookConfig{URLs: []string{srv.URL}, MaxAttempts: 4, Backoff: time.Millisecond})
	err := hooks.Send(context.Background(), contain.Event{Type: contain.EventIPBlocked})
	if err == nil || !strings.Contains(err.Error(), "attempt 4: status 502") || n != 4 {
		t.Errorf("Send() to a failing URL = %v after %d attempts; want 4 attempts", err, n)
	}
}
