package duckdb

import "testing"

// A full change log merges old entries: a mark between merged commits
// reports an earliest time no later than the exact one.
func TestChangesMergeConservatively(t *testing.T) {
	s := &Store{}
	n := 3 * maxChanges
	times := make([]int64, n+1) // times[m] is commit m's earliest span
	for m := 1; m <= n; m++ {
		times[m] = int64((m * 7919) % 10007)
		s.changes.committed(uint64(m), times[m])
	}
	s.applied.Store(uint64(n))
	if len(s.changes.log) > maxChanges {
		t.Fatalf("log holds %d entries, more than %d", len(s.changes.log), maxChanges)
	}
	for mark := uint64(0); mark <= uint64(n); mark += 37 {
		exact := int64(1 << 62)
		for m := mark + 1; m <= uint64(n); m++ {
			exact = min(exact, times[m])
		}
		ch := s.ChangedSince(mark)
		e, changed := ch.WrittenFrom, ch.Written
		if changed != (mark < uint64(n)) {
			t.Fatalf("ChangedSince(%d) = changed %v", mark, changed)
		}
		if changed && e.UnixMicro() > exact {
			t.Fatalf("ChangedSince(%d) = %d, later than the exact %d", mark, e.UnixMicro(), exact)
		}
		if mark > uint64(n-maxChanges/2) && changed && e.UnixMicro() != exact {
			t.Fatalf("ChangedSince(%d) = %d for a recent mark; want the exact %d", mark, e.UnixMicro(), exact)
		}
	}
}

// A mark from before the deletions whose times are kept tells that
// anything may have changed; a later one, the latest time deleted before.
func TestChangesKeepRecentDeletions(t *testing.T) {
	s := &Store{}
	for n := uint64(1); n <= maxCuts+5; n++ {
		s.changes.deleted(n, int64(n)*1_000_000)
	}
	if len(s.changes.cuts) != maxCuts {
		t.Errorf("%d deletions kept, want %d", len(s.changes.cuts), maxCuts)
	}
	if ch := s.ChangedSince(0); !ch.Unknown {
		t.Errorf("ChangedSince(a mark before every kept deletion) = %+v; want anything changed", ch)
	}
	mark := uint64(maxCuts) << seqBits
	if ch := s.ChangedSince(mark); ch.Unknown || ch.DeletedBefore.Unix() != maxCuts+5 {
		t.Errorf("ChangedSince(a mark 5 deletions ago) = %+v; want deleted before %d", ch, maxCuts+5)
	}
	s.changes.deleted(maxCuts+6, 0) // a change the log cannot tell
	if ch := s.ChangedSince(mark); !ch.Unknown {
		t.Errorf("ChangedSince(a mark before an untold change) = %+v; want anything changed", ch)
	}
}
