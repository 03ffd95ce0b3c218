// Package config holds tracehound's configuration: defaults that work with
// no file, a YAML file, TRACEHOUND_* environment variables and command-line
// flags, applied in that order (later wins).
package config

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/tracehound/tracehound/apimap"
	"github.com/tracehound/tracehound/span"
)

// Config is the whole configuration.
type Config struct {
	// Data is the data directory: traces.duckdb, state.db, scenario files.
	Data string `yaml:"data"`
	// Listen is the address of the HTTP API, UI and metrics.
	Listen string `yaml:"listen"`
	// OTLPHTTP and OTLPGRPC are the OTLP receiver addresses; empty disables one.
	OTLPHTTP string `yaml:"otlp_http"`
	OTLPGRPC string `yaml:"otlp_grpc"`
	// Retention is how long spans are kept.
	Retention Duration `yaml:"retention"`
	Ingest    Ingest   `yaml:"ingest"`
	APIMap    APIMap   `yaml:"apimap"`
	Auth      Auth     `yaml:"auth"`
	// Notify is the notification routing (receivers, routes, grouping),
	// in the notify package's format; it is checked when the server starts.
	Notify  yaml.Node `yaml:"notify"`
	Rules   Rules     `yaml:"rules"`
	IPIntel IPIntel   `yaml:"ipintel"`
	Contain Contain   `yaml:"contain"`
	LLM     LLM       `yaml:"llm"`
	State   State     `yaml:"state"`
	Store   Store     `yaml:"store"`
	Log     Log       `yaml:"log"`
}

// Store selects the span store: DuckDB in the data directory (one
// machine), or ClickHouse — tracehound's own table, or, read-only, the
// tables the OpenTelemetry Collector's clickhouseexporter or SigNoz fill.
type Store struct {
	// Driver is duckdb (default) or clickhouse.
	Driver string `yaml:"driver"`
	// DSN is ClickHouse's (clickhouse://user:pw@h1:9000,h2:9000/tracehound),
	// or DSNFile a file holding it; TRACEHOUND_STORE_DSN also sets it.
	DSN     string `yaml:"dsn"`
	DSNFile string `yaml:"dsn_file"`
	// Mode is native (tracehound's traces table, the default), otel (the
	// Collector's otel_traces) or signoz (SigNoz's trace index).
	Mode string `yaml:"mode"`
	// Source names the compat table, when not the default.
	Source string `yaml:"source"`
	// Cluster, when set, creates replicated and distributed tables ON
	// CLUSTER.
	Cluster string `yaml:"cluster"`
	// Compact (DuckDB) is on (default) or off: on rewrites each closed
	// hour, and each day once it is over, ordered by service, route and
	// client address, so that questions about one caller or endpoint read
	// a fraction of the store. It costs about a minute of CPU per 12 M
	// spans, once a day.
	Compact string `yaml:"compact"`
}

// State selects the state store: SQLite in the data directory (one
// machine), or PostgreSQL, which several tracehound replicas share.
type State struct {
	// Driver is sqlite (default) or postgres.
	Driver string `yaml:"driver"`
	// DSN is PostgreSQL's connection string (a URL or key=value pairs), or
	// DSNFile a file holding it (preferred: the password stays out of the
	// config); TRACEHOUND_STATE_DSN also sets it.
	DSN     string `yaml:"dsn"`
	DSNFile string `yaml:"dsn_file"`
}

// LLM configures the optional OpenAI-compatible chat-completions endpoint
// (a hosted API, or a local Ollama, llama.cpp or vLLM server) that reads
// forensic questions the grammar refuses and words investigation reports.
// Without a base URL it is off, and tracehound's answers are complete
// without it.
type LLM struct {
	// BaseURL is the server root or its /v1 path.
	BaseURL string `yaml:"base_url"`
	Model   string `yaml:"model"`
	// APIKey, or APIKeyFile (preferred: the key stays out of the config);
	// TRACEHOUND_LLM_API_KEY also sets it.
	APIKey     string `yaml:"api_key"`
	APIKeyFile string `yaml:"api_key_file"`
	// Timeout bounds one completion (default 60s).
	Timeout   Duration `yaml:"timeout"`
	MaxTokens int      `yaml:"max_tokens"`
}

