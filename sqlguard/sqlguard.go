// Package sqlguard decides whether a query may run against the trace store:
// exactly one read-only SELECT (or WITH … SELECT) over allow-listed tables,
// with no function or syntax that reaches outside the store (files, URLs,
// other databases, settings). It works on tokens, so keywords hidden in
// string literals or comments neither trigger nor escape it.
//
// The guard is one layer: the store also disables external access and
// configuration changes, so a query the guard wrongly lets through still
// cannot read files or change settings.
package sqlguard

import (
	"errors"
	"fmt"
	"strings"
)

// ErrRefused is wrapped by every refusal; the message says why.
var ErrRefused = errors.New("query refused")

// DefaultTables are the tables a user query may read.
var DefaultTables = []string{"traces"}

// Guard validates queries.
type Guard struct {
	tables map[string]bool
}

// New returns a Guard allowing the given tables (DefaultTables when none).
func New(tables ...string) *Guard {
	if len(tables) == 0 {
		tables = DefaultTables
	}
	g := &Guard{tables: make(map[string]bool, len(tables))}
	for _, t := range tables {
		g.tables[strings.ToLower(t)] = true
	}
	return g
}

// forbiddenKeywords change data, schema, settings or reach outside the store.
var forbiddenKeywords = map[string]bool{
	"insert": true, "update": true, "delete": true, "merge": true, "upsert": true,
	"drop": true, "create": true, "alter": true, "truncate": true, "rename": true,
	"attach": true, "detach": true, "copy": true, "export": true, "import": true,
	"pragma": true, "install": true, "load": true, "set": true, "reset": true, "call": true,
	"checkpoint": true, "vacuum": true, "begin": true, "commit": true, "rollback": true,
	"grant": true, "revoke": true, "use": true, "execute": true, "prepare": true, "deallocate": true,
	"outfile": true, "settings": true, "system": true, "kill": true, "optimize": true, "describe": true,
	"show": true, "summarize": true, "into": true,
}

// forbiddenFunctions read files, URLs, the environment or the catalog.
var forbiddenFunctions = map[string]bool{
	"read_csv": true, "read_csv_auto": true, "read_parquet": true, "parquet_scan": true, "read_json": true,
	"read_json_auto": true, "read_json_objects": true, "read_ndjson": true, "read_text": true, "read_blob": true,
	"glob": true, "getenv": true, "current_setting": true, "query": true, "query_table": true,
	"sqlite_scan": true, "postgres_scan": true, "mysql_scan": true, "iceberg_scan": true, "delta_scan": true,
	"read_xlsx": true, "st_read": true, "httpfs": true, "url": true, "file": true, "remote": true,
	"remotesecure": true, "cluster": true, "clusterallreplicas": true, "s3": true, "s3cluster": true,
	"hdfs": true, "mysql": true, "postgresql": true, "jdbc": true, "odbc": true, "input": true,
	"executable": true, "dictionary": true, "dictget": true, "system": true, "sleep": true, "sleepeachrow": true,
}

// Check returns nil when q may run, or an error wrapping ErrRefused that
// says what to change.
func (g *Guard) Check(q string) error {
	for _, backslashEscapes := range []bool{false, true} {
		if err := g.check(q, backslashEscapes); err != nil {
			return err
		}
	}
	return nil
}

func (g *Guard) check(q string, backslashEscapes bool) error {
	toks, err := tokenize(q, backslashEscapes)
	if err != nil {
		return fmt.Errorf("%w: %v", ErrRefused, err)
	}
	// One statement: a trailing semicolon is tolerated, any other is not.
	for len(toks) > 0 && toks[len(toks)-1].kind == tSemicolon {
		toks = toks[:len(toks)-1]
	}
	if len(toks) == 0 {
		return fmt.Errorf("%w: the query is empty", ErrRefused)
	}
	for _, t := range toks {
		if t.kind == tSemicolon {
			return fmt.Errorf("%w: only one statement may run at a time", ErrRefused)
		}
	}
	first := toks[0]
	if first.kind != tWord || (first.lower != "select" && first.lower != "with" && first.lower != "from") {
		return fmt.Errorf("%w: only SELECT queries may run (the query starts with %q)", ErrRefused, first.text)
	}
	ctes := map[string]bool{}
	for i, t := range toks {
		switch t.kind {
		case tWord:
			if forbiddenKeywords[t.lower] {
				return fmt.Errorf("%w: %s is not allowed: queries are read-only", ErrRefused, strings.ToUpper(t.text))
			}
			if i+1 < len(toks) && toks[i+1].kind == tLParen && forbiddenFunctions[t.lower] {
				return fmt.Errorf("%w: function %s reads outside the trace store", ErrRefused, t.text)
			}
			if t.lower == "as" && i > 0 && i+1 < len(toks) && toks[i+1].kind == tLParen && toks[i-1].kind == tWord {
				ctes[toks[i-1].lower] = true
			}
		case tQuoted:
			// A quoted identifier that names a forbidden function is still that function.
			if i+1 < len(toks) && toks[i+1].kind == tLParen && forbiddenFunctions[t.lower] {
				return fmt.Errorf("%w: function %s reads outside the trace store", ErrRefused, t.text)
			}
		}
	}
	return g.checkTables(toks, ctes)
}

