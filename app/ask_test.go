package app_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/tracehound/tracehound/api"
	"github.com/tracehound/tracehound/app"
	"github.com/tracehound/tracehound/forensics"
)

// askShop is the traffic of the ask tests: an admin export enumerated by
// two clients (one of them also sent a malformed id, and one request is
// older than the questions' 7 days), and ordinary order reads.
var askShop = []shopRequest{
	{ago: 3 * 24 * time.Hour, method: "GET", path: "/api/admin/export", query: "collection_id=abc", status: 400, ip: "203.0.113.9", key: "key_a"},
	{ago: 50 * time.Hour, method: "GET", path: "/api/admin/export", query: "collection_id=1&page=1", status: 200, ip: "203.0.113.9", key: "key_a"},
	{ago: 49 * time.Hour, method: "GET", path: "/api/admin/export", query: "collection_id=2&page=1", status: 200, ip: "203.0.113.9", key: "key_a"},
	{ago: 26 * time.Hour, method: "GET", path: "/api/admin/export", query: "collection_id=3&page=1", status: 200, ip: "203.0.113.9", key: "key_a"},
	{ago: 25 * time.Hour, method: "GET", path: "/api/admin/export", query: "collection_id=4&page=1", status: 200, ip: "203.0.113.9", key: "key_a"},
	{ago: 3 * time.Hour, method: "GET", path: "/api/admin/export", query: "collection_id=5&page=1", status: 200, ip: "203.0.113.9", key: "key_a"},
	{ago: 2 * time.Hour, method: "GET", path: "/api/admin/export", query: "collection_id=6&page=1", status: 200, ip: "203.0.113.9", key: "key_a"},
	{ago: 50 * time.Minute, method: "GET", path: "/api/admin/export", query: "collection_id=3&page=2", status: 200, ip: "203.0.113.10", key: "key_a"},
	{ago: 40 * time.Minute, method: "GET", path: "/api/admin/export", query: "collection_id=7&page=1", status: 200, ip: "203.0.113.10", key: "key_a"},
	{ago: 10 * 24 * time.Hour, method: "GET", path: "/api/admin/export", query: "collection_id=9&page=1", status: 200, ip: "198.51.100.1", key: "key_b"},
	{ago: 30 * time.Minute, method: "GET", path: "/api/orders/101", route: "/api/orders/{order_id}", status: 200, ip: "198.51.100.1", key: "key_b"},
	{ago: 20 * time.Minute, method: "GET", path: "/api/orders/102", route: "/api/orders/{order_id}", status: 404, ip: "198.51.100.1", key: "key_b"},
}

