package alert

import (
	"context"
	"errors"
	"fmt"
	"math"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/tracehound/tracehound/sqlguard"
	"github.com/tracehound/tracehound/store"
)

// A sliding replay evaluates a rule of the shape sqlguard.Windowed at every
// step of a backtest with one scan instead of one per step. The window
// (now() - W, now()] at step s is the union of the W/step panes
// (t - step, t] that end at s and the steps before it, so the query aggregates
// each group once per pane and slides a frame of W/step panes over them
// with window functions. A group's result only changes when a pane enters
// or leaves its window, so the query returns one row per group and change
// point, and the row holds until the group's next change point.
//
// Counts, sums, minima, maxima and averages combine from their panes'
// values; distinct counts keep each pane's distinct values and count a
// value from the first step whose frame holds it to the last. When the
// HAVING clause requires a count (count(), countIf(c), uniqExact(x)) to
// reach a threshold, a first scan counts each group per bucket (the
// window's length, at least an hour), and only the groups and buckets
// whose two-bucket total reaches the threshold are aggregated by pane: a
// window lies within two consecutive buckets, so no other step can pass.
// A distinct count's bucket total is its distinct values: a window's are
// at most the sum of its two buckets'.

// slidingPlan is the SQL of a sliding replay and how to read its rows.
type slidingPlan struct {
	sql string
	// froms is how many times the rule's FROM appears in sql (the
	// positional arguments of a rewritten rule repeat that many times).
	froms int
	// first is the pane of the first step; step i is pane first+i.
	first int64
	// w is the rule's query.
	w *sqlguard.Windowed
}

// slidingColumns names the extra columns of a sliding result: the change
// point's pane and the group's next change point (NULL for none).
const (
	paneColumn = "__th_pane"
	nextColumn = "__th_next"
)

// errNotSliding marks a rule or a step that a sliding replay cannot take.
var errNotSliding = errors.New("not replayable with sliding panes")

// errRowLimit marks a step of a sliding replay with more rows than its
// rule's limit.
var errRowLimit = errors.New("too many rows")

