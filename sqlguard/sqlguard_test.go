package sqlguard

import (
	"errors"
	"strings"
	"testing"
)

func TestCheckAllows(t *testing.T) {
	g := New()
	for _, q := range []string{
		"SELECT count() FROM traces",
		"select * from traces limit 10;",
		"FROM traces SELECT http_path",
		"SELECT peer_ip, count() AS requests FROM traces WHERE http_path LIKE '/admin/%' AND timestamp >= now() - INTERVAL 15 MINUTE GROUP BY peer_ip HAVING requests > 10",
		"WITH recent AS (SELECT * FROM traces WHERE timestamp > now() - INTERVAL 1 DAY) SELECT count() FROM recent",
		"SELECT EXTRACT(hour FROM timestamp) AS h, count() FROM traces GROUP BY h",
		"SELECT 'drop table traces; insert' AS text FROM traces",
		"SELECT a.peer_ip FROM traces a JOIN traces b ON a.trace_id = b.trace_id",
		"SELECT * FROM (SELECT peer_ip FROM traces) sub",
		"SELECT replace(http_path, '/v1', '') FROM traces",
		"SELECT trim(both ' ' from http_path) FROM traces",
		"SELECT uniqExact(extractURLParameter(http_target, 'collection_id')) FROM traces -- drop table",
		"SELECT 1 /* a comment */",
		"SELECT \"http_path\" FROM \"traces\"",
	} {
		if err := g.Check(q); err != nil {
			t.Errorf("Check(%q) = %v, want nil", q, err)
		}
	}
}

func TestCheckRefuses(t *testing.T) {
	g := New()
	tests := []struct {
		q, why string
	}{
		{"DROP TABLE traces", "only SELECT"},
		{"SELECT 1; DROP TABLE traces", "one statement"},
		{"DELETE FROM traces", "only SELECT"},
		{"SELECT * FROM read_csv('/etc/passwd')", "reads or writes files"},
		{"SELECT * FROM '/etc/passwd'", "file or URL"},
		{"SELECT * FROM 'https://example.test/x.parquet'", "file or URL"},
		{"SELECT * FROM duckdb_settings()", "catalog"},
		{"SELECT * FROM information_schema.tables", "not allowed"},
		{"SELECT * FROM system.tables", "not allowed"},
		{"SELECT * FROM spans", "not allowed"},
		{"SELECT * FROM traces INTO OUTFILE 'x'", "INTO"},
		{"SELECT * FROM traces SETTINGS max_threads=1", "SETTINGS"},
		{"SELECT * FROM url('http://x', CSV)", "other servers"},
		{"SELECT * FROM traces, read_parquet('x')", "reads or writes files"},
		{"SELECT getenv('HOME')", "environment"},
		{"SELECT * FROM query('DROP TABLE spans')", "runs SQL"},
		{"ATTACH 'x.db' AS x", "only SELECT"},
		{"PRAGMA database_list", "only SELECT"},
		{"SELECT 'a\\'' ; DROP TABLE traces; --'", "one statement"},
		{"SELECT 'a\\'' DROP ' FROM traces", "refused"},
		{"SELECT 'unterminated", "unterminated"},
		{"SELECT 1 /* open", "unterminated"},
		{"", "empty"},
		{"WITH x AS (SELECT 1) INSERT INTO traces SELECT * FROM x", "INSERT"},
		{"SELECT * FROM \"read_csv\"('x')", "reads or writes files"},
		{"SELECT * FROM traces UNION ALL SELECT * FROM spans", "not allowed"},
		{"SELECT $$x$$ ; SELECT 1", "one statement"},
		{"SELECT 1 /* nested /* comment */ still */", "nested block comments"},
	}
	for _, tc := range tests {
		err := g.Check(tc.q)
		if !errors.Is(err, ErrRefused) {
			t.Errorf("Check(%q) = %v, want ErrRefused", tc.q, err)
			continue
		}
		if !strings.Contains(err.Error(), tc.why) {
			t.Errorf("Check(%q) = %q, want a message containing %q", tc.q, err, tc.why)
		}
	}
}

