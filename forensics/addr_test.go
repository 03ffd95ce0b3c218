package forensics

import (
	"context"
	"math/rand/v2"
	"net/netip"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/tracehound/tracehound/sqlguard"
	"github.com/tracehound/tracehound/store"
)

func TestIPv6Pattern(t *testing.T) {
	tests := []struct {
		prefix string
		in     []string
		out    []string
	}{
		{"2001:db8:42::/48",
			[]string{"2001:db8:42::", "2001:db8:42::1", "2001:DB8:42::7", "2001:0db8:0042:0000:0000:0000:0000:0009", "2001:db8:42:ffff:ffff:ffff:ffff:ffff",
				"2001:db8:42:1::abcd", "2001:db8:42::1%eth0", "2001:db8:42::1.2.3.4", "2001:db8:42:0:0:0:1.2.3.4", "2001:db8:42::%x"},
			[]string{"2001:db8:43::1", "2001:db8:41:ffff::1", "2001:db8::42:0:0:1", "2001:db8::", "2001:db8:42::1%", "2001:db8:42::1 ", " 2001:db8:42::1",
				"2001:db8:42:::1", "2001:db8:42::1::", "2001:db8:00042::1", "2001:db8:42::1.2.3.04", "2001:db8:42::256.1.1.1", "[2001:db8:42::1]", "2001:db8:42:0:0:0:0:0:0"}},
		{"2a03:b0c0::/32",
			[]string{"2a03:b0c0:3:d0::1f:1", "2A03:B0C0:0:1::2", "2a03:b0c0::", "2a03:b0c0:ffff:ffff:ffff:ffff:255.255.255.255"},
			[]string{"2a03:b0c1::1", "2a03:b0bf:ffff::", "2a3:b0c0::1", "2a03::b0c0:1", "1.2.3.4", "::ffff:1.2.3.4"}},
		{"::/0",
			[]string{"::", "::1", "2001:db8::1", "::ffff:1.2.3.4", "fe80::1%eth0", "1:2:3:4:5:6:7:8", "1:2:3:4:5:6:1.2.3.4", "1::", "::1.2.3.4", "1:2:3:4:5:6:7::", "::2:3:4:5:6:7:8"},
			[]string{"1.2.3.4", "", ":", ":::", "1:2:3:4:5:6:7", "1:2:3:4:5:6:7:8:9", "1:2:3:4:5:6:7:8::", "::1:2:3:4:5:6:7:8", "12345::", "g::", "%eth0", "::1%", "0.0.0.0", "localhost"}},
		{"2001:db8::1/128",
			[]string{"2001:db8::1", "2001:DB8:0:0:0:0:0:1", "2001:0db8:0000:0000:0000:0000:0000:0001", "2001:db8:0::0:1", "2001:db8::0.0.0.1", "2001:db8::1%2"},
			[]string{"2001:db8::2", "2001:db8::1:0", "2001:db8:1::", "2001:db8::10"}},
		{"::ffff:0:0/96",
			[]string{"::ffff:1.2.3.4", "::FFFF:10.0.0.1", "0:0:0:0:0:ffff:102:304", "::ffff:0:0"},
			[]string{"1.2.3.4", "::fffe:1.2.3.4", "::1.2.3.4", "64:ff9b::1.2.3.4"}},
		{"::ffff:192.0.2.0/120",
			[]string{"::ffff:192.0.2.7", "::ffff:c000:207", "::ffff:192.0.2.255"},
			[]string{"192.0.2.7", "::ffff:192.0.3.7", "::ffff:193.0.2.7"}},
		{"2001::/17", // a partial field: the second field 0 to 0x7fff
			[]string{"2001:db8::1", "2001:7fff::", "2001:0::1", "2001:0000::", "2001::1", "2001:1:2:3:4:5:6:7"},
			[]string{"2001:8000::", "2001:ffff::1", "2002::"}},
		{"2001:db8::/33", // the third field 0 to 0x7fff
			[]string{"2001:db8::1", "2001:db8:7fff::", "2001:db8:0:1::", "2001:db8:0000:ffff:0:0:0:0"},
			[]string{"2001:db8:8000::", "2001:db8:ffff::1", "2001:db9::"}},
		{"fe80::/10",
			[]string{"fe80::1%eth0", "FEBF::1", "fe80::"},
			[]string{"fec0::1", "fe7f::1", "fe8::1"}},
		{"64:ff9b::/96",
			[]string{"64:ff9b::1.2.3.4", "0064:FF9B::102:304", "64:ff9b:0:0:0:0:1.2.3.4"},
			[]string{"64:ff9b:1::1.2.3.4", "::1.2.3.4"}},
		{"::ffff:10.40.0.0/108", // a partial octet: 10.32.0.0 to 10.47.255.255
			[]string{"::ffff:10.40.1.2", "::ffff:10.32.0.0", "::ffff:10.47.255.255"},
			[]string{"::ffff:10.48.0.0", "::ffff:10.31.255.255", "::ffff:010.40.1.2"}},
	}
	for _, tc := range tests {
		p := netip.MustParsePrefix(tc.prefix).Masked()
		re := regexp.MustCompile(ipv6Pattern(p))
		for _, s := range tc.in {
			if !re.MatchString(s) || !inPrefix(s, p) {
				t.Errorf("%s: pattern %v, netip %v on %q; want both true", tc.prefix, re.MatchString(s), inPrefix(s, p), s)
			}
		}
		for _, s := range tc.out {
			if re.MatchString(s) || inPrefix(s, p) {
				t.Errorf("%s: pattern %v, netip %v on %q; want both false", tc.prefix, re.MatchString(s), inPrefix(s, p), s)
			}
		}
		if pat := ipv6Pattern(p); strings.Contains(pat, `\`) || len(pat) > 8000 {
			t.Errorf("%s: the pattern has a backslash or is %d bytes:\n%s", tc.prefix, len(pat), pat)
		}
	}
}

// spell writes a in a random one of its spellings: any case, leading
// zeros, a run of zero fields (not only the longest) compressed or none,
// the last 32 bits dotted, a zone.
func spell(r *rand.Rand, a netip.Addr) string {
	b := a.As16()
	dotted := r.IntN(4) == 0
	n := 8
	if dotted {
		n = 6
	}
	fields := make([]string, n)
	for j := range n {
		h := strconv.FormatUint(uint64(b[2*j])<<8|uint64(b[2*j+1]), 16)
		h = strings.Repeat("0", r.IntN(5-len(h))) + h
		if r.IntN(3) == 0 {
			h = strings.ToUpper(h)
		}
		fields[j] = h
	}
	var zeros [][2]int // runs of zero fields [from, to)
	for j := 0; j < n; j++ {
		if b[2*j] == 0 && b[2*j+1] == 0 {
			k := j
			for k < n && b[2*k] == 0 && b[2*k+1] == 0 {
				k++
			}
			for from := j; from < k; from++ {
				for to := from + 1; to <= k; to++ {
					zeros = append(zeros, [2]int{from, to})
				}
			}
			j = k
		}
	}
	var s string
	if len(zeros) > 0 && r.IntN(4) > 0 {
		z := zeros[r.IntN(len(zeros))]
		s = strings.Join(fields[:z[0]], ":") + "::" + strings.Join(fields[z[1]:], ":")
		if dotted {
			if z[1] < n {
				s += ":"
			}
		}
	} else {
		s = strings.Join(fields, ":")
		if dotted {
			s += ":"
		}
	}
	if dotted {
		s += netip.AddrFrom4([4]byte(b[12:])).String()
	}
	if r.IntN(5) == 0 {
		s += "%" + []string{"eth0", "1", "%", "en0:a"}[r.IntN(4)]
	}
	return s
}

// TestIPv6PatternSpellings checks the pattern and textStarts against
// net/netip on random prefixes and addresses inside and just outside them,
// in random spellings.
func TestIPv6PatternSpellings(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for range 400 {
		var b [16]byte
		for i := range b {
			switch r.IntN(3) {
			case 0:
				b[i] = byte(r.IntN(256))
			case 1:
				b[i] = 0
			default:
				b[i] = byte(r.IntN(3))
			}
		}
		if r.IntN(8) == 0 {
			b = netip.AddrFrom4([4]byte(b[12:])).As16() // ::ffff:a.b.c.d
		}
		p := netip.PrefixFrom(netip.AddrFrom16(b), r.IntN(129)).Masked()
		re := regexp.MustCompile(ipv6Pattern(p))
		starts := textStarts(p)
		for range 30 {
			a := b
			for i := p.Bits(); i < 128; i++ { // random host bits
				if r.IntN(2) == 0 {
					a[i/8] ^= 0x80 >> (i % 8)
				}
			}
			if p.Bits() > 0 && r.IntN(3) == 0 { // just outside
				i := r.IntN(p.Bits())
				a[i/8] ^= 0x80 >> (i % 8)
			}
			addr := netip.AddrFrom16(a)
			s := spell(r, addr)
			got, err := netip.ParseAddr(s)
			if err != nil || got.WithZone("") != addr {
				t.Fatalf("spell(%s) = %q, which reads as %v, %v", addr, s, got, err)
			}
			want := p.Contains(addr)
			if re.MatchString(s) != want || inPrefix(s, p) != want {
				t.Fatalf("%s on %q: pattern %v, inPrefix %v; want %v\n%s", p, s, re.MatchString(s), inPrefix(s, p), want, ipv6Pattern(p))
			}
			if want && len(starts) > 0 && !slices.ContainsFunc(starts, func(st string) bool { return strings.HasPrefix(strings.ToLower(s), st) }) {
				t.Fatalf("%s: %q begins with none of %q", p, s, starts)
			}
		}
	}
}

func TestTextStarts(t *testing.T) {
	for _, tc := range []struct {
		prefix string
		want   []string
	}{
		{"2001:db8:42::/48", []string{"2001:db8:", "2001:0db8:"}}, // with 42's three forms, six
		{"2a03:b0c0::/32", []string{"2a03:b0c0:"}},
		{"2a03:b0c0:1::/48", []string{"2a03:b0c0:1:", "2a03:b0c0:01:", "2a03:b0c0:001:", "2a03:b0c0:0001:"}},
		{"2001:db8::/31", []string{"2001:"}},
		{"2001:db8::/15", nil},
		{"::/0", nil},
		{"::ffff:0:0/96", nil},
		{"fe80::/10", nil},
		{"1:2:3:4:5:6:7:8/128", []string{"1:", "01:", "001:", "0001:"}},
		{"1111:2222:3333:4444:5555:6666:7777:8888/128", []string{"1111:2222:3333:4444:5555:6666:"}},
	} {
		got := textStarts(netip.MustParsePrefix(tc.prefix))
		if !slices.Equal(got, tc.want) {
			t.Errorf("textStarts(%s) = %q, want %q", tc.prefix, got, tc.want)
		}
	}
}

// FuzzIPv6Pattern checks that the pattern of a prefix matches exactly the
// texts net/netip reads as an IPv6 address inside it.
func FuzzIPv6Pattern(f *testing.F) {
	for _, s := range []string{"2001:db8:42::1", "2001:DB8:42::7%eth0", "::ffff:192.0.2.7", "2001:0db8:0042::1.2.3.4", "::", "1.2.3.4", "fe80::1%%"} {
		f.Add(s, []byte{0x20, 0x01, 0x0d, 0xb8, 0, 0x42}, uint8(48))
	}
	f.Add("::ffff:10.40.1.2", []byte{0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 10, 40}, uint8(108))
	f.Fuzz(func(t *testing.T, s string, b []byte, bits uint8) {
		var a [16]byte
		copy(a[:], b)
		p := netip.PrefixFrom(netip.AddrFrom16(a), int(bits)%129).Masked()
		pat := ipv6Pattern(p)
		if got, want := regexp.MustCompile(pat).MatchString(s), inPrefix(s, p); got != want {
			t.Fatalf("%s on %q: pattern %v, net/netip %v\n%s", p, s, got, want, pat)
		}
		if want := inPrefix(s, p); want {
			if starts := textStarts(p); len(starts) > 0 && !slices.ContainsFunc(starts, func(st string) bool { return strings.HasPrefix(strings.ToLower(s), st) }) {
				t.Fatalf("%s: %q begins with none of %q", p, s, starts)
			}
		}
	})
}

// fakeQuerier answers the query of observedIPv6 with texts, capped as a
// store caps rows.
type fakeQuerier struct {
	texts   []string
	maxRows int // a cap below the one asked for, as a guarded querier sets
	sql     []string
	args    [][]any
}

func (q *fakeQuerier) Query(_ context.Context, sql string, opts store.QueryOptions, args ...any) (*store.Result, error) {
	q.sql, q.args = append(q.sql, sql), append(q.args, args)
	res := &store.Result{Columns: []string{"peer_ip"}}
	limit := opts.MaxRows
	if q.maxRows > 0 && q.maxRows < limit {
		limit = q.maxRows
	}
	for _, s := range q.texts {
		if len(res.Rows) == limit {
			res.Truncated = true
			break
		}
		res.Rows = append(res.Rows, []any{s})
	}
	return res, nil
}

func TestResolveAddresses(t *testing.T) {
	ctx := context.Background()
	texts := []string{"2001:db8:42::1", "2001:DB8:42::1", "2001:db8:43::1", "2001:db8:42::ffff"}
	parse := func(q string) *IR {
		t.Helper()
		ir, err := Parse(q, nil)
		if err != nil {
			t.Fatal(err)
		}
		return ir
	}

	ir := parse("requests from 2001:db8:42::/48 excluding 2001:db8:42::1 in the last day")
	fq := &fakeQuerier{texts: texts}
	if err := resolveAddresses(ctx, fq, ir, testNow); err != nil {
		t.Fatal(err)
	}
	if f := ir.Filters[0]; !f.Resolved || !slices.Equal(f.Values, []string{"2001:DB8:42::1", "2001:db8:42::1", "2001:db8:42::ffff"}) {
		t.Errorf("the /48 resolves to %v (%v), want the three texts inside it", f.Values, f.Resolved)
	}
	if f := ir.Filters[1]; !f.Resolved || !f.Negate || !slices.Equal(f.Values, []string{"2001:DB8:42::1", "2001:db8:42::1"}) {
		t.Errorf("the excluded address resolves to %v (%v), want both spellings", f.Values, f.Resolved)
	}
	if len(fq.sql) != 1 || !strings.Contains(fq.sql[0], "lower(peer_ip) LIKE ?") || len(fq.args[0]) != 2 {
		t.Errorf("resolving ran %d queries, want one with the two starts of 2001:db8:42::/48\n%v %v", len(fq.sql), fq.sql, fq.args)
	}
	if err := sqlguard.New().Check(fq.sql[0]); err != nil {
		t.Errorf("the guard refuses the resolving query: %v\n%s", err, fq.sql[0])
	}
	if !slices.Contains(ir.Notes, "2 IPv6 addresses seen in the window are inside 2001:db8:42::/48") {
		t.Errorf("notes %q, want the count of addresses inside", ir.Notes)
	}
	c, err := Compile(ir, CompileOptions{Now: testNow})
	if err != nil {
		t.Fatal(err)
	}
	if want := "NOT (peer_ip IN (?, ?))\n  AND peer_ip IN (?, ?, ?)"; !strings.Contains(c.Main.SQL, want) ||
		!slices.Equal(c.Main.Args, []any{"2001:DB8:42::1", "2001:db8:42::1", "2001:DB8:42::1", "2001:db8:42::1", "2001:db8:42::ffff"}) {
		t.Errorf("Compile = %s %v, want %q", c.Main.SQL, c.Main.Args, want)
	}

	ir = parse("count requests from 2a03:b0c0::/32")
	if err := resolveAddresses(ctx, &fakeQuerier{}, ir, testNow); err != nil {
		t.Fatal(err)
	}
	c, err = Compile(ir, CompileOptions{Now: testNow})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(c.Main.SQL, "AND 1 = 0") || !slices.Contains(ir.Notes, "no IPv6 address seen in the window is inside 2a03:b0c0::/32") {
		t.Errorf("a prefix with no traffic: %s, notes %q; want a false condition and a note", c.Main.SQL, ir.Notes)
	}

	// More texts than the store returns, or than the bound: the pattern,
	// with a note.
	defer func(n int) { maxObservedAddresses = n }(maxObservedAddresses)
	for _, fq := range []*fakeQuerier{{texts: texts, maxRows: 2}, {texts: texts}} {
		maxObservedAddresses = 50_000
		if fq.maxRows == 0 {
			maxObservedAddresses = 3
		}
		ir = parse("count requests from 2001:db8:42::/48")
		if err := resolveAddresses(ctx, fq, ir, testNow); err != nil {
			t.Fatal(err)
		}
		c, err = Compile(ir, CompileOptions{Now: testNow})
		if err != nil {
			t.Fatal(err)
		}
		if ir.Filters[0].Resolved || !strings.Contains(c.Main.SQL, "match(peer_ip, ?)") || len(ir.Notes) != 1 || !strings.HasPrefix(ir.Notes[0], "more than 2 distinct IPv6 addresses were seen in the window") && !strings.HasPrefix(ir.Notes[0], "more than 3 distinct") {
			t.Errorf("too many addresses (cap %d): resolved %v, %s, notes %q; want the pattern and a note", fq.maxRows, ir.Filters[0].Resolved, c.Main.SQL, ir.Notes)
		}
	}

	// More addresses inside than a query lists.
	maxObservedAddresses = 50_000
	defer func(n int) { maxListedAddresses = n }(maxListedAddresses)
	maxListedAddresses = 2
	ir = parse("count requests from 2001:db8:42::/48")
	if err := resolveAddresses(ctx, &fakeQuerier{texts: texts}, ir, testNow); err != nil {
		t.Fatal(err)
	}
	if ir.Filters[0].Resolved || len(ir.Notes) != 1 || !strings.Contains(ir.Notes[0], "more than the 2 a query lists") {
		t.Errorf("too many inside: resolved %v, notes %q; want the pattern and a note", ir.Filters[0].Resolved, ir.Notes)
	}
}

// TestCompileIPv6 checks the SQL of IPv6 filters without the store, and
// that a rule never keeps the addresses a question was resolved to.
func TestCompileIPv6(t *testing.T) {
	for _, q := range []string{
		"requests from 2001:db8:42::/48 in the last day",
		"top paths from 2a03:b0c0::/32",
		"count requests from 2001:db8::1",
		"count requests from 2001:db8::",
		"count requests excluding ::/0",
		"count requests from ::ffff:192.0.2.0/120",
	} {
		ir, err := Parse(q, testCatalog)
		if err != nil {
			t.Fatalf("Parse(%q): %v", q, err)
		}
		c, err := Compile(ir, CompileOptions{Now: testNow})
		if err != nil {
			t.Fatalf("Compile(%q): %v", q, err)
		}
		if !strings.Contains(c.Main.SQL, "match(peer_ip, ?)") {
			t.Errorf("Compile(%q) = %s, want a pattern", q, c.Main.SQL)
		}
		if err := sqlguard.New().Check(c.Main.SQL); err != nil {
			t.Errorf("Compile(%q): the guard refuses %v", q, err)
		}
		ir.Filters[0].Values, ir.Filters[0].Resolved = []string{"2001:db8:42::1"}, true
		r, err := ToRule(ir, RuleOptions{})
		if err != nil {
			t.Fatalf("ToRule(%q): %v", q, err)
		}
		if strings.Contains(r.SQL, " IN (") || !strings.Contains(r.SQL, "match(peer_ip, '^(") {
			t.Errorf("ToRule(%q) = %s, want the pattern as a literal", q, r.SQL)
		}
		if err := sqlguard.New().Check(r.SQL); err != nil {
			t.Errorf("ToRule(%q): the guard refuses %v", q, err)
		}
	}
	// IPv4 is unchanged.
	ir, err := Parse("count requests from 10.40.0.0/16 excluding 1.2.3.4", nil)
	if err != nil {
		t.Fatal(err)
	}
	c, err := Compile(ir, CompileOptions{Now: testNow})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(c.Main.SQL, "NOT (peer_ip = ?)\n  AND match(peer_ip, ?)") || !slices.Equal(c.Main.Args, []any{"1.2.3.4", "^(10[.]40[.])"}) {
		t.Errorf("IPv4: %s %v", c.Main.SQL, c.Main.Args)
	}
}
