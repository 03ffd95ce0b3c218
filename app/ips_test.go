package app_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/tracehound/tracehound/api"
	"github.com/tracehound/tracehound/config"
	"github.com/tracehound/tracehound/contain"
	"github.com/tracehound/tracehound/state"
)

// ipConfig is a test server's configuration with a fast sweeper.
func ipConfig(t *testing.T) config.Config {
	t.Helper()
	c := testConfig(t, t.TempDir())
	c.Contain.SweepInterval = config.Duration(100 * time.Millisecond)
	return c
}

func mustSetIP(t testing.TB, b api.IPBackend, req api.IPStatusRequest) *api.IPStatusResult {
	t.Helper()
	res, err := b.SetIPStatus(context.Background(), req)
	if err != nil {
		t.Fatalf("SetIPStatus(%+v) = %v", req, err)
	}
	return res
}

func ipDetail(t *testing.T, b api.IPBackend, ip string) *api.IPDetail {
	t.Helper()
	d, err := b.IP(context.Background(), ip, 0)
	if err != nil {
		t.Fatalf("IP(%q) = %v", ip, err)
	}
	return d
}

func plainBlocklist(t *testing.T, b api.IPBackend) []string {
	t.Helper()
	res, err := b.Blocklist(context.Background(), "plain")
	if err != nil {
		t.Fatalf("Blocklist(plain) = %v", err)
	}
	return strings.Fields(string(res.Body))
}