// Rules configures detection rules.
type Rules struct {
	// Builtin loads the built-in rule pack.
	Builtin bool `yaml:"builtin"`
	// Dirs lists directories (or files) of rule YAML files to load too.
	Dirs []string `yaml:"dirs"`
	// Disabled lists rule ids not to run (built-in or from files).
	Disabled []string `yaml:"disabled"`
	// QueryOffset is how far behind the clock rules evaluate, so spans
	// still being ingested are not missed.
	QueryOffset Duration `yaml:"query_offset"`
	// ReplayCacheMB is the memory, in MiB, that keeps the rows of rule
	// replays (backtests, exclusion dry runs) for the next ones, which
	// then evaluate only new steps and those whose spans changed; 0 turns
	// it off.
	ReplayCacheMB int `yaml:"replay_cache_mb"`
}

// IPIntel configures IP enrichment. Every source is optional; the offline
// ones are files. Tables found in DATA/ipdata (see 'make ipdata') are used
// when none is configured.
type IPIntel struct {
	// MMDB lists MaxMind-format databases (GeoLite2, DB-IP, IPinfo).
	MMDB []string `yaml:"mmdb"`
	// ASNCSV and CountryCSV list IP range tables (start,end,asn,org and
	// start,end,country).
	ASNCSV     []string `yaml:"asn_csv"`
	CountryCSV []string `yaml:"country_csv"`
	// DataCenterASNs adds an ASN list to the built-in data-center set.
	DataCenterASNs string `yaml:"datacenter_asns"`
	// TorExitList is a file of Tor exit addresses.
	TorExitList string `yaml:"tor_exit_list"`
	// CacheTTL is how long an enrichment is reused.
	CacheTTL  Duration  `yaml:"cache_ttl"`
	AbuseIPDB AbuseIPDB `yaml:"abuseipdb"`
	// RDNS turns reverse DNS lookups on (they reach the network).
	RDNS bool `yaml:"rdns"`
}

// AbuseIPDB configures the AbuseIPDB v2 client; without a key it is off.
type AbuseIPDB struct {
	// APIKey, or KeyFile (preferred: the key stays out of the config).
	APIKey  string `yaml:"api_key"`
	KeyFile string `yaml:"key_file"`
	// BaseURL replaces the public API's address (tests, proxies).
	BaseURL string `yaml:"base_url"`
	// DailyQuota is the plan's daily /check allowance.
	DailyQuota int `yaml:"daily_quota"`
	// Blacklist pulls the blacklist into the data directory to match
	// thousands of IPs without a call each.
	Blacklist bool `yaml:"blacklist"`
}

// Contain configures containment.
type Contain struct {
	// Webhooks receive ip.blocked, ip.unblocked and api_key.revoked events.
	Webhooks []string `yaml:"webhooks"`
	// SweepInterval is how often expired blocks are lifted.
	SweepInterval Duration `yaml:"sweep_interval"`
	// AutoResponse gates the automatic actions of rules (their response:
	// section) and of the detectors: AutoResponseOn runs each in its own
	// mode (shadow unless it says enforce), AutoResponseShadow only records
	// what every one would have done, AutoResponseOff runs none.
	AutoResponse string `yaml:"auto_response"`
	// MaxAutoBlocksPerHour bounds the enforced automatic blocks; beyond it
	// they are recorded as shadow and a warning is logged.
	MaxAutoBlocksPerHour int `yaml:"max_auto_blocks_per_hour"`
	// Detector configures the detectors' look at alerting addresses.
	Detector DetectorResponse `yaml:"detector"`
}

// Values of Contain.AutoResponse.
const (
	AutoResponseOn     = "on"
	AutoResponseShadow = "shadow"
	AutoResponseOff    = "off"
)