// planSliding builds the sliding replay of r at steps, evenly spaced by
// step. columns are the traces table's columns (lower case): a GROUP BY
// name that is one of them means the column, not a SELECT alias.
//
// When the rule reads traces twice (a count scan, then a pane scan) and
// keep names columns, both read a materialized copy of those columns of
// the rows its WHERE keeps: one scan instead of two, for a rule that keeps
// few rows.
func planSliding(r *Rule, steps []time.Time, step time.Duration, columns map[string]bool, keep []string) (*slidingPlan, error) {
	w, err := sqlguard.ParseWindowed(r.SQL)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", errNotSliding, err)
	}
	if len(steps) == 0 || step <= 0 || step%time.Microsecond != 0 || w.Window%step != 0 {
		return nil, fmt.Errorf("%w: the window %v is not a whole number of %v steps", errNotSliding, w.Window, step)
	}
	n := int64(w.Window / step)
	stepUS := step.Microseconds()
	// Panes are numbered from base so that every pane the first step's
	// window needs has a positive number and step i is pane n+1+i.
	base := steps[0].UnixMicro() - (n+1)*stepUS
	first := n + 1
	last := first + int64(len(steps)) - 1

	p := &slidingBuilder{w: w, n: n, columns: columns}
	if w.UsesNow {
		p.now = fmt.Sprintf("(%s + to_microseconds((__th_pane - %d) * %d))", timeLiteral(steps[0]), n+1, stepUS)
	}
	if err := p.keys(); err != nil {
		return nil, err
	}
	if err := p.aggregates(); err != nil {
		return nil, err
	}
	var pane string
	if w.UpperInclusive && !w.LowerInclusive {
		pane = fmt.Sprintf("((epoch_us(timestamp) - %d + %d) // %d)", base, stepUS-1, stepUS)
	} else if !w.UpperInclusive && w.LowerInclusive {
		pane = fmt.Sprintf("((epoch_us(timestamp) - %d) // %d + 1)", base, stepUS)
	} else {
		return nil, fmt.Errorf("%w: the window's bounds must be one open and one closed", errNotSliding)
	}
	lo := steps[0].Add(-w.Window)
	hi := steps[len(steps)-1]
	lowOp, highOp := ">", "<="
	if w.LowerInclusive {
		lowOp, highOp = ">=", "<"
	}
	conds := make([]string, 0, len(w.Where)+2)
	for _, c := range w.Where {
		conds = append(conds, "("+c+")")
	}
	conds = append(conds, "timestamp "+lowOp+" "+timeLiteral(lo), "timestamp "+highOp+" "+timeLiteral(hi))
	where := strings.Join(conds, "\n    AND ")

	keyNames := p.keyNames()
	keyList := strings.Join(keyNames, ", ")
	var b strings.Builder
	froms := 1
	b.WriteString("WITH ")
	prune := p.pruneTerms()
	from := w.From
	if len(prune) > 0 && len(keep) > 0 {
		fmt.Fprintf(&b, "__th_src AS MATERIALIZED (\n  SELECT %s\n  FROM %s\n  WHERE %s\n),\n", strings.Join(keep, ", "), w.From, where)
		from, where = "__th_src AS traces", "true"
	}
	// Buckets are at least an hour long: a window still lies within two
	// of them, and the count scan groups fewer rows. When every term
	// bounds a frame shorter than the window (the last 15 minutes of a
	// day), buckets as long as that frame (or an hour) tell the steps
	// that can pass apart more sharply; the rows kept are then those of
	// the reach buckets before each such step's that its window covers.
	bucket, reach := n*max(1, int64((time.Hour+w.Window-1)/w.Window)), int64(1)
	if f := frameOf(prune, n); f < n {
		if b := max(f, int64((time.Hour+step-1)/step)); b < n {
			bucket, reach = b, (n-1+b-1)/b
		}
	}
	if len(prune) > 0 {
		if from == w.From {
			froms = 2
		}
		// Counts per group and bucket of the rows that can count, then
		// the buckets whose steps can pass: those where this and the
		// previous bucket reach every threshold together. Groups are
		// told apart by a hash of their keys: a collision only keeps
		// more rows than needed.
		fmt.Fprintf(&b, "__th_b AS (\n  SELECT hash(%s) AS __th_kh, %s // %d AS __th_bk", strings.Join(p.keyExprs, ", "), pane, bucket)
		var measures []string
		for i, t := range prune {
			fmt.Fprintf(&b, ", %s AS __thm%d", t.bucketAgg(), i)
			measures = append(measures, "("+t.measure+")")
		}
		fmt.Fprintf(&b, "\n  FROM %s\n  WHERE %s", from, where)
		if !slices.Contains(measures, "(true)") {
			fmt.Fprintf(&b, "\n    AND (%s)", strings.Join(measures, " OR "))
		}
		b.WriteString("\n  GROUP BY ALL\n),\n")
		// Two buckets reach a threshold together only if one of them
		// holds half of it: look only next to such buckets. Any term
		// will do; a volume of bytes is rarer than a count of rows.
		heavy := 0
		for i, t := range prune {
			if h := prune[heavy]; t.sum != "" && h.sum == "" || (t.sum != "") == (h.sum != "") && t.min > h.min {
				heavy = i
			}
		}
		fmt.Fprintf(&b, "__th_h AS (\n  SELECT DISTINCT __th_kh, __th_bk + d AS __th_bk FROM __th_b, (VALUES (0), (1)) AS __th_d(d) WHERE __thm%d >= %d\n),\n",
			heavy, prune[heavy].half())
		b.WriteString("__th_c AS (\n  SELECT h.__th_kh, h.__th_bk FROM __th_h AS h JOIN __th_b AS c ON c.__th_kh = h.__th_kh AND (c.__th_bk = h.__th_bk OR c.__th_bk = h.__th_bk - 1)\n  GROUP BY ALL HAVING ")
		for i, t := range prune {
			if i > 0 {
				b.WriteString(" AND ")
			}
			fmt.Fprintf(&b, "sum(c.__thm%d) >= %d", i, t.min)
		}
		if reach == 1 {
			b.WriteString("\n),\n__th_need AS (\n  SELECT hash(__th_kh, __th_bk) AS h FROM __th_c UNION SELECT hash(__th_kh, __th_bk - 1) FROM __th_c\n),\n")
		} else {
			fmt.Fprintf(&b, "\n),\n__th_need AS (\n  SELECT DISTINCT hash(__th_kh, __th_bk - d) AS h FROM __th_c, range(0, %d) AS __th_back(d)\n),\n", reach+1)
		}
	}
	// One row per group and pane with the partial aggregates. With one
	// distinct count, rows are grouped by its value too, and the groups'
	// partials add up from those: cheaper than a list of distinct values
	// per group and pane.
	part := "__th_part"
	byValue := len(p.distinct) == 1
	if byValue {
		part = "__th_pv"
	}
	fmt.Fprintf(&b, "%s AS (\n  SELECT ", part)
	for i, k := range p.keyExprs {
		fmt.Fprintf(&b, "%s AS %s, ", k, keyNames[i])
	}
	fmt.Fprintf(&b, "%s AS __th_pane, count() AS __thn", pane)
	for _, pc := range p.partials {
		if pc.list && byValue {
			fmt.Fprintf(&b, ", %s AS __th_val", pc.value)
			continue
		}
		fmt.Fprintf(&b, ", %s AS %s", pc.expr, pc.name)
	}
	fmt.Fprintf(&b, "\n  FROM %s\n  WHERE %s", from, where)
	if len(prune) > 0 {
		fmt.Fprintf(&b, "\n    AND hash(hash(%s), %s // %d) IN (SELECT h FROM __th_need)", strings.Join(p.keyExprs, ", "), pane, bucket)
	}
	b.WriteString("\n  GROUP BY ALL\n),\n")
	if byValue {
		fmt.Fprintf(&b, "__th_part AS (\n  SELECT %s, __th_pane, CAST(sum(__thn) AS BIGINT) AS __thn", keyList)
		for _, pc := range p.partials {
			if !pc.list {
				fmt.Fprintf(&b, ", %s AS %s", fmt.Sprintf(pc.rollup(), pc.name), pc.name)
			}
		}
		fmt.Fprintf(&b, "\n  FROM __th_pv\n  GROUP BY ALL\n),\n")
	}
	// A distinct count changes where a value enters or leaves it: each
	// value's panes merge into runs whose frames overlap or touch, and
	// a run adds 1 where its first pane enters and -1 after its last
	// pane leaves; the count at a step is the sum of what came before.
	for i, d := range p.distinct {
		width := d.to - d.from + 1
		if byValue {
			fmt.Fprintf(&b, "__th_v%d AS (\n  SELECT %s, __th_pane, __th_val FROM __th_pv WHERE __th_val IS NOT NULL\n),\n", i, keyList)
		} else {
			fmt.Fprintf(&b, "__th_v%d AS (\n  SELECT %s, __th_pane, unnest(%s) AS __th_val FROM __th_part\n),\n", i, keyList, d.list)
		}
		fmt.Fprintf(&b, "__th_i%d AS (\n  SELECT %s, __th_pane,\n    __th_pane - lag(__th_pane) OVER v AS __th_gap,\n    lead(__th_pane) OVER v - __th_pane AS __th_ahead\n  FROM __th_v%d\n  WINDOW v AS (PARTITION BY %s, __th_val ORDER BY __th_pane)\n),\n",
			i, keyList, i, keyList)
		fmt.Fprintf(&b, "__th_e%d AS (\n  SELECT %s, __th_pane + %d AS __th_pane, 1 AS %s FROM __th_i%d WHERE __th_gap IS NULL OR __th_gap > %d\n", i, keyList, d.from, d.delta, i, width)
		fmt.Fprintf(&b, "  UNION ALL SELECT %s, __th_pane + %d AS __th_pane, -1 AS %s FROM __th_i%d WHERE __th_ahead IS NULL OR __th_ahead > %d\n),\n", keyList, d.to+1, d.delta, i, width)
	}
	// The panes' rows, the distinct counts' changes, and a row with no
	// values where a pane crosses a frame's edge and at the first step.
	b.WriteString("__th_u AS (\n  SELECT ")
	b.WriteString(keyList)
	b.WriteString(", __th_pane, __thn")
	for _, pc := range p.partials {
		if !pc.list {
			b.WriteString(", " + pc.name)
		}
	}
	b.WriteString(" FROM __th_part")
	for i := range p.distinct {
		fmt.Fprintf(&b, "\n  UNION ALL BY NAME SELECT * FROM __th_e%d", i)
	}
	offsets := []int64{n}
	for _, o := range p.offsets {
		if o > 0 && o < n && !slices.Contains(offsets, o) {
			offsets = append(offsets, o)
		}
	}
	for _, o := range offsets {
		fmt.Fprintf(&b, "\n  UNION ALL BY NAME SELECT %s, __th_pane + %d AS __th_pane FROM __th_part WHERE __th_pane + %d <= %d", keyList, o, o, last)
	}
	fmt.Fprintf(&b, "\n  UNION ALL BY NAME SELECT DISTINCT %s, %d AS __th_pane FROM __th_part WHERE __th_pane < %d\n),\n", keyList, first, first)
	// One row per group and change point: at most one pane's partials
	// (max picks them), the sum of the distinct counts' changes.
	fmt.Fprintf(&b, "__th_g AS (\n  SELECT %s, __th_pane, max(__thn) AS __thn", keyList)
	for _, pc := range p.partials {
		if !pc.list {
			fmt.Fprintf(&b, ", max(%s) AS %s", pc.name, pc.name)
		}
	}
	for _, d := range p.distinct {
		fmt.Fprintf(&b, ", sum(%s) AS %s", d.delta, d.delta)
	}
	b.WriteString(" FROM __th_u GROUP BY ALL\n),\n")
	// The window's values at each change point, the next change point,
	// and the last pane with rows up to it: a running max costs less
	// than a count over the window's frame, and says as well whether the
	// window holds rows. A HAVING term that needs rows in the window
	// (one the replay prunes on) makes it needless.
	fmt.Fprintf(&b, "__th_w AS (\n  SELECT %s, __th_pane, lead(__th_pane) OVER (PARTITION BY %s ORDER BY __th_pane) AS __th_next", keyList, keyList)
	if len(prune) == 0 {
		fmt.Fprintf(&b, ",\n    max(CASE WHEN __thn > 0 THEN __th_pane END) OVER (PARTITION BY %s ORDER BY __th_pane ROWS UNBOUNDED PRECEDING) AS __th_last", keyList)
	}
	for _, a := range p.aggs {
		fmt.Fprintf(&b, ",\n    %s AS %s", a.window, a.name)
	}
	fmt.Fprintf(&b, "\n  FROM __th_g\n  WINDOW w AS (PARTITION BY %s ORDER BY __th_pane RANGE BETWEEN %d PRECEDING AND CURRENT ROW)\n),\n", keyList, n-1)
	// The rule's columns over the window's values.
	b.WriteString("__th_r AS (\n  SELECT *")
	for _, k := range p.named {
		fmt.Fprintf(&b, ", %s AS %s", k.internal, quoteIdent(k.name))
	}
	// Columns whose value holds between change points; with now() in
	// the rule, the others are computed step by step below.
	early := func(c sqlguard.Column) bool { return c.Expr.HasAggregate() && !c.Expr.UsesNow() }
	for _, c := range p.w.Columns {
		if early(c) {
			fmt.Fprintf(&b, ", %s AS %s", p.replaced(c.Expr), quoteIdent(c.Alias))
		}
	}
	b.WriteString(" FROM __th_w\n  WHERE ")
	if len(prune) == 0 {
		fmt.Fprintf(&b, "__th_last > __th_pane - %d AND ", n)
	}
	fmt.Fprintf(&b, "__th_pane BETWEEN %d AND %d\n),\n", first, last)
	rows := "__th_r"
	if w.UsesNow {
		// The rule's values change at every step: one row per step,
		// which holds for that step only, for the change points that
		// pass the HAVING terms that do not depend on the time.
		rows = "__th_q"
		fmt.Fprintf(&b, "__th_q AS (\n  SELECT *, __th_pane + 1 AS __th_next FROM (\n    SELECT * EXCLUDE (__th_pane, __th_next), unnest(range(__th_pane, least(coalesce(__th_next, %[1]d), %[1]d))) AS __th_pane\n    FROM __th_r", last+1)
		if pre := p.timelessHaving(); len(pre) > 0 {
			b.WriteString("\n    WHERE " + strings.Join(pre, " AND "))
		}
		b.WriteString(")\n),\n")
	}
	b.WriteString("__th_x AS (\n  SELECT *")
	for _, c := range p.w.Columns {
		if c.Expr.HasAggregate() && !early(c) {
			fmt.Fprintf(&b, ", %s AS %s", p.replaced(c.Expr), quoteIdent(c.Alias))
		}
	}
	b.WriteString(" FROM " + rows + "\n)\n")
	b.WriteString("SELECT __th_pane, __th_next")
	for _, c := range w.Columns {
		b.WriteString(", " + quoteIdent(c.Alias))
	}
	b.WriteString(" FROM __th_x")
	if w.Having != nil {
		b.WriteString("\nWHERE " + p.replaced(w.Having))
	}
	b.WriteString("\nORDER BY __th_pane")
	return &slidingPlan{sql: b.String(), froms: froms, first: first, w: w}, nil
}

