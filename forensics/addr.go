package forensics

import (
	"context"
	"fmt"
	"net/netip"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/tracehound/tracehound/sqlguard"
	"github.com/tracehound/tracehound/store"
)

// IPv6 prefixes and addresses.
//
// peer_ip holds a client address as the instrumentation wrote it: ingest
// strips a port and brackets ("[2001:db8::1]:443") but keeps text that
// already parses as an address unchanged, so one IPv6 address may be
// stored as 2001:db8::1, 2001:DB8::1, 2001:0db8:0:0:0:0:0:1 or with a zone.
// An IPv6 filter (a prefix, or an address, which is its /128) therefore
// matches the address a text denotes, never the text:
//
//   - Ask and AskLLM first resolve it against the distinct IPv6 peer_ip
//     texts of the question's window: net/netip decides which are inside,
//     and the filter compiles to peer_ip IN (those texts), or, with a note,
//     to a false condition when none is.
//   - Without the store (Prepare, alert rules), when the window holds more
//     than maxObservedAddresses IPv6 texts, or when more than
//     maxListedAddresses are inside, it compiles to a regular expression
//     that accepts exactly the spellings of the addresses inside
//     (ipv6Pattern). The notes say which.
//
// An IPv4-mapped address (::ffff:192.0.2.7) is an IPv6 address, as
// net/netip has it: it is inside ::ffff:0:0/96, ::ffff:192.0.2.0/120 and
// ::/0, not inside the IPv4 prefix 192.0.2.0/24; a plain IPv4 address is
// inside no IPv6 prefix, and IPv4 prefixes match dotted text only. (An
// address a question writes as ::ffff:192.0.2.7 is read as the IPv4
// address 192.0.2.7; ::ffff:192.0.2.7/128 is the mapped spelling.) A zone
// is ignored: fe80::1%eth0 is inside fe80::/10 and is fe80::1.

// maxObservedAddresses bounds the distinct IPv6 peer_ip texts read from a
// question's window to resolve an IPv6 filter. A var for tests.
var maxObservedAddresses = 50_000

// maxListedAddresses bounds the texts the IPv6 filters of one question
// list in IN (…), together: each costs two tokens of the guard's 20,000.
// A var for tests.
var maxListedAddresses = 1_000

// ipv6Prefix returns the prefix an IP filter matches when it is IPv6: an
// IPv6 (or IPv4-mapped) prefix, or an IPv6 address without a zone.
func ipv6Prefix(f Filter) (netip.Prefix, bool) {
	if f.Field != FieldIP {
		return netip.Prefix{}, false
	}
	switch f.Op {
	case OpCIDR:
		p, err := netip.ParsePrefix(f.Value)
		if err != nil || p.Addr().Is4() {
			return netip.Prefix{}, false
		}
		return p.Masked(), true
	case OpEq:
		a, err := netip.ParseAddr(f.Value)
		if err != nil || !a.Is6() || a.Zone() != "" {
			return netip.Prefix{}, false
		}
		return netip.PrefixFrom(a, 128), true
	}
	return netip.Prefix{}, false
}

// inPrefix reports whether text is an IPv6 address inside p, zone ignored.
func inPrefix(text string, p netip.Prefix) bool {
	a, err := netip.ParseAddr(text)
	return err == nil && a.Is6() && p.Contains(a.WithZone(""))
}

// ipv6 compiles an IPv6 filter: the texts it was resolved to, else the
// pattern of its prefix.
func (c *compiler) ipv6(f Filter, p netip.Prefix) (string, error) {
	if f.Resolved {
		if len(f.Values) == 0 {
			return "1 = 0", nil
		}
		vs := make([]string, len(f.Values))
		for i, t := range f.Values {
			v, err := c.value(t)
			if err != nil {
				return "", err
			}
			vs[i] = v
		}
		return "peer_ip IN (" + strings.Join(vs, ", ") + ")", nil
	}
	v, err := c.value(ipv6Pattern(p))
	return "match(peer_ip, " + v + ")", err
}

