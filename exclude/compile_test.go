package exclude

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"os"
	"reflect"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"

	"github.com/tracehound/tracehound/sqlguard"
)

func TestCompileConditions(t *testing.T) {
	tests := []struct {
		c    Condition
		sql  string
		args []any
	}{
		{Condition{KindPathGlob, "/health"}, "http_path = ?", []any{"/health"}},
		{Condition{KindPathGlob, "/admin/**"}, "startsWith(http_path, ?)", []any{"/admin/"}},
		{Condition{KindPathGlob, "/api/*/status"}, "match(http_path, ?)", []any{`^/api/[^/]*/status$`}},
		{Condition{KindPathGlob, "/v1/users/{id}"}, "match(http_path, ?)", []any{`^/v1/users/[^/]+$`}},
		{Condition{KindIPCIDR, "203.0.113.7"}, "peer_ip = ?", []any{"203.0.113.7"}},
		{Condition{KindIPCIDR, "198.51.100.0/24"}, "isIPAddressInRange(peer_ip, ?)", []any{"198.51.100.0/24"}},
		{Condition{KindAPIKey, "key_9f"}, "api_key_id = ?", []any{"key_9f"}},
		{Condition{KindUserAgent, "kube-probe/1.29"}, "user_agent = ?", []any{"kube-probe/1.29"}},
		{Condition{KindUserAgent, "kube-probe/*"}, "match(user_agent, ?)", []any{`^kube-probe/.*$`}},
		{Condition{KindStatus, "404"}, "status_code = ?", []any{404}},
		{Condition{KindStatus, "4xx,503"}, "status_code BETWEEN ? AND ? OR status_code = ?", []any{400, 499, 503}},
		{Condition{KindSQLPredicate, "http_method = 'HEAD'"}, "http_method = 'HEAD'", nil},
	}
	for _, tc := range tests {
		t.Run(string(tc.c.Kind)+" "+tc.c.Value, func(t *testing.T) {
			p, err := compileCondition(context.Background(), tc.c, CompileOptions{})
			if err != nil {
				t.Fatalf("compile %v = %v", tc.c, err)
			}
			if p.SQL != tc.sql || !reflect.DeepEqual(p.Args, tc.args) {
				t.Errorf("compile %v = %q %v, want %q %v", tc.c, p.SQL, p.Args, tc.sql, tc.args)
			}
		})
	}
}

func TestCompileIPv6(t *testing.T) {
	c := Condition{KindIPCIDR, "2001:db8::/32"}
	p, err := compileCondition(context.Background(), c, CompileOptions{})
	if err != nil {
		t.Fatal(err)
	}
	want := []any{"20010db8000000000000000000000000", "20010db8ffffffffffffffffffffffff"}
	if !reflect.DeepEqual(p.Args, want) || strings.Contains(p.SQL, "2001") {
		t.Errorf("DuckDB IPv6 predicate args %v (want %v), SQL holds the address: %v", p.Args, want, strings.Contains(p.SQL, "2001"))
	}
	ch, err := compileCondition(context.Background(), c, CompileOptions{Dialect: DialectClickHouse})
	if err != nil || ch.SQL != "isIPAddressInRange(peer_ip, ?)" || !reflect.DeepEqual(ch.Args, []any{"2001:db8::/32"}) {
		t.Errorf("ClickHouse IPv6 predicate = %q %v, %v", ch.SQL, ch.Args, err)
	}
}

func TestCompileASN(t *testing.T) {
	e := Exclusion{ID: "do", Conditions: []Condition{{KindASN, "AS14061"}}, Match: MatchAll}
	if _, err := Compile(context.Background(), e, CompileOptions{}); !errors.Is(err, ErrNeedsEnrichment) {
		t.Errorf("Compile(asn) without a resolver = %v, want ErrNeedsEnrichment", err)
	}
	var asked uint32
	opts := CompileOptions{ResolveASN: func(_ context.Context, asn uint32) ([]netip.Prefix, error) {
		asked = asn
		return []netip.Prefix{netip.MustParsePrefix("64.227.118.11/32"), netip.MustParsePrefix("95.216.55.146/32"), netip.MustParsePrefix("2a03:b0c0::/32")}, nil
	}}
	p, err := Compile(context.Background(), e, opts)
	if err != nil {
		t.Fatal(err)
	}
	if asked != 14061 || !strings.Contains(p.SQL, "peer_ip IN (?, ?)") || len(p.Args) != 4 || p.Args[0] != "64.227.118.11" {
		t.Errorf("Compile(asn) = %q %v (asked %d)", p.SQL, p.Args, asked)
	}
	empty := CompileOptions{ResolveASN: func(context.Context, uint32) ([]netip.Prefix, error) { return nil, nil }}
	if _, err := Compile(context.Background(), e, empty); !errors.Is(err, ErrNeedsEnrichment) {
		t.Errorf("Compile(asn) with no known address = %v, want ErrNeedsEnrichment", err)
	}
}

