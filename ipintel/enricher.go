package ipintel

import (
	"context"
	"errors"
	"log/slog"
	"net/netip"
	"slices"
	"sync"
	"time"
)

// Options configures an Enricher built from ready sources; Open builds one
// from file paths and keys instead.
type Options struct {
	// Sources are asked in order; for every field the first source that
	// knows it wins (put AbuseIPDB first: its usage type and country are
	// the ones analysts quote).
	Sources []Source
	// DataCenters sets UsageType to UsageDataCenter for an address whose ASN
	// is in the set, when no source gave a usage type. Nil disables it.
	DataCenters *ASNSet
	// Disabled names sources left out of the configuration; every record
	// lists them in NotEnriched as ReasonDisabled so a reader knows why
	// the fields are empty.
	Disabled []string
	// Cache sits in front of the sources (default: a MemoryCache of 100,000).
	Cache Cache
	// TTL is how long a complete record is reused (default 6h); RetryTTL
	// how long one missing data for a transient reason is (default 10m).
	TTL, RetryTTL time.Duration
	// Concurrency bounds addresses enriched at once (default 16). Network
	// sources add their own bounds (AbuseIPDB rate, reverse-DNS slots).
	Concurrency int
	// Now is the clock (time.Now when nil); Logger receives source
	// failures (discarded when nil).
	Now    func() time.Time
	Logger *slog.Logger
}

// Enricher merges the answers of several sources into one Record per
// address. It is safe for concurrent use.
type Enricher struct {
	opts    Options
	log     *slog.Logger
	closers []func() error
	abuse   *AbuseIPDB
	abuseBL blacklistSource
}

// blacklistSource says where Open found the AbuseIPDB blacklist settings,
// for RefreshBlacklist.
type blacklistSource struct {
	path   string
	maxAge time.Duration
	query  BlacklistQuery
}

