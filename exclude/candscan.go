package exclude

import (
	"context"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/tracehound/tracehound/alert"
	"github.com/tracehound/tracehound/sqlguard"
	"github.com/tracehound/tracehound/store"
)

// A dry run asks many questions of the spans the candidate matches: how
// many per day, the most excluded keys, the latest one, and for each rule
// the groups they belong to or whether the rule reads any of them. Each
// question, asked of traces, evaluates the candidate on every span of the
// window; a candidate that matches few spans is evaluated once instead,
// into a copy of the spans it matches that every question reads.

// maxScanRows bounds the spans a candidate may match, from the rules'
// furthest look-back on, for a dry run to copy them; past it, each
// question scans traces.
var maxScanRows = 1_000_000

// ruleScan is what the copy tells of one rule.
type ruleScan struct {
	// windowed is set when the rule is of the single-window shape and
	// touched holds the groups the candidate removes rows of (as
	// touchedGroups).
	windowed bool
	touched  touched
	// shared is set when the rule's reads share conditions and untouched
	// tells whether the candidate removes none of their rows (as
	// readsUntouched).
	shared    bool
	untouched bool
}

// candidateScan is what one scan of the spans a candidate matches found.
type candidateScan struct {
	counts excludedCounts
	rules  map[string]ruleScan
	// first and last are the window's earliest and latest server spans;
	// zero when it has none.
	first, last time.Time
}

// Branch numbers of the scan's query: its rows say which question they
// answer.
const (
	scanTotals   = 0
	scanExcluded = 1
	scanCopied   = 2
	scanLast     = 3
	scanTop      = 10   // + the key's index in KeyColumns
	scanWindowed = 100  // + the rule's index
	scanShared   = 1000 // + the rule's index (rules stay below 900)
)

