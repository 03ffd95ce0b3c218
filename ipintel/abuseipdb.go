package ipintel

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"net/http"
	"net/netip"
	"net/url"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// DefaultAbuseIPDBURL is the AbuseIPDB API v2 base URL.
const DefaultAbuseIPDBURL = "https://api.abuseipdb.com/api/v2"

// Secret is a credential. It formats, logs and marshals as "[REDACTED]" so
// a configuration can be printed or logged without leaking it.
type Secret string

// String implements fmt.Stringer.
func (Secret) String() string { return "[REDACTED]" }

// GoString implements fmt.GoStringer, for %#v.
func (Secret) GoString() string { return `"[REDACTED]"` }

// LogValue implements slog.LogValuer.
func (Secret) LogValue() slog.Value { return slog.StringValue("[REDACTED]") }

// MarshalText implements encoding.TextMarshaler.
func (Secret) MarshalText() ([]byte, error) { return []byte("[REDACTED]"), nil }

// LoadAPIKey returns the key given directly, or else the first line of
// file. A file is the better place: it keeps the key out of process
// listings and shell history. Neither set returns "" and no error.
func LoadAPIKey(value, file string) (Secret, error) {
	if value != "" || file == "" {
		return Secret(strings.TrimSpace(value)), nil
	}
	b, err := os.ReadFile(file)
	if err != nil {
		return "", fmt.Errorf("read API key file: %w", err)
	}
	key, _, _ := strings.Cut(string(b), "\n")
	key = strings.TrimSpace(key)
	if key == "" {
		return "", fmt.Errorf("read API key file %q: empty", file)
	}
	return Secret(key), nil
}

// AbuseIPDBOptions configures an AbuseIPDB client. Zero values take the
// documented defaults.
type AbuseIPDBOptions struct {
	// BaseURL defaults to DefaultAbuseIPDBURL; tests point it at a local server.
	BaseURL string
	// APIKey is sent in the Key header and never logged or put in errors.
	APIKey Secret
	// MaxAgeInDays bounds the reports /check considers, 1–365 (default 90).
	MaxAgeInDays int
	// Verbose asks /check for the individual reports.
	Verbose bool
	// DailyCheckQuota is the plan's daily /check allowance (default 1,000,
	// the free tier); the client never spends more than this in 24 hours.
	DailyCheckQuota int
	// RatePerSecond bounds the request rate (default 5, burst 5).
	RatePerSecond float64
	// CacheTTL is how long a reported address's result is reused (default 24h);
	// NegativeTTL is how long a never-reported address or a rejected one is
	// (default 6h): clean addresses are the likeliest to change.
	CacheTTL, NegativeTTL time.Duration
	// DisableCheck turns /check off; only the local blacklist is consulted.
	DisableCheck bool
	// HTTPClient defaults to a client with a 15-second timeout.
	HTTPClient *http.Client
	// Now is the clock (time.Now when nil); Logger receives rate-limit
	// warnings (discarded when nil). Neither ever sees the key.
	Now    func() time.Time
	Logger *slog.Logger
}

// AbuseIPDB is a client for the AbuseIPDB API v2 and a Source. Lookup
// consults the local blacklist (see SetBlacklist) and then /check, within
// the daily quota. A 429 parks every /check call until the time the server
// names; a 401 disables the client, since every later call would fail too.
type AbuseIPDB struct {
	opts      AbuseIPDBOptions
	base      string
	key       string
	now       func() time.Time
	log       *slog.Logger
	check     endpoint
	blacklist endpoint
	rate      *tokenBucket
	cache     *ttlCache[checkEntry]
	list      atomic.Pointer[Blacklist]
	authErr   atomic.Pointer[error]
}

var _ Source = (*AbuseIPDB)(nil)

// endpoint is the quota state of one API endpoint; AbuseIPDB counts quotas
// per endpoint.
type endpoint struct {
	mu          sync.Mutex
	pausedUntil time.Time
	quota       *tokenBucket // nil: unmetered
}

type checkEntry struct {
	res CheckResult
	err error
}

