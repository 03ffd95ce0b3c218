package api

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"github.com/tracehound/tracehound/auth"
	"github.com/tracehound/tracehound/config"
)

// TraceBackend serves trace analysis: one trace as a span tree, and the
// search that finds traces by caller, endpoint and status.
type TraceBackend interface {
	// Trace returns the trace's spans as a tree, or store.ErrNotFound.
	Trace(ctx context.Context, traceID string) (*TraceResult, error)
	// FindTraces lists the requests (server spans) that match q, newest first.
	FindTraces(ctx context.Context, q TraceQuery) (*TraceList, error)
}

// TraceQuery selects requests. Empty fields do not filter.
type TraceQuery struct {
	// IP is a client address (peer_ip).
	IP string
	// APIKey is an api_key_id.
	APIKey string
	// Endpoint is a path ("/admin/export" also matches "/v1/admin/export"),
	// a route template, or a glob with * ("/admin/*").
	Endpoint string
	// Status is a code ("404"), a class ("4xx") or "error" (5xx or an
	// error span status).
	Status string
	// Service keeps one service.
	Service string
	// Window is how far back to look; zero means 24 hours.
	Window time.Duration
	// Limit caps the traces returned; zero means 100, at most 1,000.
	Limit int
}

// TraceSummary is one request in a trace search.
type TraceSummary struct {
	TraceID    string    `json:"trace_id"`
	SpanID     string    `json:"span_id"`
	Timestamp  time.Time `json:"timestamp"`
	Service    string    `json:"service_name"`
	Method     string    `json:"http_method"`
	Target     string    `json:"http_target"`
	Route      string    `json:"http_route"`
	StatusCode int       `json:"status_code"`
	DurationNS int64     `json:"duration_ns"`
	PeerIP     string    `json:"peer_ip"`
	APIKeyID   string    `json:"api_key_id"`
	Bytes      int64     `json:"response_bytes"`
}

// TraceList is the answer of GET /api/v1/traces.
type TraceList struct {
	Since     time.Time      `json:"since"`
	Until     time.Time      `json:"until"`
	Truncated bool           `json:"truncated"`
	Traces    []TraceSummary `json:"traces"`
}

// TraceSpan is one span of a trace, placed for a waterfall.
type TraceSpan struct {
	SpanID       string    `json:"span_id"`
	ParentSpanID string    `json:"parent_span_id,omitempty"`
	Depth        int       `json:"depth"`
	Orphan       bool      `json:"orphan,omitempty"`
	Children     int       `json:"children"`
	Service      string    `json:"service_name"`
	Name         string    `json:"span_name"`
	Kind         string    `json:"span_kind"`
	Start        time.Time `json:"start"`
	// OffsetNS is the start relative to the trace's first span.
	OffsetNS      int64             `json:"offset_ns"`
	DurationNS    int64             `json:"duration_ns"`
	Status        string            `json:"otel_status"`
	Method        string            `json:"http_method,omitempty"`
	Target        string            `json:"http_target,omitempty"`
	Route         string            `json:"http_route,omitempty"`
	StatusCode    int               `json:"status_code,omitempty"`
	PeerIP        string            `json:"peer_ip,omitempty"`
	APIKeyID      string            `json:"api_key_id,omitempty"`
	UserAgent     string            `json:"user_agent,omitempty"`
	RequestBytes  int64             `json:"request_bytes,omitempty"`
	ResponseBytes int64             `json:"response_bytes,omitempty"`
	Attributes    map[string]string `json:"span_attributes"`
	Resource      map[string]string `json:"resource_attributes"`
}

// TraceResult is the answer of GET /api/v1/traces/{id}.
type TraceResult struct {
	TraceID    string      `json:"trace_id"`
	Start      time.Time   `json:"start"`
	DurationNS int64       `json:"duration_ns"`
	Services   []string    `json:"services"`
	Errors     int         `json:"errors"`
	Spans      []TraceSpan `json:"spans"`
}

func (s *Server) routeTraces(b TraceBackend) {
	h := &traceHandlers{b: b, log: s.log}
	s.handle("GET /api/v1/traces", auth.RoleViewer, h.find)
	s.handle("GET /api/v1/traces/{id}", auth.RoleViewer, h.trace)
}

type traceHandlers struct {
	b   TraceBackend
	log *slog.Logger
}

func (h *traceHandlers) trace(w http.ResponseWriter, r *http.Request) {
	res, err := h.b.Trace(r.Context(), r.PathValue("id"))
	if err != nil {
		writeError(w, h.log, err)
		return
	}
	writeJSON(w, http.StatusOK, res)
}

func (h *traceHandlers) find(w http.ResponseWriter, r *http.Request) {
	v := r.URL.Query()
	q := TraceQuery{IP: v.Get("ip"), APIKey: v.Get("key"), Endpoint: v.Get("endpoint"), Status: v.Get("status"), Service: v.Get("service")}
	if s := v.Get("since"); s != "" {
		d, err := config.ParseDuration(s)
		if err != nil || d <= 0 {
			writeError(w, h.log, fmt.Errorf("%w: since=%q: want a positive duration such as 1h or 7d", ErrBadRequest, s))
			return
		}
		q.Window = d
	}
	if s := v.Get("limit"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n <= 0 {
			writeError(w, h.log, fmt.Errorf("%w: limit=%q: want a positive number", ErrBadRequest, s))
			return
		}
		q.Limit = n
	}
	res, err := h.b.FindTraces(r.Context(), q)
	if err != nil {
		writeError(w, h.log, err)
		return
	}
	writeJSON(w, http.StatusOK, res)
}

var _ TraceBackend = (*Client)(nil)

// Trace implements TraceBackend.
func (c *Client) Trace(ctx context.Context, traceID string) (*TraceResult, error) {
	var res TraceResult
	if err := c.do(ctx, http.MethodGet, "/api/v1/traces/"+url.PathEscape(traceID), nil, &res); err != nil {
		return nil, err
	}
	return &res, nil
}

// FindTraces implements TraceBackend.
func (c *Client) FindTraces(ctx context.Context, q TraceQuery) (*TraceList, error) {
	v := url.Values{}
	for k, s := range map[string]string{"ip": q.IP, "key": q.APIKey, "endpoint": q.Endpoint, "status": q.Status, "service": q.Service} {
		if s != "" {
			v.Set(k, s)
		}
	}
	if q.Window > 0 {
		v.Set("since", windowParam(q.Window))
	}
	if q.Limit > 0 {
		v.Set("limit", strconv.Itoa(q.Limit))
	}
	path := "/api/v1/traces"
	if len(v) > 0 {
		path += "?" + v.Encode()
	}
	var res TraceList
	if err := c.do(ctx, http.MethodGet, path, nil, &res); err != nil {
		return nil, err
	}
	return &res, nil
}
