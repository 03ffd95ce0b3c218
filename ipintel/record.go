package ipintel

import (
	"context"
	"errors"
	"net/netip"
	"slices"
	"strings"
	"time"
)

// Record is everything the configured sources know about one address.
// JSON keys are the stable snake_case names of the HTTP API and CLI.
type Record struct {
	// IP is the address, IPv4 unmapped.
	IP netip.Addr `json:"ip"`
	// AbuseConfidence is AbuseIPDB's abuse confidence score, 0–100. It is
	// meaningful only when Sources names an abuseipdb source.
	AbuseConfidence int `json:"abuse_confidence"`
	// TotalReports and DistinctReporters count AbuseIPDB reports within the
	// configured maximum age.
	TotalReports      int `json:"total_reports"`
	DistinctReporters int `json:"distinct_reporters"`
	// LastReported is the time of the newest AbuseIPDB report; zero if none.
	LastReported time.Time `json:"last_reported,omitzero"`
	// ISP and Domain are the network operator and its domain.
	ISP    string `json:"isp,omitempty"`
	Domain string `json:"domain,omitempty"`
	// ASN is the announcing autonomous system; ASOrg its organisation.
	ASN   uint32 `json:"asn,omitempty"`
	ASOrg string `json:"as_org,omitempty"`
	// UsageType is AbuseIPDB's usage type verbatim ("Data Center/Web
	// Hosting/Transit", "Fixed Line ISP", ...), or [UsageDataCenter] when an
	// offline source recognises a hosting network.
	UsageType string `json:"usage_type,omitempty"`
	// Country is the ISO 3166-1 alpha-2 code; CountryName and City are
	// English names, taken only from a source that agrees on Country.
	Country     string `json:"country,omitempty"`
	CountryName string `json:"country_name,omitempty"`
	City        string `json:"city,omitempty"`
	// Hostnames are PTR names and AbuseIPDB's hostnames, united.
	Hostnames []string `json:"hostnames,omitempty"`
	// IsTor is true if any source lists the address as a Tor exit.
	IsTor bool `json:"is_tor"`
	// IsPublic is false for private, loopback, link-local, documentation
	// and other reserved addresses; those are never sent to AbuseIPDB.
	IsPublic bool `json:"is_public"`
	// Sources names the sources that contributed, in order of precedence.
	Sources []string `json:"sources"`
	// FetchedAt is when the record was assembled.
	FetchedAt time.Time `json:"fetched_at"`
	// NotEnriched names each source that could have answered but did not,
	// with the reason. A source that answered "nothing known" is absent.
	NotEnriched map[string]Reason `json:"not_enriched,omitempty"`
}

// UsageDataCenter is the usage type set by offline sources for addresses in
// a known hosting or cloud network.
const UsageDataCenter = "Data Center"

// IsDataCenter reports whether a usage type, AbuseIPDB's or ours, denotes a
// hosting, cloud or transit network.
func IsDataCenter(usageType string) bool {
	return strings.HasPrefix(usageType, UsageDataCenter)
}

// Reason says why a source did not enrich a record.
type Reason string

// The reasons a source can give. Transient ones (quota, timeout, error) make
// the [Enricher] cache the record only briefly so it is retried.
const (
	ReasonDisabled      Reason = "disabled"        // not configured
	ReasonQuota         Reason = "quota"           // rate limit or daily quota spent
	ReasonTimeout       Reason = "timeout"         // deadline exceeded
	ReasonNotPublic     Reason = "not public"      // private or reserved address, not sent out
	ReasonInvalidAPIKey Reason = "invalid api key" // the service refused the credential
	ReasonRejected      Reason = "rejected"        // the service refused this address (AbuseIPDB 422)
	ReasonError         Reason = "error"           // anything else; logged
)

// Transient reports whether the reason may go away on a retry.
func (r Reason) Transient() bool {
	return r == ReasonQuota || r == ReasonTimeout || r == ReasonError
}

