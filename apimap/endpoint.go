package apimap

import (
	"fmt"
	"time"
)

// Endpoint is one entry of the inventory: a service, a method and a
// template, with what its traffic and the service's spec say about it. Its
// JSON is the API map's public shape (PRODUCT.md §3); times are UTC.
type Endpoint struct {
	// ID is EndpointID(Service, Method, Template).
	ID       string `json:"id"`
	Service  string `json:"service"`
	Method   string `json:"method"`
	Template string `json:"template"`
	// Hosts are the server addresses the endpoint was reached on, sorted.
	Hosts []string `json:"hosts"`
	// Source says which step of templating produced the template.
	Source     Source      `json:"source,omitzero"`
	PathParams []PathParam `json:"path_params"`

	// FirstSeen is the earliest request known, from this window or an
	// earlier snapshot; LastSeen the latest in the window. Both are absent
	// for an endpoint without traffic (an unused documented operation).
	FirstSeen time.Time `json:"first_seen,omitzero"`
	LastSeen  time.Time `json:"last_seen,omitzero"`
	// Hits counts the requests in the window.
	Hits int64 `json:"hits"`

	// Documented is set when the service's spec has the operation.
	// OperationID is its operationId, when it has one.
	Documented  bool   `json:"documented"`
	OperationID string `json:"operation_id,omitempty"`
	// Shadow: the service has a spec, which does not document the
	// endpoint, and the endpoint has real traffic (see DiffSpec).
	Shadow       bool         `json:"shadow"`
	ShadowReason ShadowReason `json:"shadow_reason,omitzero"`
	// Zombie: a documented operation nobody called in the window, or a
	// deprecated one still called.
	Zombie     bool       `json:"zombie"`
	ZombieKind ZombieKind `json:"zombie_kind,omitzero"`
	// Drift lists how a documented endpoint's traffic departs from its spec.
	Drift []DriftItem `json:"drift,omitempty"`
	// New: the endpoint's first request is recent (BuildOptions.NewWithin)
	// and came well after its service's first (BaselineGrace), so it is
	// not part of what was there when tracehound started watching.
	New bool `json:"new"`

	// Tags are the function tags and Sensitivity the sensitivity tags
	// (ClassifyEndpoint), each sorted; Evidence holds the reasons for each.
	Tags        []Tag            `json:"tags"`
	Sensitivity []Tag            `json:"sensitivity"`
	Evidence    map[Tag][]string `json:"evidence"`

	Auth        Auth         `json:"auth"`
	Status      StatusMix    `json:"status"`
	Callers     Callers      `json:"callers"`
	Bytes       Bytes        `json:"bytes"`
	Latency     Latency      `json:"latency"`
	QueryParams []QueryParam `json:"query_params"`

	// RiskScore is 0 to 100, the sum of RiskFactors capped at 100 (see
	// Risk).
	RiskScore   int          `json:"risk_score"`
	RiskFactors []RiskFactor `json:"risk_factors"`

	// Review is the endpoint's review state; Build leaves it empty for the
	// caller, which keeps reviews, to fill in.
	Review Review `json:"review"`
}

// Sensitive reports whether the endpoint carries a sensitivity tag.
func (e *Endpoint) Sensitive() bool { return len(e.Sensitivity) > 0 }

// HasTag reports whether the endpoint carries the function or sensitivity
// tag.
func (e *Endpoint) HasTag(tag Tag) bool {
	_, ok := e.Evidence[tag]
	return ok
}

// PathParam is one parameter of the template, with the kind of the values
// seen in its position.
type PathParam struct {
	Name string      `json:"name"`
	Kind SegmentKind `json:"kind"`
}

// DriftItem is one way a documented endpoint's traffic departs from the
// spec: undocumented methods, status codes or query parameters.
type DriftItem struct {
	Kind     DriftKind `json:"kind"`
	SpecPath string    `json:"spec_path"`
	Values   []string  `json:"values"`
}

// AuthState says whether an endpoint lets requests without a credential
// through, judged from the answers those requests got.
type AuthState string