// TestAsk asks the reference questions through the App and the HTTP API
// and checks each answer against SQL written by hand, and against what
// the fixture holds.
func TestAsk(t *testing.T) {
	s := start(t, testConfig(t, t.TempDir()))
	ctx := context.Background()
	sendShop(t, s, askShop)
	if _, err := s.TakeSnapshot(ctx, 0); err != nil {
		t.Fatalf("TakeSnapshot = %v", err)
	}
	const export = "span_kind = 'Server' AND http_path = '/api/admin/export' AND timestamp >= now() - INTERVAL 7 DAY"
	wantTargets := rowStrings(t, s.App, "SELECT http_target FROM traces WHERE "+export+" ORDER BY timestamp DESC")
	wantDays := rowStrings(t, s.App, "SELECT toStartOfDay(timestamp) AS day, count() AS requests FROM traces WHERE "+export+" GROUP BY day ORDER BY day")
	wantDistinct := rowStrings(t, s.App, "SELECT uniqExact(extractURLParameter(http_target, 'collection_id')) FROM traces WHERE "+export+
		" AND status_code BETWEEN 200 AND 299 AND extractURLParameter(http_target, 'collection_id') != ''")
	// The fixture: 9 requests in the window, 7 collections served.
	if len(wantTargets) != 9 || !slices.Equal(wantDistinct, []string{"7"}) {
		t.Fatalf("fixture: %d requests and %v collections in 7 days, want 9 and 7", len(wantTargets), wantDistinct)
	}

	backends := []struct {
		name string
		b    api.AskBackend
	}{{"local", s.App}, {"http", s.client(t)}}
	for _, be := range backends {
		t.Run(be.name, func(t *testing.T) {
			list, err := be.b.Ask(ctx, api.AskRequest{Question: "Show all requests to /admin/export in the last 7 days"})
			if err != nil {
				t.Fatalf("Ask(list) = %v", err)
			}
			if got := cells(t, &list.QueryResult, "http_target"); !slices.Equal(got, wantTargets) {
				t.Errorf("Ask(list) http_target = %v, want %v", got, wantTargets)
			}
			if len(list.Types) != len(list.Columns) || list.Truncated || list.SQLOnly {
				t.Errorf("Ask(list) types %v for columns %v, truncated %v, sql_only %v", list.Types, list.Columns, list.Truncated, list.SQLOnly)
			}
			if !strings.Contains(list.Interpretation, "/api/admin/export") || !slices.Equal(list.Args, []any{"/api/admin/export"}) {
				t.Errorf("Ask(list) interpretation %q, args %v; want the endpoint resolved to /api/admin/export", list.Interpretation, list.Args)
			}
			if strings.Contains(list.SQL, "now()") {
				t.Errorf("Ask(list) SQL still says now(): %s", list.SQL)
			}
			if list.Timeline == nil || list.Timeline.Bucket != "day" {
				t.Fatalf("Ask(list) timeline = %+v, want per day", list.Timeline)
			}
			if got := rowsOf(list.Timeline.Rows); !slices.Equal(got, wantDays) {
				t.Errorf("Ask(list) timeline = %v, want %v", got, wantDays)
			}

			count, err := be.b.Ask(ctx, api.AskRequest{Question: "Count unique collection IDs accessed via /admin/export in the last 7 days"})
			if err != nil {
				t.Fatalf("Ask(count distinct) = %v", err)
			}
			if got := rowsOf(count.Rows); !slices.Equal(got, wantDistinct) {
				t.Errorf("Ask(count distinct) rows = %v, want %v", got, wantDistinct)
			}
			if len(count.Notes) == 0 || count.Timeline == nil {
				t.Errorf("Ask(count distinct) notes %v, timeline %v; want the 2xx note and a timeline", count.Notes, count.Timeline)
			}

			top, err := be.b.Ask(ctx, api.AskRequest{Question: "top 10 IPs by requests to /admin/export in the last 7 days"})
			if err != nil {
				t.Fatalf("Ask(top) = %v", err)
			}
			if got, want := rowsOf(top.Rows), []string{"203.0.113.9 7", "203.0.113.10 2"}; !slices.Equal(got, want) {
				t.Errorf("Ask(top) rows = %v, want %v", got, want)
			}

			prep, err := be.b.Ask(ctx, api.AskRequest{Question: "Count unique collection IDs accessed via /admin/export in the last 7 days", SQLOnly: true})
			if err != nil {
				t.Fatalf("Ask(sql only) = %v", err)
			}
			if !prep.SQLOnly || len(prep.Rows) != 0 || prep.Timeline == nil || len(prep.Timeline.Rows) != 0 || !strings.Contains(prep.SQL, "uniqExact") {
				t.Errorf("Ask(sql only) = %+v, want the SQL and no rows", prep)
			}

			ex, err := be.b.AskExamples(ctx)
			if err != nil || !slices.Equal(ex.Examples, forensics.Examples) {
				t.Errorf("AskExamples = %v, %v; want forensics.Examples", ex, err)
			}
		})
	}
}

// TestAskRule drafts a rule from a question and runs its SQL: over the
// last two hours, only the client above the threshold is an instance.
func TestAskRule(t *testing.T) {
	s := start(t, testConfig(t, t.TempDir()))
	ctx := context.Background()
	sendShop(t, s, askShop)
	for _, be := range []struct {
		name string
		b    api.AskBackend
	}{{"local", s.App}, {"http", s.client(t)}} {
		res, err := be.b.AskRule(ctx, api.AskRuleQuery{Question: "Show all requests to /admin/export in the last 7 days", Window: 4 * time.Hour, Threshold: 1})
		if err != nil {
			t.Fatalf("%s: AskRule = %v", be.name, err)
		}
		r := res.Rule
		if r.Interval.String() != "5m" || res.Window.String() != "4h" || res.Threshold != 1 || !slices.Equal(r.GroupBy, []string{"ip"}) ||
			r.Severity == "" || !strings.HasPrefix(r.Name, "forensics-") || !strings.Contains(r.SQL, "HAVING value > 1") {
			t.Errorf("%s: AskRule = %+v", be.name, res)
		}
		// The draft comes as a rule body with its backtest: over the week
		// both export callers fire (one of them several times), the orders
		// reader never.
		if res.Backtest == nil {
			t.Fatalf("%s: no backtest (%s)\n%s", be.name, res.BacktestError, res.Body)
		}
		var fired []string
		for _, f := range res.Backtest.Firings {
			if !slices.Contains(fired, f.Labels["ip"]) {
				fired = append(fired, f.Labels["ip"])
			}
		}
		if want := []string{"203.0.113.10", "203.0.113.9"}; !slices.Equal(sorted(fired), want) {
			t.Errorf("%s: backtest fired for %v, want %v\n%s", be.name, fired, want, res.Body)
		}
		if !strings.HasPrefix(res.RuleID, "ask_") || !strings.Contains(res.Body, "id: "+res.RuleID) {
			t.Errorf("%s: rule id %q, body:\n%s", be.name, res.RuleID, res.Body)
		}
		out, err := s.SQL(ctx, r.SQL)
		if err != nil {
			t.Fatalf("%s: run the drafted rule: %v\n%s", be.name, err, r.SQL)
		}
		// In the last 4 hours 203.0.113.9 made 2 export requests and
		// 203.0.113.10 made 2; 198.51.100.1 read orders only.
		if got, want := rowsOf(out.Rows), []string{"203.0.113.10 2 2", "203.0.113.9 2 2"}; !slices.Equal(sorted(got), want) {
			t.Errorf("%s: drafted rule rows = %v, want %v", be.name, got, want)
		}
	}
}

