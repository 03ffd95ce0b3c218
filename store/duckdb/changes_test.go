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
		e, changed := s.ChangedSince(mark)
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
