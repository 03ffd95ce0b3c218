package api

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"

	"github.com/tracehound/tracehound/auth"
)

// fakeAnalyse is an IPBackend whose analysis reports progress over
// three chunks; the HTTP layer under test only moves requests and answers.
type fakeAnalyse struct {
	Backend
	IPBackend
	got AnalyseRequest
}

func (f *fakeAnalyse) AnalyseIPs(_ context.Context, req AnalyseRequest) (*AnalyseResult, error) {
	f.got = req
	if len(req.IPs) == 0 && req.Tag == "" {
		return nil, fmt.Errorf("%w: name addresses or select records", ErrBadRequest)
	}
	if req.Tag == "broken" {
		return nil, errors.New("the state store is on fire")
	}
	for done := 0; req.Progress != nil && done <= 3000; done += 1000 {
		req.Progress(done, 3000)
	}
	return &AnalyseResult{Analysed: 3000, Counts: AnalyseCounts{Malicious: 2, Benign: 2998},
		Flagged: []AnalysedIP{{IP: "104.248.73.19", Severity: "Malicious", Risk: 91}}, FlaggedTotal: 2, SkippedRanges: 1}, nil
}

func analyseServer(t *testing.T) (*fakeAnalyse, *Server, *httptest.Server) {
	t.Helper()
	fake := &fakeAnalyse{}
	s := NewServer(Options{Backend: fake})
	srv := httptest.NewServer(s)
	t.Cleanup(srv.Close)
	return fake, s, srv
}

// TestAnalyseStreams: the client streams the analysis and reports every
// progress line before the result; errors keep their kind, and an internal
// one its secret; without stream=true the answer is plain JSON.
func TestAnalyseStreams(t *testing.T) {
	fake, s, srv := analyseServer(t)
	if !slices.Contains(s.Routes(), Route{Pattern: "POST /api/v1/ips/analyse", Role: auth.RoleAnalyst}) {
		t.Errorf("routes %v: want POST /api/v1/ips/analyse for analysts", s.Routes())
	}
	c, err := NewClient(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	var seen []int
	res, err := c.AnalyseIPs(ctx, AnalyseRequest{Tag: "case-7", Status: []string{"blocked"}, Within: "104.248.0.0/16", Since: "7d",
		Progress: func(done, total int) { seen = append(seen, done, total) }})
	if err != nil || res.Counts.Malicious != 2 || res.SkippedRanges != 1 || len(res.Flagged) != 1 || res.Flagged[0].Risk != 91 {
		t.Errorf("AnalyseIPs = %+v, %v; want the fake's result", res, err)
	}
	if want := []int{0, 3000, 1000, 3000, 2000, 3000, 3000, 3000}; !slices.Equal(seen, want) {
		t.Errorf("progress %v, want %v", seen, want)
	}
	if g := fake.got; g.Tag != "case-7" || !slices.Equal(g.Status, []string{"blocked"}) || g.Within != "104.248.0.0/16" || g.Since != "7d" {
		t.Errorf("the server got %+v", g)
	}
	// Without a progress callback the client still streams (a long run
	// outlasts the client's timeout) and reports nothing.
	if res, err := c.AnalyseIPs(ctx, AnalyseRequest{IPs: []string{"104.248.73.19"}}); err != nil || res.Analysed != 3000 {
		t.Errorf("AnalyseIPs without progress = %+v, %v", res, err)
	}
	if _, err := c.AnalyseIPs(ctx, AnalyseRequest{}); !errors.Is(err, ErrBadRequest) {
		t.Errorf("AnalyseIPs() = %v, want a bad request", err)
	}
	if _, err := c.AnalyseIPs(ctx, AnalyseRequest{Tag: "broken"}); err == nil || strings.Contains(err.Error(), "fire") {
		t.Errorf("AnalyseIPs(broken) = %v, want an internal error that hides its text", err)
	}

	for _, tc := range []struct {
		name, query, body string
		status            int
		ct                string
		lines             []string
	}{
		{"plain", "", `{"ips":["104.248.73.19"]}`, http.StatusOK, "application/json", []string{`{"since":`}},
		{"plain refused", "", `{}`, http.StatusBadRequest, "application/json", []string{`{"error":{"code":"bad_request"`}},
		{"unknown field", "?stream=true", `{"ips":["104.248.73.19"],"bogus":1}`, http.StatusBadRequest, "application/json", []string{`{"error":{"code":"bad_request"`}},
		{"streamed", "?stream=true", `{"ips":["104.248.73.19"]}`, http.StatusOK, "application/x-ndjson",
			[]string{`{"progress":{"done":0,"total":3000}}`, `{"progress":{"done":1000,`, `{"progress":{"done":2000,`, `{"progress":{"done":3000,`, `{"result":{`}},
		{"streamed refused", "?stream=true", `{}`, http.StatusOK, "application/x-ndjson", []string{`{"error":{"code":"bad_request"`}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			resp, err := http.Post(srv.URL+"/api/v1/ips/analyse"+tc.query, "application/json", strings.NewReader(tc.body))
			if err != nil {
				t.Fatal(err)
			}
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			lines := strings.Split(strings.TrimSpace(string(b)), "\n")
			ok := resp.StatusCode == tc.status && resp.Header.Get("Content-Type") == tc.ct && len(lines) == len(tc.lines)
			for i := 0; ok && i < len(lines); i++ {
				ok = strings.HasPrefix(lines[i], tc.lines[i])
			}
			if !ok {
				t.Errorf("POST /api/v1/ips/analyse%s %s = %d %s %q, want %d %s %q", tc.query, tc.body, resp.StatusCode, resp.Header.Get("Content-Type"), lines, tc.status, tc.ct, tc.lines)
			}
		})
	}
}
