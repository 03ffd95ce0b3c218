package sqlguard

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// ErrNotWindowed is returned by ParseWindowed for a query of another shape.
var ErrNotWindowed = errors.New("not a single-window aggregate query")

// Windowed is an alerting query of the one shape whose evaluations at many
// times can share their work: a grouped aggregate over the traces of one
// time window that ends at now(),
//
//	SELECT keys and aggregates
//	FROM traces
//	WHERE conditions AND timestamp > now() - INTERVAL n unit AND timestamp <= now()
//	GROUP BY keys
//	[HAVING condition]
//
// where now() appears only in the window's two bounds. A backtest
// aggregates such a query once per step-sized pane and slides the window
// over the panes instead of scanning the window again at every step.
type Windowed struct {
	// From is the relation read: "traces", or a filtered copy of it,
	// "(SELECT * FROM traces WHERE …) AS traces", as exclusions write.
	From string
	// Where are the conditions other than the window's bounds; none
	// mentions the current time.
	Where []string
	// Window is the window's length; LowerInclusive is true for
	// "timestamp >= now() - …" and UpperInclusive for "timestamp <= now()".
	Window                         time.Duration
	LowerInclusive, UpperInclusive bool
	Columns                        []Column
	GroupBy                        []Expr
	// Having is nil when the query has no HAVING; HavingTerms are its
	// top-level AND terms, nil when it has a top-level OR.
	Having      Expr
	HavingTerms []Expr
	// UsesNow is true when a column or the HAVING uses now() outside
	// the aggregates (an elapsed time, say): its value changes at every
	// step, not only where rows enter or leave the window.
	UsesNow bool
}

// Column is one result column and its name.
type Column struct {
	Expr  Expr
	Alias string
}

// Expr is an expression cut into text and aggregate calls.
type Expr []Part

// Part is a piece of an expression: text, an aggregate call, or (Now)
// the query's now() outside any aggregate.
type Part struct {
	Text string
	Agg  *Aggregate
	Now  bool
}

// Aggregate is a call of an aggregate function.
type Aggregate struct {
	// Name is lower case: count, countif, sum, sumif, min, max, minif,
	// maxif, avg, uniqexact, uniqexactif or uniq.
	Name string
	// Func is the name as written.
	Func     string
	Distinct bool
	// Args are the arguments' text; count() and count(*) have none. A
	// condition argument (countIf's, sumIf's second…) has its time
	// bounds taken out into Newer and Older, "true" when nothing is left.
	Args []string
	// Newer, when not zero, keeps only rows with timestamp > now() -
	// Newer (>= when NewerInclusive); Older only those with timestamp <=
	// now() - Older (< when not OlderInclusive).
	Newer, Older                   time.Duration
	NewerInclusive, OlderInclusive bool
}

// UsesNow reports whether e uses now() outside its aggregates.
func (e Expr) UsesNow() bool {
	for _, p := range e {
		if p.Now {
			return true
		}
	}
	return false
}

// HasAggregate reports whether e calls an aggregate.
func (e Expr) HasAggregate() bool {
	for _, p := range e {
		if p.Agg != nil {
			return true
		}
	}
	return false
}

// String is e's text.
func (e Expr) String() string {
	var b strings.Builder
	for _, p := range e {
		switch {
		case p.Agg != nil:
			b.WriteString(p.Agg.String())
		case p.Now:
			b.WriteString("now()")
		default:
			b.WriteString(p.Text)
		}
	}
	return b.String()
}

// String is the call's text.
func (a *Aggregate) String() string {
	d := ""
	if a.Distinct {
		d = "DISTINCT "
	}
	return a.Func + "(" + d + strings.Join(a.Args, ", ") + ")" + a.bounds()
}

// bounds describes a's time bounds, "" when it has none.
func (a *Aggregate) bounds() string {
	var b strings.Builder
	if a.Newer != 0 {
		fmt.Fprintf(&b, " [newer than now()-%v", a.Newer)
		if a.NewerInclusive {
			b.WriteString(" inclusive")
		}
		b.WriteString("]")
	}
	if a.Older != 0 {
		fmt.Fprintf(&b, " [at most now()-%v", a.Older)
		if !a.OlderInclusive {
			b.WriteString(" exclusive")
		}
		b.WriteString("]")
	}
	return b.String()
}

