package llm

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"testing"
	"time"
)

const testKey = Secret("sk-test-0123456789abcdef")

var pairSchema = Object(Prop("answer", String(100)), Prop("score", Integer(0, 10)))

func TestNew(t *testing.T) {
	tests := []struct {
		name    string
		cfg     Config
		want    string // endpoint, or an error fragment after "error: "
		timeout time.Duration
	}{
		{"server root", Config{BaseURL: "http://localhost:11434", Model: "m"}, "http://localhost:11434/v1/chat/completions", DefaultTimeout},
		{"root with slash", Config{BaseURL: "http://localhost:11434/", Model: "m"}, "http://localhost:11434/v1/chat/completions", DefaultTimeout},
		{"v1", Config{BaseURL: "http://localhost:8080/v1", Model: "m"}, "http://localhost:8080/v1/chat/completions", DefaultTimeout},
		{"v1 with slash", Config{BaseURL: "https://llm.example/v1/", Model: "m", Timeout: time.Second}, "https://llm.example/v1/chat/completions", time.Second},
		{"prefixed path as given", Config{BaseURL: "https://llm.example/api/v1", Model: "m"}, "https://llm.example/api/v1/chat/completions", DefaultTimeout},
		{"other version as given", Config{BaseURL: "https://llm.example/v1beta/openai/", Model: "m"}, "https://llm.example/v1beta/openai/chat/completions", DefaultTimeout},
		{"full endpoint", Config{BaseURL: "http://127.0.0.1:8000/v1/chat/completions", Model: "m"}, "http://127.0.0.1:8000/v1/chat/completions", DefaultTimeout},
		{"empty", Config{Model: "m"}, "error: base URL is required", 0},
		{"scheme", Config{BaseURL: "ftp://host/v1", Model: "m"}, "error: want http:// or https://", 0},
		{"no host", Config{BaseURL: "http:///v1", Model: "m"}, "error: want http:// or https://", 0},
		{"credentials", Config{BaseURL: "https://user:pw@llm.example/v1", Model: "m"}, "error: may not hold credentials", 0},
		{"query", Config{BaseURL: "https://llm.example/v1?key=x", Model: "m"}, "error: no query", 0},
		{"no model", Config{BaseURL: "http://localhost:11434"}, "error: model name is required", 0},
		{"negative timeout", Config{BaseURL: "http://localhost:11434", Model: "m", Timeout: -1}, "error: may not be negative", 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c, err := New(tc.cfg)
			if frag, ok := strings.CutPrefix(tc.want, "error: "); ok {
				if err == nil || !strings.Contains(err.Error(), frag) {
					t.Fatalf("New(%+v) error = %v, want one containing %q", tc.cfg, err, frag)
				}
				return
			}
			if err != nil {
				t.Fatalf("New(%+v): %v", tc.cfg, err)
			}
			if c.Endpoint() != tc.want || c.timeout != tc.timeout || c.maxTokens != DefaultMaxTokens {
				t.Errorf("New(%+v) = %s, timeout %v, max tokens %d; want %s, %v, %d", tc.cfg, c.Endpoint(), c.timeout, c.maxTokens, tc.want, tc.timeout, DefaultMaxTokens)
			}
		})
	}
}

