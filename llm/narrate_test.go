package llm

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"slices"
	"strings"
	"testing"
)

// dataVaultFacts are the findings of the DataVault investigation, with a
// secret pasted into a finding by mistake.
func dataVaultFacts() Facts {
	return Facts{
		Subject:   "campaign of IPs 104.248.73.19, 159.89.12.40 and 203.0.113.7",
		Verdict:   "Malicious — Data Exfiltration",
		Certainty: "high",
		Risk:      92,
		Findings: []string{
			"12,453 requests to /v1/admin/export over 80 hours",
			"sequential collection_id enumeration: 3,847 unique collections",
			"average response 191,700 bytes; 2,387,000,000 bytes in total",
			"one trial API key dvk_9f2Kx7Qa1LmZ3bT0 shared by 3 IPs, created 4 days before",
			"request sample carried Authorization: Bearer eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ4In0.c2lnbmF0dXJl and th_AbCdEfGhIjKlMnOpQrStUvWxYz0123456789abcdEFG",
		},
		AttackPattern: "Broken object level authorization enumeration",
		Techniques:    []string{"T1530 Data from Cloud Storage", "API1:2023 Broken Object Level Authorization"},
		Remediation:   []string{"Revoke key dvk_9f2Kx7Qa1LmZ3bT0", "Rate limit /v1/admin/export"},
		Figures:       map[string]float64{"requests": 12453, "unique_collections": 3847, "avg_response_bytes": 191700, "total_bytes": 2.387e9, "duration_hours": 80, "error_share": 0.021},
	}
}

// narrativeServer answers every request with the narrative answer.
func narrativeServer(t *testing.T, answer map[string]any) (*fakeServer, *Client) {
	t.Helper()
	b, err := json.Marshal(answer)
	if err != nil {
		t.Fatal(err)
	}
	f := newFake(t, func(w http.ResponseWriter, r *http.Request, req fakeRequest) {
		reply(w, 200, completion(string(b)))
	})
	return f, f.client(t, Config{})
}

func TestNarrate(t *testing.T) {
	summary := "Three IPs (104.248.73.19, 159.89.12.40 and 203.0.113.7) sharing one trial key made 12,453 requests to /v1/admin/export " +
		"over an 80-hour window, enumerating ~3.8K collections (3,847 unique) at about 187 KB per response, 2.4 GB in total. " +
		"Only 2.1% of requests failed. The verdict is Malicious — Data Exfiltration with high certainty (risk 92/100)."
	f, c := narrativeServer(t, map[string]any{
		"summary":                 summary,
		"remediation_suggestions": []string{"Revoke the shared trial key", "Add object-level authorization to /v1/admin/export"},
		"risk_opinion":            95,
	})
	n, err := Narrate(context.Background(), c, dataVaultFacts())
	if err != nil {
		t.Fatalf("Narrate: %v (checks %+v)", err, n.Checks)
	}
	if n.Summary != summary || len(n.Remediation) != 2 || n.RiskOpinion != 95 || n.ModelRisk != 95 {
		t.Errorf("Narrate = %+v", n)
	}
	for _, ch := range n.Checks {
		if !ch.Passed {
			t.Errorf("check %s failed: %s", ch.Name, ch.Detail)
		}
	}
	if got := checkNames(n); !slices.Equal(got, []string{CheckSchema, CheckVerdict, CheckNumbers, CheckRisk, CheckSecrets}) {
		t.Errorf("checks = %v", got)
	}
	if n.Usage.TotalTokens != 160 {
		t.Errorf("usage = %+v, want the server's", n.Usage)
	}

	req := f.requests()[0]
	if req.Body.ResponseFormat.JSONSchema.Name != "narrative" || strings.Contains(string(req.Body.ResponseFormat.JSONSchema.Schema), "verdict") {
		t.Errorf("schema %s: want the narrative schema, with no verdict in it", req.Body.ResponseFormat.JSONSchema.Schema)
	}
	user := req.Body.Messages[1].Content
	for _, secret := range []string{"eyJhbGciOiJIUzI1NiJ9", "th_AbCdEf", "c2lnbmF0dXJl"} {
		if strings.Contains(string(req.Raw), secret) {
			t.Errorf("the request carries the secret %q", secret)
		}
	}
	for _, fact := range []string{`"verdict": "Malicious — Data Exfiltration"`, `"risk": 92`, `"unique_collections": 3847`, "dvk_9f2Kx7Qa1LmZ3bT0", "12,453 requests"} {
		if !strings.Contains(user, fact) {
			t.Errorf("the user message lacks %s:\n%s", fact, user)
		}
	}
}