// Errors returned by sources. Callers test them with errors.Is.
var (
	// ErrNotFound means the source has no data for the address.
	ErrNotFound = errors.New("ipintel: no data for address")
	// ErrQuota means a rate limit or quota stopped the lookup.
	ErrQuota = errors.New("ipintel: quota exhausted")
	// ErrNotPublic means the address is not public and was not looked up.
	ErrNotPublic = errors.New("ipintel: address is not public")
	// ErrInvalidAPIKey means the service rejected the configured key.
	ErrInvalidAPIKey = errors.New("ipintel: invalid API key")
	// ErrRejected means the service rejected the request for this address.
	ErrRejected = errors.New("ipintel: address rejected")
)

// Source is one enrichment source.
type Source interface {
	// Name is a short stable identifier ("abuseipdb", "mmdb:GeoLite2-City",
	// "asn_csv") used in [Record.Sources] and [Record.NotEnriched].
	Name() string
	// Lookup returns what the source knows about addr in a partial Record
	// (IP, FetchedAt and IsPublic need not be set). It returns ErrNotFound
	// when it knows nothing. It may return partial data together with an
	// error; the Enricher keeps the data and records the reason. Lookup must
	// be safe for concurrent use.
	Lookup(ctx context.Context, addr netip.Addr) (Record, error)
}

// reasonFor maps a lookup error to a Reason; ok is false for ErrNotFound,
// which is not a failure.
func reasonFor(ctx context.Context, err error) (Reason, bool) {
	switch {
	case errors.Is(err, ErrNotFound):
		return "", false
	case errors.Is(err, ErrQuota):
		return ReasonQuota, true
	case errors.Is(err, ErrNotPublic):
		return ReasonNotPublic, true
	case errors.Is(err, ErrInvalidAPIKey):
		return ReasonInvalidAPIKey, true
	case errors.Is(err, ErrRejected):
		return ReasonRejected, true
	case errors.Is(err, context.DeadlineExceeded) || isTimeout(err):
		return ReasonTimeout, true
	case ctx.Err() != nil:
		return ReasonTimeout, true
	}
	return ReasonError, true
}

func isTimeout(err error) bool {
	var t interface{ Timeout() bool }
	return errors.As(err, &t) && t.Timeout()
}

// mergeInto fills the empty fields of dst from src. Earlier sources win for
// scalar fields; hostnames are united and IsTor is true if any source says so.
func mergeInto(dst *Record, src Record) {
	if !hasAbuse(*dst) && hasAbuse(src) {
		dst.AbuseConfidence = src.AbuseConfidence
		dst.TotalReports = src.TotalReports
		dst.DistinctReporters = src.DistinctReporters
		dst.LastReported = src.LastReported
	}
	fill(&dst.ISP, src.ISP)
	fill(&dst.Domain, src.Domain)
	if dst.ASN == 0 && src.ASN != 0 {
		dst.ASN = src.ASN
		if src.ASOrg != "" {
			dst.ASOrg = src.ASOrg
		}
	}
	if dst.ASN == src.ASN {
		fill(&dst.ASOrg, src.ASOrg)
	}
	fill(&dst.UsageType, src.UsageType)
	if dst.Country == "" && src.Country != "" {
		dst.Country = src.Country
		dst.CountryName = src.CountryName
		dst.City = src.City
	} else if dst.Country == src.Country {
		fill(&dst.CountryName, src.CountryName)
		fill(&dst.City, src.City)
	}
	for _, h := range src.Hostnames {
		if !slices.Contains(dst.Hostnames, h) {
			dst.Hostnames = append(dst.Hostnames, h)
		}
	}
	dst.IsTor = dst.IsTor || src.IsTor
}

// hasAbuse reports whether r carries AbuseIPDB data; a checked address with
// score zero has no reports either, which merging treats as "no opinion"
// only when no abuseipdb source is named.
func hasAbuse(r Record) bool {
	return r.AbuseConfidence != 0 || r.TotalReports != 0 || !r.LastReported.IsZero() ||
		slices.ContainsFunc(r.Sources, func(s string) bool { return strings.HasPrefix(s, "abuseipdb") })
}

func fill(dst *string, src string) {
	if *dst == "" {
		*dst = src
	}
}