// slidingBuilder resolves a Windowed query's keys and aggregates.
type slidingBuilder struct {
	w       *sqlguard.Windowed
	n       int64
	columns map[string]bool
	// keyExprs are the expressions the rows are grouped by: the GROUP BY
	// keys and the columns computed from them.
	keyExprs []string
	// named maps the names the rule's expressions use for keys to the
	// internal key columns.
	named    []namedKey
	partials []partialColumn
	distinct []distinctColumn
	aggs     []windowAgg
	aggIndex map[string]int
	// offsets are, besides the window's length, the pane counts after
	// which a pane crosses an aggregate's time bound.
	offsets []int64
	// now is the step's time in terms of its pane, for rules that use
	// now() outside their aggregates.
	now string
}

type namedKey struct{ name, internal string }

type partialColumn struct {
	name, expr string
	// list is set for a distinct count's list of values, of value.
	list  bool
	value string
}

// rollup is the aggregate, a format of the partial's column, that
// combines the partial's values over the rows of a group and pane
// grouped finer.
func (pc partialColumn) rollup() string {
	switch {
	case strings.HasPrefix(pc.expr, "min("):
		return "min(%s)"
	case strings.HasPrefix(pc.expr, "max("):
		return "max(%s)"
	case strings.HasPrefix(pc.expr, "count(") || strings.HasPrefix(pc.expr, "count_if("):
		return "CAST(sum(%s) AS BIGINT)"
	}
	return "sum(%s)" // sum(x), sumIf(x, c)
}

