package main

import (
	"context"
	"encoding/json"
	"net/http"
	"os/exec"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/tracehound/tracehound/api"
	"github.com/tracehound/tracehound/app"
	"github.com/tracehound/tracehound/auth"
	"github.com/tracehound/tracehound/config"
	"github.com/tracehound/tracehound/scenario"
)

// bearer adds a token to every request of an MCP HTTP client.
type bearer struct {
	token string
	next  http.RoundTripper
}

func (b bearer) RoundTrip(r *http.Request) (*http.Response, error) {
	r = r.Clone(r.Context())
	r.Header.Set("Authorization", "Bearer "+b.token)
	return b.next.RoundTrip(r)
}

// mcpServer is a real tracehound serving four days of the reference
// scenario with its spec registered, and tokens for an analyst and a
// viewer agent.
type mcpServer struct {
	a       *app.App
	url     string
	analyst string
	viewer  string
	// actors are the audit log's names of the two tokens.
	analystActor, viewerActor string
}

func startMCPServer(t *testing.T) *mcpServer {
	t.Helper()
	if testing.Short() {
		t.Skip("seeds a scenario")
	}
	c := config.Default()
	c.Data = t.TempDir()
	c.Listen, c.OTLPHTTP, c.OTLPGRPC = "127.0.0.1:0", "127.0.0.1:0", ""
	c.APIMap.SnapshotInterval = 0
	a, err := app.New(context.Background(), app.Options{Config: c, Serve: true})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- a.Run(ctx) }()
	t.Cleanup(func() { cancel(); <-done; a.Close() })
	s := &mcpServer{a: a, url: "http://" + a.Addr()}
	for deadline := time.Now().Add(10 * time.Second); ; {
		if resp, err := http.Get(s.url + "/readyz"); err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				break
			}
		}
		if time.Now().After(deadline) {
			t.Fatal("server never became ready")
		}
		time.Sleep(20 * time.Millisecond)
	}
	const days = 4
	if _, err := scenario.Backfill(ctx, scenario.Options{
		Scenario: scenario.DefaultScenario, Start: scenario.DefaultStart(time.Now(), days), Days: days, Scale: 0.001, Seed: 5,
		Endpoint: "http://" + a.OTLPHTTPAddr(), Protocol: scenario.ProtocolHTTP,
	}); err != nil {
		t.Fatalf("Backfill: %v", err)
	}
	if err := a.Sync(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := a.RegisterSpec(ctx, api.SpecUpload{Service: scenario.ServiceName, Raw: scenario.DataVaultSpec()}); err != nil {
		t.Fatal(err)
	}
	for _, tok := range []struct {
		name  string
		role  auth.Role
		dst   *string
		actor *string
	}{{"agent", auth.RoleAnalyst, &s.analyst, &s.analystActor}, {"reader", auth.RoleViewer, &s.viewer, &s.viewerActor}} {
		created, err := a.CreateToken(ctx, api.TokenRequest{Name: tok.name, Role: tok.role, Service: true})
		if err != nil {
			t.Fatal(err)
		}
		*tok.dst, *tok.actor = created.Secret, "token:"+created.Token.ID
	}
	return s
}

func (s *mcpServer) httpSession(t *testing.T, token string) *mcp.ClientSession {
	t.Helper()
	c := mcp.NewClient(&mcp.Implementation{Name: "test-agent", Version: "1"}, nil)
	cs, err := c.Connect(context.Background(), &mcp.StreamableClientTransport{
		Endpoint: s.url + "/mcp", HTTPClient: &http.Client{Transport: bearer{token, http.DefaultTransport}}, MaxRetries: -1,
	}, nil)
	if err != nil {
		t.Fatalf("connect over HTTP: %v", err)
	}
	t.Cleanup(func() { cs.Close() })
	return cs
}

// call calls a tool and decodes its structured output into out; it
// returns the tool error's text, or "".
func call(t *testing.T, cs *mcp.ClientSession, tool string, args map[string]any, out any) string {
	t.Helper()
	res, err := cs.CallTool(context.Background(), &mcp.CallToolParams{Name: tool, Arguments: args})
	if err != nil {
		t.Fatalf("%s: %v", tool, err)
	}
	if res.IsError {
		var msg []string
		for _, c := range res.Content {
			if tc, ok := c.(*mcp.TextContent); ok {
				msg = append(msg, tc.Text)
			}
		}
		return strings.Join(msg, " ")
	}
	if out != nil {
		b, err := json.Marshal(res.StructuredContent)
		if err != nil {
			t.Fatal(err)
		}
		if err := json.Unmarshal(b, out); err != nil {
			t.Fatalf("%s: decode %s: %v", tool, b, err)
		}
	}
	return ""
}

