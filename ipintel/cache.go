package ipintel

import (
	"context"
	"net/netip"
	"sync"
	"time"
)

// Cache stores enriched records by address. The Enricher consults it before
// asking any source and stores every record it assembles, so an
// implementation backed by the state store makes enrichment survive
// restarts. Implementations must be safe for concurrent use.
type Cache interface {
	// Get returns the record for addr if one is stored and has not expired
	// at the time of the call; ok is false otherwise. A miss is not an
	// error. The caller may modify the returned record.
	Get(ctx context.Context, addr netip.Addr) (rec Record, ok bool, err error)
	// Put stores rec under rec.IP until expires, replacing any older record.
	Put(ctx context.Context, rec Record, expires time.Time) error
}

// MemoryCache is an in-memory Cache with per-record expiry and a bound on
// the number of records.
type MemoryCache struct {
	c *ttlCache[Record]
}

var _ Cache = (*MemoryCache)(nil)

// NewMemoryCache returns a cache holding at most maxEntries records (10,000
// when maxEntries ≤ 0); now is the clock (time.Now when nil).
func NewMemoryCache(maxEntries int, now func() time.Time) *MemoryCache {
	return &MemoryCache{c: newTTLCache[Record](maxEntries, now)}
}

// Get implements Cache.
func (m *MemoryCache) Get(_ context.Context, addr netip.Addr) (Record, bool, error) {
	rec, ok := m.c.get(addr)
	if ok {
		rec.Hostnames = append([]string(nil), rec.Hostnames...)
		rec.Sources = append([]string(nil), rec.Sources...)
		rec.NotEnriched = cloneReasons(rec.NotEnriched)
	}
	return rec, ok, nil
}

// Put implements Cache.
func (m *MemoryCache) Put(_ context.Context, rec Record, expires time.Time) error {
	m.c.put(rec.IP, rec, expires)
	return nil
}

// Len returns the number of stored records, expired ones included until
// they are swept.
func (m *MemoryCache) Len() int { return m.c.len() }

func cloneReasons(m map[string]Reason) map[string]Reason {
	if m == nil {
		return nil
	}
	out := make(map[string]Reason, len(m))
	for k, v := range m {
		out[k] = v
	}
	return out
}

// ttlCache is a bounded map from address to value with per-entry expiry.
// When full it first sweeps expired entries, then evicts arbitrary ones:
// entries are cheap to recompute, and the bound matters more than the
// choice.
type ttlCache[V any] struct {
	mu      sync.Mutex
	max     int
	now     func() time.Time
	entries map[netip.Addr]ttlEntry[V]
}

type ttlEntry[V any] struct {
	v       V
	expires time.Time
}

func newTTLCache[V any](max int, now func() time.Time) *ttlCache[V] {
	if max <= 0 {
		max = 10_000
	}
	if now == nil {
		now = time.Now
	}
	return &ttlCache[V]{max: max, now: now, entries: make(map[netip.Addr]ttlEntry[V])}
}

func (c *ttlCache[V]) get(addr netip.Addr) (V, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.entries[addr]
	if !ok || !c.now().Before(e.expires) {
		var zero V
		return zero, false
	}
	return e.v, true
}

func (c *ttlCache[V]) put(addr netip.Addr, v V, expires time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if _, ok := c.entries[addr]; !ok && len(c.entries) >= c.max {
		now := c.now()
		for k, e := range c.entries {
			if !now.Before(e.expires) {
				delete(c.entries, k)
			}
		}
		for k := range c.entries {
			if len(c.entries) < c.max {
				break
			}
			delete(c.entries, k)
		}
	}
	c.entries[addr] = ttlEntry[V]{v: v, expires: expires}
}

func (c *ttlCache[V]) len() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.entries)
}
