package alert

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/tracehound/tracehound/apimap"
	"github.com/tracehound/tracehound/sqlguard"
	"github.com/tracehound/tracehound/state"
	"github.com/tracehound/tracehound/store"
)

// ResolvedRetention is how long a resolved instance is remembered (for
// re-sends and status) before it is forgotten.
const ResolvedRetention = 15 * time.Minute

// Row is one result row of a rule: an alert instance candidate.
type Row struct {
	// Labels identify the instance (rule labels, identity columns,
	// alertname, severity).
	Labels map[string]string
	// Values are the row's numeric and time columns.
	Values map[string]any
	// Columns is the whole row, column → value, for templates.
	Columns map[string]any
	// memo, when set, is shared by the copies of a row that several
	// steps of a backtest hold: their labels and fingerprint are worked
	// out once.
	memo *rowMemo
}

// rowMemo is a row's labels and fingerprint under one rule.
type rowMemo struct {
	labels map[string]string
	fp     string
	// group, when set, is shared by the rows of one instance (one
	// identity) that a sliding replay returned at its change points:
	// their labels and fingerprint are worked out once.
	group *groupMemo
	// from and idx, for a row rebuilt from a step cache entry, are the
	// entry and the row's index in it. Such a row's Columns and Values
	// are built on first use, into columns and values: most rows of a
	// replay only tell the state machine that their instance matched.
	from            *stepEntry
	idx             int32
	columns, values map[string]any
	// src, for a row of a sliding replay's result, is its values, of the
	// result's columns srcColumns, srcIdent telling the identity ones:
	// its Columns and Values are built on first use too.
	src        []any
	srcColumns []string
	srcIdent   []bool
}

// build fills the maps of a row read from a step cache entry or a
// sliding replay's result.
func (m *rowMemo) build() {
	if m.columns != nil {
		return
	}
	vals, columns, ident := m.src, m.srcColumns, m.srcIdent
	if m.from != nil {
		vals, columns, ident = m.from.vals.row(int(m.idx)), m.from.shape.columns, m.from.shape.label
	}
	m.columns, m.values = make(map[string]any, len(vals)), make(map[string]any, len(vals))
	for i, c := range columns {
		m.columns[c] = vals[i]
		if !ident[i] {
			m.values[c] = vals[i]
		}
	}
}

// lazy reports whether r was read from a step cache entry or a sliding
// replay's result and has its Columns and Values built on first use.
func (r Row) lazy() bool {
	return r.Columns == nil && r.memo != nil && (r.memo.from != nil || r.memo.src != nil)
}

// cols returns r's Columns, building those of a lazy row.
func (r Row) cols() map[string]any {
	if r.lazy() {
		r.memo.build()
		return r.memo.columns
	}
	return r.Columns
}

// vals returns r's Values, building those of a lazy row.
func (r Row) vals() map[string]any {
	if r.lazy() {
		r.memo.build()
		return r.memo.values
	}
	return r.Values
}

// identityColumns says which columns identify an instance: group_by when
// set, else the string and boolean columns.
func identityColumns(r *Rule, res *store.Result) ([]bool, error) {
	ident := make([]bool, len(res.Columns))
	if len(r.GroupBy) > 0 {
		for _, g := range r.GroupBy {
			i := slices.Index(res.Columns, g)
			if i < 0 {
				return nil, fmt.Errorf("group_by column %q is not in the result (columns: %s)", g, strings.Join(res.Columns, ", "))
			}
			ident[i] = true
		}
		return ident, nil
	}
	for i := range res.Columns {
		typ := ""
		if i < len(res.Types) {
			typ = strings.ToUpper(res.Types[i])
		}
		switch {
		case strings.Contains(typ, "CHAR"), strings.Contains(typ, "STRING"), strings.Contains(typ, "TEXT"),
			strings.Contains(typ, "BOOL"), strings.Contains(typ, "UUID"), strings.Contains(typ, "ENUM"),
			strings.HasPrefix(typ, "IPV"):
			ident[i] = true
		case typ == "":
			for _, row := range res.Rows {
				switch row[i].(type) {
				case nil:
					continue
				case string, bool:
					ident[i] = true
				}
				break
			}
		}
	}
	return ident, nil
}

