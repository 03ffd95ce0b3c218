package detect

import (
	"context"
	"net/netip"
	"strings"
	"time"
)

// CallerKind says what identifies a caller.
type CallerKind string

// The kinds of caller.
const (
	CallerIP  CallerKind = "ip"      // a client address (peer_ip)
	CallerKey CallerKind = "api_key" // an API key id (api_key_id)
)

// Caller is one investigated party.
type Caller struct {
	Kind  CallerKind `json:"kind"`
	Value string     `json:"value"`
}

// ParseCaller reads a caller as the CLI and API take it: an IP address, or
// an API key id, optionally prefixed with "key:" (needed only for a key id
// that would parse as an address).
func ParseCaller(s string) Caller {
	s = strings.TrimSpace(s)
	if k, ok := strings.CutPrefix(s, "key:"); ok {
		return Caller{Kind: CallerKey, Value: k}
	}
	if a, err := netip.ParseAddr(s); err == nil {
		return Caller{Kind: CallerIP, Value: a.Unmap().String()}
	}
	return Caller{Kind: CallerKey, Value: s}
}

func (c Caller) String() string {
	if c.Kind == CallerKey {
		return "key " + c.Value
	}
	return c.Value
}

// column is the traces column that identifies callers of this kind.
func (k CallerKind) column() string {
	if k == CallerKey {
		return "api_key_id"
	}
	return "peer_ip"
}

// Enrichment is what an IP intelligence source knows about an address.
// Every field is optional.
type Enrichment struct {
	Country   string `json:"country,omitempty"`
	ASN       uint32 `json:"asn,omitempty"`
	ASOrg     string `json:"as_org,omitempty"`
	ISP       string `json:"isp,omitempty"`
	UsageType string `json:"usage_type,omitempty"`
	// DataCenter is set for hosting, cloud and transit networks.
	DataCenter bool `json:"data_center"`
	Tor        bool `json:"tor"`
	// AbuseConfidence is AbuseIPDB's score, 0–100; 0 when unknown.
	AbuseConfidence int `json:"abuse_confidence,omitempty"`
}

// EnrichFunc looks an address up. It is called once per distinct address
// an investigation reports on, from up to four goroutines at once, so it
// should cache. An error leaves the address unenriched; it does not fail
// the investigation.
type EnrichFunc func(ctx context.Context, ip string) (Enrichment, error)

// EndpointRef names an endpoint as traces do: the service, the method and
// the route (http.route, or the templated path when a request had none).
type EndpointRef struct {
	Service string `json:"service"`
	Method  string `json:"method"`
	Route   string `json:"route"`
}

func (e EndpointRef) String() string { return e.Method + " " + e.Route }

// EndpointFacts is what the API map knows about an endpoint.
type EndpointFacts struct {
	// Documented: the service's spec has the operation. Shadow: it has a
	// spec that lacks the endpoint.
	Documented bool `json:"documented"`
	Shadow     bool `json:"shadow"`
	// Auth is the observed auth state: "public", "enforced" or "mixed".
	Auth string `json:"auth,omitempty"`
	// Tags are function tags (auth, admin, export, bulk, search, ...) and
	// Sensitivity the sensitivity tags (pii, credentials, bulk, ...).
	Tags        []string  `json:"tags,omitempty"`
	Sensitivity []string  `json:"sensitivity,omitempty"`
	FirstSeen   time.Time `json:"first_seen,omitzero"`
}

func (f EndpointFacts) has(tag string) bool {
	for _, t := range f.Tags {
		if strings.EqualFold(t, tag) {
			return true
		}
	}
	for _, t := range f.Sensitivity {
		if strings.EqualFold(t, tag) {
			return true
		}
	}
	return false
}

// EndpointFunc returns the API map's facts about an endpoint, or false
// when the map does not know it.
type EndpointFunc func(ctx context.Context, ep EndpointRef) (EndpointFacts, bool)

