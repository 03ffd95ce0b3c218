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
		"SELECT 1 /* nested /* comment */ still */",
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
		{"SELECT * FROM read_csv('/etc/passwd')", "reads outside"},
		{"SELECT * FROM '/etc/passwd'", "file or URL"},
		{"SELECT * FROM 'https://example.test/x.parquet'", "file or URL"},
		{"SELECT * FROM duckdb_settings()", "table function"},
		{"SELECT * FROM information_schema.tables", "not allowed"},
		{"SELECT * FROM system.tables", "not allowed"},
		{"SELECT * FROM spans", "not allowed"},
		{"SELECT * FROM traces INTO OUTFILE 'x'", "INTO"},
		{"SELECT * FROM traces SETTINGS max_threads=1", "SETTINGS"},
		{"SELECT * FROM url('http://x', CSV)", "reads outside"},
		{"SELECT * FROM traces, read_parquet('x')", "reads outside"},
		{"SELECT getenv('HOME')", "reads outside"},
		{"SELECT * FROM query('DROP TABLE spans')", "reads outside"},
		{"ATTACH 'x.db' AS x", "only SELECT"},
		{"PRAGMA database_list", "only SELECT"},
		{"SELECT 'a\\'' ; DROP TABLE traces; --'", "one statement"},
		{"SELECT 'a\\'' DROP ' FROM traces", "refused"},
		{"SELECT 'unterminated", "unterminated"},
		{"SELECT 1 /* open", "unterminated"},
		{"", "empty"},
		{"WITH x AS (SELECT 1) INSERT INTO traces SELECT * FROM x", "INSERT"},
		{"SELECT * FROM \"read_csv\"('x')", "reads outside"},
		{"SELECT * FROM traces UNION ALL SELECT * FROM spans", "not allowed"},
		{"SELECT $$x$$ ; SELECT 1", "one statement"},
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
	for _, q := range []string{"SELECT count() FROM traces", "SELECT 'a\\'' ; DROP", "WITH x AS (SELECT 1) SELECT * FROM x", "SELECT /* */ 1 -- x\n FROM traces"} {
		f.Add(q)
	}
	g := New()
	f.Fuzz(func(t *testing.T, q string) {
		err := g.Check(q)
		if err == nil {
			// Anything accepted starts with a read keyword and holds no
			// statement separator outside literals.
			toks, terr := tokenize(q, false)
			if terr != nil || len(toks) == 0 {
				t.Fatalf("Check(%q) accepted an untokenizable query", q)
			}
			for i, tok := range toks {
				if tok.kind == tSemicolon && i != len(toks)-1 {
					t.Fatalf("Check(%q) accepted two statements", q)
				}
			}
		} else if !errors.Is(err, ErrRefused) {
			t.Fatalf("Check(%q) = %v, not ErrRefused", q, err)
		}
	})
}
