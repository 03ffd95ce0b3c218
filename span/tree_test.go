package span

import (
	"testing"
	"time"
)

func TestTree(t *testing.T) {
	t0 := time.Date(2026, 11, 2, 10, 0, 0, 0, time.UTC)
	at := func(ms int) time.Time { return t0.Add(time.Duration(ms) * time.Millisecond) }
	spans := []Span{
		{SpanID: "c2", ParentSpanID: "root", Timestamp: at(5)},
		{SpanID: "g1", ParentSpanID: "c1", Timestamp: at(2)},
		{SpanID: "root", Timestamp: at(0)},
		{SpanID: "c1", ParentSpanID: "root", Timestamp: at(1)},
		{SpanID: "lost", ParentSpanID: "gone", Timestamp: at(3)},
		{SpanID: "x", ParentSpanID: "y", Timestamp: at(9)},
		{SpanID: "y", ParentSpanID: "x", Timestamp: at(8)},
	}
	got := Tree(spans)
	type row struct {
		id     string
		depth  int
		orphan bool
	}
	want := []row{{"root", 0, false}, {"c1", 1, false}, {"g1", 2, false}, {"c2", 1, false}, {"lost", 0, true}, {"x", 0, true}, {"y", 1, false}}
	if len(got) != len(want) {
		t.Fatalf("Tree returned %d nodes, want %d", len(got), len(want))
	}
	for i, w := range want {
		g := got[i]
		if g.SpanID != w.id || g.Depth != w.depth || g.Orphan != w.orphan {
			t.Errorf("node %d = %s depth %d orphan %v; want %s depth %d orphan %v", i, g.SpanID, g.Depth, g.Orphan, w.id, w.depth, w.orphan)
		}
	}
	if got[0].Children != 2 {
		t.Errorf("root has %d children, want 2", got[0].Children)
	}
}

func FuzzTree(f *testing.F) {
	f.Add([]byte{0, 1, 1, 2, 2, 0, 3, 3})
	f.Fuzz(func(t *testing.T, b []byte) {
		// Pairs of bytes: span id, parent id (0 = root).
		var spans []Span
		for i := 0; i+1 < len(b); i += 2 {
			s := Span{SpanID: string(rune('a' + b[i]%16)), Timestamp: time.Unix(int64(i), 0)}
			if b[i+1]%16 != 0 {
				s.ParentSpanID = string(rune('a' + b[i+1]%16))
			}
			spans = append(spans, s)
		}
		got := Tree(spans)
		if len(got) != len(spans) {
			t.Fatalf("Tree returned %d nodes for %d spans", len(got), len(spans))
		}
		seen := map[*Span]bool{}
		for _, n := range got {
			if seen[n.Span] {
				t.Fatalf("span %s appears twice", n.SpanID)
			}
			seen[n.Span] = true
		}
	})
}
