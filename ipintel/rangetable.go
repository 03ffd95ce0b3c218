package ipintel

import (
	"bufio"
	"context"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"net/netip"
	"os"
	"slices"
	"strconv"
	"strings"
)

// RangeTable maps inclusive address ranges to an autonomous system or a
// country, for lookup by binary search. It loads the CSV layouts of the
// ip-location-db tables (CC BY 4.0):
//
//	asn:     range_start,range_end,autonomous_system_number,autonomous_system_organization
//	country: range_start,range_end,country_code
//
// with addresses in dotted or colon form, IPv4 and IPv6 in one or several
// files. The numeric ("-num.csv") variants are not accepted: a bare number
// does not say which address family it is. A RangeTable is immutable once
// loaded and safe for concurrent use.
type RangeTable struct {
	name  string
	v4    []range4
	v6    []range6
	orgs  []string // AS organisation names, deduplicated
	hasAS bool
}

var _ Source = (*RangeTable)(nil)

type rangeValue struct {
	asn     uint32
	org     uint32 // index into orgs
	country [2]byte
}

type range4 struct {
	start, end uint32
	rangeValue
}

type range6 struct {
	start, end u128
	rangeValue
}

// u128 is an IPv6 address as two big-endian halves, ordered by compare.
type u128 struct{ hi, lo uint64 }

func (a u128) compare(b u128) int {
	if a.hi != b.hi {
		if a.hi < b.hi {
			return -1
		}
		return 1
	}
	switch {
	case a.lo < b.lo:
		return -1
	case a.lo > b.lo:
		return 1
	}
	return 0
}

func toU128(a netip.Addr) u128 {
	b := a.As16()
	var v u128
	for i := range 8 {
		v.hi = v.hi<<8 | uint64(b[i])
		v.lo = v.lo<<8 | uint64(b[i+8])
	}
	return v
}

func toU32(a netip.Addr) uint32 {
	b := a.As4()
	return uint32(b[0])<<24 | uint32(b[1])<<16 | uint32(b[2])<<8 | uint32(b[3])
}

// LoadRangeCSVFiles loads and merges range CSVs into one table named name
// ("asn_csv", "country_csv"). Every file must have the same layout.
func LoadRangeCSVFiles(name string, paths ...string) (*RangeTable, error) {
	if len(paths) == 0 {
		return nil, errors.New("load range CSV: no files")
	}
	b := newRangeBuilder(name)
	for _, p := range paths {
		f, err := os.Open(p)
		if err != nil {
			return nil, fmt.Errorf("load range CSV: %w", err)
		}
		err = b.read(f)
		f.Close()
		if err != nil {
			return nil, fmt.Errorf("load range CSV %s: %w", p, err)
		}
	}
	return b.build()
}

// LoadRangeCSV loads one range CSV from r into a table named name.
func LoadRangeCSV(name string, r io.Reader) (*RangeTable, error) {
	b := newRangeBuilder(name)
	if err := b.read(r); err != nil {
		return nil, fmt.Errorf("load range CSV: %w", err)
	}
	return b.build()
}

type rangeBuilder struct {
	t      *RangeTable
	orgIdx map[string]uint32
	layout int // columns: 3 country, 4 asn; 0 until the first row
}

func newRangeBuilder(name string) *rangeBuilder {
	return &rangeBuilder{t: &RangeTable{name: name}, orgIdx: make(map[string]uint32)}
}

func (b *rangeBuilder) read(r io.Reader) error {
	cr := csv.NewReader(bufio.NewReaderSize(r, 1<<16))
	cr.FieldsPerRecord = -1
	cr.ReuseRecord = true
	cr.LazyQuotes = true
	for {
		rec, err := cr.Read()
		if err == io.EOF {
			return nil
		}
		line, _ := cr.FieldPos(0)
		if err != nil {
			return err
		}
		if len(rec) == 1 && strings.TrimSpace(rec[0]) == "" || strings.HasPrefix(rec[0], "#") {
			continue
		}
		if err := b.add(rec); err != nil {
			return fmt.Errorf("line %d: %w", line, err)
		}
	}
}

