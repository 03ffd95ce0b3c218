package span

import (
	"reflect"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/ptrace"
	"go.opentelemetry.io/collector/pdata/ptrace/ptraceotlp"
)

// traces builds a one-span trace with the given kind and attributes.
func traces(kind ptrace.SpanKind, attrs map[string]any) ptrace.Traces {
	td := ptrace.NewTraces()
	rs := td.ResourceSpans().AppendEmpty()
	rs.Resource().Attributes().PutStr("service.name", "svc")
	sp := rs.ScopeSpans().AppendEmpty().Spans().AppendEmpty()
	sp.SetTraceID([16]byte{0xab, 1})
	sp.SetSpanID([8]byte{0xcd, 2})
	sp.SetKind(kind)
	sp.SetName("op")
	start := time.Date(2026, 3, 2, 2, 17, 0, 0, time.UTC)
	sp.SetStartTimestamp(pcommon.NewTimestampFromTime(start))
	sp.SetEndTimestamp(pcommon.NewTimestampFromTime(start.Add(1500 * time.Microsecond)))
	for k, v := range attrs {
		switch x := v.(type) {
		case string:
			sp.Attributes().PutStr(k, x)
		case int:
			sp.Attributes().PutInt(k, int64(x))
		case []string:
			s := sp.Attributes().PutEmptySlice(k)
			for _, e := range x {
				s.AppendEmpty().SetStr(e)
			}
		}
	}
	return td
}

func TestNormaliseSemanticConventions(t *testing.T) {
	n := NewNormaliser(Options{HashKey: []byte("k")})
	tests := []struct {
		name  string
		attrs map[string]any
		want  Span
	}{
		{
			name: "stable conventions",
			attrs: map[string]any{
				"http.request.method": "GET", "url.path": "/v1/items/7", "url.query": "page=2",
				"http.route": "/v1/items/{id}", "http.response.status_code": 200,
				"client.address": "203.0.113.9", "network.peer.address": "10.0.0.2",
				"server.address": "api.example.test", "user_agent.original": "curl/8",
				"http.response.body.size": 1234, "http.request.body.size": 12, "enduser.id": "u1",
			},
			want: Span{HTTPMethod: "GET", HTTPPath: "/v1/items/7", HTTPQuery: "page=2", HTTPTarget: "/v1/items/7?page=2",
				HTTPRoute: "/v1/items/{id}", StatusCode: 200, PeerIP: "203.0.113.9", NetPeerIP: "10.0.0.2",
				ServerAddress: "api.example.test", UserAgent: "curl/8", ResponseBytes: 1234, RequestBytes: 12, UserID: "u1", APIKeyID: "u1"},
		},
		{
			name: "legacy conventions",
			attrs: map[string]any{
				"http.method": "POST", "http.target": "/login?next=/home", "http.status_code": "401",
				"net.sock.peer.addr": "198.51.100.4", "http.user_agent": "python-requests/2.31",
				"http.response_content_length": 77, "net.host.name": "legacy.example.test",
			},
			want: Span{HTTPMethod: "POST", HTTPPath: "/login", HTTPQuery: "next=/home", HTTPTarget: "/login?next=/home",
				StatusCode: 401, PeerIP: "198.51.100.4", NetPeerIP: "198.51.100.4", ServerAddress: "legacy.example.test",
				UserAgent: "python-requests/2.31", ResponseBytes: 77},
		},
		{
			name:  "stable wins over legacy; full URL when no path",
			attrs: map[string]any{"http.method": "PUT", "http.request.method": "PATCH", "http.url": "https://h.test:8443/a/b?c=d#frag", "http.client_ip": "192.0.2.1", "net.peer.ip": "192.0.2.99"},
			want:  Span{HTTPMethod: "PATCH", HTTPPath: "/a/b", HTTPQuery: "c=d", HTTPTarget: "/a/b?c=d", PeerIP: "192.0.2.1", NetPeerIP: "192.0.2.99"},
		},
		{
			name:  "client address with port, IPv6 with brackets",
			attrs: map[string]any{"client.address": "[2001:db8::1]:5555", "network.peer.address": "192.0.2.5:443", "server.address": "api.test:8080"},
			want:  Span{PeerIP: "2001:db8::1", NetPeerIP: "192.0.2.5", ServerAddress: "api.test"},
		},
		{
			name:  "app key id preferred to the hashed header",
			attrs: map[string]any{"app.api_key_id": "dvk_123", "http.request.header.x-api-key": []string{"secret"}},
			want:  Span{APIKeyID: "dvk_123"},
		},
		{
			name:  "bearer token hashed without its scheme",
			attrs: map[string]any{"http.request.header.authorization": []string{"Bearer tok-1"}},
			want:  Span{APIKeyID: n.HashSecret("tok-1")},
		},
		{
			name:  "garbage status and sizes are zero",
			attrs: map[string]any{"http.response.status_code": "abc", "http.response.body.size": "-5", "http.request.body.size": "1e9"},
			want:  Span{},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := n.Append(nil, traces(ptrace.SpanKindServer, tc.attrs))
			if len(got) != 1 {
				t.Fatalf("Append returned %d spans, want 1", len(got))
			}
			g := got[0]
			g.Timestamp, g.TraceID, g.SpanID, g.ParentSpanID, g.ServiceName, g.SpanName, g.SpanKind, g.DurationNS, g.OtelStatus = time.Time{}, "", "", "", "", "", "", 0, ""
			g.SpanAttributes, g.ResourceAttributes = nil, nil
			if !reflect.DeepEqual(g, tc.want) {
				t.Errorf("normalised\n got %+v\nwant %+v", g, tc.want)
			}
		})
	}
}

