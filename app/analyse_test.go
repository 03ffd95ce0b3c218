package app_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/netip"
	"slices"
	"strings"
	"testing"

	"github.com/tracehound/tracehound/api"
	"github.com/tracehound/tracehound/app"
	"github.com/tracehound/tracehound/auth"
	"github.com/tracehound/tracehound/detect"
	"github.com/tracehound/tracehound/scenario"
)

// quietAddrs returns n addresses of 100.64.0.0/10, where no scenario
// sends traffic from.
func quietAddrs(n int) []string {
	out := make([]string, n)
	for i := range out {
		v := 100<<24 | 64<<16 + uint32(i) + 1
		out[i] = netip.AddrFrom4([4]byte{byte(v >> 24), byte(v >> 16), byte(v >> 8), byte(v)}).String()
	}
	return out
}

// TestAnalyseIPs seeds the default scenario, selects its exfiltration
// addresses by status and names a benign address, a loopback one and
// enough quiet addresses for two chunks: the attackers are rated and
// tagged malicious, the benign address gets a lesser verdict, the quiet
// ones stay untagged, the range record and the loopback address are
// skipped, progress reaches the total chunk by chunk, and the analysis is
// audited. Over HTTP the same analysis streams its progress.
func TestAnalyseIPs(t *testing.T) {
	if testing.Short() {
		t.Skip("seeds a scenario")
	}
	cfg := testConfig(t, t.TempDir())
	cfg.Contain.Detector.InvestigateAlerts = false
	s := start(t, cfg)
	ctx := auth.WithPrincipal(context.Background(), auth.Principal{Kind: "user", Name: "ana", Role: auth.RoleAnalyst})
	if _, err := s.SeedScenario(ctx, app.SeedOptions{Scenario: scenario.DefaultScenario, Days: 4, Scale: 0.0005, Seed: 7}); err != nil {
		t.Fatal(err)
	}
	res, err := s.SQL(ctx, `SELECT peer_ip, count() AS n FROM traces WHERE span_kind = 'Server' AND peer_ip NOT IN ('`+
		strings.Join(scenario.ExfilIPs[:], "','")+`') GROUP BY peer_ip ORDER BY n DESC LIMIT 1`)
	if err != nil || len(res.Rows) != 1 {
		t.Fatalf("a benign address: %v %v", res, err)
	}
	benign := res.Rows[0][0].(string)
	c := s.client(t)
	if _, err := c.SetIPStatus(ctx, api.IPStatusRequest{IPs: scenario.ExfilIPs[:], Status: "investigating", Tags: []string{"case-7"}}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.SetIPStatus(ctx, api.IPStatusRequest{IPs: []string{"198.51.100.0/24"}, Status: "investigating"}); err != nil {
		t.Fatal(err)
	}

	quiet := quietAddrs(1100)
	type step struct{ done, total int }
	var steps []step
	named := append([]string{benign, "127.0.0.1", scenario.ExfilIPs[1]}, quiet...)
	out, err := s.App.AnalyseIPs(ctx, api.AnalyseRequest{IPs: named, Status: []string{"investigating"}, Since: "7d",
		Progress: func(done, total int) { steps = append(steps, step{done, total}) }})
	if err != nil {
		t.Fatal(err)
	}
	total := 1 + 1 + len(quiet) + 2 // benign, ExfilIPs[1], the quiet ones, the other two attackers
	if want := []step{{0, total}, {1000, total}, {total, total}}; !slices.Equal(steps, want) {
		t.Errorf("progress %v, want %v (a report a chunk)", steps, want)
	}
	if out.Analysed != total || out.SkippedRanges != 1 || out.SkippedLocal != 1 || out.NoTraffic != len(quiet) {
		t.Errorf("AnalyseIPs = analysed %d, skipped %d ranges and %d local, %d without traffic; want %d, 1, 1, %d",
			out.Analysed, out.SkippedRanges, out.SkippedLocal, out.NoTraffic, total, len(quiet))
	}
	n := out.Counts
	if n.Malicious != 3 || n.Malicious+n.Suspicious+n.Inconclusive+n.Benign != total || n.Inconclusive < len(quiet) {
		t.Errorf("counts %+v: want the 3 attackers malicious, the quiet addresses inconclusive, %d in all", n, total)
	}
	if out.FlaggedTotal != len(out.Flagged) || len(out.Flagged) < 3 ||
		!slices.IsSortedFunc(out.Flagged, func(x, y api.AnalysedIP) int { return y.Risk - x.Risk }) {
		t.Errorf("flagged %+v (of %d): want the attackers among them, riskiest first", out.Flagged, out.FlaggedTotal)
	}
	for _, ip := range scenario.ExfilIPs {
		i := slices.IndexFunc(out.Flagged, func(f api.AnalysedIP) bool { return f.IP == ip })
		if i < 0 || out.Flagged[i].Severity != detect.Malicious || out.Flagged[i].Risk == 0 || out.Flagged[i].Requests == 0 {
			t.Errorf("attacker %s in flagged %+v: want it malicious, with its risk and requests", ip, out.Flagged)
		}
		d, err := c.IP(ctx, ip, 0)
		if err != nil || !slices.Contains(d.Tags, "detector:malicious") || !slices.Contains(d.Tags, "case-7") || d.Status != "investigating" {
			t.Errorf("attacker %s after the analysis: %+v, %v; want tagged detector:malicious, still investigating with its tag", ip, d, err)
		}
	}
	if d, err := c.IP(ctx, benign, 0); err != nil || slices.Contains(d.Tags, "detector:malicious") || !hasTagPrefix(d.Tags, app.DetectorTagPrefix) {
		t.Errorf("benign %s after the analysis: tags %v, %v; want a verdict tag, not malicious", benign, d.Tags, err)
	}
	if slices.ContainsFunc(out.Flagged, func(f api.AnalysedIP) bool { return f.IP == benign && f.Severity == detect.Malicious }) {
		t.Errorf("benign %s flagged malicious: %+v", benign, out.Flagged)
	}
	if d, err := c.IP(ctx, quiet[0], 0); err != nil || d.Tracked {
		t.Errorf("quiet %s after the analysis: tracked %v, %v; want no record (nothing to tag)", quiet[0], d.Tracked, err)
	}
	if d, err := c.IP(ctx, "198.51.100.0/24", 0); err != nil || hasTagPrefix(d.Tags, app.DetectorTagPrefix) {
		t.Errorf("the range record after the analysis: tags %v, %v; want it untouched", d.Tags, err)
	}
	list, err := c.Audit(ctx, api.AuditQuery{Action: "ip.analyse"})
	if err != nil || len(list.Entries) != 1 {
		t.Fatalf("ip.analyse audit entries = %+v, %v; want one", list, err)
	}
	var entry struct {
		Selection map[string]any    `json:"selection"`
		Analysed  int               `json:"analysed"`
		Counts    api.AnalyseCounts `json:"counts"`
	}
	if e := list.Entries[0]; e.Actor != "user:ana" || json.Unmarshal(e.After, &entry) != nil || entry.Analysed != total ||
		entry.Counts != out.Counts || fmt.Sprint(entry.Selection["status"]) != "[investigating]" {
		t.Errorf("audit entry %+v %s: want ana's analysis with its selection and counts", e, e.After)
	}

	// Over HTTP the client streams: the same verdicts, with progress.
	steps = nil
	viaHTTP, err := c.AnalyseIPs(ctx, api.AnalyseRequest{Tag: "case-7", Since: "7d",
		Progress: func(done, total int) { steps = append(steps, step{done, total}) }})
	if err != nil {
		t.Fatal(err)
	}
	if want := []step{{0, 3}, {3, 3}}; !slices.Equal(steps, want) || viaHTTP.Counts.Malicious != 3 || viaHTTP.Analysed != 3 {
		t.Errorf("streamed AnalyseIPs = %+v with progress %v; want the 3 attackers malicious after progress %v", viaHTTP, steps, want)
	}
	if _, err := c.AnalyseIPs(ctx, api.AnalyseRequest{Since: "7d"}); !errors.Is(err, api.ErrBadRequest) {
		t.Errorf("streamed AnalyseIPs without addresses or selection = %v, want a bad request", err)
	}
}

// TestAnalyseIPsBounds: an analysis refuses ranges among its addresses and
// more than MaxAnalysePerCall addresses before any work, and stops when
// its context ends, auditing what it did.
func TestAnalyseIPsBounds(t *testing.T) {
	s := start(t, testConfig(t, t.TempDir()))
	ctx := auth.WithPrincipal(context.Background(), auth.System)
	for _, tc := range []struct {
		name string
		req  api.AnalyseRequest
		want string
	}{
		{"nothing", api.AnalyseRequest{}, "name addresses or select records"},
		{"range", api.AnalyseRequest{IPs: []string{"203.0.113.0/24"}}, "is a range"},
		{"too many", api.AnalyseRequest{IPs: quietAddrs(api.MaxAnalysePerCall + 1)}, "at most 100000"},
		{"status", api.AnalyseRequest{Status: []string{"banned"}}, `status "banned"`},
		{"since", api.AnalyseRequest{Tag: "x", Since: "soon"}, `since "soon"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := s.App.AnalyseIPs(ctx, tc.req)
			if !errors.Is(err, api.ErrBadRequest) || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("AnalyseIPs(%s) = %v, want a bad request saying %q", tc.name, err, tc.want)
			}
		})
	}

	cctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var last int
	_, err := s.App.AnalyseIPs(cctx, api.AnalyseRequest{IPs: quietAddrs(2500), Progress: func(done, _ int) {
		last = done
		if done >= 1000 {
			cancel()
		}
	}})
	if !errors.Is(err, context.Canceled) || last != 1000 {
		t.Errorf("AnalyseIPs cancelled after the first chunk = %v, last progress %d; want context.Canceled at 1000", err, last)
	}
	list, err := s.App.Audit(ctx, api.AuditQuery{Action: "ip.analyse"})
	if err != nil || len(list.Entries) != 1 || !strings.Contains(string(list.Entries[0].After), `"analysed":1000`) ||
		!strings.Contains(string(list.Entries[0].After), "canceled") {
		t.Errorf("audit of the cancelled analysis = %+v, %v; want one entry with 1000 analysed and the error", list, err)
	}
}
