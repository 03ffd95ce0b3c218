package forensics

import (
	"errors"
	"fmt"
	"math/big"
	"net/netip"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Row caps of compiled queries.
const (
	// DefaultMaxRows caps lists and grouped results when the question
	// names no limit.
	DefaultMaxRows = 1000
	// MaxRowsLimit is the largest limit a question may ask for.
	MaxRowsLimit = 10_000
)

// ErrNeedsEnrichment is returned for a question about countries or ASNs
// when no IP lookup is configured.
var ErrNeedsEnrichment = errors.New("needs IP enrichment")

// ErrUnsupported is returned for an IR the compiler cannot express.
var ErrUnsupported = errors.New("unsupported question")

// CompileOptions configure Compile.
type CompileOptions struct {
	// Now is the evaluation time, used only to size the timeline buckets of
	// "since DATE" windows; the SQL itself says now(), for the caller to bind
	// with sqlguard.BindNow. Zero means the wall clock.
	Now time.Time
	// Literals writes values as quoted SQL literals instead of positional
	// ? arguments (for rules, which are stored as text). Values holding a
	// backslash are refused in this mode, because DuckDB and ClickHouse
	// read backslashes in string literals differently.
	Literals bool
	// CountryExpr and ASNExpr are trusted SQL expressions of peer_ip giving
	// the country code and AS number of a request (an ip_country-like
	// lookup). Without them, country and ASN questions fail with
	// ErrNeedsEnrichment.
	CountryExpr string
	ASNExpr     string
}

// Query is SQL with its positional arguments.
type Query struct {
	SQL  string `json:"sql"`
	Args []any  `json:"args,omitempty"`
}

// Compiled is a compiled question.
type Compiled struct {
	// Interpretation is the IR in plain words.
	Interpretation string
	// Main answers the question.
	Main Query
	// Timeline counts the same requests per hour (windows up to two days)
	// or per day, for list and count questions; nil otherwise.
	Timeline *Query
	// Bucket is the timeline's bucket: "hour" or "day".
	Bucket string
	// MaxRows is the row cap to run Main with.
	MaxRows int
	Notes   []string
}

// Compile turns an IR into time-bounded SQL over the traces table in the
// ClickHouse dialect subset DuckDB runs through its compatibility macros.
func Compile(ir *IR, opts CompileOptions) (*Compiled, error) {
	if ir == nil {
		return nil, fmt.Errorf("%w: no question", ErrUnsupported)
	}
	if opts.Now.IsZero() {
		opts.Now = time.Now()
	}
	c := &compiler{ir: ir, opts: opts}
	out := &Compiled{Notes: slices.Clone(ir.Notes)}
	out.Bucket = "day"
	if ir.Window.Span(opts.Now) <= 48*time.Hour {
		out.Bucket = "hour"
	}
	main, maxRows, err := c.main(out.Bucket)
	if err != nil {
		return nil, err
	}
	out.Main, out.MaxRows = main, maxRows
	if len(ir.GroupBy) == 0 && (ir.Intent == IntentList || ir.Intent == IntentCount || ir.Intent == IntentCountDistinct) {
		tc := &compiler{ir: ir, opts: opts}
		tl, err := tc.timeline(out.Bucket)
		if err != nil {
			return nil, err
		}
		out.Timeline = &tl
	}
	out.Interpretation = Interpret(ir, out.Bucket)
	return out, nil
}

// compiler builds one query.
type compiler struct {
	ir   *IR
	opts CompileOptions
	args []any
}

// value returns a placeholder for v (adding it to the arguments) or, in
// literal mode, v quoted.
func (c *compiler) value(v string) (string, error) {
	if c.opts.Literals {
		return quote(v)
	}
	c.args = append(c.args, v)
	return "?", nil
}

// name returns a query parameter name as a literal when it is a plain
// identifier (so that DuckDB folds the extraction pattern once), else as a
// value.
func (c *compiler) name(n string) (string, error) {
	if identRE.MatchString(n) {
		return "'" + n + "'", nil
	}
	return c.value(n)
}

// quote returns s as an SQL string literal both engines read the same way.
func quote(s string) (string, error) {
	if strings.ContainsAny(s, "\\\x00") {
		return "", fmt.Errorf("%w: the value %q holds a backslash or NUL, which cannot be written portably into SQL text", ErrUnsupported, s)
	}
	return "'" + strings.ReplaceAll(s, "'", "''") + "'", nil
}

// where returns the WHERE clause: server spans, the window, the filters.
func (c *compiler) where() (string, error) {
	conds := []string{"span_kind = 'Server'", windowSQL(c.ir.Window)}
	type group struct {
		key   string
		conds []string
		args  []any
	}
	var groups []*group
	// Conditions are written in another order than the filters (exclusions
	// first, then grouped by field): args collects their positional
	// arguments in the order of the SQL.
	start := len(c.args)
	var args []any
	for _, f := range c.ir.Filters {
		n := len(c.args)
		s, err := c.filter(f)
		if err != nil {
			return "", err
		}
		fargs := slices.Clone(c.args[n:])
		if f.Negate {
			conds = append(conds, "NOT ("+s+")")
			args = append(args, fargs...)
			continue
		}
		key := string(f.Field) + ":" + f.Param
		if f.Field == FieldParam && f.Op != OpEq {
			key += string(f.Op) // a range: both ends apply
		}
		i := slices.IndexFunc(groups, func(g *group) bool { return g.key == key })
		if i < 0 {
			groups = append(groups, &group{key: key})
			i = len(groups) - 1
		}
		groups[i].conds = append(groups[i].conds, s)
		groups[i].args = append(groups[i].args, fargs...)
	}
	for _, g := range groups {
		if len(g.conds) == 1 {
			conds = append(conds, g.conds[0])
		} else {
			conds = append(conds, "("+strings.Join(g.conds, " OR ")+")")
		}
		args = append(args, g.args...)
	}
	c.args = append(c.args[:start], args...)
	if c.ir.Intent == IntentCountDistinct {
		if e, err := c.dimExpr(c.ir.Measure.Of); err != nil {
			return "", err
		} else if c.ir.Measure.Of.Kind != DimStatus {
			conds = append(conds, e+" != ''")
		}
	}
	return strings.Join(conds, "\n  AND "), nil
}

// windowSQL bounds the timestamp on both sides, relative to now().
func windowSQL(w Window) string {
	switch w.Kind {
	case WindowToday:
		return "timestamp >= toStartOfDay(now()) AND timestamp < now()"
	case WindowYesterday:
		return "timestamp >= toStartOfDay(now()) - INTERVAL 1 DAY AND timestamp < toStartOfDay(now())"
	case WindowThisWeek:
		return "timestamp >= toStartOfInterval(now(), INTERVAL 1 WEEK) AND timestamp < now()"
	case WindowSince:
		return "timestamp >= " + timeLiteral(w.From) + " AND timestamp < now()"
	case WindowBetween:
		return "timestamp >= " + timeLiteral(w.From) + " AND timestamp < " + timeLiteral(w.To)
	}
	n, unit := w.N, strings.ToUpper(w.Unit)
	if n < 1 || unit == "" {
		n, unit = DefaultWindowHours, "HOUR"
	}
	return fmt.Sprintf("timestamp >= now() - INTERVAL %d %s AND timestamp < now()", n, unit)
}

func timeLiteral(t time.Time) string {
	return "toDateTime64('" + t.UTC().Format("2006-01-02 15:04:05") + "', 6, 'UTC')"
}

func (c *compiler) filter(f Filter) (string, error) {
	switch f.Field {
	case FieldEndpoint:
		return c.endpointFilter(f)
	case FieldMethod:
		v, err := c.value(strings.ToUpper(f.Value))
		return "http_method = " + v, err
	case FieldStatus:
		return statusSQL(f)
	case FieldIP:
		if p, ok := ipv6Prefix(f); ok {
			return c.ipv6(f, p)
		}
		if f.Op == OpCIDR {
			return c.cidr(f.Value)
		}
		v, err := c.value(f.Value)
		return "peer_ip = " + v, err
	case FieldAPIKey:
		v, err := c.value(f.Value)
		return "api_key_id = " + v, err
	case FieldAccount:
		v, err := c.value(f.Value)
		return "user_id = " + v, err
	case FieldService:
		v, err := c.value(f.Value)
		return "service_name = " + v, err
	case FieldUserAgent:
		v, err := c.value(regexLiteral(strings.ToLower(f.Value)))
		return "match(lower(user_agent), " + v + ")", err
	case FieldCountry, FieldASN:
		expr, err := c.enrichment(f.Field)
		if err != nil {
			return "", err
		}
		v, err := c.value(f.Value)
		return expr + " = " + v, err
	case FieldParam:
		n, err := c.name(f.Param)
		if err != nil {
			return "", err
		}
		extract := "extractURLParameter(http_target, " + n + ")"
		switch f.Op {
		case OpEq, OpNe:
			v, err := c.value(f.Value)
			return extract + " " + string(f.Op) + " " + v, err
		case OpGt, OpGe, OpLt, OpLe:
			num, ok := parseInt(f.Value)
			if !ok {
				return "", fmt.Errorf("%w: %s %s needs a whole number, not %q", ErrUnsupported, f.Param, f.Op, f.Value)
			}
			return fmt.Sprintf("%s != '' AND toInt64OrZero(%s) %s %d", extract, extract, f.Op, num), nil
		}
	}
	return "", fmt.Errorf("%w: filter %s", ErrUnsupported, f)
}

func (c *compiler) enrichment(f Field) (string, error) {
	expr := c.opts.CountryExpr
	if f == FieldASN {
		expr = c.opts.ASNExpr
	}
	if expr == "" {
		return "", fmt.Errorf("%w: %s questions need an IP lookup (configure a GeoLite2/DB-IP .mmdb or an ASN CSV); ask by IP address instead", ErrNeedsEnrichment, f)
	}
	return expr, nil
}

func (c *compiler) endpointFilter(f Filter) (string, error) {
	switch f.Op {
	case OpTemplate:
		if len(f.Values) == 1 && !strings.Contains(f.Values[0], "{") {
			v, err := c.value(f.Values[0])
			return "http_path = " + v, err
		}
		alts := make([]string, len(f.Values))
		for i, t := range f.Values {
			p := templatePattern(t, false)
			alts[i] = p[1 : len(p)-1]
		}
		v, err := c.value("^(" + strings.Join(alts, "|") + ")$")
		return "match(http_path, " + v + ")", err
	case OpGlob:
		v, err := c.value(globPattern(f.Value))
		return "match(http_path, " + v + ")", err
	default:
		path := f.Value
		exact, err := c.value(path)
		if err != nil {
			return "", err
		}
		if path == "/" {
			return "http_path = " + exact, nil
		}
		suffix, err := c.value(path)
		return "(http_path = " + exact + " OR endsWith(http_path, " + suffix + "))", err
	}
}

func statusSQL(f Filter) (string, error) {
	switch f.Op {
	case OpClass:
		if len(f.Value) == 3 && f.Value[0] >= '1' && f.Value[0] <= '5' {
			d := int(f.Value[0] - '0')
			return fmt.Sprintf("status_code BETWEEN %d AND %d", d*100, d*100+99), nil
		}
	case OpEq, OpGe, OpNe, OpGt, OpLt, OpLe:
		if n, ok := parseInt(f.Value); ok && n < 1000 {
			return fmt.Sprintf("status_code %s %d", f.Op, n), nil
		}
	}
	return "", fmt.Errorf("%w: status %s %s", ErrUnsupported, f.Op, f.Value)
}

// cidr matches an IPv4 prefix by the textual prefixes of its addresses:
// portable across engines without IP functions. Prefixes are widened to
// octet boundaries and enumerated (at most 128 alternatives). IPv6
// prefixes are matched by ipv6.
func (c *compiler) cidr(s string) (string, error) {
	p, err := netip.ParsePrefix(s)
	if err != nil {
		return "", fmt.Errorf("%w: %q is not an address prefix", ErrUnsupported, s)
	}
	p = p.Masked()
	if !p.Addr().Is4() {
		return c.ipv6(Filter{}, p)
	}
	if p.Bits() == 0 {
		return "peer_ip != ''", nil
	}
	octets := (p.Bits() + 7) / 8
	n := 1 << (octets*8 - p.Bits())
	base := new(big.Int).SetBytes(p.Addr().AsSlice()).Uint64()
	var alts []string
	for i := range n {
		a := base + uint64(i)<<(32-octets*8)
		b := [4]byte{byte(a >> 24), byte(a >> 16), byte(a >> 8), byte(a)}
		parts := make([]string, octets)
		for j := range octets {
			parts[j] = strconv.Itoa(int(b[j]))
		}
		alt := strings.Join(parts, "[.]")
		if octets < 4 {
			alt += "[.]"
		}
		alts = append(alts, alt)
	}
	pat := "^(" + strings.Join(alts, "|") + ")"
	if octets == 4 {
		pat += "$"
	}
	v, err := c.value(pat)
	return "match(peer_ip, " + v + ")", err
}

// dimExpr is the SQL expression of a dimension.
func (c *compiler) dimExpr(d Dimension) (string, error) {
	switch d.Kind {
	case DimIP:
		return "peer_ip", nil
	case DimAPIKey:
		return "api_key_id", nil
	case DimAccount:
		return "user_id", nil
	case DimEndpoint:
		return "if(empty(http_route), http_path, http_route)", nil
	case DimStatus:
		return "status_code", nil
	case DimMethod:
		return "http_method", nil
	case DimUserAgent:
		return "user_agent", nil
	case DimService:
		return "service_name", nil
	case DimCountry:
		return c.enrichment(FieldCountry)
	case DimASN:
		return c.enrichment(FieldASN)
	case DimDay:
		return "toStartOfDay(timestamp)", nil
	case DimHour:
		return "toStartOfHour(timestamp)", nil
	case DimParam:
		n, err := c.name(d.Param)
		if err != nil {
			return "", err
		}
		return "extractURLParameter(http_target, " + n + ")", nil
	}
	return "", fmt.Errorf("%w: dimension %q", ErrUnsupported, d.Kind)
}

// dimAlias is the result column name of a dimension.
func dimAlias(d Dimension) string {
	if d.Kind == DimParam {
		var b strings.Builder
		for _, r := range strings.ToLower(d.Param) {
			if r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '_' {
				b.WriteRune(r)
			} else {
				b.WriteByte('_')
			}
		}
		if s := b.String(); s != "" && s[0] >= 'a' && s[0] <= 'z' {
			return s
		}
		return "param"
	}
	return string(d.Kind)
}

// measureSQL is the aggregate of the IR's measure with its column name.
func (c *compiler) measureSQL() (expr, alias string, err error) {
	ir := c.ir
	switch ir.Intent {
	case IntentRate:
		s, err := statusSQL(*ir.Rate)
		if err != nil {
			return "", "", err
		}
		return "countIf(" + s + ") / count()", rateAlias(*ir.Rate), nil
	case IntentCountDistinct:
		e, err := c.dimExpr(ir.Measure.Of)
		return "uniqExact(" + e + ")", "distinct_" + dimAlias(ir.Measure.Of), err
	}
	agg := "sum"
	switch ir.Intent {
	case IntentAvg:
		agg = "avg"
	case IntentMax:
		agg = "max"
	}
	switch ir.Measure.Kind {
	case MeasureResponseBytes:
		return agg + "(response_bytes)", map[string]string{"sum": "bytes_downloaded", "avg": "avg_response_bytes", "max": "max_response_bytes"}[agg], nil
	case MeasureRequestBytes:
		return agg + "(request_bytes)", map[string]string{"sum": "bytes_uploaded", "avg": "avg_request_bytes", "max": "max_request_bytes"}[agg], nil
	case MeasureLatency:
		if ir.Intent != IntentMax && ir.Intent != IntentSum {
			agg = "avg"
		}
		return agg + "(duration_ns) / 1e6", agg + "_latency_ms", nil
	}
	return "count()", "requests", nil
}

func rateAlias(f Filter) string {
	switch {
	case f.Op == OpGe && f.Value == "400":
		return "error_rate"
	case f.Op == OpClass:
		return "rate_" + f.Value
	}
	return "rate_" + strings.NewReplacer(">=", "ge", "!=", "ne", ">", "gt", "<=", "le", "<", "lt", "=", "").Replace(string(f.Op)) + f.Value
}

// listColumns are the columns of a list answer.
const listColumns = "timestamp, service_name, http_method, http_target, status_code, peer_ip, api_key_id, user_agent, response_bytes, duration_ns / 1e6 AS latency_ms, trace_id"

func (c *compiler) limit() int {
	if c.ir.Limit > 0 {
		return min(c.ir.Limit, MaxRowsLimit)
	}
	return DefaultMaxRows
}

func (c *compiler) main(bucket string) (Query, int, error) {
	ir := c.ir
	where, err := c.where()
	if err != nil {
		return Query{}, 0, err
	}
	// The SELECT list is written before the WHERE clause, so its
	// arguments (a parameter name that is not a plain identifier) come
	// first: the WHERE clause's are kept aside.
	whereArgs := c.args
	c.args = nil
	var b strings.Builder
	switch {
	case ir.Intent == IntentList:
		order := "DESC"
		if ir.Order.By == "time" && !ir.Order.Desc {
			order = "ASC"
		}
		fmt.Fprintf(&b, "SELECT %s\nFROM traces\nWHERE %s\nORDER BY timestamp %s\nLIMIT %d", listColumns, where, order, c.limit())
		return Query{SQL: b.String(), Args: whereArgs}, c.limit(), nil
	case ir.Intent == IntentTimeline:
		q, err := c.timeline(bucket)
		return q, 0, err
	}
	mexpr, malias, err := c.measureSQL()
	if err != nil {
		return Query{}, 0, err
	}
	measureArgs := c.args
	c.args = nil
	measures := mexpr + " AS " + malias
	if ir.Intent == IntentRate {
		measures += ", count() AS requests"
	}
	if len(ir.GroupBy) == 0 {
		fmt.Fprintf(&b, "SELECT %s\nFROM traces\nWHERE %s", measures, where)
		return Query{SQL: b.String(), Args: slices.Concat(measureArgs, whereArgs)}, 1, nil
	}
	var cols, keys, timeKeys []string
	hasEndpoint := slices.ContainsFunc(ir.GroupBy, func(d Dimension) bool { return d.Kind == DimEndpoint })
	if hasEndpoint {
		cols, keys = append(cols, "http_method AS method"), append(keys, "method")
	}
	for _, d := range ir.GroupBy {
		if d.Kind == DimMethod && hasEndpoint {
			continue
		}
		e, err := c.dimExpr(d)
		if err != nil {
			return Query{}, 0, err
		}
		alias := dimAlias(d)
		cols, keys = append(cols, e+" AS "+alias), append(keys, alias)
		if d.IsTime() {
			timeKeys = append(timeKeys, alias)
		}
	}
	var order []string
	switch {
	case ir.Order.By == "time" && len(timeKeys) > 0:
		for _, k := range timeKeys {
			order = append(order, k+map[bool]string{true: " DESC", false: ""}[ir.Order.Desc])
		}
		order = append(order, keys...)
	default:
		order = append(order, malias+" DESC")
		order = append(order, keys...)
	}
	order = slices.Compact(order)
	fmt.Fprintf(&b, "SELECT %s, %s\nFROM traces\nWHERE %s\nGROUP BY %s\nORDER BY %s\nLIMIT %d",
		strings.Join(cols, ", "), measures, where, strings.Join(keys, ", "), strings.Join(dedupe(order), ", "), c.limit())
	return Query{SQL: b.String(), Args: slices.Concat(c.args, measureArgs, whereArgs)}, c.limit(), nil
}

// dedupe drops a key that an earlier ORDER BY term already sorts by.
func dedupe(order []string) []string {
	var out []string
	seen := map[string]bool{}
	for _, o := range order {
		k := strings.TrimSuffix(o, " DESC")
		if !seen[k] {
			seen[k] = true
			out = append(out, o)
		}
	}
	return out
}

// timeline counts the question's requests (or distinct values) per bucket.
func (c *compiler) timeline(bucket string) (Query, error) {
	c.args = nil
	where, err := c.where()
	if err != nil {
		return Query{}, err
	}
	whereArgs := c.args // after the measure's, as in main
	c.args = nil
	measure := "count() AS requests"
	if c.ir.Intent == IntentCountDistinct {
		e, a, err := c.measureSQL()
		if err != nil {
			return Query{}, err
		}
		measure = e + " AS " + a
	}
	fn := map[string]string{"hour": "toStartOfHour", "day": "toStartOfDay"}[bucket]
	return Query{SQL: fmt.Sprintf("SELECT %s(timestamp) AS %s, %s\nFROM traces\nWHERE %s\nGROUP BY %s\nORDER BY %s",
		fn, bucket, measure, where, bucket, bucket), Args: slices.Concat(c.args, whereArgs)}, nil
}