// TestAskCatalogFollowsSnapshots checks where names resolve from: the
// inventory while no snapshot is stored, then the latest snapshot, kept
// until a newer one exists, with what earlier snapshots saw folded in.
func TestAskCatalogFollowsSnapshots(t *testing.T) {
	s := start(t, testConfig(t, t.TempDir()))
	ctx := context.Background()
	c := s.client(t)
	ask := func(q string) error {
		t.Helper()
		_, err := s.Ask(ctx, api.AskRequest{Question: q})
		_, herr := c.Ask(ctx, api.AskRequest{Question: q})
		if (err == nil) != (herr == nil) {
			t.Fatalf("Ask(%q): local %v, http %v", q, err, herr)
		}
		return err
	}
	const (
		customers   = "count unique customer IDs on /api/search in the last day"
		collections = "count unique collection IDs on /api/admin/export in the last day"
		reports     = "count unique report IDs on /api/reports in the last day"
	)
	sendShop(t, s, []shopRequest{{ago: 3 * time.Hour, method: "GET", path: "/api/search", query: "customer_id=7", status: 200, ip: "198.51.100.1"}})
	if err := ask(customers); err != nil {
		t.Fatalf("without a snapshot, Ask(%q) = %v; want the inventory to resolve it", customers, err)
	}
	if _, err := s.TakeSnapshot(ctx, 0); err != nil {
		t.Fatal(err)
	}

	// The second snapshot covers the last hour only: it sees the export
	// but not the search, which still resolves from the first.
	sendShop(t, s, []shopRequest{{ago: 10 * time.Minute, method: "GET", path: "/api/admin/export", query: "collection_id=3", status: 200, ip: "203.0.113.9"}})
	if _, err := s.TakeSnapshot(ctx, time.Hour); err != nil {
		t.Fatal(err)
	}
	for _, q := range []string{customers, collections} {
		if err := ask(q); err != nil {
			t.Errorf("after two snapshots, Ask(%q) = %v", q, err)
		}
	}

	// New traffic resolves only once a snapshot has seen it.
	sendShop(t, s, []shopRequest{{ago: 5 * time.Minute, method: "GET", path: "/api/reports", query: "report_id=12", status: 200, ip: "203.0.113.9"}})
	err := ask(reports)
	var pe *forensics.ParseError
	if !errors.As(err, &pe) || pe.Word != "report IDs" {
		t.Fatalf("before a snapshot saw it, Ask(%q) = %v; want a parse error on %q", reports, err, "report IDs")
	}
	if _, err := s.TakeSnapshot(ctx, time.Hour); err != nil {
		t.Fatal(err)
	}
	for _, q := range []string{reports, customers, collections} {
		if err := ask(q); err != nil {
			t.Errorf("after the third snapshot, Ask(%q) = %v", q, err)
		}
	}
}

