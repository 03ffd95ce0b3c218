package clickhouse

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"testing"
	"time"

	ch "github.com/ClickHouse/clickhouse-go/v2"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/ptrace"

	"github.com/tracehound/tracehound/span"
	"github.com/tracehound/tracehound/store"
)

// viewCase is one span as an instrumentation emits it.
type viewCase struct {
	name  string
	kind  ptrace.SpanKind
	code  ptrace.StatusCode
	attrs map[string]any
}

// viewCases cover both generations of the HTTP semantic conventions, the
// rank order when both are present, URLs, ports, IPv6, odd status codes
// and sizes, and non-server spans.
var viewCases = []viewCase{
	{"stable conventions", ptrace.SpanKindServer, ptrace.StatusCodeUnset, map[string]any{
		"http.request.method": "GET", "url.path": "/v1/items/42", "url.query": "page=2&sort=asc", "http.route": "/v1/items/{id}",
		"http.response.status_code": int64(200), "client.address": "203.0.113.5", "network.peer.address": "10.0.0.1",
		"server.address": "api.example.test:443", "user_agent.original": "curl/8.5", "http.response.body.size": int64(1234),
		"http.request.body.size": int64(17), "enduser.id": "user-1", "app.api_key_id": "  key_one  ",
	}},
	{"legacy conventions", ptrace.SpanKindServer, ptrace.StatusCodeError, map[string]any{
		"http.method": "POST", "http.target": "/v1/orders?dry_run=1", "http.status_code": "503",
		"net.peer.ip": "198.51.100.7", "net.sock.peer.addr": "10.1.2.3:40000", "http.user_agent": "python-requests/2.31.0",
		"http.response_content_length": "55", "http.host": "shop.example:8080", "api_key.id": "key_two",
	}},
	{"both conventions, stable wins", ptrace.SpanKindServer, ptrace.StatusCodeOk, map[string]any{
		"http.request.method": "GET", "http.method": "DELETE", "url.path": "/a", "http.target": "/b?c=d",
		"http.response.status_code": "201", "http.status_code": "500", "client.address": "192.0.2.1", "http.client_ip": "192.0.2.2",
		"user_agent.original": "new", "http.user_agent": "old",
	}},
	{"absolute URL", ptrace.SpanKindServer, ptrace.StatusCodeUnset, map[string]any{
		"http.method": "GET", "http.url": "https://h.example/c/d?z=3#frag", "http.status_code": int64(302),
		"client.address": "[2001:db8::1]:443", "network.peer.address": "::1",
	}},
	{"URL without a path", ptrace.SpanKindServer, ptrace.StatusCodeUnset, map[string]any{
		"http.request.method": "GET", "url.full": "https://h.example?q=1", "http.response.status_code": " 204 ",
		"client.address": "host.internal", "server.address": "[::1]:8443",
	}},
	{"URL without path or query", ptrace.SpanKindServer, ptrace.StatusCodeUnset, map[string]any{
		"http.request.method": "HEAD", "url.full": "http://h.example", "http.response.status_code": "abc",
		"http.response.header.content-length": `["77"]`, "http.request_content_length": "-5",
	}},
	{"status out of range", ptrace.SpanKindServer, ptrace.StatusCodeUnset, map[string]any{
		"http.request.method": "GET", "url.path": "/x", "http.response.status_code": int64(1200), "http.response.body.size": "12.5",
	}},
	{"client span keeps no HTTP columns", ptrace.SpanKindClient, ptrace.StatusCodeUnset, map[string]any{
		"http.request.method": "GET", "url.full": "https://upstream.example/p", "http.response.status_code": int64(200),
		"server.address": "upstream.example", "app.api_key_id": "key_client", "enduser.id": "user-2",
	}},
	{"internal span without attributes", ptrace.SpanKindInternal, ptrace.StatusCodeUnset, map[string]any{}},
	{"producer span", ptrace.SpanKindProducer, ptrace.StatusCodeError, map[string]any{"messaging.system": "kafka"}},
	{"consumer span", ptrace.SpanKindConsumer, ptrace.StatusCodeOk, map[string]any{"enduser.id": " user-3 "}},
	{"unspecified kind", ptrace.SpanKindUnspecified, ptrace.StatusCodeUnset, map[string]any{"http.method": "GET"}},
}

var viewBase = time.Date(2026, 3, 2, 10, 0, 0, 0, time.UTC)

