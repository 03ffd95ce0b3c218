package sqlguard

import (
	"errors"
	"fmt"
	"sort"
	"strings"
)

// ErrRefused is wrapped by every refusal; the message says why.
var ErrRefused = errors.New("query refused")

// RefusalError is the error Check returns. Its message, "query refused: "
// followed by Reason, is written for the query's author and is safe to
// show to any client.
type RefusalError struct {
	// Reason says what is refused and why, in one sentence.
	Reason string
	// Offset is the byte offset in the query of the refused part, or -1
	// when the refusal concerns the whole query.
	Offset int
}

func (e *RefusalError) Error() string { return ErrRefused.Error() + ": " + e.Reason }

// Unwrap makes errors.Is(err, ErrRefused) hold.
func (e *RefusalError) Unwrap() error { return ErrRefused }

func refuse(offset int, format string, args ...any) error {
	return &RefusalError{Reason: fmt.Sprintf(format, args...), Offset: offset}
}

// DefaultTables are the tables a user query may read.
var DefaultTables = []string{"traces"}

// Options configure a Guard.
type Options struct {
	// Tables a query may read; DefaultTables when empty.
	Tables []string
	// Functions allowed besides the built-in list (for example a
	// deployment's own ClickHouse UDFs). A name on the built-in forbidden
	// list stays forbidden.
	Functions []string
	// Limits bound query size; zero fields take DefaultLimits.
	Limits Limits
}

// Guard validates queries. It is safe for concurrent use.
type Guard struct {
	tables    map[string]bool
	functions functionSet
	limits    Limits
}

// New returns a Guard allowing the given tables (DefaultTables when none),
// the built-in functions and DefaultLimits.
func New(tables ...string) *Guard {
	return NewWithOptions(Options{Tables: tables})
}

// NewWithOptions returns a Guard configured by opts.
func NewWithOptions(opts Options) *Guard {
	tables := opts.Tables
	if len(tables) == 0 {
		tables = DefaultTables
	}
	g := &Guard{
		tables:    make(map[string]bool, len(tables)),
		functions: newFunctionSet(builtinFunctions, opts.Functions),
		limits:    opts.Limits.withDefaults(),
	}
	for _, t := range tables {
		g.tables[strings.ToLower(t)] = true
	}
	return g
}

// Limits returns the guard's limits with defaults filled in, for the store
// layers (row cap, timeout, ClickHouseSettings).
func (g *Guard) Limits() Limits { return g.limits }

// Functions returns the allowed function names, sorted, in their
// documented spelling (for help text and the NL forensics prompt).
func (g *Guard) Functions() []string { return g.functions.names() }

// Check returns nil when q may run, or a *RefusalError (wrapping
// ErrRefused) that says what to change.
func (g *Guard) Check(q string) error {
	if len(q) > g.limits.MaxQueryBytes {
		return refuse(-1, "the query is %d bytes long; the limit is %d", len(q), g.limits.MaxQueryBytes)
	}
	for _, backslashEscapes := range []bool{false, true} {
		if err := g.check(q, backslashEscapes); err != nil {
			return err
		}
	}
	return nil
}

// forbiddenKeywords change data, schema, settings or permissions, reach
// outside the store, or are statements other than a query. They are
// refused wherever they appear as a bare word, so a column or alias cannot
// use these names unquoted.
var forbiddenKeywords = map[string]string{}

func init() {
	for reason, words := range map[string]string{
		"it changes data, and queries are read-only":            "insert update delete merge upsert truncate returning",
		"it changes the schema, and queries are read-only":      "drop create alter rename undrop exchange",
		"it opens, switches or detaches databases":              "attach detach use",
		"it reads or writes files":                              "copy export import outfile into",
		"it changes settings; limits are set by tracehound":     "pragma set reset settings",
		"it installs or loads extensions":                       "install load",
		"it runs procedures or prepared statements":             "call execute prepare deallocate",
		"it controls transactions or storage":                   "begin commit rollback abort transaction savepoint checkpoint vacuum",
		"it changes permissions":                                "grant revoke",
		"it is a server command":                                "system kill optimize watch",
		"it inspects the catalog; the schema is documented":     "describe show summarize explain information_schema pg_catalog",
		"it is DuckDB-only; use countIf/sumIf per column":       "pivot unpivot",
		"TABLE x reads a whole table; write SELECT … FROM":      "table",
		"VALUES lists are not allowed; select literals instead": "values",
	} {
		for _, w := range strings.Fields(words) {
			forbiddenKeywords[w] = reason
		}
	}
}