// TestAskErrors checks that unreadable questions are 400s that carry what
// a UI needs for "did you mean", and come back from the client as the
// same kinds of error as from the App.
func TestAskErrors(t *testing.T) {
	s := start(t, testConfig(t, t.TempDir()))
	ctx := context.Background()
	c := s.client(t)

	for name, b := range map[string]api.AskBackend{"local": s.App, "http": c} {
		_, err := b.Ask(ctx, api.AskRequest{Question: "show reqests to /admin/export"})
		var pe *forensics.ParseError
		if !errors.As(err, &pe) || pe.Word != "reqests" || !slices.Contains(pe.Suggestions, "requests") || len(pe.Examples) == 0 {
			t.Errorf("%s: Ask(typo) = %#v, want a parse error suggesting \"requests\" with examples", name, err)
		}
		if _, err := b.Ask(ctx, api.AskRequest{Question: "top 10 IPs by country in the last day"}); !errors.Is(err, forensics.ErrNeedsEnrichment) && !errors.Is(err, api.ErrBadRequest) {
			t.Errorf("%s: Ask(country) = %v, want a bad request (needs IP enrichment)", name, err)
		}
		if _, err := b.AskRule(ctx, api.AskRuleQuery{Question: "requests to /admin/export", Window: 90 * time.Second}); !errors.Is(err, forensics.ErrUnsupported) && !errors.Is(err, api.ErrBadRequest) {
			t.Errorf("%s: AskRule(90s window) = %v, want a bad request", name, err)
		}
	}

	tests := []struct {
		path, body string
		want       int
		check      func(e map[string]any) error
	}{
		{"/api/v1/ask", `{"question": "show reqests to /admin/export"}`, http.StatusBadRequest, func(e map[string]any) error {
			if e["code"] != api.CodeBadRequest || e["word"] != "reqests" || e["parse"] != true ||
				!slices.Contains(anyStrings(e["suggestions"]), "requests") || len(anyStrings(e["examples"])) == 0 ||
				!strings.Contains(fmt.Sprint(e["message"]), "did you mean") {
				return fmt.Errorf("parse error body %v", e)
			}
			return nil
		}},
		{"/api/v1/ask", `{"question": ""}`, http.StatusBadRequest, nil},
		{"/api/v1/ask", `{"question": "top 10 IPs by country in the last day"}`, http.StatusBadRequest, func(e map[string]any) error {
			if e["code"] != api.CodeBadRequest || !strings.Contains(fmt.Sprint(e["message"]), "IP lookup") || e["suggestions"] != nil {
				return fmt.Errorf("enrichment error body %v", e)
			}
			return nil
		}},
		{"/api/v1/ask", `{"question": "requests", "sql": "DROP TABLE traces"}`, http.StatusBadRequest, nil},
		{"/api/v1/ask/rule", `{"question": "requests to /admin/export", "window": "soon"}`, http.StatusBadRequest, nil},
		{"/api/v1/ask/rule", `{"question": "requests to /admin/export", "interval": "-5m"}`, http.StatusBadRequest, nil},
		{"/api/v1/ask/rule", `{"question": "requests to /admin/export", "window": "30m", "threshold": 100}`, http.StatusOK, nil},
	}
	for _, tc := range tests {
		status, body := postAPI(t, s, tc.path, tc.body)
		if status != tc.want {
			t.Errorf("POST %s %s = %d %s, want %d", tc.path, tc.body, status, body, tc.want)
			continue
		}
		if tc.check == nil {
			continue
		}
		var eb struct {
			Error map[string]any `json:"error"`
		}
		if err := json.Unmarshal(body, &eb); err != nil {
			t.Fatalf("POST %s: %v", tc.path, err)
		}
		if err := tc.check(eb.Error); err != nil {
			t.Errorf("POST %s %s: %v", tc.path, tc.body, err)
		}
	}
}

// postAPI posts a JSON body to the API as the local CLI would.
func postAPI(t *testing.T, s *server, path, body string) (int, []byte) {
	t.Helper()
	tok, err := os.ReadFile(filepath.Join(s.Config().Data, app.CLITokenFile))
	if err != nil {
		t.Fatal(err)
	}
	req, err := http.NewRequest(http.MethodPost, "http://"+s.Addr()+path, bytes.NewReader([]byte(body)))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+strings.TrimSpace(string(tok)))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, b
}

func anyStrings(v any) []string {
	var out []string
	for _, x := range v.([]any) {
		out = append(out, fmt.Sprint(x))
	}
	return out
}

// rowsOf writes each row as its values separated by spaces, times in
// RFC 3339 (the local App returns times, the API text).
func rowsOf(rows [][]any) []string {
	out := make([]string, len(rows))
	for i, row := range rows {
		vals := make([]string, len(row))
		for j, v := range row {
			if tm, ok := v.(time.Time); ok {
				v = tm.UTC().Format(time.RFC3339Nano)
			}
			vals[j] = fmt.Sprint(v)
		}
		out[i] = strings.Join(vals, " ")
	}
	return out
}

// rowStrings runs q through the guarded SQL console and returns rowsOf.
func rowStrings(t *testing.T, a *app.App, q string) []string {
	t.Helper()
	res, err := a.SQL(context.Background(), q)
	if err != nil {
		t.Fatalf("SQL(%q) = %v", q, err)
	}
	return rowsOf(res.Rows)
}

// cells returns one column of a result by name.
func cells(t *testing.T, r *api.QueryResult, name string) []string {
	t.Helper()
	i := slices.Index(r.Columns, name)
	if i < 0 {
		t.Fatalf("no column %q in %v", name, r.Columns)
	}
	out := make([]string, len(r.Rows))
	for j, row := range r.Rows {
		out[j] = fmt.Sprint(row[i])
	}
	return out
}

func sorted(s []string) []string {
	s = slices.Clone(s)
	slices.Sort(s)
	return s
}
