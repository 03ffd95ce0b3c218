package clickhouse

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"strings"
	"testing"
	"time"

	ch "github.com/ClickHouse/clickhouse-go/v2"
	"go.opentelemetry.io/collector/pdata/pcommon"

	"github.com/tracehound/tracehound/span"
	"github.com/tracehound/tracehound/store"
	"github.com/tracehound/tracehound/store/clickhouse/chtest"
	"github.com/tracehound/tracehound/store/storetest"
)

// Tests against ClickHouse 23.8 or newer, which tracehound supports: they
// run when TRACEHOUND_CLICKHOUSE_DSN points at one, and skip otherwise.

// modernDatabase creates a database for one test on the modern server and
// drops it afterwards.
func modernDatabase(t testing.TB) (dsn, db string) {
	t.Helper()
	dsn = chtest.ModernDSN(t)
	var b [6]byte
	rand.Read(b[:])
	db = "th_test_" + hex.EncodeToString(b[:])
	t.Cleanup(func() {
		o, err := ch.ParseDSN(dsn)
		if err != nil {
			return
		}
		o.Auth.Database = ""
		if conn, err := ch.Open(o); err == nil {
			conn.Exec(context.Background(), "DROP DATABASE IF EXISTS "+db)
			conn.Close()
		}
	})
	return dsn, db
}

func openModern(t testing.TB, o Options) *Store {
	t.Helper()
	dsn, db := modernDatabase(t)
	o.DSN, o.Database = dsn, db
	s, err := Open(context.Background(), o)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	return s
}

// TestModernConformance is the store conformance suite on the native
// schema (DateTime64, Map, codecs, TTL, skip indexes).
func TestModernConformance(t *testing.T) {
	chtest.ModernDSN(t)
	storetest.Run(t, func(t *testing.T) store.Store {
		return openModern(t, Options{TTL: 400 * 24 * time.Hour, FlushInterval: 20 * time.Millisecond})
	})
}

// TestModernSubSecond checks what 18.16 cannot: nanosecond timestamps and
// time arguments survive.
func TestModernSubSecond(t *testing.T) {
	s := openModern(t, Options{FlushInterval: time.Millisecond})
	defer s.Close()
	at := storetest.Base.Add(123456789 * time.Nanosecond)
	if err := s.Write(context.Background(), []span.Span{storetest.ServerSpan(1, at), storetest.ServerSpan(2, at.Add(time.Nanosecond))}); err != nil {
		t.Fatal(err)
	}
	res, err := s.Query(context.Background(), "SELECT timestamp FROM traces WHERE timestamp > ?", store.QueryOptions{}, at)
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Rows) != 1 || !res.Rows[0][0].(time.Time).Equal(at.Add(time.Nanosecond)) {
		t.Errorf("spans after %v = %v, want the one a nanosecond later", at, res.Rows)
	}
}

// otelTracesDDL is the OpenTelemetry Collector clickhouseexporter's
// otel_traces table (internal/sqltemplates/traces_table.sql, rendered with
// the default MergeTree engine and no TTL).
const otelTracesDDL = `CREATE TABLE %s.otel_traces (
    Timestamp DateTime64(9) CODEC(Delta(8), ZSTD(1)),
    TraceId String CODEC(ZSTD(1)), SpanId String CODEC(ZSTD(1)), ParentSpanId String CODEC(ZSTD(1)),
    TraceState String CODEC(ZSTD(1)), SpanName LowCardinality(String) CODEC(ZSTD(1)),
    SpanKind LowCardinality(String) CODEC(ZSTD(1)), ServiceName LowCardinality(String) CODEC(ZSTD(1)),
    ResourceAttributes Map(LowCardinality(String), String) CODEC(ZSTD(1)),
    ScopeName String CODEC(ZSTD(1)), ScopeVersion String CODEC(ZSTD(1)),
    SpanAttributes Map(LowCardinality(String), String) CODEC(ZSTD(1)),
    Duration UInt64 CODEC(T64, ZSTD(1)), StatusCode LowCardinality(String) CODEC(ZSTD(1)),
    StatusMessage String CODEC(ZSTD(1)),
    Events Nested (Timestamp DateTime64(9), Name LowCardinality(String), Attributes Map(LowCardinality(String), String)) CODEC(ZSTD(1)),
    Links Nested (TraceId String, SpanId String, TraceState String, Attributes Map(LowCardinality(String), String)) CODEC(ZSTD(1)),
    INDEX idx_trace_id TraceId TYPE bloom_filter(0.001) GRANULARITY 1,
    INDEX idx_duration Duration TYPE minmax GRANULARITY 1
) ENGINE = MergeTree()
PARTITION BY toDate(Timestamp)
PRIMARY KEY (ServiceName, SpanName, toDateTime(Timestamp))
ORDER BY (ServiceName, SpanName, toDateTime(Timestamp), Timestamp)
SETTINGS index_granularity = 8192, ttl_only_drop_parts = 1`