func TestCompleteSendsSchemaRequest(t *testing.T) {
	f := newFake(t, func(w http.ResponseWriter, r *http.Request, req fakeRequest) {
		reply(w, 200, completion("```json\n{\"answer\": \"yes\", \"score\": 7}\n```"))
	})
	c := f.client(t, Config{APIKey: testKey, MaxTokens: 321})
	raw, usage, err := c.Complete(context.Background(), Request{System: "be terse", User: "is it?", Schema: pairSchema, SchemaName: "pair"})
	if err != nil {
		t.Fatal(err)
	}
	if string(raw) != `{"answer":"yes","score":7}` {
		t.Errorf("Complete = %s, want the fenced JSON, compacted", raw)
	}
	if usage != (Usage{PromptTokens: 120, CompletionTokens: 40, TotalTokens: 160}) {
		t.Errorf("Complete usage = %+v", usage)
	}
	reqs := f.requests()
	if len(reqs) != 1 {
		t.Fatalf("the server got %d requests, want 1", len(reqs))
	}
	req := reqs[0]
	if req.Path != "/v1/chat/completions" {
		t.Errorf("path = %s, want /v1/chat/completions", req.Path)
	}
	if got := req.Header.Get("Authorization"); got != "Bearer "+string(testKey) {
		t.Errorf("Authorization = %q, want the bearer key", got)
	}
	if string(req.Fields["temperature"]) != "0" {
		t.Errorf("temperature = %s, want 0 sent explicitly", req.Fields["temperature"])
	}
	if string(req.Fields["stream"]) != "false" || req.Body.Model != "test-model" || req.Body.MaxTokens != 321 {
		t.Errorf("stream/model/max_tokens = %s/%s/%d, want false/test-model/321", req.Fields["stream"], req.Body.Model, req.Body.MaxTokens)
	}
	rf := req.Body.ResponseFormat
	wantSchema, _ := json.Marshal(pairSchema)
	if rf == nil || rf.Type != "json_schema" || rf.JSONSchema == nil || rf.JSONSchema.Name != "pair" || !rf.JSONSchema.Strict || !bytes.Equal(rf.JSONSchema.Schema, wantSchema) {
		t.Errorf("response_format = %+v, want strict json_schema pair with %s", rf, wantSchema)
	}
	if len(req.Body.Messages) != 2 || req.Body.Messages[0] != (chatMessage{"system", "be terse"}) || req.Body.Messages[1] != (chatMessage{"user", "is it?"}) {
		t.Errorf("messages = %+v", req.Body.Messages)
	}
}

func TestCompleteWithoutKeySendsNoAuthorization(t *testing.T) {
	f := newFake(t, func(w http.ResponseWriter, r *http.Request, req fakeRequest) {
		reply(w, 200, completion(`{"answer":"a","score":1}`))
	})
	c, err := New(Config{BaseURL: f.URL, Model: "llama3.1:8b"}) // the server root, as Ollama's is written
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := c.Complete(context.Background(), Request{User: "q", Schema: pairSchema}); err != nil {
		t.Fatal(err)
	}
	req := f.requests()[0]
	if h, ok := req.Header["Authorization"]; ok {
		t.Errorf("Authorization = %q, want none without a key", h)
	}
	if req.Path != "/v1/chat/completions" {
		t.Errorf("path = %s, want /v1/chat/completions from the server root", req.Path)
	}
}

// TestJSONObjectFallback: a server that refuses json_schema is asked again
// with json_object and the schema in the system message, and later calls
// go to json_object straight away. The content is still validated.
func TestJSONObjectFallback(t *testing.T) {
	refusals := []string{
		`{"error":{"message":"Invalid parameter: 'response_format' of type 'json_schema' is not supported with this model.","type":"invalid_request_error","param":"response_format","code":null}}`,
		`{"error":{"code":400,"message":"Either \"json_schema\" or \"grammar\" can be specified, but not both","type":"invalid_request_error"}}`,
		`{"error":"json: cannot unmarshal object into Go struct field .response_format"}`,
	}
	for i, refusal := range refusals {
		t.Run(fmt.Sprint(i), func(t *testing.T) {
			f := newFake(t, func(w http.ResponseWriter, r *http.Request, req fakeRequest) {
				if req.Body.ResponseFormat != nil && req.Body.ResponseFormat.Type == "json_schema" {
					reply(w, 400, refusal)
					return
				}
				reply(w, 200, completion(`{"answer":"fallback","score":3}`))
			})
			c := f.client(t, Config{})
			for range 2 {
				raw, _, err := c.Complete(context.Background(), Request{System: "sys", User: "q", Schema: pairSchema})
				if err != nil {
					t.Fatal(err)
				}
				if string(raw) != `{"answer":"fallback","score":3}` {
					t.Errorf("Complete = %s", raw)
				}
			}
			reqs := f.requests()
			if len(reqs) != 3 {
				t.Fatalf("the server got %d requests, want 3 (refused, fallback, fallback straight away)", len(reqs))
			}
			for _, req := range reqs[1:] {
				sys := req.Body.Messages[0].Content
				if req.Body.ResponseFormat.Type != "json_object" || !strings.HasPrefix(sys, "sys") || !strings.Contains(sys, `"required":["answer","score"]`) {
					t.Errorf("fallback request: format %q, system %q; want json_object and the schema in the system message", req.Body.ResponseFormat.Type, sys)
				}
			}
		})
	}
}

