package forensics_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"reflect"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tracehound/tracehound/forensics"
	"github.com/tracehound/tracehound/llm"
	"github.com/tracehound/tracehound/sqlguard"
	"github.com/tracehound/tracehound/store"
)

// llmCatalog mirrors part of the DataVault API map.
var llmCatalog = forensics.StaticCatalog{
	{Service: "datavault-api", Method: "GET", Template: "/v1/admin/export", QueryParams: []string{"collection_id", "limit", "page"}},
	{Service: "datavault-api", Method: "GET", Template: "/v1/documents", QueryParams: []string{"limit", "page"}},
	{Service: "datavault-api", Method: "GET", Template: "/v1/documents/{id}"},
	{Service: "datavault-api", Method: "GET", Template: "/v1/search", QueryParams: []string{"limit", "page", "q"}},
	{Service: "datavault-api", Method: "POST", Template: "/v1/auth/login"},
}

var llmNow = time.Date(2026, 3, 8, 23, 30, 0, 0, time.UTC)

// unparseable is a question the grammar refuses ("attackers" is no
// grammar word) that an LLM can read as the count of distinct collections.
const unparseable = "which collections did the attackers siphon off through the export endpoint in the last 7 days, counting each once"

// exportIR is the IR an LLM writes for unparseable: what the canonical
// question "Count unique collection IDs accessed via /admin/export in the
// last 7 days" parses to, written as a model would (the path as named).
const exportIR = `{"unanswerable":"","intent":"count_distinct","measure":"distinct",
	"distinct_of":{"kind":"param","param":"collection_id"},"rate":{"op":"","value":""},
	"filters":[{"field":"endpoint","op":"=","value":"/admin/export","param":"","negate":false},
	           {"field":"status","op":"class","value":"2xx","param":"","negate":false}],
	"window":{"kind":"last","n":7,"unit":"day","from":"","to":""},
	"group_by":[],"order":{"by":"","desc":false},"limit":0}`

const exportCanonical = "Count unique collection IDs accessed via /admin/export in the last 7 days"

// fakeLLM is a local chat-completions server that answers every request
// with the IR its answer function returns, and records the requests.
type fakeLLM struct {
	srv    *httptest.Server
	client *llm.Client
	mu     sync.Mutex
	reqs   []fakeLLMRequest
}

type fakeLLMRequest struct {
	System, User   string
	Format, Schema string
}

func newFakeLLM(t *testing.T, timeout time.Duration, answer func(w http.ResponseWriter, r *http.Request)) *fakeLLM {
	t.Helper()
	f := &fakeLLM{}
	f.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var body struct {
			Messages []struct {
				Role    string `json:"role"`
				Content string `json:"content"`
			} `json:"messages"`
			ResponseFormat struct {
				Type       string `json:"type"`
				JSONSchema struct {
					Name string `json:"name"`
				} `json:"json_schema"`
			} `json:"response_format"`
		}
		raw, _ := io.ReadAll(r.Body)
		if err := json.Unmarshal(raw, &body); err != nil || len(body.Messages) != 2 || r.URL.Path != "/v1/chat/completions" {
			t.Errorf("the LLM got %s %s, want a chat completion with a system and a user message", r.URL.Path, raw)
			http.Error(w, "bad request", http.StatusBadRequest)
			return
		}
		f.mu.Lock()
		f.reqs = append(f.reqs, fakeLLMRequest{System: body.Messages[0].Content, User: body.Messages[1].Content, Format: body.ResponseFormat.Type, Schema: body.ResponseFormat.JSONSchema.Name})
		f.mu.Unlock()
		answer(w, r)
	}))
	t.Cleanup(f.srv.Close)
	c, err := llm.New(llm.Config{BaseURL: f.srv.URL + "/v1", Model: "test-model", Timeout: timeout})
	if err != nil {
		t.Fatal(err)
	}
	f.client = c
	return f
}