func TestIPSetUndoTrustedBeatsBlocked(t *testing.T) {
	s := start(t, ipConfig(t))
	ctx := context.Background()
	c := s.client(t)

	if _, err := c.SetIPStatus(ctx, api.IPStatusRequest{IPs: []string{"104.248.73.19"}, Status: "blocked"}); !errors.Is(err, api.ErrBadRequest) {
		t.Errorf("block without a reason: err = %v, want a bad request", err)
	}
	if _, err := c.SetIPStatus(ctx, api.IPStatusRequest{IPs: []string{"not-an-ip"}, Status: "blocked", Reason: "x"}); !errors.Is(err, api.ErrBadRequest) {
		t.Errorf("block of a bad address: err = %v, want a bad request", err)
	}
	if _, err := c.SetIPStatus(ctx, api.IPStatusRequest{IPs: []string{"104.248.73.19"}, Status: "blocked", Reason: "x", For: "soon"}); !errors.Is(err, api.ErrBadRequest) {
		t.Errorf("block for \"soon\": err = %v, want a bad request", err)
	}

	block := mustSetIP(t, c, api.IPStatusRequest{IPs: []string{"104.248.73.19", "167.71.205.88"}, Status: "blocked", For: "7d",
		Reason: "admin export exfiltration", Tags: []string{"datavault"}})
	if block.ChangeID == 0 || len(block.Changed) != 2 || block.ExpiresAt.Before(time.Now().Add(7*24*time.Hour-time.Minute)) {
		t.Fatalf("block = %+v; want a change of 2 expiring in 7 days", block)
	}
	if got := plainBlocklist(t, c); !slices.Equal(got, []string{"104.248.73.19", "167.71.205.88"}) {
		t.Errorf("blocklist after the block = %v", got)
	}
	// Trusting the range lifts the block inside it; blocking inside a
	// trusted range is refused.
	trust := mustSetIP(t, c, api.IPStatusRequest{IPs: []string{"104.248.73.0/24"}, Status: "trusted", Reason: "partner office"})
	if !slices.Contains(trust.Changed, "104.248.73.19") {
		t.Errorf("trust of the range changed %v; want the block of 104.248.73.19 superseded", trust.Changed)
	}
	d := ipDetail(t, c, "104.248.73.19")
	if d.Effective != "trusted" || d.Status != "monitoring" || len(d.CoveredBy) != 1 || d.CoveredBy[0].IP != "104.248.73.0/24" {
		t.Errorf("detail under trust = effective %q status %q covered by %+v; want trusted, monitoring, the /24", d.Effective, d.Status, d.CoveredBy)
	}
	if r := ipDetail(t, c, "104.248.73.0/24"); r.IP != "104.248.73.0/24" || r.Status != "trusted" || r.Effective != "trusted" {
		t.Errorf("detail of the range over HTTP = %q status %q effective %q; want the trusted /24", r.IP, r.Status, r.Effective)
	}
	if got := plainBlocklist(t, c); slices.Contains(got, "104.248.73.19") {
		t.Errorf("blocklist under trust = %v; still has the trusted address", got)
	}
	_, err := c.SetIPStatus(ctx, api.IPStatusRequest{IPs: []string{"104.248.73.19"}, Status: "blocked", Reason: "again"})
	if !errors.Is(err, state.ErrExists) || !strings.Contains(err.Error(), "trusted") {
		t.Errorf("HTTP block of a trusted address: err = %v, want a 409 conflict naming the trust", err)
	}
	if _, err := s.App.SetIPStatus(ctx, api.IPStatusRequest{IPs: []string{"104.248.73.19"}, Status: "blocked", Reason: "again"}); !errors.Is(err, contain.ErrTrusted) {
		t.Errorf("local block of a trusted address: err = %v, want contain.ErrTrusted", err)
	}

	// Undoing the trust restores the block; a second undo conflicts.
	undo, err := c.UndoIPChange(ctx, trust.ChangeID)
	if err != nil || undo.ChangeID <= trust.ChangeID || undo.UndoOf != trust.ChangeID {
		t.Fatalf("UndoIPChange(%d) = %+v, %v", trust.ChangeID, undo, err)
	}
	d = ipDetail(t, s.App, "104.248.73.19")
	if d.Effective != "blocked" || d.Status != "blocked" || !slices.Equal(d.Tags, []string{"datavault"}) {
		t.Errorf("after undo: effective %q status %q tags %v; want blocked, blocked, [datavault]", d.Effective, d.Status, d.Tags)
	}
	if len(d.History) < 3 || d.History[0].Action != "undo" || d.History[0].UndoOf != trust.ChangeID || d.History[1].UndoneBy != undo.ChangeID {
		t.Errorf("history = %+v; want the undo first, then the undone trust", d.History)
	}
	if _, err := c.UndoIPChange(ctx, trust.ChangeID); !errors.Is(err, state.ErrExists) {
		t.Errorf("second undo: err = %v, want a conflict", err)
	}
	if _, err := c.UndoIPChange(ctx, 999999); !errors.Is(err, state.ErrNotFound) && !strings.Contains(fmt.Sprint(err), "not found") {
		t.Errorf("undo of an unknown change: err = %v, want not found", err)
	}

	// Every change is audited under the token that made it.
	audit, err := c.Audit(ctx, api.AuditQuery{Action: "ip."})
	if err != nil {
		t.Fatal(err)
	}
	var actions []string
	for _, e := range audit.Entries {
		actions = append(actions, e.Action+" "+e.Target)
		if !strings.HasPrefix(e.Actor, "token:") && e.Actor != "local" {
			t.Errorf("audit actor %q", e.Actor)
		}
	}
	want := []string{"ip.undo ip_change:" + fmt.Sprint(trust.ChangeID), "ip.set ip:104.248.73.0/24,104.248.73.19"}
	if len(actions) < 2 || !slices.Equal(actions[:2], want) {
		t.Errorf("audit = %v; want it to start with %v", actions, want)
	}
}

