package ipintel

import (
	"bytes"
	"context"
	"net/netip"
	"strings"
	"testing"
	"time"
)

func FuzzParseTarget(f *testing.F) {
	for _, s := range []string{"104.248.73.19", "10.0.0.0/8", "::ffff:1.2.3.4/120", "2001:db8::/32", "fe80::1%eth0", "1.2.3.4/33", ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		p, err := ParseTarget(s)
		if err != nil {
			return
		}
		if !p.IsValid() || p != p.Masked() || p.Addr().Is4In6() {
			t.Fatalf("ParseTarget(%q) = %v: not a valid masked unmapped prefix", s, p)
		}
		if _, err := ExpandTargets([]string{s}, 256); err != nil && p.Addr().BitLen()-p.Bits() <= 8 {
			t.Fatalf("ExpandTargets(%q) failed for a small prefix: %v", s, err)
		}
	})
}

func FuzzLoadRangeCSV(f *testing.F) {
	f.Add(asnCSV)
	f.Add(countryCSV)
	f.Add("1.0.0.0,1.0.0.255,\"Org, \"\"quoted\"\"\"\n")
	f.Add("1.0.0.0,1.0.0.255,AU\n1.0.0.128,1.0.1.0,CN\n")
	f.Fuzz(func(t *testing.T, data string) {
		tab, err := LoadRangeCSV("fuzz", strings.NewReader(data))
		if err != nil {
			return
		}
		// Every stored range must be findable at both ends.
		for _, r := range tab.v4 {
			for _, x := range []uint32{r.start, r.end} {
				a := netip.AddrFrom4([4]byte{byte(x >> 24), byte(x >> 16), byte(x >> 8), byte(x)})
				if v, ok := tab.find(a); !ok || v != r.rangeValue {
					t.Fatalf("range %d-%d: find(%s) = %v, %v", r.start, r.end, a, v, ok)
				}
			}
		}
		for _, r := range tab.v6 {
			if _, ok := tab.find(u128Addr(r.start)); !ok {
				t.Fatalf("IPv6 range start not found")
			}
		}
		tab.Lookup(context.Background(), netip.MustParseAddr("1.0.0.1"))
	})
}

func u128Addr(v u128) netip.Addr {
	var b [16]byte
	for i := range 8 {
		b[i] = byte(v.hi >> (56 - 8*i))
		b[i+8] = byte(v.lo >> (56 - 8*i))
	}
	return netip.AddrFrom16(b)
}

func FuzzDecodeCheck(f *testing.F) {
	f.Add([]byte(checkBody))
	f.Add([]byte(`{"data":{"ipAddress":"8.8.8.8","lastReportedAt":null,"countryCode":null}}`))
	f.Add([]byte(body422))
	f.Add([]byte(`{"data":null}`))
	f.Fuzz(func(t *testing.T, body []byte) {
		res, err := decodeCheck(body)
		if err == nil {
			if _, perr := netip.ParseAddr(res.IPAddress); perr != nil {
				t.Fatalf("decodeCheck accepted ipAddress %q", res.IPAddress)
			}
			_ = res.record()
		}
		_ = apiErrorDetail(body)
	})
}

func FuzzReadBlacklist(f *testing.F) {
	f.Add([]byte(blacklistBody))
	f.Add([]byte("5.188.10.179\n2001:470:1:c84::17\n# c\n\n"))
	f.Add([]byte(`{"meta":{},"data":[{"ipAddress":"x"}]}`))
	f.Fuzz(func(t *testing.T, body []byte) {
		bl, err := ReadBlacklist(bytes.NewReader(body))
		if err != nil {
			return
		}
		var buf bytes.Buffer
		if _, err := bl.WriteTo(&buf); err != nil {
			t.Fatal(err)
		}
		again, err := ReadBlacklist(&buf)
		if err != nil || again.Len() != bl.Len() || !again.GeneratedAt.Equal(bl.GeneratedAt) {
			t.Fatalf("round trip: %v, %d != %d entries", err, again.Len(), bl.Len())
		}
		for a, e := range bl.entries {
			got, ok := again.Lookup(a)
			if !ok || got.AbuseConfidence != e.AbuseConfidence || got.CountryCode != e.CountryCode || !got.LastReported.Equal(e.LastReported) {
				t.Fatalf("round trip changed %s: %+v → %+v", a, e, got)
			}
		}
	})
}

func FuzzReadLists(f *testing.F) {
	f.Add("AS14061 # DIGITALOCEAN\n16509 Amazon\n")
	f.Add("ExitAddress 162.247.74.7 2026-03-01 10:05:00\n185.220.101.1\n")
	f.Fuzz(func(t *testing.T, data string) {
		if s, err := ReadASNSet(strings.NewReader(data)); err == nil {
			if _, ok := s.Provider(0); ok {
				t.Fatal("AS0 accepted")
			}
		}
		if tor, err := ReadTorExits(strings.NewReader(data)); err == nil {
			for a := range tor.addrs {
				if a.Is4In6() {
					t.Fatalf("stored mapped address %s", a)
				}
			}
		}
	})
}

func FuzzResetTime(f *testing.F) {
	f.Add("120", "")
	f.Add("Sun, 01 Mar 2026 13:30:00 GMT", "1772400000")
	f.Fuzz(func(t *testing.T, retryAfter, reset string) {
		now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
		c := &AbuseIPDB{now: func() time.Time { return now }}
		h := make(map[string][]string)
		h["Retry-After"] = []string{retryAfter}
		h["X-Ratelimit-Reset"] = []string{reset}
		_ = c.resetTime(h)
	})
}
