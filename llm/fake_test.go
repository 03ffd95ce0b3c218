package llm

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"
)

// fakeServer is a local chat-completions server. Each request is decoded
// and recorded, then answered by the handler.
type fakeServer struct {
	*httptest.Server
	mu   sync.Mutex
	reqs []fakeRequest
}

// fakeRequest is a request the fake received.
type fakeRequest struct {
	Path   string
	Header http.Header
	Raw    []byte
	Body   chatRequest
	// Fields are the body's top-level fields, to check presence (e.g. a
	// temperature of 0 that omitempty would have dropped).
	Fields map[string]json.RawMessage
}

func newFake(t *testing.T, handle func(w http.ResponseWriter, r *http.Request, req fakeRequest)) *fakeServer {
	t.Helper()
	f := &fakeServer{}
	f.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		raw, _ := io.ReadAll(r.Body)
		req := fakeRequest{Path: r.URL.Path, Header: r.Header.Clone(), Raw: raw}
		if err := json.Unmarshal(raw, &req.Body); err != nil {
			t.Errorf("the client sent a body that is not a chat request: %v\n%s", err, raw)
		}
		json.Unmarshal(raw, &req.Fields)
		f.mu.Lock()
		f.reqs = append(f.reqs, req)
		f.mu.Unlock()
		handle(w, r, req)
	}))
	t.Cleanup(f.Close)
	return f
}

// requests returns what the fake received so far.
func (f *fakeServer) requests() []fakeRequest {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]fakeRequest(nil), f.reqs...)
}

// client returns a client of the fake with cfg's other fields.
func (f *fakeServer) client(t *testing.T, cfg Config) *Client {
	t.Helper()
	cfg.BaseURL = f.URL + "/v1"
	if cfg.Model == "" {
		cfg.Model = "test-model"
	}
	if cfg.Timeout == 0 {
		cfg.Timeout = 5 * time.Second
	}
	c, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// completion is a chat-completion body whose first choice says content.
func completion(content string) string {
	return completionWith(content, "stop")
}

func completionWith(content, finish string) string {
	c, _ := json.Marshal(content)
	return `{"id":"chatcmpl-1","object":"chat.completion","created":1767225600,"model":"test-model",` +
		`"choices":[{"index":0,"message":{"role":"assistant","content":` + string(c) + `,"refusal":null},"finish_reason":"` + finish + `"}],` +
		`"usage":{"prompt_tokens":120,"completion_tokens":40,"total_tokens":160}}`
}

// reply answers with status and body as JSON.
func reply(w http.ResponseWriter, status int, body string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	io.WriteString(w, body)
}
