package app_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/tracehound/tracehound/api"
	"github.com/tracehound/tracehound/app"
	"github.com/tracehound/tracehound/forensics"
)

// TestAskThroughLLM configures a local chat-completions server as the LLM:
// a question the grammar refuses is read by the LLM into the typed IR and
// answered by the same compiler; one the grammar reads never reaches it,
// and the key comes from its file.
func TestAskThroughLLM(t *testing.T) {
	ir, err := forensics.Parse("top 10 ips by requests in the last 7 days", forensics.StaticCatalog{})
	if err != nil {
		t.Fatal(err)
	}
	irJSON, err := forensics.EncodeIR(ir)
	if err != nil {
		t.Fatal(err)
	}
	var calls atomic.Int64
	var auth atomic.Value
	llmSrv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		calls.Add(1)
		auth.Store(r.Header.Get("Authorization"))
		json.NewEncoder(w).Encode(map[string]any{
			"id": "c1", "object": "chat.completion", "model": "local",
			"choices": []any{map[string]any{"index": 0, "finish_reason": "stop", "message": map[string]any{"role": "assistant", "content": string(irJSON)}}},
		})
	}))
	defer llmSrv.Close()

	dir := t.TempDir()
	keyFile := filepath.Join(dir, "llm-key")
	os.WriteFile(keyFile, []byte("sk-local-test\n"), 0o600)
	c := testConfig(t, filepath.Join(dir, "data"))
	c.LLM.BaseURL, c.LLM.Model, c.LLM.APIKeyFile = llmSrv.URL, "local", keyFile
	s := start(t, c)
	ctx := context.Background()

	res, err := s.Ask(ctx, api.AskRequest{Question: "which addresses hammered us hardest this week"})
	if err != nil {
		t.Fatalf("Ask through the LLM: %v", err)
	}
	if calls.Load() != 1 || auth.Load() != "Bearer sk-local-test" {
		t.Errorf("LLM calls %d with Authorization %q; want 1 with the key from its file", calls.Load(), auth.Load())
	}
	if !strings.Contains(strings.Join(res.Notes, " "), "LLM") || !strings.Contains(res.SQL, "GROUP BY") {
		t.Errorf("answer notes %q, SQL %q: want the LLM's reading noted and the compiled top-N query", res.Notes, res.SQL)
	}

	if _, err := s.Ask(ctx, api.AskRequest{Question: "top 5 endpoints by requests in the last 24 hours"}); err != nil {
		t.Fatal(err)
	}
	if calls.Load() != 1 {
		t.Errorf("a question the grammar reads went to the LLM (%d calls)", calls.Load())
	}

	c2 := testConfig(t, filepath.Join(dir, "data2"))
	c2.LLM.Model = "orphan"
	if a, err := app.New(ctx, app.Options{Config: c2}); err == nil || !strings.Contains(err.Error(), "base_url") {
		if a != nil {
			a.Close()
		}
		t.Errorf("an LLM model without base_url: %v, want a configuration error", err)
	}
}