func checkNames(n Narrative) []string {
	var out []string
	for _, c := range n.Checks {
		out = append(out, c.Name)
	}
	return out
}

func TestNarrateRejects(t *testing.T) {
	tests := []struct {
		name    string
		summary string
		check   string // the failed check
		wantMsg string
	}{
		{"invented count", "The attackers pulled 4,200 collections over 80 hours.", CheckNumbers, "4,200"},
		{"invented bytes", "They downloaded 9.1 GB through the export endpoint.", CheckNumbers, "9.1 GB"},
		{"invented percentage", "Errors were 35% of requests.", CheckNumbers, "35%"},
		{"invented address", "A fourth address, 198.51.100.23, joined later.", CheckNumbers, "198.51.100.23"},
		{"invented date", "It began on 2026-02-14.", CheckNumbers, "2026-02-14"},
		{"wrong rounding", "About 3,900 collections were enumerated.", CheckNumbers, "3,900"},
		{"other verdict", "This looks like a benign partner integration.", CheckVerdict, "benign"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, c := narrativeServer(t, map[string]any{"summary": tc.summary, "remediation_suggestions": []string{}, "risk_opinion": 90})
			n, err := Narrate(context.Background(), c, dataVaultFacts())
			if !errors.Is(err, ErrRejected) || !strings.Contains(err.Error(), tc.wantMsg) {
				t.Fatalf("Narrate(%q) error = %v, want ErrRejected naming %q", tc.summary, err, tc.wantMsg)
			}
			if n.Summary != "" {
				t.Errorf("a rejected narrative has summary %q", n.Summary)
			}
			last := n.Checks[len(n.Checks)-1]
			if last.Name != tc.check || last.Passed || !strings.Contains(last.Detail, tc.wantMsg) {
				t.Errorf("last check = %+v, want %s failed naming %q", last, tc.check, tc.wantMsg)
			}
		})
	}
}

func TestNarrateClampsRisk(t *testing.T) {
	tests := []struct{ ours, model, want int }{
		{92, 40, 82}, {92, 100, 100}, {50, 65, 60}, {50, 45, 45}, {5, 0, 0}, {3, 30, 13},
	}
	for _, tc := range tests {
		_, c := narrativeServer(t, map[string]any{"summary": "Risk stays as computed.", "remediation_suggestions": []string{}, "risk_opinion": tc.model})
		f := dataVaultFacts()
		f.Risk = tc.ours
		n, err := Narrate(context.Background(), c, f)
		if err != nil {
			t.Fatalf("Narrate(risk %d, model %d): %v", tc.ours, tc.model, err)
		}
		clamped := tc.want != tc.model
		risk := n.Checks[slices.IndexFunc(n.Checks, func(c Check) bool { return c.Name == CheckRisk })]
		if n.RiskOpinion != tc.want || n.ModelRisk != tc.model || risk.Passed == clamped {
			t.Errorf("Narrate(risk %d, model %d) = opinion %d (model %d), check %+v; want %d, clamped %v", tc.ours, tc.model, n.RiskOpinion, n.ModelRisk, risk, tc.want, clamped)
		}
	}
}

func TestNarrateRedactsOutput(t *testing.T) {
	_, c := narrativeServer(t, map[string]any{
		"summary":                 "The key was used by 3 IPs.",
		"remediation_suggestions": []string{"Rotate password=hunter2hunter2", "Block 203.0.113.7"},
		"risk_opinion":            92,
	})
	n, err := Narrate(context.Background(), c, dataVaultFacts())
	if err != nil {
		t.Fatal(err)
	}
	if n.Remediation[0] != "Rotate password=[REDACTED]" || n.Remediation[1] != "Block 203.0.113.7" {
		t.Errorf("remediation = %q, want the password redacted and the address kept", n.Remediation)
	}
	if ch := n.Checks[len(n.Checks)-1]; ch.Name != CheckSecrets || ch.Passed {
		t.Errorf("last check = %+v, want secrets failed", ch)
	}
}