func TestNormaliseSpanBasics(t *testing.T) {
	n := NewNormaliser(Options{})
	got := n.Append(nil, traces(ptrace.SpanKindClient, map[string]any{"http.request.method": "GET", "url.full": "https://x.test/"}))[0]
	if got.TraceID != "ab010000000000000000000000000000" || got.SpanID != "cd02000000000000" {
		t.Errorf("ids = %s %s", got.TraceID, got.SpanID)
	}
	if got.SpanKind != KindClient || got.ServiceName != "svc" || got.DurationNS != 1_500_000 || got.OtelStatus != "Unset" {
		t.Errorf("span = kind %s service %s duration %d status %s", got.SpanKind, got.ServiceName, got.DurationNS, got.OtelStatus)
	}
	if got.HTTPMethod != "" || got.HTTPPath != "" {
		t.Errorf("client span got HTTP columns %q %q; they are for server spans only", got.HTTPMethod, got.HTTPPath)
	}
	if v, ok := got.Attribute("http.request.method"); !ok || v != "GET" {
		t.Errorf("attribute kept = %q, %v", v, ok)
	}
	if !got.Timestamp.Equal(time.Date(2026, 3, 2, 2, 17, 0, 0, time.UTC)) || got.Timestamp.Location() != time.UTC {
		t.Errorf("timestamp = %v", got.Timestamp)
	}
}

