package app

import (
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// storeMetrics exports the span store's write path.
type storeMetrics struct {
	commitSeconds prometheus.Histogram
	commitSpans   prometheus.Histogram
	commitErrors  prometheus.Counter
	queueDepth    prometheus.Gauge
	// Compaction (DuckDB).
	compactedSpans prometheus.Counter
	compactSeconds prometheus.Counter
	compactPending prometheus.Gauge
}

// compacted records a compaction pass.
func (m *storeMetrics) compacted(spans int64, d time.Duration, pending int) {
	m.compactedSpans.Add(float64(spans))
	m.compactSeconds.Add(d.Seconds())
	m.compactPending.Set(float64(pending))
}

func newStoreMetrics(reg prometheus.Registerer) *storeMetrics {
	m := &storeMetrics{
		commitSeconds: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "tracehound_store_commit_duration_seconds",
			Help:    "Duration of span batch commits.",
			Buckets: prometheus.ExponentialBuckets(0.001, 2, 14),
		}),
		commitSpans: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "tracehound_store_commit_spans",
			Help:    "Spans per batch commit.",
			Buckets: prometheus.ExponentialBuckets(64, 2, 12),
		}),
		commitErrors: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "tracehound_store_commit_errors_total",
			Help: "Batch commits that failed (their writers were told to retry).",
		}),
		queueDepth: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "tracehound_store_queue_spans",
			Help: "Spans accepted and waiting for a commit.",
		}),
		compactedSpans: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "tracehound_store_compacted_spans_total",
			Help: "Spans rewritten by compaction (DuckDB).",
		}),
		compactSeconds: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "tracehound_store_compaction_seconds_total",
			Help: "Time spent in compaction passes (DuckDB).",
		}),
		compactPending: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "tracehound_store_compaction_pending_periods",
			Help: "Closed periods the last compaction pass left to rewrite.",
		}),
	}
	reg.MustRegister(m.commitSeconds, m.commitSpans, m.commitErrors, m.queueDepth, m.compactedSpans, m.compactSeconds, m.compactPending)
	return m
}

func (m *storeMetrics) Committed(spans int, d time.Duration, err error) {
	if err != nil {
		m.commitErrors.Inc()
		return
	}
	m.commitSeconds.Observe(d.Seconds())
	m.commitSpans.Observe(float64(spans))
}

func (m *storeMetrics) QueueDepth(spans int64) { m.queueDepth.Set(float64(spans)) }