// NewEnricher returns an Enricher over ready sources.
func NewEnricher(opts Options) *Enricher {
	if opts.Cache == nil {
		opts.Cache = NewMemoryCache(100_000, opts.Now)
	}
	if opts.TTL <= 0 {
		opts.TTL = 6 * time.Hour
	}
	if opts.RetryTTL <= 0 {
		opts.RetryTTL = 10 * time.Minute
	}
	if opts.Concurrency <= 0 {
		opts.Concurrency = 16
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	return &Enricher{opts: opts, log: opts.Logger.With("component", "ipintel")}
}

// SourceNames returns the names of the configured sources, in precedence order.
func (e *Enricher) SourceNames() []string {
	names := make([]string, 0, len(e.opts.Sources)+1)
	for _, s := range e.opts.Sources {
		names = append(names, s.Name())
	}
	if e.opts.DataCenters != nil {
		names = append(names, "datacenter_asns")
	}
	return names
}

// Enrich returns one record per address, in the order given (duplicates
// get equal records and are looked up once). Addresses earlier in the slice
// are started first, so when a quota runs out the most important addresses
// should come first.
//
// progress, when not nil, is called after each distinct address with the
// number done and the number of distinct addresses; calls are serialised.
//
// A source that cannot answer does not fail the batch: the record names it
// in NotEnriched. The error is non-nil when ctx ends (records are then nil)
// or when a source reports a configuration problem such as an invalid API
// key; in that case the records are still complete otherwise.
func (e *Enricher) Enrich(ctx context.Context, addrs []netip.Addr, progress func(done, total int)) ([]Record, error) {
	index := make(map[netip.Addr]int, len(addrs))
	var uniq []netip.Addr
	for _, a := range addrs {
		a = a.Unmap()
		if _, ok := index[a]; !ok {
			index[a] = len(uniq)
			uniq = append(uniq, a)
		}
	}
	recs := make([]Record, len(uniq))
	var (
		mu       sync.Mutex
		done     int
		fatalErr error
		wg       sync.WaitGroup
		next     = make(chan int)
	)
	for range min(e.opts.Concurrency, len(uniq)) {
		wg.Go(func() {
			for i := range next {
				rec, fatal := e.enrichOne(ctx, uniq[i])
				recs[i] = rec
				mu.Lock()
				if fatal != nil && fatalErr == nil {
					fatalErr = fatal
				}
				done++
				if progress != nil {
					progress(done, len(uniq))
				}
				mu.Unlock()
			}
		})
	}
feed:
	for i := range uniq {
		select {
		case next <- i:
		case <-ctx.Done():
			break feed
		}
	}
	close(next)
	wg.Wait()
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	out := make([]Record, len(addrs))
	for i, a := range addrs {
		r := recs[index[a.Unmap()]]
		if i != index[a.Unmap()] {
			r.Hostnames = slices.Clone(r.Hostnames)
			r.Sources = slices.Clone(r.Sources)
			r.NotEnriched = cloneReasons(r.NotEnriched)
		}
		out[i] = r
	}
	return out, fatalErr
}

// enrichOne assembles the record of one address; fatal is a configuration
// error worth surfacing to the caller.
func (e *Enricher) enrichOne(ctx context.Context, addr netip.Addr) (rec Record, fatal error) {
	if cached, ok, err := e.opts.Cache.Get(ctx, addr); err != nil {
		e.log.Warn("ipintel cache get", "ip", addr, "err", err)
	} else if ok {
		return cached, nil
	}
	rec = Record{IP: addr, IsPublic: IsPublic(addr), FetchedAt: e.opts.Now().UTC(), Sources: []string{}}
	transient := false
	for _, name := range e.opts.Disabled {
		e.notEnriched(&rec, name, ReasonDisabled)
	}
	for _, src := range e.opts.Sources {
		part, err := src.Lookup(ctx, addr)
		if err == nil || !errors.Is(err, ErrNotFound) {
			names := part.Sources
			if len(names) == 0 && err == nil {
				names = []string{src.Name()}
			}
			mergeInto(&rec, part)
			rec.Sources = append(rec.Sources, names...)
		}
		if err == nil {
			continue
		}
		reason, failed := reasonFor(ctx, err)
		if !failed {
			continue
		}
		e.notEnriched(&rec, src.Name(), reason)
		transient = transient || reason.Transient()
		switch reason {
		case ReasonInvalidAPIKey:
			if fatal == nil {
				fatal = err
			}
		case ReasonError:
			e.log.Warn("ipintel lookup failed", "source", src.Name(), "ip", addr, "err", err)
		}
	}
	if provider, ok := e.opts.DataCenters.Provider(rec.ASN); ok && rec.ASN != 0 {
		if rec.UsageType == "" {
			rec.UsageType = UsageDataCenter
		}
		fill(&rec.ASOrg, provider)
		rec.Sources = append(rec.Sources, "datacenter_asns")
	}
	if ctx.Err() != nil {
		return rec, fatal
	}
	ttl := e.opts.TTL
	if transient {
		ttl = e.opts.RetryTTL
	}
	if err := e.opts.Cache.Put(ctx, rec, e.opts.Now().Add(ttl)); err != nil {
		e.log.Warn("ipintel cache put", "ip", addr, "err", err)
	}
	return rec, fatal
}

func (e *Enricher) notEnriched(rec *Record, source string, reason Reason) {
	if rec.NotEnriched == nil {
		rec.NotEnriched = make(map[string]Reason)
	}
	rec.NotEnriched[source] = reason
}

// RefreshBlacklist pulls the AbuseIPDB blacklist if the stored copy is older
// than configured and installs it. It does nothing without AbuseIPDB or a
// blacklist path. Each pull spends one of the few daily blacklist calls, so
// call it on a schedule, not per batch.
func (e *Enricher) RefreshBlacklist(ctx context.Context) error {
	if e.abuse == nil || e.abuseBL.path == "" {
		return nil
	}
	bl, err := e.abuse.RefreshBlacklist(ctx, e.abuseBL.path, e.abuseBL.maxAge, e.abuseBL.query)
	if bl != nil {
		e.abuse.SetBlacklist(bl)
	}
	return err
}

// Close releases the files Open opened.
func (e *Enricher) Close() error {
	var errs []error
	for _, c := range e.closers {
		errs = append(errs, c())
	}
	e.closers = nil
	return errors.Join(errs...)
}