func TestRedaction(t *testing.T) {
	n := NewNormaliser(Options{HashKey: []byte("k")})
	got := n.Append(nil, traces(ptrace.SpanKindServer, map[string]any{
		"url.path": "/x", "url.query": "a=1&api_key=SECRET1&token=SECRET2&b=2",
		"url.full":                                "https://h/x?access_token=SECRET3",
		"http.request.header.x-api-key":           []string{"SECRET4"},
		"http.request.header.cookie":              []string{"session=SECRET5"},
		"http.request.header.authorization":       []string{"Basic SECRET6"},
		"http.request.header.proxy-authorization": "SECRET7",
	}))[0]
	all := got.HTTPTarget + got.HTTPQuery
	for _, a := range got.SpanAttributes {
		all += a.Key + "=" + a.Value + ";"
	}
	for i := 1; i <= 7; i++ {
		secret := "SECRET" + string(rune('0'+i))
		if strings.Contains(all, secret) {
			t.Errorf("%s stored in clear: %s", secret, all)
		}
	}
	if got.HTTPQuery != "a=1&api_key=[REDACTED]&token=[REDACTED]&b=2" {
		t.Errorf("HTTPQuery = %q", got.HTTPQuery)
	}
	if got.APIKeyID != n.HashSecret("SECRET4") {
		t.Errorf("APIKeyID = %q, want the hash of the x-api-key header", got.APIKeyID)
	}
	other := NewNormaliser(Options{HashKey: []byte("other")})
	if other.HashSecret("SECRET4") == n.HashSecret("SECRET4") {
		t.Error("HashSecret does not depend on the key")
	}
}

func TestInvalidUTF8IsCleaned(t *testing.T) {
	n := NewNormaliser(Options{})
	got := n.Append(nil, traces(ptrace.SpanKindServer, map[string]any{"url.path": "/a\xff\xfe", "user_agent.original": "x\xc3"}))[0]
	if !utf8.ValidString(got.HTTPPath) || !utf8.ValidString(got.UserAgent) {
		t.Errorf("invalid UTF-8 kept: %q %q", got.HTTPPath, got.UserAgent)
	}
}

func BenchmarkNormalise(b *testing.B) {
	td := ptrace.NewTraces()
	rs := td.ResourceSpans().AppendEmpty()
	rs.Resource().Attributes().PutStr("service.name", "svc")
	ss := rs.ScopeSpans().AppendEmpty()
	for i := range 512 {
		sp := ss.Spans().AppendEmpty()
		sp.SetTraceID([16]byte{1, byte(i)})
		sp.SetSpanID([8]byte{1, byte(i)})
		sp.SetKind(ptrace.SpanKindServer)
		a := sp.Attributes()
		a.PutStr("http.request.method", "GET")
		a.PutStr("url.path", "/v1/admin/export")
		a.PutStr("url.query", "collection_id=12&page=3")
		a.PutStr("url.scheme", "https")
		a.PutStr("http.route", "/v1/admin/export")
		a.PutInt("http.response.status_code", 200)
		a.PutStr("client.address", "104.248.73.19")
		a.PutStr("network.peer.address", "10.0.0.1")
		a.PutInt("network.peer.port", 51234)
		a.PutStr("server.address", "api.example.test")
		a.PutInt("server.port", 443)
		a.PutStr("user_agent.original", "python-requests/2.31.0")
		a.PutInt("http.response.body.size", 187000)
		a.PutStr("network.protocol.version", "1.1")
		a.PutStr("app.api_key_id", "dvk_0001")
		a.PutStr("enduser.id", "acct_1")
		a.PutStr("app.account.plan", "trial")
		a.PutStr("app.region", "eu")
		a.PutStr("app.tenant", "t1")
		a.PutStr("app.request_id", "r-123456")
	}
	b.ReportAllocs()
	var dst []Span
	for b.Loop() {
		dst = NewNormaliser(Options{}).Append(dst[:0], td)
	}
	b.ReportMetric(float64(b.N*512)/b.Elapsed().Seconds(), "spans/s")
}