// The auth states.
const (
	// AuthPublic: requests without a credential got 2xx answers and none
	// was refused with 401 or 403.
	AuthPublic AuthState = "public"
	// AuthEnforced: requests without a credential were refused with 401 or
	// 403, and none got a 2xx.
	AuthEnforced AuthState = "enforced"
	// AuthMixed: requests without a credential were sometimes served and
	// sometimes refused: enforcement depends on something else, such as a
	// parameter, which is worth a look.
	AuthMixed AuthState = "mixed"
	// AuthUnknown: every request carried a credential, or those without one
	// got neither a 2xx nor a 401/403 (say, only 404s), so traffic cannot
	// tell.
	AuthUnknown AuthState = "unknown"
)

// Auth is an endpoint's auth state with the counts behind it. A request is
// unauthenticated when its span carries no credential (api_key_id is empty).
type Auth struct {
	State                 AuthState `json:"state"`
	Unauthenticated       int64     `json:"unauthenticated"`
	Unauthenticated2xx    int64     `json:"unauthenticated_2xx"`
	UnauthenticatedDenied int64     `json:"unauthenticated_denied"`
}

// AuthStateOf derives the state from the counts of requests without a
// credential that were served (2xx) and refused (401, 403).
func AuthStateOf(unauth2xx, unauthDenied int64) AuthState {
	switch {
	case unauth2xx > 0 && unauthDenied > 0:
		return AuthMixed
	case unauth2xx > 0:
		return AuthPublic
	case unauthDenied > 0:
		return AuthEnforced
	}
	return AuthUnknown
}

// StatusMix counts requests by status class and by code (0 for a span
// without one; at most the 50 most frequent codes).
type StatusMix struct {
	Class2xx int64         `json:"2xx"`
	Class3xx int64         `json:"3xx"`
	Class4xx int64         `json:"4xx"`
	Class5xx int64         `json:"5xx"`
	Codes    map[int]int64 `json:"codes"`
}

// Callers says who calls an endpoint: how many distinct client addresses
// and API keys, and the busiest of each.
type Callers struct {
	IPs        int64    `json:"ips"`
	APIKeys    int64    `json:"api_keys"`
	TopIPs     []Caller `json:"top_ips"`
	TopAPIKeys []Caller `json:"top_api_keys"`
}

// Caller is one client address or API key with its requests.
type Caller struct {
	ID   string `json:"id"`
	Hits int64  `json:"hits"`
}

// Bytes sums request and response bodies.
type Bytes struct {
	In          int64 `json:"in"`
	Out         int64 `json:"out"`
	AvgResponse int64 `json:"avg_response"`
	MaxResponse int64 `json:"max_response"`
}

// Latency holds server span duration percentiles, in milliseconds.
type Latency struct {
	P50 float64 `json:"p50_ms"`
	P95 float64 `json:"p95_ms"`
	P99 float64 `json:"p99_ms"`
}

// QueryParam is one query parameter seen on an endpoint, with the JSON
// Schema type (and format) that all its non-empty values fit.
type QueryParam struct {
	Name   string `json:"name"`
	Hits   int64  `json:"hits"`
	Type   string `json:"type"`
	Format string `json:"format,omitempty"`
}

// Review is where an endpoint stands in the review queue.
type Review struct {
	// Status is unreviewed, approved or flagged.
	Status   string    `json:"status"`
	Reviewer string    `json:"reviewer,omitempty"`
	Note     string    `json:"note,omitempty"`
	At       time.Time `json:"at,omitzero"`
}

// Only names a subset of the inventory, as `tracehound map --only` does.
type Only string

// The subsets.
const (
	OnlyShadow    Only = "shadow"
	OnlyZombie    Only = "zombie"
	OnlyNew       Only = "new"
	OnlySensitive Only = "sensitive"
)

// ParseOnly checks a subset name; the empty name selects everything.
func ParseOnly(s string) (Only, error) {
	switch o := Only(s); o {
	case "", OnlyShadow, OnlyZombie, OnlyNew, OnlySensitive:
		return o, nil
	}
	return "", fmt.Errorf("unknown subset %q: want shadow, zombie, new or sensitive", s)
}

// Match reports whether the endpoint belongs to the subset.
func (o Only) Match(e *Endpoint) bool {
	switch o {
	case OnlyShadow:
		return e.Shadow
	case OnlyZombie:
		return e.Zombie
	case OnlyNew:
		return e.New
	case OnlySensitive:
		return e.Sensitive()
	}
	return true
}