// distinctColumn is a distinct count: the list of each pane's distinct
// values, and the column of +1/-1 where a value enters or leaves the
// count. A value seen in pane p counts at the steps p+from … p+to.
type distinctColumn struct {
	list, delta string
	from, to    int64
}

type windowAgg struct {
	name, window string
	agg          *sqlguard.Aggregate
}

func (p *slidingBuilder) keyNames() []string {
	out := make([]string, len(p.keyExprs))
	for i := range p.keyExprs {
		out[i] = fmt.Sprintf("__thk%d", i)
	}
	return out
}

// keys resolves GROUP BY items (a name that is not a traces column is a
// SELECT alias) and the non-aggregate columns.
func (p *slidingBuilder) keys() error {
	w := p.w
	index := map[string]int{}
	add := func(expr, name string) error {
		i, ok := index[expr]
		if !ok {
			i = len(p.keyExprs)
			index[expr] = i
			p.keyExprs = append(p.keyExprs, expr)
		}
		if name == "" {
			return nil
		}
		internal := fmt.Sprintf("__thk%d", i)
		for _, k := range p.named {
			if strings.EqualFold(k.name, name) {
				if k.internal != internal {
					return fmt.Errorf("%w: the name %s means two different keys", errNotSliding, name)
				}
				return nil
			}
		}
		p.named = append(p.named, namedKey{name: name, internal: internal})
		return nil
	}
	for _, g := range w.GroupBy {
		id := g.Identifier()
		if id != "" && !p.columns[strings.ToLower(id)] {
			found := false
			for _, c := range w.Columns {
				if strings.EqualFold(c.Alias, id) {
					if c.Expr.HasAggregate() {
						return fmt.Errorf("%w: GROUP BY %s names an aggregate", errNotSliding, id)
					}
					if err := add(strings.TrimSpace(c.Expr.String()), c.Alias); err != nil {
						return err
					}
					found = true
					break
				}
			}
			if !found {
				return fmt.Errorf("%w: GROUP BY %s is neither a column nor an alias", errNotSliding, id)
			}
			continue
		}
		if err := add(strings.TrimSpace(g.String()), id); err != nil {
			return err
		}
	}
	for _, c := range w.Columns {
		if !c.Expr.HasAggregate() {
			if err := add(strings.TrimSpace(c.Expr.String()), c.Alias); err != nil {
				return err
			}
		}
	}
	for _, k := range p.named {
		if strings.HasPrefix(strings.ToLower(k.name), "__th") {
			return fmt.Errorf("%w: the name %s is reserved", errNotSliding, k.name)
		}
	}
	for _, c := range w.Columns {
		if c.Expr.HasAggregate() && slices.ContainsFunc(p.named, func(k namedKey) bool { return strings.EqualFold(k.name, c.Alias) }) {
			return fmt.Errorf("%w: the aggregate column %s has a key's name", errNotSliding, c.Alias)
		}
	}
	return nil
}

// aggregates plans each distinct aggregate call's partial and window
// expressions.
func (p *slidingBuilder) aggregates() error {
	p.aggIndex = map[string]int{}
	var all []*sqlguard.Aggregate
	for _, c := range p.w.Columns {
		for _, part := range c.Expr {
			if part.Agg != nil {
				all = append(all, part.Agg)
			}
		}
	}
	for _, part := range p.w.Having {
		if part.Agg != nil {
			all = append(all, part.Agg)
		}
	}
	for _, a := range all {
		key := aggKey(a)
		if _, ok := p.aggIndex[key]; ok {
			continue
		}
		i := len(p.aggs)
		p.aggIndex[key] = i
		name := fmt.Sprintf("__tha%d", i)
		partial := func(expr string) string {
			for _, pc := range p.partials {
				if pc.expr == expr {
					return pc.name // avg(x) and sum(x) share sum(x)
				}
			}
			c := fmt.Sprintf("__thp%d_%d", i, len(p.partials))
			p.partials = append(p.partials, partialColumn{name: c, expr: expr})
			return c
		}
		args := a.Args
		over, err := p.frame(a)
		if err != nil {
			return err
		}
		// A frame narrower than the window can hold no pane's row: counts
		// and conditional sums are then 0, as over no row.
		zero := func(expr string) string {
			if over == "w" {
				return expr
			}
			return "coalesce(" + expr + ", 0)"
		}
		var window string
		switch {
		case a.Name == "count" && !a.Distinct:
			c := partial("count(" + strings.Join(args, ", ") + ")")
			window = zero("CAST(sum(" + c + ") OVER " + over + " AS BIGINT)")
		case a.Name == "countif":
			c := partial("count_if(" + args[0] + ")")
			window = zero("CAST(sum(" + c + ") OVER " + over + " AS BIGINT)")
		case a.Name == "sum":
			window = "sum(" + partial("sum("+args[0]+")") + ") OVER " + over
		case a.Name == "sumif":
			window = zero("sum(" + partial("sumIf("+args[0]+", "+args[1]+")") + ") OVER " + over)
		case a.Name == "min", a.Name == "max":
			window = a.Name + "(" + partial(a.Name+"("+args[0]+")") + ") OVER " + over
		case a.Name == "minif", a.Name == "maxif":
			f := strings.TrimSuffix(a.Name, "if")
			window = f + "(" + partial(f+"("+args[0]+") FILTER (WHERE "+args[1]+")") + ") OVER " + over
		case a.Name == "avg":
			s := partial("sum(" + args[0] + ")")
			c := partial("count(" + args[0] + ")")
			window = "(sum(" + s + ") OVER " + over + " / nullif(sum(" + c + ") OVER " + over + ", 0))"
		case a.Name == "uniqexact", a.Name == "uniq", a.Name == "count" && a.Distinct, a.Name == "uniqexactif":
			value := args[0]
			switch {
			case a.Name == "uniqexactif":
				value = "CASE WHEN " + args[1] + " THEN " + args[0] + " END"
			case len(args) == 2:
				value = "(" + args[0] + ", " + args[1] + ")"
			}
			list := fmt.Sprintf("__thl%d", i)
			delta := fmt.Sprintf("__thd%d", i)
			p.partials = append(p.partials, partialColumn{name: list, list: true, value: value,
				expr: "list(DISTINCT " + value + ") FILTER (WHERE (" + value + ") IS NOT NULL)"})
			from, to := p.span(a)
			p.distinct = append(p.distinct, distinctColumn{list: list, delta: delta, from: from, to: to})
			window = "coalesce(CAST(sum(" + delta + ") OVER (PARTITION BY " + strings.Join(p.keyNames(), ", ") +
				" ORDER BY __th_pane RANGE UNBOUNDED PRECEDING) AS BIGINT), 0)"
		default:
			return fmt.Errorf("%w: %s", errNotSliding, a)
		}
		p.aggs = append(p.aggs, windowAgg{name: name, window: window, agg: a})
	}
	return nil
}