// NewAbuseIPDB returns a client. It fails without an API key.
func NewAbuseIPDB(opts AbuseIPDBOptions) (*AbuseIPDB, error) {
	if opts.APIKey == "" {
		return nil, errors.New("abuseipdb: no API key configured")
	}
	if opts.BaseURL == "" {
		opts.BaseURL = DefaultAbuseIPDBURL
	}
	if _, err := url.Parse(opts.BaseURL); err != nil {
		return nil, fmt.Errorf("abuseipdb: base URL: %w", err)
	}
	if opts.MaxAgeInDays <= 0 {
		opts.MaxAgeInDays = 90
	}
	opts.MaxAgeInDays = min(opts.MaxAgeInDays, 365)
	if opts.DailyCheckQuota <= 0 {
		opts.DailyCheckQuota = 1000
	}
	if opts.RatePerSecond <= 0 {
		opts.RatePerSecond = 5
	}
	if opts.CacheTTL <= 0 {
		opts.CacheTTL = 24 * time.Hour
	}
	if opts.NegativeTTL <= 0 {
		opts.NegativeTTL = 6 * time.Hour
	}
	if opts.HTTPClient == nil {
		opts.HTTPClient = &http.Client{Timeout: 15 * time.Second}
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	c := &AbuseIPDB{
		opts: opts,
		base: strings.TrimRight(opts.BaseURL, "/"),
		key:  string(opts.APIKey),
		now:  opts.Now,
		log:  opts.Logger.With("component", "ipintel.abuseipdb"),
		rate: newTokenBucket(opts.RatePerSecond, max(1, int(opts.RatePerSecond)), opts.Now),
	}
	c.check.quota = newTokenBucket(float64(opts.DailyCheckQuota)/86400, opts.DailyCheckQuota, opts.Now)
	c.cache = newTTLCache[checkEntry](100_000, opts.Now)
	return c, nil
}

// Name implements Source.
func (c *AbuseIPDB) Name() string { return "abuseipdb" }

// SetBlacklist installs the blacklist Lookup matches addresses against
// before spending a /check call; nil removes it.
func (c *AbuseIPDB) SetBlacklist(b *Blacklist) { c.list.Store(b) }

// PausedUntil returns the time until which /check calls are parked after a
// 429; zero when they are not.
func (c *AbuseIPDB) PausedUntil() time.Time {
	c.check.mu.Lock()
	defer c.check.mu.Unlock()
	if c.now().Before(c.check.pausedUntil) {
		return c.check.pausedUntil
	}
	return time.Time{}
}

// Lookup implements Source. Non-public addresses are never sent. A
// blacklist hit is returned even when /check is out of quota, together with
// the ErrQuota.
func (c *AbuseIPDB) Lookup(ctx context.Context, addr netip.Addr) (Record, error) {
	addr = addr.Unmap()
	if !IsPublic(addr) {
		return Record{}, ErrNotPublic
	}
	var rec Record
	found := false
	if bl := c.list.Load(); bl != nil {
		if e, ok := bl.Lookup(addr); ok {
			rec = Record{
				AbuseConfidence: e.AbuseConfidence,
				LastReported:    e.LastReported,
				Country:         e.CountryCode,
				Sources:         []string{"abuseipdb_blacklist"},
			}
			found = true
		}
	}
	if c.opts.DisableCheck {
		if !found {
			return Record{}, ErrNotFound
		}
		return rec, nil
	}
	res, err := c.Check(ctx, addr)
	if err != nil {
		return rec, err
	}
	return res.record(), nil
}

// CheckResult is the data object of a /check response.
type CheckResult struct {
	IPAddress            string     `json:"ipAddress"`
	IsPublic             bool       `json:"isPublic"`
	IPVersion            int        `json:"ipVersion"`
	IsWhitelisted        *bool      `json:"isWhitelisted"`
	AbuseConfidenceScore int        `json:"abuseConfidenceScore"`
	CountryCode          string     `json:"countryCode"`
	CountryName          string     `json:"countryName"`
	UsageType            string     `json:"usageType"`
	ISP                  string     `json:"isp"`
	Domain               string     `json:"domain"`
	Hostnames            []string   `json:"hostnames"`
	IsTor                bool       `json:"isTor"`
	TotalReports         int        `json:"totalReports"`
	NumDistinctUsers     int        `json:"numDistinctUsers"`
	LastReportedAt       *time.Time `json:"lastReportedAt"`
	// Reports is present only for verbose checks.
	Reports []Report `json:"reports,omitempty"`
}

// Report is one abuse report in a verbose /check response.
type Report struct {
	ReportedAt          time.Time `json:"reportedAt"`
	Comment             string    `json:"comment"`
	Categories          []int     `json:"categories"`
	ReporterID          int       `json:"reporterId"`
	ReporterCountryCode string    `json:"reporterCountryCode"`
}

func (r CheckResult) record() Record {
	rec := Record{
		AbuseConfidence:   r.AbuseConfidenceScore,
		TotalReports:      r.TotalReports,
		DistinctReporters: r.NumDistinctUsers,
		ISP:               r.ISP,
		Domain:            r.Domain,
		UsageType:         r.UsageType,
		Country:           r.CountryCode,
		CountryName:       r.CountryName,
		Hostnames:         r.Hostnames,
		IsTor:             r.IsTor,
		Sources:           []string{"abuseipdb"},
	}
	if r.LastReportedAt != nil {
		rec.LastReported = r.LastReportedAt.UTC()
	}
	return rec
}

// decodeCheck decodes a /check response body.
func decodeCheck(body []byte) (CheckResult, error) {
	var env struct {
		Data *CheckResult `json:"data"`
	}
	if err := json.Unmarshal(body, &env); err != nil {
		return CheckResult{}, fmt.Errorf("abuseipdb: decode check response: %w", err)
	}
	if env.Data == nil {
		return CheckResult{}, errors.New("abuseipdb: decode check response: no data object")
	}
	if _, err := netip.ParseAddr(env.Data.IPAddress); err != nil {
		return CheckResult{}, fmt.Errorf("abuseipdb: decode check response: ipAddress %q", env.Data.IPAddress)
	}
	return *env.Data, nil
}

// Check calls /check for addr, or answers from the cache. Errors wrap
// ErrQuota (429, paused or local quota spent), ErrInvalidAPIKey (401/403)
// or ErrRejected (422, cached like a clean result).
func (c *AbuseIPDB) Check(ctx context.Context, addr netip.Addr) (CheckResult, error) {
	addr = addr.Unmap()
	if e, ok := c.cache.get(addr); ok {
		return e.res, e.err
	}
	q := url.Values{}
	q.Set("ipAddress", addr.String())
	q.Set("maxAgeInDays", strconv.Itoa(c.opts.MaxAgeInDays))
	if c.opts.Verbose {
		q.Set("verbose", "")
	}
	body, err := c.get(ctx, &c.check, "/check", q, 1<<20)
	if errors.Is(err, ErrRejected) {
		err = fmt.Errorf("abuseipdb: check %s: %w", addr, err)
		c.cache.put(addr, checkEntry{err: err}, c.now().Add(c.opts.NegativeTTL))
		return CheckResult{}, err
	}
	if err != nil {
		return CheckResult{}, err
	}
	res, err := decodeCheck(body)
	if err != nil {
		return CheckResult{}, err
	}
	ttl := c.opts.CacheTTL
	if res.TotalReports == 0 && res.AbuseConfidenceScore == 0 {
		ttl = c.opts.NegativeTTL
	}
	c.cache.put(addr, checkEntry{res: res}, c.now().Add(ttl))
	return res, nil
}

// BlacklistQuery selects a blacklist pull.
type BlacklistQuery struct {
	// ConfidenceMinimum is 25–100 (default 100; lower values are a
	// subscriber feature).
	ConfidenceMinimum int
	// Limit caps the entries (default 10,000, the free tier's cap).
	Limit int
	// Plaintext asks for one address a line instead of JSON; smaller, but
	// without scores, countries or report times.
	Plaintext bool
}

// FetchBlacklist pulls /blacklist. The free tier allows five pulls a day, so
// callers should keep the result (Blacklist.WriteTo, RefreshBlacklist).
func (c *AbuseIPDB) FetchBlacklist(ctx context.Context, bq BlacklistQuery) (*Blacklist, error) {
	if bq.ConfidenceMinimum <= 0 {
		bq.ConfidenceMinimum = 100
	}
	if bq.Limit <= 0 {
		bq.Limit = 10_000
	}
	q := url.Values{}
	q.Set("confidenceMinimum", strconv.Itoa(bq.ConfidenceMinimum))
	q.Set("limit", strconv.Itoa(bq.Limit))
	if bq.Plaintext {
		q.Set("plaintext", "")
	}
	body, err := c.get(ctx, &c.blacklist, "/blacklist", q, 64<<20)
	if err != nil {
		return nil, err
	}
	if bq.Plaintext {
		return decodeBlacklistPlain(body, c.now())
	}
	return decodeBlacklistJSON(body)
}

// RefreshBlacklist returns the blacklist stored at path if it is younger
// than maxAge, and otherwise pulls a new one, stores it at path and returns
// it. When the pull fails and an older file exists, the older list is
// returned along with the error, so enrichment can go on.
func (c *AbuseIPDB) RefreshBlacklist(ctx context.Context, path string, maxAge time.Duration, bq BlacklistQuery) (*Blacklist, error) {
	old, oldErr := ReadBlacklistFile(path)
	if oldErr == nil && c.now().Sub(old.GeneratedAt) < maxAge {
		return old, nil
	}
	fresh, err := c.FetchBlacklist(ctx, bq)
	if err != nil {
		if oldErr == nil {
			return old, err
		}
		return nil, err
	}
	if err := fresh.WriteFile(path); err != nil {
		return fresh, err
	}
	return fresh, nil
}

// get performs one GET against an endpoint, enforcing the pause, quota and
// rate, and classifying the response.
func (c *AbuseIPDB) get(ctx context.Context, ep *endpoint, path string, q url.Values, limit int64) ([]byte, error) {
	if p := c.authErr.Load(); p != nil {
		return nil, *p
	}
	ep.mu.Lock()
	paused := ep.pausedUntil
	ep.mu.Unlock()
	if c.now().Before(paused) {
		return nil, fmt.Errorf("abuseipdb: %s paused until %s: %w", path, paused.UTC().Format(time.RFC3339), ErrQuota)
	}
	if ep.quota != nil && !ep.quota.take() {
		return nil, fmt.Errorf("abuseipdb: %s: daily quota of %d spent: %w", path, c.opts.DailyCheckQuota, ErrQuota)
	}
	if err := c.rate.wait(ctx); err != nil {
		return nil, err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, c.base+path+"?"+encodeQuery(q), nil)
	if err != nil {
		return nil, c.redact(fmt.Errorf("abuseipdb: %s: %w", path, err))
	}
	req.Header.Set("Key", c.key)
	req.Header.Set("Accept", "application/json")
	resp, err := c.opts.HTTPClient.Do(req)
	if err != nil {
		return nil, c.redact(fmt.Errorf("abuseipdb: %s: %w", path, err))
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, limit))
	if err != nil {
		return nil, c.redact(fmt.Errorf("abuseipdb: %s: read body: %w", path, err))
	}
	if ep.quota != nil {
		if n, err := strconv.Atoi(resp.Header.Get("X-RateLimit-Remaining")); err == nil {
			var reset time.Time
			if s, err := strconv.ParseInt(resp.Header.Get("X-RateLimit-Reset"), 10, 64); err == nil {
				reset = time.Unix(s, 0)
			}
			ep.quota.limit(n, reset)
		}
	}
	switch {
	case resp.StatusCode == http.StatusOK:
		return body, nil
	case resp.StatusCode == http.StatusTooManyRequests:
		until := c.resetTime(resp.Header)
		ep.mu.Lock()
		ep.pausedUntil = until
		ep.mu.Unlock()
		if ep.quota != nil {
			ep.quota.drain(until)
		}
		c.log.Warn("abuseipdb rate limited", "endpoint", path, "until", until, "detail", c.redactString(apiErrorDetail(body)))
		return nil, fmt.Errorf("abuseipdb: %s: rate limited until %s: %s: %w",
			path, until.UTC().Format(time.RFC3339), c.redactString(apiErrorDetail(body)), ErrQuota)
	case resp.StatusCode == http.StatusUnauthorized || resp.StatusCode == http.StatusForbidden:
		err := fmt.Errorf("abuseipdb: invalid API key (HTTP %d: %s): %w",
			resp.StatusCode, c.redactString(apiErrorDetail(body)), ErrInvalidAPIKey)
		c.authErr.CompareAndSwap(nil, &err)
		return nil, err
	case resp.StatusCode == http.StatusUnprocessableEntity:
		return nil, fmt.Errorf("%s: %w", c.redactString(apiErrorDetail(body)), ErrRejected)
	default:
		return nil, fmt.Errorf("abuseipdb: %s: HTTP %d: %s", path, resp.StatusCode, c.redactString(apiErrorDetail(body)))
	}
}