func (b *rangeBuilder) add(rec []string) error {
	switch {
	case b.layout == 0 && (len(rec) == 3 || len(rec) == 4):
		b.layout = len(rec)
		b.t.hasAS = len(rec) == 4
	case len(rec) != b.layout:
		return fmt.Errorf("%d fields, want %d (start,end,asn,org or start,end,country)", len(rec), max(b.layout, 3))
	}
	start, err1 := netip.ParseAddr(strings.TrimSpace(rec[0]))
	end, err2 := netip.ParseAddr(strings.TrimSpace(rec[1]))
	if err1 != nil || err2 != nil {
		return fmt.Errorf("range %q-%q: not two addresses", rec[0], rec[1])
	}
	start, end = start.Unmap(), end.Unmap()
	if start.Is4() != end.Is4() || start.Zone() != "" || end.Zone() != "" || end.Less(start) {
		return fmt.Errorf("range %q-%q: not an ascending range of one family", rec[0], rec[1])
	}
	var v rangeValue
	if b.layout == 4 {
		asn, err := strconv.ParseUint(strings.TrimPrefix(strings.TrimSpace(rec[2]), "AS"), 10, 32)
		if err != nil {
			return fmt.Errorf("AS number %q: %w", rec[2], err)
		}
		v.asn = uint32(asn)
		org := strings.TrimSpace(rec[3])
		idx, ok := b.orgIdx[org]
		if !ok {
			idx = uint32(len(b.t.orgs))
			b.t.orgs = append(b.t.orgs, org)
			b.orgIdx[org] = idx
		}
		v.org = idx
	} else {
		cc := strings.ToUpper(strings.TrimSpace(rec[2]))
		if len(cc) != 2 || cc[0] < 'A' || cc[0] > 'Z' || cc[1] < 'A' || cc[1] > 'Z' {
			return fmt.Errorf("country code %q: want two letters", rec[2])
		}
		v.country = [2]byte{cc[0], cc[1]}
	}
	if start.Is4() {
		b.t.v4 = append(b.t.v4, range4{toU32(start), toU32(end), v})
	} else {
		b.t.v6 = append(b.t.v6, range6{toU128(start), toU128(end), v})
	}
	return nil
}

// build sorts the ranges and drops any range that overlaps the one before
// it, so binary search stays exact; the published tables do not overlap.
func (b *rangeBuilder) build() (*RangeTable, error) {
	t := b.t
	slices.SortFunc(t.v4, func(a, b range4) int {
		if a.start != b.start {
			if a.start < b.start {
				return -1
			}
			return 1
		}
		return 0
	})
	t.v4 = dropOverlaps(t.v4, func(prev, cur range4) bool { return cur.start <= prev.end })
	slices.SortFunc(t.v6, func(a, b range6) int { return a.start.compare(b.start) })
	t.v6 = dropOverlaps(t.v6, func(prev, cur range6) bool { return cur.start.compare(prev.end) <= 0 })
	return t, nil
}

// dropOverlaps keeps each range that does not overlap the last one kept.
func dropOverlaps[R any](rs []R, overlaps func(prev, cur R) bool) []R {
	if len(rs) == 0 {
		return nil
	}
	kept := rs[:1]
	for _, r := range rs[1:] {
		if !overlaps(kept[len(kept)-1], r) {
			kept = append(kept, r)
		}
	}
	return slices.Clip(kept)
}

// Name implements Source.
func (t *RangeTable) Name() string { return t.name }

// Len returns the number of IPv4 and IPv6 ranges.
func (t *RangeTable) Len() (v4, v6 int) { return len(t.v4), len(t.v6) }

// Lookup implements Source: ASN and organisation, or country code.
func (t *RangeTable) Lookup(_ context.Context, addr netip.Addr) (Record, error) {
	v, ok := t.find(addr.Unmap())
	if !ok {
		return Record{}, ErrNotFound
	}
	if t.hasAS {
		return Record{ASN: v.asn, ASOrg: t.orgs[v.org]}, nil
	}
	return Record{Country: string(v.country[:])}, nil
}

func (t *RangeTable) find(addr netip.Addr) (rangeValue, bool) {
	if addr.Is4() {
		x := toU32(addr)
		i, _ := slices.BinarySearchFunc(t.v4, x, func(r range4, x uint32) int {
			if r.start <= x {
				return -1
			}
			return 1
		})
		if i > 0 && x <= t.v4[i-1].end {
			return t.v4[i-1].rangeValue, true
		}
		return rangeValue{}, false
	}
	if !addr.Is6() {
		return rangeValue{}, false
	}
	x := toU128(addr)
	i, _ := slices.BinarySearchFunc(t.v6, x, func(r range6, x u128) int {
		if r.start.compare(x) <= 0 {
			return -1
		}
		return 1
	})
	if i > 0 && x.compare(t.v6[i-1].end) <= 0 {
		return t.v6[i-1].rangeValue, true
	}
	return rangeValue{}, false
}
