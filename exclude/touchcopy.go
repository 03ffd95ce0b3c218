package exclude

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"strings"
	"sync/atomic"
	"time"

	"github.com/tracehound/tracehound/alert"
	"github.com/tracehound/tracehound/store"
)

// Each group-wise replay reads the rows of the groups the candidate
// touches from traces: a scan of the window per rule, however few the
// rows. When the store can keep a copy (store.Scratcher), the touched
// groups' rows of every rule are copied once, and the replays read the
// copy where they would read those rows from traces.

// maxCopyRows bounds the rows of the touched groups a dry run copies; past
// it, each replay scans traces.
var maxCopyRows = 500_000

// copyShare is the largest share of the rows of traces a rule's touched
// groups may hold for the copy to take them.
var copyShare = 0.1

// copyBudget is the share of maxCopyRows the estimated rows of a copy may
// fill: estimates from samples err, and a copy past maxCopyRows is lost.
const copyBudget = 0.6

// copySamples samples of copySample each, spread over the window's data,
// estimate how many rows the touched groups hold.
const (
	copySamples = 8
	copySample  = 5 * time.Minute
)

// copyMargin widens the copy before the rules' look-back.
const copyMargin = time.Hour

// copyReads counts the replays that read a copy, and partialCopies the
// copies that left a rule's touched groups out (tests check them).
var copyReads, partialCopies atomic.Int64

// touchedCopy is a copy of the touched groups' rows of traces.
type touchedCopy struct {
	table string
	drop  func()
	// rules are the rules whose touched groups' rows the copy holds.
	rules map[string]bool
}

// copyTouched copies, from before every rule's look-back from from on,
// the rows of traces of the groups scan found touched in rules, with the
// columns the rules and preds name, leaving out the rules whose groups
// hold more than copyShare of the window's rows, and the largest while
// the estimated rows exceed the budget. It returns nil when the store
// keeps no copies, fewer than two rules are left, or their groups hold
// more than maxCopyRows rows.
func copyTouched(ctx context.Context, q store.Querier, rules []alert.Rule, scan *candidateScan, from, to time.Time, preds []Predicate) (*touchedCopy, error) {
	sc, ok := q.(store.Scratcher)
	if !ok || scan == nil {
		return nil, nil
	}
	columns, err := alert.TracesColumns(ctx, q)
	if err != nil {
		return nil, err
	}
	names := columnNames{"timestamp"}
	mention := names.mention
	type touching struct {
		rule alert.Rule
		keep Predicate
		back time.Duration
	}
	var all []touching
	for _, r := range rules {
		// A key that is an expression costs its evaluation on every row
		// of the window: such a rule scans for its own groups.
		if rs := scan.rules[r.ID]; rs.windowed && rs.touched.groups > 0 && !slices.ContainsFunc(rs.touched.keys.exprs, isExpr) {
			all = append(all, touching{r, rs.touched.keep(), rs.touched.keys.lookback})
		}
	}
	if len(all) < 2 {
		return nil, nil
	}
	// Samples of the window's data tell how many rows each rule's
	// touched groups hold. A rule whose groups hold a large share (one
	// service of a few) is better left to scan for them; the others are
	// copied, the smallest first, while the estimate fits the bound.
	est, err := sampleShares(ctx, q, all, scan, func(t touching) Predicate { return t.keep })
	if err != nil {
		return nil, err
	}
	order := make([]int, len(all))
	for i := range order {
		order[i] = i
	}
	slices.SortStableFunc(order, func(a, b int) int { return cmp.Compare(est[a].rows, est[b].rows) })
	lower := from
	var keeps []string
	var args []any
	var planned float64
	copied := map[string]bool{}
	for _, i := range order {
		t, e := all[i], est[i]
		if e.share > copyShare || planned+e.rows > copyBudget*float64(maxCopyRows) {
			continue
		}
		planned += e.rows
		copied[t.rule.ID] = true
		keeps = append(keeps, "("+t.keep.SQL+")")
		args = append(args, t.keep.Args...)
		lower = minTime(lower, from.Add(-t.back))
		mention(t.rule.SQL)
		mention(t.keep.SQL)
	}
	if len(keeps) < 2 {
		return nil, nil
	}
	for _, p := range preds {
		mention(p.SQL)
	}
	keep := names.quoted(columns)
	query := fmt.Sprintf("SELECT %s FROM %s WHERE timestamp >= ? AND (%s)", strings.Join(keep, ", "), TracesTable, strings.Join(keeps, " OR "))
	table, rows, drop, err := sc.Scratch(ctx, query, maxCopyRows, append([]any{lower.Add(-copyMargin).UTC()}, args...)...)
	if err != nil {
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		return nil, nil // the replays scan traces instead
	}
	if rows > int64(maxCopyRows) {
		drop()
		return nil, nil
	}
	if len(copied) < len(all) {
		partialCopies.Add(1)
	}
	return &touchedCopy{table: table, drop: drop, rules: copied}, nil
}

