package exclude

import (
	"sync"
	"time"

	"github.com/tracehound/tracehound/alert"
)

// MemoryBaselines is a BaselineCache in memory: at most max replays, each
// kept for ttl. It is safe for concurrent use.
type MemoryBaselines struct {
	max int
	ttl time.Duration
	now func() time.Time

	mu      sync.Mutex
	entries map[string]baselineEntry
}

type baselineEntry struct {
	res alert.BacktestResult
	at  time.Time
}

// NewMemoryBaselines returns an empty cache; now is its clock (nil:
// time.Now).
func NewMemoryBaselines(max int, ttl time.Duration, now func() time.Time) *MemoryBaselines {
	if now == nil {
		now = time.Now
	}
	return &MemoryBaselines{max: max, ttl: ttl, now: now, entries: map[string]baselineEntry{}}
}

// Get implements BaselineCache.
func (c *MemoryBaselines) Get(key string) (alert.BacktestResult, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.entries[key]
	if !ok || c.now().Sub(e.at) > c.ttl {
		delete(c.entries, key)
		return alert.BacktestResult{}, false
	}
	return e.res, true
}

// Put implements BaselineCache. When full it drops the oldest entry.
func (c *MemoryBaselines) Put(key string, r alert.BacktestResult) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if _, ok := c.entries[key]; !ok && len(c.entries) >= c.max {
		var oldest string
		var at time.Time
		for k, e := range c.entries {
			if oldest == "" || e.at.Before(at) {
				oldest, at = k, e.at
			}
		}
		delete(c.entries, oldest)
	}
	c.entries[key] = baselineEntry{res: r, at: c.now()}
}