func TestJSONObjectFallbackStillValidates(t *testing.T) {
	f := newFake(t, func(w http.ResponseWriter, r *http.Request, req fakeRequest) {
		if req.Body.ResponseFormat.Type == "json_schema" {
			reply(w, 400, `{"error":{"message":"response_format not supported"}}`)
			return
		}
		reply(w, 200, completion(`{"answer":"x","score":11}`))
	})
	_, _, err := f.client(t, Config{}).Complete(context.Background(), Request{User: "q", Schema: pairSchema})
	if !errors.Is(err, ErrInvalidOutput) || !strings.Contains(err.Error(), "$.score") {
		t.Fatalf("Complete error = %v, want ErrInvalidOutput at $.score", err)
	}
}

func TestMaxCompletionTokensFallback(t *testing.T) {
	f := newFake(t, func(w http.ResponseWriter, r *http.Request, req fakeRequest) {
		if _, ok := req.Fields["max_tokens"]; ok {
			reply(w, 400, `{"error":{"message":"Unsupported parameter: 'max_tokens' is not supported with this model. Use 'max_completion_tokens' instead.","type":"invalid_request_error","param":"max_tokens","code":"unsupported_parameter"}}`)
			return
		}
		reply(w, 200, completion(`{"answer":"ok","score":1}`))
	})
	c := f.client(t, Config{MaxTokens: 99})
	if _, _, err := c.Complete(context.Background(), Request{User: "q", Schema: pairSchema}); err != nil {
		t.Fatal(err)
	}
	reqs := f.requests()
	if len(reqs) != 2 || reqs[1].Body.MaxCompletionTokens != 99 || reqs[1].Body.ResponseFormat.Type != "json_schema" {
		t.Fatalf("requests = %d, last max_completion_tokens %d format %s; want 2, 99, json_schema kept", len(reqs), reqs[len(reqs)-1].Body.MaxCompletionTokens, reqs[len(reqs)-1].Body.ResponseFormat.Type)
	}
}