// DetectorResponse configures the investigation of the client address of
// every newly firing alert and the response to the verdict.
type DetectorResponse struct {
	// InvestigateAlerts runs the behavioural detectors on those addresses
	// and tags each with its verdict ("detector:malicious").
	InvestigateAlerts bool `yaml:"investigate_alerts"`
	// Window is how much traffic before the alert is investigated.
	Window Duration `yaml:"window"`
	// MaxPerHour bounds the addresses investigated per hour.
	MaxPerHour int `yaml:"max_per_hour"`
	// Block blocks, for this long, an address rated malicious with a risk
	// of at least MinRisk; zero blocks none.
	Block   Duration `yaml:"block"`
	MinRisk int      `yaml:"min_risk"`
	// Mode is "shadow" (record only) or "enforce".
	Mode string `yaml:"mode"`
}

// Auth configures access control.
type Auth struct {
	// Enabled requires a token or a session on every API route but the
	// health checks and login. On by default; turning it off leaves the API
	// open to anyone who reaches the port.
	Enabled bool `yaml:"enabled"`
	// SessionTTL is how long a browser session lasts.
	SessionTTL Duration `yaml:"session_ttl"`
	// SecureCookies marks session cookies Secure on plain HTTP too, for a
	// server behind a TLS-terminating proxy.
	SecureCookies bool `yaml:"secure_cookies"`
	// RateLimit and RateBurst bound each client address's /api/ requests
	// (per second, and the burst); loopback clients are not limited. Zero
	// disables the limit.
	RateLimit float64 `yaml:"rate_limit"`
	RateBurst int     `yaml:"rate_burst"`
}

// APIMap configures the endpoint inventory.
type APIMap struct {
	// SnapshotInterval is how often the server snapshots the inventory;
	// zero disables scheduled snapshots.
	SnapshotInterval Duration `yaml:"snapshot_interval"`
	// Window is how much traffic the inventory covers, unless a request
	// asks for another window.
	Window Duration `yaml:"window"`
	// SnapshotRetention is how long snapshots are kept; the latest is
	// always kept. What every snapshot has seen (first/last seen, shadow
	// and sensitive since) outlives them.
	SnapshotRetention Duration `yaml:"snapshot_retention"`
	// Pins are templates the map must use (/files/{name}): a path one
	// matches gets it before the route, the spec or the classifier is
	// tried. DoNotMerge are literal paths (/reports/daily) whose segments
	// stay literal. Both add to those stored with 'tracehound map pin'
	// and 'map keep'.
	Pins       []MapPath `yaml:"pins"`
	DoNotMerge []MapPath `yaml:"do_not_merge"`
}

// MapPath is a path or template of the API map, within one service or,
// when Service is empty, within every service. In YAML it is a string:
// the path, or the service, a space and the path ("billing /reports/daily").
type MapPath struct {
	Service string
	Path    string
}

// ParseMapPath reads "[SERVICE ]PATH".
func ParseMapPath(s string) (MapPath, error) {
	s = strings.TrimSpace(s)
	if strings.HasPrefix(s, "/") {
		return MapPath{Path: s}, nil
	}
	if i := strings.IndexAny(s, " \t"); i > 0 {
		if p := strings.TrimSpace(s[i:]); strings.HasPrefix(p, "/") {
			return MapPath{Service: s[:i], Path: p}, nil
		}
	}
	return MapPath{}, fmt.Errorf("%q: want a path, or a service, a space and a path (\"billing /reports/daily\")", s)
}

// String writes p as ParseMapPath reads it.
func (p MapPath) String() string {
	if p.Service == "" {
		return p.Path
	}
	return p.Service + " " + p.Path
}

// UnmarshalYAML implements yaml.Unmarshaler.
func (p *MapPath) UnmarshalYAML(n *yaml.Node) error {
	if n.Kind != yaml.ScalarNode {
		return fmt.Errorf("line %d: want a string such as \"/files/{name}\" or \"billing /reports/daily\"", n.Line)
	}
	v, err := ParseMapPath(n.Value)
	if err != nil {
		return fmt.Errorf("line %d: %w", n.Line, err)
	}
	*p = v
	return nil
}

