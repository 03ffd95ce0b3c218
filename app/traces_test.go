package app_test

import (
	"context"
	"errors"
	"net/http"
	"testing"
	"time"

	"go.opentelemetry.io/collector/pdata/ptrace"
	"go.opentelemetry.io/collector/pdata/ptrace/ptraceotlp"

	"github.com/tracehound/tracehound/api"
	"github.com/tracehound/tracehound/store"
)

// sendTree posts one trace: a server span with a database child that has
// its own child, and a cache span whose parent never arrived.
func sendTree(t *testing.T, s *server, start time.Time) (traceID string) {
	t.Helper()
	td := ptrace.NewTraces()
	rs := td.ResourceSpans().AppendEmpty()
	rs.Resource().Attributes().PutStr("service.name", "shop-api")
	ss := rs.ScopeSpans().AppendEmpty()
	tid := [16]byte{0xab, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15}
	add := func(id, parent byte, name string, kind ptrace.SpanKind, off, dur time.Duration) ptrace.Span {
		sp := ss.Spans().AppendEmpty()
		sp.SetTraceID(tid)
		sp.SetSpanID([8]byte{0, 0, 0, 0, 0, 0, 0, id})
		if parent != 0 {
			sp.SetParentSpanID([8]byte{0, 0, 0, 0, 0, 0, 0, parent})
		}
		sp.SetName(name)
		sp.SetKind(kind)
		sp.SetStartTimestamp(pcommonTime(start.Add(off)))
		sp.SetEndTimestamp(pcommonTime(start.Add(off + dur)))
		return sp
	}
	root := add(1, 0, "GET /orders/{id}", ptrace.SpanKindServer, 0, 40*time.Millisecond)
	a := root.Attributes()
	a.PutStr("http.request.method", "GET")
	a.PutStr("url.path", "/api/orders/42")
	a.PutStr("http.route", "/orders/{id}")
	a.PutInt("http.response.status_code", 200)
	a.PutStr("client.address", "198.51.100.9")
	db := add(2, 1, "SELECT orders", ptrace.SpanKindClient, 5*time.Millisecond, 20*time.Millisecond)
	db.Attributes().PutStr("db.system", "postgresql")
	add(3, 2, "pool.acquire", ptrace.SpanKindInternal, 6*time.Millisecond, time.Millisecond)
	cache := add(4, 9, "GET cache", ptrace.SpanKindClient, 30*time.Millisecond, 2*time.Millisecond)
	cache.Status().SetCode(ptrace.StatusCodeError)
	body, err := ptraceotlp.NewExportRequestFromTraces(td).MarshalProto()
	if err != nil {
		t.Fatal(err)
	}
	if resp, msg := post(t, "http://"+s.OTLPHTTPAddr()+"/v1/traces", "application/x-protobuf", "", body); resp.StatusCode != http.StatusOK {
		t.Fatalf("export: %s %s", resp.Status, msg)
	}
	return "ab0102030405060708090a0b0c0d0e0f"
}

func TestTraceTree(t *testing.T) {
	s := start(t, testConfig(t, t.TempDir()))
	start := time.Now().Add(-time.Minute).Truncate(time.Millisecond)
	id := sendTree(t, s, start)
	c := s.client(t)
	for name, b := range map[string]api.TraceBackend{"local": s.App, "http": c} {
		res, err := b.Trace(context.Background(), id)
		if err != nil {
			t.Fatalf("%s: Trace: %v", name, err)
		}
		if len(res.Spans) != 4 || res.Errors != 1 || res.DurationNS != int64(40*time.Millisecond) {
			t.Fatalf("%s: %d spans, %d errors, duration %d; want 4, 1, 40ms", name, len(res.Spans), res.Errors, res.DurationNS)
		}
		want := []struct {
			name   string
			depth  int
			offset time.Duration
			orphan bool
		}{{"GET /orders/{id}", 0, 0, false}, {"SELECT orders", 1, 5 * time.Millisecond, false}, {"pool.acquire", 2, 6 * time.Millisecond, false}, {"GET cache", 0, 30 * time.Millisecond, true}}
		for i, w := range want {
			g := res.Spans[i]
			if g.Name != w.name || g.Depth != w.depth || g.OffsetNS != int64(w.offset) || g.Orphan != w.orphan {
				t.Errorf("%s: span %d = %s depth %d offset %v orphan %v; want %s depth %d offset %v orphan %v",
					name, i, g.Name, g.Depth, time.Duration(g.OffsetNS), g.Orphan, w.name, w.depth, w.offset, w.orphan)
			}
		}
		if res.Spans[0].PeerIP != "198.51.100.9" || res.Spans[1].Attributes["db.system"] != "postgresql" {
			t.Errorf("%s: root peer_ip %q, db attributes %v", name, res.Spans[0].PeerIP, res.Spans[1].Attributes)
		}
	}
	if _, err := s.App.Trace(context.Background(), "ffffffffffffffffffffffffffffffff"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("unknown trace: err = %v, want ErrNotFound", err)
	}
	if _, err := c.Trace(context.Background(), "nope"); err == nil {
		t.Error("malformed trace id: no error")
	}
}