func (g *Guard) check(q string, backslashEscapes bool) error {
	lim := lexLimits{maxBytes: g.limits.MaxQueryBytes, maxTokens: g.limits.MaxTokens, maxDepth: g.limits.MaxDepth}
	toks, hazards, err := lex(q, backslashEscapes, lim)
	if err != nil {
		var se *syntaxError
		if errors.As(err, &se) {
			return refuse(se.pos, "%s", se.msg)
		}
		return refuse(-1, "%v", err)
	}
	if len(hazards) > 0 {
		return refuse(hazards[0].pos, "%s", hazards[0].msg)
	}
	// One statement: a trailing semicolon is tolerated, any other is not.
	for len(toks) > 0 && toks[len(toks)-1].kind == tSemicolon {
		toks = toks[:len(toks)-1]
	}
	if len(toks) == 0 {
		return refuse(-1, "the query is empty")
	}
	for _, t := range toks {
		if t.kind == tSemicolon {
			return refuse(t.pos, "only one statement may run at a time (found a ; before the end)")
		}
	}
	first := toks[0]
	for _, t := range toks {
		if t.kind != tLParen {
			first = t
			break
		}
	}
	if first.kind != tWord || (first.lower != "select" && first.lower != "with" && first.lower != "from") {
		if why, ok := forbiddenKeywords[first.lower]; ok && first.kind == tWord {
			return refuse(first.pos, "only SELECT queries may run: %s %s", strings.ToUpper(first.text), why)
		}
		return refuse(first.pos, "only SELECT queries may run (the query starts with %q)", first.text)
	}
	p, err := parse(toks)
	if err != nil {
		return err
	}
	for _, t := range toks {
		if why, ok := forbiddenKeywords[t.lower]; ok && t.kind == tWord {
			return refuse(t.pos, "%s is not allowed: %s", strings.ToUpper(t.text), why)
		}
	}
	for i, t := range toks {
		if err := g.checkToken(p, i, t); err != nil {
			return err
		}
	}
	return nil
}

// checkToken applies every per-token rule to toks[i].
func (g *Guard) checkToken(p *parsed, i int, t token) error {
	toks := p.toks
	next := func(k int) token {
		if i+k < len(toks) {
			return toks[i+k]
		}
		return token{kind: tSemicolon}
	}
	switch t.kind {
	case tWord:
		switch t.lower {
		case "u":
			// U&'…' unicode escapes hide characters from the guard.
			n := next(1)
			if n.kind == tOperator && n.text == "&" && n.pos == t.end() {
				if m := next(2); (m.kind == tString || m.kind == tQuoted) && m.pos == n.end() {
					return refuse(t.pos, "U&'…' unicode escapes are not allowed; write the characters themselves")
				}
			}
		case "format":
			if n := next(1); n.kind != tLParen {
				return refuse(t.pos, "FORMAT clauses are not allowed: tracehound chooses the output format")
			}
		case "in":
			if n := next(1); (n.kind == tWord || n.kind == tQuoted) && !p.insideCall(i, "position", "strpos") {
				return refuse(n.pos, "IN %s reads the table %s on ClickHouse; write IN (…) with a list or a subquery", n.text, n.text)
			}
		case "join":
			if i > 0 && toks[i-1].kind == tWord && toks[i-1].lower == "array" {
				return refuse(toks[i-1].pos, "ARRAY JOIN is ClickHouse-only; the query must run on both engines")
			}
			return g.checkRelations(p, i)
		case "from":
			if p.insideCall(i, "extract", "trim", "substring", "overlay", "position", "date_part", "datepart") ||
				isDistinctFrom(toks, i) {
				return nil
			}
			return g.checkRelations(p, i)
		}
		if next(1).kind == tLParen {
			return g.checkCall(p, i)
		}
	case tQuoted:
		if next(1).kind == tLParen {
			return g.checkCall(p, i)
		}
	}
	return nil
}

// isDistinctFrom reports whether toks[i] is the FROM of IS [NOT] DISTINCT FROM.
func isDistinctFrom(toks []token, i int) bool {
	if i < 2 || toks[i-1].lower != "distinct" {
		return false
	}
	return toks[i-2].lower == "is" || toks[i-2].lower == "not" && i >= 3 && toks[i-3].lower == "is"
}

// parenKeywords may be followed by "(" without being a function call.
var parenKeywords = setOf(`select from where and or not in exists as on using over filter within group by
	when then else case having join distinct all some like ilike similar to between is interval with
	union except intersect qualify window partition order limit offset exclude rename lateral recursive
	materialized rollup cube sets prewhere global escape rows groups preceding following sample
	tablesample asc desc nulls`)

// typeNames may be followed by "(" after AS in CAST(… AS type(…)) or after ::.
var typeNames = setOf(`decimal numeric varchar char character string text datetime datetime64 date date32
	timestamp timestamptz time nullable array map tuple lowcardinality fixedstring struct list union enum
	enum8 enum16 float double int integer bigint bit interval uuid json ipv4 ipv6 blob varbinary boolean
	bool int8 int16 int32 int64 uint8 uint16 uint32 uint64 float32 float64`)

