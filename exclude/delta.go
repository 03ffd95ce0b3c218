package exclude

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/tracehound/tracehound/alert"
	"github.com/tracehound/tracehound/sqlguard"
	"github.com/tracehound/tracehound/store"
)

// A rule of the single-window shape (sqlguard.Windowed) computes each of
// its groups from that group's rows alone: removing rows can change only
// the groups they belong to. A dry run of such a rule therefore replays
// with the candidate only the groups the candidate removes rows of, both
// without and with it, and splices the difference into the baseline
// replay of every group. The result is the full replay's: the state
// machine runs per instance, and an instance is one group's row.

// MaxDeltaGroups bounds the groups a dry run replays on their own; a
// candidate touching more replays the whole rule.
var MaxDeltaGroups = 5000

// deltaReplays turns the group-wise replays (and the check that a
// candidate touches a rule's reads at all) on; tests compare them with
// whole replays.
var deltaReplays = true

// deltaMinReplay is how long a rule's baseline replay must have taken for
// a dry run to replay it group-wise: finding the touched groups and
// replaying them (twice without a cached baseline) costs more than one
// whole replay of a cheap rule.
var deltaMinReplay = time.Second

// touched is what a candidate can change in one rule: the rule's group
// key columns and, per column, the values of the groups it removes rows
// of.
type touched struct {
	columns []string
	values  [][]any
	groups  int
}

// touchedGroups returns the groups of r whose rows base does not remove
// and cand does, in the rows r reads for steps from from to to. ok is
// false when r is not of the single-window shape grouped by columns (an
// explicit group_by must name them all), or when the candidate touches
// more than MaxDeltaGroups groups or one with a NULL key.
func touchedGroups(ctx context.Context, q store.Querier, r *alert.Rule, base, cand Predicate, from, to time.Time) (t touched, ok bool, err error) {
	if !deltaReplays {
		return t, false, nil
	}
	columns, err := alert.TracesColumns(ctx, q)
	if err != nil {
		return t, false, err
	}
	w, keys, ok := windowedKeys(r, columns)
	if !ok {
		return t, false, nil
	}
	read, err := ForRule(r, base)
	if err != nil {
		return t, false, err
	}
	var where []string
	var args []any
	for _, c := range w.Where {
		where = append(where, "("+c+")")
	}
	where = append(where, "timestamp >= ?", "timestamp <= ?") // either kind of window bound
	args = append(args, from.Add(-w.Window).UTC(), to.UTC())
	if read.SQL != "" {
		where = append(where, "NOT coalesce(("+read.SQL+"), false)")
		args = append(args, read.Args...)
	}
	where = append(where, "coalesce(("+cand.SQL+"), false)")
	args = append(args, cand.Args...)
	quoted := make([]string, len(keys))
	for i, c := range keys {
		quoted[i] = quoteIdent(c)
	}
	query := fmt.Sprintf("SELECT DISTINCT %s FROM %s WHERE %s LIMIT %d",
		strings.Join(quoted, ", "), TracesTable, strings.Join(where, "\n  AND "), MaxDeltaGroups+1)
	res, err := q.Query(ctx, query, store.QueryOptions{MaxRows: MaxDeltaGroups + 1}, args...)
	if err != nil {
		return t, false, fmt.Errorf("find the groups of rule %s the exclusion touches: %w", r.ID, err)
	}
	t, ok = touchedFrom(keys, res.Rows)
	return t, ok, nil
}

// windowedKeys returns r read as the single-window shape and its group
// key columns (lower case); ok is false when r is not of that shape
// grouped by traces columns (an explicit group_by must name them all).
func windowedKeys(r *alert.Rule, columns map[string]bool) (w *sqlguard.Windowed, keys []string, ok bool) {
	w, err := sqlguard.ParseWindowed(r.SQL)
	if err != nil || w.From != TracesTable || len(w.GroupBy) == 0 {
		return nil, nil, false
	}
	for _, g := range w.GroupBy {
		name := strings.ToLower(g.Identifier())
		if name == "" || !columns[name] || len(r.GroupBy) > 0 && !slices.Contains(r.GroupBy, name) {
			return nil, nil, false
		}
		keys = append(keys, name)
	}
	return w, keys, true
}

