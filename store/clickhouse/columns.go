package clickhouse

import (
	"time"

	chcolumn "github.com/ClickHouse/clickhouse-go/v2/lib/column"

	"github.com/tracehound/tracehound/span"
)

// columns holds one insert's values column by column, in insertSQL's
// order: clickhouse-go appends a whole column at once far faster than row
// by row.
type columns struct {
	legacy                                                 bool
	ts                                                     []time.Time
	traceID, spanID, parentID, service, name, kind, status []string
	method, target, path, query, route                     []string
	peer, netPeer, server, ua, user, apiKey                []string
	duration                                               []uint64
	code                                                   []uint16
	reqBytes, respBytes                                    []int64
	spanAttrs, resAttrs                                    []attrMap
	spanKeys, spanVals, resKeys, resVals                   [][]string
}

func newColumns(n int, legacy bool) *columns {
	s := func() []string { return make([]string, 0, n) }
	c := &columns{
		legacy: legacy, ts: make([]time.Time, 0, n),
		traceID: s(), spanID: s(), parentID: s(), service: s(), name: s(), kind: s(), status: s(),
		method: s(), target: s(), path: s(), query: s(), route: s(),
		peer: s(), netPeer: s(), server: s(), ua: s(), user: s(), apiKey: s(),
		duration: make([]uint64, 0, n), code: make([]uint16, 0, n),
		reqBytes: make([]int64, 0, n), respBytes: make([]int64, 0, n),
	}
	if legacy {
		c.spanKeys, c.spanVals = make([][]string, 0, n), make([][]string, 0, n)
		c.resKeys, c.resVals = make([][]string, 0, n), make([][]string, 0, n)
	} else {
		c.spanAttrs, c.resAttrs = make([]attrMap, 0, n), make([]attrMap, 0, n)
	}
	return c
}

func (c *columns) add(sp *span.Span) {
	c.ts = append(c.ts, sp.Timestamp.UTC())
	c.traceID = append(c.traceID, sp.TraceID)
	c.spanID = append(c.spanID, sp.SpanID)
	c.parentID = append(c.parentID, sp.ParentSpanID)
	c.service = append(c.service, sp.ServiceName)
	c.name = append(c.name, sp.SpanName)
	c.kind = append(c.kind, sp.SpanKind)
	c.duration = append(c.duration, sp.DurationNS)
	c.status = append(c.status, sp.OtelStatus)
	c.method = append(c.method, sp.HTTPMethod)
	c.target = append(c.target, sp.HTTPTarget)
	c.path = append(c.path, sp.HTTPPath)
	c.query = append(c.query, sp.HTTPQuery)
	c.route = append(c.route, sp.HTTPRoute)
	c.code = append(c.code, sp.StatusCode)
	c.peer = append(c.peer, sp.PeerIP)
	c.netPeer = append(c.netPeer, sp.NetPeerIP)
	c.server = append(c.server, sp.ServerAddress)
	c.ua = append(c.ua, sp.UserAgent)
	c.reqBytes = append(c.reqBytes, sp.RequestBytes)
	c.respBytes = append(c.respBytes, sp.ResponseBytes)
	c.user = append(c.user, sp.UserID)
	c.apiKey = append(c.apiKey, sp.APIKeyID)
	if c.legacy {
		k, v := splitAttrs(sp.SpanAttributes)
		c.spanKeys, c.spanVals = append(c.spanKeys, k), append(c.spanVals, v)
		k, v = splitAttrs(sp.ResourceAttributes)
		c.resKeys, c.resVals = append(c.resKeys, k), append(c.resVals, v)
		return
	}
	c.spanAttrs = append(c.spanAttrs, attrMap(sp.SpanAttributes))
	c.resAttrs = append(c.resAttrs, attrMap(sp.ResourceAttributes))
}

func (c *columns) list() []any {
	out := []any{c.ts, c.traceID, c.spanID, c.parentID, c.service, c.name, c.kind,
		c.duration, c.status, c.method, c.target, c.path, c.query, c.route,
		c.code, c.peer, c.netPeer, c.server, c.ua, c.reqBytes,
		c.respBytes, c.user, c.apiKey}
	if c.legacy {
		return append(out, c.spanKeys, c.spanVals, c.resKeys, c.resVals)
	}
	return append(out, c.spanAttrs, c.resAttrs)
}

func splitAttrs(attrs []span.Attr) (keys, vals []string) {
	keys, vals = make([]string, len(attrs)), make([]string, len(attrs))
	for i, a := range attrs {
		keys[i], vals[i] = a.Key, a.Value
	}
	return keys, vals
}

// attrMap writes attributes into a Map column in their order, repeated
// keys included (a Map is a list of pairs; m[k] reads the first).
type attrMap []span.Attr

var _ chcolumn.IterableOrderedMap = attrMap(nil)

// Put is required by the interface; inserts never call it.
func (m attrMap) Put(key, value any) {}

// Iterator implements chcolumn.IterableOrderedMap.
func (m attrMap) Iterator() chcolumn.MapIterator { return &attrIter{attrs: m} }

type attrIter struct {
	attrs []span.Attr
	i     int
}

func (it *attrIter) Next() bool { it.i++; return it.i <= len(it.attrs) }
func (it *attrIter) Key() any   { return it.attrs[it.i-1].Key }
func (it *attrIter) Value() any { return it.attrs[it.i-1].Value }
