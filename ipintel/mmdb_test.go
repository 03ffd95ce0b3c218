package ipintel

import (
	"context"
	"errors"
	"net/netip"
	"testing"

	"github.com/maxmind/mmdbwriter/mmdbtype"
)

func TestMMDBShapes(t *testing.T) {
	city := writeMMDB(t, "GeoLite2-City", []mmdbEntry{
		{"104.248.64.0/19", cityData("NL", "Netherlands", "Amsterdam")},
		{"2a03:b0c0::/32", cityData("NL", "Netherlands", "Amsterdam")},
	})
	asn := writeMMDB(t, "GeoLite2-ASN", []mmdbEntry{
		{"104.248.0.0/16", asnData(14061, "DIGITALOCEAN-ASN")},
	})
	dbipASN := writeMMDB(t, "DBIP-ASN-Lite (compat=GeoLite2-ASN)", []mmdbEntry{
		{"167.71.0.0/16", asnData(14061, "DigitalOcean, LLC")},
	})
	ipinfo := writeMMDB(t, "ipinfo lite.mmdb", []mmdbEntry{
		{"178.128.0.0/16", mmdbtype.Map{
			"asn": mmdbtype.String("AS14061"), "as_name": mmdbtype.String("DigitalOcean, LLC"),
			"as_domain": mmdbtype.String("digitalocean.com"), "country_code": mmdbtype.String("GB"),
			"country": mmdbtype.String("United Kingdom"), "continent_code": mmdbtype.String("EU"),
		}},
	})
	ipinfoOld := writeMMDB(t, "ipinfo country_asn.mmdb", []mmdbEntry{
		{"178.128.0.0/16", mmdbtype.Map{
			"asn": mmdbtype.String("AS14061"), "as_name": mmdbtype.String("DigitalOcean, LLC"),
			"country": mmdbtype.String("GB"), "country_name": mmdbtype.String("United Kingdom"),
		}},
	})
	enterprise := writeMMDB(t, "GeoIP2-Enterprise", []mmdbEntry{
		{"214.214.214.0/24", mmdbtype.Map{
			"country": mmdbtype.Map{"iso_code": mmdbtype.String("US")},
			"traits": mmdbtype.Map{
				"user_type": mmdbtype.String("hosting"), "isp": mmdbtype.String("Hosting Inc"),
				"autonomous_system_number": mmdbtype.Uint32(64512), "autonomous_system_organization": mmdbtype.String("HOSTING-AS"),
			},
		}},
	})
	anon := writeMMDB(t, "GeoIP2-Anonymous-IP", []mmdbEntry{
		{"81.2.69.0/24", mmdbtype.Map{"is_hosting_provider": mmdbtype.Bool(true), "is_anonymous": mmdbtype.Bool(true)}},
		{"81.2.70.0/24", mmdbtype.Map{"is_tor_exit_node": mmdbtype.Bool(true)}},
	})
	locationDB := writeMMDB(t, "geo-whois-asn-country", []mmdbEntry{
		{"167.71.192.0/19", mmdbtype.Map{"country_code": mmdbtype.String("sg")}},
	})

	tests := []struct {
		name, path, ip string
		want           Record
	}{
		{"city v4", city, "104.248.73.19", Record{Country: "NL", CountryName: "Netherlands", City: "Amsterdam"}},
		{"city v6", city, "2a03:b0c0:2:d0::1", Record{Country: "NL", CountryName: "Netherlands", City: "Amsterdam"}},
		{"city v4-mapped", city, "::ffff:104.248.73.19", Record{Country: "NL", CountryName: "Netherlands", City: "Amsterdam"}},
		{"geolite asn", asn, "104.248.73.19", Record{ASN: 14061, ASOrg: "DIGITALOCEAN-ASN"}},
		{"dbip asn", dbipASN, "167.71.205.88", Record{ASN: 14061, ASOrg: "DigitalOcean, LLC"}},
		{"ipinfo lite", ipinfo, "178.128.44.156", Record{ASN: 14061, ASOrg: "DigitalOcean, LLC", Domain: "digitalocean.com", Country: "GB", CountryName: "United Kingdom"}},
		{"ipinfo country_asn", ipinfoOld, "178.128.44.156", Record{ASN: 14061, ASOrg: "DigitalOcean, LLC", Country: "GB", CountryName: "United Kingdom"}},
		{"enterprise hosting", enterprise, "214.214.214.220", Record{ASN: 64512, ASOrg: "HOSTING-AS", ISP: "Hosting Inc", Country: "US", UsageType: UsageDataCenter}},
		{"anonymous hosting", anon, "81.2.69.142", Record{UsageType: UsageDataCenter}},
		{"anonymous tor", anon, "81.2.70.1", Record{IsTor: true}},
		{"top-level country_code", locationDB, "167.71.205.88", Record{Country: "SG"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			m, err := OpenMMDB(tc.path)
			if err != nil {
				t.Fatal(err)
			}
			defer m.Close()
			got, err := m.Lookup(context.Background(), netip.MustParseAddr(tc.ip))
			if err != nil {
				t.Fatalf("Lookup(%s) error %v", tc.ip, err)
			}
			if !equalRecords(got, tc.want) {
				t.Errorf("Lookup(%s) = %+v, want %+v", tc.ip, got, tc.want)
			}
		})
	}

	m, err := OpenMMDB(city)
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	if got := m.Name(); got != "mmdb:GeoLite2-City" {
		t.Errorf("Name() = %q", got)
	}
	if _, err := m.Lookup(context.Background(), netip.MustParseAddr("8.8.8.8")); !errors.Is(err, ErrNotFound) {
		t.Errorf("Lookup(8.8.8.8) error = %v, want ErrNotFound", err)
	}
}

func TestOpenMMDBRejectsGarbage(t *testing.T) {
	if _, err := OpenMMDBBytes([]byte("not a database")); err == nil {
		t.Error("OpenMMDBBytes(garbage) succeeded")
	}
}

// equalRecords compares the enrichment fields, ignoring bookkeeping.
func equalRecords(a, b Record) bool {
	return a.ASN == b.ASN && a.ASOrg == b.ASOrg && a.ISP == b.ISP && a.Domain == b.Domain &&
		a.Country == b.Country && a.CountryName == b.CountryName && a.City == b.City &&
		a.UsageType == b.UsageType && a.IsTor == b.IsTor
}
