package agent

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/tracehound/tracehound/alert"
	"github.com/tracehound/tracehound/api"
	"github.com/tracehound/tracehound/apimap"
	"github.com/tracehound/tracehound/auth"
	"github.com/tracehound/tracehound/state"
)

// addTools registers the tools of every feature the backend serves.
func (s *Server) addTools() {
	if b, ok := s.b.(api.MapBackend); ok {
		s.addMapTools(b)
	}
	if b, ok := s.b.(api.AlertsBackend); ok {
		s.addAlertTools(b)
	}
	if b, ok := s.b.(api.AskBackend); ok {
		add(s, &mcp.Tool{Name: "ask", Title: "Ask a forensic question",
			Description: "Answer a plain-English question about the traffic (\"Show all requests to /admin/export in the last 7 days\", \"top 10 IPs by bytes downloaded yesterday\"). Returns how the question was read, the SQL that ran, the rows (bounded) and a per-hour or per-day timeline. A question the grammar cannot read returns suggestions.",
			Annotations: readOnly()}, auth.RoleViewer, askTool(b))
	}
	if b, ok := s.b.(api.Backend); ok {
		add(s, &mcp.Tool{Name: "run_sql", Title: "Run read-only SQL",
			Description: "Run one read-only SELECT over the traces table (ClickHouse dialect: countIf, uniqExact, quantile, extractURLParameter, toStartOfInterval, now(), INTERVAL). Writes, other tables and external access are refused by the query guard. Rows are capped.",
			Annotations: readOnly()}, auth.RoleViewer, sqlTool(b))
	}
	if b, ok := s.b.(api.TraceBackend); ok {
		add(s, &mcp.Tool{Name: "get_trace", Title: "Get a trace",
			Description: "Return one trace's spans as a tree (depth, parent, offset and duration, service, HTTP method, target and status), capped at max_spans.",
			Annotations: readOnly()}, auth.RoleViewer, traceTool(b))
	}
	if b, ok := s.b.(api.IPBackend); ok {
		s.addIPTools(b)
	}
	if b, ok := s.b.(api.InvestigateBackend); ok {
		s.addInvestigateTools(b)
	}
	if b, ok := s.b.(api.ReportBackend); ok {
		s.addReportTools(b)
	}
	if b, ok := s.b.(api.ExclusionsBackend); ok {
		s.addExclusionTools(b)
	}
	if b, ok := s.b.(api.RulesBackend); ok {
		add(s, &mcp.Tool{Name: "backtest_rule", Title: "Backtest an alert rule",
			Description: "Replay a loaded rule (rule_id) or a draft rule (body: the YAML of one rule) over history through the real alert state machine: when it would have fired, for which labels, notifications per day and the detection gap to incident_start.",
			Annotations: readOnly()}, auth.RoleAnalyst, backtestTool(b))
	}
}

func readOnly() *mcp.ToolAnnotations {
	return &mcp.ToolAnnotations{ReadOnlyHint: true, OpenWorldHint: ptr(false)}
}

func destructive() *mcp.ToolAnnotations {
	return &mcp.ToolAnnotations{DestructiveHint: ptr(true), OpenWorldHint: ptr(false)}
}

func ptr[T any](v T) *T { return &v }

// rowLimit applies the default and the cap to a requested row count.
func rowLimit(n int) int {
	switch {
	case n <= 0:
		return DefaultRows
	case n > MaxRows:
		return MaxRows
	}
	return n
}

// window parses a duration such as "7d"; empty gives def.
func window(s string, def time.Duration) (time.Duration, error) {
	if strings.TrimSpace(s) == "" {
		return def, nil
	}
	d, err := alert.ParseDuration(s)
	if err != nil || d <= 0 {
		return 0, fmt.Errorf("%w: window %q is not a positive duration such as 24h or 7d", api.ErrBadRequest, s)
	}
	return d, nil
}

// ---- API map ----