// Ingest configures the OTLP receivers and span normalisation.
type Ingest struct {
	// MaxBodyBytes bounds a request after decompression.
	MaxBodyBytes int64 `yaml:"max_body_bytes"`
	// MaxQueuedSpans bounds spans accepted but not yet committed.
	MaxQueuedSpans int `yaml:"max_queued_spans"`
	// KeyAttributes are the attributes that carry the caller's credential
	// or identity, in order of preference.
	KeyAttributes []span.KeyAttribute `yaml:"key_attributes"`
	// RedactParams are query parameters masked in stored URLs.
	RedactParams []string `yaml:"redact_params"`
	// RequireToken decides whether OTLP exports must carry an ingest token
	// ("Authorization: Bearer th_…"): "auto" (required unless every OTLP
	// listener is on loopback), "true" or "false".
	RequireToken string `yaml:"require_token"`
}

// Log configures logging.
type Log struct {
	Level  string `yaml:"level"`  // debug, info, warn, error
	Format string `yaml:"format"` // text or json
}

// Default returns the configuration used when nothing is set.
func Default() Config {
	return Config{
		Data:      "./tracehound-data",
		Listen:    "127.0.0.1:8080",
		OTLPHTTP:  "127.0.0.1:4318",
		OTLPGRPC:  "127.0.0.1:4317",
		Retention: Duration(30 * 24 * time.Hour),
		Ingest: Ingest{
			MaxBodyBytes:   64 << 20,
			MaxQueuedSpans: 250_000,
			RequireToken:   "auto",
		},
		Auth:    Auth{Enabled: true, SessionTTL: Duration(12 * time.Hour), RateLimit: 20, RateBurst: 200},
		IPIntel: IPIntel{CacheTTL: Duration(6 * time.Hour)},
		Rules:   Rules{Builtin: true, QueryOffset: Duration(30 * time.Second), ReplayCacheMB: 256},
		Contain: Contain{SweepInterval: Duration(10 * time.Second), AutoResponse: AutoResponseOn, MaxAutoBlocksPerHour: 100,
			Detector: DetectorResponse{InvestigateAlerts: true, Window: Duration(24 * time.Hour), MaxPerHour: 60, MinRisk: 80, Mode: "shadow"}},
		APIMap: APIMap{
			SnapshotInterval:  Duration(time.Hour),
			Window:            Duration(7 * 24 * time.Hour),
			SnapshotRetention: Duration(30 * 24 * time.Hour),
		},
		Log: Log{Level: "info", Format: "text"},
	}
}

// Load returns the defaults overlaid with the YAML file at path (if path is
// not empty) and then with the environment.
func Load(path string, env func(string) string) (Config, error) {
	c := Default()
	if path != "" {
		b, err := os.ReadFile(path)
		if err != nil {
			return c, fmt.Errorf("read config: %w", err)
		}
		if err := Parse(b, &c); err != nil {
			return c, fmt.Errorf("config %s: %w", path, err)
		}
	}
	if err := c.applyEnv(env); err != nil {
		return c, err
	}
	return c, c.Validate()
}

// Parse overlays the YAML document b on c. Unknown keys are errors, so a
// misspelt option does not pass silently.
func Parse(b []byte, c *Config) error {
	dec := yaml.NewDecoder(bytes.NewReader(b))
	dec.KnownFields(true)
	if err := dec.Decode(c); err != nil && !errors.Is(err, io.EOF) {
		return err
	}
	return nil
}