func TestNarrateFailures(t *testing.T) {
	f := newFake(t, func(w http.ResponseWriter, r *http.Request, req fakeRequest) {
		reply(w, 500, `{"error":{"message":"model crashed"}}`)
	})
	n, err := Narrate(context.Background(), f.client(t, Config{}), dataVaultFacts())
	if err == nil || !strings.Contains(err.Error(), "model crashed") || n.Summary != "" {
		t.Errorf("Narrate over a failing server = %+v, %v; want the server's error", n, err)
	}
	_, empty := narrativeServer(t, map[string]any{"summary": " ", "remediation_suggestions": []string{}, "risk_opinion": 90})
	n, err = Narrate(context.Background(), empty, dataVaultFacts())
	if !errors.Is(err, ErrInvalidOutput) || len(n.Checks) != 1 || n.Checks[0].Name != CheckSchema || n.Checks[0].Passed {
		t.Errorf("Narrate(empty summary) = %+v, %v; want ErrInvalidOutput and the schema check failed", n.Checks, err)
	}
	var none *Client
	if _, err := Narrate(context.Background(), none, dataVaultFacts()); err == nil || !strings.Contains(err.Error(), "no LLM is configured") {
		t.Errorf("Narrate(nil client) error = %v, want no LLM configured", err)
	}
	for _, facts := range []Facts{{Verdict: "Benign"}, {Subject: "IP 1.2.3.4"}, {Subject: "IP 1.2.3.4", Verdict: "Benign", Risk: 101}} {
		if _, err := Narrate(context.Background(), f.client(t, Config{}), facts); err == nil {
			t.Errorf("Narrate(%+v) succeeded, want the facts refused", facts)
		}
	}
}

func TestUngrounded(t *testing.T) {
	f := Facts{
		Subject: "IP 203.0.113.7", Verdict: "Suspicious — Scraping", Risk: 64,
		Findings: []string{"~187 KB average response", "window 2026-03-02 to 2026-03-08", "T1530"},
		Figures:  map[string]float64{"requests": 1234567, "ratio": 0.4285, "hours": 80, "bytes": 2_400_000_000},
	}
	tests := []struct {
		summary string
		want    []string
	}{
		{"1,234,567 requests, 1.23M requests, 1.2 million, 1234567.", nil},
		{"43% of them; 42.85%; 0.43 of them.", nil},
		{"187 KB, 187KB, 0.19 MB, 2.4 GB, 2.2 GiB, 2.4B bytes, 80-hour, 80h, 80 hours.", nil},
		{"risk 64, 64/100 on 2026-03-02 from 203.0.113.7 (T1530, API1:2023).", nil},
		{"Version v1.2.3 and words like x86 or dvk_123 are names.", nil},
		{"1,234,568 requests", []string{"1,234,568"}},
		{"1.3M requests and 44%", []string{"1.3M", "44%"}},
		{"100 requests, 5 IPs", []string{"100", "5"}},
		{"from 203.0.113.8 on 2026-03-09 at 12:30", []string{"203.0.113.8", "2026-03-09", "12:30"}},
		{"200 KB", []string{"200 KB"}},
	}
	for _, tc := range tests {
		if got := ungrounded(tc.summary, f); !slices.Equal(got, tc.want) {
			t.Errorf("ungrounded(%q) = %q, want %q", tc.summary, got, tc.want)
		}
	}
}

func TestRedact(t *testing.T) {
	tests := []struct{ in, want string }{
		{"Authorization: Bearer abc.def-ghi_123", "Authorization: Bearer [REDACTED]"},
		{"token th_AbCdEfGhIjKlMnOpQrStUvWxYz0123456789abcdEFG used", "token [REDACTED] used"},
		{"key sk-proj-AbCdEfGhIjKlMnOpQr", "key [REDACTED]"},
		{"jwt eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ4In0.c2ln", "jwt [REDACTED]"},
		{"password=hunter2 and api_key: abc123", "password=[REDACTED] and api_key: [REDACTED]"},
		{"hash 0123456789abcdef0123456789abcdef!", "hash [REDACTED]!"},
		{"secret dvs_live_Zx8Kq2Lm9Np4Rt6Vw1Yb3Cd5Ef7Gh0Jk", "secret [REDACTED]"},
		{"public id dvk_9f2Kx7Qa1LmZ3bT0 from 104.248.73.19", "public id dvk_9f2Kx7Qa1LmZ3bT0 from 104.248.73.19"},
		{"/v1/collections/{id}/documents/attachments/thumbnails", "/v1/collections/{id}/documents/attachments/thumbnails"},
	}
	for _, tc := range tests {
		if got := Redact(tc.in); got != tc.want {
			t.Errorf("Redact(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}