// MapInput selects endpoints of the API map.
type MapInput struct {
	Only    string `json:"only,omitempty" jsonschema:"keep a subset: shadow (undocumented with traffic), zombie, new or sensitive; empty keeps all"`
	Service string `json:"service,omitempty" jsonschema:"keep one service"`
	Window  string `json:"window,omitempty" jsonschema:"how much traffic to cover, such as 24h or 7d; default the server's map window"`
	Search  string `json:"search,omitempty" jsonschema:"keep endpoints whose method and path template contain this text"`
	Limit   int    `json:"limit,omitempty" jsonschema:"endpoints per page (default 50, at most 500), riskiest first"`
	Offset  int    `json:"offset,omitempty" jsonschema:"endpoints to skip, for the next page"`
}

// EndpointSummary is one endpoint of map_endpoints.
type EndpointSummary struct {
	ID          string   `json:"id"`
	Service     string   `json:"service"`
	Method      string   `json:"method"`
	Template    string   `json:"template"`
	Hits        int64    `json:"hits"`
	FirstSeen   string   `json:"first_seen,omitempty"`
	LastSeen    string   `json:"last_seen,omitempty"`
	Documented  bool     `json:"documented"`
	Shadow      bool     `json:"shadow"`
	Zombie      bool     `json:"zombie"`
	New         bool     `json:"new"`
	Auth        string   `json:"auth"`
	Tags        []string `json:"tags"`
	Sensitivity []string `json:"sensitivity"`
	CallerIPs   int64    `json:"caller_ips"`
	APIKeys     int64    `json:"api_keys"`
	RiskScore   int      `json:"risk_score"`
}

// MapOutput is a page of the API map.
type MapOutput struct {
	Since     string            `json:"since"`
	Until     string            `json:"until"`
	Total     int               `json:"total"`
	Offset    int               `json:"offset"`
	Endpoints []EndpointSummary `json:"endpoints"`
	// More is set when endpoints remain after this page.
	More bool `json:"more"`
}

// EndpointInput names one endpoint.
type EndpointInput struct {
	ID     string `json:"id,omitempty" jsonschema:"the endpoint id from map_endpoints"`
	Method string `json:"method,omitempty" jsonschema:"with path: the HTTP method"`
	Path   string `json:"path,omitempty" jsonschema:"with method: the path template or a concrete path"`
	Window string `json:"window,omitempty" jsonschema:"traffic window, such as 7d"`
}

// EndpointOutput is one endpoint with everything the map knows of it: the
// fields of GET /api/v1/map's endpoints (tags with their evidence, auth,
// status mix, callers, bytes, latency, query parameters, risk factors).
type EndpointOutput struct {
	Endpoint map[string]any `json:"endpoint"`
}

// endpointOutput carries e's JSON form.
func endpointOutput(e apimap.Endpoint) (EndpointOutput, error) {
	m, err := asMap(e)
	return EndpointOutput{Endpoint: m}, err
}

// asMap is v's JSON form as a map, for outputs whose Go types the schema
// inference cannot describe (maps with integer keys, any values).
func asMap(v any) (map[string]any, error) {
	b, err := json.Marshal(v)
	if err != nil {
		return nil, err
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		return nil, err
	}
	return m, nil
}