// signozIndexDDL is signoz_index_v3's columns that the view reads, in
// SigNoz's types (schema migration 1000).
const signozIndexDDL = "CREATE TABLE %s.signoz_index_v3 (" + `
    ts_bucket_start UInt64 CODEC(DoubleDelta, LZ4), resource_fingerprint String CODEC(ZSTD(1)),
    timestamp DateTime64(9) CODEC(DoubleDelta, LZ4), trace_id FixedString(32) CODEC(ZSTD(1)),
    span_id String CODEC(ZSTD(1)), trace_state String CODEC(ZSTD(1)), parent_span_id String CODEC(ZSTD(1)),
    flags UInt32 CODEC(T64, ZSTD(1)), name LowCardinality(String) CODEC(ZSTD(1)), kind Int8 CODEC(T64, ZSTD(1)),
    kind_string String CODEC(ZSTD(1)), duration_nano UInt64 CODEC(T64, ZSTD(1)), status_code Int16 CODEC(T64, ZSTD(1)),
    status_message String CODEC(ZSTD(1)), status_code_string String CODEC(ZSTD(1)),
    attributes_string Map(LowCardinality(String), String) CODEC(ZSTD(1)),
    attributes_number Map(LowCardinality(String), Float64) CODEC(ZSTD(1)),
    attributes_bool Map(LowCardinality(String), Bool) CODEC(ZSTD(1)),
    resources_string Map(LowCardinality(String), String) CODEC(ZSTD(1)),
    response_status_code LowCardinality(String) CODEC(ZSTD(1)), http_method LowCardinality(String) CODEC(ZSTD(1)),
    has_error Bool CODEC(T64, ZSTD(1)),
    ` + "`resource_string_service$$name`" + ` LowCardinality(String) DEFAULT resources_string['service.name'] CODEC(ZSTD(1))
) ENGINE = MergeTree PARTITION BY toDate(timestamp)
ORDER BY (ts_bucket_start, resource_fingerprint, has_error, name, timestamp)`

