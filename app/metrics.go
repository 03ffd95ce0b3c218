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
	}
	reg.MustRegister(m.commitSeconds, m.commitSpans, m.commitErrors, m.queueDepth)
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