func (s *Server) addMapTools(b api.MapBackend) {
	add(s, &mcp.Tool{Name: "map_endpoints", Title: "List the API map",
		Description: "List the API endpoints seen in traffic with their hits, documentation state (shadow: undocumented but called; zombie: documented but dead or deprecated), auth state, function and sensitivity tags and a risk score, riskiest first. Paginated.",
		Annotations: readOnly()}, auth.RoleViewer, func(ctx context.Context, in MapInput) (MapOutput, error) {
		only, err := apimap.ParseOnly(in.Only)
		if err != nil {
			return MapOutput{}, fmt.Errorf("%w: %v", api.ErrBadRequest, err)
		}
		w, err := window(in.Window, 0)
		if err != nil {
			return MapOutput{}, err
		}
		res, err := b.Map(ctx, api.MapQuery{Service: in.Service, Window: w, Only: only})
		if err != nil {
			return MapOutput{}, err
		}
		eps := res.Endpoints
		if q := strings.ToLower(strings.TrimSpace(in.Search)); q != "" {
			eps = slices.DeleteFunc(slices.Clone(eps), func(e apimap.Endpoint) bool {
				return !strings.Contains(strings.ToLower(e.Method+" "+e.Template), q)
			})
		}
		slices.SortStableFunc(eps, func(a, b apimap.Endpoint) int {
			if a.RiskScore != b.RiskScore {
				return b.RiskScore - a.RiskScore
			}
			return int(b.Hits - a.Hits)
		})
		out := MapOutput{Since: stamp(res.Since), Until: stamp(res.Until), Total: len(eps), Offset: max(in.Offset, 0), Endpoints: []EndpointSummary{}}
		from := min(out.Offset, len(eps))
		to := min(from+rowLimit(in.Limit), len(eps))
		for _, e := range eps[from:to] {
			out.Endpoints = append(out.Endpoints, summarize(e))
		}
		out.More = to < len(eps)
		return out, nil
	})
	add(s, &mcp.Tool{Name: "endpoint_detail", Title: "Describe one endpoint",
		Description: "Everything the API map knows of one endpoint: tags with their evidence, auth state with counts, status mix, top callers (IPs and API keys), bytes, latency percentiles, query parameters and risk factors.",
		Annotations: readOnly()}, auth.RoleViewer, func(ctx context.Context, in EndpointInput) (EndpointOutput, error) {
		if in.ID == "" && (in.Method == "" || in.Path == "") {
			return EndpointOutput{}, fmt.Errorf("%w: give id, or method and path", api.ErrBadRequest)
		}
		w, err := window(in.Window, 0)
		if err != nil {
			return EndpointOutput{}, err
		}
		res, err := b.Map(ctx, api.MapQuery{Window: w})
		if err != nil {
			return EndpointOutput{}, err
		}
		for _, e := range res.Endpoints {
			if in.ID != "" && e.ID == in.ID || in.ID == "" && strings.EqualFold(e.Method, in.Method) && matchesPath(e.Template, in.Path) {
				return endpointOutput(e)
			}
		}
		return EndpointOutput{}, fmt.Errorf("no endpoint %s in the map; list them with map_endpoints", describeEndpoint(in))
	})
}

func describeEndpoint(in EndpointInput) string {
	if in.ID != "" {
		return "with id " + in.ID
	}
	return in.Method + " " + in.Path
}

// matchesPath reports whether path is template or one of its concrete
// paths ({param} segments match any one segment).
func matchesPath(template, path string) bool {
	if template == path {
		return true
	}
	ts, ps := strings.Split(template, "/"), strings.Split(path, "/")
	if len(ts) != len(ps) {
		return false
	}
	for i, t := range ts {
		if t != ps[i] && !(strings.HasPrefix(t, "{") && strings.HasSuffix(t, "}") && ps[i] != "") {
			return false
		}
	}
	return true
}

func summarize(e apimap.Endpoint) EndpointSummary {
	tags := func(ts []apimap.Tag) []string {
		out := make([]string, len(ts))
		for i, t := range ts {
			out[i] = string(t)
		}
		return out
	}
	return EndpointSummary{
		ID: e.ID, Service: e.Service, Method: e.Method, Template: e.Template, Hits: e.Hits,
		FirstSeen: stamp(e.FirstSeen), LastSeen: stamp(e.LastSeen),
		Documented: e.Documented, Shadow: e.Shadow, Zombie: e.Zombie, New: e.New, Auth: string(e.Auth.State),
		Tags: tags(e.Tags), Sensitivity: tags(e.Sensitivity), CallerIPs: e.Callers.IPs, APIKeys: e.Callers.APIKeys, RiskScore: e.RiskScore,
	}
}

// stamp formats a time for an agent; the zero time is empty.
func stamp(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format(time.RFC3339)
}

// ---- notifications ----

// AlertsInput filters notifications.
type AlertsInput struct {
	Status   string `json:"status,omitempty" jsonschema:"comma-separated triage statuses: open, investigating, resolved, false_positive"`
	Severity string `json:"severity,omitempty" jsonschema:"comma-separated severities: info, low, medium, high, critical"`
	Rule     string `json:"rule,omitempty" jsonschema:"a rule id"`
	IP       string `json:"ip,omitempty" jsonschema:"a client address"`
	Since    string `json:"since,omitempty" jsonschema:"an RFC 3339 time or a duration back from now, such as 24h or 7d"`
	Limit    int    `json:"limit,omitempty" jsonschema:"notifications per page (default 50, at most 500)"`
	Cursor   string `json:"cursor,omitempty" jsonschema:"next_cursor of the previous page"`
}