func FuzzCheck(f *testing.F) {
	for _, q := range []string{"SELECT count() FROM traces", "SELECT 'a\\'' ; DROP", "WITH x AS (SELECT 1) SELECT * FROM x",
		"SELECT /* */ 1 -- x\n FROM traces", "SELECT count(*) FROM traces --x\r, spans", "SELECT a$x$ FROM (SELECT 1 AS a$x$), spans --$x$",
		"SELECT * FROM traces a JOIN traces b ON true, spans", "SELECT uniqExact(extractURLParameter(http_target, 'id')) FROM traces"} {
		f.Add(q)
	}
	g := New()
	f.Fuzz(func(t *testing.T, q string) {
		err := g.Check(q)
		if err != nil {
			if !errors.Is(err, ErrRefused) {
				t.Fatalf("Check(%q) = %v, not ErrRefused", q, err)
			}
			return
		}
		// Differential property: whatever passes holds, in both readings of
		// backslashes, one statement, no forbidden keyword, no non-ASCII
		// word and no call of a forbidden function.
		for _, bs := range []bool{false, true} {
			toks, terr := tokenize(q, bs)
			if terr != nil || len(toks) == 0 {
				t.Fatalf("Check(%q) accepted an untokenizable query (backslashEscapes=%v)", q, bs)
			}
			trailing := len(toks)
			for trailing > 0 && toks[trailing-1].kind == tSemicolon {
				trailing--
			}
			for i, tok := range toks {
				if tok.kind == tSemicolon && i < trailing {
					t.Fatalf("Check(%q) accepted two statements", q)
				}
				if tok.kind == tWord && forbiddenKeywords[tok.lower] != "" {
					t.Fatalf("Check(%q) accepted the forbidden keyword %s", q, tok.text)
				}
				if tok.kind == tWord && !isASCII(tok.text) {
					t.Fatalf("Check(%q) accepted the non-ASCII word %q", q, tok.text)
				}
				if (tok.kind == tWord || tok.kind == tQuoted) && i+1 < len(toks) && toks[i+1].kind == tLParen {
					if _, bad := forbiddenFunctionReason(tok.lower); bad {
						t.Fatalf("Check(%q) accepted a call of %s", q, tok.text)
					}
				}
			}
		}
	})
}

// FuzzTokenize checks the tokenizer's round-trip properties: tokens are in
// order and are slices of the query; what lies between them is only
// whitespace and comments; and printing the tokens with one space wherever
// the query had whitespace or comments between them tokenizes back to the
// same tokens.
func FuzzTokenize(f *testing.F) {
	for _, q := range []string{"SELECT count() FROM traces", "SELECT 'it''s' -- c\n, $$x$$, \"q\"\"x\", 1.5e3, .5 /* c */",
		"SELECT a.b::INT, x -> x + 1, $1, ? FROM t", "SELECT 'a\\', 'b'"} {
		f.Add(q, false)
		f.Add(q, true)
	}
	f.Fuzz(func(t *testing.T, q string, backslashEscapes bool) {
		toks, err := tokenize(q, backslashEscapes)
		if err != nil {
			return
		}
		last := 0
		var b strings.Builder
		for i, tok := range toks {
			if tok.pos < last || q[tok.pos:tok.end()] != tok.text || tok.text == "" {
				t.Fatalf("tokenize(%q): token %d %q at %d is not the query's text after %d", q, i, tok.text, tok.pos, last)
			}
			if gap, err := tokenize(q[last:tok.pos], backslashEscapes); err != nil || len(gap) != 0 {
				t.Fatalf("tokenize(%q): the gap %q before token %d holds tokens %v (%v)", q, q[last:tok.pos], i, gap, err)
			}
			if i > 0 && tok.pos > last {
				b.WriteByte(' ')
			}
			last = tok.end()
			b.WriteString(tok.text)
		}
		again, err := tokenize(b.String(), backslashEscapes)
		if err != nil {
			t.Fatalf("tokenize(%q) = %v after printing %q", b.String(), err, q)
		}
		if len(again) != len(toks) {
			t.Fatalf("tokenize(%q): %d tokens, printed %q has %d", q, len(toks), b.String(), len(again))
		}
		for i := range toks {
			if again[i].kind != toks[i].kind || again[i].text != toks[i].text {
				t.Fatalf("tokenize(%q): token %d %q (kind %d) reads back as %q (kind %d)", q, i, toks[i].text, toks[i].kind, again[i].text, again[i].kind)
			}
		}
	})
}

func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= 0x80 {
			return false
		}
	}
	return true
}