// touchedFrom returns the touched groups of rows, the distinct key values
// (in the order of keys) of the rows a candidate removes; ok is false
// past MaxDeltaGroups groups or with a NULL key.
func touchedFrom(keys []string, rows [][]any) (t touched, ok bool) {
	if len(rows) > MaxDeltaGroups {
		return t, false
	}
	t.columns = keys
	t.groups = len(rows)
	t.values = make([][]any, len(keys))
	seen := make([]map[string]bool, len(keys))
	for i := range seen {
		seen[i] = map[string]bool{}
	}
	for _, row := range rows {
		for i, v := range row {
			if v == nil {
				return touched{}, false
			}
			k := fmt.Sprintf("%T:%v", v, v)
			if !seen[i][k] {
				seen[i][k] = true
				t.values[i] = append(t.values[i], v)
			}
		}
	}
	return t, true
}

// readsUntouched reports whether cand removes none of the rows r reads
// for steps from from to to, beyond what base removes: every read of r
// (sqlguard.Shared) keeps only rows that pass the conditions all its
// reads share, from its furthest look-back on. The replay with the
// candidate is then the baseline. It reports false when r's reads do not
// share a condition.
func readsUntouched(ctx context.Context, q store.Querier, r *alert.Rule, base, cand Predicate, from, to time.Time) (bool, error) {
	f, ok := sqlguard.Shared(r.SQL)
	if !ok || !deltaReplays {
		return false, nil
	}
	read, err := ForRule(r, base)
	if err != nil {
		return false, err
	}
	var where []string
	var args []any
	for _, c := range f.Conds {
		where = append(where, "("+c+")")
	}
	where = append(where, "timestamp >= ?")
	args = append(args, from.Add(-f.Lookback).UTC())
	if f.Upto {
		where = append(where, "timestamp <= ?")
		args = append(args, to.UTC())
	}
	if read.SQL != "" {
		where = append(where, "NOT coalesce(("+read.SQL+"), false)")
		args = append(args, read.Args...)
	}
	where = append(where, "coalesce(("+cand.SQL+"), false)")
	args = append(args, cand.Args...)
	query := fmt.Sprintf("SELECT 1 FROM %s WHERE %s LIMIT 1", TracesTable, strings.Join(where, "\n  AND "))
	res, err := q.Query(ctx, query, store.QueryOptions{MaxRows: 1}, args...)
	if err != nil {
		return false, fmt.Errorf("find the rows of rule %s the exclusion removes: %w", r.ID, err)
	}
	return len(res.Rows) == 0, nil
}

// keep is the predicate matching the rows of the touched groups (and of
// other groups that combine their values, which replay the same way on
// both sides). It is never NULL (the values are not), so it needs no
// coalesce(): DuckDB turns a bare long IN list into a hash join, and one
// inside an expression into a comparison per value and row.
func (t touched) keep() Predicate {
	var parts []string
	var args []any
	for i, c := range t.columns {
		parts = append(parts, quoteIdent(c)+" IN ("+strings.TrimSuffix(strings.Repeat("?, ", len(t.values[i])), ", ")+")")
		args = append(args, t.values[i]...)
	}
	return Predicate{SQL: strings.Join(parts, " AND "), Args: args}
}

