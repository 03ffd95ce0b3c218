package forensics

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Intent is what a question asks for.
type Intent string

// Intents.
const (
	// IntentList lists matching requests, newest first.
	IntentList Intent = "list"
	// IntentCount counts matching requests (per group when grouped).
	IntentCount Intent = "count"
	// IntentCountDistinct counts distinct values of Measure.Of.
	IntentCountDistinct Intent = "count_distinct"
	// IntentSum, IntentAvg and IntentMax aggregate Measure.
	IntentSum Intent = "sum"
	IntentAvg Intent = "avg"
	IntentMax Intent = "max"
	// IntentTop ranks groups by Measure, largest first, Limit of them.
	IntentTop Intent = "top"
	// IntentRate is the share of matching requests that meet Rate.
	IntentRate Intent = "rate"
	// IntentTimeline counts requests per hour or per day.
	IntentTimeline Intent = "timeline"
)

// MeasureKind is the quantity a question aggregates.
type MeasureKind string

// Measures.
const (
	MeasureRequests      MeasureKind = "requests"
	MeasureResponseBytes MeasureKind = "response_bytes" // bytes downloaded
	MeasureRequestBytes  MeasureKind = "request_bytes"  // bytes uploaded
	MeasureLatency       MeasureKind = "latency"        // duration_ns, shown in ms
	MeasureDistinct      MeasureKind = "distinct"       // distinct values of Measure.Of
)

// Measure is an aggregated quantity.
type Measure struct {
	Kind MeasureKind
	// Of is the dimension counted by MeasureDistinct.
	Of Dimension
}

// DimKind is a column or derived value that questions group by, count
// distinct values of, or filter on.
type DimKind string

// Dimensions.
const (
	DimIP        DimKind = "ip"
	DimAPIKey    DimKind = "api_key"
	DimAccount   DimKind = "account"
	DimEndpoint  DimKind = "endpoint"
	DimStatus    DimKind = "status"
	DimMethod    DimKind = "method"
	DimUserAgent DimKind = "user_agent"
	DimService   DimKind = "service"
	DimCountry   DimKind = "country"
	DimASN       DimKind = "asn"
	DimParam     DimKind = "param" // a query parameter, Dimension.Param
	DimDay       DimKind = "day"
	DimHour      DimKind = "hour"
)

// Dimension is a DimKind with, for DimParam, the parameter name as
// observed in traffic.
type Dimension struct {
	Kind  DimKind
	Param string
}

// IsTime reports whether d is a time bucket.
func (d Dimension) IsTime() bool { return d.Kind == DimDay || d.Kind == DimHour }

// String is the compact form: "ip", "param:collection_id".
func (d Dimension) String() string {
	if d.Kind == DimParam {
		return "param:" + d.Param
	}
	return string(d.Kind)
}

// Field is what a Filter constrains.
type Field string

// Filter fields.
const (
	FieldEndpoint  Field = "endpoint"
	FieldMethod    Field = "method"
	FieldStatus    Field = "status"
	FieldIP        Field = "ip"
	FieldAPIKey    Field = "api_key"
	FieldAccount   Field = "account"
	FieldUserAgent Field = "user_agent"
	FieldService   Field = "service"
	FieldCountry   Field = "country"
	FieldASN       Field = "asn"
	FieldParam     Field = "param"
)

// Op is a filter's comparison.
type Op string

// Filter operators. Which ones a field takes: endpoint OpEq (a concrete
// path), OpTemplate (observed templates, Values), OpSuffix (a path not
// observed, matched on a segment boundary) and OpGlob; status OpEq,
// OpClass ("4xx") and OpGe; ip OpEq and OpCIDR; user_agent OpContains;
// param OpEq, OpNe and the numeric comparisons; the rest OpEq.
const (
	OpEq       Op = "="
	OpNe       Op = "!="
	OpGt       Op = ">"
	OpGe       Op = ">="
	OpLt       Op = "<"
	OpLe       Op = "<="
	OpClass    Op = "class"
	OpCIDR     Op = "cidr"
	OpContains Op = "contains"
	OpTemplate Op = "template"
	OpSuffix   Op = "suffix"
	OpGlob     Op = "glob"
)

// Filter is one condition on requests.
type Filter struct {
	Field Field
	Op    Op
	// Value is the operand as written (normalised: "4xx", "104.248.73.19",
	// "/admin/*"), or the one observed template.
	Value string
	// Values are the observed templates an OpTemplate filter matches or,
	// when Resolved, the peer_ip texts seen in the window that an IPv6
	// filter matches.
	Values []string
	// Resolved is set on an IPv6 ip filter (a prefix or an address) once
	// Values hold the texts it matches, possibly none; without it the
	// filter is matched by a pattern on the address text (see addr.go).
	Resolved bool
	// Param is the query parameter name of a FieldParam filter.
	Param string
	// Negate inverts the condition ("excluding …", "not from …").
	Negate bool
}

// WindowKind is how a time window is written.
type WindowKind string

// Window kinds.
const (
	WindowLast      WindowKind = "last" // the last N units before now
	WindowToday     WindowKind = "today"
	WindowYesterday WindowKind = "yesterday"
	WindowThisWeek  WindowKind = "this_week" // since Monday 00:00 UTC
	WindowSince     WindowKind = "since"     // From until now
	WindowBetween   WindowKind = "between"   // From (inclusive) to To (exclusive)
)