func TestFindTraces(t *testing.T) {
	s := start(t, testConfig(t, t.TempDir()))
	sendShop(t, s, []shopRequest{
		{ago: time.Minute, method: "GET", path: "/api/orders/1", route: "/orders/{order_id}", status: 200, ip: "203.0.113.7", key: "k1"},
		{ago: 2 * time.Minute, method: "GET", path: "/api/admin/dump", status: 200, ip: "203.0.113.8", key: "k2"},
		{ago: 3 * time.Minute, method: "GET", path: "/api/admin/users", status: 403, ip: "198.51.100.1", key: "k2"},
		{ago: 4 * time.Minute, method: "POST", path: "/api/orders", status: 500, ip: "2001:db8::1"},
		{ago: 48 * time.Hour, method: "GET", path: "/api/admin/dump", status: 200, ip: "203.0.113.7", key: "k1"},
	})
	c := s.client(t)
	tests := []struct {
		q    api.TraceQuery
		want []string // paths, newest first
	}{
		{api.TraceQuery{}, []string{"/api/orders/1", "/api/admin/dump", "/api/admin/users", "/api/orders"}},
		{api.TraceQuery{Window: 72 * time.Hour, IP: "203.0.113.7"}, []string{"/api/orders/1", "/api/admin/dump"}},
		{api.TraceQuery{IP: "203.0.113.0/24"}, []string{"/api/orders/1", "/api/admin/dump"}},
		{api.TraceQuery{Endpoint: "/admin/*"}, []string{"/api/admin/dump", "/api/admin/users"}},
		{api.TraceQuery{Endpoint: "/admin/dump"}, []string{"/api/admin/dump"}},
		{api.TraceQuery{Endpoint: "/orders/{order_id}"}, []string{"/api/orders/1"}},
		{api.TraceQuery{Status: "4xx"}, []string{"/api/admin/users"}},
		{api.TraceQuery{Status: "error"}, []string{"/api/orders"}},
		{api.TraceQuery{APIKey: "k2", Status: "200"}, []string{"/api/admin/dump"}},
		{api.TraceQuery{Limit: 2}, []string{"/api/orders/1", "/api/admin/dump"}},
	}
	for _, tt := range tests {
		for name, b := range map[string]api.TraceBackend{"local": s.App, "http": c} {
			res, err := b.FindTraces(context.Background(), tt.q)
			if err != nil {
				t.Fatalf("%s %+v: %v", name, tt.q, err)
			}
			var got []string
			for _, tr := range res.Traces {
				got = append(got, tr.Target)
			}
			if !equal(got, tt.want) {
				t.Errorf("%s %+v: got %v, want %v", name, tt.q, got, tt.want)
			}
			if tt.q.Limit == 2 && !res.Truncated {
				t.Errorf("%s: limit 2 of 4: Truncated not set", name)
			}
		}
	}
	for _, bad := range []api.TraceQuery{{IP: "not-an-ip"}, {Status: "7xx"}, {Status: "abc"}} {
		if _, err := c.FindTraces(context.Background(), bad); err == nil {
			t.Errorf("%+v: no error", bad)
		}
	}
}

func equal(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}
