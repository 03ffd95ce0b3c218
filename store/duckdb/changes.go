package duckdb

import (
	"context"
	"database/sql"
	"fmt"
	"math"
	"strings"
	"sync"
	"time"

	"github.com/tracehound/tracehound/store"
)

// changes records the earliest span time of each commit by the log
// sequence numbers it holds, so that the store can tell a cache which
// times the writes after a mark touched (store.ChangeTracker).
//
// A mark is the last committed sequence number, with the count of
// deletions in its top bits: what is read after taking a mark holds
// every Write up to it, and the commits of later ones are recorded under
// their higher numbers. Each deletion (retention) records the time it
// removed the spans before, under its count; a change the log cannot
// tell (see loadChanges) counts as a deletion without a time, and a mark
// before it can tell nothing.
//
// The log is also kept in the database (span_changes), each entry in the
// transaction of its commit, and the deletions (change_state,
// span_deletions) in the transaction of each; sequence numbers go on
// from one open to the next, so marks hold across restarts
// (store.DurableMarks).
type changes struct {
	mu        sync.Mutex
	storeID   string
	deletions uint64
	cuts      map[uint64]int64 // deletion count → the time it deleted before (Unix µs); the last maxCuts
	log       []change         // oldest first; at most maxChanges
	// rewrite, when set, is a merge of the log's older entries that the
	// next commit makes in span_changes too.
	rewrite *changeRewrite
}

// change is the earliest span time (Unix microseconds) of the commits
// after the entry before it up to sequence number seq.
type change struct {
	seq      uint64
	earliest int64
}

// changeRewrite replaces span_changes' entries up to seq by merged.
type changeRewrite struct {
	upTo   uint64
	merged []change
}

// statements returns the SQL that makes the rewrite.
func (r *changeRewrite) statements() []string {
	var b strings.Builder
	b.WriteString("INSERT INTO span_changes VALUES ")
	for i, c := range r.merged {
		if i > 0 {
			b.WriteByte(',')
		}
		fmt.Fprintf(&b, "(%d,%d)", c.seq, c.earliest)
	}
	return []string{fmt.Sprintf("DELETE FROM span_changes WHERE seq <= %d", r.upTo), b.String()}
}

// maxChanges bounds the log. When it is full, neighbouring old entries
// merge: a mark between them then reports the earlier time of the two,
// which only recomputes more than needed.
var maxChanges = 4096

// seqBits are the bits of a mark that hold the sequence number.
const seqBits = 48

// committed records a commit of the records up to seq whose earliest
// span started at earliest (Unix microseconds).
func (c *changes) committed(seq uint64, earliest int64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.log) == maxChanges {
		// Merge the older half's pairs; the newer half stays exact.
		half := maxChanges / 2
		merged := c.log[:0]
		for i := 0; i+1 < half; i += 2 {
			merged = append(merged, change{seq: c.log[i+1].seq, earliest: min(c.log[i].earliest, c.log[i+1].earliest)})
		}
		c.rewrite = &changeRewrite{upTo: merged[len(merged)-1].seq, merged: append([]change(nil), merged...)}
		c.log = append(merged, c.log[half:]...)
	}
	c.log = append(c.log, change{seq: seq, earliest: earliest})
}

// takeRewrite returns the rewrite of span_changes that is due, if any,
// and forgets it: a commit that fails gives it back (restoreRewrite).
func (c *changes) takeRewrite() *changeRewrite {
	c.mu.Lock()
	defer c.mu.Unlock()
	r := c.rewrite
	c.rewrite = nil
	return r
}

// restoreRewrite gives back a rewrite a commit did not make, unless a
// later one (which covers it) is due.
func (c *changes) restoreRewrite(r *changeRewrite) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if r != nil && c.rewrite == nil {
		c.rewrite = r
	}
}

// maxCuts bounds the deletions whose times are kept: a mark from before
// older ones can tell nothing. Retention runs hourly: six weeks.
const maxCuts = 1024

// deleted records deletion number n of the spans that started before
// before (Unix microseconds); 0 for a change the log cannot tell.
func (c *changes) deleted(n uint64, before int64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.deletions = n
	if c.cuts == nil {
		c.cuts = map[uint64]int64{}
	}
	if before != 0 {
		c.cuts[n] = before
	}
	if n > maxCuts {
		delete(c.cuts, n-maxCuts)
	}
}

