package api

import (
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/tracehound/tracehound/auth"
	"github.com/tracehound/tracehound/config"
	"github.com/tracehound/tracehound/forensics"
)

// AskBackend answers forensic questions written in plain English
// (PRODUCT.md §1 item 6). The server routes /api/v1/ask when its Backend
// implements it; the CLI uses it through the local App or through Client.
type AskBackend interface {
	// Ask reads the question against the endpoints and query parameters
	// observed in traffic, compiles it to SQL and, unless q.SQLOnly, runs
	// it through the query guard with a row cap and a timeout. A question
	// the grammar cannot read fails with a *forensics.ParseError that
	// carries "did you mean" suggestions and example questions; one it can
	// read but not answer with forensics.ErrNeedsEnrichment or
	// forensics.ErrUnsupported.
	Ask(ctx context.Context, q AskRequest) (*AskResult, error)
	// AskExamples lists questions the grammar answers.
	AskExamples(ctx context.Context) (*AskExamples, error)
	// AskRule drafts an alert rule from a question: its filters, counted
	// per client IP (or the question's own grouping) over a sliding
	// window, above a threshold. The draft is not saved.
	AskRule(ctx context.Context, q AskRuleQuery) (*AskRuleResult, error)
}

// AskRequest is the body of POST /api/v1/ask.
type AskRequest struct {
	Question string `json:"question"`
	// SQLOnly compiles the question without running it.
	SQLOnly bool `json:"sql_only,omitempty"`
}

// AskResult is a question answered. Its JSON is the tabular shape of
// QueryResult (sql, columns, types, rows as objects, row_count, truncated,
// elapsed_ms) with the question, its interpretation and IR, the SQL's
// positional arguments, a timeline and notes around it:
//
//	{"question": "…", "interpretation": "…", "ir": "…", "sql": "…",
//	 "columns": […], "types": […], "rows": [{…}], "row_count": 3,
//	 "truncated": false, "elapsed_ms": 4.2, "args": […],
//	 "timeline": {"bucket": "day", "sql": "…", "columns": […], "rows": [{…}], …},
//	 "notes": […], "sql_only": false}
type AskResult struct {
	Question string
	// Interpretation is the question as understood, in plain words.
	Interpretation string
	// IR is the compact form of the parsed question.
	IR string
	// QueryResult is the query that ran, with now() bound to the time the
	// question was asked, and its rows; no rows when SQLOnly.
	QueryResult
	// Args are the positional (?) arguments of the SQL, in order.
	Args []any
	// Timeline counts the same requests per hour or day, for list and
	// count questions; nil for other questions.
	Timeline *AskTimeline
	// Notes say what the parser assumed (a default window, a row cap).
	Notes []string
	// SQLOnly says the query was compiled but not run.
	SQLOnly bool
}

// AskTimeline is a per-bucket count. Its JSON is the QueryResult shape
// with the bucket ("hour" or "day") and the SQL's arguments.
type AskTimeline struct {
	Bucket string
	QueryResult
	Args []any
}

// askHead and askTail are the fields of an AskResult around its
// QueryResult, in the order they are written.
type askHead struct {
	Question       string `json:"question"`
	Interpretation string `json:"interpretation"`
	IR             string `json:"ir"`
}

type askTail struct {
	Args     []any        `json:"args"`
	Timeline *AskTimeline `json:"timeline"`
	Notes    []string     `json:"notes"`
	SQLOnly  bool         `json:"sql_only"`
}

// MarshalJSON implements json.Marshaler.
func (r AskResult) MarshalJSON() ([]byte, error) {
	return joinObjects(
		askHead{Question: r.Question, Interpretation: r.Interpretation, IR: r.IR},
		r.QueryResult,
		askTail{Args: jsonArgs(r.Args), Timeline: r.Timeline, Notes: nonNil(r.Notes), SQLOnly: r.SQLOnly},
	)
}

