package clickhouse

import (
	"database/sql/driver"
	"errors"
	"math"
	"strings"
	"testing"
	"time"
	"unicode/utf8"
)

type valuer struct{ v any }

func (v valuer) Value() (driver.Value, error) { return v.v, nil }

type badValuer struct{}

func (badValuer) Value() (driver.Value, error) { return nil, errors.New("no value") }

func TestBind(t *testing.T) {
	ts := time.Date(2026, 3, 2, 2, 17, 0, 123456789, time.FixedZone("X", 3600))
	s := "it's"
	for _, tc := range []struct {
		q      string
		args   []any
		want   string
		legacy string // when it differs
	}{
		{"SELECT ?", []any{"a'b\\c"}, `SELECT 'a\'b\\c'`, ""},
		{"SELECT ?, ?, ?, ?", []any{int64(-3), uint64(1 << 63), 2.5, true}, "SELECT (-3), 9223372036854775808, 2.5, true", "SELECT (-3), 9223372036854775808, 2.5, 1"},
		{"x -?", []any{-1}, "x -(-1)", ""},
		{"WHERE t >= ?", []any{ts}, "WHERE t >= toDateTime64('2026-03-02 01:17:00.123456789', 9, 'UTC')", "WHERE t >= toDateTime('2026-03-02 01:17:00', 'UTC')"},
		{"SELECT ? IN ?", []any{nil, []string{"a", "b"}}, "SELECT NULL IN ['a', 'b']", ""},
		{"SELECT ?", []any{[]uint64{1, 2}}, "SELECT [1, 2]", ""},
		{"SELECT ?", []any{[][]int32{{1}, {-2}}}, "SELECT [[1], [(-2)]]", ""},
		{"SELECT ?", []any{[]byte("raw")}, "SELECT 'raw'", ""},
		{"SELECT ?", []any{&s}, `SELECT 'it\'s'`, ""},
		{"SELECT ?", []any{(*string)(nil)}, "SELECT NULL", ""},
		{"SELECT ?", []any{valuer{int64(7)}}, "SELECT 7", ""},
		{"SELECT ?", []any{math.Inf(-1)}, "SELECT (-inf)", ""},
		{"SELECT ?", []any{math.NaN()}, "SELECT nan", ""},
		{"SELECT ?", []any{"nul\x00"}, `SELECT 'nul\0'`, ""},
		// Placeholders inside strings, quoted identifiers and comments stay.
		{"SELECT '?', \"a?\", `b?`, ? -- ?\n/* ? /* ? */ */", []any{1}, "SELECT '?', \"a?\", `b?`, 1 -- ?\n/* ? /* ? */ */", ""},
		{`SELECT 'a\'?', ?`, []any{2}, `SELECT 'a\'?', 2`, ""},
		{"SELECT 'a''?', ?", []any{2}, "SELECT 'a''?', 2", ""},
		// Adjacent literals stay apart.
		{"SELECT ??", []any{"a", "b"}, "SELECT 'a' 'b'", ""},
		{"SELECT ?1, x.?", []any{5, 6}, "SELECT 5 1, x. 6", ""},
		// DuckDB's numbered form, reused and out of order.
		{"SELECT $2, $1, $2", []any{"a", "b"}, "SELECT 'b', 'a', 'b'", ""},
		// Without arguments the query is left alone (?: is an operator).
		{"SELECT 1 ? 2 : 3", nil, "SELECT 1 ? 2 : 3", ""},
		// $ inside identifiers is not a placeholder.
		{"SELECT `resource_string_service$$name`, a$1 FROM t WHERE x = ?", []any{1}, "SELECT `resource_string_service$$name`, a$1 FROM t WHERE x = 1", ""},
	} {
		got, err := bind(tc.q, tc.args, false)
		if err != nil || got != tc.want {
			t.Errorf("bind(%q, %v) = %q, %v; want %q", tc.q, tc.args, got, err, tc.want)
		}
		want := tc.want
		if tc.legacy != "" {
			want = tc.legacy
		}
		if got, err := bind(tc.q, tc.args, true); err != nil || got != want {
			t.Errorf("legacy bind(%q, %v) = %q, %v; want %q", tc.q, tc.args, got, err, want)
		}
	}
}

