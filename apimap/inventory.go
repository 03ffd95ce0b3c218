package apimap

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"maps"
	"math"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/tracehound/tracehound/store"
)

// Defaults of BuildOptions.
const (
	// DefaultWindow is how much traffic an inventory covers.
	DefaultWindow = 7 * 24 * time.Hour
	// DefaultNewWithin is how recent a first request must be for the
	// endpoint to be new.
	DefaultNewWithin = 7 * 24 * time.Hour
	// BaselineGrace is how long after its service's first request an
	// endpoint's first request must come for the endpoint to be new: what
	// answers in the first hour tracehound watches a service is its
	// baseline, not news.
	BaselineGrace = time.Hour
)

// Limits of the per-endpoint breakdowns.
const (
	topCallers     = 5
	maxStatusCodes = 50
	maxQueryParams = 50
)

// BuildOptions configure Build.
type BuildOptions struct {
	// Now is the end of the window. Required: time is the caller's.
	Now time.Time
	// Window is how much traffic before Now to cover; zero means
	// DefaultWindow. Documented operations without a request in the window
	// are zombies.
	Window time.Duration
	// Service keeps one service; empty keeps all.
	Service string
	// Specs maps a service to its OpenAPI spec. A service without one has
	// no documented, shadow or zombie endpoints.
	Specs map[string]*Spec
	// Pins and DoNotMerge correct the templating, as in Options: pinned
	// templates come first, and do-not-merge paths stay literal.
	Pins       []ServicePath
	DoNotMerge []ServicePath
	// KnownFirstSeen maps endpoint ids to the earliest request an earlier
	// snapshot saw, which may predate the window.
	KnownFirstSeen map[string]time.Time
	// NewWithin is how recent a first request makes an endpoint new; zero
	// means DefaultNewWithin.
	NewWithin time.Duration
}

// Inventory is the endpoint inventory of one window.
type Inventory struct {
	Since time.Time
	Until time.Time
	// Endpoints are sorted by service, template and method.
	Endpoints []Endpoint
	// Unrouted counts what was left out: requests that the service's
	// router answered with 404 without matching a route (scanners, typos).
	// Only services that report http.route are judged so.
	Unrouted Unrouted
}

// Unrouted counts the endpoints and requests left out of an inventory
// because no route served them.
type Unrouted struct {
	Endpoints int   `json:"endpoints"`
	Requests  int64 `json:"requests"`
}

// Build makes the inventory of the HTTP server spans between
// opts.Now-opts.Window and opts.Now.
//
// It aggregates in SQL and templates in Go: a first query returns the
// distinct request shapes (service, host, method, route, and the path with
// its integer and UUID segments collapsed; see sql/path_key.sql), the
// Templater turns them into endpoints, and three more queries aggregate
// every span by endpoint (counts, callers, bytes, latency, status codes,
// query parameters), joining each span to its endpoint through the shape.
// Endpoints whose templates differ only in parameter names are one
// endpoint, named by the better source (pin, route, spec, classifier,
// trie). Then each endpoint is tagged, compared with its service's spec,
// and scored.
func Build(ctx context.Context, q store.Querier, opts BuildOptions) (*Inventory, error) {
	if opts.Now.IsZero() {
		return nil, errors.New("build inventory: BuildOptions.Now is required")
	}
	window := cmp.Or(opts.Window, DefaultWindow)
	inv := &Inventory{Since: opts.Now.Add(-window).UTC(), Until: opts.Now.UTC(), Endpoints: []Endpoint{}}

	obs, keys, err := queryObservations(ctx, q, inv.Since, inv.Until, opts.Service)
	if err != nil {
		return nil, err
	}
	tpl, err := NewTemplater(Options{Specs: opts.Specs, Pins: opts.Pins, DoNotMerge: opts.DoNotMerge})
	if err != nil {
		return nil, fmt.Errorf("build inventory: %w", err)
	}
	b := newBuilder(obs, tpl.Template(obs))
	if len(b.eps) > 0 {
		shapeEndpoints := make([]int32, len(keys))
		for i := range keys {
			shapeEndpoints[i] = int32(b.endpointOf[i])
		}
		if err := b.queryStats(ctx, q, keys, shapeEndpoints, inv.Since, inv.Until); err != nil {
			return nil, err
		}
		if err := b.queryBreakdown(ctx, q, keys, shapeEndpoints, inv.Since, inv.Until); err != nil {
			return nil, err
		}
		if err := b.queryParams(ctx, q, keys, shapeEndpoints, inv.Since, inv.Until); err != nil {
			return nil, err
		}
	}
	for i := range b.eps {
		e := &b.eps[i]
		if b.unrouted(i) {
			inv.Unrouted.Endpoints++
			inv.Unrouted.Requests += e.Hits
			continue
		}
		inv.Endpoints = append(inv.Endpoints, *e)
	}
	inv.Endpoints = append(inv.Endpoints, diffSpecs(inv.Endpoints, opts.Specs, opts.Service, inv.Until, window)...)
	for i := range inv.Endpoints {
		tagEndpoint(&inv.Endpoints[i], b.pathSensitive[inv.Endpoints[i].ID])
	}
	markNew(inv.Endpoints, opts.KnownFirstSeen, inv.Until.Add(-cmp.Or(opts.NewWithin, DefaultNewWithin)))
	for i := range inv.Endpoints {
		e := &inv.Endpoints[i]
		e.RiskScore, e.RiskFactors = Risk(e)
	}
	slices.SortFunc(inv.Endpoints, func(a, b Endpoint) int {
		return cmp.Or(strings.Compare(a.Service, b.Service), strings.Compare(a.Template, b.Template), strings.Compare(a.Method, b.Method))
	})
	return inv, nil
}

