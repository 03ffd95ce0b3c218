package contain_test

import (
	"context"
	"fmt"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/tracehound/tracehound/contain"
	"github.com/tracehound/tracehound/state"
)

// bouncerBinary is Debian's crowdsec-custom-bouncer.
const bouncerBinary = "crowdsec-custom-bouncer"

// TestCustomBouncerEnforcesDecisions runs the real CrowdSec custom bouncer
// against the decisions API on loopback: its script appends every call to
// a file, and the test checks that blocks, unblocks, expiries and trusts
// reach it as add and del calls for the right values.
func TestCustomBouncerEnforcesDecisions(t *testing.T) {
	bin, err := exec.LookPath(bouncerBinary)
	if err != nil {
		t.Skipf("%s not installed (Debian package crowdsec-custom-bouncer): %v", bouncerBinary, err)
	}
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

	dir := t.TempDir()
	calls := filepath.Join(dir, "calls.txt")
	script := filepath.Join(dir, "record.sh")
	if err := os.WriteFile(script, []byte("#!/bin/sh\necho \"$1 $2 $3 $4\" >> "+calls+"\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	cfg := filepath.Join(dir, "bouncer.yaml")
	if err := os.WriteFile(cfg, []byte(fmt.Sprintf(`bin_path: %s
feed_via_stdin: false
total_retries: 0
scenarios_containing: []
scenarios_not_containing: []
origins: []
piddir: %s
update_frequency: 1s
cache_retention_duration: 10s
daemonize: false
log_mode: file
log_dir: %s
log_level: debug
api_url: %s/
api_key: %s
prometheus:
  enabled: false
`, script, dir, dir, srv.URL, key)), 0o600); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, "-c", cfg)
	cmd.Dir = dir
	out := &strings.Builder{}
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cmd.Process.Kill()
		cmd.Wait()
		if t.Failed() {
			log, _ := os.ReadFile(filepath.Join(dir, "crowdsec-custom-bouncer.log"))
			t.Logf("bouncer output:\n%s\nbouncer log:\n%s", out, log)
		}
	})

	waitCall := func(want string) {
		t.Helper()
		deadline := time.Now().Add(20 * time.Second)
		for time.Now().Before(deadline) {
			b, _ := os.ReadFile(calls)
			for _, line := range strings.Split(string(b), "\n") {
				if strings.HasPrefix(line, want+" ") {
					return
				}
			}
			time.Sleep(100 * time.Millisecond)
		}
		b, _ := os.ReadFile(calls)
		t.Fatalf("the bouncer never ran %q; its calls:\n%s", want, b)
	}

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

	b, _ := os.ReadFile(calls)
	for _, line := range strings.Split(string(b), "\n") {
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
