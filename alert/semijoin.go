package alert

import (
	"context"
	"fmt"
	"time"

	"github.com/tracehound/tracehound/sqlguard"
	"github.com/tracehound/tracehound/store"
)

// A rule of the sliding shape plus WHERE terms "key [NOT] IN (subquery)"
// whose key is one of its non-aggregate columns (a function of its
// groups) replays in two parts: the rule without those terms slides over
// the panes, and each subquery runs, batched, only at the steps where that
// left rows. A term keeps or drops whole groups, so a group that passes
// has the same row with and without the others: filtering the rows by the
// subqueries' keys at each step gives the rule's own result. Rules that
// look up what was seen before the window ("not called in the day
// before", "an endpoint with few callers") have this shape.

// semiSliding is a rule split into its sliding part and its semi-joins.
type semiSliding struct {
	rule  Rule
	q     store.Querier
	joins []semiJoin
	limit int
}

// semiJoin is a subquery a key column's value must (Not: must not) be
// among.
type semiJoin struct {
	sqlguard.SemiJoin
	column string
	q      store.Querier
}

// relaxedLimit is how many rows a step of the rule without its semi-joins
// may hold, whatever the rule's own limit: the subqueries remove some.
// A step with more falls back to the batched replay.
var relaxedLimit = 100_000

// planSemiSliding splits r, read through q, into a sliding rule and its
// semi-joins. It fails with errNotSliding when r has no such shape.
func planSemiSliding(q store.Querier, r *Rule) (*semiSliding, error) {
	rest, semis, ok := sqlguard.SplitSemiJoins(r.SQL)
	if !ok {
		return nil, fmt.Errorf("%w: it has no WHERE term of the form key IN (subquery)", errNotSliding)
	}
	w, err := sqlguard.ParseWindowed(rest)
	if err != nil {
		return nil, fmt.Errorf("%w: without its IN (subquery) terms: %v", errNotSliding, err)
	}
	inner, args := q, []any(nil)
	if aq, ok := q.(argsQuerier); ok {
		inner, args = aq.q, aq.args
	}
	withArgs := func(a []any) store.Querier {
		if len(a) == 0 {
			return inner
		}
		return argsQuerier{q: inner, args: a}
	}
	s := &semiSliding{rule: *r, limit: r.limit()}
	s.rule.SQL = rest
	s.rule.Limit = relaxedLimit
	var restArgs []any
	used := 0
	for _, j := range semis {
		if j.ParamsBefore < used || j.ParamsBefore+j.Params > len(args) {
			return nil, fmt.Errorf("%w: its placeholders and arguments do not match", errNotSliding)
		}
		restArgs = append(restArgs, args[used:j.ParamsBefore]...)
		used = j.ParamsBefore + j.Params
		column := ""
		for _, c := range w.Columns {
			if !c.Expr.HasAggregate() && !c.Expr.UsesNow() && sqlguard.SameExpr(j.Key, c.Expr.String()) {
				column = c.Alias
				break
			}
		}
		if column == "" {
			return nil, fmt.Errorf("%w: the key %s of an IN (subquery) is none of its columns", errNotSliding, j.Key)
		}
		s.joins = append(s.joins, semiJoin{SemiJoin: j, column: column, q: withArgs(args[j.ParamsBefore:used])})
	}
	restArgs = append(restArgs, args[used:]...)
	s.q = withArgs(restArgs)
	return s, nil
}

// filter keeps, at each step that has rows, those whose keys pass every
// semi-join, evaluating each subquery at those steps only. It returns the
// number of queries it ran.
func (s *semiSliding) filter(ctx context.Context, steps []time.Time, rows [][]Row, timeout time.Duration) (int, error) {
	queries := 0
	for _, j := range s.joins {
		var at []time.Time
		var idx []int
		for i, rs := range rows {
			if len(rs) > 0 {
				at = append(at, steps[i])
				idx = append(idx, i)
			}
		}
		for len(at) > 0 {
			n := min(len(at), 1440)
			keys, err := j.keys(ctx, at[:n], timeout)
			queries++
			if err != nil {
				return queries, err
			}
			for k, ts := range at[:n] {
				i := idx[k]
				set := keys[ts.UnixNano()]
				kept := rows[i][:0]
				for _, row := range rows[i] {
					if set.passes(row.cols()[j.column], j.Not) {
						kept = append(kept, row)
					}
				}
				rows[i] = kept
			}
			at, idx = at[n:], idx[n:]
		}
	}
	for i, rs := range rows {
		if len(rs) > s.limit {
			return queries, fmt.Errorf("at %s: the query returned more than the rule's limit of %d rows", steps[i].UTC().Format(time.RFC3339), s.limit)
		}
	}
	return queries, nil
}

// keySet is what a subquery returned at one step.
type keySet struct {
	values  map[string]bool
	hasNull bool
}

// passes applies SQL's IN and NOT IN: a NULL key passes neither, and NOT
// IN a set holding NULL passes nothing.
func (k keySet) passes(v any, not bool) bool {
	if v == nil {
		return false
	}
	in := k.values[keyString(v)]
	if not {
		return !in && !k.hasNull
	}
	return in
}

func keyString(v any) string {
	if t, ok := v.(time.Time); ok {
		return t.UTC().Format(time.RFC3339Nano)
	}
	return fmt.Sprint(v)
}

// keys evaluates the subquery at each of steps, in one query.
func (j *semiJoin) keys(ctx context.Context, steps []time.Time, timeout time.Duration) (map[int64]keySet, error) {
	sql, err := batchSQL(&Rule{SQL: j.Query}, steps)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", errNotSliding, err)
	}
	res, err := j.q.Query(ctx, sql, store.QueryOptions{Timeout: timeout})
	if err != nil {
		return nil, err
	}
	if len(res.Columns) != 2 || res.Columns[0] != stepColumn {
		return nil, fmt.Errorf("%w: the subquery of %s IN returns %d columns, not one", store.ErrQuery, j.Key, len(res.Columns)-1)
	}
	out := map[int64]keySet{}
	for _, row := range res.Rows {
		ts, ok := row[0].(time.Time)
		if !ok {
			return nil, fmt.Errorf("subquery: evaluation time %v (%T) is not a time", row[0], row[0])
		}
		k := out[ts.UnixNano()]
		if k.values == nil {
			k.values = map[string]bool{}
		}
		if row[1] == nil {
			k.hasNull = true
		} else {
			k.values[keyString(row[1])] = true
		}
		out[ts.UnixNano()] = k
	}
	return out, nil
}
