package llm

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"
)

// FuzzDecodeResponse feeds arbitrary response bodies to the decoder: it
// never panics, and what it accepts is non-empty content that was neither
// truncated nor filtered.
func FuzzDecodeResponse(f *testing.F) {
	for _, s := range []string{
		completion(`{"summary":"x","remediation_suggestions":[],"risk_opinion":3}`),
		completionWith(`{"a`, "length"),
		completionWith("", "content_filter"),
		`{"choices":[{"message":{"content":[{"type":"text","text":"{\"a\":1}"}]},"finish_reason":"stop"}]}`,
		`{"choices":[{"message":{"content":null,"refusal":"no"}}]}`,
		`{"choices":[]}`, `{"error":{"message":"m","code":429}}`, `{"error":"plain"}`, `null`, `[]`, ``,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		res, err := decodeResponse(body)
		if err != nil {
			var ae *APIError
			if !errors.Is(err, ErrInvalidOutput) && !errors.Is(err, ErrTruncated) && !errors.Is(err, ErrRefused) && !errors.As(err, &ae) {
				t.Fatalf("decodeResponse(%q) error %v has no kind", body, err)
			}
			return
		}
		if strings.TrimSpace(res.Content) == "" || res.FinishReason == "length" || res.FinishReason == "content_filter" {
			t.Fatalf("decodeResponse(%q) accepted %+v", body, res)
		}
	})
}

// FuzzParseContent feeds arbitrary model content to the content parser:
// what it accepts matches the schema, decodes into the narrative's Go
// shape, and parses again to itself.
func FuzzParseContent(f *testing.F) {
	for _, s := range []string{
		`{"summary":"s","remediation_suggestions":["a"],"risk_opinion":50}`,
		"```json\n{\"summary\":\"s\",\"remediation_suggestions\":[],\"risk_opinion\":0}\n```",
		"<think>hmm</think>{\"summary\":\"s\",\"remediation_suggestions\":[],\"risk_opinion\":100}",
		`{"summary":"s","remediation_suggestions":[],"risk_opinion":101}`,
		`{"summary":"s","remediation_suggestions":[],"risk_opinion":1e2}`,
		`{"summary":"s","remediation_suggestions":[],"risk_opinion":50,"verdict":"Benign"}`,
		`{"summary":"s"} {"summary":"t"}`, `Sure!`, `{"a":`,
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, content string) {
		raw, err := parseContent(content, NarrativeSchema())
		if err != nil {
			if !errors.Is(err, ErrInvalidOutput) {
				t.Fatalf("parseContent(%q) error %v is not ErrInvalidOutput", content, err)
			}
			return
		}
		var out struct {
			Summary     string   `json:"summary"`
			Remediation []string `json:"remediation_suggestions"`
			Risk        int      `json:"risk_opinion"`
		}
		dec := json.NewDecoder(strings.NewReader(string(raw)))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&out); err != nil || out.Risk < 0 || out.Risk > 100 || len(out.Remediation) > 8 {
			t.Fatalf("parseContent(%q) = %s, which decodes to %+v, %v", content, raw, out, err)
		}
		again, err := parseContent(string(raw), NarrativeSchema())
		if err != nil || string(again) != string(raw) {
			t.Fatalf("parseContent(%s) = %s, %v; want itself", raw, again, err)
		}
	})
}

// FuzzScanQuantities feeds arbitrary prose to the number scanner: it never
// panics, and any text is grounded in itself.
func FuzzScanQuantities(f *testing.F) {
	for _, s := range []string{
		"12,453 requests over an 80-hour window, ~3.8K collections, 187 KB, 2.4 GB, 2.1%, risk 92/100",
		"from 203.0.113.7 and 10.0.0.0/8 on 2026-03-02T10:00:00Z at 12:30, T1530, v1.2.3, 1,00, 1.2.3",
		"9999999999999999999999999999999999 1e400 0.000000000000001 ١٢٣ ５",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		for _, q := range scanQuantities(s) {
			if q.Text == "" || !q.Ident && len(q.Scales) == 0 {
				t.Fatalf("scanQuantities(%q) has %+v", s, q)
			}
		}
		if bad := ungrounded(s, Facts{Findings: []string{s}}); len(bad) > 0 {
			t.Fatalf("ungrounded(%q) in itself = %q", s, bad)
		}
	})
}

// FuzzRedact checks that redaction is stable: redacting twice changes
// nothing more.
func FuzzRedact(f *testing.F) {
	for _, s := range []string{
		"Bearer abc.def th_AbCdEfGhIjKlMnOpQrStUvWxYz0123456789abcdEFG password=x",
		"0123456789abcdef0123456789abcdef dvs_live_Zx8Kq2Lm9Np4Rt6Vw1Yb3Cd5Ef7Gh0Jk",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		once := Redact(s)
		if twice := Redact(once); twice != once {
			t.Fatalf("Redact(Redact(%q)) = %q, want %q", s, twice, once)
		}
	})
}
