package sqlguard

import (
	"strings"
)

// SemiJoin is a top-level WHERE term "key [NOT] IN (subquery)" of a
// query: it keeps the rows whose key the subquery does (or does not)
// return.
type SemiJoin struct {
	// Key is the key expression as written.
	Key string
	Not bool
	// Query is the subquery, without its parentheses.
	Query string
	// ParamsBefore is the number of positional placeholders (?) in the
	// query before the term, Params the number in it.
	ParamsBefore, Params int
}

// SplitSemiJoins takes the top-level WHERE terms of the form "key [NOT]
// IN (SELECT …)" out of q and returns what is left and those terms, in
// order. ok is false when q has no such term, is not a single SELECT with
// a WHERE, numbers its placeholders ($1) or has a term whose key holds a
// subquery, a placeholder or the current time. A subquery that refers to
// the outer query's columns is not detected here: run on its own, it fails.
func SplitSemiJoins(q string) (rest string, semis []SemiJoin, ok bool) {
	p, err := parseBoth(q)
	if err != nil {
		return "", nil, false
	}
	toks := p.toks
	if len(toks) == 0 || toks[0].kind != tWord || toks[0].lower != "select" {
		return "", nil, false
	}
	where := -1
	for i, t := range toks {
		if t.kind == tOperator && strings.HasPrefix(t.text, "$") {
			return "", nil, false
		}
		if p.parent[i] != -1 || t.kind != tWord || i > 0 && toks[i-1].kind == tDot {
			continue
		}
		switch t.lower {
		case "where":
			if where >= 0 {
				return "", nil, false
			}
			where = i
		case "union", "intersect", "except":
			return "", nil, false
		}
	}
	if where < 0 {
		return "", nil, false
	}
	end := len(toks)
	for j := where + 1; j < len(toks); j++ {
		if p.parent[j] == -1 && toks[j].kind == tWord && clauseWords[toks[j].lower] && (j+1 == len(toks) || toks[j+1].kind != tLParen) {
			end = j
			break
		}
	}
	w := &windowParser{q: q, p: p}
	conj := w.conjuncts(span{where + 1, end})
	if conj == nil {
		return "", nil, false
	}
	params := func(from, to int) int {
		n := 0
		for i := from; i < to; i++ {
			if toks[i].kind == tOperator && toks[i].text == "?" {
				n++
			}
		}
		return n
	}
	var kept []string
	for _, c := range conj {
		s, isSemi := w.semiJoin(c)
		if !isSemi {
			if c.from >= c.to {
				return "", nil, false
			}
			kept = append(kept, w.text(c))
			continue
		}
		if s.Key == "" {
			return "", nil, false
		}
		s.ParamsBefore, s.Params = params(0, c.from), params(c.from, c.to)
		semis = append(semis, s)
	}
	if len(semis) == 0 {
		return "", nil, false
	}
	var b strings.Builder
	if len(kept) == 0 {
		b.WriteString(strings.TrimRight(q[:toks[where].pos], " \t\r\n"))
	} else {
		b.WriteString(q[:toks[where].end()])
		b.WriteString(" ")
		b.WriteString(strings.Join(kept, "\n  AND "))
	}
	if end < len(toks) {
		b.WriteString("\n")
		b.WriteString(q[toks[end].pos:])
	}
	return b.String(), semis, true
}

// semiJoin reads the term c as "key [NOT] IN (SELECT …)". isSemi is false
// for any other term; a semi-join whose key cannot be read has an empty
// Key.
func (w *windowParser) semiJoin(c span) (s SemiJoin, isSemi bool) {
	toks, p := w.p.toks, w.p
	if c.to-c.from < 4 || toks[c.to-1].kind != tRParen {
		return SemiJoin{}, false
	}
	// The ")" that ends the term closes the "(" after IN.
	open := -1
	for i := c.from; i < c.to; i++ {
		if toks[i].kind == tLParen && p.match[i] == c.to-1 {
			open = i
			break
		}
	}
	if open <= c.from || open+1 >= c.to-1 {
		return SemiJoin{}, false
	}
	if first := toks[open+1]; first.kind != tWord || first.lower != "select" && first.lower != "with" {
		return SemiJoin{}, false
	}
	in := open - 1
	if toks[in].kind != tWord || toks[in].lower != "in" {
		return SemiJoin{}, false
	}
	keyEnd := in
	if in-1 > c.from && toks[in-1].kind == tWord && toks[in-1].lower == "not" {
		s.Not = true
		keyEnd = in - 1
	}
	s.Query = strings.TrimSpace(w.q[toks[open].end():toks[c.to-1].pos])
	for i := c.from; i < keyEnd; i++ {
		t := toks[i]
		if t.kind == tWord && (t.lower == "select" || t.lower == "not" || isNowWord(t.lower)) && (i == 0 || toks[i-1].kind != tDot) ||
			t.kind == tOperator && t.text == "?" {
			return s, true
		}
	}
	s.Key = w.text(span{c.from, keyEnd})
	return s, true
}

// SameExpr reports whether a and b are the same expression up to spacing
// and the case of keywords and names.
func SameExpr(a, b string) bool {
	ta, err := tokenize(a, false)
	if err != nil {
		return false
	}
	tb, err := tokenize(b, false)
	if err != nil || len(ta) != len(tb) {
		return false
	}
	for i := range ta {
		if ta[i].kind != tb[i].kind {
			return false
		}
		if ta[i].kind == tWord {
			if ta[i].lower != tb[i].lower {
				return false
			}
		} else if ta[i].text != tb[i].text {
			return false
		}
	}
	return true
}

// parseBoth tokenizes q, refusing a query whose string literals read
// differently with and without backslash escapes, drops a final
// semicolon and computes the bracket structure.
func parseBoth(q string) (*parsed, error) {
	toks, err := tokenize(q, false)
	if err != nil {
		return nil, err
	}
	other, err := tokenize(q, true)
	if err != nil || len(other) != len(toks) {
		return nil, notWindowed("its string literals read differently with and without backslash escapes")
	}
	for i := range toks {
		if toks[i].pos != other[i].pos || toks[i].kind != other[i].kind {
			return nil, notWindowed("its string literals read differently with and without backslash escapes")
		}
	}
	if n := len(toks); n > 0 && toks[n-1].kind == tSemicolon {
		toks = toks[:n-1]
	}
	return parse(toks)
}