// answering returns a fake LLM whose content is always content.
func answering(t *testing.T, content string) *fakeLLM {
	t.Helper()
	return newFakeLLM(t, 5*time.Second, func(w http.ResponseWriter, r *http.Request) {
		c, _ := json.Marshal(content)
		w.Header().Set("Content-Type", "application/json")
		io.WriteString(w, `{"object":"chat.completion","choices":[{"index":0,"message":{"role":"assistant","content":`+string(c)+`},"finish_reason":"stop"}],"usage":{"prompt_tokens":900,"completion_tokens":80,"total_tokens":980}}`)
	})
}

func (f *fakeLLM) requests() []fakeLLMRequest {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.reqs)
}

// withFilter returns exportIR with its filters replaced.
func withFilters(t *testing.T, filters string) string {
	t.Helper()
	var m map[string]json.RawMessage
	if err := json.Unmarshal([]byte(exportIR), &m); err != nil {
		t.Fatal(err)
	}
	m["filters"] = json.RawMessage(filters)
	b, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// TestPrepareLLMReadsWhatTheGrammarCannot: a refused question goes to the
// LLM, whose IR is checked, resolved against the catalog and compiled to
// exactly the SQL of the equivalent parsed question.
func TestPrepareLLMReadsWhatTheGrammarCannot(t *testing.T) {
	ctx := context.Background()
	if _, err := forensics.Prepare(unparseable, llmCatalog, llmNow, forensics.CompileOptions{}); !errors.As(err, new(*forensics.ParseError)) {
		t.Fatalf("Prepare(%q) error = %v, want a *ParseError: the test needs a question the grammar refuses", unparseable, err)
	}
	f := answering(t, exportIR)
	a, err := forensics.PrepareLLM(ctx, unparseable, llmCatalog, llmNow, f.client, forensics.CompileOptions{})
	if err != nil {
		t.Fatalf("PrepareLLM(%q): %v", unparseable, err)
	}
	want, err := forensics.Prepare(exportCanonical, llmCatalog, llmNow, forensics.CompileOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if a.IR != want.IR || a.SQL != want.SQL || !reflect.DeepEqual(a.Args, want.Args) || a.Timeline == nil || a.Timeline.SQL != want.Timeline.SQL {
		t.Errorf("PrepareLLM(%q) = %s\n%s %v\nwant the SQL of %q: %s\n%s %v", unparseable, a.IR, a.SQL, a.Args, exportCanonical, want.IR, want.SQL, want.Args)
	}
	if a.Question != unparseable || len(a.Notes) == 0 || !strings.Contains(a.Notes[0], "interpreted by the LLM") {
		t.Errorf("PrepareLLM notes = %q, want the first to say the LLM interpreted %q", a.Notes, a.Question)
	}
	if err := sqlguard.New().Check(a.SQL); err != nil {
		t.Errorf("the guard refuses the LLM path's SQL: %v", err)
	}

	reqs := f.requests()
	if len(reqs) != 1 {
		t.Fatalf("the LLM got %d requests, want 1", len(reqs))
	}
	r := reqs[0]
	if r.User != unparseable || r.Format != "json_schema" || r.Schema != "forensic_query" {
		t.Errorf("LLM request user %q format %s schema %s", r.User, r.Format, r.Schema)
	}
	for _, want := range []string{"GET /v1/admin/export: collection_id, limit, page", "POST /v1/auth/login\n", "The current time is 2026-03-08T23:30:00Z", "never write SQL", "Question: " + forensics.Examples[0]} {
		if !strings.Contains(r.System, want) {
			t.Errorf("the system prompt lacks %q:\n%s", want, r.System)
		}
	}
}

func TestPrepareLLMParsesFirst(t *testing.T) {
	ctx := context.Background()
	f := answering(t, exportIR)
	a, err := forensics.PrepareLLM(ctx, exportCanonical, llmCatalog, llmNow, f.client, forensics.CompileOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if n := len(f.requests()); n != 0 || slices.ContainsFunc(a.Notes, func(n string) bool { return strings.Contains(n, "LLM") }) {
		t.Errorf("a question the grammar reads went to the LLM (%d requests, notes %q)", n, a.Notes)
	}
	// Not a parse error: a country question without enrichment.
	_, err = forensics.PrepareLLM(ctx, "requests from country NL in the last 7 days", llmCatalog, llmNow, f.client, forensics.CompileOptions{})
	if !errors.Is(err, forensics.ErrNeedsEnrichment) || errors.As(err, new(*forensics.LLMError)) || len(f.requests()) != 0 {
		t.Errorf("PrepareLLM(country) error = %v after %d LLM requests, want ErrNeedsEnrichment without the LLM", err, len(f.requests()))
	}
	// No translator: the parse error as it is.
	_, err = forensics.PrepareLLM(ctx, unparseable, llmCatalog, llmNow, nil, forensics.CompileOptions{})
	var pe *forensics.ParseError
	if !errors.As(err, &pe) || errors.As(err, new(*forensics.LLMError)) {
		t.Errorf("PrepareLLM(no translator) error = %T %v, want the bare *ParseError", err, err)
	}
}

// TestPrepareLLMRefuses: every way the fallback fails is an *LLMError that
// keeps the grammar's parse error and says what the LLM got wrong.
func TestPrepareLLMRefuses(t *testing.T) {
	tests := []struct {
		name    string
		content string
		wantIs  error
		wantMsg string
	}{
		{"endpoint not observed", withFilters(t, `[{"field":"endpoint","op":"=","value":"/admin/exports","param":"","negate":false}]`),
			forensics.ErrInvalidIR, "endpoint /admin/exports is not observed in traffic; did you mean /v1/admin/export?"},
		{"glob matching nothing", withFilters(t, `[{"field":"endpoint","op":"glob","value":"/internal/*","param":"","negate":false}]`),
			forensics.ErrInvalidIR, "endpoint /internal/* is not observed"},
		{"parameter not observed there", strings.Replace(exportIR, `"param":"collection_id"`, `"param":"tenant_id"`, 1),
			forensics.ErrInvalidIR, "no query parameter by that name is observed (observed: collection_id, limit, page)"},
		{"needs enrichment", withFilters(t, `[{"field":"country","op":"=","value":"NL","param":"","negate":false}]`),
			forensics.ErrNeedsEnrichment, "need an IP lookup"},
		{"unanswerable", strings.Replace(exportIR, `"unanswerable":""`, `"unanswerable":"the traffic has no notion of attackers"`, 1),
			forensics.ErrInvalidIR, "could not express the question: the traffic has no notion of attackers"},
		{"not the schema", `{"sql":"SELECT * FROM traces"}`, llm.ErrInvalidOutput, `missing property "unanswerable"`},
		{"not JSON", `SELECT count() FROM traces`, llm.ErrInvalidOutput, "not JSON"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f := answering(t, tc.content)
			_, err := forensics.PrepareLLM(context.Background(), unparseable, llmCatalog, llmNow, f.client, forensics.CompileOptions{})
			var le *forensics.LLMError
			var pe *forensics.ParseError
			if !errors.As(err, &le) || !errors.As(err, &pe) || !errors.Is(err, tc.wantIs) {
				t.Fatalf("PrepareLLM error = %T %v, want an *LLMError with the *ParseError and %v", err, err, tc.wantIs)
			}
			if !strings.Contains(err.Error(), tc.wantMsg) || pe.Word == "" || !strings.Contains(err.Error(), "cannot read "+`"`+pe.Word) {
				t.Errorf("PrepareLLM error = %v, want one naming %q and the word the grammar refused", err, tc.wantMsg)
			}
		})
	}
}

func TestPrepareLLMTimeout(t *testing.T) {
	f := newFakeLLM(t, 100*time.Millisecond, func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-r.Context().Done():
		case <-time.After(5 * time.Second):
		}
	})
	start := time.Now()
	_, err := forensics.PrepareLLM(context.Background(), unparseable, llmCatalog, llmNow, f.client, forensics.CompileOptions{})
	if !errors.Is(err, llm.ErrTimeout) || !errors.As(err, new(*forensics.ParseError)) {
		t.Fatalf("PrepareLLM over a slow LLM error = %v, want llm.ErrTimeout with the parse error", err)
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Errorf("PrepareLLM took %v, want about the 100ms timeout", d)
	}
}

