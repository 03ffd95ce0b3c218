package alert

import (
	"context"
	"fmt"
	"time"

	"github.com/tracehound/tracehound/store"
)

// Rewriter returns the SQL a rule runs with instead of its own, with the
// positional arguments of the placeholders it added: exclusions use it to
// filter the rows a rule reads (package exclude). It is called with a
// validated SQL rule and must not modify it; it returns the rule's own SQL
// and no arguments to leave the rule alone. The engine calls it before
// every evaluation, a backtest once.
type Rewriter func(rule *Rule) (sql string, args []any, err error)

// argsQuerier passes fixed positional arguments with every query: those
// of a rewritten rule's placeholders. Binding now() and batching steps
// rewrite time references only, so the placeholders keep their order.
type argsQuerier struct {
	q    store.Querier
	args []any
}

func (a argsQuerier) Query(ctx context.Context, q string, opts store.QueryOptions, args ...any) (*store.Result, error) {
	return a.q.Query(ctx, q, opts, append(append([]any(nil), a.args...), args...)...)
}

// rewrite returns the querier and rule to evaluate r with: r itself when
// rw is nil, else a copy of r with the rewritten SQL and a querier that
// passes its arguments.
func rewrite(q store.Querier, r *Rule, rw Rewriter) (store.Querier, *Rule, error) {
	if rw == nil || r.Source != SourceSQL && r.Source != "" {
		return q, r, nil
	}
	sql, args, err := rw(r)
	if err != nil {
		return nil, nil, fmt.Errorf("rewrite the query of rule %q: %w", r.ID, err)
	}
	c := *r
	c.SQL = sql
	if len(args) == 0 {
		return q, &c, nil
	}
	return argsQuerier{q: q, args: args}, &c, nil
}

// Instance identifies one result row of a rule: what its alert instance
// would be labelled and fingerprinted.
type Instance struct {
	Fingerprint string            `json:"fingerprint"`
	Labels      map[string]string `json:"labels"`
}

// Evaluate runs a SQL rule once with now() bound to at, through rw when it
// is not nil, and returns the instances of its rows. It moves no state:
// shadow exclusions use it to ask whether an instance that just fired
// would still have matched with the exclusion applied.
func Evaluate(ctx context.Context, q store.Querier, rule Rule, at time.Time, rw Rewriter) ([]Instance, error) {
	if err := rule.Validate(); err != nil {
		return nil, err
	}
	if rule.Source != SourceSQL {
		return nil, fmt.Errorf("evaluate rule %q: only SQL rules can be evaluated on demand (source %s)", rule.ID, rule.Source)
	}
	q, r, err := rewrite(q, &rule, rw)
	if err != nil {
		return nil, err
	}
	rows, err := evalSQL(ctx, q, r, at, time.Minute)
	if err != nil {
		return nil, fmt.Errorf("evaluate rule %q: %w", rule.ID, err)
	}
	m := newMachine(r)
	out := make([]Instance, 0, len(rows))
	for _, row := range rows {
		labels := m.labelsFor(row)
		out = append(out, Instance{Fingerprint: fingerprint(r.ID, labels), Labels: labels})
	}
	return out, nil
}
