package alert

import (
	"context"
	"errors"
	"fmt"
	"hash/fnv"
	"log/slog"
	"reflect"
	"sort"
	"sync"
	"text/template"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/tracehound/tracehound/state"
	"github.com/tracehound/tracehound/store"
)

// Sink receives alerts. The engine calls Deliver after every evaluation
// with alerts to send: each firing instance on every evaluation it keeps
// firing (Alertmanager-style re-sends, the receiver deduplicates), and each
// resolved instance once, retried on the next evaluation while Deliver
// fails (for up to ResolvedRetention). Alerts carry their rule's Mode; a
// sink decides what shadow alerts do. Deliver must not keep the slice.
type Sink interface {
	Deliver(ctx context.Context, alerts []Alert) error
}

// RuleHealthID is the rule id of the engine's own alerts: one instance per
// failing rule (label "rule"), firing while the rule fails.
const RuleHealthID = "tracehound.rule_health"

// Health of a rule.
type Health string

// Healths of a rule: unknown until its first evaluation.
const (
	HealthUnknown   Health = "unknown"
	HealthOK        Health = "ok"
	HealthUnhealthy Health = "unhealthy"
)

// Options configure an Engine. Querier is required; zero values of the
// others take the defaults.
type Options struct {
	// Querier runs the rules' SQL.
	Querier store.Querier
	// RuleStore persists each rule's last evaluation and instances; nil
	// keeps them in memory only.
	RuleStore state.RuleStore
	// MapStore is where apimap_event rules read events; nil fails them.
	MapStore state.MapStore
	// Sink receives alerts; nil discards them.
	Sink Sink
	// Logger receives the engine's logs; nil discards them.
	Logger *slog.Logger
	// Registerer receives the engine's metrics; nil registers none.
	Registerer prometheus.Registerer
	// Now is the clock; default time.Now. The scheduler waits with the
	// time package's timers, so tests run it under testing/synctest.
	Now func() time.Time
	// QueryOffset is subtracted from the evaluation time before it is
	// bound to now(), so that spans still being ingested are not missed.
	// Default 30s; negative means none.
	QueryOffset time.Duration
	// QueryTimeout bounds one evaluation's query; default the rule's
	// interval, at most 1 minute.
	QueryTimeout time.Duration
	// MaxCatchUp is how many missed evaluations (after a restart or a
	// stall) are still run one by one, oldest first; older ones are
	// counted as missed and skipped. Default 3; negative means none.
	MaxCatchUp int
	// Concurrency caps the evaluations running at once; default 4.
	Concurrency int
	// Changes tells which span times the store's writes touched, when
	// Querier wraps a store that can (default: Querier itself, if it
	// can). With it and a Querier that keeps copies (store.Scratcher),
	// rules that look back far read copies of their rows (readcache.go).
	Changes store.ChangeTracker
	// Rewrite, when set, gives the SQL each evaluation of a SQL rule runs
	// with (exclusions filter the rows a rule reads); a failure fails the
	// evaluation.
	Rewrite Rewriter
}

// Engine schedules rules, evaluates them and delivers their alerts.
type Engine struct {
	opts    Options
	log     *slog.Logger
	now     func() time.Time
	sem     chan struct{}
	metrics *metrics
	health  *machine
	// reads keeps copies of what long-window rules read (readcache.go);
	// nil when the querier cannot.
	reads *readCache

	mu      sync.Mutex
	rules   map[string]Rule
	runners map[string]*runner
	update  chan struct{}
	// healthMu guards health, shared by the runners.
	healthMu sync.Mutex
}