// TestPrepareLLMInjection: hostile values in an LLM's IR reach SQL only as
// bound arguments, and hostile names or units are refused.
func TestPrepareLLMInjection(t *testing.T) {
	hostile := []string{
		`x' OR '1'='1`,
		`'); DROP TABLE traces; --`,
		`1; ATTACH 'evil.db' AS e; SELECT * FROM read_csv('/etc/passwd')`,
	}
	for _, v := range hostile {
		vj, _ := json.Marshal(v)
		content := withFilters(t, `[{"field":"endpoint","op":"=","value":"/admin/export","param":"","negate":false},
			{"field":"api_key","op":"=","value":`+string(vj)+`,"param":"","negate":false},
			{"field":"user_agent","op":"contains","value":`+string(vj)+`,"param":"","negate":true},
			{"field":"param","op":"!=","value":`+string(vj)+`,"param":"page","negate":false}]`)
		f := answering(t, content)
		a, err := forensics.PrepareLLM(context.Background(), unparseable, llmCatalog, llmNow, f.client, forensics.CompileOptions{})
		if err != nil {
			t.Fatalf("PrepareLLM(%q): %v", v, err)
		}
		for _, frag := range []string{"DROP", "ATTACH", "read_csv", "'1'='1", "--"} {
			if strings.Contains(a.SQL, frag) {
				t.Errorf("the SQL of an IR with %q holds %q:\n%s", v, frag, a.SQL)
			}
		}
		if !strings.Contains(a.SQL, "api_key_id = ?") || !strings.Contains(a.SQL, "extractURLParameter(http_target, 'page') != ?") || !slices.Contains(a.Args, any(v)) {
			t.Errorf("the SQL of an IR with %q does not bind it:\n%s %q", v, a.SQL, a.Args)
		}
		if err := sqlguard.New().Check(a.SQL); err != nil {
			t.Errorf("the guard refuses the SQL of an IR with %q: %v", v, err)
		}
	}
	refused := map[string]string{
		"unit":      strings.Replace(exportIR, `"unit":"day"`, `"unit":"DAY) OR 1=1 --"`, 1),
		"param":     strings.Replace(exportIR, `"param":"collection_id"`, `"param":"x') OR 1=1 --"`, 1),
		"status":    withFilters(t, `[{"field":"status","op":"class","value":"4'x","param":"","negate":false}]`),
		"rate":      strings.Replace(strings.Replace(exportIR, `"intent":"count_distinct"`, `"intent":"rate"`, 1), `"rate":{"op":"","value":""}`, `"rate":{"op":"class","value":"4x'"}`, 1),
		"op":        withFilters(t, `[{"field":"param","op":"; DROP","value":"1","param":"page","negate":false}]`),
		"method":    withFilters(t, `[{"field":"method","op":"=","value":"GET' OR 1=1","param":"","negate":false}]`),
		"ip":        withFilters(t, `[{"field":"ip","op":"=","value":"1.2.3.4' OR 1=1","param":"","negate":false}]`),
		"numeric":   withFilters(t, `[{"field":"param","op":">","value":"1 OR 1=1","param":"page","negate":false}]`),
		"window":    strings.Replace(exportIR, `"kind":"last"`, `"kind":"since"`, 1),
		"order":     strings.Replace(exportIR, `"by":""`, `"by":"1; DROP TABLE traces"`, 1),
		"unknown":   strings.Replace(exportIR, `"limit":0`, `"limit":0,"sql":"DROP TABLE traces"`, 1),
		"too large": strings.Replace(exportIR, `"limit":0`, `"limit":100000`, 1),
	}
	for name, content := range refused {
		f := answering(t, content)
		_, err := forensics.PrepareLLM(context.Background(), unparseable, llmCatalog, llmNow, f.client, forensics.CompileOptions{})
		if !errors.As(err, new(*forensics.LLMError)) {
			t.Errorf("PrepareLLM(hostile %s) error = %v, want an *LLMError", name, err)
		}
		// The client's schema check stops most of these; DecodeIR must
		// stop them on its own too.
		if _, err := forensics.DecodeIR([]byte(content), llmCatalog); !errors.Is(err, forensics.ErrInvalidIR) {
			t.Errorf("DecodeIR(hostile %s) error = %v, want ErrInvalidIR", name, err)
		}
	}
}