// UnmarshalJSON implements json.Unmarshaler.
func (r *AskResult) UnmarshalJSON(b []byte) error {
	if err := r.QueryResult.UnmarshalJSON(b); err != nil {
		return err
	}
	var head askHead
	if err := json.Unmarshal(b, &head); err != nil {
		return err
	}
	var tail askTail
	if err := decodeExact(b, &tail); err != nil {
		return err
	}
	fromJSONNumber(tail.Args)
	r.Question, r.Interpretation, r.IR = head.Question, head.Interpretation, head.IR
	r.Args, r.Timeline, r.Notes, r.SQLOnly = tail.Args, tail.Timeline, tail.Notes, tail.SQLOnly
	return nil
}

type timelineHead struct {
	Bucket string `json:"bucket"`
}

type timelineTail struct {
	Args []any `json:"args"`
}

// MarshalJSON implements json.Marshaler.
func (t AskTimeline) MarshalJSON() ([]byte, error) {
	return joinObjects(timelineHead{Bucket: t.Bucket}, t.QueryResult, timelineTail{Args: jsonArgs(t.Args)})
}

// UnmarshalJSON implements json.Unmarshaler.
func (t *AskTimeline) UnmarshalJSON(b []byte) error {
	if err := t.QueryResult.UnmarshalJSON(b); err != nil {
		return err
	}
	var head timelineHead
	if err := json.Unmarshal(b, &head); err != nil {
		return err
	}
	var tail timelineTail
	if err := decodeExact(b, &tail); err != nil {
		return err
	}
	fromJSONNumber(tail.Args)
	t.Bucket, t.Args = head.Bucket, tail.Args
	return nil
}

// joinObjects writes the JSON objects of parts as one object, keys in
// order.
func joinObjects(parts ...any) ([]byte, error) {
	var buf bytes.Buffer
	buf.WriteByte('{')
	for _, p := range parts {
		b, err := json.Marshal(p)
		if err != nil {
			return nil, err
		}
		inner := bytes.TrimSpace(b)
		if len(inner) < 2 || inner[0] != '{' || inner[len(inner)-1] != '}' {
			return nil, fmt.Errorf("%T is not a JSON object", p)
		}
		inner = bytes.TrimSpace(inner[1 : len(inner)-1])
		if len(inner) == 0 {
			continue
		}
		if buf.Len() > 1 {
			buf.WriteByte(',')
		}
		buf.Write(inner)
	}
	buf.WriteByte('}')
	return buf.Bytes(), nil
}

