package agent_test

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/tracehound/tracehound/agent"
	"github.com/tracehound/tracehound/api"
	"github.com/tracehound/tracehound/app"
	"github.com/tracehound/tracehound/auth"
	"github.com/tracehound/tracehound/config"
)

var update = flag.Bool("update", false, "rewrite the schema golden files")

// fixture is an App on an empty data directory with an MCP client
// connected in memory, shared by the tests of one process.
type fixture struct {
	app *app.App
	srv *agent.Server
	cs  *mcp.ClientSession
}

var (
	once   sync.Once
	shared *fixture
	setup  error
	tmp    string
)

func TestMain(m *testing.M) {
	code := m.Run()
	if shared != nil {
		shared.cs.Close()
		shared.app.Close()
	}
	if tmp != "" {
		os.RemoveAll(tmp)
	}
	os.Exit(code)
}

func connect(tb testing.TB) *fixture {
	tb.Helper()
	once.Do(func() {
		tmp, setup = os.MkdirTemp("", "agent-test-")
		if setup != nil {
			return
		}
		c := config.Default()
		c.Data = tmp
		c.APIMap.SnapshotInterval = 0
		a, err := app.New(context.Background(), app.Options{Config: c})
		if err != nil {
			setup = err
			return
		}
		srv := agent.New(a, agent.Options{Version: "test", Audit: app.AgentAudit(a)})
		st, ct := mcp.NewInMemoryTransports()
		if _, err := srv.MCP().Connect(context.Background(), st, nil); err != nil {
			setup = err
			return
		}
		cs, err := mcp.NewClient(&mcp.Implementation{Name: "test", Version: "1"}, nil).Connect(context.Background(), ct, nil)
		if err != nil {
			setup = err
			return
		}
		shared = &fixture{app: a, srv: srv, cs: cs}
	})
	if setup != nil {
		tb.Fatal(setup)
	}
	return shared
}

// TestToolSchemas keeps each tool's input and output schema in a golden
// file, so that a change an agent would see is a reviewed change.
func TestToolSchemas(t *testing.T) {
	f := connect(t)
	var names []string
	for tool, err := range f.cs.Tools(context.Background(), nil) {
		if err != nil {
			t.Fatal(err)
		}
		names = append(names, tool.Name)
		if tool.Description == "" || tool.InputSchema == nil || tool.OutputSchema == nil {
			t.Errorf("%s: description, input or output schema missing", tool.Name)
		}
		got, err := json.MarshalIndent(map[string]any{"description": tool.Description, "input": tool.InputSchema, "output": tool.OutputSchema, "annotations": tool.Annotations}, "", "  ")
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, '\n')
		path := filepath.Join("testdata", "schemas", tool.Name+".json")
		if *update {
			os.MkdirAll(filepath.Dir(path), 0o755)
			if err := os.WriteFile(path, got, 0o644); err != nil {
				t.Fatal(err)
			}
			continue
		}
		want, err := os.ReadFile(path)
		if err != nil {
			t.Errorf("%s: %v (run go test ./agent -run TestToolSchemas -update)", tool.Name, err)
			continue
		}
		if !bytes.Equal(got, want) {
			t.Errorf("%s: schema changed; review and run go test ./agent -run TestToolSchemas -update\ngot:\n%s", tool.Name, got)
		}
	}
	if !slices.Equal(names, sorted(f.srv.Tools())) && !slices.Equal(names, f.srv.Tools()) {
		t.Errorf("listed tools %v, registered %v", names, f.srv.Tools())
	}
	files, _ := filepath.Glob(filepath.Join("testdata", "schemas", "*.json"))
	if len(files) != len(names) && !*update {
		t.Errorf("%d golden files for %d tools: remove the stale ones", len(files), len(names))
	}
}

func sorted(s []string) []string {
	s = slices.Clone(s)
	slices.Sort(s)
	return s
}

func callTool(t testing.TB, cs *mcp.ClientSession, name string, args any) *mcp.CallToolResult {
	t.Helper()
	res, err := cs.CallTool(context.Background(), &mcp.CallToolParams{Name: name, Arguments: args})
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	return res
}

func text(res *mcp.CallToolResult) string {
	var b strings.Builder
	for _, c := range res.Content {
		if tc, ok := c.(*mcp.TextContent); ok {
			b.WriteString(tc.Text)
		}
	}
	return b.String()
}