// NewEngine returns an engine with no rules; call SetRules and Run.
func NewEngine(opts Options) (*Engine, error) {
	if opts.Querier == nil {
		return nil, errors.New("alert engine: no querier")
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.QueryOffset == 0 {
		opts.QueryOffset = 30 * time.Second
	} else if opts.QueryOffset < 0 {
		opts.QueryOffset = 0
	}
	if opts.MaxCatchUp == 0 {
		opts.MaxCatchUp = 3
	} else if opts.MaxCatchUp < 0 {
		opts.MaxCatchUp = 0
	}
	if opts.Concurrency <= 0 {
		opts.Concurrency = 4
	}
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	m, err := newMetrics(opts.Registerer)
	if err != nil {
		return nil, err
	}
	reads := newReadCache(opts.Querier, opts.Changes)
	if opts.Registerer != nil {
		if err := opts.Registerer.Register(prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "tracehound_rule_copied_rows", Help: "Rows the engine holds in copies of what long-window rules read.",
		}, func() float64 { return float64(reads.held()) })); err != nil {
			return nil, fmt.Errorf("register alert metrics: %w", err)
		}
	}
	healthRule := &Rule{ID: RuleHealthID, Name: "Rule health", Severity: SeverityMedium, Mode: ModeActive,
		annotations: map[string]*template.Template{
			"summary": template.Must(template.New("summary").Parse("rule {{.rule}} fails: {{.error}}")),
		}}
	return &Engine{
		opts: opts, log: log.With("component", "alert"), now: opts.Now,
		sem: make(chan struct{}, opts.Concurrency), metrics: m, health: newMachine(healthRule), reads: reads,
		rules: map[string]Rule{}, runners: map[string]*runner{}, update: make(chan struct{}, 1),
	}, nil
}

// SetRules replaces the engine's rules. A rule whose definition did not
// change keeps running undisturbed; a changed one restarts from its saved
// state (its instances and last evaluation time); a removed one stops, its
// firing instances are delivered resolved and its state is forgotten. It
// refuses the whole set when a rule is invalid or two share an id.
func (e *Engine) SetRules(rules []Rule) error {
	next := make(map[string]Rule, len(rules))
	for _, r := range rules {
		if err := r.Validate(); err != nil {
			return err
		}
		if _, dup := next[r.ID]; dup || r.ID == RuleHealthID {
			return fmt.Errorf("%w: rule %q: duplicate or reserved id", ErrInvalidRule, r.ID)
		}
		next[r.ID] = r
	}
	e.mu.Lock()
	e.rules = next
	e.mu.Unlock()
	ids := make(map[string]bool, len(next))
	for id := range next {
		ids[id] = true
	}
	e.reads.retain(ids)
	select {
	case e.update <- struct{}{}:
	default:
	}
	return nil
}

// Run schedules the rules until ctx ends, then waits for evaluations in
// flight to finish.
func (e *Engine) Run(ctx context.Context) error {
	defer e.reads.retain(nil)
	defer e.stopAll(ctx)
	e.reconcile(ctx)
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-e.update:
			e.reconcile(ctx)
		}
	}
}

// runner runs one rule.
type runner struct {
	rule   Rule
	cancel context.CancelFunc
	done   chan struct{}

	mu           sync.Mutex
	machine      *machine
	health       Health
	lastErr      string
	lastEval     time.Time
	lastDuration time.Duration
	missed       int64
}

// sameDefinition reports whether a and b evaluate identically (File and
// Line aside).
func sameDefinition(a, b Rule) bool {
	a.File, a.Line, b.File, b.Line = "", 0, "", 0
	a.annotations, b.annotations = nil, nil
	a.annotationsUseTime, b.annotationsUseTime = false, false
	return reflect.DeepEqual(a, b)
}