func TestIPExpiry(t *testing.T) {
	s := start(t, ipConfig(t))
	c := s.client(t)
	mustSetIP(t, c, api.IPStatusRequest{IPs: []string{"178.128.44.156"}, Status: "blocked", For: "1s", Reason: "short"})
	mustSetIP(t, c, api.IPStatusRequest{IPs: []string{"198.51.100.0/24"}, Status: "blocked", Reason: "long"})
	if got := plainBlocklist(t, c); !slices.Equal(got, []string{"178.128.44.156", "198.51.100.0/24"}) {
		t.Fatalf("blocklist = %v", got)
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		d := ipDetail(t, c, "178.128.44.156")
		if d.Status == "monitoring" {
			if d.History[0].Action != "expire" || d.History[0].Actor != "system" {
				t.Errorf("history after expiry = %+v; want an expire by system first", d.History[0])
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the 1s block was never swept: %+v", d.IPRecord)
		}
		time.Sleep(50 * time.Millisecond)
	}
	if got := plainBlocklist(t, c); !slices.Equal(got, []string{"198.51.100.0/24"}) {
		t.Errorf("blocklist after expiry = %v; want only the range", got)
	}
	list, err := c.IPs(context.Background(), api.IPQuery{Statuses: []string{"blocked"}})
	if err != nil || list.Total != 1 || list.IPs[0].IP != "198.51.100.0/24" {
		t.Errorf("blocked after expiry = %+v, %v", list, err)
	}
}

func TestIPListFilters(t *testing.T) {
	s := start(t, ipConfig(t))
	ctx := context.Background()
	c := s.client(t)
	// 1,000 blocked addresses in 10.1.0.0/16 tagged bulk, 24h; 200
	// monitored in 10.2.0.0/16; one trusted range; one investigated for 1h.
	var bulk, mon []string
	for i := range 1000 {
		bulk = append(bulk, fmt.Sprintf("10.1.%d.%d", i/256, i%256))
	}
	for i := range 200 {
		mon = append(mon, fmt.Sprintf("10.2.0.%d", i))
	}
	mustSetIP(t, s.App, api.IPStatusRequest{IPs: bulk, Status: "blocked", For: "24h", Reason: "credential stuffing", Tags: []string{"bulk"}})
	mustSetIP(t, s.App, api.IPStatusRequest{IPs: mon, Status: "monitoring"})
	mustSetIP(t, s.App, api.IPStatusRequest{IPs: []string{"10.3.0.0/16"}, Status: "trusted", Reason: "office VPN"})
	mustSetIP(t, s.App, api.IPStatusRequest{IPs: []string{"10.3.0.9"}, Status: "investigating", For: "1h", Reason: "odd"})

	tests := []struct {
		name      string
		q         api.IPQuery
		total     int
		first     string
		pageCount int
	}{
		{"all, default page", api.IPQuery{}, 1202, "10.1.0.0", 100},
		{"blocked", api.IPQuery{Statuses: []string{"blocked"}, Limit: 5}, 1000, "10.1.0.0", 5},
		{"blocked or trusted", api.IPQuery{Statuses: []string{"blocked", "trusted"}, Limit: 2000}, 1001, "10.1.0.0", api.IPListMax},
		{"tag", api.IPQuery{Tag: "bulk", Limit: 1, Offset: 999}, 1000, "10.1.3.231", 1},
		{"within", api.IPQuery{Within: "10.2.0.0/24"}, 200, "10.2.0.0", 100},
		{"containing", api.IPQuery{Containing: "10.3.0.9"}, 2, "10.3.0.0/16", 2},
		{"text", api.IPQuery{Text: "vpn"}, 1, "10.3.0.0/16", 1},
		{"expiring within 2h", api.IPQuery{Expiring: 2 * time.Hour}, 1, "10.3.0.9", 1},
		{"expiring within 2d", api.IPQuery{Expiring: 48 * time.Hour, Limit: 1}, 1001, "10.1.0.0", 1},
		{"sorted desc", api.IPQuery{Sort: "value", Desc: true, Limit: 1}, 1202, "10.3.0.9", 1},
		{"page cap", api.IPQuery{Limit: 5000}, 1202, "10.1.0.0", api.IPListMax},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			for name, b := range map[string]api.IPBackend{"local": s.App, "http": c} {
				res, err := b.IPs(ctx, tc.q)
				if err != nil {
					t.Fatalf("%s: IPs(%+v) = %v", name, tc.q, err)
				}
				if res.Total != tc.total || len(res.IPs) != tc.pageCount || res.IPs[0].IP != tc.first {
					first := ""
					if len(res.IPs) > 0 {
						first = res.IPs[0].IP
					}
					t.Errorf("%s: IPs(%+v) = total %d, %d on the page, first %s; want %d, %d, %s", name, tc.q, res.Total, len(res.IPs), first, tc.total, tc.pageCount, tc.first)
				}
			}
		})
	}
	for _, bad := range []api.IPQuery{{Statuses: []string{"banned"}}, {Within: "10.0.0.0/33"}, {Sort: "nope"}} {
		if _, err := c.IPs(ctx, bad); !errors.Is(err, api.ErrBadRequest) {
			t.Errorf("IPs(%+v): err = %v, want a bad request", bad, err)
		}
	}
	empty, err := c.IPs(ctx, api.IPQuery{Tag: "none"})
	if err != nil || empty.IPs == nil || empty.Total != 0 {
		t.Errorf("IPs(no match) = %+v, %v; want an empty list", empty, err)
	}
}