// CheckCorrections reports the first pin or do-not-merge path that Build
// cannot honour: one that NewTemplater refuses, or one with a literal
// segment that Build groups with its siblings before any template is
// tried (an integer of 2 to 9 digits or a UUID; see sql/path_key.sql), so
// that unrouted traffic would never match it.
func CheckCorrections(pins, doNotMerge []ServicePath) error {
	if _, err := NewTemplater(Options{Pins: pins, DoNotMerge: doNotMerge}); err != nil {
		return err
	}
	for _, p := range pins {
		if seg, kind, ok := groupedSegment(p.Path); ok {
			return fmt.Errorf("pin %q for service %q: segment %q is %s, which the inventory groups with its siblings before templating; make it a parameter", p.Path, p.Service, seg, kind)
		}
	}
	for _, p := range doNotMerge {
		if seg, kind, ok := groupedSegment(p.Path); ok {
			return fmt.Errorf("do-not-merge path %q for service %q: segment %q is %s, which the inventory groups with its siblings before templating, so it cannot stay literal", p.Path, p.Service, seg, kind)
		}
	}
	return nil
}

// groupedSegment returns the first segment of path that sql/path_key.sql
// replaces with a fixed value, and what it is.
func groupedSegment(path string) (seg, kind string, ok bool) {
	for seg := range strings.SplitSeq(path, "/") {
		switch {
		case len(seg) >= 2 && len(seg) <= 9 && allDigits(seg):
			return seg, "an integer", true
		case len(seg) == 36 && isDashedUUID(seg):
			return seg, "a UUID", true
		}
	}
	return "", "", false
}

// Services returns the services with HTTP server spans in the store,
// sorted.
func Services(ctx context.Context, q store.Querier) ([]string, error) {
	res, err := q.Query(ctx, sqlFor(q, "services.sql", servicesSQL), store.QueryOptions{})
	if err != nil {
		return nil, fmt.Errorf("list services: %w", err)
	}
	out := make([]string, 0, len(res.Rows))
	for _, row := range res.Rows {
		s, _ := row[0].(string)
		out = append(out, s)
	}
	return out, nil
}

// queryObservations returns the window's request shapes and, in the same
// order, their keys.
func queryObservations(ctx context.Context, q store.Querier, since, until time.Time, service string) ([]Observation, []uint64, error) {
	res, err := q.Query(ctx, sqlFor(q, "observations.sql", observationsSQL), store.QueryOptions{}, since, until, service, service)
	if err != nil {
		return nil, nil, fmt.Errorf("build inventory: observations: %w", err)
	}
	r, err := newRows(res, "service_name", "server_address", "http_method", "http_route", "path_key", "sample_path", "shape_key", "hits", "has_2xx")
	if err != nil {
		return nil, nil, fmt.Errorf("build inventory: observations: %w", err)
	}
	obs := make([]Observation, len(res.Rows))
	keys := make([]uint64, len(res.Rows))
	seen := make(map[uint64]bool, len(res.Rows))
	for i, row := range res.Rows {
		obs[i] = Observation{
			Service: r.str(row, "service_name"),
			Host:    r.str(row, "server_address"),
			Method:  r.str(row, "http_method"),
			Route:   r.str(row, "http_route"),
			Path:    cmp.Or(r.str(row, "path_key"), r.str(row, "sample_path")),
			Hits:    r.int(row, "hits"),
			Has2xx:  r.bool(row, "has_2xx"),
		}
		keys[i] = r.uint(row, "shape_key")
		if seen[keys[i]] {
			return nil, nil, fmt.Errorf("build inventory: two request shapes hash to %d", keys[i])
		}
		seen[keys[i]] = true
	}
	if r.err != nil {
		return nil, nil, fmt.Errorf("build inventory: observations: %w", r.err)
	}
	return obs, keys, nil
}