func aggKey(a *sqlguard.Aggregate) string {
	return a.Name + "|" + strconv.FormatBool(a.Distinct) + "|" + strings.Join(a.Args, "\x00") + "|" + a.Newer.String() + "|" + a.Older.String()
}

// frame is the OVER clause of a's window: the whole window ("w"), or the
// panes its time bounds keep. Each such bound adds the change points where
// a pane crosses it.
func (p *slidingBuilder) frame(a *sqlguard.Aggregate) (string, error) {
	if a.Newer == 0 && a.Older == 0 {
		return "w", nil
	}
	step := p.w.Window / time.Duration(p.n)
	// The bounds must cut the timeline where the panes do.
	closedEnd := p.w.UpperInclusive
	if a.Newer != 0 && (a.NewerInclusive == closedEnd || a.Newer%step != 0) || a.Older != 0 && (a.OlderInclusive != closedEnd || a.Older%step != 0) {
		return "", fmt.Errorf("%w: the time bounds of %s do not fall between steps of %v", errNotSliding, a, step)
	}
	from := p.n
	if a.Newer != 0 {
		from = min(from, int64(a.Newer/step))
		p.offsets = append(p.offsets, int64(a.Newer/step))
	}
	to := "CURRENT ROW"
	if a.Older != 0 {
		to = fmt.Sprintf("%d PRECEDING", int64(a.Older/step))
		p.offsets = append(p.offsets, int64(a.Older/step))
	}
	return fmt.Sprintf("(PARTITION BY %s ORDER BY __th_pane RANGE BETWEEN %d PRECEDING AND %s)", strings.Join(p.keyNames(), ", "), from-1, to), nil
}

// replaced is e with each aggregate replaced by its window column.
func (p *slidingBuilder) replaced(e sqlguard.Expr) string {
	var b strings.Builder
	for _, part := range e {
		switch {
		case part.Agg != nil:
			b.WriteString(fmt.Sprintf("__tha%d", p.aggIndex[aggKey(part.Agg)]))
		case part.Now:
			b.WriteString(p.now)
		default:
			b.WriteString(part.Text)
		}
	}
	return b.String()
}

// timelessHaving returns the HAVING terms, as SQL over the change points'
// rows, that use neither now() nor a column that does: their value holds
// between change points.
func (p *slidingBuilder) timelessHaving() []string {
	var timed []*regexp.Regexp
	for _, c := range p.w.Columns {
		if c.Expr.UsesNow() {
			timed = append(timed, regexp.MustCompile(`(?i)(^|[^\w$])`+regexp.QuoteMeta(c.Alias)+`($|[^\w$])`))
		}
	}
	var out []string
	for _, t := range p.w.HavingTerms {
		if t.UsesNow() {
			continue
		}
		mentions := false
		for _, part := range t {
			for _, re := range timed {
				mentions = mentions || part.Agg == nil && re.MatchString(part.Text)
			}
		}
		if !mentions {
			out = append(out, "("+p.replaced(t)+")")
		}
	}
	return out
}

// span is the steps, relative to a pane, at which a's frame holds it:
// p+from … p+to.
func (p *slidingBuilder) span(a *sqlguard.Aggregate) (from, to int64) {
	step := p.w.Window / time.Duration(p.n)
	to = p.n - 1
	if a.Newer != 0 {
		to = min(to, int64(a.Newer/step)-1)
	}
	if a.Older != 0 {
		from = int64(a.Older / step)
	}
	return from, to
}

// pruneTerm is a HAVING term that needs at least min rows matching
// measure in the window.
type pruneTerm struct {
	measure string
	min     int64
	// frame is how many panes up to the step the bounded aggregate
	// reads: the window's, or fewer for an aggregate of its latest
	// minutes only.
	frame int64
	// distinct, when set, is the expression whose distinct values (of
	// the rows matching measure) are counted: a window's distinct count
	// is at most the sum of its two buckets'.
	distinct string
	// sum, when set, is the expression summed: a window's sum is at most
	// the sum of its two buckets' positive values.
	sum string
}

// bucketAgg is the aggregate that bounds t in one bucket.
func (t pruneTerm) bucketAgg() string {
	switch {
	case t.distinct != "":
		return fmt.Sprintf("count(DISTINCT CASE WHEN %s THEN %s END)", t.measure, t.distinct)
	case t.sum != "":
		return fmt.Sprintf("coalesce(sum(CASE WHEN %s THEN greatest(%s, 0) END), 0)", t.measure, t.sum)
	}
	return fmt.Sprintf("count_if(%s)", t.measure)
}

