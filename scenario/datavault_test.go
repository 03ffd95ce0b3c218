package scenario

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"
	"go.opentelemetry.io/otel/attribute"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"
)

func TestDataVaultSpec(t *testing.T) {
	loader := openapi3.NewLoader()
	doc, err := loader.LoadFromData(DataVaultSpec())
	if err != nil {
		t.Fatalf("load spec: %v", err)
	}
	if err := doc.Validate(context.Background()); err != nil {
		t.Fatalf("spec does not validate: %v", err)
	}
	if len(doc.Servers) != 1 || doc.Servers[0].URL != "https://api.datavault.example/v1" {
		t.Fatalf("servers = %v", doc.Servers)
	}
	documented := 0
	for _, op := range ops {
		path := strings.TrimPrefix(op.route, "/v1")
		item := doc.Paths.Find(path)
		var found bool
		if item != nil {
			found = item.GetOperation(op.method) != nil
		}
		if found != op.documented {
			t.Errorf("%s %s: in spec = %v, documented = %v", op.method, path, found, op.documented)
		}
		if found {
			documented++
		}
	}
	if documented < 24 {
		t.Errorf("spec documents %d operations of the service, want about 25", documented)
	}
	if doc.Paths.Find("/admin/export") != nil {
		t.Error("the shadow endpoint /admin/export is documented")
	}
}

// tracedService serves NewDataVault into an in-memory exporter.
func tracedService(t *testing.T, opts DataVaultOptions) (http.Handler, *tracetest.InMemoryExporter) {
	t.Helper()
	exp := tracetest.NewInMemoryExporter()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSyncer(exp))
	t.Cleanup(func() { tp.Shutdown(context.Background()) })
	opts.TracerProvider = tp
	return NewDataVault(opts), exp
}

type call struct {
	method, target, body string
	key                  string // Authorization bearer token
	xff                  string
	remote               string
}

