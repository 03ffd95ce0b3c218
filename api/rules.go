package api

import (
	"context"
	"log/slog"
	"net/http"
	"net/url"
	"time"

	"github.com/tracehound/tracehound/alert"
	"github.com/tracehound/tracehound/auth"
)

// RulesBackend serves the detection rules: their definitions and health,
// edits through the API, and backtests over history.
type RulesBackend interface {
	// Rules lists every loaded rule with its evaluation status.
	Rules(ctx context.Context) (*RuleList, error)
	// Rule returns one rule with its instances, or store.ErrNotFound.
	Rule(ctx context.Context, id string) (*RuleDetail, error)
	// PutRule creates or replaces an API-defined rule from its YAML body
	// (one rule, the fields of a rule file's items).
	PutRule(ctx context.Context, id string, req RuleRequest) (*RuleDetail, error)
	// DeleteRule removes an API-defined rule; built-in and file rules are
	// disabled in the configuration instead.
	DeleteRule(ctx context.Context, id string) error
	// BacktestRule replays a rule (a loaded one, or a draft body) over
	// history through the real state machine.
	BacktestRule(ctx context.Context, req BacktestRequest) (*BacktestAnswer, error)
}

// RuleInfo is a rule as lists show it.
type RuleInfo struct {
	ID          string `json:"id"`
	Name        string `json:"name"`
	Description string `json:"description,omitempty"`
	Severity    string `json:"severity"`
	Mode        string `json:"mode"`
	// Origin is "builtin", "file" (with File) or "api".
	Origin   string    `json:"origin"`
	File     string    `json:"file,omitempty"`
	Interval string    `json:"interval"`
	For      string    `json:"for,omitempty"`
	Enabled  bool      `json:"enabled"`
	Health   string    `json:"health"`
	Error    string    `json:"last_error,omitempty"`
	LastEval time.Time `json:"last_eval,omitzero"`
	Pending  int       `json:"pending"`
	Firing   int       `json:"firing"`
	Missed   int64     `json:"missed"`
	SQL      string    `json:"sql,omitempty"`
	// Response sums up the rule's automatic response ("block 24h, revoke
	// key (shadow)"); empty when it has none.
	Response string `json:"response,omitempty"`
}

// RuleList answers GET /api/v1/rules.
type RuleList struct {
	Rules []RuleInfo `json:"rules"`
}

// RuleDetail answers GET /api/v1/rules/{id}.
type RuleDetail struct {
	RuleInfo
	// Body is the YAML of an API-defined rule.
	Body        string            `json:"body,omitempty"`
	Labels      map[string]string `json:"labels,omitempty"`
	Annotations map[string]string `json:"annotations,omitempty"`
	GroupBy     []string          `json:"group_by,omitempty"`
	Instances   []alert.Alert     `json:"instances"`
}

// RuleRequest is the body of PUT /api/v1/rules/{id}.
type RuleRequest struct {
	// Body is the rule in YAML.
	Body string `json:"body"`
	// Enabled runs the rule; a disabled rule is kept but not evaluated.
	Enabled *bool `json:"enabled,omitempty"`
}

// BacktestRequest is the body of POST /api/v1/rules/backtest.
type BacktestRequest struct {
	// RuleID names a loaded rule; Body gives a draft instead (YAML).
	RuleID string `json:"rule_id,omitempty"`
	Body   string `json:"body,omitempty"`
	// Since is how far back to replay (default 7d); Step overrides the
	// rule's interval.
	Since string `json:"since,omitempty"`
	Step  string `json:"step,omitempty"`
	// IncidentStart, when set, yields the detection gap.
	IncidentStart time.Time `json:"incident_start,omitzero"`
}

// BacktestAnswer answers POST /api/v1/rules/backtest.
type BacktestAnswer struct {
	alert.BacktestResult
	// Rule is the replayed rule's id and name.
	Name string `json:"name"`
}

func (s *Server) routeRules(b RulesBackend) {
	h := &ruleHandlers{b: b, log: s.log}
	s.handle("GET /api/v1/rules", auth.RoleViewer, h.list)
	s.handle("GET /api/v1/rules/{id}", auth.RoleViewer, h.get)
	s.handle("PUT /api/v1/rules/{id}", auth.RoleAnalyst, h.put)
	s.handle("DELETE /api/v1/rules/{id}", auth.RoleAnalyst, h.delete)
	s.handle("POST /api/v1/rules/backtest", auth.RoleAnalyst, h.backtest)
}

type ruleHandlers struct {
	b   RulesBackend
	log *slog.Logger
}

func (h *ruleHandlers) list(w http.ResponseWriter, r *http.Request) {
	res, err := h.b.Rules(r.Context())
	reply(w, h.log, res, err)
}

func (h *ruleHandlers) get(w http.ResponseWriter, r *http.Request) {
	res, err := h.b.Rule(r.Context(), r.PathValue("id"))
	reply(w, h.log, res, err)
}

func (h *ruleHandlers) put(w http.ResponseWriter, r *http.Request) {
	var req RuleRequest
	if err := decodeJSON(w, r, &req); err != nil {
		writeError(w, h.log, err)
		return
	}
	res, err := h.b.PutRule(r.Context(), r.PathValue("id"), req)
	reply(w, h.log, res, err)
}

func (h *ruleHandlers) delete(w http.ResponseWriter, r *http.Request) {
	reply(w, h.log, nil, h.b.DeleteRule(r.Context(), r.PathValue("id")))
}

func (h *ruleHandlers) backtest(w http.ResponseWriter, r *http.Request) {
	var req BacktestRequest
	if err := decodeJSON(w, r, &req); err != nil {
		writeError(w, h.log, err)
		return
	}
	res, err := h.b.BacktestRule(r.Context(), req)
	reply(w, h.log, res, err)
}

var _ RulesBackend = (*Client)(nil)

// Rules implements RulesBackend.
func (c *Client) Rules(ctx context.Context) (*RuleList, error) {
	var res RuleList
	return &res, c.do(ctx, http.MethodGet, "/api/v1/rules", nil, &res)
}

// Rule implements RulesBackend.
func (c *Client) Rule(ctx context.Context, id string) (*RuleDetail, error) {
	var res RuleDetail
	return &res, c.do(ctx, http.MethodGet, "/api/v1/rules/"+url.PathEscape(id), nil, &res)
}

// PutRule implements RulesBackend.
func (c *Client) PutRule(ctx context.Context, id string, req RuleRequest) (*RuleDetail, error) {
	var res RuleDetail
	return &res, c.do(ctx, http.MethodPut, "/api/v1/rules/"+url.PathEscape(id), req, &res)
}

// DeleteRule implements RulesBackend.
func (c *Client) DeleteRule(ctx context.Context, id string) error {
	return c.do(ctx, http.MethodDelete, "/api/v1/rules/"+url.PathEscape(id), nil, nil)
}

// BacktestRule implements RulesBackend.
func (c *Client) BacktestRule(ctx context.Context, req BacktestRequest) (*BacktestAnswer, error) {
	var res BacktestAnswer
	return &res, c.do(ctx, http.MethodPost, "/api/v1/rules/backtest", req, &res)
}
