package clickhouse

import (
	"strconv"
	"strings"
)

// The legacy rendering exists for one purpose: to run tracehound's SQL on
// the only ClickHouse Debian packages, 18.16 (2018), in CI. That server
// has no DateTime64, Map, LowCardinality (without an experimental
// setting), codecs, TTL or bloom-filter indexes, so the legacy schema
// stores timestamps as DateTime('UTC') (whole seconds), the attribute maps
// as Nested(key, value) and drops the rest (see schema/*.tmpl), and
// legacyRewrite maps the few spellings that differ:
//
//   - toDateTime64('…', p[, tz]) → toDateTime('…'[, tz]), fraction dropped
//     (sqlguard.BindNow writes now() so);
//   - m[k] → m.value[indexOf(m.key, k)] for m in span_attributes and
//     resource_attributes ('' when absent, as a Map gives);
//   - mapContains(m, k) → has(m.key, k); mapKeys(m) → m.key;
//     mapValues(m) → m.value;
//   - toStartOfInterval(t, INTERVAL n unit) → toDateTime(toMonday(t)) for
//     one week (18.16 compares a DateTime with a Date as raw numbers, so
//     the Date must be converted), toStartOfDay(t) for one day, the epoch seconds rounded down to the
//     interval for seconds, minutes and hours (ClickHouse 19.x added it);
//   - toStartOfFiveMinutes → toStartOfFiveMinute (the older name);
//   - toBool(x) → (x), a UInt8 (18.16 has no Bool);
//   - quantilesExactInclusive → quantilesExact (no interpolation: the
//     values differ, which the tests that use it allow for).
//
// Production never uses it: Open refuses servers older than 23.8.

// mapColumns are the columns that are Maps natively and Nested in legacy.
var mapColumns = map[string]bool{"span_attributes": true, "resource_attributes": true}

// legacyRewrite returns q in the spellings ClickHouse 18.16 runs. A query
// that does not lex is returned unchanged for the server to refuse.
func legacyRewrite(q string) string {
	toks, err := lex(q)
	if err != nil {
		return q
	}
	return rewriteTokens(toks)
}

func rewriteTokens(toks []token) string {
	var b strings.Builder
	for i := 0; i < len(toks); i++ {
		t := toks[i]
		if t.kind != tWord {
			b.WriteString(t.text)
			continue
		}
		lower := strings.ToLower(t.text)
		switch {
		case lower == "todatetime64":
			if s, n, ok := rewriteDateTime64(toks[i:]); ok {
				b.WriteString(s)
				i += n - 1
				continue
			}
		case lower == "tostartofinterval":
			if s, n, ok := rewriteStartOfInterval(toks[i:]); ok {
				b.WriteString(s)
				i += n - 1
				continue
			}
		case lower == "tostartoffiveminutes":
			b.WriteString("toStartOfFiveMinute")
			continue
		case lower == "quantilesexactinclusive":
			b.WriteString("quantilesExact")
			continue
		case lower == "tobool" && i+1 < len(toks) && toks[i+1].text == "(":
			continue
		case mapColumns[t.text] && i+1 < len(toks) && toks[i+1].text == "[" && !afterDot(toks, i):
			if end := matching(toks, i+1, "[", "]"); end > 0 {
				b.WriteString(t.text + ".value[indexOf(" + t.text + ".key, " + rewriteTokens(toks[i+2:end]) + ")]")
				i = end
				continue
			}
		case lower == "mapcontains" || lower == "mapkeys" || lower == "mapvalues":
			// fn ( m , … ) or fn ( m )
			j := next(toks, i+1)
			if j < 0 || toks[j].text != "(" {
				break
			}
			k := next(toks, j+1)
			if k < 0 || !mapColumns[toks[k].text] {
				break
			}
			m := toks[k].text
			after := next(toks, k+1)
			if after < 0 {
				break
			}
			if lower == "mapcontains" && toks[after].text == "," {
				b.WriteString("has(" + m + ".key")
				i = after - 1
				continue
			}
			if lower != "mapcontains" && toks[after].text == ")" {
				if lower == "mapkeys" {
					b.WriteString(m + ".key")
				} else {
					b.WriteString(m + ".value")
				}
				i = after
				continue
			}
		}
		b.WriteString(t.text)
	}
	return b.String()
}

