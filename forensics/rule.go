package forensics

import (
	"fmt"
	"regexp"
	"slices"
	"strings"
	"time"
)

// RuleOptions shape the alert rule drafted from a question.
type RuleOptions struct {
	// Window is how far back each evaluation looks. Default 1h.
	Window time.Duration
	// Threshold: an identity matches when its measure exceeds it. Default 0
	// (any matching request).
	Threshold float64
	// Interval is how often the rule runs. Default 5m.
	Interval time.Duration
}

// RuleDraft is an alert rule drafted from a question, for the alert
// package to backtest before it is saved.
type RuleDraft struct {
	Name string
	// SQL selects, per identity, the measure as "value" over the last
	// Window before now(), only where it exceeds the threshold. Values are
	// quoted literals: the SQL is complete as stored.
	SQL      string
	Interval time.Duration
	For      time.Duration
	Severity string
	// GroupBy names the columns that identify an alert instance.
	GroupBy []string
}

// ToRule turns a question's filters into a windowed, thresholded rule: GROUP
// BY the question's own grouping, or the client IP, HAVING the measure above
// the threshold. Time buckets and the question's window are dropped; the
// rule's window replaces them.
func ToRule(ir *IR, o RuleOptions) (*RuleDraft, error) {
	if ir == nil {
		return nil, fmt.Errorf("%w: no question", ErrUnsupported)
	}
	if o.Window <= 0 {
		o.Window = time.Hour
	}
	if o.Interval <= 0 {
		o.Interval = 5 * time.Minute
	}
	if o.Window%time.Minute != 0 {
		return nil, fmt.Errorf("%w: a rule window is whole minutes", ErrUnsupported)
	}
	r := *ir
	r.Window = Window{Kind: WindowLast, N: int(o.Window / time.Minute), Unit: "minute"}
	// A rule runs over traffic still to come: an IPv6 filter resolved to
	// the addresses of the question's window would miss new ones, so it is
	// matched by its pattern.
	r.Filters = slices.Clone(ir.Filters)
	for i := range r.Filters {
		if r.Filters[i].Resolved {
			r.Filters[i].Resolved, r.Filters[i].Values = false, nil
		}
	}
	r.GroupBy = slices.DeleteFunc(slices.Clone(ir.GroupBy), Dimension.IsTime)
	if len(r.GroupBy) == 0 {
		r.GroupBy = []Dimension{{Kind: DimIP}}
	}
	switch r.Intent {
	case IntentList, IntentTimeline, IntentTop:
		r.Intent = IntentCount
		if r.Measure.Kind == MeasureResponseBytes || r.Measure.Kind == MeasureRequestBytes {
			r.Intent = IntentSum
		} else if r.Measure.Kind == MeasureLatency {
			r.Intent = IntentAvg
		}
	}
	c := &compiler{ir: &r, opts: CompileOptions{Literals: true}}
	where, err := c.where()
	if err != nil {
		return nil, err
	}
	mexpr, _, err := c.measureSQL()
	if err != nil {
		return nil, err
	}
	var cols, keys []string
	for _, d := range r.GroupBy {
		e, err := c.dimExpr(d)
		if err != nil {
			return nil, err
		}
		a := dimAlias(d)
		if d.Kind == DimEndpoint {
			cols, keys = append(cols, "http_method AS method"), append(keys, "method")
		}
		cols, keys = append(cols, e+" AS "+a), append(keys, a)
	}
	sql := fmt.Sprintf("SELECT %s, %s AS value, count() AS requests\nFROM traces\nWHERE %s\nGROUP BY %s\nHAVING value > %s",
		strings.Join(cols, ", "), mexpr, where, strings.Join(keys, ", "), formatFloat(o.Threshold))
	return &RuleDraft{
		Name:     ruleName(&r),
		SQL:      sql,
		Interval: o.Interval,
		Severity: "warning",
		GroupBy:  keys,
	}, nil
}

func formatFloat(f float64) string {
	if f == float64(int64(f)) {
		return fmt.Sprintf("%d", int64(f))
	}
	return fmt.Sprintf("%g", f)
}

var nonSlug = regexp.MustCompile(`[^a-z0-9]+`)

// ruleName is a slug of the rule's measure and filters.
func ruleName(ir *IR) string {
	parts := []string{"forensics", string(ir.Intent)}
	if ir.Measure.Kind == MeasureDistinct {
		parts = append(parts, ir.Measure.Of.String())
	} else if ir.Measure.Kind != MeasureRequests {
		parts = append(parts, string(ir.Measure.Kind))
	}
	for _, f := range ir.Filters {
		v := f.Value
		if f.Op == OpTemplate {
			v = strings.Join(f.Values, " ")
		}
		parts = append(parts, v)
	}
	s := strings.Trim(nonSlug.ReplaceAllString(strings.ToLower(strings.Join(parts, "-")), "-"), "-")
	if len(s) > 80 {
		s = strings.TrimRight(s[:80], "-")
	}
	return s
}