// reconcile starts, restarts and stops runners to match e.rules.
func (e *Engine) reconcile(ctx context.Context) {
	e.mu.Lock()
	rules := e.rules
	var stop []*runner
	var removed []*runner
	for id, rn := range e.runners {
		r, ok := rules[id]
		if ok && sameDefinition(r, rn.rule) && !rn.stopped() {
			continue
		}
		stop = append(stop, rn)
		if !ok {
			removed = append(removed, rn)
		}
		delete(e.runners, id)
	}
	e.mu.Unlock()
	for _, rn := range stop {
		rn.cancel()
		<-rn.done
	}
	for _, rn := range removed {
		e.retire(ctx, rn)
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	for id, r := range rules {
		if _, ok := e.runners[id]; ok {
			continue
		}
		rctx, cancel := context.WithCancel(ctx)
		rn := &runner{rule: r, cancel: cancel, done: make(chan struct{}), machine: newMachine(&r), health: HealthUnknown}
		e.runners[id] = rn
		go func() {
			defer close(rn.done)
			e.runRule(rctx, rn)
		}()
	}
}

// retire delivers the firing instances of a removed rule as resolved and
// forgets its state.
func (e *Engine) retire(ctx context.Context, rn *runner) {
	ts := e.now()
	rn.mu.Lock()
	var out []Alert
	for _, a := range rn.machine.active(ts) {
		if a.State == StateFiring {
			a.State, a.EndsAt = StateResolved, ts
			out = append(out, a)
		}
	}
	rn.mu.Unlock()
	e.deliver(ctx, rn.rule.ID, out)
	if e.opts.RuleStore != nil {
		if err := e.opts.RuleStore.DeleteRuleState(ctx, rn.rule.ID); err != nil {
			e.log.Error("forget state of removed rule", "rule", rn.rule.ID, "err", err)
		}
	}
	e.metrics.forget(rn.rule.ID)
	e.setHealth(ctx, rn.rule.ID, ts, nil, true)
}

// stopAll stops every runner and waits for it. The runners stay in
// e.runners so that Status still reports them; the next Run restarts them.
func (e *Engine) stopAll(ctx context.Context) {
	e.mu.Lock()
	runners := make([]*runner, 0, len(e.runners))
	for _, rn := range e.runners {
		runners = append(runners, rn)
	}
	e.mu.Unlock()
	for _, rn := range runners {
		rn.cancel()
		<-rn.done
	}
}

// stopped reports whether the runner's goroutine has returned.
func (rn *runner) stopped() bool {
	select {
	case <-rn.done:
		return true
	default:
		return false
	}
}

// slotOffset is the rule's deterministic jitter within its interval.
func slotOffset(r *Rule) time.Duration {
	h := fnv.New64a()
	h.Write([]byte(r.ID))
	return time.Duration(h.Sum64() % uint64(r.Interval))
}

// slotAtOrBefore returns the rule's latest evaluation slot at or before t.
func slotAtOrBefore(r *Rule, t time.Time) time.Time {
	off := slotOffset(r)
	n := t.UnixNano() - int64(off)
	iv := int64(r.Interval)
	k := n / iv
	if n < 0 && n%iv != 0 {
		k--
	}
	return time.Unix(0, k*iv+int64(off)).UTC()
}

// runRule loads the rule's state and evaluates it at each of its slots
// until ctx ends.
func (e *Engine) runRule(ctx context.Context, rn *runner) {
	r := &rn.rule
	var next time.Time
	if e.opts.RuleStore != nil {
		st, err := e.opts.RuleStore.RuleState(ctx, r.ID)
		switch {
		case errors.Is(err, state.ErrNotFound):
		case err != nil:
			e.log.Error("load rule state; starting afresh", "rule", r.ID, "err", err)
		default:
			rn.mu.Lock()
			if err := rn.machine.restore(st); err != nil {
				e.log.Error("restore rule state; starting afresh", "rule", r.ID, "err", err)
				rn.machine = newMachine(r)
			}
			rn.lastEval = st.LastEval
			rn.mu.Unlock()
			if !st.LastEval.IsZero() {
				next = slotAtOrBefore(r, st.LastEval).Add(r.Interval)
			}
		}
	}
	if next.IsZero() {
		next = slotAtOrBefore(r, e.now())
		if next.Before(e.now()) {
			next = next.Add(r.Interval)
		}
	}
	timer := time.NewTimer(0)
	defer timer.Stop()
	<-timer.C
	for {
		if wait := next.Sub(e.now()); wait > 0 {
			timer.Reset(wait)
			select {
			case <-ctx.Done():
				return
			case <-timer.C:
			}
		}
		if ctx.Err() != nil {
			return
		}
		latest := slotAtOrBefore(r, e.now())
		if behind := int64(latest.Sub(next) / r.Interval); behind > int64(e.opts.MaxCatchUp) {
			skip := behind - int64(e.opts.MaxCatchUp)
			e.metrics.missed.WithLabelValues(r.ID).Add(float64(skip))
			rn.mu.Lock()
			rn.missed += skip
			rn.mu.Unlock()
			e.log.Warn("rule evaluations missed", "rule", r.ID, "missed", skip, "from", next)
			next = next.Add(time.Duration(skip) * r.Interval)
		}
		select {
		case e.sem <- struct{}{}:
		case <-ctx.Done():
			return
		}
		e.evaluate(ctx, rn, next)
		<-e.sem
		next = next.Add(r.Interval)
	}
}

// evaluate runs one evaluation at ts, persists the state and delivers.
func (e *Engine) evaluate(ctx context.Context, rn *runner, ts time.Time) {
	r := &rn.rule
	start := time.Now()
	rows, err := e.rows(ctx, r, ts)
	if ctx.Err() != nil {
		return // shutting down: neither a failure nor an evaluation
	}
	rn.mu.Lock()
	var alerts []Alert
	if err == nil {
		alerts, err = rn.machine.step(ts, rows)
	}
	elapsed := time.Since(start)
	rn.lastEval, rn.lastDuration = ts, elapsed
	if err != nil {
		rn.health, rn.lastErr = HealthUnhealthy, err.Error()
	} else {
		rn.health, rn.lastErr = HealthOK, ""
	}
	st, saveErr := rn.machine.save(ts)
	counts := rn.machine.counts()
	rn.mu.Unlock()

	e.metrics.duration.WithLabelValues(r.ID).Observe(elapsed.Seconds())
	e.metrics.evals.WithLabelValues(r.ID).Inc()
	for s, n := range counts {
		e.metrics.alerts.WithLabelValues(r.ID, string(s)).Set(float64(n))
	}
	if err != nil {
		e.metrics.failures.WithLabelValues(r.ID).Inc()
		e.log.Warn("rule evaluation failed", "rule", r.ID, "at", ts, "err", err)
	}
	if saveErr == nil && e.opts.RuleStore != nil {
		saveErr = e.opts.RuleStore.SaveRuleState(ctx, st)
	}
	if saveErr != nil {
		e.log.Error("save rule state", "rule", r.ID, "err", saveErr)
	}
	e.setHealth(ctx, r.ID, ts, err, false)
	if err == nil && e.deliver(ctx, r.ID, alerts) {
		rn.mu.Lock()
		rn.machine.markSent(alerts)
		st, saveErr = rn.machine.save(ts)
		rn.mu.Unlock()
		if saveErr == nil && e.opts.RuleStore != nil && hasResolved(alerts) {
			saveErr = e.opts.RuleStore.SaveRuleState(ctx, st)
		}
		if saveErr != nil {
			e.log.Error("save rule state", "rule", r.ID, "err", saveErr)
		}
	}
}

func hasResolved(alerts []Alert) bool {
	for _, a := range alerts {
		if a.State == StateResolved {
			return true
		}
	}
	return false
}

// rows fetches one evaluation's rows.
func (e *Engine) rows(ctx context.Context, r *Rule, ts time.Time) ([]Row, error) {
	if r.Source == SourceAPIMapEvent {
		return evalEvents(ctx, e.opts.MapStore, r, ts)
	}
	timeout := e.opts.QueryTimeout
	if timeout <= 0 {
		timeout = min(r.Interval, time.Minute)
	}
	q, rr, err := rewrite(e.opts.Querier, r, e.opts.Rewrite)
	if err != nil {
		return nil, err
	}
	at := ts.Add(-e.opts.QueryOffset)
	cached, err := e.reads.source(ctx, r, rr, at)
	if err != nil {
		e.log.Warn("copy the rows a rule reads; it reads the store", "rule", r.ID, "err", err)
	}
	return evalSQL(ctx, q, cached, at, timeout)
}

// deliver hands alerts to the sink and reports whether they reached it.
func (e *Engine) deliver(ctx context.Context, ruleID string, alerts []Alert) bool {
	if len(alerts) == 0 || e.opts.Sink == nil {
		return true
	}
	if err := e.opts.Sink.Deliver(ctx, alerts); err != nil {
		e.metrics.deliveryFailures.Inc()
		e.log.Error("deliver alerts", "rule", ruleID, "alerts", len(alerts), "err", err)
		return false
	}
	return true
}

// setHealth moves the rule-health instance of ruleID: firing while the
// rule fails (err != nil), resolved once it succeeds or is removed.
func (e *Engine) setHealth(ctx context.Context, ruleID string, ts time.Time, evalErr error, removed bool) {
	e.healthMu.Lock()
	m := e.health
	labels := map[string]string{"rule": ruleID, LabelAlertName: RuleHealthID, LabelSeverity: string(SeverityMedium)}
	fp := fingerprint(RuleHealthID, labels)
	in, ok := m.instances[fp]
	var out []Alert
	switch {
	case evalErr != nil && !removed:
		if !ok || in.State != StateFiring {
			in = &instance{Fingerprint: fp, State: StateFiring, ActiveAt: ts, FiredAt: ts}
			m.instances[fp] = in
		}
		in.Labels, in.LastMatchAt = labels, ts
		in.Values = map[string]any{}
		in.Annotations = m.rule.expand(map[string]any{"rule": ruleID, "error": evalErr.Error()})
		out = append(out, m.alert(in, ts))
	case ok && in.State == StateFiring:
		in.State, in.ResolvedAt = StateResolved, ts
		out = append(out, m.alert(in, ts))
		delete(m.instances, fp)
	}
	e.healthMu.Unlock()
	e.deliver(ctx, RuleHealthID, out)
}

// RuleStatus is one rule's evaluation status.
type RuleStatus struct {
	Rule   Rule   `json:"-"`
	RuleID string `json:"rule_id"`
	Health Health `json:"health"`
	// LastError is the last evaluation's error, empty when it succeeded.
	LastError    string        `json:"last_error,omitempty"`
	LastEval     time.Time     `json:"last_eval,omitzero"`
	LastDuration time.Duration `json:"last_duration_ns"`
	// Missed counts the evaluations skipped since the engine started.
	Missed int64 `json:"missed"`
	// Instances are the rule's pending, firing and resolved instances.
	Instances []Alert `json:"instances"`
}

// Status returns every rule's status, ordered by rule id. Rules set but not
// running yet (before Run) report health unknown.
func (e *Engine) Status() []RuleStatus {
	e.mu.Lock()
	rules := e.rules
	runners := make(map[string]*runner, len(e.runners))
	for id, rn := range e.runners {
		runners[id] = rn
	}
	e.mu.Unlock()
	out := make([]RuleStatus, 0, len(rules))
	for id, r := range rules {
		st := RuleStatus{Rule: r, RuleID: id, Health: HealthUnknown, Instances: []Alert{}}
		if rn, ok := runners[id]; ok {
			rn.mu.Lock()
			st.Health, st.LastError, st.LastEval, st.LastDuration, st.Missed = rn.health, rn.lastErr, rn.lastEval, rn.lastDuration, rn.missed
			st.Instances = rn.machine.active(rn.lastEval)
			rn.mu.Unlock()
		}
		out = append(out, st)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].RuleID < out[j].RuleID })
	return out
}