// viewTraces builds the cases as OTLP data, one span each, a second
// apart (whole seconds: ClickHouse 18.16 keeps no fractions).
func viewTraces() ptrace.Traces {
	td := ptrace.NewTraces()
	rs := td.ResourceSpans().AppendEmpty()
	rs.Resource().Attributes().PutStr("service.name", "shop-api")
	rs.Resource().Attributes().PutStr("deployment.environment", "test")
	ss := rs.ScopeSpans().AppendEmpty()
	for i, c := range viewCases {
		sp := ss.Spans().AppendEmpty()
		sp.SetName(c.name)
		sp.SetKind(c.kind)
		sp.Status().SetCode(c.code)
		var tid pcommon.TraceID
		var sid, pid pcommon.SpanID
		tid[15], sid[7] = byte(i+1), byte(i+1)
		if i%2 == 1 {
			pid[7] = 0xaa
		}
		sp.SetTraceID(tid)
		sp.SetSpanID(sid)
		sp.SetParentSpanID(pid)
		start := viewBase.Add(time.Duration(i) * time.Second)
		sp.SetStartTimestamp(pcommon.NewTimestampFromTime(start))
		sp.SetEndTimestamp(pcommon.NewTimestampFromTime(start.Add(time.Duration(i+1) * time.Millisecond)))
		for k, v := range c.attrs {
			switch x := v.(type) {
			case string:
				sp.Attributes().PutStr(k, x)
			case int64:
				sp.Attributes().PutInt(k, x)
			}
		}
	}
	return td
}

// expectedSpans is what tracehound's own ingest makes of the cases (URL
// redaction off: a compat view does not redact).
func expectedSpans() []span.Span {
	n := span.NewNormaliser(span.Options{RedactParams: []string{}})
	return n.Append(nil, viewTraces())
}

// viewColumnsSQL are the columns compared with the normaliser.
const viewColumnsSQL = `timestamp, trace_id, span_id, parent_span_id, service_name, span_name, span_kind, duration_ns, otel_status,
	http_method, http_target, http_path, http_query, http_route, status_code, peer_ip, net_peer_ip, server_address,
	user_agent, request_bytes, response_bytes, user_id, api_key_id`

func viewRow(sp span.Span) []any {
	return []any{sp.Timestamp, sp.TraceID, sp.SpanID, sp.ParentSpanID, sp.ServiceName, sp.SpanName, sp.SpanKind, sp.DurationNS, sp.OtelStatus,
		sp.HTTPMethod, sp.HTTPTarget, sp.HTTPPath, sp.HTTPQuery, sp.HTTPRoute, uint64(sp.StatusCode), sp.PeerIP, sp.NetPeerIP, sp.ServerAddress,
		sp.UserAgent, sp.RequestBytes, sp.ResponseBytes, sp.UserID, sp.APIKeyID}
}

// legacy source tables: the Collector's and SigNoz's layouts in the types
// ClickHouse 18.16 has (Nested for Map, DateTime for DateTime64, String
// for LowCardinality(String), UInt8 for Bool).
const legacyOTelTable = `CREATE TABLE %s.otel_traces (
    Timestamp DateTime('UTC'), TraceId String, SpanId String, ParentSpanId String, TraceState String,
    SpanName String, SpanKind String, ServiceName String,
    ResourceAttributes Nested(key String, value String), ScopeName String, ScopeVersion String,
    SpanAttributes Nested(key String, value String),
    Duration UInt64, StatusCode String, StatusMessage String
) ENGINE = MergeTree PARTITION BY toDate(Timestamp) ORDER BY (ServiceName, SpanName, toDateTime(Timestamp), Timestamp)`

const legacySigNozTable = "CREATE TABLE %s.signoz_index_v3 (" + `
    ts_bucket_start UInt64, resource_fingerprint String, timestamp DateTime('UTC'), trace_id FixedString(32),
    span_id String, trace_state String, parent_span_id String, flags UInt32, name String, kind Int8, kind_string String,
    duration_nano UInt64, status_code Int16, status_message String, status_code_string String,
    attributes_string Nested(key String, value String), attributes_number Nested(key String, value Float64),
    attributes_bool Nested(key String, value UInt8), resources_string Nested(key String, value String),
    response_status_code String, http_url String, http_method String, http_host String, has_error UInt8,
    ` + "`resource_string_service$$name`" + ` String
) ENGINE = MergeTree PARTITION BY toDate(timestamp) ORDER BY (ts_bucket_start, resource_fingerprint, has_error, name, timestamp)`