// builder turns templated observations into endpoints and fills in what
// the aggregate queries return.
type builder struct {
	eps []Endpoint
	// endpointOf maps each observation to its endpoint in eps.
	endpointOf []int
	// routed marks endpoints some of whose spans had an http.route, and
	// routedService the services that report http.route at all.
	routed        []bool
	routedService map[string]bool
	// pathSensitive holds the sensitive kinds seen in each endpoint's raw
	// paths, by endpoint id.
	pathSensitive map[string][]SegmentKind
}

func newBuilder(obs []Observation, results []Result) *builder {
	type key struct{ service, method, shape string }
	type best struct {
		result Result
		hits   int64
	}
	b := &builder{endpointOf: make([]int, len(obs)), routedService: map[string]bool{}, pathSensitive: map[string][]SegmentKind{}}
	index := map[key]int{}
	var bests []best
	var hosts []map[string]bool
	var sensitive [][]SegmentKind
	for i, o := range obs {
		r := results[i]
		k := key{o.Service, r.Method, templateShape(r.Template)}
		j, ok := index[k]
		if !ok {
			j = len(bests)
			index[k] = j
			bests = append(bests, best{result: r})
			hosts = append(hosts, map[string]bool{})
			sensitive = append(sensitive, nil)
			b.routed = append(b.routed, false)
			b.eps = append(b.eps, Endpoint{Service: o.Service, Method: r.Method})
		}
		b.endpointOf[i] = j
		if r.Source < bests[j].result.Source || r.Source == bests[j].result.Source && o.Hits > bests[j].hits {
			bests[j] = best{result: r, hits: o.Hits}
		}
		if o.Host != "" {
			hosts[j][o.Host] = true
		}
		for _, s := range r.Sensitive {
			if !slices.Contains(sensitive[j], s) {
				sensitive[j] = append(sensitive[j], s)
			}
		}
		if o.Route != "" {
			b.routed[j] = true
			b.routedService[o.Service] = true
		}
	}
	for j := range b.eps {
		e := &b.eps[j]
		r := bests[j].result
		e.Template, e.Source = r.Template, r.Source
		e.ID = EndpointID(e.Service, e.Method, e.Template)
		e.Hosts = slices.Sorted(maps.Keys(hosts[j]))
		e.PathParams = make([]PathParam, len(r.Params))
		for p, tp := range r.Params {
			e.PathParams[p] = PathParam{Name: tp.Name, Kind: tp.Kind}
		}
		b.pathSensitive[e.ID] = sensitive[j]
	}
	return b
}

// templateShape blanks a template's parameter names, so that
// /documents/{id} and /documents/{document_id} are one endpoint.
func templateShape(template string) string {
	var sb strings.Builder
	for seg := range strings.SplitSeq(template, "/") {
		if strings.HasPrefix(seg, "{") && strings.HasSuffix(seg, "}") {
			seg = "{}"
		}
		sb.WriteString(seg)
		sb.WriteByte('/')
	}
	return sb.String()
}

// unrouted reports whether endpoint i is traffic no route served: every
// answer a 404, no span with an http.route, in a service whose other spans
// have one.
func (b *builder) unrouted(i int) bool {
	e := &b.eps[i]
	return !b.routed[i] && b.routedService[e.Service] && e.Hits > 0 && e.Status.Codes[404] == e.Hits
}