func TestBindErrors(t *testing.T) {
	for _, tc := range []struct {
		q    string
		args []any
		msg  string
	}{
		{"SELECT ?, ?", []any{1}, "2 ? placeholders and 1 arguments"},
		{"SELECT ?", []any{1, 2}, "1 ? placeholders and 2 arguments"},
		{"SELECT $1, ?", []any{1}, "mixes"},
		{"SELECT $2", []any{1}, "$2"},
		{"SELECT $1", []any{1, 2}, "argument 2 is not used"},
		{"SELECT ?", []any{time.Second}, "time.Duration"},
		{"SELECT ?", []any{struct{}{}}, "unsupported argument type"},
		{"SELECT ?", []any{map[string]int{}}, "unsupported argument type"},
		{"SELECT ?", []any{badValuer{}}, "no value"},
		{"SELECT '?", []any{1}, "unterminated"},
		{"SELECT ? /*", []any{1}, "unterminated"},
	} {
		_, err := bind(tc.q, tc.args, false)
		if err == nil || !strings.Contains(err.Error(), tc.msg) {
			t.Errorf("bind(%q, %v) = %v, want an error containing %q", tc.q, tc.args, err, tc.msg)
		}
	}
}

// unquote reads a ClickHouse string literal as the server does.
func unquote(lit string) (string, bool) {
	if len(lit) < 2 || lit[0] != '\'' || lit[len(lit)-1] != '\'' {
		return "", false
	}
	var b strings.Builder
	body := lit[1 : len(lit)-1]
	for i := 0; i < len(body); i++ {
		c := body[i]
		switch {
		case c == '\\' && i+1 < len(body):
			i++
			switch body[i] {
			case '0':
				b.WriteByte(0)
			case 'n':
				b.WriteByte('\n')
			default:
				b.WriteByte(body[i])
			}
		case c == '\'':
			return "", false // an unescaped quote would end the literal
		default:
			b.WriteByte(c)
		}
	}
	return b.String(), true
}

// FuzzBind checks that any string argument comes out as one literal the
// server reads back as that string, wherever the placeholder sits, and
// that text without placeholders passes through unchanged.
func FuzzBind(f *testing.F) {
	for _, s := range []string{"", "a'b", `\`, `\'`, "''", "x?y", "\x00", "é", "--", "/*"} {
		f.Add("SELECT ?", s)
		f.Add("SELECT '?', ? -- ?", s)
	}
	f.Fuzz(func(t *testing.T, q, arg string) {
		toks, err := lex(q)
		if err != nil {
			if _, berr := bind(q, []any{arg}, false); berr == nil {
				t.Fatalf("bind accepted %q, which does not lex: %v", q, err)
			}
			return
		}
		var rebuilt strings.Builder
		n := 0
		for _, tk := range toks {
			rebuilt.WriteString(tk.text)
			if tk.kind == tPlaceholder {
				n++
			}
		}
		if rebuilt.String() != q {
			t.Fatalf("lex(%q) loses text: %q", q, rebuilt.String())
		}
		lit := quoteString(arg)
		if got, ok := unquote(lit); !ok || got != arg {
			t.Fatalf("quoteString(%q) = %s, which reads back as %q", arg, lit, got)
		}
		args := make([]any, n)
		for i := range args {
			args[i] = arg
		}
		got, err := bind(q, args, false)
		if n == 0 {
			if got != q || err != nil {
				t.Fatalf("bind(%q) with no placeholders = %q, %v", q, got, err)
			}
			return
		}
		if err != nil {
			if strings.Contains(q, "$") {
				return // numbered placeholders mixed in
			}
			t.Fatalf("bind(%q, %d × %q) = %v", q, n, arg, err)
		}
		// The bound text lexes to the same structure, each placeholder
		// now one string literal holding arg.
		btoks, err := lex(got)
		if err != nil {
			t.Fatalf("bound text %q does not lex: %v", got, err)
		}
		var lits []string
		for _, tk := range btoks {
			if tk.kind == tPlaceholder {
				t.Fatalf("bound text %q still has a placeholder", got)
			}
			if tk.kind == tString && tk.text == lit {
				lits = append(lits, tk.text)
			}
		}
		if len(lits) < n {
			t.Fatalf("bind(%q, %q) = %q: %d literals of the argument, want %d", q, arg, got, len(lits), n)
		}
		if utf8.ValidString(arg) != utf8.ValidString(lit) {
			t.Fatalf("quoting changed UTF-8 validity of %q", arg)
		}
	})
}