// TestDecodeIR checks DecodeIR on IRs written by hand.
func TestDecodeIR(t *testing.T) {
	tests := []struct {
		name, json string
		want       string // IR.String(), or an error fragment after "error: "
	}{
		{"canonical", exportIR, "count_distinct param:collection_id | endpoint template /v1/admin/export; status class 2xx | last 7d"},
		{"top fills the limit and order", `{"unanswerable":"","intent":"top","measure":"response_bytes","distinct_of":{"kind":"","param":""},"rate":{"op":"","value":""},
			"filters":[{"field":"ip","op":"=","value":"10.0.0.0/8","param":"","negate":true}],"window":{"kind":"yesterday","n":0,"unit":"","from":"","to":""},
			"group_by":[{"kind":"ip","param":""}],"order":{"by":"","desc":false},"limit":0}`,
			"top response_bytes | not ip cidr 10.0.0.0/8 | yesterday | by ip | order measure desc | limit 10"},
		{"rate per endpoint", `{"unanswerable":"","intent":"rate","measure":"requests","distinct_of":{"kind":"","param":""},"rate":{"op":"class","value":"4XX"},
			"filters":[],"window":{"kind":"between","n":0,"unit":"","from":"2026-03-01","to":"2026-03-02T12:00:00Z"},
			"group_by":[{"kind":"endpoint","param":""}],"order":{"by":"","desc":false},"limit":0}`,
			"rate status class 4xx | | between 2026-03-01 2026-03-02 12:00 | by endpoint | order measure desc"},
		{"list by group becomes count; glob; method", `{"unanswerable":"","intent":"list","measure":"requests","distinct_of":{"kind":"","param":""},"rate":{"op":"","value":""},
			"filters":[{"field":"endpoint","op":"glob","value":"/documents*","param":"","negate":false},{"field":"method","op":"=","value":"get","param":"","negate":false}],
			"window":{"kind":"this_week","n":0,"unit":"","from":"","to":""},"group_by":[{"kind":"day","param":""}],"order":{"by":"","desc":false},"limit":0}`,
			"count | endpoint glob /documents*; method = GET | this_week | by day | order time"},
		{"param phrase resolved", strings.Replace(exportIR, `"param":"collection_id"`, `"param":"collection IDs"`, 1), "count_distinct param:collection_id |"},
		{"trailing data", exportIR + `{}`, "error: more than one JSON value"},
		{"unknown field", strings.Replace(exportIR, `"limit":0`, `"limit":0,"verdict":"x"`, 1), `error: unknown field "verdict"`},
		{"unknown intent", strings.Replace(exportIR, `"count_distinct"`, `"delete"`, 1), `error: unknown intent "delete"`},
		{"distinct without target", strings.Replace(exportIR, `"kind":"param","param":"collection_id"`, `"kind":"","param":""`, 1), "error: distinct_of: unknown dimension"},
		{"avg of requests", strings.Replace(strings.Replace(exportIR, `"count_distinct"`, `"avg"`, 1), `"distinct"`, `"requests"`, 1), "error: avg of requests"},
		{"top without group", strings.Replace(strings.Replace(exportIR, `"count_distinct"`, `"top"`, 1), `"distinct"`, `"requests"`, 1), "error: top needs a group_by"},
		{"window too long", strings.Replace(exportIR, `"n":7`, `"n":400`, 1), "error: window: last takes n"},
		{"between reversed", strings.Replace(strings.Replace(exportIR, `"kind":"last","n":7,"unit":"day","from":""`, `"kind":"between","n":0,"unit":"","from":"2026-03-05"`, 1), `"to":""`, `"to":"2026-03-01"`, 1), "error: from must be before to"},
		{"bad date", strings.Replace(exportIR, `"kind":"last","n":7,"unit":"day","from":""`, `"kind":"since","n":0,"unit":"","from":"last tuesday"`, 1), `error: "last tuesday" is not a date`},
		{"empty value", withFilters(t, `[{"field":"api_key","op":"=","value":" ","param":"","negate":false}]`), "error: filter 1: api_key: the value must be"},
		{"country", withFilters(t, `[{"field":"country","op":"=","value":"NLD","param":"","negate":false}]`), "error: country takes = with a two-letter code"},
		{"too many filters", withFilters(t, "["+strings.Repeat(`{"field":"method","op":"=","value":"GET","param":"","negate":false},`, 16)+`{"field":"method","op":"=","value":"GET","param":"","negate":false}]`), "error: at most 16 filters"},
		{"group twice", strings.Replace(exportIR, `"group_by":[]`, `"group_by":[{"kind":"ip","param":""},{"kind":"ip","param":""}]`, 1), "error: group_by 2: ip twice"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ir, err := forensics.DecodeIR([]byte(tc.json), llmCatalog)
			if frag, ok := strings.CutPrefix(tc.want, "error: "); ok {
				if !errors.Is(err, forensics.ErrInvalidIR) || !strings.Contains(err.Error(), frag) {
					t.Fatalf("DecodeIR error = %v, want ErrInvalidIR containing %q", err, frag)
				}
				return
			}
			if err != nil {
				t.Fatalf("DecodeIR: %v", err)
			}
			if got := ir.String(); !strings.HasPrefix(got, tc.want) {
				t.Errorf("DecodeIR = %s, want %s", got, tc.want)
			}
			if _, err := forensics.Compile(ir, forensics.CompileOptions{Now: llmNow}); err != nil {
				t.Errorf("Compile(DecodeIR) = %v", err)
			}
		})
	}
}