// resolveAddresses resolves the IPv6 filters of ir against the IPv6
// peer_ip texts seen in its window (now binds now()), setting their Values
// and Resolved, and notes what it found. A filter it cannot resolve
// completely is left to the pattern, with a note saying why.
func resolveAddresses(ctx context.Context, q store.Querier, ir *IR, now time.Time) error {
	type observed struct {
		texts    []string
		complete bool
	}
	seen := map[string]observed{}
	listed := 0
	for i := range ir.Filters {
		f := &ir.Filters[i]
		p, ok := ipv6Prefix(*f)
		if !ok || f.Resolved {
			continue
		}
		starts := textStarts(p)
		key := strings.Join(starts, ",")
		o, ok := seen[key]
		if !ok {
			texts, complete, err := observedIPv6(ctx, q, ir.Window, starts, now)
			if err != nil {
				return err
			}
			o = observed{texts, complete}
			seen[key] = o
		}
		if !o.complete {
			ir.Notes = append(ir.Notes, fmt.Sprintf("more than %d distinct IPv6 addresses were seen in the window, too many to check one by one: %s is matched by a pattern on the address text instead", len(o.texts), f.Value))
			continue
		}
		var inside []string
		addrs := map[netip.Addr]bool{}
		for _, t := range o.texts {
			if inPrefix(t, p) {
				inside = append(inside, t)
				a, _ := netip.ParseAddr(t)
				addrs[a.WithZone("")] = true
			}
		}
		if listed+len(inside) > maxListedAddresses {
			ir.Notes = append(ir.Notes, fmt.Sprintf("%d IPv6 address spellings seen in the window are inside %s, more than the %d a query lists: it is matched by a pattern on the address text instead", len(inside), f.Value, maxListedAddresses))
			continue
		}
		listed += len(inside)
		slices.Sort(inside)
		f.Values, f.Resolved = inside, true
		if f.Op != OpCIDR {
			continue
		}
		switch n := len(addrs); n {
		case 0:
			ir.Notes = append(ir.Notes, fmt.Sprintf("no IPv6 address seen in the window is inside %s", f.Value))
		case 1:
			ir.Notes = append(ir.Notes, fmt.Sprintf("1 IPv6 address seen in the window is inside %s", f.Value))
		default:
			ir.Notes = append(ir.Notes, fmt.Sprintf("%d IPv6 addresses seen in the window are inside %s", n, f.Value))
		}
	}
	return nil
}

// observedIPv6 returns the distinct IPv6-looking peer_ip texts of server
// spans in window that begin with one of starts (any, when starts is
// empty), compared in lower case, and whether that is all of them.
func observedIPv6(ctx context.Context, q store.Querier, w Window, starts []string, now time.Time) ([]string, bool, error) {
	conds := []string{"span_kind = 'Server'", windowSQL(w), "peer_ip LIKE '%:%'"}
	var args []any
	if len(starts) > 0 {
		alts := make([]string, len(starts))
		for i, s := range starts {
			alts[i] = "lower(peer_ip) LIKE ?"
			args = append(args, s+"%")
		}
		conds = append(conds, "("+strings.Join(alts, " OR ")+")")
	}
	sql := fmt.Sprintf("SELECT DISTINCT peer_ip\nFROM traces\nWHERE %s\nLIMIT %d", strings.Join(conds, "\n  AND "), maxObservedAddresses+1)
	bound, err := sqlguard.BindNow(sql, now)
	if err != nil {
		return nil, false, fmt.Errorf("bind now: %w", err)
	}
	res, err := q.Query(ctx, bound, store.QueryOptions{MaxRows: maxObservedAddresses + 1, Timeout: DefaultTimeout}, args...)
	if err != nil {
		return nil, false, fmt.Errorf("read the IPv6 addresses of the window: %w", err)
	}
	texts := make([]string, 0, len(res.Rows))
	for _, row := range res.Rows {
		if len(row) > 0 {
			if s, ok := row[0].(string); ok {
				texts = append(texts, s)
			}
		}
	}
	if res.Truncated || len(texts) > maxObservedAddresses {
		return texts[:min(len(texts), maxObservedAddresses)], false, nil
	}
	return texts, true, nil
}