// exporterKind spells span kinds as the Collector's exporter does; old
// releases wrote SPAN_KIND_*, so every other span uses that spelling.
func exporterKind(k ptrace.SpanKind, old bool) string {
	if old {
		return "SPAN_KIND_" + strings.ToUpper(k.String())
	}
	return k.String()
}

func exporterStatus(c ptrace.StatusCode, old bool) string {
	if old {
		return "STATUS_CODE_" + strings.ToUpper(c.String())
	}
	return c.String()
}

func nativeConn(t *testing.T, addr, db string) ch.Conn {
	t.Helper()
	conn, err := ch.Open(&ch.Options{Addr: []string{addr}, Auth: ch.Auth{Database: db, Username: "default"}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	return conn
}

// loadOTel writes the cases into a legacy otel_traces as the Collector's
// exporter would (all attribute values stringified).
func loadOTel(t *testing.T, conn ch.Conn, db string) {
	ctx := context.Background()
	b, err := conn.PrepareBatch(ctx, "INSERT INTO "+db+".otel_traces (Timestamp, TraceId, SpanId, ParentSpanId, SpanName, SpanKind, ServiceName, "+
		"`ResourceAttributes.key`, `ResourceAttributes.value`, `SpanAttributes.key`, `SpanAttributes.value`, Duration, StatusCode)")
	if err != nil {
		t.Fatal(err)
	}
	td := viewTraces()
	rs := td.ResourceSpans().At(0)
	rk, rv := attrLists(rs.Resource().Attributes(), nil)
	spans := rs.ScopeSpans().At(0).Spans()
	for i := range spans.Len() {
		sp := spans.At(i)
		sk, sv := attrLists(sp.Attributes(), nil)
		old := i%2 == 1
		if err := b.Append(sp.StartTimestamp().AsTime(), sp.TraceID().String(), sp.SpanID().String(), sp.ParentSpanID().String(), sp.Name(),
			exporterKind(sp.Kind(), old), "shop-api", rk, rv, sk, sv, uint64(sp.EndTimestamp()-sp.StartTimestamp()), exporterStatus(sp.Status().Code(), old)); err != nil {
			t.Fatal(err)
		}
	}
	if err := b.Send(); err != nil {
		t.Fatal(err)
	}
}

// attrLists splits attributes into keys and stringified values; keep
// filters them by type when not nil.
func attrLists(m pcommon.Map, keep func(pcommon.ValueType) bool) (keys, vals []string) {
	keys, vals = []string{}, []string{}
	for k, v := range m.All() {
		if keep == nil || keep(v.Type()) {
			keys, vals = append(keys, k), append(vals, v.AsString())
		}
	}
	return keys, vals
}

// loadSigNoz writes the cases into a legacy signoz_index_v3 as SigNoz's
// exporter would: string attributes, numbers and booleans in maps of
// their own, kind and status as OTLP enums.
func loadSigNoz(t *testing.T, conn ch.Conn, db string) {
	ctx := context.Background()
	b, err := conn.PrepareBatch(ctx, "INSERT INTO "+db+".signoz_index_v3 (timestamp, trace_id, span_id, parent_span_id, name, kind, kind_string, "+
		"duration_nano, status_code, status_code_string, `attributes_string.key`, `attributes_string.value`, `attributes_number.key`, "+
		"`attributes_number.value`, `attributes_bool.key`, `attributes_bool.value`, `resources_string.key`, `resources_string.value`, "+
		"`resource_string_service$$name`)")
	if err != nil {
		t.Fatal(err)
	}
	td := viewTraces()
	rs := td.ResourceSpans().At(0)
	rk, rv := attrLists(rs.Resource().Attributes(), nil)
	spans := rs.ScopeSpans().At(0).Spans()
	for i := range spans.Len() {
		sp := spans.At(i)
		sk, sv := attrLists(sp.Attributes(), func(t pcommon.ValueType) bool { return t == pcommon.ValueTypeStr })
		nk, nv := []string{}, []float64{}
		for k, v := range sp.Attributes().All() {
			switch v.Type() {
			case pcommon.ValueTypeInt:
				nk, nv = append(nk, k), append(nv, float64(v.Int()))
			case pcommon.ValueTypeDouble:
				nk, nv = append(nk, k), append(nv, v.Double())
			}
		}
		if err := b.Append(sp.StartTimestamp().AsTime(), sp.TraceID().String(), sp.SpanID().String(), sp.ParentSpanID().String(), sp.Name(),
			int8(sp.Kind()), sp.Kind().String(), uint64(sp.EndTimestamp()-sp.StartTimestamp()), int16(sp.Status().Code()), sp.Status().Code().String(),
			sk, sv, nk, nv, []string{}, []uint8{}, rk, rv, "shop-api"); err != nil {
			t.Fatal(err)
		}
	}
	if err := b.Send(); err != nil {
		t.Fatal(err)
	}
}

// TestLegacyCompatViews creates each compat view (legacy rendering) over
// a source table filled as the Collector's and SigNoz's exporters fill
// theirs, and checks that every traces column equals what tracehound's
// own normaliser makes of the same OTLP spans: the view's SQL mirrors
// span.Normaliser on a real ClickHouse engine.
func TestLegacyCompatViews(t *testing.T) {
	want := expectedSpans()
	for i := range want {
		want[i].Timestamp = want[i].Timestamp.Truncate(time.Second)
	}
	for _, mode := range []Mode{ModeOTel, ModeSigNoz} {
		t.Run(string(mode), func(t *testing.T) {
			srv, db := legacyServer(t)
			conn := nativeConn(t, srv.NativeAddr, db)
			source := "otel_traces"
			if mode == ModeOTel {
				if err := conn.Exec(context.Background(), fmt.Sprintf(legacyOTelTable, db)); err != nil {
					t.Fatal(err)
				}
				loadOTel(t, conn, db)
			} else {
				source = "signoz_index_v3"
				if err := conn.Exec(context.Background(), fmt.Sprintf(legacySigNozTable, db)); err != nil {
					t.Fatal(err)
				}
				loadSigNoz(t, conn, db)
			}
			s, err := Open(context.Background(), Options{DSN: srv.DSN(""), Database: db, Mode: mode, Source: source, legacy: true})
			if err != nil {
				t.Fatal(err)
			}
			defer s.Close()
			res, err := s.Query(context.Background(), "SELECT "+viewColumnsSQL+" FROM traces ORDER BY span_id", store.QueryOptions{})
			if err != nil {
				t.Fatal(err)
			}
			if len(res.Rows) != len(want) {
				t.Fatalf("the view has %d rows, want %d", len(res.Rows), len(want))
			}
			cols := strings.Split(strings.Join(strings.Fields(viewColumnsSQL), ""), ",")
			for i, w := range want {
				exp := viewRow(w)
				for j := range exp {
					got := res.Rows[i][j]
					e := plainValue(exp[j])
					if !reflect.DeepEqual(got, e) {
						t.Errorf("%s: %s = %#v, want %#v (as ingest normalises it)", viewCases[i].name, cols[j], got, e)
					}
				}
			}
			// The attribute maps keep every attribute, stringified.
			res, err = s.Query(context.Background(), "SELECT span_attributes['url.path'], mapContains(span_attributes, 'http.route'), resource_attributes['deployment.environment'] FROM traces WHERE span_id = ?", store.QueryOptions{}, want[0].SpanID)
			if err != nil {
				t.Fatal(err)
			}
			if got := res.Rows[0]; got[0] != "/v1/items/42" || got[1] != uint64(1) || got[2] != "test" {
				t.Errorf("attribute lookups = %v, want [/v1/items/42 1 test]", got)
			}
			// Trace reads through the view, attributes included.
			tr, err := s.Trace(context.Background(), want[0].TraceID)
			if err != nil {
				t.Fatal(err)
			}
			if len(tr) != 1 || tr[0].HTTPRoute != "/v1/items/{id}" || len(tr[0].SpanAttributes) != len(viewCases[0].attrs) {
				t.Errorf("Trace = %+v, want the stable-conventions span with its %d attributes", tr, len(viewCases[0].attrs))
			}
			if err := s.Write(context.Background(), want[:1]); !errors.Is(err, ErrReadOnly) {
				t.Errorf("Write in %s mode = %v, want ErrReadOnly", mode, err)
			}
			if _, err := s.DeleteBefore(context.Background(), time.Now()); !errors.Is(err, ErrReadOnly) {
				t.Errorf("DeleteBefore in %s mode = %v, want ErrReadOnly", mode, err)
			}
			st, err := s.Stats(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			if st.Spans != int64(len(want)) || !st.Oldest.Equal(viewBase) || st.DiskSize <= 0 {
				t.Errorf("Stats = %+v, want %d spans from %v and a disk size", st, len(want), viewBase)
			}
		})
	}
}
