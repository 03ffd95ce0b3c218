package ipintel

import (
	"fmt"
	"net/netip"
	"strings"
)

// reserved lists the special-purpose ranges (IANA IPv4 and IPv6
// special-purpose address registries) that are not globally routable.
// Private, loopback, link-local, multicast and unspecified addresses are
// caught by the netip predicates in IsPublic.
var reserved = []netip.Prefix{
	netip.MustParsePrefix("0.0.0.0/8"),       // "this network"
	netip.MustParsePrefix("100.64.0.0/10"),   // shared address space (CGNAT)
	netip.MustParsePrefix("192.0.0.0/24"),    // IETF protocol assignments
	netip.MustParsePrefix("192.0.2.0/24"),    // TEST-NET-1
	netip.MustParsePrefix("192.88.99.0/24"),  // deprecated 6to4 relay anycast
	netip.MustParsePrefix("198.18.0.0/15"),   // benchmarking
	netip.MustParsePrefix("198.51.100.0/24"), // TEST-NET-2
	netip.MustParsePrefix("203.0.113.0/24"),  // TEST-NET-3
	netip.MustParsePrefix("240.0.0.0/4"),     // reserved, includes broadcast
	netip.MustParsePrefix("64:ff9b:1::/48"),  // local-use NAT64
	netip.MustParsePrefix("100::/64"),        // discard-only
	netip.MustParsePrefix("2001::/23"),       // IETF protocol assignments
	netip.MustParsePrefix("2001:db8::/32"),   // documentation
	netip.MustParsePrefix("3fff::/20"),       // documentation
	netip.MustParsePrefix("5f00::/16"),       // segment routing SIDs
}

// globalUnicast6 is the only IPv6 block currently allocated for global
// unicast; anything outside it is not public.
var globalUnicast6 = netip.MustParsePrefix("2000::/3")

// IsPublic reports whether addr is a globally routable unicast address.
// IPv4-mapped IPv6 addresses are judged as IPv4.
func IsPublic(addr netip.Addr) bool {
	addr = addr.Unmap()
	if !addr.IsValid() || addr.IsPrivate() || addr.IsLoopback() || addr.IsUnspecified() ||
		addr.IsLinkLocalUnicast() || addr.IsLinkLocalMulticast() || addr.IsMulticast() ||
		addr.IsInterfaceLocalMulticast() {
		return false
	}
	if addr.Is6() && !globalUnicast6.Contains(addr) {
		return false
	}
	for _, p := range reserved {
		if p.Contains(addr) {
			return false
		}
	}
	return true
}

// ParseTarget parses an address ("203.0.113.7", "2001:db8::1") or a CIDR
// block ("203.0.113.0/24") as a masked prefix; a bare address becomes a /32
// or /128. IPv4-mapped IPv6 addresses are unmapped; zones are rejected.
func ParseTarget(s string) (netip.Prefix, error) {
	s = strings.TrimSpace(s)
	if strings.Contains(s, "/") {
		p, err := netip.ParsePrefix(s)
		if err != nil {
			return netip.Prefix{}, fmt.Errorf("parse %q: not an IP address or CIDR block", s)
		}
		addr, bits := p.Addr(), p.Bits()
		if addr.Is4In6() {
			if bits < 96 {
				return netip.Prefix{}, fmt.Errorf("parse %q: IPv4-mapped prefix shorter than /96", s)
			}
			addr, bits = addr.Unmap(), bits-96
		}
		return netip.PrefixFrom(addr, bits).Masked(), nil
	}
	addr, err := netip.ParseAddr(s)
	if err != nil || addr.Zone() != "" {
		return netip.Prefix{}, fmt.Errorf("parse %q: not an IP address or CIDR block", s)
	}
	addr = addr.Unmap()
	return netip.PrefixFrom(addr, addr.BitLen()), nil
}

// ExpandTargets parses addresses and CIDR blocks (see ParseTarget) and
// returns the distinct addresses they cover, in order of first appearance.
// It refuses to return more than max addresses, so "10.0.0.0/8" on a command
// line fails clearly instead of allocating gigabytes.
func ExpandTargets(args []string, max int) ([]netip.Addr, error) {
	seen := make(map[netip.Addr]struct{})
	var out []netip.Addr
	for _, arg := range args {
		p, err := ParseTarget(arg)
		if err != nil {
			return nil, err
		}
		if hostBits := p.Addr().BitLen() - p.Bits(); hostBits >= 31 || len(out)+(1<<hostBits) > max {
			return nil, fmt.Errorf("expand %q: more than %d addresses", arg, max)
		}
		for a := p.Addr(); p.Contains(a); a = a.Next() {
			if _, dup := seen[a]; !dup {
				seen[a] = struct{}{}
				out = append(out, a)
			}
			if !a.Next().IsValid() {
				break
			}
		}
	}
	return out, nil
}
