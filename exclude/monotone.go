package exclude

import (
	"regexp"
	"slices"
	"strings"
	"sync/atomic"

	"github.com/tracehound/tracehound/alert"
	"github.com/tracehound/tracehound/sqlguard"
)

// An exclusion only removes rows. For a rule whose groups pass its HAVING
// on more rows whenever they pass it on fewer (a count, a number of
// distinct values or a maximum at least a constant), removing rows can
// only take a group's result rows away, and the state machine fires an
// instance on a subset of its rows only where it fired on all of them.
// A touched group that never fired in the baseline therefore never fires
// with the candidate either: a dry run replays only the touched groups
// that fired.

// prunedReplays counts the touched groups narrowed to those that fired
// (tests check it).
var prunedReplays atomic.Int64

// growingAggs are the aggregates whose value never falls when rows are
// added.
var growingAggs = []string{"count", "countif", "uniqexact", "uniqexactif", "max", "maxif"}

// atLeastRe matches the rest of a HAVING term that holds when its
// aggregate is at least a constant; atMostRe the start of one written
// the other way round.
var (
	atLeastRe = regexp.MustCompile(`^\s*(>=|>)\s*([0-9]+(?:\.[0-9]*)?)\s*$`)
	atMostRe  = regexp.MustCompile(`^\s*([0-9]+(?:\.[0-9]*)?)\s*(<=|<)\s*$`)
)

// onlyShrinks reports whether removing rows from what r reads can only
// take rows out of its results: r is of the single-window shape (no
// subquery) and its HAVING, if any, is an AND of terms "agg >= n" or
// "agg > n" (or "n <= agg", "n < agg") where agg is a growing aggregate
// or a result column that is one. Its groups are then decided by the
// rows of each, and a group's row exists only where it passes.
func onlyShrinks(r *alert.Rule) bool {
	if r.Source != alert.SourceSQL && r.Source != "" {
		return false
	}
	w, err := sqlguard.ParseWindowed(r.SQL)
	if err != nil || len(w.GroupBy) == 0 {
		return false
	}
	if w.Having == nil {
		return true
	}
	if len(w.HavingTerms) == 0 {
		return false // a top-level OR
	}
	for _, term := range w.HavingTerms {
		if !atLeastTerm(term, w.Columns) {
			return false
		}
	}
	return true
}

// atLeastTerm reports whether term holds when a growing aggregate is at
// least a constant.
func atLeastTerm(term sqlguard.Expr, columns []sqlguard.Column) bool {
	var aggs []*sqlguard.Aggregate
	var before, after strings.Builder
	for _, p := range term {
		switch {
		case p.Now:
			return false
		case p.Agg != nil:
			aggs = append(aggs, p.Agg)
		case len(aggs) == 0:
			before.WriteString(p.Text)
		default:
			after.WriteString(p.Text)
		}
	}
	switch len(aggs) {
	case 1:
		return growing(aggs[0]) && (strings.TrimSpace(before.String()) == "" && atLeastRe.MatchString(after.String()) ||
			atMostRe.MatchString(before.String()) && strings.TrimSpace(after.String()) == "")
	case 0:
		// "alias >= n": the alias must name a column that is one growing
		// aggregate.
		text := strings.TrimSpace(before.String())
		name, rest, ok := cutWord(text)
		if !ok || !atLeastRe.MatchString(rest) {
			return false
		}
		i := slices.IndexFunc(columns, func(c sqlguard.Column) bool { return strings.EqualFold(c.Alias, name) })
		if i < 0 {
			return false
		}
		var agg *sqlguard.Aggregate
		for _, p := range columns[i].Expr {
			switch {
			case p.Agg != nil && agg == nil:
				agg = p.Agg
			case p.Agg != nil || p.Now || strings.TrimSpace(p.Text) != "":
				return false
			}
		}
		return agg != nil && growing(agg)
	}
	return false
}

// growing reports whether a's value never falls when rows are added.
func growing(a *sqlguard.Aggregate) bool {
	return slices.Contains(growingAggs, a.Name)
}

// cutWord splits an identifier off the start of s.
func cutWord(s string) (word, rest string, ok bool) {
	end := 0
	for end < len(s) && (s[end] == '_' || s[end] >= 'a' && s[end] <= 'z' || s[end] >= 'A' && s[end] <= 'Z' ||
		end > 0 && s[end] >= '0' && s[end] <= '9') {
		end++
	}
	return s[:end], s[end:], end > 0
}

// changeable returns those of t, r's touched groups, whose firings the
// candidate can change given firings, the baseline's: the ones that fired
// when r can only lose rows (onlyShrinks), else all of them.
func changeable(r *alert.Rule, t touched, firings []alert.Firing) touched {
	if t.groups == 0 || !onlyShrinks(r) {
		return t
	}
	fired, known := t.firedOnly(firings)
	if !known {
		return t
	}
	prunedReplays.Add(1)
	return fired
}

// firedOnly returns the touched groups among those of firings, the
// baseline's; ok is false when the firings' labels do not hold every
// group key.
func (t touched) firedOnly(firings []alert.Firing) (_ touched, ok bool) {
	if slices.Contains(t.keys.names, "") {
		return t, false
	}
	// The touched values of each key, by their text in labels.
	byText := make([]map[string]any, len(t.keys.names))
	for i, vals := range t.values {
		byText[i] = make(map[string]any, len(vals))
		for _, v := range vals {
			byText[i][alert.LabelValue(v)] = v
		}
	}
	out := touched{keys: t.keys, values: make([][]any, len(t.values))}
	kept := make([]map[string]bool, len(t.values))
	for i := range kept {
		kept[i] = map[string]bool{}
	}
	groups := map[string]bool{}
	for _, f := range firings {
		tuple := make([]string, len(t.keys.names))
		in := true
		for i, name := range t.keys.names {
			text, has := f.Labels[name]
			if !has {
				return t, false
			}
			tuple[i] = text
			_, touchedValue := byText[i][text]
			in = in && touchedValue
		}
		if !in || groups[strings.Join(tuple, "\x00")] {
			continue
		}
		groups[strings.Join(tuple, "\x00")] = true
		for i, text := range tuple {
			if !kept[i][text] {
				kept[i][text] = true
				out.values[i] = append(out.values[i], byText[i][text])
			}
		}
	}
	out.groups = len(groups)
	return out, true
}
