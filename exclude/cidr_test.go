package exclude

import (
	"net/netip"
	"strings"
	"testing"
)

func TestParseCIDR(t *testing.T) {
	tests := []struct{ in, want string }{
		{"203.0.113.7", "203.0.113.7/32"},
		{" 203.0.113.7 ", "203.0.113.7/32"},
		{"198.51.100.0/24", "198.51.100.0/24"},
		{"198.51.100.77/24", "198.51.100.0/24"},
		{"2001:db8::1", "2001:db8::1/128"},
		{"2001:DB8::/32", "2001:db8::/32"},
		{"2001:db8:0:0:1::/64", "2001:db8::/64"},
		{"::ffff:203.0.113.7", "203.0.113.7/32"},
		{"::ffff:203.0.113.0/120", "203.0.113.0/24"},
	}
	for _, tc := range tests {
		p, err := ParseCIDR(tc.in)
		if err != nil || p.String() != tc.want {
			t.Errorf("ParseCIDR(%q) = %v, %v; want %s", tc.in, p, err, tc.want)
		}
	}
	for _, bad := range []string{"", "203.0.113", "203.0.113.7/33", "0.0.0.0/0", "::/0", "fe80::1%eth0", "203.0.113.07", "10.0.0.0/8/8", "::ffff:0:0/90", "example.com"} {
		if p, err := ParseCIDR(bad); err == nil {
			t.Errorf("ParseCIDR(%q) = %v, want an error", bad, p)
		}
	}
}

func TestParseCIDRList(t *testing.T) {
	ps, err := ParseCIDRList("203.0.113.7, 198.51.100.0/24 2001:db8::/48")
	if err != nil || len(ps) != 3 || ps[2].String() != "2001:db8::/48" {
		t.Errorf("ParseCIDRList = %v, %v; want three prefixes", ps, err)
	}
	if _, err := ParseCIDRList(" , "); err == nil {
		t.Errorf("ParseCIDRList(empty list) = nil error")
	}
	if _, err := ParseCIDRList(strings.Repeat("10.0.0.1,", MaxCIDRs+1)); err == nil {
		t.Errorf("ParseCIDRList(%d entries) = nil error", MaxCIDRs+1)
	}
}

func TestRangeBounds(t *testing.T) {
	tests := []struct{ prefix, lo, hi string }{
		{"198.51.100.0/24", "198.51.100.0", "198.51.100.255"},
		{"10.0.0.0/13", "10.0.0.0", "10.7.255.255"},
		{"203.0.113.7/32", "203.0.113.7", "203.0.113.7"},
		{"2001:db8::/32", "2001:db8::", "2001:db8:ffff:ffff:ffff:ffff:ffff:ffff"},
		{"2001:db8::/61", "2001:db8::", "2001:db8:0:7:ffff:ffff:ffff:ffff"},
	}
	for _, tc := range tests {
		lo, hi := rangeBounds(netip.MustParsePrefix(tc.prefix))
		if lo.String() != tc.lo || hi.String() != tc.hi {
			t.Errorf("rangeBounds(%s) = %s, %s; want %s, %s", tc.prefix, lo, hi, tc.lo, tc.hi)
		}
	}
}

func TestParseStatus(t *testing.T) {
	tests := []struct {
		in   string
		want [][2]int
	}{
		{"404", [][2]int{{404, 404}}},
		{"4xx", [][2]int{{400, 499}}},
		{"500-599", [][2]int{{500, 599}}},
		{"401, 403,5XX", [][2]int{{401, 401}, {403, 403}, {500, 599}}},
	}
	for _, tc := range tests {
		got, err := ParseStatus(tc.in)
		if err != nil || len(got) != len(tc.want) {
			t.Fatalf("ParseStatus(%q) = %v, %v; want %v", tc.in, got, err, tc.want)
		}
		for i := range got {
			if got[i] != tc.want[i] {
				t.Errorf("ParseStatus(%q) = %v, want %v", tc.in, got, tc.want)
			}
		}
	}
	for _, bad := range []string{"", "abc", "1000", "599-500", "0xx", "-1", "4xx-5xx"} {
		if got, err := ParseStatus(bad); err == nil {
			t.Errorf("ParseStatus(%q) = %v, want an error", bad, got)
		}
	}
}

func TestConditionMatchesCIDR(t *testing.T) {
	tests := []struct {
		cidr, ip string
		want     bool
	}{
		{"198.51.100.0/24", "198.51.100.200", true},
		{"198.51.100.0/24", "198.51.101.1", false},
		{"203.0.113.7", "203.0.113.7", true},
		{"203.0.113.7", "203.0.113.8", false},
		{"2001:db8::/32", "2001:DB8:0:0:0:0:0:1", true},
		{"2001:db8::/32", "2001:db9::1", false},
		{"2001:db8::/32", "198.51.100.1", false},
		{"198.51.100.0/24", "::ffff:198.51.100.1", false},
		{"::/1", "::ffff:198.51.100.1", false},
		{"198.51.100.0/24, 2001:db8::/32", "2001:db8::5", true},
	}
	for _, tc := range tests {
		got, known := Condition{Kind: KindIPCIDR, Value: tc.cidr}.Matches(Fields{IP: tc.ip})
		if !known || got != tc.want {
			t.Errorf("ip_cidr %s matches %s = %v (known %v), want %v", tc.cidr, tc.ip, got, known, tc.want)
		}
	}
}

func FuzzParseCIDRList(f *testing.F) {
	for _, s := range []string{"203.0.113.7", "198.51.100.0/24, 2001:db8::/32", "::ffff:1.2.3.4/120", "fe80::1%x", "0.0.0.0/0"} {
		f.Add(s, "198.51.100.9")
	}
	f.Fuzz(func(t *testing.T, value, ip string) {
		ps, err := ParseCIDRList(value)
		if err != nil {
			return
		}
		for _, p := range ps {
			if p.Bits() == 0 || p != p.Masked() || p.Addr().Is4In6() || p.Addr().Zone() != "" {
				t.Fatalf("ParseCIDRList(%q) returned %v: want masked, non-empty prefixes without zones or mapped addresses", value, p)
			}
			lo, hi := rangeBounds(p)
			if !p.Contains(lo) || !p.Contains(hi) || lo.Compare(hi) > 0 {
				t.Fatalf("rangeBounds(%v) = %v, %v", p, lo, hi)
			}
		}
		got, known := Condition{Kind: KindIPCIDR, Value: value}.Matches(Fields{IP: ip})
		if !known {
			t.Fatalf("ip_cidr %q parses but does not evaluate", value)
		}
		if a, err := netip.ParseAddr(ip); err == nil && got {
			in := false
			for _, p := range ps {
				in = in || p.Contains(a)
			}
			if !in {
				t.Errorf("ip_cidr %q matches %s, outside every range", value, ip)
			}
		}
	})
}

func FuzzParseStatus(f *testing.F) {
	for _, s := range []string{"404", "4xx", "500-599", "401,403", "x"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		rs, err := ParseStatus(s)
		if err != nil {
			return
		}
		for _, r := range rs {
			if r[0] < 0 || r[1] > 999 || r[0] > r[1] {
				t.Errorf("ParseStatus(%q) = %v: out of range", s, rs)
			}
		}
	})
}