// encodeQuery is url.Values.Encode except that empty values are written as
// bare flags ("verbose", "plaintext"), the way the API documents them.
func encodeQuery(q url.Values) string {
	var b strings.Builder
	for _, k := range slices.Sorted(maps.Keys(q)) {
		for _, v := range q[k] {
			if b.Len() > 0 {
				b.WriteByte('&')
			}
			b.WriteString(url.QueryEscape(k))
			if v != "" {
				b.WriteByte('=')
				b.WriteString(url.QueryEscape(v))
			}
		}
	}
	return b.String()
}

// resetTime reads when a 429 ends: Retry-After (seconds or an HTTP date),
// else X-RateLimit-Reset (epoch seconds), else one hour.
func (c *AbuseIPDB) resetTime(h http.Header) time.Time {
	now := c.now()
	if v := h.Get("Retry-After"); v != "" {
		if s, err := strconv.Atoi(strings.TrimSpace(v)); err == nil && s >= 0 {
			return now.Add(time.Duration(s) * time.Second)
		}
		if t, err := http.ParseTime(v); err == nil {
			return t
		}
	}
	if v := h.Get("X-RateLimit-Reset"); v != "" {
		if s, err := strconv.ParseInt(strings.TrimSpace(v), 10, 64); err == nil && s > now.Unix() {
			return time.Unix(s, 0)
		}
	}
	return now.Add(time.Hour)
}

