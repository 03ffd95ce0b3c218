package contain_test

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/tracehound/tracehound/contain"
	"github.com/tracehound/tracehound/state"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/golden")

// goldenBlocklist builds, through the real containment, a blocklist with
// IPv4 and IPv6 addresses and ranges, expiries, severities, a carved
// range and a shadow block that must not appear.
func goldenBlocklist(t *testing.T) contain.Blocklist {
	t.Helper()
	c, _, clk := newContainment(t, false, contain.Options{})
	mustSet(t, c, contain.SetRequest{IPs: []string{"104.248.73.19", "167.71.205.88", "178.128.44.156"}, Status: state.IPBlocked,
		Duration: 24 * time.Hour, Reason: "exfiltration via /admin/export", Severity: 90})
	clk.Advance(time.Minute)
	mustSet(t, c, contain.SetRequest{IPs: []string{"198.51.100.0/24"}, Status: state.IPBlocked, Reason: "scanner range", Source: "rule:bola-1", Severity: 40})
	mustSet(t, c, contain.SetRequest{IPs: []string{"2001:db8::/32", "2001:db8:1::7"}, Status: state.IPBlocked, Duration: 4 * time.Hour, Reason: "v6 crawler", Severity: 60})
	mustSet(t, c, contain.SetRequest{IPs: []string{"2a03:b0c0:3:d0::1a2:b001"}, Status: state.IPBlocked, Reason: "v6 host", Severity: 70})
	mustSet(t, c, contain.SetRequest{IPs: []string{"203.0.113.0/29"}, Status: state.IPBlocked, Duration: time.Hour, Reason: "carved", Severity: 10})
	mustSet(t, c, contain.SetRequest{IPs: []string{"203.0.113.5"}, Status: state.IPTrusted, Reason: "monitoring probe"})
	mustSet(t, c, contain.SetRequest{IPs: []string{"192.0.2.44"}, Status: state.IPBlocked, Source: contain.SourceAutoShadow, Reason: "shadow"})
	clk.Advance(30 * time.Minute)
	bl, err := c.Effective(context.Background(), clk.Now())
	if err != nil {
		t.Fatal(err)
	}
	return bl
}