// Identifier returns e's column name when e is a bare (or traces.)
// column reference, else "".
func (e Expr) Identifier() string {
	if len(e) != 1 || e[0].Agg != nil {
		return ""
	}
	return bareIdentifier(strings.TrimSpace(e[0].Text))
}

func bareIdentifier(s string) string {
	s = strings.TrimPrefix(s, "traces.")
	if s == "" {
		return ""
	}
	for i := 0; i < len(s); i++ {
		if !isWordByte(s[i]) {
			return ""
		}
	}
	if s[0] >= '0' && s[0] <= '9' {
		return ""
	}
	return s
}

// supportedAggregates are the aggregates whose value over a window can be
// combined from values over its panes.
var supportedAggregates = setOf("count countif sum sumif min max minif maxif avg uniqexact uniqexactif uniq")

// aggregateNames are the aggregate functions of both dialects, without
// combinators; a call of one outside supportedAggregates refuses the shape.
var aggregateNames = setOf(`count countif sum sumif min max avg any anylast anyheavy argmin argmax arg_min arg_max
	uniq uniqexact uniqcombined uniqcombined64 uniqhll12 uniqtheta grouparray groupuniqarray groupbitand groupbitor
	groupbitxor quantile quantiles quantileexact quantiletiming quantiletdigest median medianexact stddevpop
	stddevsamp stddev stddev_pop stddev_samp varpop varsamp variance var_pop var_samp covarpop covarsamp corr
	topk topkweighted first last list array_agg string_agg group_concat listagg mode histogram entropy
	approx_count_distinct approx_quantile bool_and bool_or bit_and bit_or bit_xor product kurtosis skewness
	sumkahan summap avgweighted first_value last_value favg fsum sumwithoverflow count_star any_value
	arbitrary min_by max_by argmin_null argmax_null bitstring_agg reservoir_quantile mad regr_slope`)

// aggregateCombinators are ClickHouse suffixes that make a new aggregate.
var aggregateCombinators = []string{"if", "array", "distinct", "state", "merge", "ornull", "ordefault", "resample", "foreach", "map"}

// isAggregateName reports whether lower names an aggregate function,
// with or without combinators.
func isAggregateName(lower string) bool {
	for range 4 {
		if aggregateNames[lower] {
			return true
		}
		stripped := false
		for _, c := range aggregateCombinators {
			if len(lower) > len(c) && strings.HasSuffix(lower, c) {
				lower = lower[:len(lower)-len(c)]
				stripped = true
				break
			}
		}
		if !stripped {
			return false
		}
	}
	return false
}

// ParseWindowed reads q as a Windowed query. It fails, with an error
// wrapping ErrNotWindowed that says why, for any other shape: joins,
// subqueries, window functions, ORDER BY or LIMIT, now() outside the
// window's bounds, an aggregate it cannot combine, an unnamed computed
// column. It does not check the query; the guard does.
func ParseWindowed(q string) (*Windowed, error) {
	p, err := parseBoth(q)
	if err != nil {
		if errors.Is(err, ErrNotWindowed) {
			return nil, err
		}
		return nil, fmt.Errorf("%w: %v", ErrNotWindowed, err)
	}
	w := &windowParser{q: q, p: p}
	return w.parse()
}

func notWindowed(format string, args ...any) error {
	return fmt.Errorf("%w: %s", ErrNotWindowed, fmt.Sprintf(format, args...))
}

type windowParser struct {
	q string
	p *parsed
}

// span is a half-open token range.
type span struct{ from, to int }

func (w *windowParser) text(s span) string {
	if s.from >= s.to {
		return ""
	}
	t := w.p.toks
	return w.q[t[s.from].pos:t[s.to-1].end()]
}