// Options configure an investigation.
type Options struct {
	// Callers are IP addresses and API key ids (see ParseCaller).
	Callers []string
	// Since and Until bound the window; Until zero means now, Since zero
	// means seven days before Until.
	Since, Until time.Time
	// Lookback is how far before Since an API key's first request is
	// searched for (its age); default 14 days. A key first seen at the
	// start of the searched range has an unknown ("censored") age. The
	// search scans the range, so its cost grows with it.
	Lookback time.Duration
	// Enrich and Endpoints are optional hooks.
	Enrich    EnrichFunc
	Endpoints EndpointFunc
	// Progress, when set, is called with the callers analysed so far and
	// their total, after each batch and once at the end.
	Progress func(done, total int)
	// Now is the clock for defaults; nil means time.Now.
	Now func() time.Time
}

// Severity is the first half of a verdict.
type Severity string

// Severities, from worst.
const (
	Malicious    Severity = "Malicious"
	Suspicious   Severity = "Suspicious"
	Inconclusive Severity = "Inconclusive"
	Benign       Severity = "Benign"
)

// Flagged reports whether s calls for action (malicious or suspicious).
func (s Severity) Flagged() bool { return s == Malicious || s == Suspicious }

// Class is the second half of a verdict: what the behaviour is.
type Class string

// Classes.
const (
	ClassExfiltration       Class = "Data Exfiltration"
	ClassBOLA               Class = "Object Enumeration (BOLA)"
	ClassCredentialStuffing Class = "Credential Stuffing"
	ClassPasswordSpraying   Class = "Password Spraying"
	ClassScraping           Class = "Scraping"
	ClassForcedBrowsing     Class = "Forced Browsing"
	ClassKeyAbuse           Class = "Shared API Key"
	ClassAutomation         Class = "Automated Client"
	ClassPartner            Class = "Partner integration"
	ClassNone               Class = ""
)

// Certainty says how well the verdict is supported.
type Certainty string

// Certainties.
const (
	CertaintyLow    Certainty = "low"
	CertaintyMedium Certainty = "medium"
	CertaintyHigh   Certainty = "high"
)

// Report is the result of an investigation.
type Report struct {
	Since time.Time `json:"since"`
	Until time.Time `json:"until"`
	// Overall sums up every caller: the worst verdict, and the callers
	// flagged.
	Overall Overall `json:"overall"`
	// Callers holds one report per investigated caller, in the order given.
	Callers []CallerReport `json:"callers"`
	// Campaigns are the campaigns the investigated callers belong to.
	Campaigns []*Campaign `json:"campaigns"`
	// Queries counts the store queries run; ElapsedMS the wall time.
	Queries   int     `json:"queries"`
	ElapsedMS float64 `json:"elapsed_ms"`
}

// Overall sums up an investigation.
type Overall struct {
	Verdict   string    `json:"verdict"`
	Severity  Severity  `json:"severity"`
	Class     Class     `json:"class,omitempty"`
	Certainty Certainty `json:"certainty"`
	RiskScore int       `json:"risk_score"`
	Callers   int       `json:"callers"`
	Flagged   int       `json:"flagged"`
	Summary   string    `json:"summary"`
}

// CallerReport is the verdict on one caller and everything behind it.
type CallerReport struct {
	Caller Caller `json:"caller"`
	// Verdict is "Severity — Class" ("Malicious — Data Exfiltration"), or
	// the severity alone.
	Verdict   string    `json:"verdict"`
	Severity  Severity  `json:"severity"`
	Class     Class     `json:"class,omitempty"`
	Certainty Certainty `json:"certainty"`
	RiskScore int       `json:"risk_score"`
	// Summary is the verdict's one-sentence justification.
	Summary string `json:"summary"`
	// AttackPattern describes the behaviour in a sentence.
	AttackPattern    string          `json:"attack_pattern,omitempty"`
	Findings         []Finding       `json:"findings"`
	Detectors        []Detection     `json:"detectors"`
	AttackTechniques []Technique     `json:"attack_techniques"`
	OWASP            []OWASPCategory `json:"owasp"`
	Remediation      []string        `json:"remediation"`
	// Campaign is the campaign the caller belongs to, if any.
	Campaign   *CampaignRef `json:"campaign"`
	Activity   Activity     `json:"activity"`
	Enrichment *Enrichment  `json:"enrichment,omitempty"`
}

// Finding is one fact behind a verdict, with its figures.
type Finding struct {
	// Detector names the detector it comes from, or "activity", "api_key",
	// "campaign", "endpoint", "network".
	Detector string         `json:"detector"`
	Text     string         `json:"text"`
	Figures  map[string]any `json:"figures,omitempty"`
}

