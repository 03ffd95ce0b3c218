package exclude

import (
	"encoding/hex"
	"net/netip"
	"strconv"
	"strings"
)

// ParseCIDR reads an address ("203.0.113.7", "2001:db8::1") or a range
// ("198.51.100.0/24", "2001:db8::/32"). A range with host bits set is
// masked; an IPv4-mapped IPv6 value is read as IPv4. Zero-length
// prefixes, which match every address of a family, are refused.
func ParseCIDR(s string) (netip.Prefix, error) {
	s = strings.TrimSpace(s)
	var p netip.Prefix
	if strings.Contains(s, "/") {
		pp, err := netip.ParsePrefix(s)
		if err != nil {
			return netip.Prefix{}, invalidf("ip_cidr %q: want an address or a range such as 198.51.100.0/24", clip(s))
		}
		p = pp
	} else {
		a, err := netip.ParseAddr(s)
		if err != nil {
			return netip.Prefix{}, invalidf("ip_cidr %q: want an address or a range such as 198.51.100.0/24", clip(s))
		}
		if a.Zone() != "" {
			return netip.Prefix{}, invalidf("ip_cidr %q: zones (%%…) are not recorded in spans", clip(s))
		}
		p = netip.PrefixFrom(a, a.BitLen())
	}
	if p.Addr().Is4In6() {
		bits := p.Bits() - 96
		if bits < 0 {
			return netip.Prefix{}, invalidf("ip_cidr %q: an IPv4-mapped range needs at least /96", clip(s))
		}
		p = netip.PrefixFrom(p.Addr().Unmap(), bits)
	}
	if p.Bits() == 0 {
		return netip.Prefix{}, invalidf("ip_cidr %q matches every address; name the range of the callers", clip(s))
	}
	return p.Masked(), nil
}

// MaxCIDRs bounds the addresses and ranges of one ip_cidr condition.
const MaxCIDRs = 1000

// ParseCIDRList reads an ip_cidr value: one address or range, or several
// separated by commas or spaces (any of them matches).
func ParseCIDRList(s string) ([]netip.Prefix, error) {
	fields := strings.FieldsFunc(s, func(r rune) bool { return r == ',' || r == ' ' || r == '\t' || r == '\n' })
	if len(fields) == 0 {
		return nil, invalidf("ip_cidr is empty")
	}
	if len(fields) > MaxCIDRs {
		return nil, invalidf("ip_cidr lists %d addresses and ranges; at most %d", len(fields), MaxCIDRs)
	}
	out := make([]netip.Prefix, 0, len(fields))
	for _, f := range fields {
		p, err := ParseCIDR(f)
		if err != nil {
			return nil, err
		}
		out = append(out, p)
	}
	return out, nil
}

// rangeBounds returns the first and last address of p.
func rangeBounds(p netip.Prefix) (lo, hi netip.Addr) {
	p = p.Masked()
	lo = p.Addr()
	b := lo.AsSlice()
	for i := range b {
		bit := i * 8
		switch {
		case bit >= p.Bits():
			b[i] = 0xFF
		case bit+8 > p.Bits():
			b[i] |= byte(0xFF) >> (p.Bits() - bit)
		}
	}
	hi, _ = netip.AddrFromSlice(b)
	return lo, hi
}

// ipv6Hex is the 32 lowercase hex digits of an IPv6 address, the form the
// DuckDB predicate compares.
func ipv6Hex(a netip.Addr) string {
	b := a.As16()
	return hex.EncodeToString(b[:])
}

// ipv6HexSQL returns a DuckDB expression of the 32 hex digits of the IPv6
// address in the text column col, and a condition that holds when col is
// a well-formed IPv6 address without an embedded IPv4 part or a zone. The
// text is lowercased, a leading or trailing "::" gets a zero group, every
// group is padded to four digits (\b is a zero-width boundary, so the
// global replacements see every group), and "::" becomes the missing
// zero groups: a full address is 39 characters, each missing group 5.
// The column appears four times, so the planner has a small tree to
// optimise.
func ipv6HexSQL(col string) (hexExpr, valid string) {
	padded := "lower(" + col + ")"
	for _, r := range [][2]string{
		{`^::`, `0::`},
		{`::$`, `::0`},
	} {
		padded = "regexp_replace(" + padded + ", '" + r[0] + "', '" + r[1] + "')"
	}
	for _, r := range [][2]string{
		{`\b([0-9a-f])\b`, `000\1`},
		{`\b([0-9a-f]{2})\b`, `00\1`},
		{`\b([0-9a-f]{3})\b`, `0\1`},
	} {
		padded = "regexp_replace(" + padded + ", '" + r[0] + "', '" + r[1] + "', 'g')"
	}
	full := "replace(" + padded + ", '::', ':' || repeat('0000:', intDiv(40 - length(" + padded + "), 5)))"
	hexExpr = "replace(" + full + ", ':', '')"
	valid = "contains(" + col + ", ':') AND match(" + full + ", '^([0-9a-f]{4}:){7}[0-9a-f]{4}$')"
	return hexExpr, valid
}

// ParseASN reads "AS14061", "as14061" or "14061".
func ParseASN(s string) (uint32, error) {
	t := strings.TrimSpace(s)
	if len(t) > 2 && strings.EqualFold(t[:2], "as") {
		t = t[2:]
	}
	n, err := strconv.ParseUint(t, 10, 32)
	if err != nil || n == 0 {
		return 0, invalidf("asn %q: want an AS number such as AS14061", clip(s))
	}
	return uint32(n), nil
}

// ParseStatus reads a status condition: "404", "4xx", "500-599", or a
// comma-separated list of those, as inclusive ranges.
func ParseStatus(s string) ([][2]int, error) {
	var out [][2]int
	for part := range strings.SplitSeq(s, ",") {
		p := strings.ToLower(strings.TrimSpace(part))
		bad := invalidf("status %q: want a code (404), a class (4xx), a range (500-599) or a list of them", clip(s))
		var lo, hi int
		switch {
		case len(p) == 3 && p[1:] == "xx" && p[0] >= '1' && p[0] <= '9':
			lo = int(p[0]-'0') * 100
			hi = lo + 99
		case strings.Contains(p, "-"):
			a, b, _ := strings.Cut(p, "-")
			var err1, err2 error
			lo, err1 = strconv.Atoi(strings.TrimSpace(a))
			hi, err2 = strconv.Atoi(strings.TrimSpace(b))
			if err1 != nil || err2 != nil || lo > hi {
				return nil, bad
			}
		default:
			n, err := strconv.Atoi(p)
			if err != nil {
				return nil, bad
			}
			lo, hi = n, n
		}
		if lo < 0 || hi > 999 {
			return nil, invalidf("status %q: codes run from 0 to 999", clip(s))
		}
		out = append(out, [2]int{lo, hi})
	}
	if len(out) > 50 {
		return nil, invalidf("status %q: at most 50 codes or ranges", clip(s))
	}
	return out, nil
}