// textStarts returns lower-case texts, one of which begins every spelling
// of every address inside p, or nil. The leading fields that p fixes to
// non-zero values are never compressed to "::" and are followed by ":"
// (the first six: the last two may be written as dotted IPv4), so they
// start the text, each with 0 to 3 leading zeros. At most four starts are
// returned: the fields that would make more are left out.
func textStarts(p netip.Prefix) []string {
	a := p.Addr().As16()
	starts := []string{""}
	for j := 0; j < 6 && p.Bits() >= 16*(j+1); j++ {
		v := uint16(a[2*j])<<8 | uint16(a[2*j+1])
		if v == 0 {
			break
		}
		h := strconv.FormatUint(uint64(v), 16)
		var forms []string
		for pad := 0; len(h)+pad <= 4; pad++ {
			forms = append(forms, strings.Repeat("0", pad)+h+":")
		}
		if len(starts)*len(forms) > 4 {
			break
		}
		next := make([]string, 0, len(starts)*len(forms))
		for _, s := range starts {
			for _, f := range forms {
				next = append(next, s+f)
			}
		}
		starts = next
	}
	if len(starts) == 1 && starts[0] == "" {
		return nil
	}
	return starts
}

// ipv6Pattern returns an RE2 pattern that matches exactly the texts
// net/netip reads as an IPv6 address inside p (a masked IPv6 prefix), zone
// ignored, however they are spelled: hex digits in either case, with or
// without leading zeros, any one run of zero fields compressed to "::" or
// none, the last 32 bits in dotted IPv4 form, a zone after "%". It has no
// backslashes, so that it reads the same as a string literal in both
// engines, and no flags.
func ipv6Pattern(p netip.Prefix) string {
	a := p.Addr().As16()
	bits := p.Bits()
	var fields [8]string
	var zero [8]bool // the field may be 0: the prefix fixes none of its bits to 1
	for j := range 8 {
		v := uint16(a[2*j])<<8 | uint16(a[2*j+1])
		fields[j] = fieldPattern(v, min(max(bits-16*j, 0), 16))
		zero[j] = v == 0
	}
	var octets [4]string
	for o := range 4 {
		octets[o] = octetPattern(a[12+o], min(max(bits-96-8*o, 0), 8))
	}
	v4 := joinRuns(octets[:], "[.]")
	alts := []string{joinRuns(fields[:], ":"), joinRuns(fields[:6], ":") + ":" + v4}
	// With "::": the fields left of it, then those right of it (the last
	// of them possibly dotted), around a gap of at least one field that
	// must be 0.
	for left := 0; left <= 7; left++ {
		var rights []string
		for _, n := range []int{8, 6} { // hex fields, then dotted
			var rs []int
			for r := 0; left+r < n; r++ {
				if !slices.Contains(zero[left:n-r], false) {
					rs = append(rs, r)
				}
			}
			switch {
			case len(rs) == 0:
			case n == 8:
				rights = append(rights, rightFields(fields[:8], rs, false))
			default:
				rights = append(rights, rightFields(fields[:6], rs, true)+v4)
			}
		}
		switch len(rights) {
		case 1:
			alts = append(alts, joinRuns(fields[:left], ":")+"::"+rights[0])
		case 2:
			alts = append(alts, joinRuns(fields[:left], ":")+"::("+rights[0]+"|"+rights[1]+")")
		}
	}
	// The address ends the text, or a non-empty zone follows it.
	return "^(" + strings.Join(alts, "|") + ")($|%[^%]|%%)"
}

// rightFields matches the last r of fs for each r of rs (ascending), each
// field followed by ":" when colon is set.
func rightFields(fs []string, rs []int, colon bool) string {
	lo, hi := rs[0], rs[len(rs)-1]
	if hi-lo == len(rs)-1 && (hi == 0 || !slices.ContainsFunc(fs[len(fs)-hi:], func(f string) bool { return f != fs[len(fs)-1] })) {
		// Consecutive counts of one pattern.
		f := fs[len(fs)-1]
		switch {
		case hi == 0:
			return ""
		case colon:
			return repeat(f+":", lo, hi)
		case lo == 0:
			return "(" + f + repeat(":"+f, 0, hi-1) + ")?"
		}
		return f + repeat(":"+f, lo-1, hi-1)
	}
	var alts []string
	empty := false
	for _, r := range rs {
		s := joinRuns(fs[len(fs)-r:], ":")
		if colon && r > 0 {
			s += ":"
		}
		if s == "" {
			empty = true
		} else {
			alts = append(alts, s)
		}
	}
	g := "(" + strings.Join(alts, "|") + ")"
	if empty {
		g += "?"
	}
	return g
}