// TestToolErrors checks that bad arguments give the agent an error it can
// act on, and that the call is still audited.
func TestToolErrors(t *testing.T) {
	f := connect(t)
	for _, c := range []struct {
		tool string
		args map[string]any
		want string
	}{
		{"run_sql", map[string]any{"sql": ""}, "empty"},
		{"run_sql", map[string]any{"sql": "DELETE FROM spans"}, ""},
		{"run_sql", map[string]any{"sql": "SELECT 1", "extra": 1}, ""},
		{"map_endpoints", map[string]any{"only": "everything"}, "everything"},
		{"map_endpoints", map[string]any{"window": "yesterday"}, "window"},
		{"endpoint_detail", map[string]any{}, "give id"},
		{"ask", map[string]any{"question": "  "}, "empty"},
		{"block_ips", map[string]any{"ips": []string{"192.0.2.1"}}, "reason"},
		{"block_ips", map[string]any{"ips": []string{"192.0.2.1"}, "reason": " "}, "reason is required"},
		{"block_ips", map[string]any{"ips": []string{}, "reason": "x"}, "1 to"},
		{"block_ips", map[string]any{"ips": []string{"not-an-ip"}, "reason": "x"}, ""},
		{"set_alert_status", map[string]any{"ids": []int{}, "status": "resolved"}, "notification ids"},
		{"backtest_rule", map[string]any{}, "rule_id or body"},
		{"get_trace", map[string]any{"trace_id": "00000000000000000000000000000001"}, ""},
	} {
		res := callTool(t, f.cs, c.tool, c.args)
		if !res.IsError {
			t.Errorf("%s(%v) succeeded, want an error", c.tool, c.args)
			continue
		}
		if !strings.Contains(text(res), c.want) {
			t.Errorf("%s(%v) = %q, want it to mention %q", c.tool, c.args, text(res), c.want)
		}
	}
	// Calls are audited, failed ones with their error.
	list, err := f.app.Audit(auth.WithPrincipal(context.Background(), auth.Local), apiAudit("mcp.call"))
	if err != nil {
		t.Fatal(err)
	}
	var sawError bool
	for _, e := range list.Entries {
		if e.Target == "tool:map_endpoints" && bytes.Contains(e.After, []byte("everything")) && bytes.Contains(e.After, []byte(`"error"`)) {
			sawError = true
		}
	}
	if !sawError {
		t.Errorf("no audited map_endpoints call with its error among %d entries", len(list.Entries))
	}
}

// TestReadOnlyCalls runs each read tool on the empty store.
func TestReadOnlyCalls(t *testing.T) {
	f := connect(t)
	res := callTool(t, f.cs, "run_sql", map[string]any{"sql": "SELECT 1 AS one, 'x' AS s"})
	if res.IsError {
		t.Fatalf("run_sql: %s", text(res))
	}
	out, _ := json.Marshal(res.StructuredContent)
	if !bytes.Contains(out, []byte(`"columns":["one","s"]`)) || !bytes.Contains(out, []byte(`"rows":[[1,"x"]]`)) {
		t.Errorf("run_sql = %s", out)
	}
	res = callTool(t, f.cs, "map_endpoints", map[string]any{})
	if res.IsError {
		t.Fatalf("map_endpoints: %s", text(res))
	}
	if out, _ := json.Marshal(res.StructuredContent); !bytes.Contains(out, []byte(`"endpoints":[]`)) {
		t.Errorf("map_endpoints on an empty store = %s", out)
	}
	for _, uri := range []string{agent.URIMap, agent.URIIncidents, agent.URIRules} {
		r, err := f.cs.ReadResource(context.Background(), &mcp.ReadResourceParams{URI: uri})
		if err != nil {
			t.Errorf("read %s: %v", uri, err)
			continue
		}
		if len(r.Contents) != 1 || !json.Valid([]byte(r.Contents[0].Text)) {
			t.Errorf("read %s: %d contents, not JSON", uri, len(r.Contents))
		}
	}
	p, err := f.cs.GetPrompt(context.Background(), &mcp.GetPromptParams{Name: "investigate_ip", Arguments: map[string]string{"ip": "192.0.2.7"}})
	if err != nil || len(p.Messages) != 1 || !strings.Contains(p.Messages[0].Content.(*mcp.TextContent).Text, "192.0.2.7") {
		t.Errorf("investigate_ip prompt = %v, %v", p, err)
	}
}

// FuzzToolArguments sends arbitrary arguments to every tool: each call
// answers (a result or a tool error), and the server keeps serving.
func FuzzToolArguments(f *testing.F) {
	for _, s := range []string{`{}`, `{"sql":"SELECT 1"}`, `{"only":"shadow","limit":-5}`, `{"ips":["::1","10.0.0.0/8"],"reason":"r"}`,
		`{"question":"top 10 ips by requests yesterday"}`, `{"ids":[1,2],"status":"resolved","confirm":true}`, `{"trace_id":"zz"}`,
		`{"rule_id":"x","body":"y"}`, `{"limit":1e308}`, `[]`, `null`, `{"ip":"1.2.3.4","window":"-1d"}`} {
		for i := range 11 {
			f.Add(uint8(i), s)
		}
	}
	fx := connect(f)
	tools := fx.srv.Tools()
	f.Fuzz(func(t *testing.T, which uint8, args string) {
		var v any
		if json.Unmarshal([]byte(args), &v) != nil {
			return
		}
		name := tools[int(which)%len(tools)]
		if name == "block_ips" || name == "trust_ips" || name == "set_alert_status" {
			// Keep the fuzzer's changes dry: it may find a call that
			// confirms, which is legitimate, but should not pile up state.
			if m, ok := v.(map[string]any); ok {
				delete(m, "confirm")
			}
		}
		res, err := fx.cs.CallTool(context.Background(), &mcp.CallToolParams{Name: name, Arguments: v})
		if err != nil && res != nil {
			t.Fatalf("%s(%s): both a result and an error: %v", name, args, err)
		}
		// The server still answers.
		if r := callTool(t, fx.cs, "run_sql", map[string]any{"sql": "SELECT 1"}); r.IsError {
			t.Fatalf("server broken after %s(%s): %s", name, args, text(r))
		}
	})
}

func apiAudit(action string) api.AuditQuery { return api.AuditQuery{Action: action, Limit: 1000} }