// Window is the time range of a question. Every question has one: the
// default is the last 24 hours.
type Window struct {
	Kind WindowKind
	// N and Unit ("minute", "hour", "day", "week") give the length of a
	// WindowLast window.
	N    int
	Unit string
	// From and To bound WindowSince and WindowBetween windows (UTC).
	From, To time.Time
	// Default is set when the question named no window.
	Default bool
}

// unitDurations are the lengths of window units.
var unitDurations = map[string]time.Duration{
	"minute": time.Minute, "hour": time.Hour, "day": 24 * time.Hour, "week": 7 * 24 * time.Hour,
}

// Last returns the length of a WindowLast window.
func (w Window) Last() time.Duration { return time.Duration(w.N) * unitDurations[w.Unit] }

// Span returns the window's length at now, used to pick timeline buckets.
func (w Window) Span(now time.Time) time.Duration {
	switch w.Kind {
	case WindowLast:
		return w.Last()
	case WindowToday:
		return now.Sub(now.UTC().Truncate(24 * time.Hour))
	case WindowYesterday:
		return 24 * time.Hour
	case WindowThisWeek:
		return 7 * 24 * time.Hour
	case WindowSince:
		return now.Sub(w.From)
	case WindowBetween:
		return w.To.Sub(w.From)
	}
	return 24 * time.Hour
}

// String is the compact form: "last 7d", "yesterday", "between 2026-03-01 2026-03-03".
func (w Window) String() string {
	switch w.Kind {
	case WindowLast:
		return fmt.Sprintf("last %d%c", w.N, w.Unit[0])
	case WindowSince:
		return "since " + formatTime(w.From)
	case WindowBetween:
		return "between " + formatTime(w.From) + " " + formatTime(w.To)
	}
	return string(w.Kind)
}

// Words describes the window in plain English.
func (w Window) Words() string {
	var s string
	switch w.Kind {
	case WindowLast:
		s = "last " + w.Unit
		if w.N != 1 {
			s = fmt.Sprintf("last %d %ss", w.N, w.Unit)
		}
	case WindowToday:
		s = "today (UTC)"
	case WindowYesterday:
		s = "yesterday (UTC)"
	case WindowThisWeek:
		s = "this week (since Monday 00:00 UTC)"
	case WindowSince:
		s = "since " + formatTime(w.From)
	case WindowBetween:
		s = "from " + formatTime(w.From) + " to " + formatTime(w.To)
	}
	if w.Default {
		s += " (default window)"
	}
	return s
}

// Order sorts results.
type Order struct {
	// By is "measure" (the question's measure), "time" (the timestamp or the
	// time bucket) or "" for the intent's natural order.
	By   string
	Desc bool
}

// IR is a parsed question. The zero value is not valid; Parse fills every
// field a question needs, and Compile reads nothing else.
type IR struct {
	Intent  Intent
	Measure Measure
	// Rate is the condition an IntentRate question measures the share of.
	Rate    *Filter
	Filters []Filter
	Window  Window
	GroupBy []Dimension
	Order   Order
	// Limit caps the rows; 0 means the compiler's default.
	Limit int
	// Notes explain readings the parser made that a user should know of
	// (an implied success filter, a path not seen in traffic).
	Notes []string
}

// String is the compact, canonical form used by golden tests, e.g.
// "count_distinct param:collection_id | endpoint template /v1/admin/export; status class 2xx | last 7d".
func (ir *IR) String() string {
	var b strings.Builder
	b.WriteString(string(ir.Intent))
	switch {
	case ir.Measure.Kind == MeasureDistinct:
		b.WriteString(" " + ir.Measure.Of.String())
	case ir.Measure.Kind != "" && ir.Measure.Kind != MeasureRequests:
		b.WriteString(" " + string(ir.Measure.Kind))
	}
	if ir.Rate != nil {
		b.WriteString(" " + ir.Rate.String())
	}
	b.WriteString(" |")
	for i, f := range ir.Filters {
		if i > 0 {
			b.WriteString(";")
		}
		b.WriteString(" " + f.String())
	}
	b.WriteString(" | " + ir.Window.String())
	if len(ir.GroupBy) > 0 {
		parts := make([]string, len(ir.GroupBy))
		for i, g := range ir.GroupBy {
			parts[i] = g.String()
		}
		b.WriteString(" | by " + strings.Join(parts, ","))
	}
	if ir.Order.By != "" {
		b.WriteString(" | order " + ir.Order.By)
		if ir.Order.Desc {
			b.WriteString(" desc")
		}
	}
	if ir.Limit > 0 {
		b.WriteString(" | limit " + strconv.Itoa(ir.Limit))
	}
	return b.String()
}

// String is the compact form of a filter: "status class 4xx", "not ip = 1.2.3.4".
func (f Filter) String() string {
	s := string(f.Field)
	if f.Field == FieldParam {
		s = "param:" + f.Param
	}
	v := f.Value
	if f.Op == OpTemplate {
		v = strings.Join(f.Values, ",")
	}
	s += " " + string(f.Op) + " " + v
	if f.Negate {
		s = "not " + s
	}
	return s
}

func formatTime(t time.Time) string {
	t = t.UTC()
	if t.Equal(t.Truncate(24 * time.Hour)) {
		return t.Format("2006-01-02")
	}
	return t.Format("2006-01-02 15:04")
}
