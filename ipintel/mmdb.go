package ipintel

import (
	"context"
	"fmt"
	"net/netip"
	"strconv"
	"strings"

	"github.com/oschwald/maxminddb-golang/v2"
)

// MMDB is a Source over one MaxMind-format database. It reads the fields of
// the shape its database_type metadata names:
//
//   - MaxMind-shaped (GeoLite2/GeoIP2 City, Country, ASN, ISP, Enterprise,
//     Anonymous-IP; DB-IP Lite City/Country/ASN; the ip-location-db mmdb
//     files): country.iso_code, country.names.en, city.names.en,
//     autonomous_system_number/organization (top level or under traits),
//     isp, domain, traits.user_type, is_hosting_provider, is_tor_exit_node,
//     and a top-level country_code;
//   - IPinfo (database_type containing "ipinfo"): asn ("AS13335"), as_name,
//     as_domain, country_code and country (a name, or a code in the older
//     country_asn layout), city.
//
// Hosting signals (user_type "hosting", is_hosting_provider) set UsageType
// to UsageDataCenter.
type MMDB struct {
	db     *maxminddb.Reader
	ipinfo bool
}

var _ Source = (*MMDB)(nil)

// OpenMMDB opens a database file. The file is memory-mapped; Close releases it.
func OpenMMDB(path string) (*MMDB, error) {
	db, err := maxminddb.Open(path)
	if err != nil {
		return nil, fmt.Errorf("open mmdb %q: %w", path, err)
	}
	return newMMDB(db), nil
}

// OpenMMDBBytes opens a database held in memory.
func OpenMMDBBytes(b []byte) (*MMDB, error) {
	db, err := maxminddb.OpenBytes(b)
	if err != nil {
		return nil, fmt.Errorf("open mmdb: %w", err)
	}
	return newMMDB(db), nil
}

func newMMDB(db *maxminddb.Reader) *MMDB {
	return &MMDB{db: db, ipinfo: strings.Contains(strings.ToLower(db.Metadata.DatabaseType), "ipinfo")}
}

// DatabaseType returns the database_type metadata ("GeoLite2-City", ...).
func (m *MMDB) DatabaseType() string { return m.db.Metadata.DatabaseType }

// Name implements Source: "mmdb:" followed by the database type.
func (m *MMDB) Name() string { return "mmdb:" + m.db.Metadata.DatabaseType }

// Close releases the database; Lookup must not be called afterwards.
func (m *MMDB) Close() error { return m.db.Close() }

type names struct {
	En string `maxminddb:"en"`
}

// maxmindRecord is the union of the MaxMind-shaped layouts; each database
// fills the part it has and the decoder skips everything else.
type maxmindRecord struct {
	Country struct {
		ISOCode string `maxminddb:"iso_code"`
		Names   names  `maxminddb:"names"`
	} `maxminddb:"country"`
	City struct {
		Names names `maxminddb:"names"`
	} `maxminddb:"city"`
	Traits struct {
		ASN               uint32 `maxminddb:"autonomous_system_number"`
		ASOrg             string `maxminddb:"autonomous_system_organization"`
		ISP               string `maxminddb:"isp"`
		Domain            string `maxminddb:"domain"`
		UserType          string `maxminddb:"user_type"`
		IsHostingProvider bool   `maxminddb:"is_hosting_provider"`
		IsTorExitNode     bool   `maxminddb:"is_tor_exit_node"`
	} `maxminddb:"traits"`
	ASN               uint32 `maxminddb:"autonomous_system_number"`
	ASOrg             string `maxminddb:"autonomous_system_organization"`
	ISP               string `maxminddb:"isp"`
	Domain            string `maxminddb:"domain"`
	CountryCode       string `maxminddb:"country_code"`
	IsHostingProvider bool   `maxminddb:"is_hosting_provider"`
	IsTorExitNode     bool   `maxminddb:"is_tor_exit_node"`
}

type ipinfoRecord struct {
	ASN         string `maxminddb:"asn"`
	ASName      string `maxminddb:"as_name"`
	ASDomain    string `maxminddb:"as_domain"`
	CountryCode string `maxminddb:"country_code"`
	Country     string `maxminddb:"country"`
	CountryName string `maxminddb:"country_name"`
	City        string `maxminddb:"city"`
}

// userTypes maps MaxMind's traits.user_type to AbuseIPDB-style usage types.
var userTypes = map[string]string{
	"hosting":              UsageDataCenter,
	"business":             "Commercial",
	"cellular":             "Mobile ISP",
	"residential":          "Fixed Line ISP",
	"cdn":                  "Content Delivery Network",
	"search_engine_spider": "Search Engine Spider",
	"government":           "Government",
	"university":           "University/College/School",
	"library":              "Library",
	"military":             "Military",
}

// Lookup implements Source.
func (m *MMDB) Lookup(_ context.Context, addr netip.Addr) (Record, error) {
	res := m.db.Lookup(addr.Unmap())
	if err := res.Err(); err != nil {
		return Record{}, fmt.Errorf("mmdb %s: %w", m.DatabaseType(), err)
	}
	if !res.Found() {
		return Record{}, ErrNotFound
	}
	if m.ipinfo {
		var r ipinfoRecord
		if err := res.Decode(&r); err != nil {
			return Record{}, fmt.Errorf("mmdb %s: decode: %w", m.DatabaseType(), err)
		}
		rec := Record{ASOrg: r.ASName, Domain: r.ASDomain, City: r.City, Country: r.CountryCode, CountryName: r.CountryName}
		if asn, err := strconv.ParseUint(strings.TrimPrefix(strings.ToUpper(r.ASN), "AS"), 10, 32); err == nil {
			rec.ASN = uint32(asn)
		} else {
			rec.ASOrg = ""
		}
		if rec.Country == "" && len(r.Country) == 2 {
			rec.Country = r.Country
		} else if rec.CountryName == "" {
			rec.CountryName = r.Country
		}
		rec.Country = strings.ToUpper(rec.Country)
		return rec, nil
	}
	var r maxmindRecord
	if err := res.Decode(&r); err != nil {
		return Record{}, fmt.Errorf("mmdb %s: decode: %w", m.DatabaseType(), err)
	}
	rec := Record{
		ASN:         r.ASN,
		ASOrg:       r.ASOrg,
		ISP:         r.ISP,
		Domain:      r.Domain,
		Country:     r.Country.ISOCode,
		CountryName: r.Country.Names.En,
		City:        r.City.Names.En,
		IsTor:       r.IsTorExitNode || r.Traits.IsTorExitNode,
		UsageType:   userTypes[r.Traits.UserType],
	}
	if rec.ASN == 0 {
		rec.ASN, rec.ASOrg = r.Traits.ASN, r.Traits.ASOrg
	}
	fill(&rec.ISP, r.Traits.ISP)
	fill(&rec.Domain, r.Traits.Domain)
	fill(&rec.Country, strings.ToUpper(r.CountryCode))
	if r.IsHostingProvider || r.Traits.IsHostingProvider {
		rec.UsageType = UsageDataCenter
	}
	return rec, nil
}
