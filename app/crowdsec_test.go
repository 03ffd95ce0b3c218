package app_test

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/tracehound/tracehound/api"
)

// crowdsecBouncer is Debian's crowdsec-custom-bouncer.
const crowdsecBouncer = "/usr/bin/crowdsec-custom-bouncer"

// TestCrowdSecBouncerAgainstServer runs the real CrowdSec custom bouncer
// against a whole tracehound server: the bouncer is registered through the
// API, pulls the decisions stream from the API port with its key, and its
// script must be told "add" when an analyst blocks an address and "del"
// when the block is undone.
func TestCrowdSecBouncerAgainstServer(t *testing.T) {
	if _, err := os.Stat(crowdsecBouncer); err != nil {
		t.Skipf("%s is not installed (Debian package crowdsec-custom-bouncer): %v", crowdsecBouncer, err)
	}
	s := start(t, ipConfig(t))
	ctx := context.Background()
	c := s.client(t)
	created, err := c.AddBouncer(ctx, "custom")
	if err != nil {
		t.Fatal(err)
	}

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
api_url: http://%s/
api_key: %s
prometheus:
  enabled: false
`, script, dir, dir, s.Addr(), created.APIKey)), 0o600); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(crowdsecBouncer, "-c", cfg)
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
			for line := range strings.SplitSeq(string(b), "\n") {
				if strings.HasPrefix(line, want+" ") {
					return
				}
			}
			time.Sleep(100 * time.Millisecond)
		}
		b, _ := os.ReadFile(calls)
		t.Fatalf("the bouncer never ran %q; its calls:\n%s", want, b)
	}

	block, err := c.SetIPStatus(ctx, api.IPStatusRequest{IPs: []string{"104.248.73.19"}, Status: "blocked", For: "1h", Reason: "admin export exfiltration"})
	if err != nil {
		t.Fatal(err)
	}
	waitCall("add 104.248.73.19")
	if _, err := c.UndoIPChange(ctx, block.ChangeID); err != nil {
		t.Fatal(err)
	}
	waitCall("del 104.248.73.19")

	list, err := c.Bouncers(ctx)
	if err != nil || len(list.Bouncers) != 1 || list.Bouncers[0].LastPull.IsZero() {
		t.Errorf("Bouncers() = %+v, %v; want the bouncer with its last pull recorded", list, err)
	}
}
