package app

import (
	"context"
	"fmt"
	"net/netip"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/tracehound/tracehound/api"
	"github.com/tracehound/tracehound/span"
	"github.com/tracehound/tracehound/store"
)

var _ api.TraceBackend = (*App)(nil)

// Trace implements api.TraceBackend.
func (a *App) Trace(ctx context.Context, traceID string) (*api.TraceResult, error) {
	id := strings.ToLower(strings.TrimSpace(traceID))
	if len(id) != 32 || strings.Trim(id, "0123456789abcdef") != "" {
		return nil, fmt.Errorf("%w: trace id %q: want 32 hexadecimal digits", api.ErrBadRequest, traceID)
	}
	spans, err := a.store.Trace(ctx, id)
	if err != nil {
		return nil, fmt.Errorf("trace %s: %w", id, err)
	}
	return traceResult(id, spans), nil
}

// traceResult lays a trace's spans out as a waterfall.
func traceResult(id string, spans []span.Span) *api.TraceResult {
	res := &api.TraceResult{TraceID: id, Spans: make([]api.TraceSpan, 0, len(spans))}
	if len(spans) == 0 {
		return res
	}
	start, end := spans[0].Timestamp, spans[0].Timestamp
	services := map[string]bool{}
	for _, s := range spans {
		if s.Timestamp.Before(start) {
			start = s.Timestamp
		}
		if e := s.Timestamp.Add(time.Duration(s.DurationNS)); e.After(end) {
			end = e
		}
		services[s.ServiceName] = true
	}
	res.Start = start
	res.DurationNS = int64(end.Sub(start))
	for name := range services {
		res.Services = append(res.Services, name)
	}
	slices.Sort(res.Services)
	for _, n := range span.Tree(spans) {
		if n.OtelStatus == "Error" || n.StatusCode >= 500 {
			res.Errors++
		}
		res.Spans = append(res.Spans, api.TraceSpan{
			SpanID: n.SpanID, ParentSpanID: n.ParentSpanID, Depth: n.Depth, Orphan: n.Orphan, Children: n.Children,
			Service: n.ServiceName, Name: n.SpanName, Kind: n.SpanKind, Start: n.Timestamp,
			OffsetNS: int64(n.Timestamp.Sub(start)), DurationNS: int64(n.DurationNS), Status: n.OtelStatus,
			Method: n.HTTPMethod, Target: n.HTTPTarget, Route: n.HTTPRoute, StatusCode: int(n.StatusCode),
			PeerIP: n.PeerIP, APIKeyID: n.APIKeyID, UserAgent: n.UserAgent,
			RequestBytes: n.RequestBytes, ResponseBytes: n.ResponseBytes,
			Attributes: attrMap(n.SpanAttributes), Resource: attrMap(n.ResourceAttributes),
		})
	}
	return res
}

func attrMap(attrs []span.Attr) map[string]string {
	m := make(map[string]string, len(attrs))
	for _, a := range attrs {
		m[a.Key] = a.Value
	}
	return m
}

// Limits of trace search.
const (
	traceSearchDefault = 100
	traceSearchMax     = 1000
	traceSearchWindow  = 24 * time.Hour
)

// FindTraces implements api.TraceBackend.
func (a *App) FindTraces(ctx context.Context, q api.TraceQuery) (*api.TraceList, error) {
	sql, args, err := traceSearchSQL(q)
	if err != nil {
		return nil, err
	}
	now := a.now()
	window := q.Window
	if window <= 0 {
		window = traceSearchWindow
	}
	limit := q.Limit
	if limit <= 0 {
		limit = traceSearchDefault
	}
	limit = min(limit, traceSearchMax)
	args = append([]any{now.Add(-window), now}, args...)
	args = append(args, limit+1)
	res, err := a.store.Query(ctx, sql, store.QueryOptions{Timeout: sqlTimeout}, args...)
	if err != nil {
		return nil, err
	}
	out := &api.TraceList{Since: now.Add(-window), Until: now, Traces: []api.TraceSummary{}}
	for i, row := range res.Rows {
		if i == limit {
			out.Truncated = true
			break
		}
		out.Traces = append(out.Traces, api.TraceSummary{
			TraceID: str(row[0]), SpanID: str(row[1]), Timestamp: tm(row[2]), Service: str(row[3]),
			Method: str(row[4]), Target: str(row[5]), Route: str(row[6]), StatusCode: int(num(row[7])),
			DurationNS: num(row[8]), PeerIP: str(row[9]), APIKeyID: str(row[10]), Bytes: num(row[11]),
		})
	}
	return out, nil
}

// traceSearchSQL builds the search query; its first two arguments are the
// window and its last the limit, which the caller adds. Every user value is
// a bound argument.
func traceSearchSQL(q api.TraceQuery) (string, []any, error) {
	var where []string
	var args []any
	if q.IP != "" {
		if p, err := netip.ParsePrefix(q.IP); err == nil {
			where = append(where, "isIPAddressInRange(peer_ip, ?)")
			args = append(args, p.Masked().String())
		} else if addr, err := netip.ParseAddr(q.IP); err == nil {
			where = append(where, "peer_ip = ?")
			args = append(args, addr.String())
		} else {
			return "", nil, fmt.Errorf("%w: ip %q is not an IP address or CIDR", api.ErrBadRequest, q.IP)
		}
	}
	if q.APIKey != "" {
		where = append(where, "api_key_id = ?")
		args = append(args, q.APIKey)
	}
	if q.Service != "" {
		where = append(where, "service_name = ?")
		args = append(args, q.Service)
	}
	if e := q.Endpoint; e != "" {
		if !strings.HasPrefix(e, "/") {
			e = "/" + e
		}
		if strings.Contains(e, "*") {
			where = append(where, `(http_path LIKE ? ESCAPE '\' OR http_path LIKE ? ESCAPE '\')`)
			like := strings.ReplaceAll(likeEscape(e), "*", "%")
			args = append(args, like, "%"+like)
		} else {
			where = append(where, "(http_path = ? OR http_route = ? OR ends_with(http_path, ?))")
			args = append(args, e, e, e)
		}
	}
	if s := strings.ToLower(strings.TrimSpace(q.Status)); s != "" {
		switch {
		case s == "error" || s == "errors":
			where = append(where, "(status_code >= 500 OR otel_status = 'Error')")
		case len(s) == 3 && s[1:] == "xx" && s[0] >= '1' && s[0] <= '5':
			lo := int(s[0]-'0') * 100
			where = append(where, "status_code BETWEEN ? AND ?")
			args = append(args, lo, lo+99)
		default:
			code, err := strconv.Atoi(s)
			if err != nil || code < 100 || code > 599 {
				return "", nil, fmt.Errorf("%w: status %q: want a code such as 404, a class such as 4xx, or error", api.ErrBadRequest, q.Status)
			}
			where = append(where, "status_code = ?")
			args = append(args, code)
		}
	}
	sql := `SELECT trace_id, span_id, timestamp, service_name, http_method, http_target, http_route,
  status_code, duration_ns, peer_ip, api_key_id, response_bytes
FROM traces
WHERE timestamp >= ? AND timestamp <= ? AND span_kind = 'Server'`
	for _, w := range where {
		sql += "\n  AND " + w
	}
	sql += "\nORDER BY timestamp DESC\nLIMIT ?"
	return sql, args, nil
}

func likeEscape(s string) string {
	return strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`).Replace(s)
}