func (c call) do(t *testing.T, h http.Handler) *httptest.ResponseRecorder {
	t.Helper()
	var body io.Reader
	if c.body != "" {
		body = strings.NewReader(c.body)
	}
	req := httptest.NewRequest(c.method, "http://"+apiHost+c.target, body)
	req.RemoteAddr = "127.0.0.1:51234"
	if c.remote != "" {
		req.RemoteAddr = c.remote
	}
	req.Header.Set("User-Agent", exfilUA)
	if c.xff != "" {
		req.Header.Set("X-Forwarded-For", c.xff)
	}
	if c.key != "" {
		req.Header.Set("Authorization", "Bearer "+c.key)
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return rec
}

// serverSpan returns the only server span exported, and its children.
func serverSpan(t *testing.T, exp *tracetest.InMemoryExporter) (tracetest.SpanStub, []tracetest.SpanStub) {
	t.Helper()
	var server []tracetest.SpanStub
	var children []tracetest.SpanStub
	for _, s := range exp.GetSpans() {
		if s.SpanKind == trace.SpanKindServer {
			server = append(server, s)
		} else {
			children = append(children, s)
		}
	}
	if len(server) != 1 {
		t.Fatalf("%d server spans, want 1", len(server))
	}
	exp.Reset()
	return server[0], children
}

func attr(s tracetest.SpanStub, key string) attribute.Value {
	for _, a := range s.Attributes {
		if string(a.Key) == key {
			return a.Value
		}
	}
	return attribute.Value{}
}

// TestBackfillMatchesLiveSpans sends requests through the live service and
// emits the same requests with the backfill emitter: the spans must carry
// the same attributes, in the same order, and the same children.
func TestBackfillMatchesLiveSpans(t *testing.T) {
	w := worldFor(0)
	h, exp := tracedService(t, DataVaultOptions{})
	foreign := w.collStart[w.enterprise[1].colls[0]]
	for w.linkShared(foreign) {
		foreign++
	}
	ent := w.enterprise[0]
	mine := w.collStart[ent.colls[0]]
	email := "user1@" + ent.domain
	for _, tc := range []struct {
		name string
		call call
		want int
	}{
		{"export", call{method: "GET", target: "/v1/admin/export?collection_id=7&page=1", key: w.exfilKey.secret, xff: ExfilIPs[1]}, 200},
		{"export bad id", call{method: "GET", target: "/v1/admin/export?collection_id=abc", key: w.exfilKey.secret, xff: ExfilIPs[1]}, 400},
		{"export without key", call{method: "GET", target: "/v1/admin/export?collection_id=1", xff: ExfilIPs[0]}, 401},
		{"foreign document", call{method: "GET", target: fmt.Sprintf("/v1/documents/%d", foreign), key: w.keysOf(ent)[0].secret, xff: "3.208.1.2"}, 403},
		{"own content", call{method: "GET", target: fmt.Sprintf("/v1/documents/%d/content", mine), key: w.keysOf(ent)[0].secret, xff: "3.208.1.2"}, 200},
		{"delete", call{method: "DELETE", target: fmt.Sprintf("/v1/documents/%d", mine), key: w.keysOf(ent)[0].secret, xff: "3.208.1.2"}, 204},
		{"create", call{method: "POST", target: "/v1/documents", body: `{"title":"x","content":"abc"}`, key: w.keysOf(ent)[0].secret, xff: "3.208.1.2"}, 201},
		{"login", call{method: "POST", target: "/v1/auth/login", body: fmt.Sprintf(`{"email":%q,"password":%q}`, email, w.password(email)), xff: "73.15.2.3"}, 200},
		{"wrong password", call{method: "POST", target: "/v1/auth/login", body: fmt.Sprintf(`{"email":%q,"password":"hunter2"}`, email), xff: "73.15.2.3"}, 401},
		{"signup", call{method: "POST", target: "/v1/auth/signup", body: `{"email":"a@sharklasers.com","password":"longenough"}`, xff: "104.248.73.19"}, 201},
		{"health", call{method: "GET", target: "/v1/health", remote: "10.40.1.23:40000"}, 200},
		{"list", call{method: "GET", target: "/v1/collections?page=1&limit=5", key: w.keysOf(ent)[0].secret, xff: "3.208.1.2"}, 200},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rec := tc.call.do(t, h)
			if rec.Code != tc.want {
				t.Fatalf("%s %s = %d, want %d: %s", tc.call.method, tc.call.target, rec.Code, tc.want, rec.Body)
			}
			live, liveChildren := serverSpan(t, exp)

			// The same request, as the backfill describes it.
			rq := &request{
				op: opByRoute(t, attr(live, "http.route").AsString(), tc.call.method), host: attr(live, "server.address").AsString(),
				serverPort: -1, path: attr(live, "url.path").AsString(), query: attr(live, "url.query").AsString(),
				peerIP: attr(live, "network.peer.address").AsString(), peerPort: int32(attr(live, "network.peer.port").AsInt64()),
				clientIP: attr(live, "client.address").AsString(), ua: attr(live, "user_agent.original").AsString(),
				status: int32(rec.Code), reqBytes: attr(live, "http.request.body.size").AsInt64(), respBytes: attr(live, "http.response.body.size").AsInt64(),
				emailDomain: attr(live, "app.signup.email_domain").AsString(),
			}
			if id := attr(live, "enduser.id").AsString(); id != "" {
				rq.acct = &account{id: id, plan: attr(live, "app.account.plan").AsString()}
			}
			if id := attr(live, "app.api_key_id").AsString(); id != "" {
				rq.key = &apiKey{id: id}
			}
			bexp := tracetest.NewInMemoryExporter()
			tp := sdktrace.NewTracerProvider(sdktrace.WithSyncer(bexp))
			newEmitter(tp).emit(rq)
			back, backChildren := serverSpan(t, bexp)

			if !slices.Equal(live.Attributes, back.Attributes) {
				t.Errorf("attributes differ:\nlive     %v\nbackfill %v", live.Attributes, back.Attributes)
			}
			if live.Name != back.Name || live.Status != back.Status || live.InstrumentationScope.Name != back.InstrumentationScope.Name {
				t.Errorf("live %q %v %q, backfill %q %v %q", live.Name, live.Status, live.InstrumentationScope.Name, back.Name, back.Status, back.InstrumentationScope.Name)
			}
			if ln, bn := spanShapes(liveChildren), spanShapes(backChildren); !slices.Equal(ln, bn) {
				t.Errorf("children differ:\nlive     %v\nbackfill %v", ln, bn)
			}
			if tc.call.xff != "" && rq.clientIP != tc.call.xff {
				t.Errorf("client.address = %q, want the X-Forwarded-For %q", rq.clientIP, tc.call.xff)
			}
			for _, a := range live.Attributes {
				if strings.Contains(a.Value.Emit(), "dvs_live_") {
					t.Errorf("attribute %s carries a key secret", a.Key)
				}
			}
		})
	}
}

func opByRoute(t *testing.T, route, method string) *operation {
	t.Helper()
	for _, op := range ops {
		if op.route == route && op.method == method {
			return op
		}
	}
	t.Fatalf("no operation %s %s", method, route)
	return nil
}

func spanShapes(spans []tracetest.SpanStub) []string {
	var out []string
	for _, s := range spans {
		out = append(out, fmt.Sprintf("%s/%s/%v", s.Name, s.SpanKind, s.Attributes))
	}
	return out
}