func (w *windowParser) parse() (*Windowed, error) {
	toks := w.p.toks
	if len(toks) == 0 || toks[0].kind != tWord || toks[0].lower != "select" {
		return nil, notWindowed("it does not start with SELECT")
	}
	// The top-level clauses, in order.
	clauses := map[string]int{}
	order := []string{"select"}
	clauses["select"] = 0
	for i := 1; i < len(toks); i++ {
		t := toks[i]
		if t.kind == tSemicolon {
			return nil, notWindowed("it has more than one statement")
		}
		if t.kind != tWord || w.p.parent[i] != -1 || (i > 0 && toks[i-1].kind == tDot) {
			continue
		}
		if i+1 < len(toks) && toks[i+1].kind == tLParen && t.lower != "from" && t.lower != "where" && t.lower != "having" && t.lower != "join" {
			continue // a function such as left() or format()
		}
		switch t.lower {
		case "from", "where", "having":
			if _, dup := clauses[t.lower]; dup {
				return nil, notWindowed("it has two %s clauses", strings.ToUpper(t.lower))
			}
			clauses[t.lower] = i
			order = append(order, t.lower)
		case "group":
			if i+1 >= len(toks) || toks[i+1].lower != "by" {
				return nil, notWindowed("GROUP without BY")
			}
			if _, dup := clauses["group"]; dup {
				return nil, notWindowed("it has two GROUP BY clauses")
			}
			clauses["group"] = i
			order = append(order, "group")
		case "order", "limit", "offset", "fetch", "union", "intersect", "except", "window", "qualify", "settings",
			"format", "join", "into", "prewhere", "sample", "array", "final", "with", "distinct", "all", "using", "natural",
			"cross", "inner", "left", "right", "full", "anti", "semi", "positional", "asof", "lateral", "pivot", "unpivot":
			return nil, notWindowed("it uses %s", strings.ToUpper(t.lower))
		}
	}
	want := []string{"select", "from", "where", "group", "having"}
	k := 0
	for _, c := range order {
		for k < len(want) && want[k] != c {
			k++
		}
		if k == len(want) {
			return nil, notWindowed("its clauses are out of order")
		}
	}
	for _, c := range []string{"from", "where", "group"} {
		if _, ok := clauses[c]; !ok {
			return nil, notWindowed("it has no %s clause", strings.ToUpper(c))
		}
	}
	end := func(c string) int {
		i := clauses[c]
		best := len(toks)
		for _, j := range clauses {
			if j > i && j < best {
				best = j
			}
		}
		return best
	}
	fromSpan := span{clauses["from"] + 1, end("from")}
	whereSpan := span{clauses["where"] + 1, end("where")}
	groupSpan := span{clauses["group"] + 2, end("group")}
	selectSpan := span{1, clauses["from"]}

	// Nothing but the FROM may hold a subquery or a placeholder, and
	// nothing a window function or an aggregate's FILTER.
	for i, t := range toks {
		if t.kind == tOperator && (t.text == "?" || strings.HasPrefix(t.text, "$")) && (i < fromSpan.from || i >= fromSpan.to) {
			return nil, notWindowed("it has a placeholder outside FROM")
		}
		if t.kind != tWord || (i > 0 && toks[i-1].kind == tDot) {
			continue
		}
		inFrom := i >= fromSpan.from && i < fromSpan.to
		switch t.lower {
		case "select":
			if i != 0 && !inFrom {
				return nil, notWindowed("it has a subquery")
			}
		case "over":
			return nil, notWindowed("it uses a window function")
		case "filter":
			if i > 0 && toks[i-1].kind == tRParen {
				return nil, notWindowed("it uses FILTER")
			}
		}
	}
	out := &Windowed{}
	var err error
	if out.From, err = w.from(fromSpan); err != nil {
		return nil, err
	}
	if err := w.where(whereSpan, out); err != nil {
		return nil, err
	}
	for _, s := range w.split(selectSpan, tComma) {
		c, err := w.column(s)
		if err != nil {
			return nil, err
		}
		out.Columns = append(out.Columns, c)
	}
	for _, s := range w.split(groupSpan, tComma) {
		if s.from >= s.to {
			return nil, notWindowed("an empty GROUP BY item")
		}
		e, err := w.expr(s)
		if err != nil {
			return nil, err
		}
		if e.HasAggregate() {
			return nil, notWindowed("GROUP BY %s is an aggregate", e)
		}
		if s.to-s.from == 1 && toks[s.from].kind == tNumber {
			return nil, notWindowed("GROUP BY by position")
		}
		if s.to-s.from == 1 && toks[s.from].kind == tWord && toks[s.from].lower == "all" {
			return nil, notWindowed("GROUP BY ALL")
		}
		out.GroupBy = append(out.GroupBy, e)
	}
	if i, ok := clauses["having"]; ok {
		s := span{i + 1, len(toks)}
		if s.from >= s.to {
			return nil, notWindowed("an empty HAVING")
		}
		if out.Having, err = w.expr(s); err != nil {
			return nil, err
		}
		out.HavingTerms = nil
		for _, c := range w.conjuncts(s) {
			e, err := w.expr(c)
			if err != nil {
				return nil, err
			}
			out.HavingTerms = append(out.HavingTerms, e)
		}
	}
	if len(out.Columns) == 0 || len(out.GroupBy) == 0 {
		return nil, notWindowed("it has no columns or no GROUP BY")
	}
	for _, g := range out.GroupBy {
		if g.UsesNow() {
			return nil, notWindowed("GROUP BY %s uses the current time", g)
		}
	}
	for _, c := range out.Columns {
		if c.Expr.UsesNow() && !c.Expr.HasAggregate() {
			return nil, notWindowed("the column %s uses the current time but no aggregate", c.Alias)
		}
		out.UsesNow = out.UsesNow || c.Expr.UsesNow()
	}
	out.UsesNow = out.UsesNow || out.Having.UsesNow()
	return out, nil
}