// checkTables verifies every relation after FROM or JOIN: an allowed table,
// a CTE name, or a subquery.
func (g *Guard) checkTables(toks []token, ctes map[string]bool) error {
	for i := 0; i < len(toks); i++ {
		t := toks[i]
		if t.kind != tWord || (t.lower != "from" && t.lower != "join") {
			continue
		}
		// FROM inside EXTRACT(x FROM y) / TRIM(… FROM …) / SUBSTRING is not a relation.
		if t.lower == "from" && insideFunctionArgs(toks, i) {
			continue
		}
		for j := i + 1; j < len(toks); j++ {
			r := toks[j]
			switch {
			case r.kind == tLParen:
				// A subquery; its own FROM clauses are checked in turn.
			case r.kind == tString:
				return fmt.Errorf("%w: reading a file or URL (%s) is not allowed", ErrRefused, r.text)
			case r.kind == tWord || r.kind == tQuoted:
				name := r.lower
				if j+2 < len(toks) && toks[j+1].kind == tDot {
					return fmt.Errorf("%w: table %s.%s is not allowed; query %s", ErrRefused, r.text, toks[j+2].text, g.allowed())
				}
				if j+1 < len(toks) && toks[j+1].kind == tLParen {
					return fmt.Errorf("%w: table function %s is not allowed; query %s", ErrRefused, r.text, g.allowed())
				}
				if !g.tables[name] && !ctes[name] {
					return fmt.Errorf("%w: table %s is not allowed; query %s", ErrRefused, r.text, g.allowed())
				}
				// Further comma-separated relations.
				k := j + 1
				for k < len(toks) && toks[k].kind != tComma && !isClauseEnd(toks[k]) {
					k++
				}
				if k < len(toks) && toks[k].kind == tComma {
					j = k
					continue
				}
			default:
				return fmt.Errorf("%w: unexpected %q after %s", ErrRefused, r.text, strings.ToUpper(t.text))
			}
			break
		}
	}
	return nil
}

func (g *Guard) allowed() string {
	names := make([]string, 0, len(g.tables))
	for n := range g.tables {
		names = append(names, n)
	}
	if len(names) == 1 {
		return "the " + names[0] + " table"
	}
	return "one of: " + strings.Join(names, ", ")
}

// insideFunctionArgs reports whether toks[i] sits inside the parentheses of
// a function call such as EXTRACT(… FROM …) rather than a subquery.
func insideFunctionArgs(toks []token, i int) bool {
	depth := 0
	for j := i - 1; j >= 0; j-- {
		switch toks[j].kind {
		case tRParen:
			depth++
		case tLParen:
			if depth == 0 {
				if j > 0 && toks[j-1].kind == tWord {
					switch toks[j-1].lower {
					case "extract", "trim", "substring", "overlay", "position", "date_part":
						return true
					}
				}
				return false
			}
			depth--
		}
	}
	return false
}

func isClauseEnd(t token) bool {
	if t.kind == tRParen {
		return true
	}
	if t.kind != tWord {
		return false
	}
	switch t.lower {
	case "where", "group", "order", "having", "limit", "join", "left", "right", "inner", "outer", "full",
		"cross", "on", "using", "union", "except", "intersect", "window", "qualify", "offset", "asof", "natural",
		"positional", "anti", "semi", "lateral", "sample", "tablesample":
		return true
	}
	return false
}
