package otlp

import "github.com/prometheus/client_golang/prometheus"

// Metrics are the receiver's Prometheus metrics.
type Metrics struct {
	received *prometheus.CounterVec
	accepted *prometheus.CounterVec
	rejected *prometheus.CounterVec
	refused  *prometheus.CounterVec
	requests *prometheus.CounterVec
}

// NewMetrics creates the receiver metrics and registers them with reg (nil: not registered).
func NewMetrics(reg prometheus.Registerer) *Metrics {
	m := &Metrics{
		received: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "tracehound_otlp_spans_received_total",
			Help: "Spans received in OTLP export requests that could be decoded.",
		}, []string{"protocol"}),
		accepted: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "tracehound_otlp_spans_accepted_total",
			Help: "Spans committed to the store and acknowledged.",
		}, []string{"protocol"}),
		rejected: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "tracehound_otlp_spans_rejected_total",
			Help: "Spans rejected as invalid (reported to the client as partial success; not retried).",
		}, []string{"protocol", "reason"}),
		refused: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "tracehound_otlp_spans_refused_total",
			Help: "Spans not stored because the request was throttled or failed; the client may retry them.",
		}, []string{"protocol", "reason"}),
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "tracehound_otlp_requests_total",
			Help: "OTLP export requests by protocol and response code.",
		}, []string{"protocol", "code"}),
	}
	if reg != nil {
		reg.MustRegister(m.received, m.accepted, m.rejected, m.refused, m.requests)
	}
	return m
}
