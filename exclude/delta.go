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
	keys   groupKeys
	values [][]any
	groups int
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
	keys, ok := ruleKeys(r, columns)
	if !ok {
		return t, false, nil
	}
	read, err := ForRule(r, base)
	if err != nil {
		return t, false, err
	}
	where, args := keys.reads(from, to)
	if read.SQL != "" {
		where = append(where, "NOT coalesce(("+read.SQL+"), false)")
		args = append(args, read.Args...)
	}
	where = append(where, "coalesce(("+cand.SQL+"), false)")
	args = append(args, cand.Args...)
	query := fmt.Sprintf("SELECT DISTINCT %s FROM %s WHERE %s LIMIT %d",
		strings.Join(keys.exprs, ", "), TracesTable, strings.Join(where, "\n  AND "), MaxDeltaGroups+1)
	res, err := q.Query(ctx, query, store.QueryOptions{MaxRows: MaxDeltaGroups + 1}, args...)
	if err != nil {
		return t, false, fmt.Errorf("find the groups of rule %s the exclusion touches: %w", r.ID, err)
	}
	t, ok = touchedFrom(keys, res.Rows)
	return t, ok, nil
}

// groupKeys is how a rule's result splits into groups that each depend
// on their own rows only: the rows whose keys have the group's values.
type groupKeys struct {
	// exprs are the keys' SQL over traces columns; names the result
	// columns holding them, "" for a key no column holds as it is.
	exprs, names []string
	// conds, lookback and upto bound the rows the rule reads for a step:
	// those passing conds, from lookback before the step, and not after
	// it when upto is set.
	conds    []string
	lookback time.Duration
	upto     bool
}

// reads returns the conditions, and their arguments, that keep the rows
// the rule reads for steps from from to to.
func (k groupKeys) reads(from, to time.Time) ([]string, []any) {
	var where []string
	for _, c := range k.conds {
		where = append(where, "("+c+")")
	}
	where = append(where, "timestamp >= ?") // either kind of window bound
	args := []any{from.Add(-k.lookback).UTC()}
	if k.upto {
		where = append(where, "timestamp <= ?")
		args = append(args, to.UTC())
	}
	return where, args
}

// ruleKeys returns how r splits into groups. ok is false unless r is of
// the single-window shape grouped by columns (an explicit group_by must
// name them all), or of that shape but for terms "key [NOT] IN
// (subquery)" of one key, one of its group keys, whose subqueries read
// traces and return the keys of rows, or of groups of rows by that key,
// that pass their WHERE: a group's result then depends only on the rows
// with its value of that key, in every read, and the groups split by that
// key alone (a subquery counting the callers of an endpoint decides for
// every caller of it).
func ruleKeys(r *alert.Rule, columns map[string]bool) (groupKeys, bool) {
	w, err := sqlguard.ParseWindowed(r.SQL)
	if err == nil {
		return windowedKeys(r, w, columns)
	}
	rest, semis, ok := sqlguard.SplitSemiJoins(r.SQL)
	if !ok {
		return groupKeys{}, false
	}
	if w, err = sqlguard.ParseWindowed(rest); err != nil {
		return groupKeys{}, false
	}
	k, ok := windowedKeys(r, w, columns)
	if !ok {
		return groupKeys{}, false
	}
	shared, ok := sqlguard.Shared(r.SQL)
	if !ok {
		return groupKeys{}, false
	}
	// Every subquery decides the keys it returns by their rows: the
	// groups split by that key alone, which every read groups by.
	key := normalSQL(semis[0].Key)
	at := slices.IndexFunc(k.exprs, func(e string) bool { return normalSQL(e) == key })
	if key == "" || at < 0 {
		return groupKeys{}, false
	}
	for _, s := range semis {
		if normalSQL(s.Key) != key || !keyedSubquery(s.Query, key) {
			return groupKeys{}, false
		}
	}
	return groupKeys{exprs: k.exprs[at : at+1], names: k.names[at : at+1], conds: shared.Conds, lookback: shared.Lookback, upto: shared.Upto}, true
}

// windowedKeys returns the group keys of r read as w: columns, or
// (under an alias) expressions of columns without aggregates.
func windowedKeys(r *alert.Rule, w *sqlguard.Windowed, columns map[string]bool) (groupKeys, bool) {
	if w.From != TracesTable || len(w.GroupBy) == 0 {
		return groupKeys{}, false
	}
	k := groupKeys{conds: w.Where, lookback: w.Window, upto: true}
	for _, g := range w.GroupBy {
		name := strings.ToLower(g.Identifier())
		if name == "" || len(r.GroupBy) > 0 && !slices.Contains(r.GroupBy, name) {
			return groupKeys{}, false
		}
		if columns[name] {
			// A name of a column means the column, not an alias.
			k.exprs = append(k.exprs, quoteIdent(name))
			k.names = append(k.names, "")
			for _, col := range w.Columns {
				if strings.EqualFold(col.Expr.Identifier(), name) && strings.EqualFold(col.Alias, name) {
					k.names[len(k.names)-1] = col.Alias
				}
			}
			continue
		}
		i := slices.IndexFunc(w.Columns, func(c sqlguard.Column) bool { return strings.EqualFold(c.Alias, name) })
		if i < 0 || w.Columns[i].Expr.HasAggregate() || w.Columns[i].Expr.UsesNow() {
			return groupKeys{}, false
		}
		k.exprs = append(k.exprs, "("+w.Columns[i].Expr.String()+")")
		k.names = append(k.names, w.Columns[i].Alias)
	}
	return k, true
}

