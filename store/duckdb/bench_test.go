package duckdb_test

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/tracehound/tracehound/span"
	"github.com/tracehound/tracehound/store"
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

// BenchmarkWrite measures committed spans per second through the write-ahead
// log and the appender, 512 spans per Write as an OTLP exporter sends them.
// A Write refused because DuckDB is behind is retried after a pause, as a
// throttled client would; the figure counts until every span is committed.
func BenchmarkWrite(b *testing.B) {
	s, err := duckdb.Open(context.Background(), filepath.Join(b.TempDir(), "traces.duckdb"), duckdb.Options{})
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	batch := benchSpans(512, storetest.Base)
	b.ReportAllocs()
	start := time.Now()
	for b.Loop() {
		if err := write(s, batch); err != nil {
			b.Fatal(err)
		}
	}
	reportCommitted(b, s, len(batch), start)
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
	start := time.Now()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if err := write(s, batch); err != nil {
				b.Error(err)
				return
			}
		}
	})
	reportCommitted(b, s, len(batch), start)
}

// write writes spans, retrying after a pause while the store is overloaded.
func write(s *duckdb.Store, spans []span.Span) error {
	for {
		err := s.Write(context.Background(), spans)
		if !errors.Is(err, store.ErrOverloaded) {
			return err
		}
		time.Sleep(time.Millisecond)
	}
}

// reportCommitted waits for every written span to be committed and
// reports the spans per second since start, perOp spans a Write.
func reportCommitted(b *testing.B, s *duckdb.Store, perOp int, start time.Time) {
	if err := s.Sync(context.Background()); err != nil {
		b.Fatal(err)
	}
	b.ReportMetric(float64(b.N*perOp)/time.Since(start).Seconds(), "spans/s")
}
