package duckdb

import (
	"context"
	"sync"
	"time"
)

// changes records the earliest span time of each commit by the log
// sequence numbers it holds, so that the store can tell a cache which
// times the writes after a mark touched (store.ChangeTracker).
//
// A mark is the last committed sequence number, with the count of
// deletions in its top bits: what is read after taking a mark holds
// every Write up to it, and the commits of later ones are recorded under
// their higher numbers.
type changes struct {
	mu        sync.Mutex
	deletions uint64
	log       []change // oldest first; at most maxChanges
}

// change is the earliest span time (Unix microseconds) of the commits
// after the entry before it up to sequence number seq.
type change struct {
	seq      uint64
	earliest int64
}

// maxChanges bounds the log. When it is full, neighbouring old entries
// merge: a mark between them then reports the earlier time of the two,
// which only recomputes more than needed.
const maxChanges = 4096

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
		c.log = append(merged, c.log[half:]...)
	}
	c.log = append(c.log, change{seq: seq, earliest: earliest})
}

// deleted records that spans were deleted: no earlier mark can tell what
// changed.
func (c *changes) deleted() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.deletions++
	c.log = c.log[:0]
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

// ChangedSince implements store.ChangeTracker.
func (s *Store) ChangedSince(mark uint64) (earliest time.Time, changed bool) {
	c := &s.changes
	c.mu.Lock()
	defer c.mu.Unlock()
	if mark>>seqBits != c.deletions {
		return time.Time{}, true
	}
	seq := mark & (1<<seqBits - 1)
	var e int64
	for i := len(c.log) - 1; i >= 0 && c.log[i].seq > seq; i-- {
		if !changed || c.log[i].earliest < e {
			e = c.log[i].earliest
		}
		changed = true
	}
	if !changed {
		return time.Time{}, false
	}
	return time.UnixMicro(e).UTC(), true
}
