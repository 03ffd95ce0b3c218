package exclude

import (
	"context"
	"fmt"
	"path/filepath"
	"sort"
	"testing"
	"time"

	"github.com/tracehound/tracehound/span"
	"github.com/tracehound/tracehound/store"
	"github.com/tracehound/tracehound/store/duckdb"
)

// openStore opens a DuckDB store in a temporary directory holding spans.
func openStore(t testing.TB, spans []span.Span) *duckdb.Store {
	t.Helper()
	s, err := duckdb.Open(context.Background(), filepath.Join(t.TempDir(), "traces.duckdb"), duckdb.Options{})
	if err != nil {
		t.Fatalf("duckdb.Open: %v", err)
	}
	t.Cleanup(func() { s.Close() })
	for len(spans) > 0 {
		n := min(len(spans), 50_000)
		if err := s.Write(context.Background(), spans[:n]); err != nil {
			t.Fatalf("Write: %v", err)
		}
		spans = spans[n:]
	}
	return s
}

// testT0 is the start of the generated traffic.
var testT0 = time.Date(2026, 3, 2, 10, 0, 0, 0, time.UTC)

// mixedSpans is two hours of varied traffic: paths, IPv4 and IPv6
// addresses in many spellings (and a few that are not addresses), keys,
// user agents, statuses, and some client spans.
func mixedSpans(n int) []span.Span {
	paths := []string{"/health", "/healthz", "/health/live", "/api/v1/status", "/api/v1/v2/status", "/admin/users", "/admin/users/5",
		"/admin/export", "/v1/users/42", "/v1/users/42/keys", "/v1/documents/7", "/files/report.csv", "/a+b/(c)", "/"}
	ips := []string{"198.51.100.7", "198.51.100.200", "198.51.101.1", "203.0.113.7", "203.0.113.8", "10.0.0.5",
		"2001:db8::1", "2001:DB8:0:0:0:0:0:2", "2001:0db8:0000:0000:0000:0000:0000:0003", "2001:db8:ffff:ffff:ffff:ffff:ffff:ffff",
		"2001:db9::1", "::1", "::", "fe80::1", "2001:db8::", "::ffff:198.51.100.7", "2001:db8:1::1:12345", "not-an-ip", "",
		"2001:db8::1::2", "2001:db8:0:0:0:0:0:0:1", ":2001:db8::1", "2001:db8::1:"}
	keys := []string{"", "key_partner", "key_9f", "key_trial"}
	uas := []string{"kube-probe/1.29", "kube-probe/1.30", "Mozilla/5.0 (compatible; Pingdom.com_bot_version_1.4)", "python-requests/2.31.0"}
	statuses := []uint16{200, 200, 200, 201, 301, 401, 403, 404, 500, 503}
	out := make([]span.Span, 0, n)
	for i := range n {
		id := fmt.Sprintf("%032x", i+1)
		kind := span.KindServer
		if i%17 == 0 {
			kind = "Client"
		}
		p := paths[(i*3)%len(paths)]
		out = append(out, span.Span{
			Timestamp: testT0.Add(time.Duration(i) * 2 * time.Hour / time.Duration(n)), TraceID: id, SpanID: id[16:],
			ServiceName: "vault", SpanName: "GET " + p, SpanKind: kind, HTTPMethod: "GET", HTTPTarget: p, HTTPPath: p,
			StatusCode: statuses[(i*3)%len(statuses)], PeerIP: ips[(i*5)%len(ips)], APIKeyID: keys[(i*11)%len(keys)],
			UserAgent: uas[(i*13)%len(uas)], ResponseBytes: int64(100 + i%5000),
		})
	}
	return out
}

func fieldsOf(s span.Span) Fields {
	return Fields{Path: s.HTTPPath, IP: s.PeerIP, APIKey: s.APIKeyID, UserAgent: s.UserAgent, Status: int(s.StatusCode)}
}

// rowsText renders a result as sorted lines, for comparison.
func rowsText(res *store.Result) []string {
	out := make([]string, 0, len(res.Rows))
	for _, r := range res.Rows {
		out = append(out, fmt.Sprint(r...))
	}
	sort.Strings(out)
	return out
}