// checkCall checks the call of the function named by toks[i].
func (g *Guard) checkCall(p *parsed, i int) error {
	toks := p.toks
	t := toks[i]
	if p.notCall[i] {
		return nil
	}
	if t.kind == tWord && parenKeywords[t.lower] {
		return nil
	}
	if i > 0 && typeNames[t.lower] {
		prev := toks[i-1]
		if prev.kind == tWord && prev.lower == "as" || prev.text == ":" && i > 1 && toks[i-2].text == ":" {
			return nil
		}
	}
	name := t.lower
	if why, ok := forbiddenFunctionReason(name); ok {
		return refuse(t.pos, "function %s is not allowed: %s", clip(t.text), why)
	}
	if g.functions.allows(name) {
		return nil
	}
	if s := g.functions.suggest(name); s != "" {
		return refuse(t.pos, "function %s is not allowed (unknown to the guard); did you mean %s?", clip(t.text), s)
	}
	return refuse(t.pos, "function %s is not allowed (unknown to the guard); see the list of allowed functions", clip(t.text))
}

// checkRelations checks the relations that follow the FROM or JOIN at
// toks[i], up to the end of that FROM clause: every relation after it, after
// a comma at the same depth, or after LATERAL. A JOIN further on checks its
// own relation.
func (g *Guard) checkRelations(p *parsed, i int) error {
	toks := p.toks
	expect := true
	for j := i + 1; j < len(toks); {
		t := toks[j]
		if t.kind == tRParen {
			return nil
		}
		if expect {
			if t.kind == tWord && t.lower == "lateral" {
				j++
				continue
			}
			next, err := g.checkRelation(p, i, j)
			if err != nil {
				return err
			}
			j, expect = next, false
			continue
		}
		switch {
		case t.kind == tLParen:
			j = p.match[j] + 1
		case t.kind == tComma:
			expect = true
			j++
		case t.kind == tWord && (t.lower == "join" || clauseEnd[t.lower]):
			return nil
		default:
			j++
		}
	}
	if expect {
		return refuse(toks[i].pos, "%s is not followed by a table", strings.ToUpper(toks[i].text))
	}
	return nil
}

// clauseEnd are reserved words (never an alias on either engine) that end
// a FROM clause.
var clauseEnd = setOf(`where group order having limit offset qualify window union except intersect select
	fetch`)

// checkRelation checks the relation at toks[j] (introduced by toks[from])
// and returns the index after it.
func (g *Guard) checkRelation(p *parsed, from, j int) (int, error) {
	toks := p.toks
	r := toks[j]
	after := func(k int) token {
		if j+k < len(toks) {
			return toks[j+k]
		}
		return token{kind: tSemicolon}
	}
	switch r.kind {
	case tLParen:
		inner := after(1)
		if inner.kind == tLParen || inner.kind == tWord && (inner.lower == "select" || inner.lower == "with" || inner.lower == "from") {
			return p.match[j] + 1, nil
		}
		return 0, refuse(inner.pos, "expected a subquery (SELECT …) in parentheses after %s, found %q", strings.ToUpper(toks[from].text), inner.text)
	case tString:
		return 0, refuse(r.pos, "reading a file or URL (%s) is not allowed: DuckDB would read it as a table; query %s", r.text, g.allowed())
	case tWord, tQuoted:
		name := r.lower
		if n := after(1); n.kind == tDot {
			full := r.text + "." + after(2).text
			if why, ok := forbiddenFunctionReason(name); ok || forbiddenKeywords[name] != "" {
				if !ok {
					why = whyCatalog
				}
				return 0, refuse(r.pos, "table %s is not allowed: %s; query %s", full, why, g.allowed())
			}
			return 0, refuse(r.pos, "table %s is not allowed: tables are named without a database or schema; query %s", full, g.allowed())
		}
		if n := after(1); n.kind == tLParen {
			if why, ok := forbiddenFunctionReason(name); ok {
				return 0, refuse(r.pos, "table function %s is not allowed: %s", r.text, why)
			}
			return 0, refuse(r.pos, "table function %s is not allowed: table functions generate rows the guard cannot check; query %s", r.text, g.allowed())
		}
		if g.tables[name] || p.cteInScope(name, j) {
			return j + 1, nil
		}
		if r.kind == tQuoted && strings.ContainsAny(name, "./:*\\") {
			return 0, refuse(r.pos, "%s looks like a file name, which DuckDB would read (replacement scan); query %s", r.text, g.allowed())
		}
		if why, ok := forbiddenFunctionReason(name); ok {
			return 0, refuse(r.pos, "table %s is not allowed: %s; query %s", r.text, why, g.allowed())
		}
		return 0, refuse(r.pos, "table %s is not allowed; query %s", r.text, g.allowed())
	}
	return 0, refuse(r.pos, "unexpected %q after %s; expected a table or a subquery", r.text, strings.ToUpper(toks[from].text))
}

func (g *Guard) allowed() string {
	names := make([]string, 0, len(g.tables))
	for n := range g.tables {
		names = append(names, n)
	}
	sort.Strings(names)
	if len(names) == 1 {
		return "the " + names[0] + " table"
	}
	return "one of the tables " + strings.Join(names, ", ")
}

func setOf(words string) map[string]bool {
	m := map[string]bool{}
	for _, w := range strings.Fields(words) {
		m[w] = true
	}
	return m
}