func (b *builder) queryStats(ctx context.Context, q store.Querier, keys []uint64, eps []int32, since, until time.Time) error {
	res, err := q.Query(ctx, sqlFor(q, "stats.sql", statsSQL), store.QueryOptions{}, keys, eps, since, until)
	if err != nil {
		return fmt.Errorf("build inventory: endpoint statistics: %w", err)
	}
	r, err := newRows(res, "endpoint", "hits", "first_seen", "last_seen", "status_2xx", "status_3xx", "status_4xx", "status_5xx",
		"bytes_in", "bytes_out", "avg_response_bytes", "max_response_bytes", "latency_ns",
		"unauthenticated", "unauthenticated_2xx", "unauthenticated_denied")
	if err != nil {
		return fmt.Errorf("build inventory: endpoint statistics: %w", err)
	}
	for _, row := range res.Rows {
		e := b.endpoint(r, row)
		if e == nil {
			continue
		}
		e.Hits = r.int(row, "hits")
		e.FirstSeen, e.LastSeen = r.time(row, "first_seen"), r.time(row, "last_seen")
		e.Status.Class2xx, e.Status.Class3xx = r.int(row, "status_2xx"), r.int(row, "status_3xx")
		e.Status.Class4xx, e.Status.Class5xx = r.int(row, "status_4xx"), r.int(row, "status_5xx")
		e.Bytes = Bytes{
			In:          r.int(row, "bytes_in"),
			Out:         r.int(row, "bytes_out"),
			AvgResponse: int64(math.Round(r.float(row, "avg_response_bytes"))),
			MaxResponse: r.int(row, "max_response_bytes"),
		}
		if lat := r.floats(row, "latency_ns"); len(lat) == 3 {
			e.Latency = Latency{P50: nsToMS(lat[0]), P95: nsToMS(lat[1]), P99: nsToMS(lat[2])}
		}
		e.Auth = Auth{
			Unauthenticated:       r.int(row, "unauthenticated"),
			Unauthenticated2xx:    r.int(row, "unauthenticated_2xx"),
			UnauthenticatedDenied: r.int(row, "unauthenticated_denied"),
		}
		e.Auth.State = AuthStateOf(e.Auth.Unauthenticated2xx, e.Auth.UnauthenticatedDenied)
	}
	if r.err != nil {
		return fmt.Errorf("build inventory: endpoint statistics: %w", r.err)
	}
	return nil
}

// nsToMS converts nanoseconds to milliseconds, to the microsecond.
func nsToMS(ns float64) float64 { return math.Round(ns/1e3) / 1e3 }

func (b *builder) queryBreakdown(ctx context.Context, q store.Querier, keys []uint64, eps []int32, since, until time.Time) error {
	res, err := q.Query(ctx, sqlFor(q, "breakdown.sql", breakdownSQL), store.QueryOptions{}, keys, eps, since, until, maxStatusCodes, topCallers)
	if err != nil {
		return fmt.Errorf("build inventory: callers and status codes: %w", err)
	}
	r, err := newRows(res, "endpoint", "dimension", "value", "hits", "distinct_values")
	if err != nil {
		return fmt.Errorf("build inventory: callers and status codes: %w", err)
	}
	for _, row := range res.Rows {
		e := b.endpoint(r, row)
		if e == nil {
			continue
		}
		value, hits := r.str(row, "value"), r.int(row, "hits")
		switch r.str(row, "dimension") {
		case "ip":
			e.Callers.IPs = r.int(row, "distinct_values")
			if value != "" {
				e.Callers.TopIPs = append(e.Callers.TopIPs, Caller{ID: value, Hits: hits})
			}
		case "api_key":
			e.Callers.APIKeys = r.int(row, "distinct_values")
			if value != "" {
				e.Callers.TopAPIKeys = append(e.Callers.TopAPIKeys, Caller{ID: value, Hits: hits})
			}
		case "status":
			code, err := strconv.Atoi(value)
			if err != nil {
				return fmt.Errorf("build inventory: status code %q: %w", value, err)
			}
			if e.Status.Codes == nil {
				e.Status.Codes = map[int]int64{}
			}
			e.Status.Codes[code] = hits
		}
	}
	if r.err != nil {
		return fmt.Errorf("build inventory: callers and status codes: %w", r.err)
	}
	for i := range b.eps {
		e := &b.eps[i]
		byHits := func(a, b Caller) int { return cmp.Or(cmp.Compare(b.Hits, a.Hits), strings.Compare(a.ID, b.ID)) }
		slices.SortFunc(e.Callers.TopIPs, byHits)
		slices.SortFunc(e.Callers.TopAPIKeys, byHits)
	}
	return nil
}

