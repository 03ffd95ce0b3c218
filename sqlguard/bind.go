package sqlguard

import (
	"fmt"
	"strings"
	"time"
)

// BindNow returns q with every reference to the current time replaced by
// the fixed time at, so that a scheduled rule, a backtest step or a
// forensic query sees "now" as its evaluation time rather than the wall
// clock. It rewrites now(), now64(…), current_timestamp and
// localtimestamp to a UTC timestamp literal, and today(), yesterday() and
// current_date to dates, in the ClickHouse dialect that both stores
// accept. Words inside string literals, quoted identifiers and comments
// are left alone. It fails when the query cannot be tokenized or when the
// two readings of backslashes in strings (DuckDB's and ClickHouse's)
// disagree about where a reference is.
func BindNow(q string, at time.Time) (string, error) {
	at = at.UTC()
	return RewriteNow(q, fmt.Sprintf("toDateTime64('%s', 6, 'UTC')", at.Format("2006-01-02 15:04:05.000000")))
}

// RewriteNow is BindNow with an SQL expression in place of the fixed time:
// every current-time reference becomes nowExpr (today() becomes
// toDate(nowExpr), yesterday() toDate(nowExpr) - 1). A backtest uses it to
// evaluate a rule at many times in one query, with nowExpr naming a column
// of evaluation times. nowExpr is inserted verbatim: it must come from the
// caller, never from user input.
func RewriteNow(q, nowExpr string) (string, error) {
	var edits [][]edit
	for _, backslashEscapes := range []bool{false, true} {
		toks, err := tokenize(q, backslashEscapes)
		if err != nil {
			return "", fmt.Errorf("%w: %v", ErrRefused, err)
		}
		edits = append(edits, nowEdits(toks, nowExpr))
	}
	if !sameEdits(edits[0], edits[1]) {
		return "", fmt.Errorf("%w: the query's string literals read differently with and without backslash escapes; write them without backslashes", ErrRefused)
	}
	var b strings.Builder
	last := 0
	for _, e := range edits[0] {
		b.WriteString(q[last:e.start])
		b.WriteString(e.text)
		last = e.end
	}
	b.WriteString(q[last:])
	return b.String(), nil
}

type edit struct {
	start, end int
	text       string
}

func sameEdits(a, b []edit) bool {
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

// nowEdits finds the time references among toks.
func nowEdits(toks []token, nowExpr string) []edit {
	var out []edit
	for i := 0; i < len(toks); i++ {
		t := toks[i]
		if t.kind != tWord || (i > 0 && toks[i-1].kind == tDot) {
			continue
		}
		var text string
		switch t.lower {
		case "now", "now64", "current_timestamp", "localtimestamp", "get_current_timestamp", "transaction_timestamp":
			text = nowExpr
		case "today", "current_date":
			text = "toDate(" + nowExpr + ")"
		case "yesterday":
			text = "(toDate(" + nowExpr + ") - 1)"
		default:
			continue
		}
		end := t.pos + len(t.text)
		hasArgs := i+1 < len(toks) && toks[i+1].kind == tLParen
		if hasArgs {
			// Skip the argument list: now64(9), now('UTC').
			depth, j := 0, i+1
			for ; j < len(toks); j++ {
				if toks[j].kind == tLParen {
					depth++
				} else if toks[j].kind == tRParen {
					depth--
					if depth == 0 {
						break
					}
				}
			}
			if j == len(toks) {
				continue // unbalanced; the store reports the syntax error
			}
			end = toks[j].pos + 1
			i = j
		} else if t.lower != "current_timestamp" && t.lower != "localtimestamp" && t.lower != "current_date" {
			continue // a column or alias named "now", not a call
		}
		out = append(out, edit{start: t.pos, end: end, text: text})
	}
	return out
}
