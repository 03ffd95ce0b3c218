package contain_test

import (
	"context"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/tracehound/tracehound/contain"
	"github.com/tracehound/tracehound/contain/containtest"
	"github.com/tracehound/tracehound/state"
)

// TestCustomBouncerEnforcesDecisions runs the real CrowdSec custom bouncer
// against the decisions API on loopback: its script appends every call to
// a file, and the test checks that blocks, unblocks, expiries and trusts
// reach it as add and del calls for the right values.
func TestCustomBouncerEnforcesDecisions(t *testing.T) {
	ctx := context.Background()
	c, s, _ := newContainment(t, true, contain.Options{})
	srv := httptest.NewServer(c.DecisionsHandler())
	t.Cleanup(srv.Close)
	key, err := c.AddBouncer(ctx, "custom")
	if err != nil {
		t.Fatal(err)
	}

	// A block that exists before the bouncer starts arrives on startup.
	mustSet(t, c, contain.SetRequest{IPs: []string{"203.0.113.7"}, Status: state.IPBlocked, Reason: "exfiltration"})

	bouncer := containtest.StartBouncer(t, srv.URL, key)
	waitCall := func(want string) { t.Helper(); bouncer.WaitCall(t, want) }

	waitCall("add 203.0.113.7")
	mustSet(t, c, contain.SetRequest{IPs: []string{"198.51.100.0/24"}, Status: state.IPBlocked, Duration: time.Hour, Reason: "enumeration"})
	mustSet(t, c, contain.SetRequest{IPs: []string{"2001:db8::1"}, Status: state.IPBlocked, Duration: 3 * time.Second, Reason: "short"})
	waitCall("add 198.51.100.0/24")
	waitCall("add 2001:db8::1")

	// Unblock: the bouncer deletes it.
	mustSet(t, c, contain.SetRequest{IPs: []string{"203.0.113.7"}, Status: state.IPMonitoring, Reason: "false positive"})
	waitCall("del 203.0.113.7")

	// Expiry: the stream reports it deleted even before the sweeper runs.
	waitCall("del 2001:db8::1")
	if res, err := c.Sweep(ctx); err != nil || len(res.Expired) != 1 || res.Expired[0].Value != "2001:db8::1" {
		t.Errorf("Sweep() = %+v, %v; want 2001:db8::1 expired", res, err)
	}

	// Trusting an address inside a blocked range carves it out: the range
	// is replaced by the parts that exclude it.
	mustSet(t, c, contain.SetRequest{IPs: []string{"198.51.100.7"}, Status: state.IPTrusted, Reason: "partner"})
	waitCall("del 198.51.100.0/24")
	waitCall("add 198.51.100.128/25")
	waitCall("add 198.51.100.6")

	for _, line := range bouncer.Calls() {
		f := strings.Fields(line)
		if len(f) >= 2 && f[0] == "add" && (f[1] == "198.51.100.7" || f[1] == "198.51.100.7/32") {
			t.Errorf("the bouncer was told to block trusted 198.51.100.7: %q", line)
		}
	}
	bs, err := s.Bouncers(ctx)
	if err != nil || len(bs) != 1 || bs[0].LastPull.IsZero() {
		t.Errorf("Bouncers() = %+v, %v; want one bouncer with its last pull recorded", bs, err)
	}
}