// frameOf is the longest frame of terms, of at most n panes.
func frameOf(terms []pruneTerm, n int64) int64 {
	f := int64(0)
	for _, t := range terms {
		f = max(f, min(t.frame, n))
	}
	return f
}

// half is what one of two buckets must hold for them to reach t
// together.
func (t pruneTerm) half() int64 {
	if t.sum != "" {
		return t.min / 2
	}
	return (t.min + 1) / 2
}

var thresholdRe = regexp.MustCompile(`^\s*(>=|>)\s*([0-9]+(?:\.[0-9]+)?)\s*$`)
var aliasThresholdRe = regexp.MustCompile(`^\s*([A-Za-z_][A-Za-z0-9_]*)\s*(>=|>)\s*([0-9]+(?:\.[0-9]+)?)\s*$`)

// pruneTerms finds the HAVING terms "count-like >= c" (or >), directly or
// through a column alias: count(), count(x), countIf(c), uniqExact(x) and
// count(DISTINCT x). Each bounds from below how many rows (distinct
// values, for a distinct count), of those matching its measure, the
// window must hold. A term "sum(x) >= c" (or sumIf) bounds the sum of the
// positive values of x.
func (p *slidingBuilder) pruneTerms() []pruneTerm {
	var out []pruneTerm
	for _, t := range p.w.HavingTerms {
		var agg *sqlguard.Aggregate
		var op, num string
		switch {
		case len(t) == 2 && t[0].Agg != nil && t[1].Agg == nil:
			m := thresholdRe.FindStringSubmatch(t[1].Text)
			if m == nil {
				continue
			}
			agg, op, num = t[0].Agg, m[1], m[2]
		case len(t) == 1 && t[0].Agg == nil:
			m := aliasThresholdRe.FindStringSubmatch(t[0].Text)
			if m == nil {
				continue
			}
			for _, c := range p.w.Columns {
				if strings.EqualFold(c.Alias, m[1]) && len(c.Expr) == 1 && c.Expr[0].Agg != nil {
					agg = c.Expr[0].Agg
				}
			}
			if agg == nil {
				continue
			}
			op, num = m[2], m[3]
		default:
			continue
		}
		v, err := strconv.ParseFloat(num, 64)
		if err != nil || v > 1e15 {
			continue
		}
		frame := p.n
		if agg.Newer != 0 && agg.Older == 0 {
			frame = int64(agg.Newer / (p.w.Window / time.Duration(p.n)))
		}
		if agg.Name == "sum" || agg.Name == "sumif" {
			// A sum of at least v (or more than v) is at least floor(v).
			args := 1
			if agg.Name == "sumif" {
				args = 2
			}
			need := int64(math.Floor(v))
			if len(agg.Args) != args || need <= 1 {
				continue
			}
			t := pruneTerm{measure: "(" + agg.Args[0] + ") > 0", sum: agg.Args[0], min: need, frame: frame}
			if agg.Name == "sumif" {
				t.measure = "(" + agg.Args[1] + ") AND (" + agg.Args[0] + ") > 0"
			}
			out = append(out, t)
			continue
		}
		need := int64(math.Ceil(v))
		if op == ">" {
			need = int64(math.Floor(v)) + 1
		}
		if need <= 1 {
			continue
		}
		measure, distinct := "", ""
		switch {
		case agg.Name == "count" && !agg.Distinct && len(agg.Args) == 0:
			measure = "true"
		case agg.Name == "count" && !agg.Distinct:
			if len(agg.Args) != 1 {
				continue
			}
			measure = "(" + agg.Args[0] + ") IS NOT NULL"
		case agg.Name == "count" || agg.Name == "uniqexact" || agg.Name == "uniq":
			if len(agg.Args) != 1 {
				continue
			}
			measure, distinct = "("+agg.Args[0]+") IS NOT NULL", agg.Args[0]
		case agg.Name == "countif":
			measure = agg.Args[0]
		case agg.Name == "uniqexactif":
			measure, distinct = "("+agg.Args[1]+") AND ("+agg.Args[0]+") IS NOT NULL", agg.Args[0]
		default:
			continue
		}
		out = append(out, pruneTerm{measure: measure, min: need, distinct: distinct, frame: frame})
	}
	return out
}

func timeLiteral(t time.Time) string {
	return "toDateTime64('" + t.UTC().Format("2006-01-02 15:04:05.000000") + "', 6, 'UTC')"
}

func quoteIdent(s string) string { return `"` + strings.ReplaceAll(s, `"`, `""`) + `"` }

// TracesColumns returns the traces table's column names, lower case.
func TracesColumns(ctx context.Context, q store.Querier) (map[string]bool, error) {
	res, err := q.Query(ctx, "SELECT * FROM traces LIMIT 0", store.QueryOptions{Timeout: 30 * time.Second})
	if err != nil {
		return nil, err
	}
	out := make(map[string]bool, len(res.Columns))
	for _, c := range res.Columns {
		out[strings.ToLower(c)] = true
	}
	return out, nil
}

