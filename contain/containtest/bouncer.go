// Package containtest runs Debian's crowdsec-custom-bouncer, the real
// client of the decisions API, for tests: its script appends every call it
// receives to a file the test reads.
package containtest

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// BouncerBinary is Debian's crowdsec-custom-bouncer.
const BouncerBinary = "crowdsec-custom-bouncer"

// Bouncer is a running custom bouncer.
type Bouncer struct {
	calls string
}

// StartBouncer starts the custom bouncer pulling apiURL (the server's base
// URL, decisions under /v1/) with key, polling every second. It skips the
// test when the binary is not installed, and stops the bouncer at the end
// of the test, logging its output when the test failed.
func StartBouncer(t testing.TB, apiURL, key string) *Bouncer {
	t.Helper()
	bin, err := exec.LookPath(BouncerBinary)
	if err != nil {
		t.Skipf("%s not installed (Debian package crowdsec-custom-bouncer): %v", BouncerBinary, err)
	}
	dir := t.TempDir()
	b := &Bouncer{calls: filepath.Join(dir, "calls.txt")}
	script := filepath.Join(dir, "record.sh")
	if err := os.WriteFile(script, []byte("#!/bin/sh\necho \"$1 $2 $3 $4\" >> "+b.calls+"\n"), 0o755); err != nil {
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
`, script, dir, dir, strings.TrimSuffix(apiURL, "/"), key)), 0o600); err != nil {
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
	return b
}

// Calls returns the calls the bouncer's script received, one a line:
// "add VALUE DURATION REASON" or "del VALUE …".
func (b *Bouncer) Calls() []string {
	data, _ := os.ReadFile(b.calls)
	var out []string
	for line := range strings.SplitSeq(string(data), "\n") {
		if line != "" {
			out = append(out, line)
		}
	}
	return out
}

// WaitCall waits up to 20 seconds for a call starting with want (e.g.
// "add 203.0.113.7") and fails the test when none comes.
func (b *Bouncer) WaitCall(t testing.TB, want string) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) {
		for _, line := range b.Calls() {
			if strings.HasPrefix(line, want+" ") {
				return
			}
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Fatalf("the bouncer never ran %q; its calls:\n%s", want, strings.Join(b.Calls(), "\n"))
}