func TestCompileMatch(t *testing.T) {
	e := Exclusion{ID: "x", Match: MatchAny, Conditions: []Condition{{KindAPIKey, "k"}, {KindStatus, "404"}}}
	p, err := Compile(context.Background(), e, CompileOptions{})
	if err != nil || p.SQL != "(api_key_id = ?) OR (status_code = ?)" || !reflect.DeepEqual(p.Args, []any{"k", 404}) {
		t.Errorf("Compile(any) = %q %v, %v", p.SQL, p.Args, err)
	}
	e.Match = MatchAll
	p, _ = Compile(context.Background(), e, CompileOptions{})
	if p.SQL != "(api_key_id = ?) AND (status_code = ?)" {
		t.Errorf("Compile(all) = %q", p.SQL)
	}
	if got := Or(Predicate{}, p, Predicate{SQL: "true"}); got.SQL != "("+p.SQL+") OR (true)" || len(got.Args) != 2 {
		t.Errorf("Or = %q %v", got.SQL, got.Args)
	}
}

func TestSQLPredicate(t *testing.T) {
	ok := []string{
		"http_method = 'HEAD'",
		"status_code >= 500 AND duration_ns > 1000000000",
		"startsWith(user_agent, 'kube-probe/') OR http_path IN ('/healthz', '/readyz')",
		"mapContains(span_attributes, 'synthetic') AND span_attributes['synthetic'] = 'true'",
		"timestamp > now() - INTERVAL 1 HOUR",
		"http_path = 'x''y -- z'",
	}
	for _, s := range ok {
		if err := checkSQLPredicate(s); err != nil {
			t.Errorf("checkSQLPredicate(%q) = %v, want nil", s, err)
		}
	}
	bad := []struct{ expr, want string }{
		{"1 = 1) OR (1 = 1", "closes nothing"},
		{"true --", "comments"},
		{"true /* x */", "comments"},
		{"peer_ip IN (SELECT peer_ip FROM traces)", "SELECT is not allowed"},
		{"true; DROP VIEW traces", "one expression only"},
		{"peer_ip = ?", "placeholders"},
		{"peer_ip = $1", "placeholders"},
		{"peer_ip = {ip:String}", "braces"},
		{"read_csv('/etc/passwd') IS NOT NULL", "not allowed"},
		{"x = 'a\\' OR 1=1 OR ''='", "unterminated"},
		{"'\\'' = '\\''", "backslash"},
		{"getenv('HOME') = ''", "not allowed"},
		{"", "empty"},
		{"true UNION ALL SELECT 1", "not allowed"},
	}
	for _, tc := range bad {
		err := checkSQLPredicate(tc.expr)
		if err == nil || !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("checkSQLPredicate(%q) = %v, want an ErrInvalid containing %q", tc.expr, err, tc.want)
		}
	}
}

// injection is one entry of the sqlguard's hostile corpus.
type injection struct {
	Name  string `yaml:"name"`
	Query string `yaml:"query"`
}