// evalSliding runs the sliding replay of r at steps and returns the rows
// of each step, by index.
// It also returns how many queries it ran.
//
// A replay's memory grows with its steps: a week of one-minute steps of
// a distinct count over busy keys can pass the store's limit. Then it
// replays the steps in consecutive parts, a quarter of them each, and a
// quarter of that from the part that runs out of memory on, down to
// 1/maxSlidingParts of the steps: a step's rows depend only on its time,
// so the parts give what one replay would.
//
// Running out of memory costs the time the query ran, so the parts of a
// rule that counts distinct values start no larger than samples of the
// rows it keeps say fits partRows rows.
//
// With emit, each part's rows are passed to it, in order, as the part
// is replayed, and none are returned: a week of one-minute steps of a
// busy rule holds millions of rows, which its consumer (the state
// machine) need not hold at once.
func evalSliding(ctx context.Context, q store.Querier, r *Rule, steps []time.Time, step, timeout time.Duration, emit func(part [][]Row) error) ([][]Row, int, error) {
	var out [][]Row
	if emit == nil {
		out = make([][]Row, 0, len(steps))
		emit = func(part [][]Row) error {
			out = append(out, part...)
			return nil
		}
	}
	smallest := max(1, len(steps)/maxSlidingParts)
	size, queries, err := slidingPartSize(ctx, q, r, steps, step)
	if err != nil {
		return nil, queries, err
	}
	size = max(size, smallest)
	if size >= len(steps) {
		rows, more, err := evalSlidingOnce(ctx, q, r, steps, step, timeout)
		queries += more
		if err == nil {
			return out, queries, emit(rows)
		}
		if !isOutOfMemory(err) || ctx.Err() != nil {
			return nil, queries, err
		}
		if size = len(steps) / 4; size < smallest {
			return nil, queries, err
		}
	}
	for i := 0; i < len(steps); {
		n := min(size, len(steps)-i)
		rows, more, err := evalSlidingOnce(ctx, q, r, steps[i:i+n], step, timeout)
		queries += more
		if err != nil {
			if isOutOfMemory(err) && ctx.Err() == nil && size/4 >= smallest {
				size /= 4
				continue
			}
			return nil, queries, err
		}
		if err := emit(rows); err != nil {
			return nil, queries, err
		}
		i += n
	}
	return out, queries, nil
}

// maxSlidingParts bounds how finely evalSliding divides a replay that
// runs out of memory.
var maxSlidingParts = 64

// partRows is how many of the rows a rule keeps a part of a sliding
// replay may start with: a day of one-minute panes of a distinct count
// over a 12 M requests/day store runs out of DuckDB's default 384 MB at
// about 28 M rows, and ten hours (7 M rows) fit.
var partRows = 8_000_000.0

// Samples of partSamples stretches of partSample each, spread over the
// replayed range, estimate the rows a rule keeps per step.
const (
	partSamples = 6
	partSample  = 5 * time.Minute
)

// minPartSteps is the fewest steps a part starts with.
const minPartSteps = 60

// countsDistinct reports whether w counts distinct values: its replay
// keeps each group's values per pane, and its memory grows with the rows
// read rather than with the groups and panes.
func countsDistinct(w *sqlguard.Windowed) bool {
	exprs := []sqlguard.Expr{w.Having}
	for _, c := range w.Columns {
		exprs = append(exprs, c.Expr)
	}
	for _, e := range exprs {
		for _, p := range e {
			if a := p.Agg; a != nil && (a.Distinct || strings.HasPrefix(a.Name, "uniq")) {
				return true
			}
		}
	}
	return false
}

// slidingPartSize returns how many steps a part of the sliding replay of
// r starts with: len(steps) unless the busiest of the samples says the
// rows r keeps there would pass partRows.
func slidingPartSize(ctx context.Context, q store.Querier, r *Rule, steps []time.Time, step time.Duration) (int, int, error) {
	w, err := sqlguard.ParseWindowed(r.SQL)
	if err != nil || step <= 0 {
		return len(steps), 0, nil // planSliding says why
	}
	// A part reads the window before its first step as well: parts
	// shorter than the window would read mostly the same rows again,
	// and a replay of fewer steps than that (or than an hour of minutes)
	// is not worth a sample.
	windowSteps := int(w.Window / step)
	if len(steps) <= max(windowSteps, minPartSteps) || !countsDistinct(w) {
		return len(steps), 0, nil
	}
	inner, args := q, []any(nil)
	if aq, ok := q.(argsQuerier); ok {
		inner, args = aq.q, aq.args
	}
	samples := sampleTimes(steps[0].Add(-w.Window), steps[len(steps)-1], partSamples, partSample)
	query := fmt.Sprintf("SELECT max(k) FROM (SELECT count_if(%s) AS k FROM (%s) AS traces GROUP BY %s)",
		whereSQL(w), samplesOf(w.From, samples, partSample), sampleColumn)
	var all []any
	for range samples {
		all = append(all, args...)
	}
	res, err := inner.Query(ctx, query, store.QueryOptions{Timeout: time.Minute}, all...)
	if err != nil {
		if ctx.Err() != nil {
			return 0, 1, ctx.Err()
		}
		return len(steps), 1, nil // the replay tells what is wrong
	}
	busiest := 0.0
	if len(res.Rows) == 1 && len(res.Rows[0]) == 1 {
		if k, ok := store.AsInt64(res.Rows[0][0]); ok {
			busiest = float64(k)
		}
	}
	// The rows of the range's steps and the window before the first.
	perStep := busiest * float64(step) / float64(partSample)
	if perStep <= 0 {
		return len(steps), 1, nil
	}
	n := max(int(partRows/perStep)-windowSteps, windowSteps, minPartSteps)
	return min(n, len(steps)), 1, nil
}

// evalSlidingOnce runs one sliding replay of r at steps.
func evalSlidingOnce(ctx context.Context, q store.Querier, r *Rule, steps []time.Time, step, timeout time.Duration) ([][]Row, int, error) {
	inner, args := q, []any(nil)
	if aq, ok := q.(argsQuerier); ok {
		inner, args = aq.q, aq.args
	}
	cols, err := TracesColumns(ctx, inner)
	if err != nil {
		return nil, 1, err
	}
	plan, err := planSliding(r, steps, step, cols, nil)
	if err != nil {
		return nil, 1, err
	}
	queries := 2
	if plan.froms == 2 {
		// A count scan and a pane scan: one copy may do for both.
		queries++
		keep, err := keptColumns(ctx, inner, r.SQL, plan.w, steps, cols, args)
		if err != nil {
			return nil, queries - 1, err
		}
		if keep != nil {
			if plan, err = planSliding(r, steps, step, cols, keep); err != nil {
				return nil, queries - 1, err
			}
		}
	}
	rows, err := runSliding(ctx, inner, plan, r, steps, timeout, args)
	return rows, queries, err
}

// selectiveShare is the share of rows below which a rule's WHERE counts
// as selective: its rows are copied once rather than scanned twice.
var selectiveShare = 0.02

