package ipintel

import (
	"errors"
	"fmt"
	"log/slog"
	"os"
	"time"
)

// Config selects and configures the sources Open builds. Every source is
// optional; a zero Config enriches with the embedded data-center set only.
type Config struct {
	// AbuseIPDB configures the reputation source.
	AbuseIPDB AbuseIPDBConfig
	// MMDB lists .mmdb files (GeoLite2, GeoIP2, DB-IP, IPinfo), asked in order.
	MMDB []string
	// ASNCSV lists ASN range CSVs (start,end,asn,org), merged into one table.
	ASNCSV []string
	// CountryCSV lists country range CSVs (start,end,country), merged.
	CountryCSV []string
	// DataCenterASNs is an extra ASN set file (see ReadASNSet) merged with
	// the embedded one; DisableDataCenters turns the offline signal off.
	DataCenterASNs     string
	DisableDataCenters bool
	// TorExitList is a Tor exit list file (see ReadTorExits).
	TorExitList string
	// RDNS configures reverse DNS.
	RDNS RDNSConfig
	// CacheTTL, RetryTTL and Concurrency are Options.TTL, RetryTTL and
	// Concurrency.
	CacheTTL, RetryTTL time.Duration
	Concurrency        int
	// Cache replaces the in-memory cache, e.g. with one in the state store.
	Cache Cache
}

// AbuseIPDBConfig configures AbuseIPDB; without a key it is disabled.
type AbuseIPDBConfig struct {
	// APIKey, or else the first line of KeyFile.
	APIKey  Secret
	KeyFile string
	// BaseURL, MaxAgeInDays, DailyCheckQuota, CacheTTL, NegativeTTL and
	// DisableCheck are the AbuseIPDBOptions fields of the same names.
	BaseURL               string
	MaxAgeInDays          int
	DailyCheckQuota       int
	CacheTTL, NegativeTTL time.Duration
	DisableCheck          bool
	// BlacklistPath is where the pulled blacklist is kept; empty disables
	// the blacklist. BlacklistMaxAge is how old it may get before
	// RefreshBlacklist pulls again (default 6h: four of the free tier's
	// five daily pulls). ConfidenceMinimum and Limit shape the pull.
	BlacklistPath     string
	BlacklistMaxAge   time.Duration
	ConfidenceMinimum int
	Limit             int
}

// RDNSConfig configures reverse DNS.
type RDNSConfig struct {
	// Enabled turns PTR lookups on; they are off by default because they
	// reach the network.
	Enabled bool
	// Server, Timeout and Concurrency are the ReverseDNSOptions fields.
	Server      string
	Timeout     time.Duration
	Concurrency int
}

// Open builds an Enricher from cfg: it opens the databases, loads the
// tables and the stored blacklist, and makes no network call. Close
// releases the databases.
func Open(cfg Config, logger *slog.Logger) (*Enricher, error) {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	opts := Options{
		Cache:       cfg.Cache,
		TTL:         cfg.CacheTTL,
		RetryTTL:    cfg.RetryTTL,
		Concurrency: cfg.Concurrency,
		Logger:      logger,
	}
	var closers []func() error
	fail := func(err error) (*Enricher, error) {
		for _, c := range closers {
			c()
		}
		return nil, err
	}
	var abuse *AbuseIPDB
	key, err := LoadAPIKey(string(cfg.AbuseIPDB.APIKey), cfg.AbuseIPDB.KeyFile)
	if err != nil {
		return fail(fmt.Errorf("abuseipdb: %w", err))
	}
	if key == "" {
		opts.Disabled = append(opts.Disabled, "abuseipdb")
	} else {
		a := cfg.AbuseIPDB
		abuse, err = NewAbuseIPDB(AbuseIPDBOptions{
			BaseURL: a.BaseURL, APIKey: key, MaxAgeInDays: a.MaxAgeInDays,
			DailyCheckQuota: a.DailyCheckQuota, CacheTTL: a.CacheTTL, NegativeTTL: a.NegativeTTL,
			DisableCheck: a.DisableCheck, Logger: logger,
		})
		if err != nil {
			return fail(err)
		}
		if a.BlacklistPath != "" {
			bl, err := ReadBlacklistFile(a.BlacklistPath)
			switch {
			case err == nil:
				abuse.SetBlacklist(bl)
			case !errors.Is(err, os.ErrNotExist):
				return fail(err)
			}
		}
		opts.Sources = append(opts.Sources, abuse)
	}
	for _, path := range cfg.MMDB {
		m, err := OpenMMDB(path)
		if err != nil {
			return fail(err)
		}
		closers = append(closers, m.Close)
		opts.Sources = append(opts.Sources, m)
	}
	if len(cfg.ASNCSV) > 0 {
		t, err := LoadRangeCSVFiles("asn_csv", cfg.ASNCSV...)
		if err != nil {
			return fail(err)
		}
		opts.Sources = append(opts.Sources, t)
	}
	if len(cfg.CountryCSV) > 0 {
		t, err := LoadRangeCSVFiles("country_csv", cfg.CountryCSV...)
		if err != nil {
			return fail(err)
		}
		opts.Sources = append(opts.Sources, t)
	}
	if cfg.TorExitList != "" {
		t, err := LoadTorExits(cfg.TorExitList)
		if err != nil {
			return fail(err)
		}
		opts.Sources = append(opts.Sources, t)
	}
	if cfg.RDNS.Enabled {
		opts.Sources = append(opts.Sources, NewReverseDNS(ReverseDNSOptions{
			Server: cfg.RDNS.Server, Timeout: cfg.RDNS.Timeout, Concurrency: cfg.RDNS.Concurrency,
		}))
	} else {
		opts.Disabled = append(opts.Disabled, "rdns")
	}
	if !cfg.DisableDataCenters {
		dc := DefaultDataCenters()
		if cfg.DataCenterASNs != "" {
			f, err := os.Open(cfg.DataCenterASNs)
			if err != nil {
				return fail(fmt.Errorf("data-center ASNs: %w", err))
			}
			extra, err := ReadASNSet(f)
			f.Close()
			if err != nil {
				return fail(fmt.Errorf("%s: %w", cfg.DataCenterASNs, err))
			}
			for asn, p := range extra.providers {
				dc.providers[asn] = p
			}
		}
		opts.DataCenters = dc
	}
	e := NewEnricher(opts)
	e.closers = closers
	e.abuse = abuse
	if abuse != nil && cfg.AbuseIPDB.BlacklistPath != "" {
		maxAge := cfg.AbuseIPDB.BlacklistMaxAge
		if maxAge <= 0 {
			maxAge = 6 * time.Hour
		}
		e.abuseBL = blacklistSource{
			path:   cfg.AbuseIPDB.BlacklistPath,
			maxAge: maxAge,
			query:  BlacklistQuery{ConfidenceMinimum: cfg.AbuseIPDB.ConfidenceMinimum, Limit: cfg.AbuseIPDB.Limit},
		}
	}
	return e, nil
}