// LabelValue is the text of a value in an instance's label.
func LabelValue(v any) string {
	switch x := v.(type) {
	case nil:
		return ""
	case string:
		return x
	case bool:
		return strconv.FormatBool(x)
	case time.Time:
		return x.UTC().Format(time.RFC3339Nano)
	}
	return fmt.Sprint(v)
}

// groupMemo is what the rows of one identity share: their Labels, and
// the instance's labels and fingerprint once the state machine has
// worked them out.
type groupMemo struct {
	labels     map[string]string
	instLabels map[string]string
	fp         string
}

// rowsFromResult turns a query result into rows.
func rowsFromResult(r *Rule, res *store.Result) ([]Row, error) {
	return convertRows(r, res, false)
}

// convertRows turns a query result into rows. With groups, the rows of
// one identity share their Labels (which nothing changes) and a
// groupMemo, each row with its own memo, and build their Columns and
// Values on first use (lazy).
func convertRows(r *Rule, res *store.Result, groups bool) ([]Row, error) {
	ident, err := identityColumns(r, res)
	if err != nil {
		return nil, err
	}
	rows := make([]Row, 0, len(res.Rows))
	var byIdent map[string]*groupMemo
	var key []byte
	if groups {
		byIdent = map[string]*groupMemo{}
	}
	for _, vals := range res.Rows {
		var row Row
		if !groups {
			row = Row{Values: map[string]any{}, Columns: make(map[string]any, len(vals))}
		}
		var g *groupMemo
		if groups {
			key = key[:0]
			for i, v := range vals {
				if ident[i] {
					key = append(append(key, LabelValue(v)...), 0)
				}
			}
			if g = byIdent[string(key)]; g != nil {
				row.Labels = g.labels
			}
		}
		if row.Labels == nil {
			row.Labels = map[string]string{}
			for i, c := range res.Columns {
				if ident[i] {
					row.Labels[c] = LabelValue(vals[i])
				}
			}
			if groups {
				g = &groupMemo{labels: row.Labels}
				byIdent[string(key)] = g
			}
		}
		if g != nil {
			// The rows of a sliding replay build their Columns and
			// Values only when the state machine reports them.
			row.memo = &rowMemo{group: g, src: vals, srcColumns: res.Columns, srcIdent: ident}
			rows = append(rows, row)
			continue
		}
		for i, c := range res.Columns {
			row.Columns[c] = vals[i]
			if !ident[i] {
				row.Values[c] = vals[i]
			}
		}
		rows = append(rows, row)
	}
	return rows, nil
}

// fingerprint is a stable hash of the rule id and the labels.
func fingerprint(ruleID string, labels map[string]string) string {
	h := sha256.New()
	h.Write([]byte(ruleID))
	keys := mapsKeys(labels)
	sort.Strings(keys)
	for _, k := range keys {
		h.Write([]byte{0})
		h.Write([]byte(k))
		h.Write([]byte{1})
		h.Write([]byte(labels[k]))
	}
	return hex.EncodeToString(h.Sum(nil)[:12])
}

// evalSQL runs a SQL rule with now() bound to at.
func evalSQL(ctx context.Context, q store.Querier, r *Rule, at time.Time, timeout time.Duration) ([]Row, error) {
	bound, err := sqlguard.BindNow(r.SQL, at)
	if err != nil {
		return nil, fmt.Errorf("bind now(): %w", err)
	}
	res, err := q.Query(ctx, bound, store.QueryOptions{MaxRows: r.limit() + 1, Timeout: timeout})
	if err != nil {
		return nil, err
	}
	if len(res.Rows) > r.limit() {
		return nil, fmt.Errorf("the query returned more than the rule's limit of %d rows", r.limit())
	}
	return rowsFromResult(r, res)
}