// Detection is one detector's result for a caller.
type Detection struct {
	Detector string `json:"detector"`
	// Score is 0–1; Fired is Score ≥ 0.5.
	Score    float64  `json:"score"`
	Fired    bool     `json:"fired"`
	Finding  string   `json:"finding"`
	Evidence Evidence `json:"evidence"`
}

// Evidence is what a detection rests on: its figures, and a query that
// reproduces them when pasted into `tracehound sql` (literal values bound,
// read-only, time-bounded).
type Evidence struct {
	Figures map[string]any `json:"figures"`
	SQL     string         `json:"sql,omitempty"`
	// Note qualifies the figures (a sampled sequence, few peers, ...).
	Note string `json:"note,omitempty"`
}

// Technique is a MITRE ATT&CK technique.
type Technique struct {
	ID   string `json:"id"`
	Name string `json:"name"`
}

// OWASPCategory is an OWASP API Security Top 10 (2023) category.
type OWASPCategory struct {
	ID   string `json:"id"`
	Name string `json:"name"`
}

// Activity sums up a caller's traffic in the window.
type Activity struct {
	Requests     int64         `json:"requests"`
	Bytes        int64         `json:"bytes"`
	AvgBytes     float64       `json:"avg_bytes"`
	FirstSeen    time.Time     `json:"first_seen,omitzero"`
	LastSeen     time.Time     `json:"last_seen,omitzero"`
	ActiveDays   int           `json:"active_days"`
	Endpoints    int           `json:"endpoints"`
	TopEndpoints []EndpointUse `json:"top_endpoints"`
	Status       StatusMix     `json:"status"`
	APIKeys      []KeyUse      `json:"api_keys"`
	UserAgents   []string      `json:"user_agents"`
	// IPs are the client addresses (for a key caller, or an IP caller's
	// own address); Networks counts their /24s (IPv4) or addresses (IPv6).
	IPs      []string `json:"ips"`
	Networks int      `json:"networks"`
}

// EndpointUse is a caller's traffic to one endpoint.
type EndpointUse struct {
	Endpoint string         `json:"endpoint"` // "GET /v1/items/{id}"
	Service  string         `json:"service"`
	Requests int64          `json:"requests"`
	Bytes    int64          `json:"bytes"`
	Share    float64        `json:"share"` // of the caller's requests
	Status   StatusMix      `json:"status"`
	Facts    *EndpointFacts `json:"facts,omitempty"`
}

// StatusMix counts responses by class.
type StatusMix struct {
	OK           int64 `json:"ok"`
	ClientErrors int64 `json:"client_errors"`
	ServerErrors int64 `json:"server_errors"`
	Unauthorized int64 `json:"unauthorized"`
	Forbidden    int64 `json:"forbidden"`
	NotFound     int64 `json:"not_found"`
	TooMany      int64 `json:"too_many_requests"`
}

// KeyUse is an API key as one caller used it, with what the store knows of
// the key as a whole.
type KeyUse struct {
	APIKeyID string `json:"api_key_id"`
	Requests int64  `json:"requests"` // the caller's requests with the key
	// FirstSeen is the key's first request in the store (within the
	// lookback); AgeDays its age at Until. AgeCensored is set when the
	// first request is at the very start of the stored data, so the key
	// may be older.
	FirstSeen   time.Time `json:"first_seen,omitzero"`
	AgeDays     float64   `json:"age_days"`
	AgeCensored bool      `json:"age_censored"`
	// CreatedBy is the request that issued the key, when the key's first
	// request was one ("POST /v1/auth/signup").
	CreatedBy string `json:"created_by,omitempty"`
	// IPs and Networks count the addresses and networks that used the key
	// in the window; KeyRequests its requests from all of them.
	IPs         int   `json:"ips"`
	Networks    int   `json:"networks"`
	ASNs        int   `json:"asns,omitempty"`
	KeyRequests int64 `json:"key_requests"`
	KeyBytes    int64 `json:"key_bytes"`
}

// CampaignRef links a caller report to its campaign.
type CampaignRef struct {
	ID      string `json:"id"`
	Verdict string `json:"verdict"`
	Members int    `json:"members"`
	Summary string `json:"summary"`
}