// TestMCPAgentWorkflow works the reference case as an agent would, over
// stdio (`tracehound mcp --server`) and over HTTP (/mcp): find the shadow
// endpoint, ask the forensic question, block the attackers (a dry run
// first, refused to a viewer, never touching a trusted address), and find
// every call in the audit log under the agent's token.
func TestMCPAgentWorkflow(t *testing.T) {
	s := startMCPServer(t)
	ctx := context.Background()

	cmd := exec.Command("tracehound", "mcp", "--server", s.url, "--token", s.analyst)
	stdio, err := mcp.NewClient(&mcp.Implementation{Name: "stdio-agent", Version: "1"}, nil).Connect(ctx, &mcp.CommandTransport{Command: cmd}, nil)
	if err != nil {
		t.Fatalf("connect over stdio: %v", err)
	}
	defer stdio.Close()
	sessions := map[string]*mcp.ClientSession{"stdio": stdio, "http": s.httpSession(t, s.analyst)}

	for name, cs := range sessions {
		var tools []string
		for tool, err := range cs.Tools(ctx, nil) {
			if err != nil {
				t.Fatalf("%s: list tools: %v", name, err)
			}
			tools = append(tools, tool.Name)
		}
		for _, want := range []string{"map_endpoints", "endpoint_detail", "list_alerts", "set_alert_status", "ask", "run_sql", "get_trace", "ip_info", "block_ips", "trust_ips", "backtest_rule", "investigate"} {
			if !slices.Contains(tools, want) {
				t.Errorf("%s: tools %v lack %s", name, tools, want)
			}
		}

		var shadow struct {
			Endpoints []struct{ Method, Template string } `json:"endpoints"`
		}
		if msg := call(t, cs, "map_endpoints", map[string]any{"only": "shadow"}, &shadow); msg != "" {
			t.Fatalf("%s: map_endpoints: %s", name, msg)
		}
		if len(shadow.Endpoints) != 1 || shadow.Endpoints[0].Method+" "+shadow.Endpoints[0].Template != "GET /v1/admin/export" {
			t.Errorf("%s: shadow endpoints = %+v, want GET /v1/admin/export alone", name, shadow.Endpoints)
		}

		var ans struct {
			Interpretation string `json:"interpretation"`
			SQL            string `json:"sql"`
			Args           []any  `json:"args"`
			Result         struct {
				Rows     [][]any `json:"rows"`
				RowCount int     `json:"row_count"`
			} `json:"result"`
			Timeline *struct {
				Rows [][]any `json:"rows"`
			} `json:"timeline"`
		}
		if msg := call(t, cs, "ask", map[string]any{"question": "Show all requests to /admin/export in the last 7 days", "limit": 5}, &ans); msg != "" {
			t.Fatalf("%s: ask: %s", name, msg)
		}
		if len(ans.Result.Rows) != 5 || ans.Result.RowCount <= 5 || ans.Timeline == nil || len(ans.Timeline.Rows) == 0 || !slices.Contains(ans.Args, any("/v1/admin/export")) {
			t.Errorf("%s: ask = %d rows of %d, timeline %v, args %v; want 5 rows of more, a timeline, the endpoint bound as an argument", name, len(ans.Result.Rows), ans.Result.RowCount, ans.Timeline, ans.Args)
		}
	}

	// The agent investigates the three addresses behind the shadow endpoint.
	var inv struct {
		Report struct {
			Callers []struct {
				Verdict   string `json:"verdict"`
				Certainty string `json:"certainty"`
				RiskScore int    `json:"risk_score"`
			} `json:"callers"`
			Campaigns []struct {
				IPCount int `json:"ip_count"`
			} `json:"campaigns"`
		} `json:"report"`
	}
	if msg := call(t, sessions["http"], "investigate", map[string]any{"callers": scenario.ExfilIPs[:]}, &inv); msg != "" {
		t.Fatalf("investigate: %s", msg)
	}
	if len(inv.Report.Callers) != 3 {
		t.Fatalf("investigate: %d caller reports, want 3", len(inv.Report.Callers))
	}
	for i, c := range inv.Report.Callers {
		if c.Verdict != "Malicious — Data Exfiltration" || c.RiskScore < 85 {
			t.Errorf("investigate %s = %+v, want Malicious — Data Exfiltration with risk ≥ 85", scenario.ExfilIPs[i], c)
		}
	}
	if len(inv.Report.Campaigns) != 1 || inv.Report.Campaigns[0].IPCount != 3 {
		t.Errorf("investigate campaigns = %+v, want one of three addresses", inv.Report.Campaigns)
	}

	// A viewer's agent may read but not block.
	viewer := s.httpSession(t, s.viewer)
	if msg := call(t, viewer, "block_ips", map[string]any{"ips": []string{scenario.ExfilIPs[0]}, "reason": "exfiltration", "confirm": true}, nil); !strings.Contains(msg, "analyst") {
		t.Errorf("viewer block_ips = %q, want refused for lack of the analyst role", msg)
	}
	if msg := call(t, viewer, "run_sql", map[string]any{"sql": "SELECT count() FROM traces"}, nil); msg != "" {
		t.Errorf("viewer run_sql: %s", msg)
	}
	if msg := call(t, viewer, "run_sql", map[string]any{"sql": "DROP TABLE spans"}, nil); msg == "" {
		t.Error("run_sql DROP TABLE succeeded")
	}

	// Block without confirm is a dry run; a trusted address is never blocked.
	trusted := scenario.ExfilIPs[2]
	if msg := call(t, stdio, "trust_ips", map[string]any{"ips": []string{trusted}, "reason": "test: trusted before the block", "confirm": true}, nil); msg != "" {
		t.Fatalf("trust_ips: %s", msg)
	}
	type actionOut struct {
		DryRun   bool  `json:"dry_run"`
		ChangeID int64 `json:"change_id"`
		IPs      []struct {
			IP, Before, Action string
		} `json:"ips"`
	}
	ips := scenario.ExfilIPs[:]
	var dry actionOut
	if msg := call(t, stdio, "block_ips", map[string]any{"ips": ips, "reason": "data exfiltration through the shadow export"}, &dry); msg != "" {
		t.Fatalf("block_ips dry run: %s", msg)
	}
	if !dry.DryRun || dry.ChangeID != 0 || len(dry.IPs) != 3 || dry.IPs[2].Action != "skipped" || dry.IPs[0].Action != "change" {
		t.Errorf("block_ips dry run = %+v, want a dry run changing two and skipping the trusted one", dry)
	}
	effective := func(ip string) string {
		d, err := s.a.IP(ctx, ip, 0)
		if err != nil {
			t.Fatal(err)
		}
		return d.Effective
	}
	if got := effective(ips[0]); got == "blocked" {
		t.Fatal("the dry run blocked an address")
	}
	var done actionOut
	if msg := call(t, sessions["http"], "block_ips", map[string]any{"ips": ips, "reason": "data exfiltration through the shadow export", "confirm": true}, &done); msg != "" {
		t.Fatalf("block_ips: %s", msg)
	}
	if done.DryRun || done.ChangeID == 0 {
		t.Errorf("block_ips = %+v, want an applied change", done)
	}
	for i, want := range []string{"blocked", "blocked", "trusted"} {
		if got := effective(ips[i]); got != want {
			t.Errorf("%s is %s after block_ips, want %s", ips[i], got, want)
		}
	}

	// Every call is audited under the agent's token, over both transports.
	audit, err := s.a.Audit(ctx, api.AuditQuery{Action: "mcp.call", Limit: 1000})
	if err != nil {
		t.Fatal(err)
	}
	calls := map[string]int{}
	for _, e := range audit.Entries {
		calls[e.Actor+" "+e.Target]++
	}
	agent, reader := s.analystActor+" ", s.viewerActor+" "
	for _, want := range []string{agent + "tool:map_endpoints", agent + "tool:ask", agent + "tool:block_ips", reader + "tool:block_ips", reader + "tool:run_sql"} {
		if calls[want] == 0 {
			t.Errorf("audit log lacks %q; has %v", want, calls)
		}
	}
	if calls[agent+"tool:map_endpoints"] != 2 {
		t.Errorf("map_endpoints audited %d times, want 2 (stdio and HTTP)", calls[agent+"tool:map_endpoints"])
	}

	// Without a token, /mcp answers 401.
	resp, err := http.Post(s.url+"/mcp", "application/json", strings.NewReader(`{"jsonrpc":"2.0","id":1,"method":"tools/list"}`))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("POST /mcp without a token = %d, want 401", resp.StatusCode)
	}
}