func TestDataVaultBehaviour(t *testing.T) {
	w := worldFor(0)
	h, exp := tracedService(t, DataVaultOptions{})
	ent := w.enterprise[0]
	key := w.keysOf(ent)[0].secret
	var shared int64 // a document of another account with a public link
	for id := w.collStart[w.enterprise[1].colls[0]]; shared == 0; id++ {
		if w.linkShared(id) && w.docCollection(id) != 0 {
			shared = id
		}
	}
	for _, tc := range []struct {
		name string
		call call
		want int
	}{
		{"export of any collection with a trial key", call{method: "GET", target: "/v1/admin/export?collection_id=9000&page=1", key: w.exfilKey.secret}, 200},
		{"export page 0", call{method: "GET", target: "/v1/admin/export?collection_id=1&page=0", key: w.exfilKey.secret}, 400},
		{"export unknown collection", call{method: "GET", target: "/v1/admin/export?collection_id=12001", key: w.exfilKey.secret}, 404},
		{"export with a bad key", call{method: "GET", target: "/v1/admin/export?collection_id=1", key: "dvs_live_nope"}, 401},
		{"admin route with a plain key", call{method: "GET", target: "/v1/admin/users", key: w.exfilKey.secret}, 403},
		{"deleted document", call{method: "GET", target: fmt.Sprintf("/v1/documents/%d", w.deletedDoc(newRand(1, "t"), ent.colls[0])), key: key}, 404},
		{"broken object-level authorisation", call{method: "GET", target: fmt.Sprintf("/v1/documents/%d", shared), key: key}, 200},
		{"foreign collection", call{method: "GET", target: fmt.Sprintf("/v1/collections/%d/documents", w.enterprise[1].colls[0]), key: key}, 403},
		{"search without q", call{method: "GET", target: "/v1/search?page=1", key: key}, 400},
		{"unknown route", call{method: "GET", target: "/v1/nope", key: key}, 404},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if rec := tc.call.do(t, h); rec.Code != tc.want {
				t.Errorf("%s %s = %d, want %d: %s", tc.call.method, tc.call.target, rec.Code, tc.want, rec.Body)
			}
			exp.Reset()
		})
	}

	t.Run("export page size", func(t *testing.T) {
		for _, c := range []int{1, 2, 3, 500, 9000} {
			rec := call{method: "GET", target: fmt.Sprintf("/v1/admin/export?collection_id=%d&page=1", c), key: w.exfilKey.secret}.do(t, h)
			var page struct {
				Documents []map[string]any `json:"documents"`
			}
			if err := json.Unmarshal(rec.Body.Bytes(), &page); err != nil || len(page.Documents) != exportDocsOnPage(int(w.collDocs[c]), 1) {
				t.Fatalf("collection %d: %d documents (%v), want %d", c, len(page.Documents), err, exportDocsOnPage(int(w.collDocs[c]), 1))
			}
			got, model := float64(rec.Body.Len()), float64(w.exportBytes(c, 1))
			if got < 0.85*model || got > 1.15*model {
				t.Errorf("collection %d: response of %.0f bytes, the backfill models %.0f", c, got, model)
			}
		}
		exp.Reset()
	})

	t.Run("X-Forwarded-For only from a trusted proxy", func(t *testing.T) {
		call{method: "GET", target: "/v1/health", xff: "1.2.3.4", remote: "203.0.113.9:5555"}.do(t, h)
		s, _ := serverSpan(t, exp)
		if got := attr(s, "client.address").AsString(); got != "203.0.113.9" {
			t.Errorf("client.address = %q from an untrusted peer, want the peer", got)
		}
		call{method: "GET", target: "/v1/health", xff: "1.2.3.4"}.do(t, h)
		s, _ = serverSpan(t, exp)
		if got := attr(s, "client.address").AsString(); got != "1.2.3.4" {
			t.Errorf("client.address = %q behind loopback proxy, want the forwarded address", got)
		}
	})

	t.Run("unknown routes have no http.route", func(t *testing.T) {
		call{method: "GET", target: "/v1/admin/debug", key: key}.do(t, h)
		s, _ := serverSpan(t, exp)
		if s.Name != "GET" || attr(s, "http.route").Type() != attribute.INVALID {
			t.Errorf("span %q with route %v, want \"GET\" and none", s.Name, attr(s, "http.route"))
		}
	})
}

// TestRejectedCallerHasNoIdentity: the live service cannot name the caller
// of a rejected credential or a failed login, so the backfill does not
// either (the manifest still does).
func TestRejectedCallerHasNoIdentity(t *testing.T) {
	w := worldFor(0)
	key := w.keysOf(w.enterprise[0])[0]
	for _, tc := range []struct {
		op     opID
		status int32
		want   bool
	}{
		{opGetDocument, 200, true},
		{opGetDocument, 404, true},
		{opGetDocument, 401, false},
		{opLogin, 200, true},
		{opLogin, 401, false},
		{opTokenRefresh, 401, false},
	} {
		exp := tracetest.NewInMemoryExporter()
		rq := &request{op: ops[tc.op], host: apiHost, path: ops[tc.op].route, clientIP: "3.208.1.1", peerIP: "10.40.1.23", status: tc.status, key: key, acct: key.acct}
		newEmitter(sdktrace.NewTracerProvider(sdktrace.WithSyncer(exp))).emit(rq)
		s, _ := serverSpan(t, exp)
		if got := attr(s, "enduser.id").AsString() != ""; got != tc.want {
			t.Errorf("%s answered %d: enduser.id present = %v, want %v", ops[tc.op].spanName, tc.status, got, tc.want)
		}
	}
}