func FuzzNormalise(f *testing.F) {
	for _, attrs := range []map[string]any{
		{"url.path": "/x", "url.query": "api_key=1"},
		{"http.target": "?only=query", "client.address": "[::1]:80"},
		{"http.url": "https://h?x=1", "http.status_code": "99999"},
		{"http.request.header.authorization": []string{"Bearer "}},
	} {
		b, _ := ptraceotlp.NewExportRequestFromTraces(traces(ptrace.SpanKindServer, attrs)).MarshalProto()
		f.Add(b)
	}
	n := NewNormaliser(Options{})
	f.Fuzz(func(t *testing.T, body []byte) {
		req := ptraceotlp.NewExportRequest()
		if err := req.UnmarshalProto(body); err != nil {
			return
		}
		for _, s := range n.Append(nil, req.Traces()) {
			for _, v := range []string{s.HTTPPath, s.HTTPTarget, s.PeerIP, s.UserAgent, s.SpanName, s.ServiceName} {
				if !utf8.ValidString(v) {
					t.Fatalf("invalid UTF-8 in %q", v)
				}
			}
			if s.HTTPQuery != "" && !strings.HasSuffix(s.HTTPTarget, s.HTTPQuery) {
				t.Fatalf("target %q does not end with query %q", s.HTTPTarget, s.HTTPQuery)
			}
			if s.StatusCode > 999 {
				t.Fatalf("status %d", s.StatusCode)
			}
		}
	})
}

func TestPromotedAttributesLeaveTheMap(t *testing.T) {
	n := NewNormaliser(Options{HashKey: []byte("k")})
	attrs := map[string]any{
		"http.request.method": "GET", "http.method": "PUT", "url.path": "/a", "url.scheme": "https",
		"http.response.status_code": "2OO", "client.address": "203.0.113.9:443",
		"http.request.header.x-api-key": []string{"s3cret"}, "app.plan": "trial",
	}
	keys := func(s Span) map[string]string {
		m := map[string]string{}
		for _, a := range s.SpanAttributes {
			m[a.Key] = a.Value
		}
		return m
	}
	server := keys(n.Append(nil, traces(ptrace.SpanKindServer, attrs))[0])
	want := map[string]string{
		"http.method":                   "PUT",             // the losing alias stays
		"url.scheme":                    "https",           // not promoted
		"http.response.status_code":     "2OO",             // the column could not hold it
		"client.address":                "203.0.113.9:443", // the column holds 203.0.113.9
		"http.request.header.x-api-key": Redacted,          // the credential's presence is kept
		"app.plan":                      "trial",
	}
	if !reflect.DeepEqual(server, want) {
		t.Errorf("server span attributes = %v, want %v", server, want)
	}
	client := keys(n.Append(nil, traces(ptrace.SpanKindClient, attrs))[0])
	if len(client) != len(attrs) {
		t.Errorf("client span kept %d attributes, want all %d", len(client), len(attrs))
	}
}

func TestHexIDs(t *testing.T) {
	tid := pcommon.TraceID{0xab, 1, 15: 0xff}
	sid, pid := pcommon.SpanID{0xcd, 2, 7: 0x10}, pcommon.SpanID{0xef, 7: 1}
	for _, c := range []struct {
		tid                 pcommon.TraceID
		sid, pid            pcommon.SpanID
		trace, span, parent string
	}{
		{tid, sid, pid, "ab0100000000000000000000000000ff", "cd02000000000010", "ef00000000000001"},
		{tid, sid, pcommon.SpanID{}, "ab0100000000000000000000000000ff", "cd02000000000010", ""},
		{pcommon.TraceID{}, sid, pid, "", "cd02000000000010", "ef00000000000001"},
		{tid, pcommon.SpanID{}, pid, "ab0100000000000000000000000000ff", "", "ef00000000000001"},
		{pcommon.TraceID{}, pcommon.SpanID{}, pcommon.SpanID{}, "", "", ""},
	} {
		ps := ptrace.NewSpan()
		ps.SetTraceID(c.tid)
		ps.SetSpanID(c.sid)
		ps.SetParentSpanID(c.pid)
		trace, span, parent := hexIDs(ps)
		if trace != c.trace || span != c.span || parent != c.parent {
			t.Errorf("hexIDs(%x, %x, %x) = %q %q %q, want %q %q %q", c.tid, c.sid, c.pid, trace, span, parent, c.trace, c.span, c.parent)
		}
	}
}
