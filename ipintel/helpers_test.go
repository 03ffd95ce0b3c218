package ipintel

import (
	"net"
	"os"
	"path/filepath"
	"testing"

	"github.com/maxmind/mmdbwriter"
	"github.com/maxmind/mmdbwriter/mmdbtype"
)

// mmdbEntry is one network of a test database.
type mmdbEntry struct {
	cidr string
	data mmdbtype.Map
}

// writeMMDB writes a real MaxMind DB file of the given database_type to a
// temporary directory and returns its path.
func writeMMDB(tb testing.TB, dbType string, entries []mmdbEntry) string {
	tb.Helper()
	tree, err := mmdbwriter.New(mmdbwriter.Options{DatabaseType: dbType, RecordSize: 28, IncludeReservedNetworks: true})
	if err != nil {
		tb.Fatal(err)
	}
	for _, e := range entries {
		_, n, err := net.ParseCIDR(e.cidr)
		if err != nil {
			tb.Fatal(err)
		}
		if err := tree.Insert(n, e.data); err != nil {
			tb.Fatalf("insert %s: %v", e.cidr, err)
		}
	}
	path := filepath.Join(tb.TempDir(), dbType+".mmdb")
	f, err := os.Create(path)
	if err != nil {
		tb.Fatal(err)
	}
	if _, err := tree.WriteTo(f); err != nil {
		tb.Fatal(err)
	}
	if err := f.Close(); err != nil {
		tb.Fatal(err)
	}
	return path
}

// cityData builds a GeoLite2-City record.
func cityData(iso, country, city string) mmdbtype.Map {
	return mmdbtype.Map{
		"country": mmdbtype.Map{
			"iso_code":   mmdbtype.String(iso),
			"geoname_id": mmdbtype.Uint32(1),
			"names":      mmdbtype.Map{"en": mmdbtype.String(country), "de": mmdbtype.String(country + "-de")},
		},
		"city": mmdbtype.Map{"names": mmdbtype.Map{"en": mmdbtype.String(city)}},
		"location": mmdbtype.Map{
			"latitude":  mmdbtype.Float64(52.35),
			"longitude": mmdbtype.Float64(4.92),
		},
	}
}

// asnData builds a GeoLite2-ASN record.
func asnData(asn uint32, org string) mmdbtype.Map {
	return mmdbtype.Map{
		"autonomous_system_number":       mmdbtype.Uint32(asn),
		"autonomous_system_organization": mmdbtype.String(org),
	}
}

func writeFile(tb testing.TB, path, content string) {
	tb.Helper()
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		tb.Fatal(err)
	}
}