// TestEncodeIRRoundTrip: every question the grammar answers, written as
// JSON by EncodeIR, matches IRSchema and decodes to an IR that compiles to
// the same SQL and arguments.
func TestEncodeIRRoundTrip(t *testing.T) {
	questions := append(slices.Clone(forensics.Examples),
		"count distinct page numbers per IP on /admin/export excluding 10.0.0.0/8 last 90 minutes",
		"top 5 user agents with user agent \"python\" by bytes uploaded since 2026-01-01",
		"requests with page > 10 and limit of 500 on /v1/documents between 2026-03-01 and 2026-03-03",
		"average latency per endpoint for POST requests with status 401 today",
		"max response bytes from api key dvk_abc by hour yesterday",
	)
	roundTrip(t, questions, llmCatalog)
}

func roundTrip(t *testing.T, questions []string, cat forensics.Catalog) {
	t.Helper()
	opts := forensics.CompileOptions{Now: llmNow, CountryExpr: "ip_country(peer_ip)", ASNExpr: "ip_asn(peer_ip)"}
	checked := 0
	defer func() {
		if checked < len(questions)*9/10 {
			t.Errorf("only %d of %d questions were round-tripped", checked, len(questions))
		}
	}()
	for _, q := range questions {
		ir, err := forensics.Parse(q, cat)
		if err != nil {
			t.Errorf("Parse(%q): %v", q, err)
			continue
		}
		if slices.ContainsFunc(ir.Notes, func(n string) bool { return strings.Contains(n, "no observed endpoint") }) {
			continue // DecodeIR refuses unobserved endpoints by design
		}
		b, err := forensics.EncodeIR(ir)
		if err != nil {
			t.Fatalf("EncodeIR(%q): %v", q, err)
		}
		if err := forensics.IRSchema().ValidateJSON(b); err != nil {
			t.Errorf("EncodeIR(%q) = %s does not match IRSchema: %v", q, b, err)
			continue
		}
		back, err := forensics.DecodeIR(b, cat)
		if err != nil {
			t.Errorf("DecodeIR(EncodeIR(%q)) = %v\n%s", q, err, b)
			continue
		}
		checked++
		want, err1 := forensics.Compile(ir, opts)
		got, err2 := forensics.Compile(back, opts)
		if (err1 == nil) != (err2 == nil) {
			t.Errorf("Compile(%q) = %v, after the round trip %v", q, err1, err2)
			continue
		}
		if err1 == nil && (got.Main.SQL != want.Main.SQL || !reflect.DeepEqual(got.Main.Args, want.Main.Args)) {
			t.Errorf("round trip of %q:\n got %s %v\nwant %s %v\n(%s)", q, got.Main.SQL, got.Main.Args, want.Main.SQL, want.Main.Args, b)
		}
	}
}

