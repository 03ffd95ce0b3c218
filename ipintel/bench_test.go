package ipintel

import (
	"bytes"
	"context"
	"fmt"
	"math/rand/v2"
	"net/netip"
	"testing"

	"github.com/maxmind/mmdbwriter/mmdbtype"
)

// syntheticASNCSV returns a table shaped like the real ip-location-db asn
// tables: v4 ranges of /16–/24 across the IPv4 space and v6 /32–/48
// ranges, with a few thousand distinct organisations.
func syntheticASNCSV(v4Rows, v6Rows int) []byte {
	var buf bytes.Buffer
	step := uint32((1 << 32) / uint64(v4Rows))
	for i := range v4Rows {
		start := uint32(i) * step
		end := start + step/2
		asn := 1000 + i%60000
		if i%50 == 0 {
			asn = 14061 // sprinkle data-center networks
		}
		fmt.Fprintf(&buf, "%s,%s,%d,\"Org %d, Inc.\"\n", u32Addr(start), u32Addr(end), asn, i%5000)
	}
	for i := range v6Rows {
		base := netip.AddrFrom16([16]byte{0x20, 0x01, byte(i >> 16), byte(i >> 8), byte(i)})
		b := base.As16()
		for j := 6; j < 16; j++ {
			b[j] = 0xff
		}
		fmt.Fprintf(&buf, "%s,%s,%d,Org6 %d\n", base, netip.AddrFrom16(b), 2000+i%30000, i%2000)
	}
	return buf.Bytes()
}

func u32Addr(x uint32) netip.Addr {
	return netip.AddrFrom4([4]byte{byte(x >> 24), byte(x >> 16), byte(x >> 8), byte(x)})
}

// benchEnricher builds the offline stack: a GeoLite2-City-shaped mmdb with
// 50,000 networks, a 500,000-row ASN table and the data-center set.
func benchEnricher(b *testing.B) (*MMDB, *RangeTable) {
	b.Helper()
	entries := make([]mmdbEntry, 0, 50_000)
	countries := []string{"NL", "DE", "GB", "US", "SG", "FR", "JP", "BR"}
	for i := range 50_000 {
		x := uint32(i) * ((1 << 32) / 50_000)
		cc := countries[i%len(countries)]
		entries = append(entries, mmdbEntry{fmt.Sprintf("%s/24", u32Addr(x&^0xff)), cityData(cc, "Country "+cc, fmt.Sprintf("City %d", i%3000))})
	}
	entries = append(entries, mmdbEntry{"2001::/16", mmdbtype.Map{"country": mmdbtype.Map{"iso_code": mmdbtype.String("US")}}})
	city, err := OpenMMDB(writeMMDB(b, "GeoLite2-City", entries))
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { city.Close() })
	asn, err := LoadRangeCSV("asn_csv", bytes.NewReader(syntheticASNCSV(400_000, 100_000)))
	if err != nil {
		b.Fatal(err)
	}
	return city, asn
}

// BenchmarkEnrichOffline10k enriches 10,000 distinct addresses (90% IPv4)
// from the offline sources with a cold cache; one op is the whole batch.
func BenchmarkEnrichOffline10k(b *testing.B) {
	city, asn := benchEnricher(b)
	dc := DefaultDataCenters()
	rng := rand.New(rand.NewPCG(1, 2))
	ips := make([]netip.Addr, 0, 10_000)
	for len(ips) < 10_000 {
		if len(ips)%10 == 9 {
			var a [16]byte
			a[0], a[1] = 0x20, 0x01
			for i := 2; i < 16; i++ {
				a[i] = byte(rng.Uint32())
			}
			ips = append(ips, netip.AddrFrom16(a))
			continue
		}
		ips = append(ips, u32Addr(rng.Uint32()))
	}
	b.ReportAllocs()
	for b.Loop() {
		e := NewEnricher(Options{Sources: []Source{city, asn}, DataCenters: dc})
		recs, err := e.Enrich(context.Background(), ips, nil)
		if err != nil || len(recs) != len(ips) {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/1e6, "ms/10k")
}

// BenchmarkLoadASNCSV500k measures loading a 500,000-row ASN table.
func BenchmarkLoadASNCSV500k(b *testing.B) {
	data := syntheticASNCSV(400_000, 100_000)
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := LoadRangeCSV("asn_csv", bytes.NewReader(data)); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkRangeTableLookup measures one binary search in a 500k-row table.
func BenchmarkRangeTableLookup(b *testing.B) {
	tab, err := LoadRangeCSV("asn_csv", bytes.NewReader(syntheticASNCSV(400_000, 100_000)))
	if err != nil {
		b.Fatal(err)
	}
	addr := netip.MustParseAddr("104.248.73.19")
	b.ReportAllocs()
	for b.Loop() {
		tab.Lookup(context.Background(), addr)
	}
}
