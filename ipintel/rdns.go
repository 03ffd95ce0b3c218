package ipintel

import (
	"context"
	"errors"
	"net"
	"net/netip"
	"strings"
	"time"
)

// ReverseDNSOptions configures PTR lookups.
type ReverseDNSOptions struct {
	// Server is a DNS server "host:port" to ask instead of the system's
	// resolvers; queries then go through Go's own resolver.
	Server string
	// Resolver is used as given when set (Server is then ignored).
	Resolver *net.Resolver
	// Timeout bounds one lookup (default 2s).
	Timeout time.Duration
	// Concurrency bounds lookups in flight (default 16).
	Concurrency int
}

// ReverseDNS is a Source of PTR names.
type ReverseDNS struct {
	resolver *net.Resolver
	timeout  time.Duration
	sem      chan struct{}
}

var _ Source = (*ReverseDNS)(nil)

// NewReverseDNS returns a reverse-DNS source.
func NewReverseDNS(opts ReverseDNSOptions) *ReverseDNS {
	if opts.Timeout <= 0 {
		opts.Timeout = 2 * time.Second
	}
	if opts.Concurrency <= 0 {
		opts.Concurrency = 16
	}
	r := opts.Resolver
	if r == nil && opts.Server != "" {
		server := opts.Server
		r = &net.Resolver{
			PreferGo: true,
			Dial: func(ctx context.Context, network, _ string) (net.Conn, error) {
				var d net.Dialer
				return d.DialContext(ctx, network, server)
			},
		}
	}
	if r == nil {
		r = net.DefaultResolver
	}
	return &ReverseDNS{resolver: r, timeout: opts.Timeout, sem: make(chan struct{}, opts.Concurrency)}
}

// Name implements Source.
func (d *ReverseDNS) Name() string { return "rdns" }

// Lookup implements Source: Hostnames from PTR records, without the
// trailing dot. No PTR record is ErrNotFound; a timeout wraps
// context.DeadlineExceeded.
func (d *ReverseDNS) Lookup(ctx context.Context, addr netip.Addr) (Record, error) {
	ctx, cancel := context.WithTimeout(ctx, d.timeout)
	defer cancel()
	select {
	case d.sem <- struct{}{}:
		defer func() { <-d.sem }()
	case <-ctx.Done():
		return Record{}, ctx.Err()
	}
	names, err := d.resolver.LookupAddr(ctx, addr.Unmap().String())
	if err != nil {
		var dnsErr *net.DNSError
		switch {
		case errors.As(err, &dnsErr) && dnsErr.IsNotFound:
			return Record{}, ErrNotFound
		case ctx.Err() != nil:
			return Record{}, ctx.Err()
		}
		return Record{}, err
	}
	var rec Record
	for _, n := range names {
		if n = strings.TrimSuffix(n, "."); n != "" {
			rec.Hostnames = append(rec.Hostnames, n)
		}
	}
	if len(rec.Hostnames) == 0 {
		return Record{}, ErrNotFound
	}
	return rec, nil
}
