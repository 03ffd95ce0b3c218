package exclude

import (
	"fmt"
	"strings"

	"github.com/tracehound/tracehound/sqlguard"
)

// TracesTable is the table rules read and exclusions filter.
const TracesTable = "traces"

// Rewrite returns ruleSQL reading, wherever it reads the traces table, only
// the rows p does not match, with p's arguments in the order their
// placeholders appear. Every reference to traces as a relation (in the
// main query, common table expressions, subqueries, joins and self-joins)
// becomes
//
//	(SELECT * FROM traces WHERE NOT coalesce((p), false)) AS traces
//
// keeping the rule's own alias when it has one, so that qualified column
// names (traces.peer_ip) and aliases keep working. The filter therefore
// applies before the rule's aggregation and threshold. A derived table
// rather than a common table expression keeps the rewrite independent of
// the rule's own WITH clause, and both DuckDB and ClickHouse push the
// rule's time filter into it. A row for which p is NULL is kept.
//
// An empty p returns the query unchanged. ruleSQL must be one SELECT that
// the sqlguard accepts; Rewrite refuses text that its two readings of
// backslashes tokenize differently, and queries that already hold
// positional placeholders.
func Rewrite(ruleSQL string, p Predicate) (string, []any, error) {
	if p.SQL == "" {
		return ruleSQL, nil, nil
	}
	return rewriteRelations(ruleSQL, Predicate{SQL: "NOT coalesce((" + p.SQL + "), false)", Args: p.Args}, "apply exclusions")
}

// Keep returns query reading, wherever it reads the traces table, only the
// rows p matches (a row for which p is NULL is dropped), as Rewrite does
// for the rows it removes: an application-scoped reader sees its
// applications' spans only, whatever the query. An empty p keeps the
// query unchanged.
func Keep(query string, p Predicate) (string, []any, error) {
	if p.SQL == "" {
		return query, nil, nil
	}
	return rewriteRelations(query, Predicate{SQL: "coalesce((" + p.SQL + "), false)", Args: p.Args}, "scope the query")
}

// rewriteRelations keeps, wherever ruleSQL reads the traces table, the
// rows for which the filter p is true; what names the rewrite in errors.
func rewriteRelations(ruleSQL string, p Predicate, what string) (string, []any, error) {
	var edits [][]int
	for _, bs := range []bool{false, true} {
		l, err := lexSQL(ruleSQL, bs)
		if err != nil {
			return "", nil, fmt.Errorf("%s: %w", what, err)
		}
		for _, t := range l.toks {
			if t.kind == kParam && len(p.Args) > 0 {
				return "", nil, fmt.Errorf("%s: the query holds the placeholder %s", what, t.text)
			}
		}
		edits = append(edits, relationRefs(l, TracesTable))
	}
	if !sameInts(edits[0], edits[1]) {
		return "", nil, fmt.Errorf("%s: %w: the query's strings read differently with and without backslash escapes", what, sqlguard.ErrRefused)
	}
	l, _ := lexSQL(ruleSQL, false)
	var b strings.Builder
	var args []any
	last := 0
	for _, i := range edits[0] {
		t := l.toks[i]
		b.WriteString(ruleSQL[last:t.pos])
		b.WriteString("(SELECT * FROM ")
		b.WriteString(TracesTable)
		b.WriteString(" WHERE ")
		b.WriteString(p.SQL)
		b.WriteString(")")
		if !hasAlias(l, i) {
			b.WriteString(" AS ")
			b.WriteString(TracesTable)
		}
		args = append(args, p.Args...)
		last = t.end()
	}
	b.WriteString(ruleSQL[last:])
	return b.String(), args, nil
}

func sameInts(a, b []int) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// relationRefs returns the indexes of the tokens that name table as a
// relation: after FROM or JOIN, after a comma of a FROM list, after
// LATERAL. A FROM inside extract(), trim(), substring() and friends, or
// of IS [NOT] DISTINCT FROM, introduces no relation.
func relationRefs(l *lexed, table string) []int {
	var out []int
	seen := map[int]bool{}
	add := func(j int) {
		t := l.at(j)
		if (t.kind == kWord || t.kind == kQuoted) && t.lower == table && l.at(j+1).kind != kDot && !seen[j] {
			seen[j] = true
			out = append(out, j)
		}
	}
	for i, t := range l.toks {
		if t.kind != kWord {
			continue
		}
		switch t.lower {
		case "join":
			j := i + 1
			if l.at(j).kind == kWord && l.at(j).lower == "lateral" {
				j++
			}
			add(j)
		case "from":
			if l.insideCall(i, "extract", "trim", "substring", "overlay", "position", "date_part", "datepart") || isDistinctFrom(l, i) {
				continue
			}
			fromList(l, i, add)
		}
	}
	// Sorted by position: edits are applied front to back.
	for i := 1; i < len(out); i++ {
		for j := i; j > 0 && out[j] < out[j-1]; j-- {
			out[j], out[j-1] = out[j-1], out[j]
		}
	}
	return out
}

// clauseEnd are the words that end a FROM clause.
var clauseEnd = wordSet(`where group order having limit offset qualify window union except intersect select
	fetch prewhere settings format sample`)

// fromList calls add with the index of every relation of the FROM at
// toks[i]: the first, and each one after a comma at the same depth, up to
// the end of the clause. JOINs are handled where they appear.
func fromList(l *lexed, i int, add func(int)) {
	expect := true
	for j := i + 1; j < len(l.toks); {
		t := l.toks[j]
		if t.kind == kRParen || t.kind == kSemicolon {
			return
		}
		if expect {
			if t.kind == kWord && t.lower == "lateral" {
				j++
				continue
			}
			add(j)
			expect = false
			if t.kind == kLParen {
				j = l.match[j] + 1
			} else {
				j++
			}
			continue
		}
		switch {
		case t.kind == kLParen:
			j = l.match[j] + 1
		case t.kind == kComma:
			expect = true
			j++
		case t.kind == kWord && (t.lower == "join" || clauseEnd[t.lower]):
			return
		default:
			j++
		}
	}
}

func isDistinctFrom(l *lexed, i int) bool {
	if l.at(i-1).lower != "distinct" {
		return false
	}
	return l.at(i-2).lower == "is" || l.at(i-2).lower == "not" && l.at(i-3).lower == "is"
}

// notAlias are the words that may follow a relation without being its
// alias.
var notAlias = wordSet(`where group order having limit offset qualify window union except intersect select
	fetch prewhere settings format sample final join inner left right full cross outer natural on using
	lateral asof positional semi anti any all global array tablesample paste`)

// hasAlias reports whether the relation at toks[i] is followed by an alias.
func hasAlias(l *lexed, i int) bool {
	n := l.at(i + 1)
	switch n.kind {
	case kQuoted:
		return true
	case kWord:
		return n.lower == "as" || !notAlias[n.lower]
	}
	return false
}

func wordSet(words string) map[string]bool {
	m := map[string]bool{}
	for _, w := range strings.Fields(words) {
		m[w] = true
	}
	return m
}
