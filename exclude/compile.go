package exclude

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"strings"

	"github.com/tracehound/tracehound/sqlguard"
)

// Predicate is a boolean SQL expression over the columns of traces with
// its positional arguments: every value of a condition travels as an
// argument, never inside the SQL text. Only sql_predicate conditions put
// user text into SQL, after the checks of checkSQLPredicate.
type Predicate struct {
	SQL  string
	Args []any
}

// Dialect chooses the SQL of the few predicates the two engines cannot
// share.
type Dialect string

// Dialects.
const (
	// DialectDuckDB (the default) compares IPv6 addresses on a computed
	// 32-hex-digit form, since DuckDB has no IPv6 type without the inet
	// extension and the store's isIPAddressInRange macro reads IPv4 only.
	DialectDuckDB Dialect = "duckdb"
	// DialectClickHouse uses ClickHouse's isIPAddressInRange for both
	// families.
	DialectClickHouse Dialect = "clickhouse"
)

// CompileOptions configure Compile.
type CompileOptions struct {
	// ResolveASN returns the addresses and ranges known to belong to an
	// autonomous system (from the enrichment of the IP store). Without it
	// an asn condition does not compile.
	ResolveASN func(ctx context.Context, asn uint32) ([]netip.Prefix, error)
	Dialect    Dialect
}

// MaxASNPrefixes bounds the addresses an asn condition may expand to.
const MaxASNPrefixes = 5000

// ErrNeedsEnrichment: an asn condition was compiled without a way to find
// the addresses of the autonomous system.
var ErrNeedsEnrichment = errors.New("asn conditions need IP enrichment")

// Compile returns the predicate matching the spans e excludes. Conditions
// are combined with AND (match all) or OR (match any).
func Compile(ctx context.Context, e Exclusion, opts CompileOptions) (Predicate, error) {
	if len(e.Conditions) == 0 {
		return Predicate{}, invalidf("exclusion %s has no conditions", e.ID)
	}
	join := " AND "
	if e.Match == MatchAny {
		join = " OR "
	}
	var parts []string
	var args []any
	for i, c := range e.Conditions {
		p, err := compileCondition(ctx, c, opts)
		if err != nil {
			return Predicate{}, fmt.Errorf("exclusion %s: condition %d: %w", e.ID, i+1, err)
		}
		parts = append(parts, "("+p.SQL+")")
		args = append(args, p.Args...)
	}
	sql := strings.Join(parts, join)
	if len(e.Applications) > 0 {
		in, err := InApplications(e.Applications)
		if err != nil {
			return Predicate{}, fmt.Errorf("exclusion %s: %w", e.ID, err)
		}
		sql = "(" + sql + ") AND (" + in.SQL + ")"
	}
	return Predicate{SQL: sql, Args: args}, nil
}

// Or combines predicates: a span matches when any of them matches. The
// empty result (no predicates) matches nothing and Rewrite leaves a query
// alone with it.
func Or(ps ...Predicate) Predicate {
	var parts []string
	var args []any
	for _, p := range ps {
		if p.SQL == "" {
			continue
		}
		parts = append(parts, "("+p.SQL+")")
		args = append(args, p.Args...)
	}
	return Predicate{SQL: strings.Join(parts, " OR "), Args: args}
}

// compileCondition compiles one condition; ctx is only used for asn.
func compileCondition(ctx context.Context, c Condition, opts CompileOptions) (Predicate, error) {
	v := strings.TrimSpace(c.Value)
	if v == "" {
		return Predicate{}, invalidf("%s has no value", c.Kind)
	}
	if len(v) > MaxValueBytes {
		return Predicate{}, invalidf("%s value is %d bytes; at most %d", c.Kind, len(v), MaxValueBytes)
	}
	switch c.Kind {
	case KindPathGlob:
		g, err := ParseGlob(v)
		if err != nil {
			return Predicate{}, err
		}
		switch {
		case g.exact:
			return Predicate{"http_path = ?", []any{v}}, nil
		case g.prefix != "":
			return Predicate{"startsWith(http_path, ?)", []any{g.prefix}}, nil
		}
		return Predicate{"match(http_path, ?)", []any{g.Regexp()}}, nil
	case KindIPCIDR:
		ps, err := ParseCIDRList(v)
		if err != nil {
			return Predicate{}, err
		}
		if len(ps) == 1 {
			return cidrPredicate(ps[0], opts.Dialect), nil
		}
		return prefixesPredicate(ps, opts.Dialect), nil
	case KindAPIKey:
		if err := checkText(v); err != nil {
			return Predicate{}, invalidf("api_key %q: %v", clip(v), err)
		}
		return Predicate{"api_key_id = ?", []any{v}}, nil
	case KindUserAgent:
		g, err := ParseTextGlob(v)
		if err != nil {
			return Predicate{}, err
		}
		if g.exact {
			return Predicate{"user_agent = ?", []any{v}}, nil
		}
		return Predicate{"match(user_agent, ?)", []any{g.re.String()}}, nil
	case KindStatus:
		ranges, err := ParseStatus(v)
		if err != nil {
			return Predicate{}, err
		}
		var parts []string
		var args []any
		for _, r := range ranges {
			if r[0] == r[1] {
				parts = append(parts, "status_code = ?")
				args = append(args, r[0])
			} else {
				parts = append(parts, "status_code BETWEEN ? AND ?")
				args = append(args, r[0], r[1])
			}
		}
		return Predicate{strings.Join(parts, " OR "), args}, nil
	case KindASN:
		asn, err := ParseASN(v)
		if err != nil {
			return Predicate{}, err
		}
		if opts.ResolveASN == nil {
			return Predicate{}, fmt.Errorf("%w: asn %d: no IP enrichment is available to find its addresses; use ip_cidr with the network's ranges", ErrNeedsEnrichment, asn)
		}
		prefixes, err := opts.ResolveASN(ctx, asn)
		if err != nil {
			return Predicate{}, fmt.Errorf("asn %d: %w", asn, err)
		}
		if len(prefixes) == 0 {
			return Predicate{}, fmt.Errorf("%w: asn %d: no enriched address belongs to it; enrich the callers' addresses first (tracehound ip enrich) or use ip_cidr", ErrNeedsEnrichment, asn)
		}
		if len(prefixes) > MaxASNPrefixes {
			return Predicate{}, invalidf("asn %d resolves to %d addresses and ranges; at most %d: use ip_cidr with its ranges", asn, len(prefixes), MaxASNPrefixes)
		}
		return prefixesPredicate(prefixes, opts.Dialect), nil
	case KindSQLPredicate:
		if err := checkSQLPredicate(v); err != nil {
			return Predicate{}, err
		}
		return Predicate{SQL: v}, nil
	}
	return Predicate{}, invalidf("unknown condition kind %q (want %s)", clip(string(c.Kind)), kindList())
}