// paramCounts classifies the values of one query parameter that the
// service accepted (answered with a 2xx).
type paramCounts struct {
	hits, accepted, integers, decimals, booleans, uuids int64
}

// schemaType is the JSON Schema type that every accepted value fits, so
// that a probe with page=abc, refused with a 400, leaves page an integer.
// Without accepted values it is a string.
func (c paramCounts) schemaType() (typ, format string) {
	switch n := c.accepted; {
	case n == 0:
		return "string", ""
	case c.integers == n:
		return "integer", ""
	case c.integers+c.decimals == n:
		return "number", ""
	case c.booleans == n:
		return "boolean", ""
	case c.uuids == n:
		return "string", "uuid"
	}
	return "string", ""
}

func (b *builder) queryParams(ctx context.Context, q store.Querier, keys []uint64, eps []int32, since, until time.Time) error {
	res, err := q.Query(ctx, sqlFor(q, "params.sql", paramsSQL), store.QueryOptions{}, keys, eps, since, until, maxQueryParams)
	if err != nil {
		return fmt.Errorf("build inventory: query parameters: %w", err)
	}
	r, err := newRows(res, "endpoint", "name", "hits", "accepted_values", "integers", "decimals", "booleans", "uuids")
	if err != nil {
		return fmt.Errorf("build inventory: query parameters: %w", err)
	}
	// Names are merged after percent-decoding: page and %70age are one.
	counts := map[*Endpoint]map[string]*paramCounts{}
	for _, row := range res.Rows {
		e := b.endpoint(r, row)
		if e == nil {
			continue
		}
		name := r.str(row, "name")
		if dec, err := url.QueryUnescape(name); err == nil {
			name = dec
		}
		if counts[e] == nil {
			counts[e] = map[string]*paramCounts{}
		}
		c := counts[e][name]
		if c == nil {
			c = &paramCounts{}
			counts[e][name] = c
		}
		c.hits += r.int(row, "hits")
		c.accepted += r.int(row, "accepted_values")
		c.integers += r.int(row, "integers")
		c.decimals += r.int(row, "decimals")
		c.booleans += r.int(row, "booleans")
		c.uuids += r.int(row, "uuids")
	}
	if r.err != nil {
		return fmt.Errorf("build inventory: query parameters: %w", r.err)
	}
	for e, byName := range counts {
		for name, c := range byName {
			typ, format := c.schemaType()
			e.QueryParams = append(e.QueryParams, QueryParam{Name: name, Hits: c.hits, Type: typ, Format: format})
		}
		slices.SortFunc(e.QueryParams, func(a, b QueryParam) int {
			return cmp.Or(cmp.Compare(b.Hits, a.Hits), strings.Compare(a.Name, b.Name))
		})
	}
	return nil
}

// endpoint returns the endpoint a result row is about.
func (b *builder) endpoint(r *rows, row []any) *Endpoint {
	i := r.int(row, "endpoint")
	if i < 0 || int(i) >= len(b.eps) {
		r.fail(fmt.Errorf("endpoint index %d out of range", i))
		return nil
	}
	return &b.eps[i]
}

