package alert

import (
	"context"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/tracehound/tracehound/sqlguard"
	"github.com/tracehound/tracehound/store"
)

// A readCache keeps, for each rule that looks back much further than its
// interval, a copy of the spans its reads of traces all require
// (sqlguard.Shared): the admin-endpoint rule reads a day of the rare
// requests to admin paths every few minutes, and then scans a day of
// spans to find them each time. With the cache, an evaluation reads the
// copy and only the spans newer than it from traces.
//
// The copy is in chunks of consecutive time ranges, each a table of the
// store's scratch space (store.Scratcher). An evaluation drops the chunks
// that slid out of the rule's reach and those a write changed since they
// were copied (store.ChangeTracker: a span ingested late, or a deletion),
// and copies a new chunk once the spans past the last one cover
// chunkSpan. So it reads the rows an uncached evaluation would,
// however late they arrive.
//
// A rule is cached when it looks back at least readCacheMinRatio intervals
// and readCacheMinLookback. One whose shared conditions keep more than
// readCacheMaxRows rows is not: its copy would cost more memory than its
// scan costs time.
//
// It is safe for concurrent use.
type readCache struct {
	scratch store.Scratcher
	changes store.ChangeTracker
	querier store.Querier

	mu      sync.Mutex
	columns map[string]bool // traces' columns, read once
	entries map[string]*readEntry
	rows    int64 // rows held by every entry
}

// readEntry is one rule's copy.
type readEntry struct {
	mu     sync.Mutex
	key    string // the shared conditions and columns it was copied with
	chunks []readChunk
	mark   uint64    // the store's mark before the last chunk was copied
	off    time.Time // not cached before this time (too many rows)
}

// readChunk holds the copied rows with lo < timestamp <= hi.
type readChunk struct {
	table  string
	lo, hi time.Time
	rows   int64
	drop   func()
}

const (
	// readCacheMinRatio: a rule is cached when it looks back at least
	// this many intervals.
	readCacheMinRatio = 6
	// readFresh is how far behind the evaluation time the last chunk
	// ends: spans still arriving land past it, in the part read from
	// traces, rather than in a chunk they would make stale.
	readFresh = 5 * time.Minute
	// readOffFor is how long a rule with too many rows stays uncached.
	readOffFor = 6 * time.Hour
)

// readCacheMinLookback: a rule is cached when it looks back at least
// this far. Scanning an hour of spans costs little more than reading a
// copy of the few that pass.
var readCacheMinLookback = 3 * time.Hour

// readCacheMaxRows bounds the rows of one rule's copy, and 4 times that
// the rows of all copies.
var readCacheMaxRows int64 = 200_000

// newReadCache returns a cache over q whose writes ct tells (q's own,
// for a nil ct); nil when q cannot keep copies or nothing tells what its
// writes changed.
func newReadCache(q store.Querier, ct store.ChangeTracker) *readCache {
	sc, ok := q.(store.Scratcher)
	if ct == nil {
		ct, _ = q.(store.ChangeTracker)
	}
	if !ok || ct == nil {
		return nil
	}
	return &readCache{scratch: sc, changes: ct, querier: q, entries: map[string]*readEntry{}}
}

// starRe finds the star of a SELECT * or t.*: a rule that selects every
// column cannot read a copy of some of them.
var starRe = regexp.MustCompile(`(?i)(\bselect|\bdistinct|,)\s*\*|\.\s*\*`)

// source returns rr, the rule r as it runs (rewritten by exclusions), to
// be evaluated with now() bound to at: reading the copy of r's shared
// rows and traces past it, when r is worth caching, else rr itself. A
// failure to keep the copy falls back to rr and is returned for logging.
func (c *readCache) source(ctx context.Context, r, rr *Rule, at time.Time) (*Rule, error) {
	if c == nil || r.Interval <= 0 || starRe.MatchString(strings.ReplaceAll(r.SQL, "(*)", "()")) {
		return rr, nil
	}
	f, ok := sqlguard.Shared(rr.SQL)
	if !ok || f.Lookback < readCacheMinRatio*r.Interval || f.Lookback < readCacheMinLookback {
		return rr, nil
	}
	cols, err := c.columnsOf(ctx, rr.SQL)
	if err != nil {
		return rr, err
	}
	conds := make([]string, len(f.Conds))
	for i, cond := range f.Conds {
		conds[i] = "(" + cond + ")"
	}
	key := strings.Join(conds, " AND ") + "\x00" + strings.Join(cols, ",") + "\x00" + f.Lookback.String()

	c.mu.Lock()
	e := c.entries[r.ID]
	if e == nil {
		e = &readEntry{}
		c.entries[r.ID] = e
	}
	c.mu.Unlock()
	e.mu.Lock()
	defer e.mu.Unlock()
	if at.Before(e.off) {
		return rr, nil
	}
	if e.key != key {
		c.dropFrom(e, 0)
		e.key = key
	}
	if err := c.refresh(ctx, e, conds, cols, at, f.Lookback); err != nil {
		c.dropFrom(e, 0)
		return rr, err
	}
	if e.off.After(at) {
		return rr, nil
	}

	list := strings.Join(cols, ", ")
	var src strings.Builder
	src.WriteString("(")
	for _, ch := range e.chunks {
		fmt.Fprintf(&src, "SELECT %s FROM %s UNION ALL ", list, ch.table)
	}
	fmt.Fprintf(&src, "SELECT %s FROM traces WHERE %s", list, strings.Join(conds, " AND "))
	if n := len(e.chunks); n > 0 {
		fmt.Fprintf(&src, " AND timestamp > %s", timeLiteral(e.chunks[n-1].hi))
	}
	src.WriteString(") AS traces")
	var b strings.Builder
	last := 0
	for _, p := range f.At {
		b.WriteString(rr.SQL[last:p])
		b.WriteString(src.String())
		last = p + len("traces")
	}
	b.WriteString(rr.SQL[last:])
	out := *rr
	out.SQL = b.String()
	return &out, nil
}