// scanCandidate answers, in one query, what countExcluded and, for each
// rule, touchedGroups and readsUntouched do (a rule's baseline predicate
// is baseline(rule.ID)), from a copy of the spans cand matches from lower
// on. lower must be at or before every rule's look-back from from. ok is
// false when the candidate matches more than maxScanRows spans there:
// nothing is answered and the questions are left to those functions.
func scanCandidate(ctx context.Context, q store.Querier, rules []alert.Rule, baseline func(string) Predicate, cand Predicate,
	from, to, lower time.Time, top int) (_ *candidateScan, ok bool, err error) {
	if len(rules) >= scanShared-scanWindowed {
		return nil, false, nil
	}
	columns, err := alert.TracesColumns(ctx, q)
	if err != nil {
		return nil, false, err
	}
	// The copy keeps the columns the questions name.
	names := columnNames(append([]string{"timestamp", "span_kind"}, KeyColumns...))
	mention := names.mention

	var branches []string
	var args []any
	branch := func(sql string, a ...any) {
		branches = append(branches, sql)
		args = append(args, a...)
	}
	window := []any{from.UTC(), to.UTC()}
	branch(fmt.Sprintf(`SELECT %d AS __q, intDiv(toUnixTimestamp(timestamp), 86400) AS __d, count() AS __n,
  min(timestamp) AS __lo, max(timestamp) AS __hi
FROM traces WHERE span_kind = 'Server' AND timestamp > ? AND timestamp <= ? GROUP BY 1, 2`, scanTotals), window...)
	branch(fmt.Sprintf(`SELECT %d AS __q, intDiv(toUnixTimestamp(timestamp), 86400) AS __d, count() AS __n
FROM __c AS traces WHERE span_kind = 'Server' AND timestamp > ? AND timestamp <= ? GROUP BY 1, 2`, scanExcluded), window...)
	branch(fmt.Sprintf(`SELECT %d AS __q, count() AS __n FROM __c`, scanCopied))
	branch(fmt.Sprintf(`SELECT %d AS __q, max(timestamp) AS __t FROM __c AS traces WHERE timestamp > ? AND timestamp <= ?`, scanLast),
		lower.UTC(), to.UTC())
	for i, k := range KeyColumns {
		branch(fmt.Sprintf(`SELECT * FROM (SELECT %d AS __q, '%s' AS __k, toString(%s) AS __v, count() AS __n
FROM __c AS traces WHERE span_kind = 'Server' AND timestamp > ? AND timestamp <= ?
GROUP BY 1, 2, 3 ORDER BY __n DESC, __v LIMIT %d)`, scanTop+i, k, k, top), window...)
	}

	type keyed struct {
		rule int
		keys groupKeys
	}
	var windowed []keyed
	for i := range rules {
		r := &rules[i]
		read, err := ForRule(r, baseline(r.ID))
		if err != nil {
			return nil, false, err
		}
		notBase := ""
		if read.SQL != "" {
			notBase = "\n  AND NOT coalesce((" + read.SQL + "), false)"
			mention(read.SQL)
		}
		if keys, ok := ruleKeys(r, columns); ok {
			where, a := keys.reads(from, to)
			for _, c := range keys.conds {
				mention(c)
			}
			lower = minTime(lower, from.Add(-keys.lookback))
			out := make([]string, len(keys.exprs))
			for j, e := range keys.exprs {
				out[j] = fmt.Sprintf("%s AS __g_%d_%d", e, i, j)
				mention(e)
			}
			branch(fmt.Sprintf("SELECT * FROM (SELECT DISTINCT %d AS __q, %s\nFROM __c AS traces WHERE %s%s LIMIT %d)",
				scanWindowed+i, strings.Join(out, ", "), strings.Join(where, " AND "), notBase, MaxDeltaGroups+1),
				append(a, read.Args...)...)
			windowed = append(windowed, keyed{i, keys})
		}
		if f, ok := sqlguard.Shared(r.SQL); ok {
			var where []string
			for _, c := range f.Conds {
				where = append(where, "("+c+")")
				mention(c)
			}
			start := from.Add(-f.Lookback)
			lower = minTime(lower, start)
			where = append(where, "timestamp >= ?")
			a := []any{start.UTC()}
			if f.Upto {
				where = append(where, "timestamp <= ?")
				a = append(a, to.UTC())
			}
			branch(fmt.Sprintf("SELECT * FROM (SELECT %d AS __q FROM __c AS traces WHERE %s%s LIMIT 1)",
				scanShared+i, strings.Join(where, " AND "), notBase), append(a, read.Args...)...)
		}
	}
	mention(cand.SQL)
	keep := names.quoted(columns)
	sql := fmt.Sprintf("WITH __c AS MATERIALIZED (\n  SELECT %s FROM traces WHERE timestamp >= ? AND coalesce((%s), false) LIMIT %d\n)\n%s\nORDER BY __q, __n DESC, __v",
		strings.Join(keep, ", "), cand.SQL, maxScanRows+1, strings.Join(branches, "\nUNION ALL BY NAME\n"))
	all := append(append([]any{lower.UTC()}, cand.Args...), args...)
	res, err := q.Query(ctx, sql, store.QueryOptions{}, all...)
	if err != nil {
		return nil, false, fmt.Errorf("scan the spans the exclusion matches: %w", err)
	}
	col := map[string]int{}
	for i, c := range res.Columns {
		col[c] = i
	}
	get := func(row []any, name string) any {
		if i, ok := col[name]; ok {
			return row[i]
		}
		return nil
	}
	s := &candidateScan{counts: excludedCounts{perDay: map[string]int64{}, top: []KeyCount{}}, rules: map[string]ruleScan{}}
	groups := map[int][][]any{}
	for _, row := range res.Rows {
		n, _ := store.AsInt64(get(row, "__n"))
		qn, _ := store.AsInt64(get(row, "__q"))
		switch b := int(qn); {
		case b == scanCopied:
			if n > int64(maxScanRows) {
				return nil, false, nil
			}
		case b == scanTotals:
			s.counts.total += n
			if t, ok := get(row, "__lo").(time.Time); ok && (s.first.IsZero() || t.Before(s.first)) {
				s.first = t.UTC()
			}
			if t, ok := get(row, "__hi").(time.Time); ok && t.After(s.last) {
				s.last = t.UTC()
			}
		case b == scanExcluded:
			d, _ := store.AsInt64(get(row, "__d"))
			s.counts.rows += n
			if n > 0 {
				s.counts.perDay[time.Unix(d*86400, 0).UTC().Format("2006-01-02")] = n
			}
		case b == scanLast:
			if t, ok := get(row, "__t").(time.Time); ok {
				s.counts.lastMatch = t.UTC()
			}
		case b >= scanTop && b < scanTop+len(KeyColumns):
			s.counts.top = append(s.counts.top, KeyCount{Key: fmt.Sprint(get(row, "__k")), Value: fmt.Sprint(get(row, "__v")), Rows: n})
		case b >= scanShared:
			rs := s.rules[rules[b-scanShared].ID]
			rs.shared, rs.untouched = true, false
			s.rules[rules[b-scanShared].ID] = rs
		case b >= scanWindowed:
			groups[b-scanWindowed] = append(groups[b-scanWindowed], row)
		}
	}
	for i := range rules {
		if _, ok := sqlguard.Shared(rules[i].SQL); ok {
			if rs, found := s.rules[rules[i].ID]; !found || !rs.shared {
				s.rules[rules[i].ID] = ruleScan{shared: true, untouched: true}
			}
		}
	}
	for _, k := range windowed {
		rows := make([][]any, len(groups[k.rule]))
		for j, row := range groups[k.rule] {
			rows[j] = make([]any, len(k.keys.exprs))
			for c := range k.keys.exprs {
				rows[j][c] = get(row, fmt.Sprintf("__g_%d_%d", k.rule, c))
			}
		}
		rs := s.rules[rules[k.rule].ID]
		rs.touched, rs.windowed = touchedFrom(k.keys, rows)
		s.rules[rules[k.rule].ID] = rs
	}
	return s, true, nil
}

// identRe finds the words of a query that may name columns.
var identRe = regexp.MustCompile(`[A-Za-z_][A-Za-z0-9_]*`)

// columnNames gathers the words that may name the columns a copy of
// traces must keep.
type columnNames []string

// mention adds the words of sql.
func (c *columnNames) mention(sql string) {
	for _, word := range identRe.FindAllString(sql, -1) {
		*c = append(*c, strings.ToLower(word))
	}
}

// quoted returns the gathered names that are columns, once each, quoted
// and sorted.
func (c columnNames) quoted(columns map[string]bool) []string {
	var out []string
	seen := map[string]bool{}
	for _, name := range c {
		if columns[name] && !seen[name] {
			seen[name] = true
			out = append(out, quoteIdent(name))
		}
	}
	slices.Sort(out)
	return out
}

func minTime(a, b time.Time) time.Time {
	if b.Before(a) {
		return b
	}
	return a
}
