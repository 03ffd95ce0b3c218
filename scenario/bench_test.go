package scenario

import (
	"context"
	"errors"
	"testing"

	sdktrace "go.opentelemetry.io/otel/sdk/trace"
)

var errEnough = errors.New("enough")

// BenchmarkGenerate measures the traffic model alone: requests (and the
// spans they become) per second at --scale 0.05, without the SDK.
func BenchmarkGenerate(b *testing.B) {
	o, def, err := Options{Start: testStart, Days: 30, Scale: 0.05, Seed: 1}.normalize()
	if err != nil {
		b.Fatal(err)
	}
	worldFor(o.Seed)
	b.ReportAllocs()
	b.ResetTimer()
	g := build(o, def)
	var n, spans int
	err = g.run(func(rq *request) error {
		spans += 1 + childCount(rq.op, int(rq.status))
		if n++; n >= b.N {
			return errEnough
		}
		return nil
	})
	if !errors.Is(err, errEnough) {
		b.Fatalf("run: %v", err)
	}
	s := b.Elapsed().Seconds()
	b.ReportMetric(float64(n)/s, "requests/s")
	b.ReportMetric(float64(spans)/s, "spans/s")
}

// discardExporter drops what it is given.
type discardExporter struct{}

func (discardExporter) ExportSpans(context.Context, []sdktrace.ReadOnlySpan) error { return nil }
func (discardExporter) Shutdown(context.Context) error                             { return nil }

// BenchmarkBackfillSDK measures generation plus span creation through the
// SDK and its batch span processor, with an exporter that drops the spans.
func BenchmarkBackfillSDK(b *testing.B) {
	o, def, err := Options{Start: testStart, Days: 30, Scale: 0.05, Seed: 1}.normalize()
	if err != nil {
		b.Fatal(err)
	}
	worldFor(o.Seed)
	b.ReportAllocs()
	b.ResetTimer()
	tp := sdktrace.NewTracerProvider(
		sdktrace.WithIDGenerator(newSequenceIDs(1)),
		sdktrace.WithSpanProcessor(sdktrace.NewBatchSpanProcessor(discardExporter{}, sdktrace.WithMaxExportBatchSize(512), sdktrace.WithMaxQueueSize(64*1024), sdktrace.WithBlocking())),
	)
	em := newEmitter(tp)
	g := build(o, def)
	var n, spans int
	err = g.run(func(rq *request) error {
		_, k := em.emit(rq)
		spans += k
		if n++; n >= b.N {
			return errEnough
		}
		return nil
	})
	if !errors.Is(err, errEnough) {
		b.Fatalf("run: %v", err)
	}
	tp.Shutdown(context.Background())
	s := b.Elapsed().Seconds()
	b.ReportMetric(float64(spans)/s, "spans/s")
}