// seedIPs gives n addresses of 10.0.0.0/8 monitoring records, and ten of
// them a block tagged needle.
func seedIPs(tb testing.TB, b api.IPBackend, n int) {
	tb.Helper()
	ips := make([]string, 0, n)
	for i := range n {
		ips = append(ips, fmt.Sprintf("10.%d.%d.%d", i>>16, (i>>8)&255, i&255))
	}
	for chunk := range slices.Chunk(ips, 25_000) {
		mustSetIP(tb, b, api.IPStatusRequest{IPs: chunk, Status: "monitoring"})
	}
	mustSetIP(tb, b, api.IPStatusRequest{IPs: ips[n/2 : n/2+10], Status: "blocked", Reason: "scale", Tags: []string{"needle"}})
}

// scaleQueries are the list queries a UI page makes.
var scaleQueries = []struct {
	name string
	q    api.IPQuery
}{
	{"first-page", api.IPQuery{}},
	{"blocked", api.IPQuery{Statuses: []string{"blocked"}}},
	{"tag", api.IPQuery{Tag: "needle"}},
	{"within-16", api.IPQuery{Within: "10.0.0.0/16", Limit: 50}},
	{"recent-changes", api.IPQuery{Sort: "updated_at", Desc: true, Limit: 20}},
	{"offset-9000", api.IPQuery{Offset: 9_000, Limit: 100}},
	{"text", api.IPQuery{Text: "10.0.19"}},
}

// TestIPListAtScale bounds the time of the list queries over 20,000
// records; BenchmarkIPList measures them at 100,000.
func TestIPListAtScale(t *testing.T) {
	s := start(t, ipConfig(t))
	c := s.client(t)
	seedIPs(t, s.App, 20_000)
	for _, sq := range scaleQueries {
		q := sq.q
		began := time.Now()
		res, err := c.IPs(context.Background(), q)
		took := time.Since(began)
		if err != nil {
			t.Fatalf("IPs(%+v) = %v", q, err)
		}
		if len(res.IPs) == 0 {
			t.Errorf("IPs(%+v) found nothing", q)
		}
		if took > time.Second {
			t.Errorf("IPs(%+v) took %v over 20,000 records; want well under a second", q, took)
		}
	}
}

