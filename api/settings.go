package api

import (
	"context"
	"net/http"

	"github.com/tracehound/tracehound/auth"
)

// SettingsBackend describes the server's configuration for the Settings
// page, secrets left out.
type SettingsBackend interface {
	Settings(ctx context.Context) (*Settings, error)
}

// Settings answers GET /api/v1/settings: what the server runs with. No
// secret is ever included: a key or password is reported as set or not,
// and URLs only by scheme and host (their paths often carry tokens).
type Settings struct {
	Retention string          `json:"retention"`
	Store     StoreSettings   `json:"store"`
	State     string          `json:"state_driver"`
	Auth      AuthSettings    `json:"auth"`
	Ingest    IngestSettings  `json:"ingest"`
	Rules     RulesSettings   `json:"rules"`
	APIMap    APIMapSettings  `json:"apimap"`
	IPIntel   IPIntelSettings `json:"ipintel"`
	Contain   ContainSettings `json:"contain"`
	LLM       LLMSettings     `json:"llm"`
	// Notify lists the notification receivers by name and kind; their
	// delivery status is GET /api/v1/notify/status.
	Notify []ReceiverSettings `json:"notify_receivers"`
}

// StoreSettings describes the span store.
type StoreSettings struct {
	Driver string `json:"driver"`
	Mode   string `json:"mode,omitempty"`
	// Server is the ClickHouse host, without credentials.
	Server string `json:"server,omitempty"`
}

// AuthSettings describes access control.
type AuthSettings struct {
	Enabled       bool    `json:"enabled"`
	SessionTTL    string  `json:"session_ttl"`
	SecureCookies bool    `json:"secure_cookies"`
	RateLimit     float64 `json:"rate_limit"`
}

// IngestSettings describes the OTLP receivers.
type IngestSettings struct {
	OTLPHTTP     string   `json:"otlp_http,omitempty"`
	OTLPGRPC     string   `json:"otlp_grpc,omitempty"`
	RequireToken string   `json:"require_token"`
	MaxBodyBytes int64    `json:"max_body_bytes"`
	RedactParams []string `json:"redact_params"`
}

// RulesSettings describes where rules come from.
type RulesSettings struct {
	Builtin       bool     `json:"builtin"`
	Dirs          []string `json:"dirs"`
	Disabled      []string `json:"disabled"`
	QueryOffset   string   `json:"query_offset"`
	ReplayCacheMB int      `json:"replay_cache_mb"`
}

// APIMapSettings describes the API map's schedule.
type APIMapSettings struct {
	SnapshotInterval  string `json:"snapshot_interval"`
	Window            string `json:"window"`
	SnapshotRetention string `json:"snapshot_retention"`
	Pins              int    `json:"pins"`
	DoNotMerge        int    `json:"do_not_merge"`
}

// IPIntelSettings describes the enrichment sources.
type IPIntelSettings struct {
	// Sources are the sources the enricher opened ("mmdb:GeoLite2-ASN",
	// "asn-csv", "datacenter", "abuseipdb"...); empty until first used.
	Sources      []string `json:"sources"`
	MMDB         []string `json:"mmdb"`
	ASNCSV       []string `json:"asn_csv"`
	CountryCSV   []string `json:"country_csv"`
	TorExitList  string   `json:"tor_exit_list,omitempty"`
	RDNS         bool     `json:"rdns"`
	CacheTTL     string   `json:"cache_ttl"`
	AbuseIPDB    bool     `json:"abuseipdb_key_set"`
	AbuseIPDBURL string   `json:"abuseipdb_server,omitempty"`
	DailyQuota   int      `json:"abuseipdb_daily_quota,omitempty"`
	Blacklist    bool     `json:"abuseipdb_blacklist"`
}

// ContainSettings describes containment and automatic response.
type ContainSettings struct {
	// Webhooks are the response webhooks' scheme and host.
	Webhooks             []string `json:"webhooks"`
	AutoResponse         string   `json:"auto_response"`
	MaxAutoBlocksPerHour int      `json:"max_auto_blocks_per_hour"`
	InvestigateAlerts    bool     `json:"investigate_alerts"`
	DetectorBlock        string   `json:"detector_block,omitempty"`
	DetectorMinRisk      int      `json:"detector_min_risk"`
	DetectorMode         string   `json:"detector_mode"`
}

// LLMSettings describes the optional LLM.
type LLMSettings struct {
	Configured bool   `json:"configured"`
	Server     string `json:"server,omitempty"`
	Model      string `json:"model,omitempty"`
	KeySet     bool   `json:"key_set"`
	Timeout    string `json:"timeout,omitempty"`
}

// ReceiverSettings names one notification receiver and its integrations.
type ReceiverSettings struct {
	Name  string   `json:"name"`
	Kinds []string `json:"kinds"`
}

// routeSettings registers GET /api/v1/settings for admins.
func (s *Server) routeSettings(b SettingsBackend) {
	s.handle("GET /api/v1/settings", auth.RoleAdmin, func(w http.ResponseWriter, r *http.Request) {
		res, err := b.Settings(r.Context())
		reply(w, s.log, res, err)
	})
}

// Settings reads the server's configuration, secrets left out.
func (c *Client) Settings(ctx context.Context) (*Settings, error) {
	var res Settings
	return &res, c.do(ctx, http.MethodGet, "/api/v1/settings", nil, &res)
}