// TestModernCompatViews is TestLegacyCompatViews on the real source
// layouts: Map attributes, DateTime64, SigNoz's typed maps.
func TestModernCompatViews(t *testing.T) {
	chtest.ModernDSN(t)
	want := expectedSpans()
	for _, mode := range []Mode{ModeOTel, ModeSigNoz} {
		t.Run(string(mode), func(t *testing.T) {
			dsn, db := modernDatabase(t)
			o, err := ch.ParseDSN(dsn)
			if err != nil {
				t.Fatal(err)
			}
			o.Auth.Database = ""
			conn, err := ch.Open(o)
			if err != nil {
				t.Fatal(err)
			}
			defer conn.Close()
			ctx := context.Background()
			if err := conn.Exec(ctx, "CREATE DATABASE "+db); err != nil {
				t.Fatal(err)
			}
			td := viewTraces()
			rs := td.ResourceSpans().At(0)
			res := map[string]string{}
			for k, v := range rs.Resource().Attributes().All() {
				res[k] = v.AsString()
			}
			spans := rs.ScopeSpans().At(0).Spans()
			source := "otel_traces"
			if mode == ModeOTel {
				if err := conn.Exec(ctx, fmt.Sprintf(otelTracesDDL, db)); err != nil {
					t.Fatal(err)
				}
				b, err := conn.PrepareBatch(ctx, "INSERT INTO "+db+".otel_traces (Timestamp, TraceId, SpanId, ParentSpanId, SpanName, SpanKind, ServiceName, ResourceAttributes, SpanAttributes, Duration, StatusCode)")
				if err != nil {
					t.Fatal(err)
				}
				for i := range spans.Len() {
					sp := spans.At(i)
					attrs := map[string]string{}
					for k, v := range sp.Attributes().All() {
						attrs[k] = v.AsString()
					}
					old := i%2 == 1
					if err := b.Append(sp.StartTimestamp().AsTime(), sp.TraceID().String(), sp.SpanID().String(), sp.ParentSpanID().String(), sp.Name(),
						exporterKind(sp.Kind(), old), "shop-api", res, attrs, uint64(sp.EndTimestamp()-sp.StartTimestamp()), exporterStatus(sp.Status().Code(), old)); err != nil {
						t.Fatal(err)
					}
				}
				if err := b.Send(); err != nil {
					t.Fatal(err)
				}
			} else {
				source = "signoz_index_v3"
				if err := conn.Exec(ctx, fmt.Sprintf(signozIndexDDL, db)); err != nil {
					t.Fatal(err)
				}
				b, err := conn.PrepareBatch(ctx, "INSERT INTO "+db+".signoz_index_v3 (timestamp, trace_id, span_id, parent_span_id, name, kind, kind_string, duration_nano, status_code, status_code_string, attributes_string, attributes_number, attributes_bool, resources_string)")
				if err != nil {
					t.Fatal(err)
				}
				for i := range spans.Len() {
					sp := spans.At(i)
					strs, nums := map[string]string{}, map[string]float64{}
					for k, v := range sp.Attributes().All() {
						switch v.Type() {
						case pcommon.ValueTypeInt:
							nums[k] = float64(v.Int())
						default:
							strs[k] = v.AsString()
						}
					}
					if err := b.Append(sp.StartTimestamp().AsTime(), sp.TraceID().String(), sp.SpanID().String(), sp.ParentSpanID().String(), sp.Name(),
						int8(sp.Kind()), sp.Kind().String(), uint64(sp.EndTimestamp()-sp.StartTimestamp()), int16(sp.Status().Code()), sp.Status().Code().String(),
						strs, nums, map[string]bool{}, res); err != nil {
						t.Fatal(err)
					}
				}
				if err := b.Send(); err != nil {
					t.Fatal(err)
				}
			}
			s, err := Open(ctx, Options{DSN: dsn, Database: db, Mode: mode, Source: source})
			if err != nil {
				t.Fatal(err)
			}
			defer s.Close()
			got, err := s.Query(ctx, "SELECT "+viewColumnsSQL+" FROM traces ORDER BY span_id", store.QueryOptions{})
			if err != nil {
				t.Fatal(err)
			}
			if len(got.Rows) != len(want) {
				t.Fatalf("the view has %d rows, want %d", len(got.Rows), len(want))
			}
			cols := strings.Split(strings.Join(strings.Fields(viewColumnsSQL), ""), ",")
			for i, w := range want {
				for j, e := range viewRow(w) {
					if g, e := fmt.Sprintf("%#v", got.Rows[i][j]), fmt.Sprintf("%#v", plainValue(e)); g != e {
						t.Errorf("%s: %s = %s, want %s", viewCases[i].name, cols[j], g, e)
					}
				}
			}
			tr, err := s.Trace(ctx, want[0].TraceID)
			if err != nil || len(tr) != 1 || tr[0].HTTPRoute != "/v1/items/{id}" {
				t.Errorf("Trace through the view = %+v, %v", tr, err)
			}
		})
	}
}

// TestModernProduct is TestLegacyProductSQL and TestLegacyAPIMap on a
// modern ClickHouse: the queries 18.16 cannot run run here too, and the
// API map's latency percentiles are compared.
func TestModernProduct(t *testing.T) {
	f := seedProduct(t, openModern(t, Options{}))
	t.Run("sql", func(t *testing.T) { testProductSQL(t, f, true) })
	t.Run("apimap", func(t *testing.T) { testAPIMap(t, f) })
}

// BenchmarkWrite measures committed spans per second into ClickHouse, 512
// spans per Write as an OTLP exporter sends them, from 8 concurrent
// writers (several exporters' batches share an insert). It needs
// TRACEHOUND_CLICKHOUSE_DSN (ClickHouse 23.8 or newer).
func BenchmarkWrite(b *testing.B) {
	s := openModern(b, Options{})
	defer s.Close()
	batch := make([]span.Span, 512)
	for i := range batch {
		sp := storetest.ServerSpan(i, storetest.Base.Add(time.Duration(i)*time.Millisecond))
		for j := range 20 {
			sp.SpanAttributes = append(sp.SpanAttributes, span.Attr{Key: fmt.Sprintf("attr.key.%02d", j), Value: fmt.Sprintf("value-%d-%d", j, i%97)})
		}
		batch[i] = sp
	}
	b.ReportAllocs()
	b.SetParallelism(8)
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if err := s.Write(context.Background(), batch); err != nil {
				b.Error(err)
				return
			}
		}
	})
	b.ReportMetric(float64(b.N*len(batch))/b.Elapsed().Seconds(), "spans/s")
}
