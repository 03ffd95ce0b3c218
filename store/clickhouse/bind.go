package clickhouse

import (
	"database/sql/driver"
	"errors"
	"fmt"
	"math"
	"reflect"
	"strconv"
	"strings"
	"time"
)

// tokKind classifies the pieces of a query the binder and the legacy
// rewrite need to tell apart; everything else is tOther.
type tokKind uint8

const (
	tOther       tokKind = iota
	tSpace               // whitespace
	tComment             // -- … or /* … */
	tString              // '…'
	tIdent               // "…" or `…`
	tWord                // a bare identifier or keyword
	tPlaceholder         // ?
	tNumbered            // $1, $2, … (DuckDB's spelling, which tracehound also accepts)
)

type token struct {
	kind tokKind
	text string
}

var errUnterminated = errors.New("unterminated string, quoted identifier or comment")

// lex splits q into tokens as ClickHouse reads it: strings and quoted
// identifiers take backslash escapes and doubled quotes, comments are
// -- to the end of the line and /* … */ (nested, as ClickHouse allows).
func lex(q string) ([]token, error) {
	var out []token
	for i := 0; i < len(q); {
		c := q[i]
		start := i
		kind := tOther
		switch {
		case c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v':
			for i < len(q) && strings.IndexByte(" \t\n\r\f\v", q[i]) >= 0 {
				i++
			}
			kind = tSpace
		case c == '-' && i+1 < len(q) && q[i+1] == '-':
			for i < len(q) && q[i] != '\n' {
				i++
			}
			kind = tComment
		case c == '/' && i+1 < len(q) && q[i+1] == '*':
			depth := 0
			for {
				if i+1 >= len(q) {
					return nil, errUnterminated
				}
				if q[i] == '/' && q[i+1] == '*' {
					depth++
					i += 2
				} else if q[i] == '*' && q[i+1] == '/' {
					depth--
					i += 2
					if depth == 0 {
						break
					}
				} else {
					i++
				}
			}
			kind = tComment
		case c == '\'' || c == '"' || c == '`':
			i++
			for {
				if i >= len(q) {
					return nil, errUnterminated
				}
				if q[i] == '\\' {
					i += 2
					continue
				}
				if q[i] == c {
					if i+1 < len(q) && q[i+1] == c {
						i += 2
						continue
					}
					i++
					break
				}
				i++
			}
			kind = tIdent
			if c == '\'' {
				kind = tString
			}
		case c == '?':
			i++
			kind = tPlaceholder
		case c == '$' && i+1 < len(q) && q[i+1] >= '0' && q[i+1] <= '9':
			i++
			for i < len(q) && q[i] >= '0' && q[i] <= '9' {
				i++
			}
			kind = tNumbered
		case isWordStart(c):
			for i < len(q) && isWordByte(q[i]) {
				i++
			}
			kind = tWord
		case c >= '0' && c <= '9':
			for i < len(q) && (isWordByte(q[i]) || q[i] == '.') {
				i++
			}
		default:
			i++
		}
		out = append(out, token{kind: kind, text: q[start:i]})
	}
	return out, nil
}

func isWordStart(c byte) bool {
	return c == '_' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= 0x80
}

func isWordByte(c byte) bool { return isWordStart(c) || c >= '0' && c <= '9' || c == '$' }

// bind replaces the positional placeholders of q, ? or $1, $2, … (not
// both), with args as ClickHouse literals. Without arguments q is returned
// unchanged, so that a query using ?: as the ternary operator still runs.
// legacy renders times and booleans for ClickHouse 18.16.
func bind(q string, args []any, legacy bool) (string, error) {
	if len(args) == 0 {
		return q, nil
	}
	toks, err := lex(q)
	if err != nil {
		return "", err
	}
	var marks, numbered int
	used := make([]bool, len(args))
	for _, t := range toks {
		switch t.kind {
		case tPlaceholder:
			marks++
		case tNumbered:
			numbered++
			n, err := strconv.Atoi(t.text[1:])
			if err != nil || n < 1 || n > len(args) {
				return "", fmt.Errorf("%s: there are %d arguments", t.text, len(args))
			}
			used[n-1] = true
		}
	}
	switch {
	case marks > 0 && numbered > 0:
		return "", errors.New("the query mixes ? and $n placeholders")
	case numbered > 0:
		for i, u := range used {
			if !u {
				return "", fmt.Errorf("argument %d is not used: the query has no $%d", i+1, i+1)
			}
		}
	case marks != len(args):
		return "", fmt.Errorf("the query has %d ? placeholders and %d arguments", marks, len(args))
	}
	lits := make([]string, len(args))
	for i, a := range args {
		if lits[i], err = literal(a, legacy); err != nil {
			return "", fmt.Errorf("argument %d: %w", i+1, err)
		}
	}
	var b strings.Builder
	b.Grow(len(q) + 16*len(args))
	i := 0
	afterLit := false
	for _, t := range toks {
		var lit string
		switch t.kind {
		case tPlaceholder:
			lit = lits[i]
			i++
		case tNumbered:
			n, _ := strconv.Atoi(t.text[1:])
			lit = lits[n-1]
		default:
			// A literal must not merge with its neighbours: 'a''b' is one
			// string, 12 one number.
			if afterLit && sticks(t.text[0]) {
				b.WriteByte(' ')
			}
			b.WriteString(t.text)
			afterLit = false
			continue
		}
		if s := b.String(); s != "" && sticks(s[len(s)-1]) {
			b.WriteByte(' ')
		}
		b.WriteString(lit)
		afterLit = true
	}
	return b.String(), nil
}