// AlertsOutput is a page of notifications, newest first.
type AlertsOutput struct {
	Total         int                  `json:"total"`
	Notifications []state.Notification `json:"notifications"`
	NextCursor    string               `json:"next_cursor,omitempty"`
}

// AlertStatusInput changes the triage status of notifications.
type AlertStatusInput struct {
	IDs     []int64 `json:"ids" jsonschema:"the notification ids"`
	Status  string  `json:"status" jsonschema:"open, investigating, resolved or false_positive"`
	Reason  string  `json:"reason,omitempty" jsonschema:"why; required for false_positive"`
	Note    string  `json:"note,omitempty" jsonschema:"a note added to each notification's trail"`
	Confirm bool    `json:"confirm,omitempty" jsonschema:"true applies the change; otherwise the call only shows what would change"`
}

// StatusChange is one notification's status before and after.
type StatusChange struct {
	ID     int64  `json:"id"`
	Rule   string `json:"rule_id"`
	Before string `json:"before"`
	After  string `json:"after"`
}

// AlertStatusOutput says what changed, or would change.
type AlertStatusOutput struct {
	DryRun  bool           `json:"dry_run"`
	Changes []StatusChange `json:"changes"`
}

func (s *Server) addAlertTools(b api.AlertsBackend) {
	add(s, &mcp.Tool{Name: "list_alerts", Title: "List notifications",
		Description: "List the triage queue: notifications raised by alert rules, newest first, with rule, severity, status, the IP, API key and endpoint concerned, and the incident they belong to.",
		Annotations: readOnly()}, auth.RoleViewer, func(ctx context.Context, in AlertsInput) (AlertsOutput, error) {
		page, err := b.Alerts(ctx, api.AlertQuery{Status: in.Status, Severity: in.Severity, Rule: in.Rule, IP: in.IP, Since: in.Since, Limit: rowLimit(in.Limit), Cursor: in.Cursor})
		if err != nil {
			return AlertsOutput{}, err
		}
		out := AlertsOutput{Total: page.Total, Notifications: page.Alerts, NextCursor: page.NextCursor}
		if out.Notifications == nil {
			out.Notifications = []state.Notification{}
		}
		return out, nil
	})
	add(s, &mcp.Tool{Name: "set_alert_status", Title: "Triage notifications",
		Description: "Set the triage status of notifications (investigating, resolved, false_positive with a reason, or back to open). A dry run unless confirm is true. Needs the analyst role.",
		Annotations: destructive()}, auth.RoleAnalyst, func(ctx context.Context, in AlertStatusInput) (AlertStatusOutput, error) {
		if len(in.IDs) == 0 || len(in.IDs) > MaxRows {
			return AlertStatusOutput{}, fmt.Errorf("%w: give 1 to %d notification ids", api.ErrBadRequest, MaxRows)
		}
		out := AlertStatusOutput{DryRun: !in.Confirm, Changes: []StatusChange{}}
		if !in.Confirm {
			for _, id := range in.IDs {
				n, err := b.Alert(ctx, id)
				if err != nil {
					return AlertStatusOutput{}, fmt.Errorf("notification %d: %w", id, err)
				}
				out.Changes = append(out.Changes, StatusChange{ID: id, Rule: n.Notification.RuleID, Before: n.Notification.Status, After: in.Status})
			}
			return out, nil
		}
		before := map[int64]string{}
		for _, id := range in.IDs {
			if n, err := b.Alert(ctx, id); err == nil {
				before[id] = n.Notification.Status
			}
		}
		page, err := b.UpdateAlerts(ctx, api.AlertChange{IDs: in.IDs, Status: in.Status, Reason: in.Reason, Note: in.Note})
		if err != nil {
			return AlertStatusOutput{}, err
		}
		for _, n := range page.Alerts {
			out.Changes = append(out.Changes, StatusChange{ID: n.ID, Rule: n.RuleID, Before: before[n.ID], After: n.Status})
		}
		return out, nil
	})
}