func (c *Config) applyEnv(env func(string) string) error {
	if env == nil {
		env = os.Getenv
	}
	str := map[string]*string{
		"TRACEHOUND_DATA":                 &c.Data,
		"TRACEHOUND_LISTEN":               &c.Listen,
		"TRACEHOUND_OTLP_HTTP":            &c.OTLPHTTP,
		"TRACEHOUND_OTLP_GRPC":            &c.OTLPGRPC,
		"TRACEHOUND_LOG_LEVEL":            &c.Log.Level,
		"TRACEHOUND_LOG_FORMAT":           &c.Log.Format,
		"TRACEHOUND_INGEST_REQUIRE_TOKEN": &c.Ingest.RequireToken,
		"TRACEHOUND_LLM_BASE_URL":         &c.LLM.BaseURL,
		"TRACEHOUND_STATE_DRIVER":         &c.State.Driver,
		"TRACEHOUND_STATE_DSN":            &c.State.DSN,
		"TRACEHOUND_STORE_DRIVER":         &c.Store.Driver,
		"TRACEHOUND_STORE_DSN":            &c.Store.DSN,
		"TRACEHOUND_STORE_COMPACT":        &c.Store.Compact,
		"TRACEHOUND_LLM_MODEL":            &c.LLM.Model,
		"TRACEHOUND_LLM_API_KEY":          &c.LLM.APIKey,
		"TRACEHOUND_LLM_API_KEY_FILE":     &c.LLM.APIKeyFile,
	}
	for name, dst := range str {
		if v, ok := lookup(env, name); ok {
			*dst = v
		}
	}
	if v, ok := lookup(env, "TRACEHOUND_RETENTION"); ok {
		if err := c.Retention.Set(v); err != nil {
			return fmt.Errorf("TRACEHOUND_RETENTION: %w", err)
		}
	}
	if v, ok := lookup(env, "TRACEHOUND_AUTH_ENABLED"); ok {
		b, err := strconv.ParseBool(v)
		if err != nil {
			return fmt.Errorf("TRACEHOUND_AUTH_ENABLED: want true or false, got %q", v)
		}
		c.Auth.Enabled = b
	}
	if v, ok := lookup(env, "TRACEHOUND_MAX_BODY_BYTES"); ok {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil {
			return fmt.Errorf("TRACEHOUND_MAX_BODY_BYTES: %w", err)
		}
		c.Ingest.MaxBodyBytes = n
	}
	return nil
}

func lookup(env func(string) string, name string) (string, bool) {
	v := env(name)
	return v, v != ""
}