// metrics are the engine's Prometheus metrics.
type metrics struct {
	duration         *prometheus.HistogramVec
	evals            *prometheus.CounterVec
	failures         *prometheus.CounterVec
	missed           *prometheus.CounterVec
	alerts           *prometheus.GaugeVec
	deliveryFailures prometheus.Counter
}

func newMetrics(reg prometheus.Registerer) (*metrics, error) {
	m := &metrics{
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "tracehound_rule_evaluation_seconds", Help: "Time taken by one rule evaluation.",
			Buckets: []float64{.005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30},
		}, []string{"rule_id"}),
		evals: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "tracehound_rule_evaluations_total", Help: "Rule evaluations run.",
		}, []string{"rule_id"}),
		failures: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "tracehound_rule_evaluation_failures_total", Help: "Rule evaluations that failed.",
		}, []string{"rule_id"}),
		missed: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "tracehound_rule_missed_evaluations_total", Help: "Rule evaluations skipped because the engine was down or behind.",
		}, []string{"rule_id"}),
		alerts: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "tracehound_rule_alerts", Help: "Alert instances per rule and state.",
		}, []string{"rule_id", "state"}),
		deliveryFailures: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "tracehound_rule_delivery_failures_total", Help: "Deliveries of alerts to the sink that failed.",
		}),
	}
	if reg != nil {
		for _, c := range []prometheus.Collector{m.duration, m.evals, m.failures, m.missed, m.alerts, m.deliveryFailures} {
			if err := reg.Register(c); err != nil {
				return nil, fmt.Errorf("register alert metrics: %w", err)
			}
		}
	}
	return m, nil
}

// forget drops a removed rule's series.
func (m *metrics) forget(ruleID string) {
	l := prometheus.Labels{"rule_id": ruleID}
	m.duration.DeletePartialMatch(l)
	m.evals.DeletePartialMatch(l)
	m.failures.DeletePartialMatch(l)
	m.missed.DeletePartialMatch(l)
	m.alerts.DeletePartialMatch(l)
}