// ---- forensics and SQL ----

// AskInput is a forensic question.
type AskInput struct {
	Question string `json:"question" jsonschema:"a plain-English question about the traffic"`
	SQLOnly  bool   `json:"sql_only,omitempty" jsonschema:"compile the question to SQL without running it"`
	Limit    int    `json:"limit,omitempty" jsonschema:"rows to return (default 50, at most 500); row_count says how many matched up to the server's cap"`
}

// Table is a bounded query result.
type Table struct {
	Columns []string `json:"columns"`
	Rows    [][]any  `json:"rows"`
	// RowCount is how many rows the query returned before this tool's cap;
	// Truncated is set when either cap cut the rows.
	RowCount  int  `json:"row_count"`
	Truncated bool `json:"truncated"`
}

func table(q api.QueryResult, limit int) Table {
	t := Table{Columns: q.Columns, Rows: q.Rows, RowCount: len(q.Rows), Truncated: q.Truncated}
	if t.Columns == nil {
		t.Columns = []string{}
	}
	if len(t.Rows) > limit {
		t.Rows, t.Truncated = t.Rows[:limit], true
	}
	if t.Rows == nil {
		t.Rows = [][]any{}
	}
	return t
}

// AskOutput is a question answered.
type AskOutput struct {
	Question       string   `json:"question"`
	Interpretation string   `json:"interpretation"`
	SQL            string   `json:"sql"`
	Args           []any    `json:"args,omitempty"`
	Result         Table    `json:"result"`
	Timeline       *Table   `json:"timeline,omitempty"`
	TimelineBucket string   `json:"timeline_bucket,omitempty"`
	Notes          []string `json:"notes,omitempty"`
}

func askTool(b api.AskBackend) toolFunc[AskInput, AskOutput] {
	return func(ctx context.Context, in AskInput) (AskOutput, error) {
		if strings.TrimSpace(in.Question) == "" {
			return AskOutput{}, fmt.Errorf("%w: the question is empty", api.ErrBadRequest)
		}
		res, err := b.Ask(ctx, api.AskRequest{Question: in.Question, SQLOnly: in.SQLOnly})
		if err != nil {
			return AskOutput{}, err
		}
		out := AskOutput{Question: res.Question, Interpretation: res.Interpretation, SQL: res.SQL, Args: res.Args, Result: table(res.QueryResult, rowLimit(in.Limit)), Notes: res.Notes}
		if res.Timeline != nil {
			tl := table(res.Timeline.QueryResult, MaxRows)
			out.Timeline, out.TimelineBucket = &tl, res.Timeline.Bucket
		}
		return out, nil
	}
}

// SQLInput is a read-only query.
type SQLInput struct {
	SQL   string `json:"sql" jsonschema:"one SELECT over the traces table"`
	Limit int    `json:"limit,omitempty" jsonschema:"rows to return (default 50, at most 500)"`
}

// SQLOutput is a query's result.
type SQLOutput struct {
	Table
	ElapsedMS float64 `json:"elapsed_ms"`
}

func sqlTool(b api.Backend) toolFunc[SQLInput, SQLOutput] {
	return func(ctx context.Context, in SQLInput) (SQLOutput, error) {
		if strings.TrimSpace(in.SQL) == "" {
			return SQLOutput{}, fmt.Errorf("%w: the sql is empty", api.ErrBadRequest)
		}
		res, err := b.SQL(ctx, in.SQL)
		if err != nil {
			return SQLOutput{}, err
		}
		return SQLOutput{Table: table(*res, rowLimit(in.Limit)), ElapsedMS: res.ElapsedMS}, nil
	}
}

// ---- traces ----

// TraceInput names a trace.
type TraceInput struct {
	TraceID  string `json:"trace_id" jsonschema:"the 32-hex-digit trace id"`
	MaxSpans int    `json:"max_spans,omitempty" jsonschema:"spans to return (default and cap 500)"`
}

// TraceOutput is a trace's span tree, in waterfall order.
type TraceOutput struct {
	TraceID    string          `json:"trace_id"`
	Start      string          `json:"start"`
	DurationNS int64           `json:"duration_ns"`
	Services   []string        `json:"services"`
	Errors     int             `json:"errors"`
	SpanCount  int             `json:"span_count"`
	Truncated  bool            `json:"truncated"`
	Spans      []api.TraceSpan `json:"spans"`
}

