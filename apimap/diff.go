package apimap

import (
	"cmp"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"
)

// InventoryEndpoint is one observed endpoint as the API map stores it.
type InventoryEndpoint struct {
	Service  string
	Method   string
	Template string
	// Hits counts requests in the caller's window.
	Hits      int64
	FirstSeen time.Time
	LastSeen  time.Time
	// StatusCodes counts requests by response status code.
	StatusCodes map[int]int64
	// QueryParams are the query parameter names seen, in any order.
	QueryParams []string
}

// DiffOptions configure DiffSpec.
type DiffOptions struct {
	// Now is the end of the zombie window. Required: time is the caller's.
	Now time.Time
	// Window is how long a documented operation may go without traffic
	// before it is a zombie; zero means DefaultZombieWindow.
	Window time.Duration
}

// DefaultZombieWindow is the zombie window when DiffOptions leaves it zero
// (Cloudflare uses 32 days; 30 is the proposal in discovery.md).
const DefaultZombieWindow = 30 * 24 * time.Hour

// minShadowHits is how many requests make an endpoint a shadow even when
// every answer was a 4xx: a handful of 404 probes is noise, steady traffic
// is not.
const minShadowHits = 5

// SpecDiff is what traffic says about a spec. Every list is sorted by
// template, then method (zombies by operation path, then method).
type SpecDiff struct {
	Shadow  []Shadow
	Zombies []Zombie
	Drift   []Drift
}

// ShadowReason says why an observed endpoint matches no operation.
type ShadowReason uint8

// The shadow reasons.
const (
	// ShadowPathUndocumented: no spec path matches the template.
	ShadowPathUndocumented ShadowReason = iota + 1
	// ShadowMethodUndocumented: the path is documented, the method is not.
	ShadowMethodUndocumented
)

// String returns the reason's name, as used in JSON.
func (r ShadowReason) String() string {
	switch r {
	case ShadowPathUndocumented:
		return "path_undocumented"
	case ShadowMethodUndocumented:
		return "method_undocumented"
	}
	return "unknown"
}

// MarshalText encodes the reason as its name.
func (r ShadowReason) MarshalText() ([]byte, error) { return []byte(r.String()), nil }

// UnmarshalText decodes a reason from its name.
func (r *ShadowReason) UnmarshalText(text []byte) error {
	return unmarshalName(r, text, ShadowPathUndocumented, ShadowMethodUndocumented, "shadow reason")
}

// Shadow is an observed endpoint that the spec does not document and that
// has real traffic: at least one response other than a 4xx, or at least five
// requests.
type Shadow struct {
	Endpoint InventoryEndpoint
	Reason   ShadowReason
}

// ZombieKind says which kind of zombie an operation is.
type ZombieKind uint8

// The zombie kinds.
const (
	// ZombieUnused: documented, but no request in the window.
	ZombieUnused ZombieKind = iota + 1
	// ZombieDeprecatedLive: deprecated, yet still called in the window. The
	// riskier of the two: a deprecated operation is often unmaintained.
	ZombieDeprecatedLive
)

// String returns the kind's name, as used in JSON.
func (k ZombieKind) String() string {
	switch k {
	case ZombieUnused:
		return "unused"
	case ZombieDeprecatedLive:
		return "deprecated_live"
	}
	return "unknown"
}

// MarshalText encodes the kind as its name.
func (k ZombieKind) MarshalText() ([]byte, error) { return []byte(k.String()), nil }

// UnmarshalText decodes a kind from its name.
func (k *ZombieKind) UnmarshalText(text []byte) error {
	return unmarshalName(k, text, ZombieUnused, ZombieDeprecatedLive, "zombie kind")
}

// Zombie is a documented operation that traffic contradicts.
type Zombie struct {
	Operation Operation
	Kind      ZombieKind
	// Hits counts the operation's requests in the window. LastSeen is the
	// latest request seen, in the window or before it; zero when none was.
	Hits     int64
	LastSeen time.Time
}

// DriftKind says how traffic departs from a documented operation.
type DriftKind uint8

// The drift kinds.
const (
	// DriftMethod: a method the documented path does not list.
	DriftMethod DriftKind = iota + 1
	// DriftStatus: response codes the operation does not document.
	DriftStatus
	// DriftQueryParam: query parameters the operation does not document.
	DriftQueryParam
)

// String returns the kind's name, as used in JSON.
func (k DriftKind) String() string {
	switch k {
	case DriftMethod:
		return "method"
	case DriftStatus:
		return "status"
	case DriftQueryParam:
		return "query_param"
	}
	return "unknown"
}

// MarshalText encodes the kind as its name.
func (k DriftKind) MarshalText() ([]byte, error) { return []byte(k.String()), nil }

// UnmarshalText decodes a kind from its name.
func (k *DriftKind) UnmarshalText(text []byte) error {
	return unmarshalName(k, text, DriftMethod, DriftQueryParam, "drift kind")
}

// Drift is one way an endpoint on a documented path departs from the spec.
type Drift struct {
	Endpoint InventoryEndpoint
	Kind     DriftKind
	// SpecPath is the documented template the endpoint matched.
	SpecPath string
	// Values are what is undocumented, sorted: the method, the status codes
	// or the query parameter names.
	Values []string
}