// rewriteDateTime64 turns toDateTime64('…', p[, 'tz']) at toks[0] into
// toDateTime('…'[, 'tz']) and says how many tokens it consumed.
func rewriteDateTime64(toks []token) (string, int, bool) {
	var args [][]token
	j := next(toks, 1)
	if j < 0 || toks[j].text != "(" {
		return "", 0, false
	}
	end := matching(toks, j, "(", ")")
	if end < 0 {
		return "", 0, false
	}
	var cur []token
	for _, t := range toks[j+1 : end] {
		if t.text == "," {
			args = append(args, cur)
			cur = nil
			continue
		}
		if t.kind != tSpace && t.kind != tComment {
			cur = append(cur, t)
		}
	}
	args = append(args, cur)
	if len(args) < 2 || len(args) > 3 || len(args[0]) != 1 || args[0][0].kind != tString {
		return "", 0, false
	}
	lit := args[0][0].text
	if dot := strings.IndexByte(lit, '.'); dot > 0 {
		lit = lit[:dot] + "'"
	}
	out := "toDateTime(" + lit
	if len(args) == 3 {
		if len(args[2]) != 1 || args[2][0].kind != tString {
			return "", 0, false
		}
		out += ", " + args[2][0].text
	}
	return out + ")", end + 1, true
}

// callArgs splits the call at toks[0] into its arguments (tokens without
// spaces and comments) and returns the index of its closing bracket.
func callArgs(toks []token) ([][]token, int, bool) {
	j := next(toks, 1)
	if j < 0 || toks[j].text != "(" {
		return nil, 0, false
	}
	end := matching(toks, j, "(", ")")
	if end < 0 {
		return nil, 0, false
	}
	var args [][]token
	var cur []token
	depth := 0
	for _, t := range toks[j+1 : end] {
		switch t.text {
		case "(", "[":
			depth++
		case ")", "]":
			depth--
		}
		if t.text == "," && depth == 0 {
			args = append(args, cur)
			cur = nil
			continue
		}
		cur = append(cur, t)
	}
	return append(args, cur), end, true
}

func words(toks []token) []token {
	var out []token
	for _, t := range toks {
		if t.kind != tSpace && t.kind != tComment {
			out = append(out, t)
		}
	}
	return out
}

// rewriteStartOfInterval turns toStartOfInterval(t, INTERVAL n unit) at
// toks[0] into functions ClickHouse 18.16 has.
func rewriteStartOfInterval(toks []token) (string, int, bool) {
	args, end, ok := callArgs(toks)
	if !ok || len(args) != 2 {
		return "", 0, false
	}
	iv := words(args[1])
	if len(iv) != 3 || !strings.EqualFold(iv[0].text, "INTERVAL") {
		return "", 0, false
	}
	n, err := strconv.Atoi(iv[1].text)
	if err != nil || n < 1 {
		return "", 0, false
	}
	t := rewriteTokens(args[0])
	unit := strings.ToUpper(iv[2].text)
	switch {
	case unit == "WEEK" && n == 1:
		return "toDateTime(toMonday(" + t + "), 'UTC')", end + 1, true
	case unit == "DAY" && n == 1:
		return "toStartOfDay(" + t + ")", end + 1, true
	}
	secs := map[string]int{"SECOND": 1, "MINUTE": 60, "HOUR": 3600}[unit]
	if secs == 0 {
		return "", 0, false
	}
	step := strconv.Itoa(n * secs)
	return "toDateTime(intDiv(toUInt32(" + t + "), " + step + ") * " + step + ", 'UTC')", end + 1, true
}

// next returns the index of the first token from i on that is not space
// or a comment, or -1.
func next(toks []token, i int) int {
	for ; i < len(toks); i++ {
		if toks[i].kind != tSpace && toks[i].kind != tComment {
			return i
		}
	}
	return -1
}

// matching returns the index of the token closing the bracket at toks[i].
func matching(toks []token, i int, open, close string) int {
	depth := 0
	for j := i; j < len(toks); j++ {
		switch toks[j].text {
		case open:
			depth++
		case close:
			depth--
			if depth == 0 {
				return j
			}
		}
	}
	return -1
}

func afterDot(toks []token, i int) bool { return i > 0 && toks[i-1].text == "." }
