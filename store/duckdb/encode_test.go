package duckdb

import (
	"context"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/tracehound/tracehound/span"
)

// BenchmarkEncode measures filling DuckDB data chunks from spans, the part
// of a write that runs on the writer's goroutine before the commit.
func BenchmarkEncode(b *testing.B) {
	s, err := Open(context.Background(), filepath.Join(b.TempDir(), "traces.duckdb"), Options{})
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	spans := make([]span.Span, 2048)
	for i := range spans {
		sp := span.Span{Timestamp: time.Now(), TraceID: fmt.Sprintf("%032x", i), SpanID: fmt.Sprintf("%016x", i), ServiceName: "svc", SpanName: "GET /v1/documents/{id}",
			SpanKind: span.KindServer, OtelStatus: "Unset", HTTPMethod: "GET", HTTPTarget: "/v1/documents/123?page=2", HTTPPath: "/v1/documents/123",
			HTTPQuery: "page=2", StatusCode: 200, PeerIP: "203.0.113.7", UserAgent: "Mozilla/5.0", ResponseBytes: 1234, APIKeyID: "dvk_000123"}
		for j := range 20 {
			sp.SpanAttributes = append(sp.SpanAttributes, span.Attr{Key: fmt.Sprintf("attr.key.%02d", j), Value: fmt.Sprintf("value-%d", j)})
		}
		sp.ResourceAttributes = []span.Attr{{Key: "service.name", Value: "svc"}, {Key: "service.version", Value: "1.0"}}
		spans[i] = sp
	}
	b.ReportAllocs()
	for b.Loop() {
		s.app.releaseChunks(s.app.encode(spans))
	}
	b.ReportMetric(float64(b.N*len(spans))/b.Elapsed().Seconds(), "spans/s")
}
