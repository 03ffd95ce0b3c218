package span

import (
	"slices"
	"strings"
)

// TreeNode is a span placed in its trace's tree.
type TreeNode struct {
	*Span
	// Depth is 0 for a root; children are one deeper than their parent.
	Depth int
	// Orphan is set on a span whose parent is not in the trace (lost or
	// not yet received); it is shown as a root.
	Orphan bool
	// Children counts the span's direct children.
	Children int
}

// Tree orders a trace's spans depth-first, each parent before its children
// and siblings by start time, as a waterfall shows them. Spans whose
// parent is missing become roots marked Orphan. A cycle of parent ids
// (hostile input) cannot loop: every span appears exactly once.
func Tree(spans []Span) []TreeNode {
	byID := make(map[string]int, len(spans))
	for i := range spans {
		if _, dup := byID[spans[i].SpanID]; !dup {
			byID[spans[i].SpanID] = i
		}
	}
	children := make(map[int][]int, len(spans))
	var roots []int
	orphan := make([]bool, len(spans))
	for i := range spans {
		p := spans[i].ParentSpanID
		pi, ok := byID[p]
		switch {
		case p == "":
			roots = append(roots, i)
		case !ok || pi == i:
			orphan[i] = true
			roots = append(roots, i)
		default:
			children[pi] = append(children[pi], i)
		}
	}
	byStart := func(a, b int) int {
		if c := spans[a].Timestamp.Compare(spans[b].Timestamp); c != 0 {
			return c
		}
		return strings.Compare(spans[a].SpanID, spans[b].SpanID)
	}
	slices.SortFunc(roots, byStart)
	for _, c := range children {
		slices.SortFunc(c, byStart)
	}
	out := make([]TreeNode, 0, len(spans))
	seen := make([]bool, len(spans))
	var walk func(i, depth int)
	walk = func(i, depth int) {
		if seen[i] {
			return
		}
		seen[i] = true
		out = append(out, TreeNode{Span: &spans[i], Depth: depth, Orphan: orphan[i], Children: len(children[i])})
		for _, c := range children[i] {
			walk(c, depth+1)
		}
	}
	for _, r := range roots {
		walk(r, 0)
	}
	// Spans caught in a parent cycle are reachable from no root.
	for i := range spans {
		if !seen[i] {
			start := len(out)
			walk(i, 0)
			out[start].Orphan = true
		}
	}
	return out
}