// from accepts traces, or (SELECT * FROM traces WHERE cond) AS traces.
func (w *windowParser) from(s span) (string, error) {
	toks := w.p.toks
	n := s.to - s.from
	if n == 1 && toks[s.from].kind == tWord && toks[s.from].lower == "traces" {
		return "traces", nil
	}
	// ( SELECT * FROM traces WHERE … ) AS traces
	if n < 9 || toks[s.from].kind != tLParen || w.p.match[s.from] != s.to-3 ||
		toks[s.to-2].lower != "as" || toks[s.to-1].lower != "traces" {
		return "", notWindowed("it reads %s, not the traces table", w.text(s))
	}
	in := toks[s.from+1 : s.to-3]
	if len(in) < 6 || in[0].lower != "select" || in[1].text != "*" || in[2].lower != "from" || in[3].lower != "traces" || in[4].lower != "where" {
		return "", notWindowed("it reads a subquery other than a filtered traces")
	}
	for i := s.from + 6; i < s.to-3; i++ {
		t := toks[i]
		if t.kind == tWord && (t.lower == "select" || isNowWord(t.lower)) {
			return "", notWindowed("its traces filter has a subquery or the current time")
		}
	}
	return w.text(s), nil
}

func isNowWord(lower string) bool {
	switch lower {
	case "now", "now64", "current_timestamp", "localtimestamp", "get_current_timestamp", "transaction_timestamp",
		"today", "current_date", "yesterday":
		return true
	}
	return false
}

// opens and closes report brackets of any kind: ( [ {.
func opens(t token) bool {
	return t.kind == tLParen || t.kind == tOperator && (t.text == "[" || t.text == "{")
}

func closes(t token) bool {
	return t.kind == tRParen || t.kind == tOperator && (t.text == "]" || t.text == "}")
}

// split cuts s at top-level (relative to s) tokens of kind k.
func (w *windowParser) split(s span, k tokenKind) []span {
	var out []span
	depth, start := 0, s.from
	for i := s.from; i < s.to; i++ {
		t := w.p.toks[i]
		switch {
		case opens(t):
			depth++
		case closes(t):
			depth--
		case t.kind == k && depth == 0:
			out = append(out, span{start, i})
			start = i + 1
		}
	}
	return append(out, span{start, s.to})
}

// conjuncts splits s at its top-level ANDs (not BETWEEN's); it returns
// nil when s has a top-level OR.
func (w *windowParser) conjuncts(s span) []span {
	toks := w.p.toks
	var conj []span
	depth, start, between := 0, s.from, false
	for i := s.from; i < s.to; i++ {
		t := toks[i]
		switch {
		case opens(t):
			depth++
		case closes(t):
			depth--
		case depth == 0 && t.kind == tWord && t.lower == "or":
			return nil
		case depth == 0 && t.kind == tWord && t.lower == "between":
			between = true
		case depth == 0 && t.kind == tWord && t.lower == "and":
			if between {
				between = false
				continue
			}
			conj = append(conj, span{start, i})
			start = i + 1
		}
	}
	return append(conj, span{start, s.to})
}