// evalEvents consumes the API map's unconsumed events of the rule's kind
// and returns one row per event, identified by the endpoint. An event
// another consumer took first is skipped.
func evalEvents(ctx context.Context, m state.MapStore, r *Rule, at time.Time) ([]Row, error) {
	if m == nil {
		return nil, fmt.Errorf("rule source apimap_event needs the API map store, which the engine was not given")
	}
	events, err := m.Events(ctx, state.EventFilter{Kind: r.Event, Unconsumed: true, Limit: r.limit() + 1})
	if err != nil {
		return nil, err
	}
	var rows []Row
	for _, ev := range events {
		var p apimap.EventPayload
		if err := json.Unmarshal(ev.Payload, &p); err != nil {
			return nil, fmt.Errorf("event %d: bad payload: %w", ev.ID, err)
		}
		ok, err := m.ConsumeEvent(ctx, ev.ID, at)
		if err != nil {
			return nil, fmt.Errorf("consume event %d: %w", ev.ID, err)
		}
		if !ok {
			continue
		}
		ep := p.Endpoint
		tags := make([]string, 0, len(ep.Tags)+len(ep.Sensitivity))
		for _, t := range ep.Tags {
			tags = append(tags, string(t))
		}
		for _, t := range ep.Sensitivity {
			tags = append(tags, string(t))
		}
		cols := map[string]any{
			LabelEndpoint:  ep.Method + " " + ep.Template,
			LabelService:   ep.Service,
			"endpoint_id":  ep.ID,
			"auth":         string(ep.Auth.State),
			"tags":         strings.Join(tags, ","),
			"hits":         ep.Hits,
			"risk_score":   int64(ep.RiskScore),
			"first_seen":   ep.FirstSeen,
			"last_seen":    ep.LastSeen,
			"snapshot_at":  p.SnapshotTakenAt,
			"event_id":     ev.ID,
			"event_kind":   ev.Kind,
			"event_at":     ev.CreatedAt,
			"shadow":       ep.Shadow,
			"sensitive":    ep.Sensitive(),
			"documented":   ep.Documented,
			"first_caller": firstCaller(ep),
		}
		row := Row{Labels: map[string]string{LabelEndpoint: ep.Method + " " + ep.Template, LabelService: ep.Service},
			Values: map[string]any{"hits": ep.Hits, "risk_score": int64(ep.RiskScore)}, Columns: cols}
		rows = append(rows, row)
	}
	return rows, nil
}

func firstCaller(ep apimap.Endpoint) string {
	b, err := json.Marshal(ep.Callers)
	if err != nil {
		return ""
	}
	return string(b)
}

// instance is one alert instance inside the engine.
type instance struct {
	Fingerprint string            `json:"-"`
	State       State             `json:"-"`
	Labels      map[string]string `json:"labels"`
	Annotations map[string]string `json:"annotations"`
	Values      map[string]any    `json:"values"`
	ActiveAt    time.Time         `json:"-"`
	FiredAt     time.Time         `json:"-"`
	ResolvedAt  time.Time         `json:"-"`
	LastMatchAt time.Time         `json:"-"`
	// KeepFiringSince is the first evaluation that no longer matched a
	// firing instance held by keep_firing_for.
	KeepFiringSince time.Time `json:"keep_firing_since,omitzero"`
	// ResolvedSent is set once the resolution reached the sink.
	ResolvedSent bool `json:"resolved_sent,omitempty"`
	// memo is the shared backtest row the annotations were expanded
	// from.
	memo *rowMemo
	// pending, in a machine reporting changes only, is what the
	// annotations are to be expanded from when they are next needed.
	pending *pendingAnnotations
	// valuesFrom, when the last matching row was a lazy one, is where
	// Values are built from when they are needed.
	valuesFrom *rowMemo
}

// values returns in's Values, building those of a lazy row.
func (in *instance) values() map[string]any {
	if in.valuesFrom != nil {
		in.valuesFrom.build()
		in.Values, in.valuesFrom = in.valuesFrom.values, nil
	}
	return in.Values
}

// pendingAnnotations is a row whose annotations are not expanded yet.
type pendingAnnotations struct {
	row    Row
	labels map[string]string
	at     time.Time
}