// DiffSpec compares observed endpoints, typically those of the spec's
// service, with a non-nil spec. Endpoints are matched by method and template
// as a router would (see Spec.Match); endpoints with no hits are ignored.
//
//   - Shadow: an endpoint that matches no operation, because its path or its
//     method is undocumented, and that has at least one non-4xx response or
//     at least five requests. OPTIONS on a documented path is a CORS
//     preflight, not a shadow, and HEAD is served wherever GET is.
//   - Zombie: a documented operation with no request since Now-Window
//     (unused), or a deprecated one with requests in the window
//     (deprecated_live).
//   - Drift: on a documented path, an undocumented method (such an endpoint
//     is also a shadow once it has real traffic), and on a documented
//     operation, undocumented status codes or query parameters.
func DiffSpec(spec *Spec, endpoints []InventoryEndpoint, opts DiffOptions) SpecDiff {
	window := opts.Window
	if window <= 0 {
		window = DefaultZombieWindow
	}
	since := opts.Now.Add(-window)

	type opTraffic struct {
		hits     int64 // in the window
		lastSeen time.Time
	}
	traffic := make([]opTraffic, len(spec.operations))
	var d SpecDiff
	for _, ep := range endpoints {
		if ep.Hits <= 0 {
			continue
		}
		segs, _ := appendSegments(nil, ep.Template)
		path, ok := spec.matchPath(segs)
		if !ok {
			if hasRealTraffic(ep) {
				d.Shadow = append(d.Shadow, Shadow{Endpoint: ep, Reason: ShadowPathUndocumented})
			}
			continue
		}
		method := strings.ToUpper(ep.Method)
		opIdx, ok := path.operation(method)
		if !ok {
			if method == http.MethodOptions {
				continue
			}
			if hasRealTraffic(ep) {
				d.Shadow = append(d.Shadow, Shadow{Endpoint: ep, Reason: ShadowMethodUndocumented})
			}
			d.Drift = append(d.Drift, Drift{Endpoint: ep, Kind: DriftMethod, SpecPath: path.template, Values: []string{method}})
			continue
		}
		tr := &traffic[opIdx]
		if ep.LastSeen.After(tr.lastSeen) {
			tr.lastSeen = ep.LastSeen
		}
		// An endpoint without a LastSeen was aggregated over the window
		// by the caller.
		if ep.LastSeen.IsZero() || !ep.LastSeen.Before(since) {
			tr.hits += ep.Hits
		}
		op := spec.operations[opIdx]
		if codes := undocumentedStatuses(op, ep.StatusCodes); len(codes) > 0 {
			d.Drift = append(d.Drift, Drift{Endpoint: ep, Kind: DriftStatus, SpecPath: path.template, Values: codes})
		}
		if params := undocumentedQueryParams(op, ep.QueryParams); len(params) > 0 {
			d.Drift = append(d.Drift, Drift{Endpoint: ep, Kind: DriftQueryParam, SpecPath: path.template, Values: params})
		}
	}
	for i, op := range spec.operations {
		tr := traffic[i]
		switch {
		case tr.hits == 0:
			d.Zombies = append(d.Zombies, Zombie{Operation: op, Kind: ZombieUnused, LastSeen: tr.lastSeen})
		case op.Deprecated:
			d.Zombies = append(d.Zombies, Zombie{Operation: op, Kind: ZombieDeprecatedLive, Hits: tr.hits, LastSeen: tr.lastSeen})
		}
	}
	slices.SortFunc(d.Shadow, func(a, b Shadow) int { return compareEndpoints(a.Endpoint, b.Endpoint) })
	slices.SortFunc(d.Drift, func(a, b Drift) int {
		if c := compareEndpoints(a.Endpoint, b.Endpoint); c != 0 {
			return c
		}
		return cmp.Compare(a.Kind, b.Kind)
	})
	slices.SortStableFunc(d.Zombies, func(a, b Zombie) int {
		if c := strings.Compare(a.Operation.Path, b.Operation.Path); c != 0 {
			return c
		}
		return strings.Compare(a.Operation.Method, b.Operation.Method)
	})
	return d
}

// hasRealTraffic reports whether an endpoint has at least one response
// that is not a 4xx, or at least minShadowHits requests.
func hasRealTraffic(ep InventoryEndpoint) bool {
	if ep.Hits >= minShadowHits {
		return true
	}
	for code, n := range ep.StatusCodes {
		if n > 0 && code > 0 && (code < 400 || code >= 500) {
			return true
		}
	}
	return false
}

// runtimeStatuses are the codes that gateways, proxies and runtimes return
// on any route (timeouts, rate limits, crashes): specs rarely document
// them, and their absence from a spec is not drift of the API's contract.
var runtimeStatuses = map[int]bool{408: true, 413: true, 429: true, 431: true, 499: true, 500: true, 502: true, 503: true, 504: true}

// undocumentedStatuses returns the codes the operation does not document,
// runtime codes aside.
func undocumentedStatuses(op Operation, codes map[int]int64) []string {
	var out []string
	for code, n := range codes {
		if n > 0 && code > 0 && !runtimeStatuses[code] && !op.DocumentsStatus(code) {
			out = append(out, strconv.Itoa(code))
		}
	}
	slices.Sort(out)
	return out
}

func undocumentedQueryParams(op Operation, names []string) []string {
	var out []string
	for _, name := range names {
		if name != "" && !op.DocumentsQueryParam(name) && !slices.Contains(out, name) {
			out = append(out, name)
		}
	}
	slices.Sort(out)
	return out
}

func compareEndpoints(a, b InventoryEndpoint) int {
	if c := strings.Compare(a.Service, b.Service); c != 0 {
		return c
	}
	if c := strings.Compare(a.Template, b.Template); c != 0 {
		return c
	}
	return strings.Compare(a.Method, b.Method)
}