// where splits the WHERE clause at its top-level ANDs and takes out the
// window's bounds.
func (w *windowParser) where(s span, out *Windowed) error {
	toks := w.p.toks
	conj := w.conjuncts(s)
	if conj == nil {
		return notWindowed("its WHERE has a top-level OR")
	}
	lower, upper := false, false
	for _, c := range conj {
		if c.from >= c.to {
			return notWindowed("an empty WHERE condition")
		}
		if d, incl, ok := w.lowerBound(c); ok {
			if lower {
				return notWindowed("two lower bounds on timestamp")
			}
			lower, out.Window, out.LowerInclusive = true, d, incl
			continue
		}
		if incl, ok := w.upperBound(c); ok {
			if upper {
				return notWindowed("two upper bounds on timestamp")
			}
			upper, out.UpperInclusive = true, incl
			continue
		}
		for i := c.from; i < c.to; i++ {
			if toks[i].kind == tWord && isNowWord(toks[i].lower) && (i == 0 || toks[i-1].kind != tDot) {
				return notWindowed("the condition %q uses the current time", w.text(c))
			}
		}
		out.Where = append(out.Where, w.text(c))
	}
	if !lower || !upper {
		return notWindowed("its WHERE does not bound timestamp on both sides of a window ending at now()")
	}
	return nil
}

// timestampAt reports whether toks[i:] starts with timestamp or
// traces.timestamp and returns the index after it.
func (w *windowParser) timestampAt(i, to int) (int, bool) {
	toks := w.p.toks
	if i+2 < to && toks[i].lower == "traces" && toks[i+1].kind == tDot && toks[i+2].lower == "timestamp" {
		return i + 3, true
	}
	if i < to && toks[i].kind == tWord && toks[i].lower == "timestamp" {
		return i + 1, true
	}
	return i, false
}

// nowAt reports whether toks[i:] starts with now() and returns the index
// after it.
func (w *windowParser) nowAt(i, to int) (int, bool) {
	toks := w.p.toks
	if i+3 <= to && toks[i].kind == tWord && toks[i].lower == "now" && toks[i+1].kind == tLParen && toks[i+2].kind == tRParen {
		return i + 3, true
	}
	return i, false
}

// comparison reads > >= < <= at i.
func (w *windowParser) comparison(i, to int) (op string, next int) {
	toks := w.p.toks
	if i >= to || (toks[i].text != ">" && toks[i].text != "<") {
		return "", i
	}
	op = toks[i].text
	if i+1 < to && toks[i+1].text == "=" && toks[i+1].pos == toks[i].end() {
		return op + "=", i + 2
	}
	return op, i + 1
}

// lowerBound reads "timestamp > now() - INTERVAL n unit" (or >=).
func (w *windowParser) lowerBound(c span) (time.Duration, bool, bool) {
	return w.agoBound(c, ">")
}

// olderBound reads "timestamp <= now() - INTERVAL n unit" (or <).
func (w *windowParser) olderBound(c span) (time.Duration, bool, bool) {
	return w.agoBound(c, "<")
}

// agoBound reads "timestamp OP now() - INTERVAL n unit" where OP is op or
// op followed by "=" (inclusive).
func (w *windowParser) agoBound(c span, op string) (time.Duration, bool, bool) {
	i, ok := w.timestampAt(c.from, c.to)
	if !ok {
		return 0, false, false
	}
	got, i := w.comparison(i, c.to)
	if got != op && got != op+"=" {
		return 0, false, false
	}
	i, ok = w.nowAt(i, c.to)
	if !ok || i >= c.to || w.p.toks[i].text != "-" {
		return 0, false, false
	}
	d, ok := w.interval(span{i + 1, c.to})
	return d, got == op+"=", ok
}

// upperBound reads "timestamp <= now()" (or <).
func (w *windowParser) upperBound(c span) (bool, bool) {
	i, ok := w.timestampAt(c.from, c.to)
	if !ok {
		return false, false
	}
	op, i := w.comparison(i, c.to)
	if op != "<" && op != "<=" {
		return false, false
	}
	i, ok = w.nowAt(i, c.to)
	return op == "<=", ok && i == c.to
}

