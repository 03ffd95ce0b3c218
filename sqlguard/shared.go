package sqlguard

import (
	"slices"
	"strings"
	"time"
)

// SharedFilter is what every read of the traces table in a query requires
// of a row: the query's result depends only on the rows that pass it.
type SharedFilter struct {
	// Conds are the WHERE conditions that every read has among its
	// top-level AND terms, as written; none mentions the current time or
	// holds a subquery.
	Conds []string
	// Lookback is the furthest before now() that a read reaches: every
	// read has a term "timestamp > now() - INTERVAL n unit" (or >=).
	Lookback time.Duration
	// Upto is true when every read also has "timestamp < now() [- …]"
	// (or <=): no row after now() counts.
	Upto bool
	// At are the byte offsets of the reads' "traces", in order: the
	// table's name where a caller may read a filtered copy instead.
	At []int
}

// Shared reads q's reads of traces, each "FROM traces WHERE …" or, as
// exclusions write, "FROM (SELECT * FROM traces WHERE …) AS traces
// WHERE …", and returns the conditions they all share and how far back
// they all reach. ok is false when one read has another form (an alias, a
// join, no WHERE, a top-level OR), lacks a lower time bound relative to
// now(), or when the reads share no condition.
func Shared(q string) (f SharedFilter, ok bool) {
	reads, ok := readsOf(q)
	if !ok {
		return SharedFilter{}, false
	}
	var shared []cond
	f.Upto = true
	for i, r := range reads {
		if i == 0 {
			shared = r.conds
		} else {
			shared = slices.DeleteFunc(shared, func(c cond) bool {
				return !slices.ContainsFunc(r.conds, func(d cond) bool { return d.key == c.key })
			})
		}
		f.Lookback = max(f.Lookback, r.lookback)
		f.Upto = f.Upto && r.upto
		f.At = append(f.At, r.at)
	}
	if len(shared) == 0 {
		return SharedFilter{}, false
	}
	for _, c := range shared {
		f.Conds = append(f.Conds, c.text)
	}
	return f, true
}

// Bounded reports whether every read of traces in q, each of the forms
// Shared reads, keeps only rows from a bounded time before now() up to
// now(): a result that depends on no row after the time it is computed
// for. lookback is the furthest back a read reaches.
func Bounded(q string) (lookback time.Duration, ok bool) {
	reads, ok := readsOf(q)
	if !ok {
		return 0, false
	}
	for _, r := range reads {
		if !r.upto {
			return 0, false
		}
		lookback = max(lookback, r.lookback)
	}
	return lookback, true
}

// read is one "FROM traces WHERE …" of a query.
type read struct {
	conds    []cond
	lookback time.Duration
	upto     bool
	at       int // byte offset of "traces"
}

// readsOf returns q's reads of traces; ok is false when there is none,
// or one has another form than Shared reads or no lower time bound.
func readsOf(q string) (reads []read, ok bool) {
	toks, err := tokenize(q, false)
	if err != nil {
		return nil, false
	}
	if n := len(toks); n > 0 && toks[n-1].kind == tSemicolon {
		toks = toks[:n-1]
	}
	p, err := parse(toks)
	if err != nil {
		return nil, false
	}
	w := &windowParser{q: q, p: p}
	for i, t := range toks {
		if t.kind != tWord || t.lower != "traces" || i+1 < len(toks) && toks[i+1].kind == tDot || i > 0 && toks[i-1].kind == tDot {
			continue
		}
		if i > 0 && toks[i-1].kind == tWord && toks[i-1].lower == "as" {
			continue // the alias of a filtered copy
		}
		from, where := i-1, i+1
		if open, next, ok := w.filteredCopy(i); ok {
			from, where = open-1, next
		}
		if from < 0 || toks[from].kind != tWord || toks[from].lower != "from" ||
			where >= len(toks) || toks[where].kind != tWord || toks[where].lower != "where" || p.parent[where] != p.parent[from] {
			return nil, false
		}
		conds, lookback, upto, ok := w.readConds(where)
		if !ok {
			return nil, false
		}
		reads = append(reads, read{conds: conds, lookback: lookback, upto: upto, at: t.pos})
	}
	return reads, len(reads) > 0
}

// cond is a WHERE term: its text and its tokens, for comparison.
type cond struct{ text, key string }

// filteredCopy reports whether toks[i], a "traces", is the inner read of
// "(SELECT * FROM traces WHERE …) AS traces" and returns the index of the
// "(" and of the token after the alias.
func (w *windowParser) filteredCopy(i int) (open, next int, ok bool) {
	toks, p := w.p.toks, w.p
	open = p.parent[i]
	if open < 0 || i != open+4 || toks[open+1].lower != "select" || toks[open+2].text != "*" || toks[open+3].lower != "from" {
		return 0, 0, false
	}
	end := p.match[open]
	if end+2 >= len(toks) || toks[end+1].lower != "as" || toks[end+2].lower != "traces" {
		return 0, 0, false
	}
	return open, end + 3, true
}

// readConds splits the WHERE at toks[where], up to the end of its clause,
// into its top-level AND terms and reads its time bounds. ok is false
// without a lower bound.
func (w *windowParser) readConds(where int) (conds []cond, lookback time.Duration, upto, ok bool) {
	toks, p := w.p.toks, w.p
	end := len(toks)
	if open := p.parent[where]; open >= 0 {
		end = p.match[open]
	}
	for j := where + 1; j < end; j++ {
		if p.parent[j] == p.parent[where] && toks[j].kind == tWord && clauseWords[toks[j].lower] && (j+1 == end || toks[j+1].kind != tLParen) {
			end = j
		}
	}
	parts := w.conjuncts(span{where + 1, end})
	if parts == nil {
		return nil, 0, false, false
	}
	for _, c := range parts {
		if c.from >= c.to {
			return nil, 0, false, false
		}
		if d, _, ok := w.lowerBound(c); ok {
			lookback = max(lookback, d)
			continue
		}
		if _, ok := w.upperBound(c); ok {
			upto = true
			continue
		}
		if _, _, ok := w.olderBound(c); ok {
			upto = true
			continue
		}
		plain := true
		key := make([]string, 0, c.to-c.from)
		for i := c.from; i < c.to && plain; i++ {
			t := toks[i]
			plain = !(t.kind == tWord && (t.lower == "select" || isNowWord(t.lower)) && (i == 0 || toks[i-1].kind != tDot)) &&
				!(t.kind == tOperator && (t.text == "?" || strings.HasPrefix(t.text, "$")))
			key = append(key, t.text)
		}
		if plain {
			conds = append(conds, cond{text: w.text(c), key: strings.Join(key, " ")})
		}
	}
	return conds, lookback, upto, lookback > 0
}

// clauseWords end a WHERE clause.
var clauseWords = map[string]bool{"group": true, "having": true, "order": true, "limit": true, "union": true, "intersect": true,
	"except": true, "window": true, "qualify": true, "settings": true, "format": true}
