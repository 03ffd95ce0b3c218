package ipintel

import (
	"context"
	"encoding/binary"
	"errors"
	"net"
	"net/netip"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// dnsServer is a minimal authoritative DNS server on loopback UDP that
// answers PTR queries from a map; names in silent get no answer at all.
type dnsServer struct {
	conn    net.PacketConn
	ptr     map[string][]string // "19.73.248.104.in-addr.arpa." → names
	silent  map[string]bool
	queries atomic.Int64
}

func startDNSServer(t *testing.T, ptr map[string][]string, silent map[string]bool) *dnsServer {
	t.Helper()
	conn, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := &dnsServer{conn: conn, ptr: ptr, silent: silent}
	t.Cleanup(func() { conn.Close() })
	go s.serve()
	return s
}

func (s *dnsServer) serve() {
	buf := make([]byte, 1500)
	for {
		n, from, err := s.conn.ReadFrom(buf)
		if err != nil {
			return
		}
		s.queries.Add(1)
		if resp := s.answer(buf[:n]); resp != nil {
			s.conn.WriteTo(resp, from)
		}
	}
}

// answer builds the response to one query, or nil to stay silent.
func (s *dnsServer) answer(q []byte) []byte {
	if len(q) < 12 || binary.BigEndian.Uint16(q[4:6]) != 1 {
		return nil
	}
	var labels []string
	i := 12
	for i < len(q) && q[i] != 0 {
		l := int(q[i])
		if i+1+l > len(q) {
			return nil
		}
		labels = append(labels, string(q[i+1:i+1+l]))
		i += 1 + l
	}
	if i+5 > len(q) {
		return nil
	}
	question := q[12 : i+5]
	qtype := binary.BigEndian.Uint16(q[i+1 : i+3])
	name := strings.ToLower(strings.Join(labels, ".")) + "."
	if s.silent[name] {
		return nil
	}
	names, ok := s.ptr[name]
	flags := uint16(0x8400 | 0x0100 | 0x0080) // QR, AA, RD, RA
	if !ok {
		flags |= 3 // NXDOMAIN
	}
	if qtype != 12 {
		names = nil
	}
	resp := binary.BigEndian.AppendUint16(nil, binary.BigEndian.Uint16(q[0:2]))
	resp = binary.BigEndian.AppendUint16(resp, flags)
	resp = binary.BigEndian.AppendUint16(resp, 1)
	resp = binary.BigEndian.AppendUint16(resp, uint16(len(names)))
	resp = append(resp, 0, 0, 0, 0)
	resp = append(resp, question...)
	for _, n := range names {
		var rdata []byte
		for _, l := range strings.Split(strings.TrimSuffix(n, "."), ".") {
			rdata = append(rdata, byte(len(l)))
			rdata = append(rdata, l...)
		}
		rdata = append(rdata, 0)
		resp = append(resp, 0xC0, 12)       // pointer to the question name
		resp = append(resp, 0, 12, 0, 1)    // PTR, IN
		resp = append(resp, 0, 0, 0x0e, 16) // TTL 3600
		resp = binary.BigEndian.AppendUint16(resp, uint16(len(rdata)))
		resp = append(resp, rdata...)
	}
	return resp
}

func TestReverseDNS(t *testing.T) {
	srv := startDNSServer(t, map[string][]string{
		"19.73.248.104.in-addr.arpa.": {"prod-worker-1.example.net."},
		"1.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2.ip6.arpa.": {"v6host.example.org.", "alias.example.org."},
	}, map[string]bool{"88.205.71.167.in-addr.arpa.": true})
	d := NewReverseDNS(ReverseDNSOptions{Server: srv.conn.LocalAddr().String(), Timeout: 300 * time.Millisecond, Concurrency: 2})
	ctx := context.Background()

	rec, err := d.Lookup(ctx, netip.MustParseAddr("104.248.73.19"))
	if err != nil || !slices.Equal(rec.Hostnames, []string{"prod-worker-1.example.net"}) {
		t.Errorf("Lookup(104.248.73.19) = %v, %v", rec.Hostnames, err)
	}
	rec, err = d.Lookup(ctx, netip.MustParseAddr("2001:db8::1"))
	if err != nil || !slices.Equal(rec.Hostnames, []string{"v6host.example.org", "alias.example.org"}) {
		t.Errorf("Lookup(2001:db8::1) = %v, %v", rec.Hostnames, err)
	}
	if _, err := d.Lookup(ctx, netip.MustParseAddr("178.128.44.156")); !errors.Is(err, ErrNotFound) {
		t.Errorf("Lookup(NXDOMAIN) = %v, want ErrNotFound", err)
	}
	start := time.Now()
	_, err = d.Lookup(ctx, netip.MustParseAddr("167.71.205.88"))
	if reason, _ := reasonFor(ctx, err); reason != ReasonTimeout {
		t.Errorf("Lookup(silent) = %v (reason %q), want a timeout", err, reason)
	}
	if el := time.Since(start); el > 2*time.Second {
		t.Errorf("timed-out lookup took %v, want about 300ms", el)
	}
	if srv.queries.Load() == 0 {
		t.Error("the local DNS server saw no queries")
	}
}