// apiErrorDetail extracts the details of an AbuseIPDB error body
// ({"errors":[{"detail":...,"status":...}]}); for anything else it returns a
// short prefix of the body.
func apiErrorDetail(body []byte) string {
	var env struct {
		Errors []struct {
			Detail string `json:"detail"`
			Status int    `json:"status"`
			Source *struct {
				Parameter string `json:"parameter"`
			} `json:"source"`
		} `json:"errors"`
	}
	if err := json.Unmarshal(body, &env); err == nil && len(env.Errors) > 0 {
		parts := make([]string, 0, len(env.Errors))
		for _, e := range env.Errors {
			d := e.Detail
			if e.Source != nil && e.Source.Parameter != "" {
				d += " (parameter " + e.Source.Parameter + ")"
			}
			parts = append(parts, d)
		}
		return strings.Join(parts, "; ")
	}
	s := strings.TrimSpace(string(body))
	if len(s) > 200 {
		s = s[:200] + "…"
	}
	if s == "" {
		return "empty body"
	}
	return s
}

func (c *AbuseIPDB) redactString(s string) string {
	if c.key == "" {
		return s
	}
	return strings.ReplaceAll(s, c.key, "[REDACTED]")
}

// redact rewrites err's message without the key; the chain is kept only
// when the key does not appear in it.
func (c *AbuseIPDB) redact(err error) error {
	if msg := err.Error(); strings.Contains(msg, c.key) {
		return errors.New(c.redactString(msg))
	}
	return err
}
