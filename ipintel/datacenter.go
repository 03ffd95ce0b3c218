package ipintel

import (
	"bufio"
	"bytes"
	"context"
	_ "embed"
	"fmt"
	"io"
	"net/netip"
	"os"
	"strconv"
	"strings"
)

//go:embed data/datacenter_asns.txt
var datacenterASNs []byte

// ASNSet maps autonomous system numbers to provider names: the offline
// signal that an address belongs to a data center or cloud. It is immutable
// once loaded and safe for concurrent use.
type ASNSet struct {
	providers map[uint32]string
}

// DefaultDataCenters returns the embedded set of data-center and cloud ASNs
// (DigitalOcean, AWS, Google Cloud, Azure, OVHcloud, Hetzner, Linode, Vultr,
// Oracle, Alibaba, Tencent, Scaleway, Contabo, Leaseweb, M247 and others).
func DefaultDataCenters() *ASNSet {
	s, err := ReadASNSet(bytes.NewReader(datacenterASNs))
	if err != nil {
		panic("ipintel: embedded datacenter_asns.txt: " + err.Error())
	}
	return s
}

// ReadASNSet reads lines of "AS number, whitespace, provider name"; the
// number may carry an "AS" prefix and "#" starts a comment, so the X4BNet
// lists_vpn layout ("AS14061 # DIGITALOCEAN-ASN") reads too, with the
// comment as the name.
func ReadASNSet(r io.Reader) (*ASNSet, error) {
	s := &ASNSet{providers: make(map[uint32]string)}
	sc := bufio.NewScanner(r)
	for n := 1; sc.Scan(); n++ {
		line, comment, _ := strings.Cut(sc.Text(), "#")
		fields := strings.Fields(line)
		if len(fields) == 0 {
			continue
		}
		num := strings.TrimPrefix(strings.ToUpper(fields[0]), "AS")
		asn, err := strconv.ParseUint(num, 10, 32)
		if err != nil || asn == 0 {
			return nil, fmt.Errorf("read ASN set: line %d: %q is not an AS number", n, fields[0])
		}
		name := strings.Join(fields[1:], " ")
		if name == "" {
			name = strings.TrimSpace(comment)
		}
		s.providers[uint32(asn)] = name
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("read ASN set: %w", err)
	}
	return s, nil
}

// Provider returns the provider name of asn and whether asn is in the set.
func (s *ASNSet) Provider(asn uint32) (string, bool) {
	if s == nil {
		return "", false
	}
	p, ok := s.providers[asn]
	return p, ok
}

// Len returns the number of AS numbers in the set.
func (s *ASNSet) Len() int { return len(s.providers) }

// TorExits is a Source answering IsTor from a list of Tor exit addresses.
type TorExits struct {
	addrs map[netip.Addr]struct{}
}

var _ Source = (*TorExits)(nil)

// ReadTorExits reads a Tor exit list: one address a line (the Tor
// Project's bulk exit list), or the exit-addresses layout whose
// "ExitAddress ADDR DATE" lines carry the address. Blank lines, "#"
// comments and other exit-addresses keywords are skipped.
func ReadTorExits(r io.Reader) (*TorExits, error) {
	t := &TorExits{addrs: make(map[netip.Addr]struct{})}
	sc := bufio.NewScanner(r)
	for n := 1; sc.Scan(); n++ {
		line, _, _ := strings.Cut(sc.Text(), "#")
		fields := strings.Fields(line)
		if len(fields) == 0 {
			continue
		}
		tok := fields[0]
		switch tok {
		case "ExitAddress":
			if len(fields) < 2 {
				return nil, fmt.Errorf("read Tor exits: line %d: ExitAddress without address", n)
			}
			tok = fields[1]
		case "ExitNode", "Published", "LastStatus":
			continue
		}
		addr, err := netip.ParseAddr(tok)
		if err != nil {
			return nil, fmt.Errorf("read Tor exits: line %d: %q is not an address", n, tok)
		}
		t.addrs[addr.Unmap()] = struct{}{}
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("read Tor exits: %w", err)
	}
	return t, nil
}

// LoadTorExits reads a Tor exit list file (see ReadTorExits).
func LoadTorExits(path string) (*TorExits, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("load Tor exits: %w", err)
	}
	defer f.Close()
	return ReadTorExits(f)
}

// Name implements Source.
func (t *TorExits) Name() string { return "tor_exits" }

// Len returns the number of exit addresses.
func (t *TorExits) Len() int { return len(t.addrs) }

// Lookup implements Source: IsTor for a listed address, ErrNotFound otherwise.
func (t *TorExits) Lookup(_ context.Context, addr netip.Addr) (Record, error) {
	if _, ok := t.addrs[addr.Unmap()]; ok {
		return Record{IsTor: true}, nil
	}
	return Record{}, ErrNotFound
}