// interval reads INTERVAL n unit, INTERVAL 'n unit' or toIntervalUnit(n),
// the whole of s.
func (w *windowParser) interval(s span) (time.Duration, bool) {
	toks := w.p.toks[s.from:s.to]
	var num, unit string
	switch {
	case len(toks) == 3 && toks[0].lower == "interval" && toks[1].kind == tNumber && toks[2].kind == tWord:
		num, unit = toks[1].text, toks[2].lower
	case len(toks) == 3 && toks[0].lower == "interval" && toks[1].kind == tString && toks[2].kind == tWord:
		num, unit = strings.Trim(toks[1].text, "'"), toks[2].lower
	case len(toks) == 2 && toks[0].lower == "interval" && toks[1].kind == tString:
		f := strings.Fields(strings.Trim(toks[1].text, "'"))
		if len(f) != 2 {
			return 0, false
		}
		num, unit = f[0], strings.ToLower(f[1])
	case len(toks) == 4 && strings.HasPrefix(toks[0].lower, "tointerval") && toks[1].kind == tLParen && toks[2].kind == tNumber && toks[3].kind == tRParen:
		num, unit = toks[2].text, strings.TrimPrefix(toks[0].lower, "tointerval")
	default:
		return 0, false
	}
	n, err := strconv.ParseInt(num, 10, 64)
	if err != nil || n <= 0 || n > 366*24*3600 {
		return 0, false
	}
	var u time.Duration
	switch strings.TrimSuffix(unit, "s") {
	case "second":
		u = time.Second
	case "minute":
		u = time.Minute
	case "hour":
		u = time.Hour
	case "day":
		u = 24 * time.Hour
	default:
		return 0, false
	}
	return time.Duration(n) * u, true
}

// column reads one SELECT item and its name.
func (w *windowParser) column(s span) (Column, error) {
	toks := w.p.toks
	if s.from >= s.to {
		return Column{}, notWindowed("an empty column")
	}
	if toks[s.from].text == "*" || toks[s.to-1].text == "*" && s.to-s.from <= 3 {
		return Column{}, notWindowed("it selects *")
	}
	body, alias := s, ""
	last := toks[s.to-1]
	switch {
	case s.to-s.from >= 3 && toks[s.to-2].kind == tWord && toks[s.to-2].lower == "as" && (last.kind == tWord || last.kind == tQuoted):
		body, alias = span{s.from, s.to - 2}, identName(last)
	case s.to-s.from >= 2 && toks[s.to-2].kind == tRParen && (last.kind == tWord || last.kind == tQuoted):
		body, alias = span{s.from, s.to - 1}, identName(last)
	}
	e, err := w.expr(body)
	if err != nil {
		return Column{}, err
	}
	if alias == "" {
		alias = e.Identifier()
	}
	if alias == "" {
		return Column{}, notWindowed("the column %s has no name; add AS name", w.text(s))
	}
	return Column{Expr: e, Alias: alias}, nil
}

func identName(t token) string {
	if t.kind == tQuoted {
		q := t.text[:1]
		return strings.ReplaceAll(t.text[1:len(t.text)-1], q+q, q)
	}
	return t.text
}

// expr cuts s into text and aggregate calls.
func (w *windowParser) expr(s span) (Expr, error) {
	toks := w.p.toks
	var out Expr
	// text is the query's text from the byte offset textAt to stop,
	// original spacing included.
	textAt := toks[s.from].pos
	text := func(stop int) {
		if stop > textAt {
			out = append(out, Part{Text: w.q[textAt:stop]})
		}
	}
	for i := s.from; i < s.to; i++ {
		t := toks[i]
		if t.kind == tWord && isNowWord(t.lower) && (i == 0 || toks[i-1].kind != tDot) {
			if t.lower == "now" && i+2 < s.to && toks[i+1].kind == tLParen && toks[i+2].kind == tRParen {
				text(t.pos)
				out = append(out, Part{Now: true})
				textAt = toks[i+2].end()
				i += 2
				continue
			}
			return nil, notWindowed("%q uses the current time outside the window's bounds", w.text(s))
		}
		if t.kind != tWord || i+1 >= s.to || toks[i+1].kind != tLParen || (i > 0 && toks[i-1].kind == tDot) || !isAggregateName(t.lower) {
			continue
		}
		if !supportedAggregates[t.lower] {
			return nil, notWindowed("the aggregate %s cannot be combined over panes", t.text)
		}
		closeAt := w.p.match[i+1]
		a := &Aggregate{Name: t.lower, Func: t.text}
		args := span{i + 2, closeAt}
		if args.from < args.to && toks[args.from].kind == tWord && toks[args.from].lower == "distinct" {
			a.Distinct = true
			args.from++
		}
		if args.from < args.to && !(args.to-args.from == 1 && toks[args.from].text == "*") {
			for k, as := range w.split(args, tComma) {
				if as.from >= as.to {
					return nil, notWindowed("an empty argument of %s", t.text)
				}
				if k == conditionArg(a.Name) {
					cond, err := w.condition(as, a)
					if err != nil {
						return nil, err
					}
					a.Args = append(a.Args, cond)
					continue
				}
				if err := w.plain(as, a); err != nil {
					return nil, err
				}
				a.Args = append(a.Args, w.text(as))
			}
		}
		if err := a.check(); err != nil {
			return nil, err
		}
		text(t.pos)
		out = append(out, Part{Agg: a})
		textAt = toks[closeAt].end()
		i = closeAt
	}
	text(toks[s.to-1].end())
	return out, nil
}

