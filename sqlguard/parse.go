package sqlguard

// parsed is the bracket structure of a token list and its common table
// expressions: enough structure to find relations and calls without a full
// SQL grammar. Everything is computed iteratively, so deep nesting costs no
// stack.
type parsed struct {
	toks []token
	// match[i] is the index of the ")" closing the "(" at i.
	match []int
	// parent[i] is the index of the innermost "(" enclosing toks[i], or -1.
	parent []int
	// notCall marks words followed by "(" that are not calls: CTE names
	// with a column list.
	notCall map[int]bool
	ctes    []cte
}

// cte is a common table expression name and the token range where a FROM
// may refer to it: from its WITH to the end of the enclosing parentheses.
type cte struct {
	name       string
	start, end int
}

// parse computes the bracket structure of toks and finds their CTEs. It
// refuses unbalanced parentheses.
func parse(toks []token) (*parsed, error) {
	p := &parsed{toks: toks, match: make([]int, len(toks)), parent: make([]int, len(toks)), notCall: map[int]bool{}}
	var stack []int
	for i, t := range toks {
		p.parent[i] = -1
		if len(stack) > 0 {
			p.parent[i] = stack[len(stack)-1]
		}
		switch t.kind {
		case tLParen:
			stack = append(stack, i)
		case tRParen:
			if len(stack) == 0 {
				return nil, refuse(t.pos, "unbalanced parentheses: this ) closes nothing")
			}
			p.match[stack[len(stack)-1]] = i
			stack = stack[:len(stack)-1]
		}
	}
	if len(stack) > 0 {
		return nil, refuse(toks[stack[len(stack)-1]].pos, "unbalanced parentheses: this ( is never closed")
	}
	for i, t := range toks {
		if t.kind == tWord && t.lower == "with" {
			p.withClause(i)
		}
	}
	return p, nil
}

// withClause records the CTEs of the WITH at toks[w]:
//
//	WITH [RECURSIVE] name [(cols)] AS [NOT] [MATERIALIZED] (query), …
//
// ClickHouse's scalar form (WITH expr AS alias) names no relation and is
// skipped. WITH TIES, WITH FILL, WITH TOTALS and the like are not clauses
// and have no elements.
func (p *parsed) withClause(w int) {
	toks := p.toks
	end := len(toks)
	if open := p.parent[w]; open >= 0 {
		end = p.match[open]
	}
	at := func(i int) token {
		if i < len(toks) {
			return toks[i]
		}
		return token{kind: tSemicolon}
	}
	j := w + 1
	if at(j).kind == tWord && at(j).lower == "recursive" {
		j++
	}
	for j < end {
		name := at(j)
		if name.kind == tWord || name.kind == tQuoted {
			k := j + 1
			if at(k).kind == tLParen {
				p.notCall[j] = true
				k = p.match[k] + 1
			}
			if at(k).kind == tWord && at(k).lower == "as" {
				k++
				for at(k).kind == tWord && (at(k).lower == "not" || at(k).lower == "materialized") {
					k++
				}
				if at(k).kind == tLParen {
					p.ctes = append(p.ctes, cte{name: name.lower, start: w, end: end})
					j = p.match[k] + 1
					if at(j).kind == tComma {
						j++
						continue
					}
					return
				}
			}
			delete(p.notCall, j)
		}
		// A scalar element: skip to the comma ending it, or stop at the query.
		for j < end {
			t := at(j)
			if t.kind == tLParen {
				j = p.match[j] + 1
				continue
			}
			if t.kind == tComma {
				j++
				break
			}
			if t.kind == tWord && (t.lower == "select" || t.lower == "from") {
				return
			}
			j++
		}
	}
}

// cteInScope reports whether a CTE called name may be referred to at toks[i].
func (p *parsed) cteInScope(name string, i int) bool {
	for _, c := range p.ctes {
		if c.name == name && c.start < i && i < c.end {
			return true
		}
	}
	return false
}

// insideCall reports whether toks[i] sits directly inside the parentheses
// of a call to one of the named functions, such as EXTRACT(… FROM …).
func (p *parsed) insideCall(i int, names ...string) bool {
	open := p.parent[i]
	if open <= 0 {
		return false
	}
	fn := p.toks[open-1]
	if fn.kind != tWord {
		return false
	}
	for _, n := range names {
		if fn.lower == n {
			return true
		}
	}
	return false
}