// keptColumns returns the traces columns that query (read as w) names
// when it keeps few of the traces rows of three ten-minute samples of the
// replayed range (its start, middle and end), nil otherwise. What it
// keeps is what its WHERE keeps of its source: the table, or a rewritten
// reading of it (a replay of a few groups keeps few rows even when its
// WHERE keeps most of theirs).
func keptColumns(ctx context.Context, q store.Querier, query string, w *sqlguard.Windowed, steps []time.Time, columns map[string]bool, args []any) ([]string, error) {
	if len(w.Where) == 0 && w.From == tracesTable || len(steps) == 0 {
		return nil, nil
	}
	samples := sampleTimes(steps[0].Add(-w.Window), steps[len(steps)-1], 3, 10*time.Minute)
	var b strings.Builder
	fmt.Fprintf(&b, "SELECT (SELECT count() FROM (%s)) AS n, (SELECT count_if(%s) FROM (%s) AS traces) AS kept",
		samplesOf(tracesTable, samples, 10*time.Minute), whereSQL(w), samplesOf(w.From, samples, 10*time.Minute))
	var all []any
	for range samples {
		all = append(all, args...)
	}
	res, err := q.Query(ctx, b.String(), store.QueryOptions{Timeout: time.Minute}, all...)
	if err != nil {
		return nil, err
	}
	if len(res.Rows) != 1 || len(res.Rows[0]) != 2 {
		return nil, fmt.Errorf("%w: the sample returned %d rows", store.ErrQuery, len(res.Rows))
	}
	n, _ := store.AsInt64(res.Rows[0][0])
	kept, _ := store.AsInt64(res.Rows[0][1])
	if n == 0 || float64(kept) > selectiveShare*float64(n) {
		return nil, nil
	}
	return namedColumns(query, columns), nil
}

// namedColumns returns the columns of traces (columns, lower case) that
// query names, quoted, in the order it first names them, and timestamp,
// which every read of traces needs.
func namedColumns(query string, columns map[string]bool) []string {
	var out []string
	seen := map[string]bool{}
	for _, word := range identRe.FindAllString(query, -1) {
		word = strings.ToLower(word)
		if columns[word] && !seen[word] {
			seen[word] = true
			out = append(out, quoteIdent(word))
		}
	}
	if !seen["timestamp"] {
		out = append(out, quoteIdent("timestamp"))
	}
	return out
}

// sampleColumn numbers the stretch of a sample (samplesOf) a row is in.
const sampleColumn = "__th_sample"

// sampleTimes returns the starts of n stretches of length spread evenly
// from lo, the first, to hi, where the last ends.
func sampleTimes(lo, hi time.Time, n int, length time.Duration) []time.Time {
	out := make([]time.Time, n)
	for i := range out {
		out[i] = lo
		if n > 1 {
			out[i] = lo.Add(max(hi.Sub(lo)-length, 0) * time.Duration(i) / time.Duration(n-1))
		}
	}
	return out
}

// samplesOf returns a query of the rows of from in the stretches of
// length from each of starts, each row numbered by its stretch in
// sampleColumn. Its arguments are from's, once per stretch.
func samplesOf(from string, starts []time.Time, length time.Duration) string {
	var b strings.Builder
	for i, at := range starts {
		if i > 0 {
			b.WriteString(" UNION ALL ")
		}
		fmt.Fprintf(&b, "SELECT *, %d AS %s FROM %s WHERE timestamp > %s AND timestamp <= %s", i, sampleColumn, from, timeLiteral(at), timeLiteral(at.Add(length)))
	}
	return b.String()
}

// whereSQL is w's conditions but the window's bounds, as one; "true"
// for none.
func whereSQL(w *sqlguard.Windowed) string {
	if len(w.Where) == 0 {
		return "true"
	}
	return "(" + strings.Join(w.Where, ") AND (") + ")"
}

// tracesTable is the table rules read.
const tracesTable = "traces"

// identRe finds the words of a query that may name columns.
var identRe = regexp.MustCompile(`[A-Za-z_][A-Za-z0-9_]*`)

// runSliding runs plan and spreads each change point's rows over the
// steps until the group's next change point.
func runSliding(ctx context.Context, inner store.Querier, plan *slidingPlan, r *Rule, steps []time.Time, timeout time.Duration, args []any) ([][]Row, error) {
	var all []any
	for range plan.froms {
		all = append(all, args...)
	}
	res, err := inner.Query(ctx, plan.sql, store.QueryOptions{Timeout: timeout}, all...)
	if err != nil {
		return nil, err
	}
	if len(res.Columns) < 3 || res.Columns[0] != paneColumn || res.Columns[1] != nextColumn {
		return nil, fmt.Errorf("%w: sliding query returned columns %v", store.ErrQuery, res.Columns)
	}
	// Each change point's row is converted once and shared by its steps,
	// with a memo for the state machine's labels and fingerprint, which
	// the change points of one identity share.
	in := &store.Result{Columns: res.Columns[2:], Rows: make([][]any, len(res.Rows))}
	if len(res.Types) > 2 {
		in.Types = res.Types[2:]
	}
	for j, row := range res.Rows {
		in.Rows[j] = row[2:]
	}
	converted, err := convertRows(r, in, true)
	if err != nil {
		return nil, err
	}
	last := plan.first + int64(len(steps)) - 1
	out := make([][]Row, len(steps))
	for j, row := range res.Rows {
		from, ok := row[0].(int64)
		if !ok {
			return nil, fmt.Errorf("sliding query: pane %v (%T) is not an integer", row[0], row[0])
		}
		to := last + 1
		if row[1] != nil {
			if to, ok = row[1].(int64); !ok {
				return nil, fmt.Errorf("sliding query: next pane %v (%T) is not an integer", row[1], row[1])
			}
		}
		cp := converted[j]
		for pn := max(from, plan.first); pn < to && pn <= last; pn++ {
			i := pn - plan.first
			out[i] = append(out[i], cp)
		}
	}
	for i, rows := range out {
		if len(rows) > r.limit() {
			return nil, fmt.Errorf("at %s: the query returned more than the rule's limit of %d rows: %w", steps[i].UTC().Format(time.RFC3339), r.limit(), errRowLimit)
		}
	}
	return out, nil
}