func TestLegacyRewrite(t *testing.T) {
	for q, want := range map[string]string{
		"SELECT span_attributes['app.note'] FROM traces":                                     "SELECT span_attributes.value[indexOf(span_attributes.key, 'app.note')] FROM traces",
		"SELECT resource_attributes[lower('K')] = 'x'":                                       "SELECT resource_attributes.value[indexOf(resource_attributes.key, lower('K'))] = 'x'",
		"SELECT countIf(mapContains(span_attributes, 'url.path')) FROM traces":               "SELECT countIf(has(span_attributes.key, 'url.path')) FROM traces",
		"SELECT mapKeys(span_attributes), mapValues( resource_attributes )":                  "SELECT span_attributes.key, resource_attributes.value",
		"WHERE t > toDateTime64('2026-03-02 01:00:00.000000', 6, 'UTC')":                     "WHERE t > toDateTime('2026-03-02 01:00:00', 'UTC')",
		"WHERE t > toDateTime64('2026-03-02 01:00:00', 3)":                                   "WHERE t > toDateTime('2026-03-02 01:00:00')",
		"toStartOfInterval(timestamp, INTERVAL 1 WEEK)":                                      "toDateTime(toMonday(timestamp), 'UTC')",
		"toStartOfInterval(timestamp, INTERVAL 5 MINUTE)":                                    "toDateTime(intDiv(toUInt32(timestamp), 300) * 300, 'UTC')",
		"toStartOfInterval(toDateTime64('2026-03-02 01:00:00.5', 6, 'UTC'), INTERVAL 1 DAY)": "toStartOfDay(toDateTime('2026-03-02 01:00:00', 'UTC'))",
		"toStartOfFiveMinutes(timestamp)":                                                    "toStartOfFiveMinute(timestamp)",
		// Left alone: strings, other maps, qualified names, odd calls.
		"SELECT 'span_attributes[1]', m['k'], t.span_attributes['k']":       "SELECT 'span_attributes[1]', m['k'], t.span_attributes['k']",
		"SELECT toDateTime64(x, 3), toStartOfInterval(t, INTERVAL 1 MONTH)": "SELECT toDateTime64(x, 3), toStartOfInterval(t, INTERVAL 1 MONTH)",
		"SELECT 'unterminated": "SELECT 'unterminated",
	} {
		if got := legacyRewrite(q); got != want {
			t.Errorf("legacyRewrite(%q) =\n%q, want\n%q", q, got, want)
		}
	}
}

func TestVersionLess(t *testing.T) {
	for _, tc := range []struct {
		a, b string
		less bool
	}{
		{"18.16.1", "23.8", true}, {"23.8.1.1", "23.8", false}, {"23.7.9", "23.8", true},
		{"24.1", "23.8", false}, {"23.10.2", "23.8", false}, {"23.8", "23.8", false},
	} {
		if got := versionLess(tc.a, tc.b); got != tc.less {
			t.Errorf("versionLess(%q, %q) = %v, want %v", tc.a, tc.b, got, tc.less)
		}
	}
}
