package ipintel

import (
	"net/netip"
	"slices"
	"strings"
	"testing"
)

func TestIsPublic(t *testing.T) {
	tests := []struct {
		ip   string
		want bool
	}{
		{"104.248.73.19", true}, {"8.8.8.8", true}, {"2a03:b0c0:2:d0::1", true},
		{"::ffff:104.248.73.19", true}, {"::ffff:10.0.0.1", false},
		{"10.0.0.1", false}, {"172.16.5.4", false}, {"192.168.1.1", false}, {"127.0.0.1", false},
		{"169.254.1.1", false}, {"100.64.0.1", false}, {"0.1.2.3", false}, {"192.0.2.1", false},
		{"198.51.100.7", false}, {"203.0.113.9", false}, {"198.18.0.1", false}, {"224.0.0.1", false},
		{"255.255.255.255", false}, {"240.0.0.1", false},
		{"::", false}, {"::1", false}, {"fe80::1", false}, {"fd12::1", false}, {"ff02::1", false},
		{"2001:db8::1", false}, {"100::1", false}, {"2001::1", false}, {"3fff::1", false}, {"4000::1", false},
	}
	for _, tc := range tests {
		if got := IsPublic(netip.MustParseAddr(tc.ip)); got != tc.want {
			t.Errorf("IsPublic(%s) = %v, want %v", tc.ip, got, tc.want)
		}
	}
	if IsPublic(netip.Addr{}) {
		t.Error("IsPublic(zero Addr) = true")
	}
}

func TestParseTarget(t *testing.T) {
	tests := []struct{ in, want, err string }{
		{"104.248.73.19", "104.248.73.19/32", ""},
		{" 2001:db8::1 ", "2001:db8::1/128", ""},
		{"::ffff:1.2.3.4", "1.2.3.4/32", ""},
		{"10.1.2.3/24", "10.1.2.0/24", ""},
		{"::ffff:10.0.0.0/104", "10.0.0.0/8", ""},
		{"::ffff:0:0/95", "", "shorter than /96"},
		{"fe80::1%eth0", "", "not an IP"},
		{"10.0.0.0/33", "", "not an IP"},
		{"example.com", "", "not an IP"},
		{"", "", "not an IP"},
	}
	for _, tc := range tests {
		got, err := ParseTarget(tc.in)
		if tc.err != "" {
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Errorf("ParseTarget(%q) = %v, %v; want error %q", tc.in, got, err, tc.err)
			}
			continue
		}
		if err != nil || got.String() != tc.want {
			t.Errorf("ParseTarget(%q) = %v, %v; want %s", tc.in, got, err, tc.want)
		}
	}
}

func TestExpandTargets(t *testing.T) {
	got, err := ExpandTargets([]string{"192.0.2.1", "192.0.2.0/30", "2001:db8::/127"}, 100)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"192.0.2.1", "192.0.2.0", "192.0.2.2", "192.0.2.3", "2001:db8::", "2001:db8::1"}
	var gotS []string
	for _, a := range got {
		gotS = append(gotS, a.String())
	}
	if !slices.Equal(gotS, want) {
		t.Errorf("ExpandTargets = %v, want %v", gotS, want)
	}
	if _, err := ExpandTargets([]string{"10.0.0.0/8"}, 65536); err == nil {
		t.Error("ExpandTargets(/8, 65536) succeeded")
	}
	if _, err := ExpandTargets([]string{"2001:db8::/32"}, 1<<20); err == nil {
		t.Error("ExpandTargets(IPv6 /32) succeeded")
	}
	if got, err := ExpandTargets([]string{"255.255.255.254/31"}, 10); err != nil || len(got) != 2 {
		t.Errorf("ExpandTargets(last /31) = %v, %v", got, err)
	}
}