// rowFilter returns the column values that keep the result rows of r
// that keep matches (alert.BacktestOptions.KeepValues), nil when r's
// columns do not name every group key (a key that is not selected, or
// selected under another name, leaves a row's group unknown).
func (t touched) rowFilter(r *alert.Rule) map[string]map[string]bool {
	w, err := sqlguard.ParseWindowed(r.SQL)
	if err != nil {
		return nil
	}
	keep := map[string]map[string]bool{}
	for i, c := range t.columns {
		name := ""
		for _, col := range w.Columns {
			if strings.EqualFold(col.Expr.Identifier(), c) && strings.EqualFold(col.Alias, c) {
				name = col.Alias
			}
		}
		if name == "" {
			return nil
		}
		// As keep does: each key's value among the touched groups'
		// values of that column, compared as text (a column holds one
		// type).
		set := make(map[string]bool, len(t.values[i]))
		for _, v := range t.values[i] {
			set[fmt.Sprint(v)] = true
		}
		keep[name] = set
	}
	return keep
}

// restrictedRewriter filters what a rule reads as RuleRewriter(p) does and
// keeps only the rows keep matches.
func restrictedRewriter(p, keep Predicate) alert.Rewriter {
	return func(r *alert.Rule) (string, []any, error) {
		drop, err := ForRule(r, p)
		if err != nil {
			return "", nil, err
		}
		filter := keep
		if drop.SQL != "" {
			filter = Predicate{SQL: "NOT coalesce((" + drop.SQL + "), false) AND " + keep.SQL, Args: append(append([]any(nil), drop.Args...), keep.Args...)}
		}
		return rewriteRelations(r.SQL, filter, "apply exclusions")
	}
}

// splice returns the replay of every group with the candidate from full,
// the baseline replay of every group, and before and after, the replays
// of the touched groups without and with the candidate: full with the
// touched groups' instances replaced.
func splice(full, before, after alert.BacktestResult) alert.BacktestResult {
	out := full
	replaced := map[string]bool{}
	for _, f := range before.Firings {
		replaced[f.Fingerprint] = true
	}
	out.Firings = make([]alert.Firing, 0, len(full.Firings)-len(before.Firings)+len(after.Firings))
	for _, f := range full.Firings {
		if !replaced[f.Fingerprint] {
			out.Firings = append(out.Firings, f)
		}
	}
	out.Firings = append(out.Firings, after.Firings...)
	// A replay lists the instances that start firing at one step in
	// fingerprint order.
	slices.SortStableFunc(out.Firings, func(a, b alert.Firing) int {
		return cmp.Or(a.StartedAt.Compare(b.StartedAt), cmp.Compare(a.Fingerprint, b.Fingerprint))
	})
	out.Notifications = full.Notifications - before.Notifications + after.Notifications
	days := map[string]alert.DayCount{}
	add := func(ds []alert.DayCount, sign int) {
		for _, d := range ds {
			c := days[d.Day]
			c.Day = d.Day
			c.Firings += sign * d.Firings
			c.Notifications += sign * d.Notifications
			days[d.Day] = c
		}
	}
	add(full.PerDay, 1)
	add(before.PerDay, -1)
	add(after.PerDay, 1)
	out.PerDay = []alert.DayCount{}
	for _, d := range days {
		if d.Firings != 0 || d.Notifications != 0 {
			out.PerDay = append(out.PerDay, d)
		}
	}
	slices.SortFunc(out.PerDay, func(a, b alert.DayCount) int { return cmp.Compare(a.Day, b.Day) })
	out.FirstFiring = time.Time{}
	if len(out.Firings) > 0 {
		out.FirstFiring = out.Firings[0].StartedAt
	}
	out.Queries = before.Queries + after.Queries
	out.Method, out.Batched, out.FallbackReason = after.Method, after.Batched, after.FallbackReason
	out.MaxRows = full.MaxRows + after.MaxRows // at most

	out.Elapsed = before.Elapsed + after.Elapsed
	out.Cost = before.Cost + after.Cost
	out.CachedSteps = 0
	return out
}

func quoteIdent(s string) string { return `"` + strings.ReplaceAll(s, `"`, `""`) + `"` }