// TestCompleteErrors checks each failure a server or model can produce.
func TestCompleteErrors(t *testing.T) {
	huge := `{"choices":[{"message":{"content":"` + strings.Repeat("x", MaxResponseBytes) + `"},"finish_reason":"stop"}]}`
	tests := []struct {
		name    string
		status  int
		header  map[string]string
		body    string
		wantIs  error  // nil: only the fragment is checked
		wantMsg string // a fragment of the error
		check   func(t *testing.T, err error)
	}{
		{name: "content not JSON", status: 200, body: completion("Sure! The answer is yes."), wantIs: ErrInvalidOutput, wantMsg: `not JSON`},
		{name: "content is JSON text around", status: 200, body: completion(`Here: {"answer":"a","score":1}`), wantIs: ErrInvalidOutput, wantMsg: `the answer begins "Here:`},
		{name: "content fails the schema", status: 200, body: completion(`{"answer":"a","score":"high"}`), wantIs: ErrInvalidOutput, wantMsg: "$.score: want integer"},
		{name: "content adds a property", status: 200, body: completion(`{"answer":"a","score":1,"verdict":"Benign"}`), wantIs: ErrInvalidOutput, wantMsg: `unexpected property "verdict"`},
		{name: "content truncated JSON", status: 200, body: completion(`{"answer":"a","sc`), wantIs: ErrInvalidOutput, wantMsg: "not JSON"},
		{name: "empty content", status: 200, body: completion("  "), wantIs: ErrInvalidOutput, wantMsg: "empty"},
		{name: "null content", status: 200, body: `{"choices":[{"message":{"content":null},"finish_reason":"stop"}]}`, wantIs: ErrInvalidOutput, wantMsg: "empty"},
		{name: "no choices", status: 200, body: `{"choices":[],"usage":{"prompt_tokens":5}}`, wantIs: ErrInvalidOutput, wantMsg: "no choices"},
		{name: "not a completion", status: 200, body: `<html>proxy error</html>`, wantIs: ErrInvalidOutput, wantMsg: "not a chat completion"},
		{name: "finish_reason length", status: 200, body: completionWith(`{"answer":"a`, "length"), wantIs: ErrTruncated, wantMsg: "raise max_tokens"},
		{name: "refusal", status: 200, body: `{"choices":[{"message":{"content":null,"refusal":"I can't help with that."},"finish_reason":"stop"}]}`, wantIs: ErrRefused, wantMsg: "I can't help with that."},
		{name: "content filter", status: 200, body: completionWith("", "content_filter"), wantIs: ErrRefused, wantMsg: "content filter"},
		{name: "tool call", status: 200, body: `{"choices":[{"message":{"content":null,"tool_calls":[{"id":"1"}]},"finish_reason":"tool_calls"}]}`, wantIs: ErrInvalidOutput, wantMsg: "tool call"},
		{name: "error object with 200", status: 200, body: `{"error":{"message":"model not loaded"}}`, wantMsg: "model not loaded",
			check: func(t *testing.T, err error) {
				var ae *APIError
				if !errors.As(err, &ae) || ae.StatusCode != 200 {
					t.Errorf("error %v is not an *APIError with status 200", err)
				}
			}},
		{name: "401 echoing the key", status: 401, body: `{"error":{"message":"Incorrect API key provided: ` + string(testKey) + `.","type":"invalid_request_error","code":"invalid_api_key"}}`,
			wantIs: ErrUnauthorized, wantMsg: "Incorrect API key provided: [REDACTED]"},
		{name: "403", status: 403, body: `{"error":{"message":"forbidden"}}`, wantIs: ErrUnauthorized, wantMsg: "403 Forbidden: forbidden"},
		{name: "429 with Retry-After", status: 429, header: map[string]string{"Retry-After": "7"}, body: `{"error":{"message":"Rate limit reached","type":"requests"}}`,
			wantIs: ErrRateLimited, wantMsg: "retry after 7s",
			check: func(t *testing.T, err error) {
				var ae *APIError
				if !errors.As(err, &ae) || ae.RetryAfter != 7*time.Second || ae.Type != "requests" {
					t.Errorf("error %v: want an *APIError with RetryAfter 7s and type requests", err)
				}
			}},
		{name: "500 with error body", status: 500, body: `{"error":{"message":"CUDA out of memory","type":"server_error","param":null,"code":"oom"}}`, wantMsg: "500 Internal Server Error: CUDA out of memory",
			check: func(t *testing.T, err error) {
				var ae *APIError
				if !errors.As(err, &ae) || ae.StatusCode != 500 || ae.Code != "oom" || errors.Is(err, ErrUnauthorized) || errors.Is(err, ErrRateLimited) {
					t.Errorf("error %v: want an *APIError 500 with code oom and no other kind", err)
				}
			}},
		{name: "502 text body", status: 502, body: "upstream\nconnect error", wantMsg: "502 Bad Gateway: upstream connect error"},
		{name: "huge body bounded", status: 200, body: huge, wantIs: ErrInvalidOutput, wantMsg: "larger than 4 MiB"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f := newFake(t, func(w http.ResponseWriter, r *http.Request, req fakeRequest) {
				for k, v := range tc.header {
					w.Header().Set(k, v)
				}
				reply(w, tc.status, tc.body)
			})
			raw, _, err := f.client(t, Config{APIKey: testKey}).Complete(context.Background(), Request{User: "q", Schema: pairSchema})
			if err == nil {
				t.Fatalf("Complete = %s, want an error", raw)
			}
			if tc.wantIs != nil && !errors.Is(err, tc.wantIs) {
				t.Errorf("Complete error = %v, want errors.Is %v", err, tc.wantIs)
			}
			if !strings.Contains(err.Error(), tc.wantMsg) {
				t.Errorf("Complete error = %v, want one containing %q", err, tc.wantMsg)
			}
			if strings.Contains(err.Error(), string(testKey)) {
				t.Errorf("Complete error %q leaks the API key", err)
			}
			if tc.check != nil {
				tc.check(t, err)
			}
			if n := len(f.requests()); n != 1 {
				t.Errorf("the server got %d requests, want 1 (no retry)", n)
			}
		})
	}
}

func TestCompleteTimeout(t *testing.T) {
	f := newFake(t, func(w http.ResponseWriter, r *http.Request, req fakeRequest) {
		select {
		case <-r.Context().Done():
		case <-time.After(5 * time.Second):
		}
		reply(w, 200, completion(`{"answer":"late","score":1}`))
	})
	c := f.client(t, Config{Timeout: 100 * time.Millisecond})
	start := time.Now()
	_, _, err := c.Complete(context.Background(), Request{User: "q", Schema: pairSchema})
	if !errors.Is(err, ErrTimeout) || !strings.Contains(err.Error(), "100ms") {
		t.Fatalf("Complete error = %v, want ErrTimeout naming 100ms", err)
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Errorf("Complete returned after %v, want about the 100ms timeout", d)
	}
}