// decodeExact decodes b into v with numbers as json.Number, for
// fromJSONNumber to make exact.
func decodeExact(b []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	return dec.Decode(v)
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

// jsonArgs makes arguments JSON-safe (times in RFC 3339) and never nil,
// so that no arguments are written as [].
func jsonArgs(args []any) []any {
	out := make([]any, len(args))
	for i, a := range args {
		out[i] = jsonValue(a)
	}
	return out
}

// AskExamples is the answer of GET /api/v1/ask/examples.
type AskExamples struct {
	Examples []string `json:"examples"`
}

// AskRuleQuery asks for an alert rule drafted from a question.
type AskRuleQuery struct {
	Question string
	// Window is how far back each evaluation looks, in whole minutes;
	// zero means one hour.
	Window time.Duration
	// Threshold: an instance (a client IP, or the question's grouping)
	// matches when its measure exceeds it. Zero means any match.
	Threshold float64
	// Interval is how often the rule runs; zero means five minutes.
	Interval time.Duration
}

// askRuleRequest is the body of POST /api/v1/ask/rule. Durations are
// written as 15m, 1h or 7d.
type askRuleRequest struct {
	Question  string  `json:"question"`
	Window    string  `json:"window,omitempty"`
	Threshold float64 `json:"threshold,omitempty"`
	Interval  string  `json:"interval,omitempty"`
}

// AskRuleResult is the answer of POST /api/v1/ask/rule: the question as
// understood and the rule drafted from it. It is meant to grow: once
// rules can be backtested, a backtest of the draft will sit beside it.
type AskRuleResult struct {
	Question       string `json:"question"`
	Interpretation string `json:"interpretation"`
	IR             string `json:"ir"`
	// Window and Threshold are the options the draft was made with,
	// defaults filled in.
	Window    Duration  `json:"window"`
	Threshold float64   `json:"threshold"`
	Rule      RuleDraft `json:"rule"`
	// RuleID and Body are the draft as a rule ready to save
	// (PUT /api/v1/rules/{id}); Backtest is what it would have done over
	// the last seven days.
	RuleID   string          `json:"rule_id"`
	Body     string          `json:"body"`
	Backtest *BacktestAnswer `json:"backtest,omitempty"`
	// BacktestError says why the backtest could not run.
	BacktestError string `json:"backtest_error,omitempty"`
}

// RuleDraft is an alert rule drafted from a question, in the shape of a
// rule file's fields.
type RuleDraft struct {
	Name string `json:"name"`
	// SQL selects one row per instance whose "value" exceeds the
	// threshold over the window; values are quoted literals, so the SQL
	// is complete as stored.
	SQL      string   `json:"sql"`
	Interval Duration `json:"interval"`
	For      Duration `json:"for"`
	Severity string   `json:"severity"`
	// GroupBy names the columns that identify an alert instance.
	GroupBy []string `json:"group_by"`
}

// Duration is a time.Duration written in JSON as a string such as "5m",
// "1h" or "7d", as rule files write it.
type Duration time.Duration

// String writes d in the largest unit that divides it: 90s, 5m, 1h, 7d.
func (d Duration) String() string {
	td := time.Duration(d)
	if td == 0 {
		return "0s"
	}
	for _, u := range []struct {
		unit   time.Duration
		suffix string
	}{{24 * time.Hour, "d"}, {time.Hour, "h"}, {time.Minute, "m"}, {time.Second, "s"}} {
		if td%u.unit == 0 {
			return strconv.FormatInt(int64(td/u.unit), 10) + u.suffix
		}
	}
	return td.String()
}

// MarshalJSON implements json.Marshaler.
func (d Duration) MarshalJSON() ([]byte, error) { return json.Marshal(d.String()) }

// UnmarshalJSON implements json.Unmarshaler.
func (d *Duration) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return err
	}
	v, err := config.ParseDuration(s)
	if err != nil {
		return err
	}
	*d = Duration(v)
	return nil
}

func (s *Server) routeAsk(b AskBackend) {
	h := &askHandlers{b: b, log: s.log}
	s.handle("POST /api/v1/ask", auth.RoleViewer, h.ask)
	s.handle("GET /api/v1/ask/examples", auth.RoleViewer, h.examples)
	s.handle("POST /api/v1/ask/rule", auth.RoleViewer, h.rule)
}

type askHandlers struct {
	b   AskBackend
	log *slog.Logger
}

func (h *askHandlers) ask(w http.ResponseWriter, r *http.Request) {
	var req AskRequest
	if err := decodeJSON(w, r, &req); err != nil {
		writeError(w, h.log, err)
		return
	}
	res, err := h.b.Ask(r.Context(), req)
	if err != nil {
		writeAskError(w, h.log, err)
		return
	}
	writeJSON(w, http.StatusOK, res)
}

func (h *askHandlers) examples(w http.ResponseWriter, r *http.Request) {
	res, err := h.b.AskExamples(r.Context())
	if err != nil {
		writeError(w, h.log, err)
		return
	}
	writeJSON(w, http.StatusOK, res)
}

func (h *askHandlers) rule(w http.ResponseWriter, r *http.Request) {
	var req askRuleRequest
	if err := decodeJSON(w, r, &req); err != nil {
		writeError(w, h.log, err)
		return
	}
	q := AskRuleQuery{Question: req.Question, Threshold: req.Threshold}
	for _, d := range []struct {
		name, value string
		dst         *time.Duration
	}{{"window", req.Window, &q.Window}, {"interval", req.Interval, &q.Interval}} {
		if d.value == "" {
			continue
		}
		v, err := config.ParseDuration(d.value)
		if err != nil || v <= 0 {
			writeError(w, h.log, fmt.Errorf("%w: %s %q: want a positive duration such as 15m, 1h or 1d", ErrBadRequest, d.name, d.value))
			return
		}
		*d.dst = v
	}
	if math.IsNaN(q.Threshold) || math.IsInf(q.Threshold, 0) {
		writeError(w, h.log, fmt.Errorf("%w: threshold must be a finite number", ErrBadRequest))
		return
	}
	res, err := h.b.AskRule(r.Context(), q)
	if err != nil {
		writeAskError(w, h.log, err)
		return
	}
	writeJSON(w, http.StatusOK, res)
}

