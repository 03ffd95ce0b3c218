package detect

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/tracehound/tracehound/store"
)

// runner runs queries and counts them.
type runner struct {
	q store.Querier
	n int
}

func (r *runner) query(ctx context.Context, sql string, args ...any) (*store.Result, error) {
	r.n++
	res, err := r.q.Query(ctx, sql, store.QueryOptions{}, args...)
	if err != nil {
		return nil, err
	}
	return res, nil
}

// row reads result columns by name.
type row struct {
	cols map[string]int
	vals []any
}

func columns(res *store.Result) map[string]int {
	m := make(map[string]int, len(res.Columns))
	for i, c := range res.Columns {
		m[c] = i
	}
	return m
}

func (r row) val(name string) any {
	i, ok := r.cols[name]
	if !ok {
		panic("detect: no column " + name) // the queries are ours
	}
	return r.vals[i]
}

func (r row) str(name string) string {
	s, _ := r.val(name).(string)
	return s
}

func (r row) int(name string) int64 {
	n, _ := store.AsInt64(r.val(name))
	return n
}

func (r row) float(name string) float64 {
	f, _ := store.AsFloat64(r.val(name))
	return f
}

func (r row) time(name string) time.Time {
	t, _ := r.val(name).(time.Time)
	return t.UTC()
}

// epochDay is the start of day d counted from the Unix epoch.
func epochDay(d int64) time.Time { return time.UnixMilli(d * 86_400_000).UTC() }

// epochHour is the start of hour h counted from the Unix epoch.
func epochHour(h int64) time.Time { return time.UnixMilli(h * 3_600_000).UTC() }

// counts are the request counts of a group of requests.
type counts struct {
	Requests, Bytes                        int64
	OK, S401, S403, S404, S429, S4xx, S5xx int64
	First, Last                            time.Time
	Paths404, Unrouted404, FailUsers       int64
}

func (c *counts) read(r row) {
	c.Requests, c.Bytes = r.int("requests"), r.int("bytes")
	c.OK, c.S401, c.S403, c.S404 = r.int("ok"), r.int("s401"), r.int("s403"), r.int("s404")
	c.S429, c.S4xx, c.S5xx = r.int("s429"), r.int("s4xx"), r.int("s5xx")
	c.First, c.Last = usTime(r, "first_us"), usTime(r, "last_us")
	c.Paths404, c.Unrouted404 = r.int("paths_404"), r.int("unrouted_404")
	c.FailUsers = r.int("failed_users")
}

func (c *counts) add(o *counts) {
	c.Requests += o.Requests
	c.Bytes += o.Bytes
	c.OK += o.OK
	c.S401 += o.S401
	c.S403 += o.S403
	c.S404 += o.S404
	c.S429 += o.S429
	c.S4xx += o.S4xx
	c.S5xx += o.S5xx
	if c.First.IsZero() || (!o.First.IsZero() && o.First.Before(c.First)) {
		c.First = o.First
	}
	if o.Last.After(c.Last) {
		c.Last = o.Last
	}
}

func (c *counts) status() StatusMix {
	return StatusMix{
		OK: c.OK, ClientErrors: c.S4xx, ServerErrors: c.S5xx, Unauthorized: c.S401,
		Forbidden: c.S403, NotFound: c.S404, TooMany: c.S429,
	}
}

// endpointStat is a caller's traffic to one endpoint.
type endpointStat struct {
	ep endpoint
	counts
	facts    *EndpointFacts
	authLike bool
}

// ipUse is a caller's traffic from one client address.
type ipUse struct {
	ip          string
	requests    int64
	first, last time.Time
}

// callerData is everything read about one caller.
type callerData struct {
	caller    Caller
	requested bool // investigated, not only a co-user of a key
	total     counts
	endpoints []*endpointStat // by requests, most first
	keys      map[string]int64
	uas       map[string]int64
	ips       []ipUse
	days      map[time.Time]int64
	hours     [24]int64

	seqs []*sequence // pulled request sequences, by endpoint
	an   analysis
}