// refresh brings e's chunks up to date for an evaluation at at of reads
// that reach lookback before it.
func (c *readCache) refresh(ctx context.Context, e *readEntry, conds, cols []string, at time.Time, lookback time.Duration) error {
	mark, err := c.changes.Mark(ctx)
	if err != nil {
		return err
	}
	if len(e.chunks) > 0 {
		switch ch := c.changes.ChangedSince(e.mark); {
		case ch.Unknown, !ch.DeletedBefore.IsZero() && e.chunks[0].lo.Before(ch.DeletedBefore):
			c.dropFrom(e, 0) // a chunk may hold deleted spans
		case ch.Written:
			c.dropFrom(e, slices.IndexFunc(e.chunks, func(k readChunk) bool { return !k.hi.Before(ch.WrittenFrom) }))
		}
	}
	reach := at.Add(-lookback)
	if len(e.chunks) > 0 && e.chunks[0].lo.After(reach.Add(-time.Microsecond)) {
		c.dropFrom(e, 0) // an evaluation further back than the copy reaches
	}
	// The chunks that end before the reads reach hold no row they read.
	out := 0
	for out < len(e.chunks) && e.chunks[out].hi.Before(reach) {
		c.release(e.chunks[out])
		out++
	}
	e.chunks = slices.Delete(e.chunks, 0, out)
	e.mark = mark

	lo := reach.Add(-time.Second) // a read may keep timestamp >= its bound
	if n := len(e.chunks); n > 0 {
		lo = e.chunks[n-1].hi
	}
	hi := at.Add(-readFresh).Truncate(time.Second)
	if hi.Sub(lo) < chunkSpan(lookback) {
		return nil
	}
	var held int64
	for _, ch := range e.chunks {
		held += ch.rows
	}
	q := fmt.Sprintf("SELECT %s FROM traces WHERE timestamp > %s AND timestamp <= %s AND %s",
		strings.Join(cols, ", "), timeLiteral(lo), timeLiteral(hi), strings.Join(conds, " AND "))
	table, rows, dropTable, err := c.scratch.Scratch(ctx, q, int(max(readCacheMaxRows-held, 0)))
	if err != nil {
		return err
	}
	c.mu.Lock()
	over := held+rows > readCacheMaxRows || c.rows+rows > 4*readCacheMaxRows
	if !over {
		c.rows += rows
	}
	c.mu.Unlock()
	if over {
		dropTable()
		c.dropFrom(e, 0)
		e.off = at.Add(readOffFor)
		return nil
	}
	e.chunks = append(e.chunks, readChunk{table: table, lo: lo, hi: hi, rows: rows, drop: dropTable})
	return nil
}

// chunkSpan is how much time a chunk spans for reads that reach lookback
// back: a twelfth of it, from 5 minutes to an hour.
func chunkSpan(lookback time.Duration) time.Duration {
	return min(max(lookback/12, 5*time.Minute), time.Hour)
}

// dropFrom drops e's chunks from the i-th on (none for i < 0).
func (c *readCache) dropFrom(e *readEntry, i int) {
	if i < 0 || i >= len(e.chunks) {
		return
	}
	for _, ch := range e.chunks[i:] {
		c.release(ch)
	}
	e.chunks = e.chunks[:i]
}

func (c *readCache) release(ch readChunk) {
	ch.drop()
	c.mu.Lock()
	c.rows -= ch.rows
	c.mu.Unlock()
}

// retain drops the copies of the rules not in ids.
func (c *readCache) retain(ids map[string]bool) {
	if c == nil {
		return
	}
	c.mu.Lock()
	var gone []*readEntry
	for id, e := range c.entries {
		if !ids[id] {
			gone = append(gone, e)
			delete(c.entries, id)
		}
	}
	c.mu.Unlock()
	for _, e := range gone {
		e.mu.Lock()
		c.dropFrom(e, 0)
		e.mu.Unlock()
	}
}

// columnsOf returns the columns of traces that sql names
// (namedColumns).
func (c *readCache) columnsOf(ctx context.Context, sql string) ([]string, error) {
	c.mu.Lock()
	columns := c.columns
	c.mu.Unlock()
	if columns == nil {
		var err error
		if columns, err = TracesColumns(ctx, c.querier); err != nil {
			return nil, err
		}
		c.mu.Lock()
		c.columns = columns
		c.mu.Unlock()
	}
	return namedColumns(sql, columns), nil
}

// held is how many rows the copies hold.
func (c *readCache) held() int64 {
	if c == nil {
		return 0
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.rows
}
