package app

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/tracehound/tracehound/api"
	"github.com/tracehound/tracehound/exclude"
	"github.com/tracehound/tracehound/llm"
)

// TestNarrateSuggestions: the LLM words each suggestion from its computed
// figures; a wording that states a number the figures do not hold is
// rejected and the suggestion stays as computed.
func TestNarrateSuggestions(t *testing.T) {
	answers := []string{
		"A monitoring service polled /health from 2 addresses on 7 of 7 days (1440 requests). The exclusion removes 3 of 3 notifications and suppresses 0 true positives.",
		"This caller made 999999 requests.",
	}
	var call int
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var req struct {
			Messages []struct{ Content string } `json:"messages"`
		}
		json.NewDecoder(r.Body).Decode(&req)
		if len(req.Messages) < 2 || !strings.Contains(req.Messages[1].Content, "notifications_removed") {
			t.Errorf("the request does not carry the suggestion's figures: %+v", req.Messages)
		}
		content, _ := json.Marshal(map[string]any{"summary": answers[call%len(answers)], "remediation_suggestions": []string{"apply it in shadow first"}, "risk_opinion": 3})
		call++
		json.NewEncoder(w).Encode(map[string]any{"id": "c", "object": "chat.completion", "model": "local",
			"choices": []any{map[string]any{"index": 0, "finish_reason": "stop", "message": map[string]any{"role": "assistant", "content": string(content)}}}})
	}))
	defer srv.Close()
	client, err := llm.New(llm.Config{BaseURL: srv.URL, Model: "local"})
	if err != nil {
		t.Fatal(err)
	}
	sug := exclude.Suggestion{
		Exclusion: exclude.Exclusion{Conditions: []exclude.Condition{{Kind: exclude.KindPathGlob, Value: "/health"}}},
		Source:    "stable_caller", Rationale: "a monitoring service on a steady schedule",
		Caller:        exclude.CallerProfile{IPs: []string{"198.51.100.4", "198.51.100.5"}, UserAgent: "kube-probe/1.29", Requests: 1440, ActiveDays: 7, WindowDays: 7},
		Notifications: []int64{1, 2, 3}, Removes: 3,
		DryRun: &exclude.DryRunResult{NotificationsBefore: 3, NotificationsAfter: 0, RowsExcluded: 1440, RowsTotal: 50000},
	}
	res := &api.SuggestionList{Suggestions: []exclude.Suggestion{sug, sug}}
	a := &App{}
	a.llm = client
	a.narrateSuggestions(context.Background(), res)
	if len(res.Narratives) != 2 {
		t.Fatalf("%d narratives, want 2", len(res.Narratives))
	}
	if n := res.Narratives[0]; n.Narrative == nil || !strings.Contains(n.Narrative.Summary, "monitoring service") {
		t.Errorf("first wording = %+v; want the checked summary", n)
	}
	if n := res.Narratives[1]; n.Narrative != nil || !strings.Contains(n.Error, "999999") {
		t.Errorf("second wording = %+v; want it rejected for a number not among the figures", n)
	}

	none := &api.SuggestionList{Suggestions: []exclude.Suggestion{sug}}
	(&App{}).narrateSuggestions(context.Background(), none)
	if none.NarrativeError == "" || len(none.Narratives) != 0 {
		t.Errorf("without an LLM: %+v; want the reason and no wording", none)
	}
}
