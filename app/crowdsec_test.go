package app_test

import (
	"context"
	"testing"

	"github.com/tracehound/tracehound/api"
	"github.com/tracehound/tracehound/contain/containtest"
)

// TestCrowdSecBouncerAgainstServer runs the real CrowdSec custom bouncer
// against a whole tracehound server: the bouncer is registered through the
// API, pulls the decisions stream from the API port with its key, and its
// script must be told "add" when an analyst blocks an address and "del"
// when the block is undone.
func TestCrowdSecBouncerAgainstServer(t *testing.T) {
	s := start(t, ipConfig(t))
	ctx := context.Background()
	c := s.client(t)
	created, err := c.AddBouncer(ctx, "custom")
	if err != nil {
		t.Fatal(err)
	}

	bouncer := containtest.StartBouncer(t, "http://"+s.Addr(), created.APIKey)

	block, err := c.SetIPStatus(ctx, api.IPStatusRequest{IPs: []string{"104.248.73.19"}, Status: "blocked", For: "1h", Reason: "admin export exfiltration"})
	if err != nil {
		t.Fatal(err)
	}
	bouncer.WaitCall(t, "add 104.248.73.19")
	if _, err := c.UndoIPChange(ctx, block.ChangeID); err != nil {
		t.Fatal(err)
	}
	bouncer.WaitCall(t, "del 104.248.73.19")

	list, err := c.Bouncers(ctx)
	if err != nil || len(list.Bouncers) != 1 || list.Bouncers[0].LastPull.IsZero() {
		t.Errorf("Bouncers() = %+v, %v; want the bouncer with its last pull recorded", list, err)
	}
}