// Validate reports settings that cannot work.
func (c *Config) Validate() error {
	var errs []error
	if c.Data == "" {
		errs = append(errs, errors.New("data directory is empty"))
	}
	if c.Retention < 0 {
		errs = append(errs, errors.New("retention is negative"))
	}
	if c.APIMap.SnapshotInterval < 0 {
		errs = append(errs, errors.New("apimap.snapshot_interval is negative"))
	}
	if c.APIMap.SnapshotRetention < 0 {
		errs = append(errs, errors.New("apimap.snapshot_retention is negative"))
	}
	switch c.Store.Compact {
	case "", "on", "off":
	default:
		errs = append(errs, fmt.Errorf("store.compact: want on or off, got %q", c.Store.Compact))
	}
	switch c.Ingest.RequireToken {
	case "auto", "true", "false":
	default:
		errs = append(errs, fmt.Errorf("ingest.require_token is %q: want auto, true or false", c.Ingest.RequireToken))
	}
	if c.Contain.SweepInterval <= 0 {
		errs = append(errs, errors.New("contain.sweep_interval must be positive"))
	}
	switch c.Contain.AutoResponse {
	case AutoResponseOn, AutoResponseShadow, AutoResponseOff:
	default:
		errs = append(errs, fmt.Errorf("contain.auto_response is %q: want on, shadow or off", c.Contain.AutoResponse))
	}
	if c.Contain.MaxAutoBlocksPerHour < 0 {
		errs = append(errs, errors.New("contain.max_auto_blocks_per_hour must not be negative"))
	}
	if d := c.Contain.Detector; d.Window <= 0 || d.MaxPerHour < 0 || d.Block < 0 || d.MinRisk < 0 || d.MinRisk > 100 {
		errs = append(errs, errors.New("contain.detector: window must be positive, max_per_hour and block not negative, min_risk within 0–100"))
	}
	if m := c.Contain.Detector.Mode; m != "shadow" && m != "enforce" {
		errs = append(errs, fmt.Errorf("contain.detector.mode is %q: want shadow or enforce", m))
	}
	if c.Auth.RateLimit < 0 || c.Auth.RateBurst < 0 {
		errs = append(errs, errors.New("auth.rate_limit and auth.rate_burst must not be negative"))
	}
	if c.Auth.SessionTTL <= 0 {
		errs = append(errs, errors.New("auth.session_ttl must be positive"))
	}
	if c.APIMap.Window <= 0 {
		errs = append(errs, errors.New("apimap.window must be positive"))
	}
	for i, p := range c.APIMap.Pins {
		if err := apimap.CheckCorrections([]apimap.ServicePath{{Service: p.Service, Path: p.Path}}, nil); err != nil {
			errs = append(errs, fmt.Errorf("apimap.pins[%d]: %w", i, err))
		}
	}
	for i, p := range c.APIMap.DoNotMerge {
		if err := apimap.CheckCorrections(nil, []apimap.ServicePath{{Service: p.Service, Path: p.Path}}); err != nil {
			errs = append(errs, fmt.Errorf("apimap.do_not_merge[%d]: %w", i, err))
		}
	}
	if c.Ingest.MaxBodyBytes <= 0 {
		errs = append(errs, errors.New("ingest.max_body_bytes must be positive"))
	}
	switch strings.ToLower(c.Log.Level) {
	case "debug", "info", "warn", "error":
	default:
		errs = append(errs, fmt.Errorf("log.level %q: want debug, info, warn or error", c.Log.Level))
	}
	switch c.Log.Format {
	case "text", "json":
	default:
		errs = append(errs, fmt.Errorf("log.format %q: want text or json", c.Log.Format))
	}
	return errors.Join(errs...)
}

// Duration is a time.Duration that also reads days ("30d") and implements
// yaml.Unmarshaler and pflag.Value.
type Duration time.Duration

// ParseDuration parses Go durations plus a "d" (days) and "w" (weeks) unit.
func ParseDuration(s string) (time.Duration, error) {
	s = strings.TrimSpace(s)
	for _, u := range []struct {
		suffix string
		unit   time.Duration
	}{{"d", 24 * time.Hour}, {"w", 7 * 24 * time.Hour}} {
		if n, ok := strings.CutSuffix(s, u.suffix); ok {
			f, err := strconv.ParseFloat(n, 64)
			if err != nil {
				return 0, fmt.Errorf("invalid duration %q", s)
			}
			return time.Duration(f * float64(u.unit)), nil
		}
	}
	d, err := time.ParseDuration(s)
	if err != nil {
		return 0, fmt.Errorf("invalid duration %q (use e.g. 15m, 24h, 7d)", s)
	}
	return d, nil
}

func (d Duration) String() string {
	td := time.Duration(d)
	if td == 0 {
		return "0" // what flag help treats as no default
	}
	if td > 0 && td%(24*time.Hour) == 0 {
		return strconv.FormatInt(int64(td/(24*time.Hour)), 10) + "d"
	}
	// "1h", "1h30m", "90s" rather than "1h0m0s".
	s := td.String()
	if strings.HasSuffix(s, "m0s") {
		s = strings.TrimSuffix(s, "0s")
	}
	if strings.HasSuffix(s, "h0m") {
		s = strings.TrimSuffix(s, "0m")
	}
	return s
}

// Set implements pflag.Value.
func (d *Duration) Set(s string) error {
	v, err := ParseDuration(s)
	if err != nil {
		return err
	}
	*d = Duration(v)
	return nil
}

// Type implements pflag.Value.
func (d *Duration) Type() string { return "duration" }

// UnmarshalYAML implements yaml.Unmarshaler.
func (d *Duration) UnmarshalYAML(n *yaml.Node) error {
	return d.Set(n.Value)
}