// estimate is a rule's estimated share of the window's rows and count.
type estimate struct{ share, rows float64 }

// sampleShares estimates, from copySamples samples spread between the
// first and the last span of scan's window, the share and the count of
// the window's rows each of items keeps.
func sampleShares[T any](ctx context.Context, q store.Querier, items []T, scan *candidateScan, keep func(T) Predicate) ([]estimate, error) {
	est := make([]estimate, len(items))
	if scan.counts.total == 0 {
		return est, nil
	}
	// The window's server spans are counted; each item's rows (of any
	// kind) are estimated from how many there are per server span.
	var b strings.Builder
	var args []any
	b.WriteString("SELECT count() AS n, count_if(span_kind = 'Server') AS s")
	for i, it := range items {
		k := keep(it)
		fmt.Fprintf(&b, ", count_if(%s) AS k%d", k.SQL, i)
		args = append(args, k.Args...)
	}
	b.WriteString(" FROM (")
	span := max(scan.last.Sub(scan.first)-copySample, 0)
	for i := range copySamples {
		if i > 0 {
			b.WriteString(" UNION ALL ")
		}
		at := scan.first.Add(span * time.Duration(i) / (copySamples - 1))
		b.WriteString("SELECT * FROM " + TracesTable + " WHERE timestamp >= ? AND timestamp < ?")
		args = append(args, at.UTC(), at.Add(copySample).UTC())
	}
	b.WriteString(") AS traces")
	res, err := q.Query(ctx, b.String(), store.QueryOptions{Timeout: time.Minute}, args...)
	if err != nil {
		return nil, err
	}
	if len(res.Rows) != 1 || len(res.Rows[0]) != len(items)+2 {
		return nil, fmt.Errorf("%w: the sample returned %d rows", store.ErrQuery, len(res.Rows))
	}
	sampled, _ := store.AsInt64(res.Rows[0][0])
	servers, _ := store.AsInt64(res.Rows[0][1])
	if sampled == 0 || servers == 0 {
		return est, nil
	}
	for i := range items {
		k, _ := store.AsInt64(res.Rows[0][i+2])
		est[i].share = float64(k) / float64(sampled)
		est[i].rows = float64(k) / float64(servers) * float64(scan.counts.total)
	}
	return est, nil
}

// reader returns q reading the copy wherever a query reads traces
// filtered by one of filters (as restrictedRewriter writes them for
// rule's touched groups); q itself when the copy lacks rule's groups.
func (c *touchedCopy) reader(q store.Querier, rule string, filters ...string) store.Querier {
	if c == nil || !c.rules[rule] {
		return q
	}
	r := copyReader{q: q}
	for _, f := range filters {
		r.from = append(r.from, "(SELECT * FROM "+TracesTable+" WHERE "+f+")")
		r.to = append(r.to, "(SELECT * FROM "+c.table+" WHERE "+f+")")
	}
	return r
}

// copyReader reads a copy in place of filtered reads of traces.
type copyReader struct {
	q        store.Querier
	from, to []string
}

func (r copyReader) Query(ctx context.Context, q string, opts store.QueryOptions, args ...any) (*store.Result, error) {
	read := false
	for i, f := range r.from {
		if strings.Contains(q, f) {
			q = strings.ReplaceAll(q, f, r.to[i])
			read = true
		}
	}
	if read {
		copyReads.Add(1)
	}
	return r.q.Query(ctx, q, opts, args...)
}

// isExpr reports whether a group key is an expression rather than a
// column (windowedKeys quotes columns and brackets expressions).
func isExpr(key string) bool { return strings.HasPrefix(key, "(") }