// BenchmarkIPList lists pages of 100,000 IP records through the HTTP API.
func BenchmarkIPList(b *testing.B) {
	s := startB(b)
	c := s.client(b)
	seedIPs(b, s.App, 100_000)
	for _, sq := range scaleQueries {
		q := sq.q
		b.Run(sq.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := c.IPs(context.Background(), q); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func TestBlocklistFormatsThroughAPI(t *testing.T) {
	s := start(t, ipConfig(t))
	c := s.client(t)
	mustSetIP(t, c, api.IPStatusRequest{IPs: []string{"104.248.73.19", "198.51.100.0/24", "2001:db8::7"}, Status: "blocked", Reason: "exfiltration"})
	mustSetIP(t, c, api.IPStatusRequest{IPs: []string{"198.51.100.7"}, Status: "trusted", Reason: "partner"})
	tests := []struct {
		format, contentType string
		want                []string
	}{
		{"plain", "text/plain", []string{"104.248.73.19\n", "198.51.100.128/25\n", "2001:db8::7\n"}},
		{"nginx", "text/plain", []string{"deny 104.248.73.19;", "deny 198.51.100.6;"}},
		{"nginx-geo", "text/plain", []string{"geo $tracehound_blocked {", "    104.248.73.19 1;"}},
		{"ipset", "text/plain", []string{"add tracehound-v4-tmp 104.248.73.19 timeout 0 -exist", "swap tracehound-v6-tmp tracehound-v6"}},
		{"nftables", "text/plain", []string{"table inet tracehound {", "104.248.73.19", "2001:db8::7"}},
		{"aws-wafv2", "application/json", []string{`"104.248.73.19/32"`, `"2001:db8::7/128"`}},
		{"cloudflare", "application/json", []string{`"ip": "104.248.73.19"`, `"comment": "exfiltration"`}},
	}
	for _, tc := range tests {
		res, err := c.Blocklist(context.Background(), tc.format)
		if err != nil {
			t.Fatalf("Blocklist(%s) = %v", tc.format, err)
		}
		body := string(res.Body)
		if !strings.HasPrefix(res.ContentType, tc.contentType) {
			t.Errorf("Blocklist(%s) content type %q, want %s", tc.format, res.ContentType, tc.contentType)
		}
		for _, w := range tc.want {
			if !strings.Contains(body, w) {
				t.Errorf("Blocklist(%s) lacks %q:\n%s", tc.format, w, body)
			}
		}
		if strings.Contains(body, "198.51.100.7 ") || strings.Contains(body, "198.51.100.7;") || strings.Contains(body, "198.51.100.7\n") || strings.Contains(body, "198.51.100.0/24") {
			t.Errorf("Blocklist(%s) covers the trusted 198.51.100.7:\n%s", tc.format, body)
		}
		if strings.HasSuffix(tc.contentType, "json") && !json.Valid(res.Body) {
			t.Errorf("Blocklist(%s) is not valid JSON", tc.format)
		}
		if wantWarn := tc.format == "cloudflare"; wantWarn != (len(res.Warnings) == 1 && strings.Contains(res.Warnings[0], "widened to their /64")) {
			t.Errorf("Blocklist(%s) warnings = %q; want the /64 widening warning for cloudflare only", tc.format, res.Warnings)
		}
		if res.Entries == 0 || res.Exported == 0 {
			t.Errorf("Blocklist(%s) figures = %d entries, %d exported", tc.format, res.Entries, res.Exported)
		}
	}
	if _, err := c.Blocklist(context.Background(), "iptables"); !errors.Is(err, api.ErrBadRequest) {
		t.Errorf("Blocklist(iptables): err = %v, want a bad request", err)
	}
	// The raw answer carries the figures as headers.
	req, _ := http.NewRequest(http.MethodGet, "http://"+s.Addr()+"/api/v1/blocklist", nil)
	req.Header.Set("Authorization", "Bearer "+cliToken(t, s))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || resp.Header.Get(api.HeaderBlocklistEntries) == "" || !strings.HasPrefix(string(b), "104.248.73.19\n") {
		t.Errorf("GET /api/v1/blocklist = %s, headers %v, body %q; want plain by default with the figures", resp.Status, resp.Header, b)
	}
}

func cliToken(t *testing.T, s *server) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(s.Config().Data, "cli-token"))
	if err != nil {
		t.Fatal(err)
	}
	return strings.TrimSpace(string(b))
}

// asnTable is an ASN range table in the ip-location-db layout.
const asnTable = `104.248.0.0,104.248.255.255,14061,"DigitalOcean, LLC"
167.71.0.0,167.71.255.255,14061,"DigitalOcean, LLC"
178.128.0.0,178.128.255.255,14061,"DigitalOcean, LLC"
`

func TestIPEnrich(t *testing.T) {
	cfg := ipConfig(t)
	csv := filepath.Join(t.TempDir(), "asn-ipv4.csv")
	if err := os.WriteFile(csv, []byte(asnTable), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg.IPIntel.ASNCSV = []string{csv}
	s := start(t, cfg)
	ctx := context.Background()
	c := s.client(t)
	var reqs []shopRequest
	for i := range 12 {
		reqs = append(reqs, shopRequest{ago: time.Duration(i+1) * time.Minute, method: "GET", path: "/admin/export", query: fmt.Sprintf("collection_id=%d", i), status: 200, ip: "104.248.73.19", key: "trial"})
	}
	reqs = append(reqs, shopRequest{ago: time.Minute, method: "GET", path: "/api/orders", status: 404, ip: "104.248.73.19"})
	sendShop(t, s, reqs)

	// One address is already blocked: enrichment keeps its status.
	mustSetIP(t, c, api.IPStatusRequest{IPs: []string{"104.248.73.19"}, Status: "blocked", Reason: "exfiltration"})
	res, err := c.EnrichIPs(ctx, api.EnrichRequest{IPs: []string{"104.248.73.19", "167.71.205.88", "178.128.44.156/31"}})
	if err != nil {
		t.Fatalf("EnrichIPs = %v", err)
	}
	if len(res.Records) != 4 || res.Created != 3 || res.StatsUpdated != 1 {
		t.Fatalf("EnrichIPs = %d records, %d created, %d stats updated; want 4, 3, 1", len(res.Records), res.Created, res.StatsUpdated)
	}
	var rec struct {
		IP        string   `json:"ip"`
		ASN       uint32   `json:"asn"`
		ASOrg     string   `json:"as_org"`
		UsageType string   `json:"usage_type"`
		Sources   []string `json:"sources"`
	}
	if err := json.Unmarshal(res.Records[1], &rec); err != nil || rec.IP != "167.71.205.88" || rec.ASN != 14061 || !strings.Contains(rec.ASOrg, "DigitalOcean") || rec.UsageType != "Data Center" {
		t.Errorf("record of 167.71.205.88 = %s; want AS14061 DigitalOcean, Data Center", res.Records[1])
	}

	d := ipDetail(t, s.App, "104.248.73.19")
	if d.Status != "blocked" || len(d.Enrichment) == 0 || d.Requests != 13 || d.FirstSeen.IsZero() {
		t.Errorf("after enrichment: status %q, enrichment %s, requests %d, first seen %v; want blocked, stored, 13, set", d.Status, d.Enrichment, d.Requests, d.FirstSeen)
	}
	tr := d.Traffic
	if tr.Requests != 13 || tr.ClientErrors != 1 || tr.APIKeys != 1 || tr.Endpoints != 2 || len(tr.TopEndpoints) != 2 || tr.TopEndpoints[0].Path != "/admin/export" || tr.TopEndpoints[0].Requests != 12 {
		t.Errorf("traffic = %+v; want 13 requests, 1 4xx, 1 key, 2 endpoints, /admin/export first with 12", tr)
	}
	fresh := ipDetail(t, c, "178.128.44.157")
	if fresh.Status != "monitoring" || fresh.Reason != "enriched" || len(fresh.Enrichment) == 0 {
		t.Errorf("expanded range address: status %q reason %q enrichment %s; want a monitoring record with enrichment", fresh.Status, fresh.Reason, fresh.Enrichment)
	}
	untracked := ipDetail(t, c, "192.0.2.1")
	if untracked.Tracked || untracked.Effective != "none" || untracked.History == nil {
		t.Errorf("untracked detail = %+v", untracked)
	}

	if _, err := c.EnrichIPs(ctx, api.EnrichRequest{IPs: []string{"10.0.0.0/8"}}); !errors.Is(err, api.ErrBadRequest) {
		t.Errorf("EnrichIPs(/8): err = %v, want a bad request (over %d addresses)", err, api.MaxEnrichPerCall)
	}
	if _, err := c.EnrichIPs(ctx, api.EnrichRequest{}); !errors.Is(err, api.ErrBadRequest) {
		t.Errorf("EnrichIPs(nothing): err = %v, want a bad request", err)
	}
}

func TestBouncerAPI(t *testing.T) {
	s := start(t, ipConfig(t))
	ctx := context.Background()
	c := s.client(t)
	created, err := c.AddBouncer(ctx, "edge-firewall")
	if err != nil || len(created.APIKey) != 64 || created.Bouncer.Name != "edge-firewall" {
		t.Fatalf("AddBouncer = %+v, %v", created, err)
	}
	if _, err := c.AddBouncer(ctx, "edge-firewall"); !errors.Is(err, state.ErrExists) {
		t.Errorf("duplicate AddBouncer: err = %v, want a conflict", err)
	}
	if _, err := c.AddBouncer(ctx, ""); !errors.Is(err, api.ErrBadRequest) {
		t.Errorf("AddBouncer(\"\"): err = %v, want a bad request", err)
	}
	mustSetIP(t, c, api.IPStatusRequest{IPs: []string{"104.248.73.19"}, Status: "blocked", Reason: "exfiltration"})

	get := func(path string, hdr map[string]string) (int, string) {
		t.Helper()
		req, _ := http.NewRequest(http.MethodGet, "http://"+s.Addr()+path, nil)
		for k, v := range hdr {
			req.Header.Set(k, v)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	key := map[string]string{"X-Api-Key": created.APIKey}
	if code, body := get("/v1/decisions/stream?startup=true", key); code != 200 || !strings.Contains(body, `"value":"104.248.73.19"`) || !strings.Contains(body, `"scenario":"exfiltration"`) {
		t.Errorf("decisions stream on the API port = %d %s", code, body)
	}
	if code, body := get("/v1/decisions?ip=104.248.73.19", key); code != 200 || !strings.Contains(body, `"type":"ban"`) {
		t.Errorf("decisions query = %d %s", code, body)
	}
	// The bouncer key grants nothing under /api/, whichever way it is sent.
	for _, hdr := range []map[string]string{key, {"Authorization": "Bearer " + created.APIKey}} {
		if code, _ := get("/api/v1/ips", hdr); code != http.StatusUnauthorized {
			t.Errorf("GET /api/v1/ips with the bouncer key %v = %d, want 401", hdr, code)
		}
	}
	if code, _ := get("/v1/decisions/stream", map[string]string{"Authorization": "Bearer " + cliToken(t, s)}); code != http.StatusForbidden {
		t.Errorf("decisions stream with an API token = %d, want 403 (bouncer keys only)", code)
	}

	list, err := c.Bouncers(ctx)
	if err != nil || len(list.Bouncers) != 1 || list.Bouncers[0].LastPull.IsZero() {
		t.Errorf("Bouncers = %+v, %v; want edge-firewall with its last pull", list, err)
	}
	if err := c.DeleteBouncer(ctx, "edge-firewall"); err != nil {
		t.Fatal(err)
	}
	if err := c.DeleteBouncer(ctx, "edge-firewall"); !errors.Is(err, state.ErrNotFound) && !strings.Contains(fmt.Sprint(err), "not found") {
		t.Errorf("second DeleteBouncer: err = %v, want not found", err)
	}
	if code, _ := get("/v1/decisions/stream", key); code != http.StatusForbidden {
		t.Errorf("deleted bouncer's key = %d, want 403", code)
	}
	audit, err := c.Audit(ctx, api.AuditQuery{Action: "bouncer."})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, e := range audit.Entries {
		got = append(got, e.Action+" "+e.Target)
		if strings.Contains(string(e.After)+string(e.Before), created.APIKey) {
			t.Errorf("audit entry %s leaks the bouncer key", e.Action)
		}
	}
	if want := []string{"bouncer.delete bouncer:edge-firewall", "bouncer.add bouncer:edge-firewall"}; !slices.Equal(got, want) {
		t.Errorf("bouncer audit = %v, want %v", got, want)
	}
}