// normalSQL returns q's tokens, lowercased but for strings, one space
// apart and without enclosing parentheses; "" when q does not lex.
func normalSQL(q string) string {
	l, err := lexSQL(q, false)
	if err != nil || l.comments {
		return ""
	}
	parts := make([]string, len(l.toks))
	for i, t := range l.toks {
		parts[i] = t.text
		if t.kind == kWord || t.kind == kQuoted {
			parts[i] = t.lower
		}
	}
	out := strings.Join(parts, " ")
	for strings.HasPrefix(out, "( ") && strings.HasSuffix(out, " )") {
		inner := strings.TrimSuffix(strings.TrimPrefix(out, "( "), " )")
		if l, err := lexSQL(inner, false); err != nil || len(l.toks) == 0 {
			break
		}
		out = inner
	}
	return out
}

// keyedSubquery reports whether q is "SELECT key FROM traces [WHERE …]
// [GROUP BY key [HAVING …]]" with key as written (normalSQL), no nested
// query, window function, DISTINCT, ORDER BY or LIMIT: the keys it
// returns are those of rows, or of groups of rows by key, that pass its
// conditions, each decided by the rows with that key.
func keyedSubquery(q, key string) bool {
	l, err := lexSQL(q, false)
	if err != nil || l.comments || len(l.toks) < 4 || l.toks[0].lower != "select" {
		return false
	}
	clause := map[string]int{}
	for i, t := range l.toks {
		switch {
		case t.kind == kWord && (t.lower == "select" && i > 0 || t.lower == "over"):
			return false
		case t.kind == kSemicolon || t.kind == kParam:
			return false
		case l.parent[i] >= 0 || t.kind != kWord:
		case slices.Contains([]string{"from", "where", "having"}, t.lower):
			if _, dup := clause[t.lower]; dup {
				return false
			}
			clause[t.lower] = i
		case t.lower == "group" && l.at(i+1).lower == "by":
			clause["group"] = i
		case slices.Contains([]string{"order", "limit", "offset", "union", "intersect", "except", "join", "window", "qualify",
			"distinct", "sample", "array", "settings", "format", "using", "final", "prewhere"}, t.lower):
			return false
		}
	}
	from, ok := clause["from"]
	if !ok {
		return false
	}
	text := func(i, j int) string {
		parts := make([]string, 0, j-i)
		for _, t := range l.toks[i:j] {
			if t.kind == kWord || t.kind == kQuoted {
				parts = append(parts, t.lower)
			} else {
				parts = append(parts, t.text)
			}
		}
		return strings.Join(parts, " ")
	}
	end := len(l.toks)
	next := func(after int) int {
		n := end
		for _, i := range clause {
			if i > after && i < n {
				n = i
			}
		}
		return n
	}
	if normalSQL(text(1, from)) != key || text(from+1, next(from)) != TracesTable {
		return false
	}
	g, grouped := clause["group"]
	if _, having := clause["having"]; having && !grouped {
		return false
	}
	return !grouped || normalSQL(text(g+2, next(g+1))) == key
}

// touchedFrom returns the touched groups of rows, the distinct key values
// (in the order of keys) of the rows a candidate removes; ok is false
// past MaxDeltaGroups groups or with a NULL key.
func touchedFrom(keys groupKeys, rows [][]any) (t touched, ok bool) {
	if len(rows) > MaxDeltaGroups {
		return t, false
	}
	t.keys = keys
	t.groups = len(rows)
	t.values = make([][]any, len(keys.exprs))
	seen := make([]map[string]bool, len(keys.exprs))
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
	for i, e := range t.keys.exprs {
		parts = append(parts, e+" IN ("+strings.TrimSuffix(strings.Repeat("?, ", len(t.values[i])), ", ")+")")
		args = append(args, t.values[i]...)
	}
	return Predicate{SQL: strings.Join(parts, " AND "), Args: args}
}

// rowFilter returns the column values that keep the result rows of the
// rule that keep matches (alert.BacktestOptions.KeepValues), nil when its
// columns do not hold every group key as it is.
func (t touched) rowFilter() map[string]map[string]bool {
	keep := map[string]map[string]bool{}
	for i, name := range t.keys.names {
		if name == "" {
			return nil
		}
		// As keep does: each key's value among the touched groups'
		// values of that key, compared as text (a key has one type).
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
		filter, err := restrictedFilter(r, p, keep)
		if err != nil {
			return "", nil, err
		}
		return rewriteRelations(r.SQL, filter, "apply exclusions")
	}
}

// restrictedFilter is the filter restrictedRewriter keeps the rows of r
// with.
func restrictedFilter(r *alert.Rule, p, keep Predicate) (Predicate, error) {
	drop, err := ForRule(r, p)
	if err != nil {
		return Predicate{}, err
	}
	if drop.SQL == "" {
		return keep, nil
	}
	return Predicate{SQL: "NOT coalesce((" + drop.SQL + "), false) AND " + keep.SQL, Args: append(append([]any(nil), drop.Args...), keep.Args...)}, nil
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