// machine holds a rule's instances and moves them through their states.
type machine struct {
	rule      *Rule
	instances map[string]*instance
	// changesOnly makes step return only the instances that start firing
	// at the step and the resolutions not yet sent, and expand an
	// instance's annotations only when it starts firing: a backtest
	// needs nothing else.
	changesOnly bool
}

func newMachine(r *Rule) *machine {
	return &machine{rule: r, instances: map[string]*instance{}}
}

// labelsFor builds an instance's labels from the row's identity labels.
func (m *machine) labelsFor(row Row) map[string]string {
	labels := make(map[string]string, len(m.rule.Labels)+len(row.Labels)+2)
	for k, v := range m.rule.Labels {
		labels[k] = v
	}
	for k, v := range row.Labels {
		labels[k] = v
	}
	labels[LabelAlertName] = m.rule.ID
	labels[LabelSeverity] = string(m.rule.Severity)
	return labels
}

// step applies one evaluation at ts whose result is rows, Prometheus
// style, and returns the alerts to deliver: every firing instance, and
// the resolved ones whose resolution has not been delivered yet.
func (m *machine) step(ts time.Time, rows []Row) ([]Alert, error) {
	r := m.rule
	matched := make(map[string]bool, len(rows))
	for _, row := range rows {
		var labels map[string]string
		var fp string
		switch memo := row.memo; {
		case memo != nil && memo.fp != "":
			labels, fp = memo.labels, memo.fp
		case memo != nil && memo.group != nil && memo.group.fp != "":
			labels, fp = memo.group.instLabels, memo.group.fp
			memo.labels, memo.fp = labels, fp
		default:
			labels = m.labelsFor(row)
			fp = fingerprint(r.ID, labels)
			if memo != nil {
				memo.labels, memo.fp = labels, fp
				if memo.group != nil {
					memo.group.instLabels, memo.group.fp = labels, fp
				}
			}
		}
		if matched[fp] {
			return nil, fmt.Errorf("two result rows have the same identity %v; add the distinguishing columns to group_by or aggregate", row.Labels)
		}
		matched[fp] = true
		in, ok := m.instances[fp]
		if !ok || in.State == StateResolved {
			in = &instance{Fingerprint: fp, State: StatePending, ActiveAt: ts}
			m.instances[fp] = in
		}
		in.Labels, in.Values, in.valuesFrom, in.LastMatchAt = labels, row.Values, nil, ts
		if row.lazy() {
			in.valuesFrom = row.memo
		}
		// A backtest step holding the same row as the step before has
		// the same annotations, unless they show the evaluation time.
		if row.memo == nil || in.memo != row.memo || r.annotationsUseTime {
			in.memo = row.memo
			if m.changesOnly {
				in.pending = &pendingAnnotations{row: row, labels: labels, at: ts}
			} else {
				in.Annotations = m.annotate(row, labels, ts)
			}
		}
		in.KeepFiringSince = time.Time{}
		if in.State == StatePending && ts.Sub(in.ActiveAt) >= r.For {
			in.State, in.FiredAt = StateFiring, ts
		}
	}
	for fp, in := range m.instances {
		if matched[fp] {
			continue
		}
		switch in.State {
		case StatePending:
			delete(m.instances, fp)
		case StateFiring:
			if r.KeepFiringFor > 0 {
				if in.KeepFiringSince.IsZero() {
					in.KeepFiringSince = ts
				}
				if ts.Sub(in.KeepFiringSince) < r.KeepFiringFor {
					continue
				}
			}
			in.State, in.ResolvedAt, in.ResolvedSent = StateResolved, ts, false
		case StateResolved:
			if ts.Sub(in.ResolvedAt) >= ResolvedRetention {
				delete(m.instances, fp)
			}
		}
	}
	var out []Alert
	if m.changesOnly {
		for _, in := range m.instances {
			if in.State == StateFiring && in.FiredAt.Equal(ts) || in.State == StateResolved && !in.ResolvedSent {
				if in.pending != nil && in.State == StateFiring {
					p := in.pending
					in.Annotations, in.pending = m.annotate(p.row, p.labels, p.at), nil
				}
				out = append(out, m.alert(in, ts))
			}
		}
		slices.SortFunc(out, func(a, b Alert) int { return strings.Compare(a.Fingerprint, b.Fingerprint) })
		return out, nil
	}
	for _, fp := range m.sortedFingerprints() {
		in := m.instances[fp]
		if in.State == StateFiring || (in.State == StateResolved && !in.ResolvedSent) {
			out = append(out, m.alert(in, ts))
		}
	}
	return out, nil
}