// TestAskLLMEndToEnd runs the LLM path over the seeded DataVault store: the
// LLM's reading of a question the grammar refuses gives the scenario's true
// count of exfiltrated collections, a hostile value finds nothing and
// harms nothing, and a made-up endpoint is refused.
func TestAskLLMEndToEnd(t *testing.T) {
	fx := seeded(t)
	ctx := context.Background()

	f := answering(t, exportIR)
	a, err := forensics.AskLLM(ctx, fx.store, fx.catalog, unparseable, fixtureNow, f.client, forensics.CompileOptions{})
	if err != nil {
		t.Fatalf("AskLLM(%q): %v", unparseable, err)
	}
	want := groundTruth(t, fx.summary, "exfil_collections")
	if got := project(t, a.Columns, a.Rows, nil); len(got) != 1 || len(got[0]) != 1 || got[0][0] != want {
		t.Errorf("AskLLM(%q) = %v, want %s distinct collections", unparseable, got, want)
	}
	if a.Timeline == nil || len(a.Timeline.Rows) == 0 || !strings.Contains(a.Notes[0], "interpreted by the LLM") {
		t.Errorf("AskLLM: timeline %v, notes %q; want a timeline and the LLM note", a.Timeline, a.Notes)
	}

	before := countTraces(t, fx.store)
	hostile := withFilters(t, `[{"field":"api_key","op":"=","value":"x' OR '1'='1'; DROP TABLE traces; --","param":"","negate":false}]`)
	a, err = forensics.AskLLM(ctx, fx.store, fx.catalog, unparseable, fixtureNow, answering(t, hostile).client, forensics.CompileOptions{})
	if err != nil {
		t.Fatalf("AskLLM(hostile): %v", err)
	}
	if got := project(t, a.Columns, a.Rows, nil); len(got) != 1 || got[0][0] != "0" {
		t.Errorf("AskLLM(hostile) = %v, want 0: the value is a literal that matches no key", got)
	}
	if after := countTraces(t, fx.store); after != before || before == 0 {
		t.Errorf("traces before and after the hostile question: %d, %d; want equal and non-zero", before, after)
	}

	madeUp := withFilters(t, `[{"field":"endpoint","op":"=","value":"/v1/admin/backup","param":"","negate":false}]`)
	_, err = forensics.AskLLM(ctx, fx.store, fx.catalog, unparseable, fixtureNow, answering(t, madeUp).client, forensics.CompileOptions{})
	if !errors.Is(err, forensics.ErrInvalidIR) || !strings.Contains(err.Error(), "endpoint /v1/admin/backup is not observed in traffic") {
		t.Errorf("AskLLM(made-up endpoint) error = %v, want ErrInvalidIR naming it", err)
	}
}

