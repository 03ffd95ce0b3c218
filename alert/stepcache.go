package alert

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"slices"
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

	mu       sync.Mutex
	entries  map[string]*stepEntry
	bytes    int64
	tick     uint64
	gen      uint64 // counts the entries put and dropped
	onResize func(bytes int64)
}

// stepEntry is the rows of consecutive steps of one rule, compact: each
// distinct row once, as its values, and each step as indexes into them.
type stepEntry struct {
	first   time.Time
	step    time.Duration
	shape   rowShape
	vals    table         // the distinct rows' values, in shape.columns' order
	steps   [][]int32     // each step's rows, as indexes into vals
	perStep time.Duration // what a step took to compute, on average
	// lookback is the furthest before its time a step's reads reach
	// (sqlguard.Bounded).
	lookback time.Duration
	method   string
	mark     uint64 // the store's mark before the rows were read
	used     uint64
	bytes    int64
	// results are backtests whose every step came from the entry, by
	// resultKey: replaying the state machine again would give them.
	results map[string]*BacktestResult
	key     string // the entry's key in the cache
}

// rowShape is the columns of a rule's rows and which are labels.
type rowShape struct {
	columns []string
	label   []bool
}

// NewStepCache returns a cache of evaluations of rules over the spans of
// a store that changes tells about, holding about maxBytes of rows.
func NewStepCache(changes store.ChangeTracker, maxBytes int64) *StepCache {
	return &StepCache{changes: changes, maxBytes: maxBytes, entries: map[string]*stepEntry{}}
}

// OnResize has fn called with the cache's size, in bytes, each time it
// changes; fn runs with the cache locked and must not use it.
func (c *StepCache) OnResize(fn func(bytes int64)) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.onResize = fn
	c.resized()
}

func (c *StepCache) resized() {
	if c.onResize != nil {
		c.onResize(c.bytes)
	}
}

// Generation returns a count that changes each time an entry is put in
// the cache or dropped from it: a saved copy whose generation is the
// cache's holds what the cache holds.
func (c *StepCache) Generation() uint64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.gen
}

// stepKey identifies the evaluations of rule, replayed as replayed with
// args at step: whatever shapes its rows, their labels and their memo.
func stepKey(rule, replayed *Rule, args []any, step time.Duration) string {
	def, _ := json.Marshal([]any{rule.ID, rule.SQL, rule.Severity, rule.Labels, rule.Annotations, rule.Limit, rule.GroupBy,
		replayed.SQL, args, step})
	h := sha256.Sum256(def)
	return hex.EncodeToString(h[:])
}

// resultKey identifies what a backtest's state machine makes of its
// steps' rows: the steps and the rule's timing.
func resultKey(r *Rule, steps []time.Time, opts BacktestOptions) string {
	k, _ := json.Marshal([]any{steps[0], steps[len(steps)-1], len(steps), r.For, r.KeepFiringFor, r.Interval, r.Mode, opts.IncidentStart})
	return string(k)
}