// annotate expands the rule's annotations over a row evaluated at ts.
func (m *machine) annotate(row Row, labels map[string]string, ts time.Time) map[string]string {
	columns := row.cols()
	data := make(map[string]any, len(columns)+3)
	for k, v := range columns {
		data[k] = v
	}
	data["Labels"], data["Values"], data["EvalTime"] = labels, row.vals(), ts
	return m.rule.expand(data)
}

// markSent records that the resolutions among alerts were delivered.
func (m *machine) markSent(alerts []Alert) {
	for _, a := range alerts {
		if in, ok := m.instances[a.Fingerprint]; ok && a.State == StateResolved && in.State == StateResolved {
			in.ResolvedSent = true
		}
	}
}

func (m *machine) sortedFingerprints() []string {
	fps := mapsKeys(m.instances)
	sort.Strings(fps)
	return fps
}

func (m *machine) alert(in *instance, ts time.Time) Alert {
	a := Alert{
		Fingerprint: in.Fingerprint, RuleID: m.rule.ID, RuleName: m.rule.Name, Severity: m.rule.Severity,
		Mode: m.rule.Mode, State: in.State, Labels: in.Labels, Annotations: in.Annotations, Values: in.values(),
		ActiveAt: in.ActiveAt, StartsAt: in.FiredAt, EvaluatedAt: ts,
	}
	if in.State == StateResolved {
		a.EndsAt = in.ResolvedAt
	}
	return a
}

// active returns the instances as alerts (pending ones included), ordered
// by fingerprint.
func (m *machine) active(ts time.Time) []Alert {
	out := make([]Alert, 0, len(m.instances))
	for _, fp := range m.sortedFingerprints() {
		out = append(out, m.alert(m.instances[fp], ts))
	}
	return out
}

// save converts the instances for the RuleStore.
func (m *machine) save(lastEval time.Time) (state.RuleState, error) {
	st := state.RuleState{RuleID: m.rule.ID, LastEval: lastEval, Instances: make([]state.RuleInstance, 0, len(m.instances))}
	for _, fp := range m.sortedFingerprints() {
		in := m.instances[fp]
		data, err := json.Marshal(in)
		if err != nil {
			return state.RuleState{}, fmt.Errorf("encode instance %s: %w", fp, err)
		}
		st.Instances = append(st.Instances, state.RuleInstance{
			Fingerprint: fp, State: string(in.State), ActiveAt: in.ActiveAt, FiredAt: in.FiredAt,
			ResolvedAt: in.ResolvedAt, LastMatchAt: in.LastMatchAt, Data: data,
		})
	}
	return st, nil
}

// restore loads the instances saved by save.
func (m *machine) restore(st state.RuleState) error {
	m.instances = make(map[string]*instance, len(st.Instances))
	for _, si := range st.Instances {
		in := &instance{}
		if len(si.Data) > 0 {
			if err := json.Unmarshal(si.Data, in); err != nil {
				return fmt.Errorf("decode instance %s: %w", si.Fingerprint, err)
			}
		}
		in.Fingerprint, in.State = si.Fingerprint, State(si.State)
		in.ActiveAt, in.FiredAt, in.ResolvedAt, in.LastMatchAt = si.ActiveAt, si.FiredAt, si.ResolvedAt, si.LastMatchAt
		switch in.State {
		case StatePending, StateFiring, StateResolved:
		default:
			return fmt.Errorf("instance %s: unknown state %q", si.Fingerprint, si.State)
		}
		m.instances[si.Fingerprint] = in
	}
	return nil
}

// counts returns the number of instances in each state.
func (m *machine) counts() map[State]int {
	c := map[State]int{StatePending: 0, StateFiring: 0, StateResolved: 0}
	for _, in := range m.instances {
		c[in.State]++
	}
	return c
}