func TestExportGolden(t *testing.T) {
	bl := goldenBlocklist(t)
	for _, f := range contain.Formats {
		t.Run(string(f), func(t *testing.T) {
			var buf bytes.Buffer
			rep, err := contain.Export(&buf, f, bl, contain.ExportOptions{})
			if err != nil {
				t.Fatalf("Export(%s) = %v", f, err)
			}
			if rep.LeftOut != 0 {
				t.Errorf("Export(%s) left out %d: %v", f, rep.LeftOut, rep.Warnings)
			}
			if strings.Contains(buf.String(), "192.0.2.44") || strings.Contains(buf.String(), "203.0.113.5 ") ||
				strings.Contains(buf.String(), "203.0.113.5/32") || strings.Contains(buf.String(), "\"203.0.113.5\"") {
				t.Errorf("Export(%s) contains a shadow-blocked or trusted address:\n%s", f, buf.String())
			}
			golden := filepath.Join("testdata", "golden", string(f)+".golden")
			if *update {
				if err := os.MkdirAll(filepath.Dir(golden), 0o755); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(golden, buf.Bytes(), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("%v (run with -update to create it)", err)
			}
			if !bytes.Equal(buf.Bytes(), want) {
				t.Errorf("Export(%s) differs from %s:\n%s", f, golden, buf.String())
			}
		})
	}
}

func TestExportCapacityKeepsSeverityThenRecency(t *testing.T) {
	c, _, clk := newContainment(t, false, contain.Options{})
	for i, sev := range []int{10, 90, 50, 90, 20} {
		mustSet(t, c, contain.SetRequest{IPs: []string{fmt.Sprintf("203.0.113.%d", i+1)}, Status: state.IPBlocked, Severity: sev, Reason: "r"})
		clk.Advance(time.Minute)
	}
	bl, err := c.Effective(context.Background(), clk.Now())
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	rep, err := contain.Export(&buf, contain.FormatPlain, bl, contain.ExportOptions{Capacity: 3})
	if err != nil {
		t.Fatal(err)
	}
	// Severity 90, 90, then 50; .5 (20) and .1 (10) are left out.
	if got := buf.String(); got != "203.0.113.2\n203.0.113.3\n203.0.113.4\n" {
		t.Errorf("Export(plain, capacity 3) =\n%s", got)
	}
	if rep.LeftOut != 2 || rep.Exported != 3 || len(rep.Warnings) != 1 || !strings.Contains(rep.Warnings[0], "2 of 5 entries left out") {
		t.Errorf("report = %+v; want 2 left out with a warning", rep)
	}
	// Among equal severities, the most recent wins.
	buf.Reset()
	if _, err := contain.Export(&buf, contain.FormatPlain, bl, contain.ExportOptions{Capacity: 1}); err != nil {
		t.Fatal(err)
	}
	if got := buf.String(); got != "203.0.113.4\n" {
		t.Errorf("Export(plain, capacity 1) = %q, want the most recent of the severity-90 pair", got)
	}
}

func TestExportAWSSplitsSets(t *testing.T) {
	bl := contain.Blocklist{At: t0}
	for i := range 10001 {
		p, _ := contain.ParsePrefix(fmt.Sprintf("10.%d.%d.%d", i/65536, (i/256)%256, i%256))
		bl.Entries = append(bl.Entries, contain.Entry{Prefix: p})
	}
	p, _ := contain.ParsePrefix("2001:db8::1")
	bl.Entries = append(bl.Entries, contain.Entry{Prefix: p})
	var buf bytes.Buffer
	rep, err := contain.Export(&buf, contain.FormatAWSWAFv2, bl, contain.ExportOptions{AWSScope: "CLOUDFRONT"})
	if err != nil {
		t.Fatal(err)
	}
	var sets []struct {
		Name, Scope, Id, Description, LockToken string
		Addresses                               []string
	}
	if err := json.Unmarshal(buf.Bytes(), &sets); err != nil {
		t.Fatal(err)
	}
	got := []string{}
	for _, s := range sets {
		got = append(got, fmt.Sprintf("%s:%s:%d", s.Name, s.Scope, len(s.Addresses)))
	}
	want := []string{"tracehound-v4-0:CLOUDFRONT:10000", "tracehound-v4-1:CLOUDFRONT:1", "tracehound-v6-0:CLOUDFRONT:1"}
	if strings.Join(got, " ") != strings.Join(want, " ") || sets[2].Addresses[0] != "2001:db8::1/128" || sets[0].Addresses[0] != "10.0.0.0/32" {
		t.Errorf("AWS sets = %v, want %v", got, want)
	}
	if rep.LeftOut != 0 {
		t.Errorf("report = %+v; want nothing left out", rep)
	}
	// Over AWSMaxSets × 10,000 the rest is left out with a warning.
	rep, err = contain.Export(&bytes.Buffer{}, contain.FormatAWSWAFv2, bl, contain.ExportOptions{AWSMaxSets: 1})
	if err != nil || rep.LeftOut != 1 || !strings.Contains(strings.Join(rep.Warnings, " "), "1 of 10001 IPv4 entries left out") {
		t.Errorf("Export(aws, 1 set) = %+v, %v; want 1 IPv4 entry left out", rep, err)
	}
}

func TestExportCloudflareWidensIPv6(t *testing.T) {
	c, _, clk := newContainment(t, false, contain.Options{})
	mustSet(t, c, contain.SetRequest{IPs: []string{"2001:db8:0:1::5", "2001:db8:0:1::6", "2001:db8:0:2::9"}, Status: state.IPBlocked, Reason: "v6"})
	mustSet(t, c, contain.SetRequest{IPs: []string{"2001:db8:0:2::1"}, Status: state.IPTrusted, Reason: "partner"})
	bl, err := c.Effective(context.Background(), clk.Now())
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	rep, err := contain.Export(&buf, contain.FormatCloudflare, bl, contain.ExportOptions{})
	if err != nil {
		t.Fatal(err)
	}
	var items []struct{ IP, Comment string }
	if err := json.Unmarshal(buf.Bytes(), &items); err != nil {
		t.Fatal(err)
	}
	if len(items) != 1 || items[0].IP != "2001:db8:0:1::/64" {
		t.Errorf("cloudflare items = %+v; want the one /64 that holds no trusted address", items)
	}
	if rep.LeftOut != 1 || len(rep.Warnings) != 2 {
		t.Errorf("report = %+v; want one widened warning and one left out", rep)
	}
}

// TestNftablesAcceptsExport checks the generated file with nft -c, which
// parses and validates it against the kernel without applying it.
func TestNftablesAcceptsExport(t *testing.T) {
	nft, err := exec.LookPath("nft")
	if err != nil {
		t.Skipf("nft not installed (Debian package nftables): %v", err)
	}
	file := filepath.Join(t.TempDir(), "blocklist.nft")
	var buf bytes.Buffer
	if _, err := contain.Export(&buf, contain.FormatNftables, goldenBlocklist(t), contain.ExportOptions{Name: "th-test"}); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(file, buf.Bytes(), 0o600); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(nft, "-c", "-f", file).CombinedOutput()
	if err != nil {
		if s := string(out); strings.Contains(s, "Operation not permitted") || strings.Contains(s, "Permission denied") || strings.Contains(s, "Protocol not supported") {
			t.Skipf("nft -c needs CAP_NET_ADMIN and nf_tables here: %s", s)
		}
		t.Fatalf("nft -c -f rejected the export: %v\n%s\n%s", err, out, buf.String())
	}
}

// TestIPSetRestoresExport loads the generated file into the kernel with
// ipset restore under a test-only name, checks the live sets, and destroys
// them.
func TestIPSetRestoresExport(t *testing.T) {
	ipset, err := exec.LookPath("ipset")
	if err != nil {
		t.Skipf("ipset not installed (Debian package ipset): %v", err)
	}
	name := fmt.Sprintf("th%d", os.Getpid()%100000)
	if out, err := exec.Command(ipset, "list", "-n").CombinedOutput(); err != nil {
		t.Skipf("ipset cannot reach the kernel (needs CAP_NET_ADMIN and the ip_set module): %v: %s", err, out)
	}
	t.Cleanup(func() {
		exec.Command(ipset, "destroy", name+"-v4").Run()
		exec.Command(ipset, "destroy", name+"-v6").Run()
		exec.Command(ipset, "destroy", name+"-v4-tmp").Run()
		exec.Command(ipset, "destroy", name+"-v6-tmp").Run()
	})
	var buf bytes.Buffer
	if _, err := contain.Export(&buf, contain.FormatIPSet, goldenBlocklist(t), contain.ExportOptions{Name: name}); err != nil {
		t.Fatal(err)
	}
	restore := func() {
		t.Helper()
		cmd := exec.Command(ipset, "restore")
		cmd.Stdin = bytes.NewReader(buf.Bytes())
		if out, err := cmd.CombinedOutput(); err != nil {
			if s := string(out); strings.Contains(s, "Kernel error") || strings.Contains(s, "Operation not permitted") {
				t.Skipf("ipset restore needs CAP_NET_ADMIN and the ip_set module: %s", s)
			}
			t.Fatalf("ipset restore rejected the export: %v\n%s\n%s", err, out, buf.String())
		}
	}
	restore()
	restore() // a second run swaps again: the file is re-runnable
	out, err := exec.Command(ipset, "list", name+"-v4").CombinedOutput()
	if err != nil {
		t.Fatalf("ipset list: %v\n%s", err, out)
	}
	for _, want := range []string{"104.248.73.19 timeout", "198.51.100.0/24 timeout 0", "203.0.113.4 timeout"} {
		if !strings.Contains(string(out), want) {
			t.Errorf("live set lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(string(out), "203.0.113.5 ") {
		t.Errorf("live set holds trusted 203.0.113.5:\n%s", out)
	}
	if out, err := exec.Command(ipset, "list", name+"-v4-tmp").CombinedOutput(); err == nil {
		t.Errorf("temporary set left behind:\n%s", out)
	}
}