func traceTool(b api.TraceBackend) toolFunc[TraceInput, TraceOutput] {
	return func(ctx context.Context, in TraceInput) (TraceOutput, error) {
		if in.TraceID == "" {
			return TraceOutput{}, fmt.Errorf("%w: trace_id is empty", api.ErrBadRequest)
		}
		tr, err := b.Trace(ctx, in.TraceID)
		if err != nil {
			return TraceOutput{}, err
		}
		limit := MaxSpans
		if in.MaxSpans > 0 && in.MaxSpans < limit {
			limit = in.MaxSpans
		}
		out := TraceOutput{TraceID: tr.TraceID, Start: stamp(tr.Start), DurationNS: tr.DurationNS, Services: tr.Services, Errors: tr.Errors, SpanCount: len(tr.Spans), Spans: tr.Spans}
		if len(out.Spans) > limit {
			out.Spans, out.Truncated = out.Spans[:limit], true
		}
		return out, nil
	}
}

// ---- rules ----

// BacktestInput names the rule to replay.
type BacktestInput struct {
	RuleID        string `json:"rule_id,omitempty" jsonschema:"a loaded rule's id"`
	Body          string `json:"body,omitempty" jsonschema:"instead of rule_id: the YAML of one draft rule"`
	Since         string `json:"since,omitempty" jsonschema:"how far back to replay (default 7d)"`
	Step          string `json:"step,omitempty" jsonschema:"time between evaluations; default the rule's interval"`
	IncidentStart string `json:"incident_start,omitempty" jsonschema:"RFC 3339 start of the incident the rule should catch, for the detection gap"`
	MaxFirings    int    `json:"max_firings,omitempty" jsonschema:"firings to return (default 50, at most 500)"`
}

// BacktestOutput is a backtest's result with its firings bounded.
type BacktestOutput struct {
	RuleID         string           `json:"rule_id"`
	Name           string           `json:"name"`
	Evaluations    int              `json:"evaluations"`
	Notifications  int              `json:"notifications"`
	FiringCount    int              `json:"firing_count"`
	Firings        []alert.Firing   `json:"firings"`
	PerDay         []alert.DayCount `json:"per_day"`
	FirstFiring    string           `json:"first_firing,omitempty"`
	DetectionGap   string           `json:"detection_gap,omitempty"`
	ElapsedSeconds float64          `json:"elapsed_seconds"`
}

func backtestTool(b api.RulesBackend) toolFunc[BacktestInput, BacktestOutput] {
	return func(ctx context.Context, in BacktestInput) (BacktestOutput, error) {
		if (in.RuleID == "") == (in.Body == "") {
			return BacktestOutput{}, fmt.Errorf("%w: give rule_id or body, not both", api.ErrBadRequest)
		}
		req := api.BacktestRequest{RuleID: in.RuleID, Body: in.Body, Since: in.Since, Step: in.Step}
		if in.IncidentStart != "" {
			t, err := time.Parse(time.RFC3339, in.IncidentStart)
			if err != nil {
				return BacktestOutput{}, fmt.Errorf("%w: incident_start %q is not an RFC 3339 time", api.ErrBadRequest, in.IncidentStart)
			}
			req.IncidentStart = t
		}
		res, err := b.BacktestRule(ctx, req)
		if err != nil {
			return BacktestOutput{}, err
		}
		out := BacktestOutput{RuleID: res.RuleID, Name: res.Name, Evaluations: res.Evaluations, Notifications: res.Notifications,
			FiringCount: len(res.Firings), Firings: res.Firings, PerDay: res.PerDay, FirstFiring: stamp(res.FirstFiring), ElapsedSeconds: res.Elapsed.Seconds()}
		if !res.FirstFiring.IsZero() && !res.IncidentStart.IsZero() {
			out.DetectionGap = res.DetectionGap.String()
		}
		if n := rowLimit(in.MaxFirings); len(out.Firings) > n {
			out.Firings = out.Firings[:n]
		}
		return out, nil
	}
}