func injectionCorpus(t testing.TB) []injection {
	t.Helper()
	data, err := os.ReadFile("../sqlguard/testdata/injections.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var cases []injection
	if err := yaml.Unmarshal(data, &cases); err != nil {
		t.Fatal(err)
	}
	if len(cases) < 60 {
		t.Fatalf("the injection corpus has %d entries, want at least 60", len(cases))
	}
	return cases
}

// hostileValues derives, from one corpus query, the values an attacker
// would try in a condition: the query itself and the classic ways of
// breaking out of a string, a parenthesis or a comment around it.
func hostileValues(q string) []string {
	return []string{q, "' OR 1=1 --", "x') OR (" + q + ") OR ('", "1) OR (1=1", "true) UNION " + q + " --", "/x'; " + q + "; --", q + "\n--", "*/ " + q + " /*"}
}

// TestInjectionCorpusNeverInjects feeds every hostile query of the
// sqlguard corpus, and breakouts built from it, to every condition kind:
// a value is refused, or it compiles to SQL that does not contain it
// (values travel as arguments), or (sql_predicate) it is accepted only if
// it is one guarded expression; and the rule rewritten with it still
// passes the guard with the same relations and no new statement.
func TestInjectionCorpusNeverInjects(t *testing.T) {
	const rule = "SELECT peer_ip, count() AS n FROM traces WHERE timestamp > now() - INTERVAL 5 MINUTE GROUP BY peer_ip"
	g := sqlguard.New()
	accepted := 0
	for _, c := range injectionCorpus(t) {
		for _, v := range hostileValues(c.Query) {
			for _, kind := range Kinds {
				cond := Condition{Kind: kind, Value: v}
				p, err := compileCondition(context.Background(), cond, CompileOptions{
					ResolveASN: func(context.Context, uint32) ([]netip.Prefix, error) {
						return []netip.Prefix{netip.MustParsePrefix("203.0.113.0/24")}, nil
					}})
				if err != nil {
					continue
				}
				accepted++
				if kind != KindSQLPredicate && strings.Contains(p.SQL, strings.TrimSpace(v)) {
					t.Errorf("%s: %s value %q appears in the SQL %q", c.Name, kind, v, p.SQL)
				}
				sql, args, err := Rewrite(rule, p)
				if err != nil {
					t.Errorf("%s: Rewrite with %s %q = %v", c.Name, kind, v, err)
					continue
				}
				if err := g.Check(sql); err != nil {
					t.Errorf("%s: %s %q: the rewritten rule is refused by the guard: %v\n%s", c.Name, kind, v, err, sql)
				}
				for _, bs := range []bool{false, true} {
					l, err := lexSQL(sql, bs)
					if err != nil {
						t.Errorf("%s: %s %q: the rewritten rule does not lex: %v", c.Name, kind, v, err)
						continue
					}
					params, semis := 0, 0
					for _, tk := range l.toks {
						switch tk.kind {
						case kParam:
							params++
						case kSemicolon:
							semis++
						}
					}
					if params != len(args) || semis != 0 {
						t.Errorf("%s: %s %q: %d placeholders for %d arguments, %d semicolons", c.Name, kind, v, params, len(args), semis)
					}
					if refs := relationRefs(l, TracesTable); len(refs) != 1 {
						t.Errorf("%s: %s %q: the rewritten rule reads %d relations, want the one filtered traces", c.Name, kind, v, len(refs))
					}
				}
			}
		}
	}
	if accepted == 0 {
		t.Fatal("no hostile value compiled at all: the test checks nothing")
	}
}

func FuzzCheckSQLPredicate(f *testing.F) {
	for _, s := range []string{"http_method = 'HEAD'", "1) OR (1", "true --", "x = 'a\\'", "peer_ip IN (SELECT 1)", "$$a$$ = ''"} {
		f.Add(s)
	}
	g := sqlguard.New()
	f.Fuzz(func(t *testing.T, expr string) {
		if err := checkSQLPredicate(expr); err != nil {
			return
		}
		// Accepted: wrapped as the rewrite wraps it, the query is still
		// one guarded statement over traces.
		q := fmt.Sprintf("SELECT count() FROM traces WHERE NOT coalesce((%s), false)", expr)
		if err := g.Check(q); err != nil {
			t.Errorf("accepted predicate %q makes a refused query: %v", expr, err)
		}
		l, err := lexSQL(q, false)
		if err != nil {
			t.Fatalf("accepted predicate %q does not lex inside a query: %v", expr, err)
		}
		if got := relationRefs(l, TracesTable); len(got) != 1 {
			t.Errorf("accepted predicate %q reads %d relations", expr, len(got))
		}
	})
}