// sticks reports whether c would join a literal next to it into one token.
func sticks(c byte) bool { return isWordByte(c) || c == '\'' || c == '"' || c == '`' || c == '.' }

// timeLayout is how bind writes a time: UTC, to the nanosecond.
const timeLayout = "2006-01-02 15:04:05.000000000"

// literal renders v as a ClickHouse literal.
func literal(v any, legacy bool) (string, error) {
	switch x := v.(type) {
	case nil:
		return "NULL", nil
	case string:
		return quoteString(x), nil
	case []byte:
		return quoteString(string(x)), nil
	case bool:
		switch {
		case legacy && x:
			return "1", nil
		case legacy:
			return "0", nil
		}
		return strconv.FormatBool(x), nil
	case int:
		return signed(int64(x)), nil
	case int8:
		return signed(int64(x)), nil
	case int16:
		return signed(int64(x)), nil
	case int32:
		return signed(int64(x)), nil
	case int64:
		return signed(x), nil
	case uint:
		return strconv.FormatUint(uint64(x), 10), nil
	case uint8:
		return strconv.FormatUint(uint64(x), 10), nil
	case uint16:
		return strconv.FormatUint(uint64(x), 10), nil
	case uint32:
		return strconv.FormatUint(uint64(x), 10), nil
	case uint64:
		return strconv.FormatUint(x, 10), nil
	case float32:
		return float(float64(x)), nil
	case float64:
		return float(x), nil
	case time.Time:
		t := x.UTC()
		if legacy {
			return "toDateTime('" + t.Format(time.DateTime) + "', 'UTC')", nil
		}
		return "toDateTime64('" + t.Format(timeLayout) + "', 9, 'UTC')", nil
	case time.Duration:
		return "", errors.New("a time.Duration has no ClickHouse literal; pass nanoseconds or an INTERVAL in the query")
	case driver.Valuer:
		if rv := reflect.ValueOf(v); rv.Kind() == reflect.Pointer && rv.IsNil() {
			return "NULL", nil
		}
		dv, err := x.Value()
		if err != nil {
			return "", err
		}
		if _, again := dv.(driver.Valuer); again {
			return "", fmt.Errorf("%T: Value returned another Valuer", v)
		}
		return literal(dv, legacy)
	}
	rv := reflect.ValueOf(v)
	switch rv.Kind() {
	case reflect.Pointer:
		if rv.IsNil() {
			return "NULL", nil
		}
		return literal(rv.Elem().Interface(), legacy)
	case reflect.Slice, reflect.Array:
		var b strings.Builder
		b.WriteByte('[')
		for i := range rv.Len() {
			if i > 0 {
				b.WriteString(", ")
			}
			s, err := literal(rv.Index(i).Interface(), legacy)
			if err != nil {
				return "", err
			}
			b.WriteString(s)
		}
		b.WriteByte(']')
		return b.String(), nil
	case reflect.String:
		return quoteString(rv.String()), nil
	case reflect.Bool:
		return literal(rv.Bool(), legacy)
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return signed(rv.Int()), nil
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return strconv.FormatUint(rv.Uint(), 10), nil
	case reflect.Float32, reflect.Float64:
		return float(rv.Float()), nil
	}
	return "", fmt.Errorf("unsupported argument type %T", v)
}

// signed parenthesises negative numbers, so that "x -?" cannot become a
// comment.
func signed(n int64) string {
	if n < 0 {
		return "(" + strconv.FormatInt(n, 10) + ")"
	}
	return strconv.FormatInt(n, 10)
}

func float(f float64) string {
	switch {
	case math.IsNaN(f):
		return "nan"
	case math.IsInf(f, 1):
		return "inf"
	case math.IsInf(f, -1):
		return "(-inf)"
	case f < 0 || f == 0 && math.Signbit(f):
		return "(" + strconv.FormatFloat(f, 'g', -1, 64) + ")"
	}
	return strconv.FormatFloat(f, 'g', -1, 64)
}
