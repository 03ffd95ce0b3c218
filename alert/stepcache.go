package alert

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"sync"
	"time"

	"github.com/tracehound/tracehound/sqlguard"
	"github.com/tracehound/tracehound/store"
)

// StepCache keeps the rows of backtests' evaluations, by rule and step,
// so that a later backtest of the same rule evaluates only the steps it
// lacks or whose spans changed since: an exclusion's dry run an hour
// after the last one replays an hour of steps, not a week.
//
// A step's rows are kept only for a rule whose every read of traces is
// bounded by now() (sqlguard.Bounded): its rows at time t depend on no
// span after t, so a write whose earliest span started at e changes the
// steps from e on and none before. The store tells which times its
// writes touched (store.ChangeTracker).
//
// It is safe for concurrent use.
type StepCache struct {
	changes  store.ChangeTracker
	maxBytes int64

	mu      sync.Mutex
	entries map[string]*stepEntry
	bytes   int64
	tick    uint64
}

// stepEntry is the rows of consecutive steps of one rule.
type stepEntry struct {
	first   time.Time
	step    time.Duration
	rows    [][]Row
	perStep time.Duration // what a step took to compute, on average
	method  string
	mark    uint64 // the store's mark before the rows were read
	used    uint64
	bytes   int64
}

// NewStepCache returns a cache of evaluations of rules over the spans of
// a store that changes tells about, holding about maxBytes of rows.
func NewStepCache(changes store.ChangeTracker, maxBytes int64) *StepCache {
	return &StepCache{changes: changes, maxBytes: maxBytes, entries: map[string]*stepEntry{}}
}

// stepKey identifies the evaluations of rule, replayed as replayed with
// args at step: whatever shapes its rows, their labels and their memo.
func stepKey(rule, replayed *Rule, args []any, step time.Duration) string {
	def, _ := json.Marshal([]any{rule.ID, rule.SQL, rule.Severity, rule.Labels, rule.Annotations, rule.Limit, rule.GroupBy,
		replayed.SQL, args, step})
	h := sha256.Sum256(def)
	return hex.EncodeToString(h[:])
}

// cachedReplay evaluates r at steps like replay, taking what c holds and
// keeping what it computes; it returns every step's rows. ok is false,
// with nothing done, when r's rows cannot be kept (see StepCache).
func (c *StepCache) cachedReplay(ctx context.Context, q store.Querier, rule, r *Rule, steps []time.Time, opts BacktestOptions) (res cachedRows, ok bool, err error) {
	if _, bounded := sqlguard.Bounded(r.SQL); !bounded || len(steps) == 0 {
		return cachedRows{}, false, nil
	}
	var args []any
	if aq, isArgs := q.(argsQuerier); isArgs {
		args = aq.args
	}
	key := stepKey(rule, r, args, opts.Step)
	mark, err := c.changes.Mark(ctx) // before the lookup, which sees every change since the entry's
	if err != nil {
		return cachedRows{}, true, err
	}
	res.rows = make([][]Row, len(steps))
	lo, hi, perStep, method := c.lookup(key, steps, opts.Step, res.rows)
	if opts.CachedOnly && hi-lo < len(steps) {
		return cachedRows{}, true, ErrNotCached
	}
	res.cached, res.method = hi-lo, method
	res.cost = perStep * time.Duration(hi-lo)
	done := res.cached
	if opts.Progress != nil {
		opts.Progress(done, len(steps))
	}
	computed := 0
	for _, rg := range [][2]int{{0, lo}, {hi, len(steps)}} {
		sub := steps[rg[0]:rg[1]]
		if len(sub) == 0 {
			continue
		}
		o := opts
		if opts.Progress != nil {
			base := done
			o.Progress = func(d, _ int) { opts.Progress(base+d, len(steps)) }
		}
		start, i := time.Now(), rg[0]
		m, queries, reason, err := replay(ctx, q, r, sub, o, func(_ time.Time, rows []Row) error {
			res.rows[i] = rows
			i++
			return nil
		})
		res.queries += queries
		if reason != "" {
			res.reason = reason
		}
		if len(sub) > computed {
			res.method, computed = m, len(sub)
		}
		if err != nil {
			return res, true, err
		}
		res.cost += time.Since(start)
		done += len(sub)
	}
	res.store = func() {
		c.put(key, &stepEntry{first: steps[0], step: opts.Step, rows: res.rows, perStep: res.cost / time.Duration(len(steps)),
			method: res.method, mark: mark})
	}
	return res, true, nil
}

// cachedRows is what cachedReplay returns.
type cachedRows struct {
	rows    [][]Row
	cached  int // steps taken from the cache
	queries int
	method  string
	reason  string
	cost    time.Duration // what every step took, the cached ones when they were computed
	// store keeps rows; call it once the state machine has run over
	// them (it fills their memos).
	store func()
}