// plain refuses, in an argument of a, the current time and aggregates.
func (w *windowParser) plain(s span, a *Aggregate) error {
	toks := w.p.toks
	for j := s.from; j < s.to; j++ {
		if toks[j].kind != tWord || toks[j-1].kind == tDot {
			continue
		}
		if isNowWord(toks[j].lower) {
			return notWindowed("%s uses the current time other than as timestamp > now() - INTERVAL n or timestamp <= now() - INTERVAL n", a.Func)
		}
		if j+1 < s.to && toks[j+1].kind == tLParen && isAggregateName(toks[j].lower) {
			return notWindowed("nested aggregates")
		}
	}
	return nil
}

// conditionArg is the index of an aggregate's condition argument, or -1.
func conditionArg(name string) int {
	switch name {
	case "countif":
		return 0
	case "sumif", "minif", "maxif", "uniqexactif":
		return 1
	}
	return -1
}

// condition reads an aggregate's condition: its top-level AND terms that
// bound timestamp against now() minus an interval set a's Newer or
// Older, and the other terms, which must not use the current time, are
// returned ("true" when none).
func (w *windowParser) condition(s span, a *Aggregate) (string, error) {
	terms := w.conjuncts(s)
	if terms == nil {
		terms = []span{s}
	}
	var rest []string
	for _, c := range terms {
		if c.from >= c.to {
			return "", notWindowed("an empty condition in %s", a.Func)
		}
		if d, incl, ok := w.lowerBound(c); ok {
			if a.Newer != 0 {
				return "", notWindowed("two lower time bounds in %s", a.Func)
			}
			a.Newer, a.NewerInclusive = d, incl
			continue
		}
		if d, incl, ok := w.olderBound(c); ok {
			if a.Older != 0 {
				return "", notWindowed("two upper time bounds in %s", a.Func)
			}
			a.Older, a.OlderInclusive = d, incl
			continue
		}
		if err := w.plain(c, a); err != nil {
			return "", err
		}
		rest = append(rest, w.text(c))
	}
	if a.Newer == 0 && a.Older == 0 {
		return w.text(s), nil
	}
	if len(rest) == 0 {
		return "true", nil
	}
	if len(rest) == 1 {
		return rest[0], nil
	}
	return "(" + strings.Join(rest, ") AND (") + ")", nil
}

// check refuses the argument counts the combination does not handle.
func (a *Aggregate) check() error {
	n := len(a.Args)
	ok := false
	switch a.Name {
	case "count":
		ok = n <= 1 || a.Distinct
	case "countif", "sum", "min", "max", "avg":
		ok = n == 1 && !a.Distinct
	case "sumif", "minif", "maxif", "uniqexactif":
		ok = n == 2 && !a.Distinct
	case "uniqexact", "uniq":
		ok = n >= 1 && n <= 2 && !a.Distinct
	}
	if a.Distinct && a.Name == "count" {
		ok = n >= 1 && n <= 2
	}
	if !ok {
		return notWindowed("%s with %d argument(s) cannot be combined over panes", a, n)
	}
	return nil
}