func TestCompleteCallerCancel(t *testing.T) {
	f := newFake(t, func(w http.ResponseWriter, r *http.Request, req fakeRequest) {
		<-r.Context().Done()
	})
	ctx, cancel := context.WithCancel(context.Background())
	time.AfterFunc(50*time.Millisecond, cancel)
	_, _, err := f.client(t, Config{}).Complete(ctx, Request{User: "q", Schema: pairSchema})
	if !errors.Is(err, context.Canceled) || errors.Is(err, ErrTimeout) {
		t.Fatalf("Complete error = %v, want context.Canceled, not ErrTimeout", err)
	}
}

func TestCompleteRefusesBadRequests(t *testing.T) {
	c, err := New(Config{BaseURL: "http://127.0.0.1:1", Model: "m"})
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := c.Complete(context.Background(), Request{User: " "}); err == nil || !strings.Contains(err.Error(), "empty user message") {
		t.Errorf("Complete(empty user) error = %v", err)
	}
	if _, _, err := c.Complete(context.Background(), Request{User: "q", Schema: pairSchema, SchemaName: "a b"}); err == nil || !strings.Contains(err.Error(), "schema name") {
		t.Errorf("Complete(bad schema name) error = %v", err)
	}
}

func TestCompleteWithoutSchemaWantsAnObject(t *testing.T) {
	answers := []string{`{"free":"form"}`, `[1,2]`}
	for i, answer := range answers {
		f := newFake(t, func(w http.ResponseWriter, r *http.Request, req fakeRequest) {
			if req.Body.ResponseFormat.Type != "json_object" {
				t.Errorf("response_format %q without a schema, want json_object", req.Body.ResponseFormat.Type)
			}
			reply(w, 200, completion(answer))
		})
		raw, _, err := f.client(t, Config{}).Complete(context.Background(), Request{User: "q"})
		if ok := err == nil; ok != (i == 0) {
			t.Errorf("Complete(%s) = %s, %v; want success only for an object", answer, raw, err)
		}
	}
}

func TestUnwrapContent(t *testing.T) {
	tests := []struct{ in, want string }{
		{`{"a":1}`, `{"a":1}`},
		{"  {\"a\":1}\n", `{"a":1}`},
		{"```json\n{\"a\":1}\n```", `{"a":1}`},
		{"```\n{\"a\":1}\n```", `{"a":1}`},
		{"<think>the user wants JSON {}</think>\n{\"a\":1}", `{"a":1}`},
		{"```python\nprint(1)\n```", "```python\nprint(1)\n```"},
		{"<think>unterminated {\"a\":1}", "<think>unterminated {\"a\":1}"},
	}
	for _, tc := range tests {
		if got := unwrapContent(tc.in); got != tc.want {
			t.Errorf("unwrapContent(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

func TestRetryAfter(t *testing.T) {
	now := time.Date(2026, 3, 8, 12, 0, 0, 0, time.UTC)
	tests := []struct {
		h    string
		want time.Duration
	}{
		{"", 0}, {"30", 30 * time.Second}, {"-1", 0}, {"soon", 0},
		{now.Add(90 * time.Second).Format(http.TimeFormat), 90 * time.Second},
		{now.Add(-time.Hour).Format(http.TimeFormat), 0},
		{"999999999", 24 * time.Hour},
	}
	for _, tc := range tests {
		if got := retryAfter(tc.h, now); got != tc.want {
			t.Errorf("retryAfter(%q) = %v, want %v", tc.h, got, tc.want)
		}
	}
}

func TestSecretNeverPrints(t *testing.T) {
	cfg := Config{BaseURL: "http://localhost:11434", Model: "m", APIKey: testKey}
	var logged bytes.Buffer
	slog.New(slog.NewJSONHandler(&logged, nil)).Info("config", "key", cfg.APIKey, "cfg", cfg)
	marshalled, err := json.Marshal(cfg)
	if err != nil {
		t.Fatal(err)
	}
	c, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	for name, s := range map[string]string{
		"%v": fmt.Sprintf("%v", cfg), "%+v": fmt.Sprintf("%+v", cfg), "%#v": fmt.Sprintf("%#v", cfg), "%s": fmt.Sprintf("%s", cfg.APIKey),
		"slog": logged.String(), "json": string(marshalled),
	} {
		if strings.Contains(s, string(testKey)) || !strings.Contains(s, "[REDACTED]") {
			t.Errorf("%s = %s, want the key redacted", name, s)
		}
	}
	for _, s := range []string{fmt.Sprintf("%+v", c), fmt.Sprintf("%#v", c)} {
		if strings.Contains(s, string(testKey)) {
			t.Errorf("the client formats as %s, leaking the key", s)
		}
	}
}