// askErrorBody is the API error shape with, for a question the grammar
// cannot read, what a UI needs for "did you mean": the word it stopped at,
// suggestions to replace it and example questions. Suggestions and
// examples are always arrays in a parse error and absent otherwise.
type askErrorBody struct {
	Error struct {
		Code        string   `json:"code"`
		Message     string   `json:"message"`
		Question    string   `json:"question,omitempty"`
		Word        string   `json:"word,omitempty"`
		Reason      string   `json:"reason,omitempty"`
		Suggestions []string `json:"suggestions,omitempty"`
		Examples    []string `json:"examples,omitempty"`
		// Parse marks a parse error, so that clients rebuild it.
		Parse bool `json:"parse,omitempty"`
	} `json:"error"`
}

// writeAskError writes err as writeError does, with the details of a
// parse error. The status comes from classify, like every other error's.
func writeAskError(w http.ResponseWriter, log *slog.Logger, err error) {
	var pe *forensics.ParseError
	if !errors.As(err, &pe) {
		writeError(w, log, err)
		return
	}
	status, code, _ := classify(err)
	var body askErrorBody
	body.Error.Code, body.Error.Message = code, err.Error()
	body.Error.Question, body.Error.Word, body.Error.Reason = pe.Question, pe.Word, pe.Msg
	body.Error.Suggestions, body.Error.Examples = nonNil(pe.Suggestions), nonNil(pe.Examples)
	body.Error.Parse = true
	writeJSON(w, status, body)
}

var _ AskBackend = (*Client)(nil)

// Ask implements AskBackend. A parse error comes back as a
// *forensics.ParseError, as it does locally.
func (c *Client) Ask(ctx context.Context, q AskRequest) (*AskResult, error) {
	var res AskResult
	if err := c.doAsk(ctx, "/api/v1/ask", q, &res); err != nil {
		return nil, err
	}
	return &res, nil
}

// AskExamples implements AskBackend.
func (c *Client) AskExamples(ctx context.Context) (*AskExamples, error) {
	var res AskExamples
	if err := c.do(ctx, http.MethodGet, "/api/v1/ask/examples", nil, &res); err != nil {
		return nil, err
	}
	return &res, nil
}

// AskRule implements AskBackend.
func (c *Client) AskRule(ctx context.Context, q AskRuleQuery) (*AskRuleResult, error) {
	req := askRuleRequest{Question: q.Question, Threshold: q.Threshold}
	if q.Window != 0 {
		req.Window = Duration(q.Window).String()
	}
	if q.Interval != 0 {
		req.Interval = Duration(q.Interval).String()
	}
	var res AskRuleResult
	if err := c.doAsk(ctx, "/api/v1/ask/rule", req, &res); err != nil {
		return nil, err
	}
	return &res, nil
}

// doAsk posts in and decodes the answer into out, like do, but rebuilds a
// parse error from the details of its error body.
func (c *Client) doAsk(ctx context.Context, path string, in, out any) error {
	body, err := json.Marshal(in)
	if err != nil {
		return err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.base.String()+path, bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	c.authorize(req)
	resp, err := c.http.Do(req)
	if err != nil {
		return fmt.Errorf("cannot reach tracehound at %s: %w", c.base, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return fmt.Errorf("read response from %s: %w", c.base, err)
	}
	if resp.StatusCode < 300 {
		return json.Unmarshal(b, out)
	}
	var eb askErrorBody
	if json.Unmarshal(b, &eb) != nil || eb.Error.Code == "" {
		return fmt.Errorf("POST %s: server answered %s", path, resp.Status)
	}
	if eb.Error.Parse {
		return &forensics.ParseError{
			Question: eb.Error.Question, Word: eb.Error.Word, Msg: cmp.Or(eb.Error.Reason, strings.TrimSpace(eb.Error.Message)),
			Suggestions: eb.Error.Suggestions, Examples: eb.Error.Examples,
		}
	}
	return remoteError(eb.Error.Code, eb.Error.Message)
}
