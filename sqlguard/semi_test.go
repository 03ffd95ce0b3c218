package sqlguard

import (
	"strings"
	"testing"
)

func TestSplitSemiJoins(t *testing.T) {
	q := `SELECT peer_ip, http_method || ' ' || http_path AS endpoint, count() AS n
FROM traces
WHERE span_kind = 'Server'
  AND timestamp > now() - INTERVAL 1 DAY AND timestamp <= now()
  AND http_method || ' ' || http_path NOT IN (
    SELECT http_method || ' ' || http_path FROM traces
    WHERE timestamp > now() - INTERVAL 2 DAY AND peer_ip != ?
    GROUP BY 1 HAVING uniqExact(peer_ip) > 5)
  AND status_code BETWEEN 200 AND 299
  AND peer_ip IN (SELECT peer_ip FROM traces WHERE api_key_id = ?)
GROUP BY peer_ip, endpoint
HAVING count() >= 3;`
	rest, semis, ok := SplitSemiJoins(q)
	if !ok {
		t.Fatal("not split")
	}
	if len(semis) != 2 {
		t.Fatalf("%d semi-joins: %+v", len(semis), semis)
	}
	s := semis[0]
	if !s.Not || s.Key != "http_method || ' ' || http_path" || !strings.HasPrefix(s.Query, "SELECT http_method") ||
		!strings.HasSuffix(s.Query, "uniqExact(peer_ip) > 5") || s.ParamsBefore != 0 || s.Params != 1 {
		t.Errorf("first: %+v", s)
	}
	s = semis[1]
	if s.Not || s.Key != "peer_ip" || s.Query != "SELECT peer_ip FROM traces WHERE api_key_id = ?" || s.ParamsBefore != 1 || s.Params != 1 {
		t.Errorf("second: %+v", s)
	}
	w, err := ParseWindowed(rest)
	if err != nil {
		t.Fatalf("the rest is not windowed: %v\n%s", err, rest)
	}
	if got := strings.Join(w.Where, "|"); got != "span_kind = 'Server'|status_code BETWEEN 200 AND 299" {
		t.Errorf("where %q\n%s", got, rest)
	}
	if !strings.HasSuffix(rest, "HAVING count() >= 3;") {
		t.Errorf("rest lost its end:\n%s", rest)
	}
	if !SameExpr(semis[0].Key, w.Columns[1].Expr.String()) {
		t.Errorf("key %q is not column %q", semis[0].Key, w.Columns[1].Expr.String())
	}
}

func TestSplitSemiJoinsOnly(t *testing.T) {
	rest, semis, ok := SplitSemiJoins("SELECT a FROM traces WHERE a IN (SELECT a FROM traces) ORDER BY a")
	if !ok || len(semis) != 1 || rest != "SELECT a FROM traces\nORDER BY a" {
		t.Errorf("%v %+v %q", ok, semis, rest)
	}
}

func TestSplitSemiJoinsRefuses(t *testing.T) {
	for _, q := range []string{
		"SELECT a FROM traces WHERE b = 1",
		"SELECT a FROM traces",
		"SELECT a FROM traces WHERE a IN (1, 2)",
		"SELECT a FROM traces WHERE a IN (SELECT a FROM traces) OR b = 1",
		"SELECT a FROM traces WHERE a IN (SELECT a FROM traces) UNION SELECT 1",
		"SELECT a FROM traces WHERE a IN (SELECT a FROM traces WHERE b = $1)",
		"SELECT a FROM traces WHERE now() IN (SELECT a FROM traces)",
		"SELECT a FROM traces WHERE (SELECT 1) IN (SELECT a FROM traces)",
		"SELECT a FROM traces WHERE ? IN (SELECT a FROM traces)",
		"SELECT a FROM traces WHERE IN (SELECT a FROM traces)",
		"DELETE FROM traces WHERE a IN (SELECT a FROM traces)",
		"SELECT a FROM traces WHERE a IN (SELECT a FROM traces",
	} {
		if rest, semis, ok := SplitSemiJoins(q); ok {
			t.Errorf("%s: split into %q %+v", q, rest, semis)
		}
	}
}

func TestSameExpr(t *testing.T) {
	if !SameExpr("http_method || ' ' || IF(x != '', x, y)", "http_method||' '||if(x!='',x,y)") {
		t.Error("spacing and case differ only")
	}
	if SameExpr("a || 'X'", "a || 'x'") || SameExpr("a", "b") || SameExpr("a + 1", "a + 1 + 1") {
		t.Error("different expressions are the same")
	}
}

func FuzzSplitSemiJoins(f *testing.F) {
	f.Add("SELECT a, count() FROM traces WHERE a NOT IN (SELECT a FROM traces WHERE b = ?) AND c = 1 GROUP BY a")
	f.Add("SELECT a FROM traces WHERE a IN (WITH x AS (SELECT 1) SELECT * FROM x)")
	f.Add("SELECT a FROM traces WHERE x BETWEEN 1 AND 2 AND a IN (SELECT a FROM t) LIMIT 3")
	f.Fuzz(func(t *testing.T, q string) {
		rest, semis, ok := SplitSemiJoins(q)
		if !ok {
			return
		}
		if len(semis) == 0 || len(rest) > len(q)+8*len(semis)+16 {
			t.Fatalf("split %q into %q %+v", q, rest, semis)
		}
		for _, s := range semis {
			if s.Query == "" || !strings.Contains(q, s.Query) || !strings.Contains(q, s.Key) {
				t.Fatalf("semi-join %+v is not in %q", s, q)
			}
		}
	})
}