// diffSpecs compares each service that has a spec with its endpoints:
// it marks documented, shadow, deprecated and drifting endpoints in place
// and returns the unused documented operations as endpoints without
// traffic. With service set, only that service's spec is compared.
func diffSpecs(eps []Endpoint, specs map[string]*Spec, service string, now time.Time, window time.Duration) []Endpoint {
	byService := map[string][]int{}
	for i := range eps {
		byService[eps[i].Service] = append(byService[eps[i].Service], i)
	}
	var zombies []Endpoint
	for _, svc := range slices.Sorted(maps.Keys(specs)) {
		spec := specs[svc]
		if spec == nil || service != "" && svc != service {
			continue
		}
		idx := byService[svc]
		observed := make([]InventoryEndpoint, len(idx))
		byID := make(map[string]*Endpoint, len(idx))
		for n, i := range idx {
			e := &eps[i]
			byID[e.ID] = e
			observed[n] = InventoryEndpoint{
				Service: e.Service, Method: e.Method, Template: e.Template, Hits: e.Hits,
				FirstSeen: e.FirstSeen, LastSeen: e.LastSeen, StatusCodes: e.Status.Codes, QueryParams: queryParamNames(e),
			}
			if op, ok := spec.Match(e.Method, e.Template); ok {
				e.Documented, e.OperationID = true, op.OperationID
				if op.Deprecated && e.Hits > 0 {
					e.Zombie, e.ZombieKind = true, ZombieDeprecatedLive
				}
			}
		}
		d := DiffSpec(spec, observed, DiffOptions{Now: now, Window: window})
		for _, s := range d.Shadow {
			e := byID[EndpointID(s.Endpoint.Service, s.Endpoint.Method, s.Endpoint.Template)]
			e.Shadow, e.ShadowReason = true, s.Reason
		}
		for _, dr := range d.Drift {
			e := byID[EndpointID(dr.Endpoint.Service, dr.Endpoint.Method, dr.Endpoint.Template)]
			e.Drift = append(e.Drift, DriftItem{Kind: dr.Kind, SpecPath: dr.SpecPath, Values: dr.Values})
		}
		for _, z := range d.Zombies {
			if z.Kind != ZombieUnused {
				continue
			}
			zombies = append(zombies, Endpoint{
				ID: EndpointID(svc, z.Operation.Method, z.Operation.Path), Service: svc,
				Method: z.Operation.Method, Template: z.Operation.Path, Hosts: []string{}, PathParams: specPathParams(spec, z.Operation.Path),
				Documented: true, OperationID: z.Operation.OperationID, Zombie: true, ZombieKind: ZombieUnused,
				Auth: Auth{State: AuthUnknown},
			})
		}
	}
	return zombies
}

// specPathParams returns the typed parameters of one of the spec's
// templates.
func specPathParams(spec *Spec, template string) []PathParam {
	out := []PathParam{}
	for _, p := range spec.paths {
		if p.template == template {
			for _, tp := range p.params {
				out = append(out, PathParam{Name: tp.Name, Kind: tp.Kind})
			}
			break
		}
	}
	return out
}

func queryParamNames(e *Endpoint) []string {
	names := make([]string, len(e.QueryParams))
	for i, p := range e.QueryParams {
		names[i] = p.Name
	}
	return names
}

// tagEndpoint tags an endpoint and normalises its empty collections, so that
// JSON has [] and {} rather than null.
func tagEndpoint(e *Endpoint, pathSensitive []SegmentKind) {
	c := ClassifyEndpoint(EndpointFacts{
		Method: e.Method, Template: e.Template, QueryParams: queryParamNames(e), PathSensitive: pathSensitive,
		MeanResponseBytes: e.Bytes.AvgResponse, MaxResponseBytes: e.Bytes.MaxResponse,
	})
	e.Tags, e.Sensitivity, e.Evidence = []Tag{}, []Tag{}, map[Tag][]string{}
	for _, ev := range c.Functions {
		e.Tags = append(e.Tags, ev.Tag)
		e.Evidence[ev.Tag] = ev.Reasons
	}
	for _, ev := range c.Sensitivity {
		e.Sensitivity = append(e.Sensitivity, ev.Tag)
		e.Evidence[ev.Tag] = ev.Reasons
	}
	if e.Status.Codes == nil {
		e.Status.Codes = map[int]int64{}
	}
	if e.Callers.TopIPs == nil {
		e.Callers.TopIPs = []Caller{}
	}
	if e.Callers.TopAPIKeys == nil {
		e.Callers.TopAPIKeys = []Caller{}
	}
	if e.QueryParams == nil {
		e.QueryParams = []QueryParam{}
	}
}

// markNew moves each endpoint's first seen back to what earlier snapshots
// knew and sets New for endpoints first seen at or after newSince and at
// least BaselineGrace after their service's first request.
func markNew(eps []Endpoint, known map[string]time.Time, newSince time.Time) {
	serviceFirst := map[string]time.Time{}
	for i := range eps {
		e := &eps[i]
		if e.Hits == 0 {
			continue
		}
		if k, ok := known[e.ID]; ok && k.Before(e.FirstSeen) {
			e.FirstSeen = k.UTC()
		}
		if f, ok := serviceFirst[e.Service]; !ok || e.FirstSeen.Before(f) {
			serviceFirst[e.Service] = e.FirstSeen
		}
	}
	for i := range eps {
		e := &eps[i]
		e.New = e.Hits > 0 && !e.FirstSeen.Before(newSince) && e.FirstSeen.Sub(serviceFirst[e.Service]) >= BaselineGrace
	}
}