// Campaign is a group of callers acting together.
type Campaign struct {
	ID       string   `json:"id"`
	Verdict  string   `json:"verdict"`
	Severity Severity `json:"severity"`
	Class    Class    `json:"class"`
	Summary  string   `json:"summary"`
	// Target is the endpoint the campaign works on.
	Target string `json:"target"`
	// LinkedBy says what ties the members together.
	LinkedBy []string `json:"linked_by"`
	// IPs lists the members (at most MaxCampaignIPs); IPCount counts all.
	IPs        []string `json:"ips"`
	IPCount    int      `json:"ip_count"`
	APIKeys    []string `json:"api_keys"`
	UserAgents []string `json:"user_agents"`
	Requests   int64    `json:"requests"`
	Bytes      int64    `json:"bytes"`
	// UniqueObjects counts the distinct object ids (ObjectSource) answered
	// with a 2xx on Target; Ranges gives each member's share.
	UniqueObjects int64     `json:"unique_objects"`
	ObjectSource  string    `json:"object_source,omitempty"`
	Ranges        []IDRange `json:"id_ranges,omitempty"`
	// Overlap is the share of member-held ids that more than one member
	// requested: near 0 for members splitting a range.
	Overlap       float64         `json:"overlap"`
	FirstSeen     time.Time       `json:"first_seen"`
	LastSeen      time.Time       `json:"last_seen"`
	DurationHours float64         `json:"duration_hours"`
	Timeline      []TimelineEvent `json:"timeline"`
	Evidence      Evidence        `json:"evidence"`
}

// MaxCampaignIPs bounds Campaign.IPs.
const MaxCampaignIPs = 100

// IDRange is the part of an id range one member covered.
type IDRange struct {
	IP       string `json:"ip"`
	Requests int64  `json:"requests"`
	Min      int64  `json:"min"`
	Max      int64  `json:"max"`
	Unique   int64  `json:"unique"`
}

// TimelineEvent is one moment of a campaign.
type TimelineEvent struct {
	At   time.Time `json:"at"`
	Kind string    `json:"kind"` // first_probe, automation_start, ip_joined, pause, resume, last_request
	IP   string    `json:"ip,omitempty"`
	Text string    `json:"text"`
}

// KeysOptions configure an API key inventory.
type KeysOptions struct {
	// Since and Until bound the window whose traffic is counted; Until
	// zero means now, Since zero seven days before Until.
	Since, Until time.Time
	// FirstSeenWithin keeps only keys first seen within this long before
	// Until (0 keeps every key).
	FirstSeenWithin time.Duration
	// Lookback is how far before Since a key's first request is searched
	// for; default 90 days.
	Lookback time.Duration
	// Limit caps the keys returned, riskiest first; 0 means 500.
	Limit int
	// Enrich, when set, counts the ASNs each key was used from.
	Enrich EnrichFunc
	Now    func() time.Time
}

// KeyInventory is the API consumers seen in traffic.
type KeyInventory struct {
	Since time.Time `json:"since"`
	Until time.Time `json:"until"`
	Keys  []KeyInfo `json:"keys"`
	// Total counts the keys that matched before Limit.
	Total int `json:"total"`
	// SQL is the query the inventory came from (literal values bound).
	SQL     string `json:"sql"`
	Queries int    `json:"queries"`
}

// KeyInfo is one API key as seen in traffic.
type KeyInfo struct {
	APIKeyID    string    `json:"api_key_id"`
	FirstSeen   time.Time `json:"first_seen"`
	LastSeen    time.Time `json:"last_seen"`
	AgeDays     float64   `json:"age_days"`
	AgeCensored bool      `json:"age_censored"`
	CreatedBy   string    `json:"created_by,omitempty"`
	Requests    int64     `json:"requests"`
	Bytes       int64     `json:"bytes"`
	IPCount     int       `json:"ip_count"`
	IPs         []string  `json:"ips"` // the busiest, at most 10
	Networks    int       `json:"networks"`
	ASNs        int       `json:"asns,omitempty"`
	Endpoints   int       `json:"endpoints"`
	TopEndpoint string    `json:"top_endpoint"`
	TopShare    float64   `json:"top_endpoint_share"`
	Status      StatusMix `json:"status"`
	ErrorRate   float64   `json:"error_rate"`
	RiskScore   int       `json:"risk_score"`
	RiskFactors []string  `json:"risk_factors"`
}