// lookup copies into out the rows c holds, still valid, for steps
// evenly spaced by step, and returns which: out[lo:hi].
func (c *StepCache) lookup(key string, steps []time.Time, step time.Duration, out [][]Row) (lo, hi int, perStep time.Duration, method string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	e := c.entries[key]
	if e == nil || e.step != step {
		return 0, 0, 0, ""
	}
	valid := c.valid(e)
	if valid == 0 {
		c.drop(key, e)
		return 0, 0, 0, ""
	}
	offset := int(steps[0].Sub(e.first) / step) // step i is entry step offset+i
	lo, hi = max(0, -offset), min(len(steps), valid-offset)
	if lo >= hi || !e.first.Add(time.Duration(offset)*step).Equal(steps[0]) {
		return 0, 0, 0, ""
	}
	c.tick++
	e.used = c.tick
	// Rows of a sliding replay share a memo of their labels across steps,
	// which the state machine fills: each backtest gets its own copies.
	memos := map[*rowMemo]*rowMemo{}
	for i := lo; i < hi; i++ {
		src := e.rows[offset+i]
		rows := make([]Row, len(src))
		for j, r := range src {
			if r.memo != nil {
				m, ok := memos[r.memo]
				if !ok {
					cp := *r.memo
					m = &cp
					memos[r.memo] = m
				}
				r.memo = m
			}
			rows[j] = r
		}
		out[i] = rows
	}
	return lo, hi, e.perStep, e.method
}

// put keeps e under key, dropping the least recently used entries past
// the cache's size.
func (c *StepCache) put(key string, e *stepEntry) {
	e.bytes = rowsBytes(e.rows)
	if e.bytes > c.maxBytes {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if old := c.entries[key]; old != nil {
		c.drop(key, old)
		if m := c.merge(old, e); m != e {
			if m.bytes = rowsBytes(m.rows); m.bytes <= c.maxBytes {
				e = m
			}
		}
	}
	for c.bytes+e.bytes > c.maxBytes {
		var lruKey string
		var lru *stepEntry
		for k, x := range c.entries {
			if lru == nil || x.used < lru.used {
				lruKey, lru = k, x
			}
		}
		c.drop(lruKey, lru)
	}
	c.tick++
	e.used = c.tick
	c.entries[key] = e
	c.bytes += e.bytes
}

// valid returns how many of e's first steps still hold: those before the
// earliest span written since e was computed.
func (c *StepCache) valid(e *stepEntry) int {
	earliest, changed := c.changes.ChangedSince(e.mark)
	if !changed {
		return len(e.rows)
	}
	n := 0
	for n < len(e.rows) && e.first.Add(time.Duration(n)*e.step).Before(earliest) {
		n++
	}
	return n
}

// maxEntrySteps bounds the steps an entry holds when merging: a week of
// one-minute steps, or the last replay's if it had more.
const maxEntrySteps = 7 * 24 * 60

// merge returns the union of old's valid steps and e's when they overlap
// or meet, e's rows winning, without old's earliest steps past
// maxEntrySteps; else e. Entries of backtests over different windows
// (a dry run of a day, and one of a week) then keep each other's steps.
func (c *StepCache) merge(old, e *stepEntry) *stepEntry {
	valid := c.valid(old)
	step := e.step
	if valid == 0 || old.step != step || old.first.Sub(e.first)%step != 0 {
		return e
	}
	oldEnd, newEnd := old.first.Add(time.Duration(valid)*step), e.first.Add(time.Duration(len(e.rows))*step)
	if oldEnd.Before(e.first) || newEnd.Before(old.first) {
		return e
	}
	first, end := e.first, newEnd
	if old.first.Before(first) {
		first = old.first
	}
	if oldEnd.After(end) {
		end = oldEnd
	}
	if n := int(end.Sub(first) / step); n > max(maxEntrySteps, len(e.rows)) {
		first = end.Add(-time.Duration(max(maxEntrySteps, len(e.rows))) * step)
	}
	m := &stepEntry{first: first, step: step, rows: make([][]Row, end.Sub(first)/step), method: e.method, mark: e.mark}
	for i := range valid {
		if j := int(old.first.Sub(first)/step) + i; j >= 0 && j < len(m.rows) {
			m.rows[j] = old.rows[i]
		}
	}
	at := int(e.first.Sub(first) / step)
	copy(m.rows[at:], e.rows)
	m.perStep = (old.perStep*time.Duration(len(m.rows)-len(e.rows)) + e.perStep*time.Duration(len(e.rows))) / time.Duration(len(m.rows))
	return m
}

func (c *StepCache) drop(key string, e *stepEntry) {
	delete(c.entries, key)
	c.bytes -= e.bytes
}

// rowsBytes estimates the memory of steps' rows: a reference per step
// and row, and each distinct row (the steps of a sliding replay share
// theirs) with its maps.
func rowsBytes(steps [][]Row) int64 {
	var n int64
	seen := map[*rowMemo]bool{}
	for _, rows := range steps {
		n += 24 + int64(len(rows))*32
		for _, r := range rows {
			if r.memo != nil {
				if seen[r.memo] {
					continue
				}
				seen[r.memo] = true
			}
			n += 256 + 96*int64(len(r.Columns))
		}
	}
	return n
}