// cidrPredicate matches peer_ip against one address or range. A single
// IPv4 address compares as text; IPv4 ranges use isIPAddressInRange,
// which both engines have for IPv4 (DuckDB through the store's macro);
// IPv6 compares on the 32-hex-digit form on DuckDB, natively on
// ClickHouse.
func cidrPredicate(p netip.Prefix, d Dialect) Predicate {
	a := p.Addr()
	switch {
	case a.Is4() && p.IsSingleIP():
		return Predicate{"peer_ip = ?", []any{a.String()}}
	case a.Is4() || d == DialectClickHouse:
		return Predicate{"isIPAddressInRange(peer_ip, ?)", []any{p.String()}}
	}
	lo, hi := rangeBounds(p)
	hexExpr, valid := ipv6HexSQL("peer_ip")
	return Predicate{valid + " AND " + hexExpr + " BETWEEN ? AND ?", []any{ipv6Hex(lo), ipv6Hex(hi)}}
}

// prefixesPredicate matches any of prefixes: single IPv4 addresses in one
// IN list, the rest one predicate each.
func prefixesPredicate(prefixes []netip.Prefix, d Dialect) Predicate {
	var singles []any
	var others []Predicate
	for _, p := range prefixes {
		p = p.Masked()
		if p.Addr().Is4() && p.IsSingleIP() {
			singles = append(singles, p.Addr().String())
			continue
		}
		others = append(others, cidrPredicate(p, d))
	}
	var ps []Predicate
	if len(singles) > 0 {
		ps = append(ps, Predicate{"peer_ip IN (" + strings.TrimSuffix(strings.Repeat("?, ", len(singles)), ", ") + ")", singles})
	}
	return Or(append(ps, others...)...)
}

// forbiddenInPredicate are words that would make a predicate more than one
// expression over the current row: subqueries, set operations and clauses.
var forbiddenInPredicate = wordSet(`select from with join union except intersect where group having order limit
	offset window qualify over settings format into values table lateral`)

// checkSQLPredicate accepts one boolean expression over the columns of
// traces: both readings of backslashes give the same tokens, no comment,
// no placeholder, brackets balanced within the expression, no subquery
// or clause keyword, no statement separator; and the guard accepts it as
// the WHERE clause of a query over traces.
func checkSQLPredicate(expr string) error {
	bad := func(format string, args ...any) error {
		return fmt.Errorf("%w: sql_predicate: %s", ErrInvalid, fmt.Sprintf(format, args...))
	}
	var readings []*lexed
	for _, bs := range []bool{false, true} {
		l, err := lexSQL(expr, bs)
		if err != nil {
			return bad("%v", err)
		}
		readings = append(readings, l)
	}
	if !sameTokens(readings[0].toks, readings[1].toks) {
		return bad("its strings read differently with and without backslash escapes; write them without backslashes")
	}
	l := readings[0]
	if l.comments {
		return bad("comments are not allowed in a predicate")
	}
	if len(l.toks) == 0 {
		return bad("empty")
	}
	for _, t := range l.toks {
		switch {
		case t.kind == kSemicolon:
			return bad("one expression only: remove the ;")
		case t.kind == kParam:
			return bad("placeholders such as %s are not allowed; write the values", t.text)
		case t.kind == kWord && forbiddenInPredicate[t.lower]:
			return bad("%s is not allowed: a predicate is one expression over the span's columns, without subqueries or clauses", strings.ToUpper(t.text))
		case t.kind == kOperator && (t.text == "{" || t.text == "}"):
			return bad("braces are not allowed outside strings")
		}
	}
	if err := sqlguard.New().Check("SELECT count() FROM traces WHERE (" + expr + ")"); err != nil {
		return fmt.Errorf("%w: sql_predicate: %w", ErrInvalid, err)
	}
	return nil
}

func sameTokens(a, b []tok) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i].kind != b[i].kind || a[i].pos != b[i].pos || a[i].text != b[i].text {
			return false
		}
	}
	return true
}

func errf(format string, args ...any) error { return fmt.Errorf(format, args...) }
