package ipintel

import (
	"context"
	"errors"
	"net/netip"
	"strings"
	"testing"
)

func TestDefaultDataCenters(t *testing.T) {
	dc := DefaultDataCenters()
	for asn, want := range map[uint32]string{14061: "DigitalOcean", 16509: "Amazon", 24940: "Hetzner", 20473: "Vultr", 9009: "M247"} {
		if p, ok := dc.Provider(asn); !ok || !strings.HasPrefix(p, want) {
			t.Errorf("Provider(%d) = %q, %v; want %s", asn, p, ok, want)
		}
	}
	if _, ok := dc.Provider(3320); ok {
		t.Error("Deutsche Telekom (AS3320) is not a data center")
	}
	if dc.Len() < 50 {
		t.Errorf("Len() = %d, want the whole embedded list", dc.Len())
	}
}

func TestReadASNSet(t *testing.T) {
	s, err := ReadASNSet(strings.NewReader("AS14061 # DIGITALOCEAN-ASN - DigitalOcean, LLC\nas16509 Amazon\n\n# comment\n"))
	if err != nil {
		t.Fatal(err)
	}
	if p, _ := s.Provider(14061); p != "DIGITALOCEAN-ASN - DigitalOcean, LLC" {
		t.Errorf("Provider(14061) = %q", p)
	}
	if p, _ := s.Provider(16509); p != "Amazon" {
		t.Errorf("Provider(16509) = %q", p)
	}
	if _, err := ReadASNSet(strings.NewReader("ASX foo\n")); err == nil {
		t.Error("ReadASNSet accepted ASX")
	}
}

func TestTorExits(t *testing.T) {
	list := "# bulk list\n185.220.101.1\n2a0b:f4c2::1\nExitNode 0011BD2485AD45D984EC4159C88FC066E5E3300E\nPublished 2026-03-01 10:00:00\nExitAddress 162.247.74.7 2026-03-01 10:05:00\nLastStatus 2026-03-01 11:00:00\n"
	tor, err := ReadTorExits(strings.NewReader(list))
	if err != nil {
		t.Fatal(err)
	}
	if tor.Len() != 3 {
		t.Errorf("Len() = %d, want 3", tor.Len())
	}
	for _, ip := range []string{"185.220.101.1", "2a0b:f4c2::1", "162.247.74.7", "::ffff:185.220.101.1"} {
		if rec, err := tor.Lookup(context.Background(), netip.MustParseAddr(ip)); err != nil || !rec.IsTor {
			t.Errorf("Lookup(%s) = %+v, %v; want IsTor", ip, rec, err)
		}
	}
	if _, err := tor.Lookup(context.Background(), netip.MustParseAddr("8.8.8.8")); !errors.Is(err, ErrNotFound) {
		t.Errorf("Lookup(8.8.8.8) = %v, want ErrNotFound", err)
	}
	if _, err := ReadTorExits(strings.NewReader("not-an-ip\n")); err == nil {
		t.Error("ReadTorExits accepted garbage")
	}
}
