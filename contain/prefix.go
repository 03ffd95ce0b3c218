package contain

import (
	"cmp"
	"errors"
	"fmt"
	"net/netip"
	"slices"
	"strings"
)

// ErrInvalid: the request is malformed (an unparsable address, an unknown
// status or source...). The message says which input and why.
var ErrInvalid = errors.New("invalid request")

// maxInputLen bounds one address or range as typed; anything longer is no
// address.
const maxInputLen = 64

// ParsePrefix parses an address ("203.0.113.7", "2001:db8::1") or a CIDR
// range ("198.51.100.0/24") and returns it canonical: host bits masked,
// IPv4-mapped IPv6 unmapped to IPv4, a single address as a full-length
// prefix. Zones, empty input and malformed input are errors wrapping
// ErrInvalid.
func ParsePrefix(s string) (netip.Prefix, error) {
	in := strings.TrimSpace(s)
	if in == "" {
		return netip.Prefix{}, fmt.Errorf("%w: empty address", ErrInvalid)
	}
	if len(in) > maxInputLen {
		return netip.Prefix{}, fmt.Errorf("%w: %.20q... is too long for an address", ErrInvalid, in)
	}
	var p netip.Prefix
	if strings.Contains(in, "/") {
		var err error
		if p, err = netip.ParsePrefix(in); err != nil {
			return netip.Prefix{}, fmt.Errorf("%w: %q is not an address or CIDR range", ErrInvalid, in)
		}
	} else {
		a, err := netip.ParseAddr(in)
		if err != nil {
			return netip.Prefix{}, fmt.Errorf("%w: %q is not an address or CIDR range", ErrInvalid, in)
		}
		if a.Zone() != "" {
			return netip.Prefix{}, fmt.Errorf("%w: %q has a zone; zones are not allowed", ErrInvalid, in)
		}
		p = netip.PrefixFrom(a, a.BitLen())
	}
	if a := p.Addr(); a.Is4In6() && p.Bits() >= 96 {
		p = netip.PrefixFrom(a.Unmap(), p.Bits()-96)
	}
	return p.Masked(), nil
}

// Value is the canonical text of a prefix, as the state store keys it: a
// single address without a prefix length, a range in CIDR notation.
func Value(p netip.Prefix) string {
	if p.IsSingleIP() {
		return p.Addr().String()
	}
	return p.String()
}

// CanonicalValue parses s with ParsePrefix and returns its Value.
func CanonicalValue(s string) (string, error) {
	p, err := ParsePrefix(s)
	if err != nil {
		return "", err
	}
	return Value(p), nil
}

// comparePrefix orders IPv4 before IPv6, then by address, then shorter
// prefixes first, so that a range sorts before the ranges it contains.
func comparePrefix(a, b netip.Prefix) int {
	if c := a.Addr().Compare(b.Addr()); c != 0 {
		return c
	}
	return cmp.Compare(a.Bits(), b.Bits())
}

// prefixSet answers "is this prefix covered by, or does it cover, one of
// the set" in O(prefix length + matches).
type prefixSet struct {
	exact  map[netip.Prefix]bool
	sorted []netip.Prefix
}

func newPrefixSet(ps []netip.Prefix) prefixSet {
	s := prefixSet{exact: make(map[netip.Prefix]bool, len(ps)), sorted: slices.Clone(ps)}
	for _, p := range ps {
		s.exact[p] = true
	}
	slices.SortFunc(s.sorted, comparePrefix)
	return s
}

// covering returns the member that contains p (or equals it), if any.
func (s prefixSet) covering(p netip.Prefix) (netip.Prefix, bool) {
	for bits := 0; bits <= p.Bits(); bits++ {
		q := netip.PrefixFrom(p.Addr(), bits).Masked()
		if s.exact[q] {
			return q, true
		}
	}
	return netip.Prefix{}, false
}

// inside returns the members strictly inside p.
func (s prefixSet) inside(p netip.Prefix) []netip.Prefix {
	i, _ := slices.BinarySearchFunc(s.sorted, p, comparePrefix)
	var out []netip.Prefix
	for ; i < len(s.sorted) && p.Contains(s.sorted[i].Addr()); i++ {
		if s.sorted[i].Bits() > p.Bits() {
			out = append(out, s.sorted[i])
		}
	}
	return out
}

// subtract returns p without the addresses of holes (which all lie inside
// p), as the fewest prefixes, in address order.
func subtract(p netip.Prefix, holes []netip.Prefix) []netip.Prefix {
	var inner []netip.Prefix
	for _, h := range holes {
		if h.Bits() <= p.Bits() && h.Contains(p.Addr()) {
			return nil // a hole covers all of p
		}
		if p.Overlaps(h) {
			inner = append(inner, h)
		}
	}
	if len(inner) == 0 {
		return []netip.Prefix{p}
	}
	lo := netip.PrefixFrom(p.Addr(), p.Bits()+1)
	hi := netip.PrefixFrom(lastOf(lo).Next(), p.Bits()+1)
	return append(subtract(lo, inner), subtract(hi, inner)...)
}

// lastOf returns the last address of a masked prefix.
func lastOf(p netip.Prefix) netip.Addr {
	b := p.Addr().AsSlice()
	for i := p.Bits(); i < len(b)*8; i++ {
		b[i/8] |= 0x80 >> (i % 8)
	}
	a, _ := netip.AddrFromSlice(b)
	return a
}

// splitTo splits p into prefixes no shorter than bits (p itself when it
// already is).
func splitTo(p netip.Prefix, bits int) []netip.Prefix {
	if p.Bits() >= bits {
		return []netip.Prefix{p}
	}
	lo := netip.PrefixFrom(p.Addr(), p.Bits()+1)
	hi := netip.PrefixFrom(lastOf(lo).Next(), p.Bits()+1)
	return append(splitTo(lo, bits), splitTo(hi, bits)...)
}
