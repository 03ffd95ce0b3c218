package duckdb_test

import (
	"context"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/tracehound/tracehound/span"
	"github.com/tracehound/tracehound/store/duckdb"
	"github.com/tracehound/tracehound/store/storetest"
)

// benchSpans returns n server spans with about 20 span attributes each, the
// shape of instrumented HTTP traffic.
func benchSpans(n int, start time.Time) []span.Span {
	spans := make([]span.Span, n)
	for i := range spans {
		s := storetest.ServerSpan(i, start.Add(time.Duration(i)*time.Millisecond))
		s.SpanAttributes = make([]span.Attr, 0, 20)
		for j := range 20 {
			s.SpanAttributes = append(s.SpanAttributes, span.Attr{Key: fmt.Sprintf("attr.key.%02d", j), Value: fmt.Sprintf("value-%d-%d", j, i%97)})
		}
		spans[i] = s
	}
	return spans
}

// BenchmarkWrite measures committed spans per second through the appender,
// 512 spans per Write as an OTLP exporter sends them.
func BenchmarkWrite(b *testing.B) {
	s, err := duckdb.Open(context.Background(), filepath.Join(b.TempDir(), "traces.duckdb"), duckdb.Options{})
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	batch := benchSpans(512, storetest.Base)
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		if err := s.Write(context.Background(), batch); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N*len(batch))/b.Elapsed().Seconds(), "spans/s")
}

// BenchmarkWriteConcurrent is BenchmarkWrite with several writers, so that
// group commit can merge their batches.
func BenchmarkWriteConcurrent(b *testing.B) {
	s, err := duckdb.Open(context.Background(), filepath.Join(b.TempDir(), "traces.duckdb"), duckdb.Options{})
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	batch := benchSpans(512, storetest.Base)
	b.ReportAllocs()
	b.SetParallelism(4)
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