func countTraces(t *testing.T, q store.Querier) int64 {
	t.Helper()
	res, err := q.Query(context.Background(), "SELECT count() FROM traces", store.QueryOptions{})
	if err != nil {
		t.Fatal(err)
	}
	n, ok := store.AsInt64(res.Rows[0][0])
	if !ok {
		t.Fatalf("count() = %T", res.Rows[0][0])
	}
	return n
}

// TestEncodeIRRoundTripQuestions round-trips the committed question table
// over the seeded catalog.
func TestEncodeIRRoundTripQuestions(t *testing.T) {
	fx := seeded(t)
	var qs []string
	for _, q := range loadQuestions(t) {
		if q.Error == "" {
			qs = append(qs, q.Q)
		}
	}
	if len(qs) < 60 {
		t.Fatalf("%d answerable questions, want at least 60", len(qs))
	}
	roundTrip(t, qs, fx.catalog)
}

// FuzzDecodeIR feeds arbitrary JSON to DecodeIR: what it accepts compiles
// (or is refused with a compile error) to time-bounded SQL the guard
// accepts, and encodes and decodes again to the same IR.
func FuzzDecodeIR(f *testing.F) {
	f.Add([]byte(exportIR))
	for _, q := range append(slices.Clone(forensics.Examples), "top 5 user agents excluding 10.0.0.0/8 by bytes uploaded between 2026-01-01 and 2026-01-03", "4xx rate per endpoint today",
		"count requests from 2001:db8:42::/48 excluding 2001:db8:42::7 in the last day", "top IPs from ::ffff:0:0/96") {
		ir, err := forensics.Parse(q, llmCatalog)
		if err != nil {
			continue
		}
		if b, err := forensics.EncodeIR(ir); err == nil {
			f.Add(b)
		}
	}
	f.Add([]byte(`{"intent":"list"}`))
	f.Add([]byte(`{"unanswerable":"no"}`))
	guard := sqlguard.New()
	f.Fuzz(func(t *testing.T, data []byte) {
		ir, err := forensics.DecodeIR(data, llmCatalog)
		if err != nil {
			if !errors.Is(err, forensics.ErrInvalidIR) {
				t.Fatalf("DecodeIR(%q) error %v is not ErrInvalidIR", data, err)
			}
			return
		}
		c, err := forensics.Compile(ir, forensics.CompileOptions{Now: llmNow})
		if err == nil {
			if !strings.Contains(c.Main.SQL, "timestamp >= ") || !strings.Contains(c.Main.SQL, "timestamp < ") {
				t.Fatalf("DecodeIR(%q) compiles to SQL without a time bound:\n%s", data, c.Main.SQL)
			}
			if err := guard.Check(c.Main.SQL); err != nil {
				t.Fatalf("DecodeIR(%q) compiles to SQL the guard refuses: %v\n%s", data, err, c.Main.SQL)
			}
		} else if !errors.Is(err, forensics.ErrUnsupported) && !errors.Is(err, forensics.ErrNeedsEnrichment) {
			t.Fatalf("Compile(DecodeIR(%q)) error %v has no kind", data, err)
		}
		b, err := forensics.EncodeIR(ir)
		if err != nil {
			t.Fatalf("EncodeIR(DecodeIR(%q)): %v", data, err)
		}
		back, err := forensics.DecodeIR(b, llmCatalog)
		if err != nil || back.String() != ir.String() {
			t.Fatalf("DecodeIR(EncodeIR(DecodeIR(%q))) = %v, %v; want %s", data, back, err, ir)
		}
	})
}