// loadChanges reads the log and the count of deletions kept in the
// database; applied is the last sequence number DuckDB holds. When a
// commit up to it was not recorded (the database was written by an
// earlier version), the count of deletions goes up: no earlier mark can
// tell what it changed.
func (s *Store) loadChanges(ctx context.Context, applied uint64) error {
	c := &s.changes
	if err := s.db.QueryRowContext(ctx, "SELECT store_id, deletions FROM change_state").Scan(&c.storeID, &c.deletions); err != nil {
		return fmt.Errorf("read change_state: %w", err)
	}
	c.cuts = map[uint64]int64{}
	cuts, err := s.db.QueryContext(ctx, "SELECT n, before FROM span_deletions WHERE n > ?", max(c.deletions, maxCuts)-maxCuts)
	if err != nil {
		return fmt.Errorf("read span_deletions: %w", err)
	}
	for cuts.Next() {
		var n uint64
		var before int64
		if err := cuts.Scan(&n, &before); err != nil {
			cuts.Close()
			return fmt.Errorf("read span_deletions: %w", err)
		}
		c.cuts[n] = before
	}
	cuts.Close()
	if err := cuts.Err(); err != nil {
		return fmt.Errorf("read span_deletions: %w", err)
	}
	rows, err := s.db.QueryContext(ctx, "SELECT seq, earliest FROM span_changes ORDER BY seq")
	if err != nil {
		return fmt.Errorf("read span_changes: %w", err)
	}
	defer rows.Close()
	var last uint64
	for rows.Next() {
		var e change
		if err := rows.Scan(&e.seq, &e.earliest); err != nil {
			return fmt.Errorf("read span_changes: %w", err)
		}
		c.committed(e.seq, e.earliest)
		last = e.seq
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("read span_changes: %w", err)
	}
	if last < applied {
		// The log is complete from applied on: the entry says so to the
		// next open, and, being at applied, no later mark reads it.
		tx, err := s.db.BeginTx(ctx, nil)
		if err != nil {
			return fmt.Errorf("record unlogged commits: %w", err)
		}
		defer tx.Rollback()
		n, err := s.countDeletion(ctx, tx, 0)
		if err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, "INSERT INTO span_changes VALUES (?, ?)", applied, int64(math.MaxInt64)); err != nil {
			return fmt.Errorf("record unlogged commits: %w", err)
		}
		if err := tx.Commit(); err != nil {
			return fmt.Errorf("record unlogged commits: %w", err)
		}
		c.deleted(n, 0)
		c.committed(applied, math.MaxInt64)
		last = applied
	}
	if c.rewrite != nil {
		// Loading merged entries: the whole table becomes the log.
		c.rewrite = &changeRewrite{upTo: last, merged: append([]change(nil), c.log...)}
	}
	return nil
}

// countDeletion counts a deletion of the spans that started before
// before (Unix microseconds; 0: a change the log cannot tell) in
// change_state and span_deletions, through tx (the deletion's
// transaction), and returns its number.
func (s *Store) countDeletion(ctx context.Context, tx *sql.Tx, before int64) (uint64, error) {
	var n uint64
	if err := tx.QueryRowContext(ctx, "UPDATE change_state SET deletions = deletions + 1 RETURNING deletions").Scan(&n); err != nil {
		return 0, fmt.Errorf("count deletion: %w", err)
	}
	if before != 0 {
		if _, err := tx.ExecContext(ctx, "INSERT INTO span_deletions VALUES (?, ?)", n, before); err != nil {
			return 0, fmt.Errorf("count deletion: %w", err)
		}
	}
	if _, err := tx.ExecContext(ctx, "DELETE FROM span_deletions WHERE n <= ?", max(n, maxCuts)-maxCuts); err != nil {
		return 0, fmt.Errorf("count deletion: %w", err)
	}
	return n, nil
}

// Mark implements store.ChangeTracker.
func (s *Store) Mark(ctx context.Context) (uint64, error) {
	if err := s.waitApplied(ctx); err != nil {
		return 0, err
	}
	s.changes.mu.Lock()
	defer s.changes.mu.Unlock()
	return s.changes.deletions<<seqBits | s.applied.Load()&(1<<seqBits-1), nil
}

// StoreID implements store.DurableMarks.
func (s *Store) StoreID() string {
	s.changes.mu.Lock()
	defer s.changes.mu.Unlock()
	return s.changes.storeID
}

// ChangedSince implements store.ChangeTracker.
func (s *Store) ChangedSince(mark uint64) store.Changes {
	c := &s.changes
	c.mu.Lock()
	defer c.mu.Unlock()
	var ch store.Changes
	seq := mark & (1<<seqBits - 1)
	if seq > s.applied.Load() {
		// Past what the store holds: a mark of this store before it
		// was restored from an older copy.
		return store.Changes{Unknown: true}
	}
	const countMask = 1<<(64-seqBits) - 1
	k, now := mark>>seqBits, c.deletions&countMask
	if k > now {
		return store.Changes{Unknown: true}
	}
	for n := k + 1; n <= now; n++ {
		before, ok := c.cuts[n]
		if !ok {
			return store.Changes{Unknown: true}
		}
		if t := time.UnixMicro(before).UTC(); t.After(ch.DeletedBefore) {
			ch.DeletedBefore = t
		}
	}
	var e int64
	for i := len(c.log) - 1; i >= 0 && c.log[i].seq > seq; i-- {
		if !ch.Written || c.log[i].earliest < e {
			e = c.log[i].earliest
		}
		ch.Written = true
	}
	if ch.Written {
		ch.WrittenFrom = time.UnixMicro(e).UTC()
	}
	return ch
}