// repeat matches lo to hi repetitions of s.
func repeat(s string, lo, hi int) string {
	switch {
	case hi == 0:
		return ""
	case lo == 1 && hi == 1:
		return s
	case lo == hi:
		return "(" + s + "){" + strconv.Itoa(lo) + "}"
	}
	return "(" + s + "){" + strconv.Itoa(lo) + "," + strconv.Itoa(hi) + "}"
}

// joinRuns joins patterns with sep, writing a run of three or more equal
// ones once with a repeat.
func joinRuns(fs []string, sep string) string {
	var out []string
	for i := 0; i < len(fs); {
		j := i
		for j < len(fs) && fs[j] == fs[i] {
			j++
		}
		if n := j - i; n >= 3 {
			out = append(out, repeat(fs[i]+sep, n-1, n-1)+fs[i])
		} else {
			out = append(out, fs[i:j]...)
		}
		i = j
	}
	return strings.Join(out, sep)
}

const anyField = "[0-9a-fA-F]{1,4}"

// fieldPattern matches the spellings (1 to 4 hex digits) of a 16-bit
// field whose top fixed bits are those of v.
func fieldPattern(v uint16, fixed int) string {
	if fixed == 0 {
		return anyField
	}
	var cls [4]string
	var lo [4]int // the smallest value of each nibble: 0 when it may be 0
	for k := range 4 {
		nf := min(max(fixed-4*k, 0), 4)
		lo[k] = int(v>>(12-4*k)) & 0xf
		cls[k] = hexClass(lo[k], lo[k]|0xf>>nf)
	}
	// The digits written are the last d nibbles; the others must be 0.
	z := 0 // leading nibbles fixed to 0
	for z < 4 && cls[z] == "0" {
		z++
	}
	switch {
	case z == 4:
		return "0{1,4}"
	case lo[z] != 0: // the nibble after them is never 0, so is always written
		lead := ""
		switch z {
		case 1:
			lead = "0?"
		case 2, 3:
			lead = "0{0," + strconv.Itoa(z) + "}"
		}
		return lead + strings.Join(cls[z:], "")
	}
	var alts []string
	for d := 4; d >= 1 && (d == 4 || lo[3-d] == 0); d-- {
		alts = append(alts, strings.Join(cls[4-d:], ""))
	}
	return "(" + strings.Join(alts, "|") + ")"
}

// hexClass matches a hex digit from lo to hi, in either case.
func hexClass(lo, hi int) string {
	const digits = "0123456789abcdef"
	switch {
	case lo == hi && lo < 10:
		return digits[lo : lo+1]
	case lo == 0 && hi == 15:
		return "[0-9a-fA-F]"
	}
	var b strings.Builder
	b.WriteByte('[')
	span := func(from, to byte) {
		b.WriteByte(from)
		if to > from+1 {
			b.WriteByte('-')
		}
		if to > from {
			b.WriteByte(to)
		}
	}
	if lo <= 9 {
		span('0'+byte(lo), '0'+byte(min(hi, 9)))
	}
	if hi >= 10 {
		l := max(lo, 10) - 10
		span('a'+byte(l), 'a'+byte(hi-10))
		span('A'+byte(l), 'A'+byte(hi-10))
	}
	b.WriteByte(']')
	return b.String()
}

// anyOctet matches a decimal IPv4 octet as net/netip reads one: no
// leading zeros.
const anyOctet = "(25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])"

// octetPattern matches an IPv4 octet whose top fixed bits are those of v.
func octetPattern(v byte, fixed int) string {
	if fixed == 0 {
		return anyOctet
	}
	hi := int(v) | 0xff>>fixed
	if int(v) == hi {
		return strconv.Itoa(hi)
	}
	alts := make([]string, 0, hi-int(v)+1)
	for x := int(v); x <= hi; x++ {
		alts = append(alts, strconv.Itoa(x))
	}
	return "(" + strings.Join(alts, "|") + ")"
}