// cachedReplay evaluates r at steps like replay, taking what c holds and
// keeping what it computes; it returns every step's rows, or, when the
// cache holds the backtest of them under resultKey rk, that. ok is false,
// with nothing done, when r's rows cannot be kept (see StepCache).
func (c *StepCache) cachedReplay(ctx context.Context, q store.Querier, rule, r *Rule, steps []time.Time, opts BacktestOptions, rk string) (res cachedRows, ok bool, err error) {
	lookback, bounded := sqlguard.Bounded(r.SQL)
	if !bounded || len(steps) == 0 {
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
	if opts.KeepValues == nil {
		if e, kept := c.result(key, rk, steps); kept != nil {
			return cachedRows{result: kept}, true, nil
		} else if e != nil {
			res.keep = func(b BacktestResult) { c.keepResult(e, rk, b) }
		}
	}
	res.rows = make([][]Row, len(steps))
	lo, hi, perStep, method := c.lookup(key, steps, opts.Step, res.rows, opts.KeepValues)
	if opts.CachedOnly && hi-lo < len(steps) {
		return cachedRows{}, true, ErrNotCached
	}
	if hi-lo < len(steps) {
		res.keep = nil // the state machine runs over rows the entry lacks
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
	if computed > 0 && opts.KeepValues == nil { // with KeepValues, the cached steps' rows are only those kept
		rows, cost, method := res.rows, res.cost, res.method
		res.keep = func(b BacktestResult) {
			// The rows are kept once the state machine has run over them
			// (it fills their memos).
			e, ok := encodeSteps(rows)
			if !ok {
				return
			}
			e.first, e.step, e.perStep, e.method, e.mark = steps[0], opts.Step, cost/time.Duration(len(steps)), method, mark
			e.lookback = lookback
			e.results = map[string]*BacktestResult{rk: &b}
			// Steps other than the rule's interval (a backtest at finer
			// steps) are kept only where they fit: a week of 1-minute
			// steps of a busy rule would push out the baselines every
			// dry run reads.
			c.put(key, e, opts.Step == rule.Interval)
		}
	}
	return res, true, nil
}

// result returns the entry under key when it holds every step of steps
// still valid, and the backtest of them it keeps under rk, if any.
func (c *StepCache) result(key, rk string, steps []time.Time) (*stepEntry, *BacktestResult) {
	c.mu.Lock()
	defer c.mu.Unlock()
	e := c.entries[key]
	if e == nil || steps[0].Before(e.first) || steps[0].Sub(e.first)%e.step != 0 {
		return nil, nil
	}
	last := int(steps[len(steps)-1].Sub(e.first) / e.step)
	if last >= c.valid(e) {
		return nil, nil
	}
	c.tick++
	e.used = c.tick
	return e, e.results[rk]
}

// keepResult keeps b, a backtest of steps all taken from e, under rk,
// unless e has left the cache meanwhile.
func (c *StepCache) keepResult(e *stepEntry, rk string, b BacktestResult) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.entries[e.key] != e {
		return
	}
	if len(e.results) >= maxResults {
		c.bytes -= resultsBytes(e.results)
		e.bytes -= resultsBytes(e.results)
		clear(e.results)
	}
	if e.results == nil {
		e.results = map[string]*BacktestResult{}
	}
	e.results[rk] = &b
	c.bytes += resultBytes(&b)
	e.bytes += resultBytes(&b)
	c.evict(e)
	c.resized()
}

// resultsBytes estimates the memory of an entry's backtests.
func resultsBytes(rs map[string]*BacktestResult) int64 {
	var n int64
	for _, r := range rs {
		n += resultBytes(r)
	}
	return n
}

// resultBytes estimates the memory of a backtest's result: its firings'
// labels, annotations and values.
func resultBytes(b *BacktestResult) int64 {
	n := int64(256 + 48*len(b.PerDay))
	for _, f := range b.Firings {
		n += 256 + 64*int64(len(f.Labels)+len(f.Annotations)+len(f.Values))
		for _, a := range f.Annotations {
			n += int64(len(a))
		}
	}
	return n
}

// maxResults bounds the backtests an entry keeps: those of the windows
// the last few dry runs and backtests replayed.
const maxResults = 8

// cachedRows is what cachedReplay returns.
type cachedRows struct {
	rows    [][]Row
	cached  int // steps taken from the cache
	queries int
	method  string
	reason  string
	cost    time.Duration // what every step took, the cached ones when they were computed
	// keep, when set, is called with the backtest of the rows once the
	// state machine has run over them: it keeps what the cache lacks.
	keep func(BacktestResult)
	// result, when set, is the backtest of every step, from the cache.
	result *BacktestResult
}

// lookup copies into out the rows c holds, still valid, for steps
// evenly spaced by step, and returns which: out[lo:hi].
func (c *StepCache) lookup(key string, steps []time.Time, step time.Duration, out [][]Row, keep map[string]map[string]bool) (lo, hi int, perStep time.Duration, method string) {
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
	// Each distinct row is rebuilt once and shared by its steps, with a
	// memo of its labels for the state machine, as a sliding replay's;
	// the rows of one instance share their Labels. Columns and Values
	// are built only for the rows the state machine reports (lazy).
	// With keep, only the rows it keeps are rebuilt.
	built := make([]Row, e.vals.n)
	state := make([]int8, e.vals.n) // 0 unseen, 1 built, -1 not kept
	groups := map[string]*groupMemo{}
	var gkey []byte
	for i := lo; i < hi; i++ {
		idx := e.steps[offset+i]
		rows := make([]Row, 0, len(idx))
		for _, k := range idx {
			if state[k] == 0 {
				state[k] = -1
				if keep == nil || e.shape.keeps(keep, e.vals.row(int(k))) {
					gkey = gkey[:0]
					for c, isLabel := range e.shape.label {
						if isLabel {
							gkey = append(append(gkey, LabelValue(e.vals.value(c, int(k)))...), 0)
						}
					}
					g := groups[string(gkey)]
					if g == nil {
						g = &groupMemo{labels: e.labels(int(k))}
						groups[string(gkey)] = g
					}
					built[k] = Row{Labels: g.labels, memo: &rowMemo{group: g, from: e, idx: k}}
					state[k] = 1
				}
			}
			if state[k] == 1 {
				rows = append(rows, built[k])
			}
		}
		out[i] = rows
	}
	return lo, hi, e.perStep, e.method
}

// labels returns the identity labels of e's row k.
func (e *stepEntry) labels(k int) map[string]string {
	labels := map[string]string{}
	for c, isLabel := range e.shape.label {
		if isLabel {
			labels[e.shape.columns[c]] = LabelValue(e.vals.value(c, k))
		}
	}
	return labels
}

// put keeps e under key, dropping the least recently used entries past
// the cache's size; unless evicts, only if e fits without.
func (c *StepCache) put(key string, e *stepEntry, evicts bool) {
	e.key = key
	results := resultsBytes(e.results)
	e.bytes = e.size() + results
	if e.bytes > c.maxBytes {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	old := c.entries[key]
	room := c.maxBytes - c.bytes // what e may take without evicting others
	if old != nil {
		room += old.bytes
	}
	if !evicts && e.bytes > room {
		return
	}
	if old != nil {
		c.drop(key, old)
		if m := c.merge(old, e); m != e {
			// e's backtests hold for m, which has e's steps.
			m.key, m.results = key, e.results
			if m.bytes = m.size() + results; m.bytes <= c.maxBytes && (evicts || m.bytes <= room) {
				e = m
			}
		}
	}
	c.tick++
	e.used = c.tick
	c.entries[key] = e
	c.bytes += e.bytes
	c.gen++
	c.evict(e)
	c.resized()
}

// evict drops the least recently used entries but keep while the cache
// holds more than its size.
func (c *StepCache) evict(keep *stepEntry) {
	for c.bytes > c.maxBytes {
		var lruKey string
		var lru *stepEntry
		for k, x := range c.entries {
			if x != keep && (lru == nil || x.used < lru.used) {
				lruKey, lru = k, x
			}
		}
		if lru == nil {
			return
		}
		c.drop(lruKey, lru)
	}
}

// valid returns how many of e's first steps still hold: those before the
// earliest span written since e was computed; none when spans its steps
// read were deleted since (retention deletes spans far older than a
// cached step reads).
func (c *StepCache) valid(e *stepEntry) int {
	ch := c.changes.ChangedSince(e.mark)
	if ch.Unknown || !ch.DeletedBefore.IsZero() && e.first.Add(-e.lookback).Before(ch.DeletedBefore) {
		return 0
	}
	if !ch.Written {
		return len(e.steps)
	}
	n := 0
	for n < len(e.steps) && e.first.Add(time.Duration(n)*e.step).Before(ch.WrittenFrom) {
		n++
	}
	return n
}

// maxEntrySteps bounds the steps an entry holds when merging: a week of
// one-minute steps, or the last replay's if it had more.
const maxEntrySteps = 7 * 24 * 60

// merge returns the union of old's valid steps and e's when they overlap
// or meet, e's rows winning, without old's steps past maxEntrySteps
// (earliest first); else e. Entries of backtests over different windows
// (a dry run of a day, and one of a week) then keep each other's steps.
func (c *StepCache) merge(old, e *stepEntry) *stepEntry {
	valid := c.valid(old)
	step := e.step
	if valid == 0 || old.step != step || old.first.Sub(e.first)%step != 0 || !slices.Equal(old.shape.columns, e.shape.columns) ||
		!slices.Equal(old.shape.label, e.shape.label) {
		return e
	}
	oldEnd, newEnd := old.first.Add(time.Duration(valid)*step), e.first.Add(time.Duration(len(e.steps))*step)
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
	// Past the limit, old's earliest steps go first, then its latest:
	// e's steps always stay.
	if limit := time.Duration(max(maxEntrySteps, len(e.steps))) * step; end.Sub(first) > limit {
		first = end.Add(-limit)
		if first.After(e.first) {
			first, end = e.first, e.first.Add(limit)
		}
	}
	m := &stepEntry{first: first, step: step, shape: e.shape, steps: make([][]int32, end.Sub(first)/step), method: e.method, mark: e.mark,
		lookback: max(old.lookback, e.lookback)}
	// e's rows, then the old rows that steps kept from old still use.
	var vals [][]any
	at := int(e.first.Sub(first) / step)
	copy(m.steps[at:], e.steps)
	moved := map[int32]int32{}
	for i := range valid {
		j := int(old.first.Sub(first)/step) + i
		if j < 0 || j >= len(m.steps) || m.steps[j] != nil || j >= at && j < at+len(e.steps) {
			continue
		}
		idx := make([]int32, len(old.steps[i]))
		for x, k := range old.steps[i] {
			n, ok := moved[k]
			if !ok {
				n = int32(e.vals.n + len(vals))
				vals = append(vals, old.vals.row(int(k)))
				moved[k] = n
			}
			idx[x] = n
		}
		m.steps[j] = idx
	}
	var ok bool
	if m.vals, ok = e.vals.appended(vals); !ok {
		all := make([][]any, 0, e.vals.n+len(vals))
		for k := range e.vals.n {
			all = append(all, e.vals.row(k))
		}
		m.vals = newTable(append(all, vals...), len(e.shape.columns))
	}
	m.perStep = (old.perStep*time.Duration(len(m.steps)-len(e.steps)) + e.perStep*time.Duration(len(e.steps))) / time.Duration(len(m.steps))
	return m
}

func (c *StepCache) drop(key string, e *stepEntry) {
	delete(c.entries, key)
	c.gen++
	c.bytes -= e.bytes
	c.resized()
}

// encodeSteps returns the compact form of steps' rows; ok is false when
// a row does not fit it (rows of other columns or labels than the first
// row's, or a label that is not its value's text), which no SQL rule's
// rows do.
//
// Rows read from an entry (their memo says which) keep their index in it
// when most of its rows are still used: the new entry's values are that
// entry's with the other rows' appended, instead of encoding every row
// again when a replay adds a few steps to what the cache held.
func encodeSteps(steps [][]Row) (e *stepEntry, ok bool) {
	if base := baseEntry(steps); base != nil {
		if e, ok := encodeRows(steps, base); ok {
			return e, true
		}
	}
	return encodeRows(steps, nil)
}

// baseEntry returns the entry the first row read from a cache entry was
// read from; nil when no row was.
func baseEntry(steps [][]Row) *stepEntry {
	for _, rows := range steps {
		for _, r := range rows {
			if r.memo != nil && r.memo.from != nil {
				return r.memo.from
			}
		}
	}
	return nil
}

// encodeRows encodes steps, onto base's values when base is set: the
// rows read from base keep their index, the others are appended. With
// base, ok is also false when a row does not fit base's shape or fewer
// than half of base's rows are still used (a full encoding then leaves
// the others out).
func encodeRows(steps [][]Row, base *stepEntry) (*stepEntry, bool) {
	e := &stepEntry{steps: make([][]int32, len(steps))}
	shaped, offset := false, 0
	var used []bool
	inUse := 0
	if base != nil {
		e.shape, shaped, offset = base.shape, true, base.vals.n
		used = make([]bool, base.vals.n)
	}
	memos := map[*rowMemo]int32{}
	same := map[string]int32{}
	var distinct [][]any
	var key []byte
	for i, rows := range steps {
		if len(rows) == 0 {
			continue
		}
		idx := make([]int32, len(rows))
		for j, r := range rows {
			if !shaped {
				e.shape, shaped = shapeOf(r), true
			}
			if base != nil && r.memo != nil && r.memo.from == base {
				idx[j] = r.memo.idx
				if !used[r.memo.idx] {
					used[r.memo.idx] = true
					inUse++
				}
				continue
			}
			if r.memo != nil {
				if k, ok := memos[r.memo]; ok {
					idx[j] = k
					continue
				}
			}
			vals, ok := e.shape.values(r)
			if !ok {
				return nil, false
			}
			if r.memo != nil && r.memo.src != nil {
				// A sliding replay's row holds from one change point of
				// its group to the next: its memo is its identity.
				k := int32(offset + len(distinct))
				distinct = append(distinct, vals)
				memos[r.memo] = k
				idx[j] = k
				continue
			}
			// Rows that are equal across steps (a batched replay's) are
			// kept once.
			key = key[:0]
			for _, v := range vals {
				key = fmt.Appendf(key, "%T\x00%v\x00", v, v)
			}
			k, ok := same[string(key)]
			if !ok {
				k = int32(offset + len(distinct))
				distinct = append(distinct, vals)
				same[string(key)] = k
			}
			if r.memo != nil {
				memos[r.memo] = k
			}
			idx[j] = k
		}
		e.steps[i] = idx
	}
	if base == nil {
		e.vals = newTable(distinct, len(e.shape.columns))
		return e, true
	}
	if 2*inUse < base.vals.n {
		return nil, false
	}
	vals, ok := base.vals.appended(distinct)
	if !ok {
		return nil, false
	}
	e.vals = vals
	return e, true
}

// table holds rows' values column by column, typed where every value of
// a column has one type: an int64 then takes 8 bytes, not an interface
// and a boxed value.
type table struct {
	n    int
	cols []valueColumn
}

// valueColumn is one column of a table: ints, floats or strs when every
// value is of that type (or nil, marked in null), else anys.
type valueColumn struct {
	ints []int64
	flts []float64
	strs []string
	null []bool
	anys []any
}

func newTable(rows [][]any, width int) table {
	t := table{n: len(rows), cols: make([]valueColumn, width)}
	for i := range t.cols {
		c := &t.cols[i]
		kind := ""
		hasNull := false
		for _, r := range rows {
			k := ""
			switch r[i].(type) {
			case nil:
				hasNull = true
				continue
			case int64:
				k = "int"
			case float64:
				k = "float"
			case string:
				k = "string"
			default:
				k = "any"
			}
			if kind == "" {
				kind = k
			} else if kind != k {
				kind = "any"
			}
		}
		if hasNull && kind != "any" && kind != "" {
			c.null = make([]bool, len(rows))
		}
		switch kind {
		case "int":
			c.ints = make([]int64, len(rows))
		case "float":
			c.flts = make([]float64, len(rows))
		case "string":
			c.strs = make([]string, len(rows))
		default:
			c.anys = make([]any, len(rows))
		}
		for k, r := range rows {
			switch v := r[i]; {
			case c.anys != nil:
				c.anys[k] = v
			case v == nil:
				c.null[k] = true
			case c.ints != nil:
				c.ints[k] = v.(int64)
			case c.flts != nil:
				c.flts[k] = v.(float64)
			default:
				c.strs[k] = v.(string)
			}
		}
	}
	return t
}

// appended returns a table of t's rows and then rows, sharing nothing
// with t; ok is false when a value of rows does not fit its typed column.
func (t *table) appended(rows [][]any) (table, bool) {
	n := t.n + len(rows)
	out := table{n: n, cols: make([]valueColumn, len(t.cols))}
	for i := range t.cols {
		c, o := &t.cols[i], &out.cols[i]
		nulls := c.null != nil
		for _, r := range rows {
			v := r[i]
			switch {
			case c.anys != nil:
			case v == nil:
				nulls = true
			case c.ints != nil:
				if _, ok := v.(int64); !ok {
					return table{}, false
				}
			case c.flts != nil:
				if _, ok := v.(float64); !ok {
					return table{}, false
				}
			case c.strs != nil:
				if _, ok := v.(string); !ok {
					return table{}, false
				}
			default:
				return table{}, false
			}
		}
		switch {
		case c.anys != nil:
			o.anys = append(make([]any, 0, n), c.anys...)
			for _, r := range rows {
				o.anys = append(o.anys, r[i])
			}
			continue
		case c.ints != nil:
			o.ints = append(make([]int64, 0, n), c.ints...)
		case c.flts != nil:
			o.flts = append(make([]float64, 0, n), c.flts...)
		default:
			o.strs = append(make([]string, 0, n), c.strs...)
		}
		if nulls {
			o.null = make([]bool, n)
			copy(o.null, c.null)
		}
		for k, r := range rows {
			switch v := r[i].(type) {
			case nil:
				o.null[t.n+k] = true
				o.ints, o.flts, o.strs = growZero(o.ints), growZero(o.flts), growZero(o.strs)
			case int64:
				o.ints = append(o.ints, v)
			case float64:
				o.flts = append(o.flts, v)
			case string:
				o.strs = append(o.strs, v)
			}
		}
	}
	return out, true
}

// growZero appends a zero value to a column in use (not nil).
func growZero[T any](s []T) []T {
	if s == nil {
		return nil
	}
	var zero T
	return append(s, zero)
}

// row returns the values of row k.
func (t *table) row(k int) []any {
	vals := make([]any, len(t.cols))
	for i := range t.cols {
		vals[i] = t.value(i, k)
	}
	return vals
}

// value returns column i's value in row k.
func (t *table) value(i, k int) any {
	c := &t.cols[i]
	switch {
	case c.anys != nil:
		return c.anys[k]
	case c.null != nil && c.null[k]:
		return nil
	case c.ints != nil:
		return c.ints[k]
	case c.flts != nil:
		return c.flts[k]
	default:
		return c.strs[k]
	}
}

// shapeOf returns r's columns, in name order, and which are labels.
func shapeOf(r Row) rowShape {
	var s rowShape
	for c := range r.cols() {
		s.columns = append(s.columns, c)
	}
	slices.Sort(s.columns)
	for _, c := range s.columns {
		_, isLabel := r.Labels[c]
		s.label = append(s.label, isLabel)
	}
	return s
}

// values returns r's values in s's order; ok is false when row would not
// rebuild r.
func (s rowShape) values(r Row) ([]any, bool) {
	if m := r.memo; r.lazy() && m.src != nil {
		// A sliding replay's row: its values as they came, without
		// building its maps.
		if len(m.srcColumns) != len(s.columns) {
			return nil, false
		}
		vals := make([]any, len(s.columns))
		for i, c := range s.columns {
			j := slices.Index(m.srcColumns, c)
			if j < 0 || m.srcIdent[j] != s.label[i] {
				return nil, false
			}
			vals[i] = m.src[j]
		}
		return vals, true
	}
	columns, values := r.cols(), r.vals()
	if len(columns) != len(s.columns) || len(r.Labels)+len(values) != len(s.columns) {
		return nil, false
	}
	vals := make([]any, len(s.columns))
	for i, c := range s.columns {
		v, ok := columns[c]
		if !ok {
			return nil, false
		}
		if s.label[i] {
			if l, ok := r.Labels[c]; !ok || l != LabelValue(v) {
				return nil, false
			}
		} else if _, ok := values[c]; !ok {
			return nil, false
		}
		vals[i] = v
	}
	return vals, true
}

// keeps reports whether the row of vals has, for each column of keep, a
// value whose text is in its set (see keepRow).
func (s rowShape) keeps(keep map[string]map[string]bool, vals []any) bool {
	for c, set := range keep {
		i, found := slices.BinarySearch(s.columns, c)
		if !found || vals[i] == nil || !set[fmt.Sprint(vals[i])] {
			return false
		}
	}
	return true
}

// size estimates e's memory: its distinct rows' values and each step's
// indexes.
func (e *stepEntry) size() int64 {
	n := int64(64)
	for _, c := range e.vals.cols {
		n += 8*int64(len(c.ints)+len(c.flts)) + 16*int64(len(c.strs)+len(c.anys)) + int64(len(c.null))
		for _, v := range c.anys {
			switch x := v.(type) {
			case string:
				n += 16 + int64(len(x))
			case nil, bool:
			default:
				n += 8
			}
		}
		for _, x := range c.strs {
			n += int64(len(x)) // often shared with other rows; counted anyway
		}
	}
	for _, idx := range e.steps {
		n += 24 + 4*int64(len(idx))
	}
	return n
}