// readCallers reads, in one query, the profiles of callers of one kind
// and the request sequences of their busiest endpoints, at most limit
// requests each.
func readCallers(ctx context.Context, r *runner, kind CallerKind, values []string, since, until time.Time, limit int) (map[string]*callerData, error) {
	out := map[string]*callerData{}
	if len(values) == 0 {
		return out, nil
	}
	inCallers, callerArgs := inColumn(kind.column(), values)
	q := sqlText("callers", map[string]string{
		"caller": kind.column(), "template": templateSQL, "min_sequence": strconv.Itoa(minSequence),
		"in_callers": inCallers,
	})
	res, err := r.query(ctx, q, append(append([]any{since, until}, callerArgs...), limit)...)
	if err != nil {
		return nil, fmt.Errorf("read the callers' traffic: %w", err)
	}
	cols := columns(res)
	get := func(v string) *callerData {
		cd := out[v]
		if cd == nil {
			cd = &callerData{caller: Caller{Kind: kind, Value: v}, keys: map[string]int64{}, uas: map[string]int64{}, days: map[time.Time]int64{}}
			out[v] = cd
		}
		return cd
	}
	epOf := func(rw row) endpoint {
		ep := endpoint{Service: rw.str("svc"), Method: rw.str("method"), Route: rw.str("route"), Routed: true}
		if ep.Route == "" {
			ep.Route, ep.Routed = rw.str("tmpl"), false
		}
		return ep
	}
	var seq *sequence
	var seqOwner *callerData
	for _, vals := range res.Rows {
		rw := row{cols, vals}
		cd := get(rw.str("caller"))
		if rw.str("part") == "sequence" {
			ep := epOf(rw)
			if seq == nil || seqOwner != cd || seq.ep != ep {
				seq, seqOwner = &sequence{ep: ep, limit: limit}, cd
				cd.seqs = append(cd.seqs, seq)
			}
			if len(seq.reqs) >= limit {
				continue
			}
			target := rw.str("http_target")
			path, _, _ := strings.Cut(target, "?")
			seq.reqs = append(seq.reqs, request{
				at: time.UnixMicro(rw.int("us")).UTC(), path: path, target: target,
				status: rw.int("status_code"), bytes: rw.int("response_bytes"),
			})
			continue
		}
		n := rw.int("requests")
		switch rw.str("kind") {
		case "endpoint":
			es := &endpointStat{ep: epOf(rw)}
			es.read(rw)
			es.authLike = authLike(es.ep.Route)
			cd.endpoints = append(cd.endpoints, es)
			cd.total.add(&es.counts)
			cd.total.Paths404 += es.Paths404
			cd.total.Unrouted404 += es.Unrouted404
		case "api_key":
			cd.keys[rw.str("api_key_id")] += n
		case "user_agent":
			cd.uas[rw.str("user_agent")] += n
		case "ip":
			cd.ips = append(cd.ips, ipUse{ip: rw.str("peer_ip"), requests: n, first: usTime(rw, "first_us"), last: usTime(rw, "last_us")})
		case "day":
			cd.days[epochDay(rw.int("day"))] += n
		case "hour":
			if h := rw.int("hour"); h >= 0 && h < 24 {
				cd.hours[h] += n
			}
		}
	}
	for _, cd := range out {
		slices.SortFunc(cd.endpoints, func(a, b *endpointStat) int {
			if a.Requests != b.Requests {
				return cmpInt(b.Requests, a.Requests)
			}
			return cmpString(a.ep.key(), b.ep.key())
		})
		slices.SortFunc(cd.ips, func(a, b ipUse) int {
			if a.requests != b.requests {
				return cmpInt(b.requests, a.requests)
			}
			return cmpString(a.ip, b.ip)
		})
		for _, s := range cd.seqs {
			for _, es := range cd.endpoints {
				if es.ep == s.ep {
					s.total = es.Requests
				}
			}
			s.truncated = s.total > int64(len(s.reqs))
			s.limit = len(s.reqs)
		}
	}
	return out, nil
}

func usTime(rw row, name string) time.Time {
	if rw.val(name) == nil {
		return time.Time{}
	}
	return time.UnixMicro(rw.int(name)).UTC()
}

func cmpInt(a, b int64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

func cmpString(a, b string) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// topKey returns the key the caller used for most requests ("" for none)
// and its share of the caller's requests.
func (cd *callerData) topKey() (string, float64) {
	best, n := "", int64(0)
	for k, c := range cd.keys {
		if k != "" && (c > n || (c == n && k < best)) {
			best, n = k, c
		}
	}
	if cd.total.Requests == 0 {
		return best, 0
	}
	return best, float64(n) / float64(cd.total.Requests)
}

// sortedCounts returns the keys of m by count, most first.
func sortedCounts(m map[string]int64) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	slices.SortFunc(out, func(a, b string) int {
		if m[a] != m[b] {
			return cmpInt(m[b], m[a])
		}
		return cmpString(a, b)
	})
	return out
}
