package alert

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/tracehound/tracehound/sqlguard"
	"github.com/tracehound/tracehound/store"
)

// BacktestOptions bound a backtest.
type BacktestOptions struct {
	// From and To bound the evaluation times, both included; From is
	// rounded up to a whole Step.
	From, To time.Time
	// Step is the time between evaluations; default the rule's interval.
	Step time.Duration
	// IncidentStart, when set, is when the incident the rule should have
	// caught began; the result then has the detection gap.
	IncidentStart time.Time
	// BatchSteps is how many evaluations one query covers; default 1440
	// (a day at one-minute steps). 1 evaluates step by step.
	BatchSteps int
	// Method forces a method: "sliding" (an error for rules of another
	// shape), "batched" or "per-step"; empty picks the fastest.
	Method string
	// QueryTimeout bounds each query; default 5 minutes.
	QueryTimeout time.Duration
	// Progress, when set, is called after each query with the evaluations
	// done so far and the total.
	Progress func(done, total int)
	// Rewrite, when set, gives the SQL the rule is replayed with (the
	// exclusions a dry run compares); it is called once.
	Rewrite Rewriter
	// Cache, when set, keeps the rows of each evaluation: a later
	// backtest of the same rule at the same step evaluates only the steps
	// the cache lacks or whose spans changed since (see StepCache). It
	// applies when Method is empty. A result from the cache shares its
	// slices with other backtests': treat it as read-only.
	Cache *StepCache
	// CachedOnly takes every step from Cache and evaluates none: the
	// backtest fails with ErrNotCached when the cache lacks one.
	CachedOnly bool
	// KeepValues, when set, keeps at each step only the rows whose value
	// of each named column, as text, is in that column's set: a dry run
	// takes a few groups' rows from a whole replay.
	KeepValues map[string]map[string]bool
}

// ErrNotCached reports a backtest with CachedOnly whose steps the cache
// does not all hold.
var ErrNotCached = errors.New("the replay cache does not hold every step")

// Firing is one alert instance that fired during a backtest.
type Firing struct {
	Fingerprint string            `json:"fingerprint"`
	Labels      map[string]string `json:"labels"`
	Annotations map[string]string `json:"annotations"`
	ActiveAt    time.Time         `json:"active_at"`
	StartedAt   time.Time         `json:"started_at"`
	// ResolvedAt is zero when the instance was still firing at To.
	ResolvedAt time.Time `json:"resolved_at,omitzero"`
	// Values are the row's values when it started firing.
	Values map[string]any `json:"values"`
}

// DayCount counts a backtest's firings and notifications per UTC day.
type DayCount struct {
	Day           string `json:"day"` // 2006-01-02
	Firings       int    `json:"firings"`
	Notifications int    `json:"notifications"`
}

// BacktestResult is what a rule would have done over history.
type BacktestResult struct {
	RuleID      string        `json:"rule_id"`
	From        time.Time     `json:"from"`
	To          time.Time     `json:"to"`
	Step        time.Duration `json:"step_ns"`
	Evaluations int           `json:"evaluations"`
	// Queries is how many queries ran. Method is how the steps were
	// evaluated: "sliding" (the rule's window slid over per-step panes in
	// one scan), "batched" (many steps per query) or "per-step"; Batched
	// is false for per-step, which runs when the store refused the other
	// forms or one query per step proved faster for this rule.
	// FallbackReason says why a faster method was not used.
	Queries        int    `json:"queries"`
	Method         string `json:"method"`
	Batched        bool   `json:"batched"`
	FallbackReason string `json:"fallback_reason,omitempty"`
	// Firings are in the order they started.
	Firings []Firing `json:"firings"`
	// Notifications counts what a receiver would be told once deduplicated:
	// one per instance that starts firing and one per resolution.
	Notifications int        `json:"notifications"`
	PerDay        []DayCount `json:"per_day"`
	// MaxRows is the most result rows one evaluation returned.
	MaxRows int `json:"max_rows"`
	// CachedSteps counts the evaluations whose rows came from the cache
	// (BacktestOptions.Cache).
	CachedSteps int `json:"cached_steps,omitempty"`
	// Cost is what evaluating every step took, the cached ones at what
	// they took when they were computed.
	Cost time.Duration `json:"-"`
	// FirstFiring is zero when the rule never fired.
	FirstFiring time.Time `json:"first_firing,omitzero"`
	// IncidentStart echoes the option; DetectionGap is FirstFiring minus
	// IncidentStart, set only when both are (negative: it fired before).
	IncidentStart time.Time     `json:"incident_start,omitzero"`
	DetectionGap  time.Duration `json:"detection_gap_ns,omitempty"`
	Elapsed       time.Duration `json:"elapsed_ns"`
}

// Backtest replays rule over history at its interval through the same
// state machine as the engine and reports what it would have fired.
// On stores that accept it (DuckDB), many steps run in one query: the
// rule's now() becomes a column of evaluation times joined LATERAL to the
// rule. Other stores, and rules for which a probe shows separate queries
// to be faster, run one query per step.
func Backtest(ctx context.Context, q store.Querier, rule Rule, opts BacktestOptions) (BacktestResult, error) {
	start := time.Now()
	if err := rule.Validate(); err != nil {
		return BacktestResult{}, err
	}
	if rule.Source != SourceSQL {
		return BacktestResult{}, fmt.Errorf("backtest rule %q: only SQL rules can be replayed over history (source %s)", rule.ID, rule.Source)
	}
	if opts.Step <= 0 {
		opts.Step = rule.Interval
	}
	if opts.To.Before(opts.From) {
		return BacktestResult{}, fmt.Errorf("backtest rule %q: to %v is before from %v", rule.ID, opts.To, opts.From)
	}
	switch opts.Method {
	case "", methodSliding, methodBatched:
	case methodPerStep:
		opts.BatchSteps = 1
	default:
		return BacktestResult{}, fmt.Errorf("backtest rule %q: unknown method %q (sliding, batched or per-step)", rule.ID, opts.Method)
	}
	steps := stepTimes(opts.From, opts.To, opts.Step)
	if len(steps) > 1_000_000 {
		return BacktestResult{}, fmt.Errorf("backtest rule %q: %d steps is too many; use a longer step or a shorter range", rule.ID, len(steps))
	}
	q, replayed, err := rewrite(q, &rule, opts.Rewrite)
	if err != nil {
		return BacktestResult{}, err
	}
	res := BacktestResult{RuleID: rule.ID, From: opts.From, To: opts.To, Step: opts.Step, IncidentStart: opts.IncidentStart, Firings: []Firing{}, PerDay: []DayCount{}}
	m := newMachine(&rule)
	m.changesOnly = true
	firingIdx := map[string]int{}
	days := map[string]*DayCount{}
	day := func(t time.Time) *DayCount {
		k := t.UTC().Format("2006-01-02")
		if days[k] == nil {
			days[k] = &DayCount{Day: k}
		}
		return days[k]
	}
	step := func(ts time.Time, rows []Row) error {
		if opts.KeepValues != nil {
			rows = slices.DeleteFunc(slices.Clone(rows), func(r Row) bool { return !keepRow(opts.KeepValues, r.cols()) })
		}
		alerts, err := m.step(ts, rows)
		if err != nil {
			return fmt.Errorf("at %s: %w", ts.Format(time.RFC3339), err)
		}
		res.Evaluations++
		res.MaxRows = max(res.MaxRows, len(rows))
		for _, a := range alerts {
			switch {
			case a.State == StateFiring && a.StartsAt.Equal(ts):
				firingIdx[a.Fingerprint] = len(res.Firings)
				res.Firings = append(res.Firings, Firing{Fingerprint: a.Fingerprint, Labels: a.Labels, Annotations: a.Annotations,
					ActiveAt: a.ActiveAt, StartedAt: ts, Values: a.Values})
				res.Notifications++
				d := day(ts)
				d.Firings++
				d.Notifications++
				if res.FirstFiring.IsZero() {
					res.FirstFiring = ts
				}
			case a.State == StateResolved:
				if i, ok := firingIdx[a.Fingerprint]; ok {
					res.Firings[i].ResolvedAt = ts
					delete(firingIdx, a.Fingerprint)
				}
				res.Notifications++
				day(ts).Notifications++
			}
		}
		m.markSent(alerts)
		return nil
	}
	var cached cachedRows
	ok := false
	if opts.Cache != nil && opts.Method == "" {
		rk := resultKey(&rule, steps, opts)
		if cached, ok, err = opts.Cache.cachedReplay(ctx, q, &rule, replayed, steps, opts, rk); ok {
			if cached.result != nil {
				// Every step came from the cache, and so did the replay
				// of the state machine over them.
				out := *cached.result
				out.Queries, out.CachedSteps, out.Elapsed = 0, out.Evaluations, time.Since(start)
				if opts.Progress != nil {
					opts.Progress(len(steps), len(steps))
				}
				return out, nil
			}
			res.Method, res.Queries, res.FallbackReason, res.CachedSteps = cached.method, cached.queries, cached.reason, cached.cached
			res.Batched = res.Method != methodPerStep
			if err != nil {
				return res, fmt.Errorf("backtest rule %q: %w", rule.ID, err)
			}
			for i, ts := range steps {
				if err := step(ts, cached.rows[i]); err != nil {
					return res, fmt.Errorf("backtest rule %q: %w", rule.ID, err)
				}
			}
			res.Cost = cached.cost
		}
	}
	if !ok && opts.CachedOnly {
		return res, fmt.Errorf("backtest rule %q: %w", rule.ID, ErrNotCached)
	}
	if !ok {
		start := time.Now()
		method, queries, reason, err := replay(ctx, q, replayed, steps, opts, step)
		res.Method, res.Batched, res.Queries, res.FallbackReason = method, method != methodPerStep, queries, reason
		if err != nil {
			return res, fmt.Errorf("backtest rule %q: %w", rule.ID, err)
		}
		res.Cost = time.Since(start)
	}
	for _, d := range days {
		res.PerDay = append(res.PerDay, *d)
	}
	sort.Slice(res.PerDay, func(i, j int) bool { return res.PerDay[i].Day < res.PerDay[j].Day })
	if !res.FirstFiring.IsZero() && !opts.IncidentStart.IsZero() {
		res.DetectionGap = res.FirstFiring.Sub(opts.IncidentStart)
	}
	res.Elapsed = time.Since(start)
	if cached.keep != nil {
		cached.keep(res)
	}
	return res, nil
}

// keepRow reports whether a row's columns have, for each column of keep,
// a value whose text is in its set.
func keepRow(keep map[string]map[string]bool, columns map[string]any) bool {
	for c, set := range keep {
		v, ok := columns[c]
		if !ok || v == nil || !set[fmt.Sprint(v)] {
			return false
		}
	}
	return true
}

// stepTimes returns the evaluation times from from (rounded up to a whole
// step) to to.
func stepTimes(from, to time.Time, step time.Duration) []time.Time {
	first := from.UTC().Truncate(step)
	if first.Before(from) {
		first = first.Add(step)
	}
	var out []time.Time
	for t := first; !t.After(to); t = t.Add(step) {
		out = append(out, t)
	}
	return out
}

// probeSteps is the size of the first batched query, whose time per step
// is compared with that of one step on its own to choose the faster way.
const probeSteps = 30

// stepColumn names the evaluation-time column of a batched query.
const stepColumn = "__th_eval_time"

// The methods of a backtest.
const (
	methodSliding = "sliding"
	methodBatched = "batched"
	methodPerStep = "per-step"
)

// replay evaluates r at every step, in order, calling fn with each step's
// rows (nil when none). A rule of the single-window shape (see
// sliding.go) is replayed in one sliding scan; others go to replayBatched.
func replay(ctx context.Context, q store.Querier, r *Rule, steps []time.Time, opts BacktestOptions, fn func(time.Time, []Row) error) (method string, queries int, reason string, err error) {
	method, queries, reason, done, err := replaySliding(ctx, q, r, steps, opts, fn)
	if method != "" || err != nil {
		return method, queries, reason, err
	}
	// The steps the sliding replay passed on before it gave up are done.
	if opts.Progress != nil && done > 0 {
		progress := opts.Progress
		opts.Progress = func(d, n int) { progress(done+d, done+n) }
	}
	batched, more, batchReason, err := replayBatched(ctx, q, r, steps[done:], opts, fn)
	queries += more
	if batchReason != "" {
		reason = strings.TrimPrefix(reason+"; "+batchReason, "; ")
	}
	method = methodPerStep
	if batched {
		method = methodBatched
	}
	return method, queries, reason, err
}

// replaySliding replays r with sliding panes when its shape allows; it
// returns an empty method, and why in reason, when it did not, with the
// steps it passed to fn before it gave up.
func replaySliding(ctx context.Context, q store.Querier, r *Rule, steps []time.Time, opts BacktestOptions, fn func(time.Time, []Row) error) (method string, queries int, reason string, done int, err error) {
	if opts.BatchSteps == 1 || opts.Method == methodBatched || len(steps) < 2 && opts.Method != methodSliding {
		return "", 0, "", 0, nil
	}
	var semi *semiSliding
	if _, err := sqlguard.ParseWindowed(r.SQL); err != nil {
		var serr error
		if semi, serr = planSemiSliding(q, r); serr != nil {
			if opts.Method == methodSliding {
				return "", 0, "", 0, fmt.Errorf("%w: %v", errNotSliding, err)
			}
			return "", 0, "", 0, nil
		}
		q, r = semi.q, &semi.rule
	}
	timeout := opts.QueryTimeout
	if timeout <= 0 {
		timeout = 5 * time.Minute
	}
	if opts.Progress != nil {
		opts.Progress(0, len(steps))
	}
	// The state machine takes each part's rows as it is replayed, unless
	// the subqueries are still to be applied to all of them.
	var emit func([][]Row) error
	var fnErr error
	if semi == nil {
		emit = func(part [][]Row) error {
			for _, rows := range part {
				if fnErr = fn(steps[done], rows); fnErr != nil {
					return fnErr
				}
				done++
			}
			if opts.Progress != nil {
				opts.Progress(done, len(steps))
			}
			return nil
		}
	}
	rows, queries, err := evalSliding(ctx, q, r, steps, opts.Step, timeout, emit)
	if err == nil && semi != nil {
		var more int
		more, err = semi.filter(ctx, steps, rows, timeout)
		queries += more
	}
	switch {
	case err == nil:
	case fnErr != nil:
		return methodSliding, queries, "", done, fnErr
	case opts.Method == methodSliding:
		return "", queries, "", done, err
	case errors.Is(err, errNotSliding):
		return "", queries, "", done, nil
	case semi != nil && errors.Is(err, errRowLimit):
		// The rule without its subqueries matched too many groups at a
		// step; the batched replay applies them in the query.
		return "", queries, "sliding: " + err.Error(), done, nil
	case ctx.Err() == nil && (errors.Is(err, context.DeadlineExceeded) || errors.Is(err, store.ErrQuery) || isOutOfMemory(err)):
		return "", queries, "sliding: " + err.Error(), done, nil
	default:
		return "", queries, "", done, err
	}
	if semi != nil {
		for i, ts := range steps {
			if err := fn(ts, rows[i]); err != nil {
				return methodSliding, queries, "", i, err
			}
		}
		done = len(steps)
	}
	if opts.Progress != nil {
		opts.Progress(len(steps), len(steps))
	}
	return methodSliding, queries, "", done, nil
}

// replayBatched evaluates r at every step, in order, calling fn with each
// step's rows (nil when none). It batches steps into LATERAL queries when
// that is faster: it times the first step on its own, then a probe batch
// bounded to twice the cost of running its steps separately, and runs the
// rest the faster way. Stores that refuse the batched form, and rules that
// look far back (a day of baseline for a five-minute window decorrelates
// into joins that cost more per step), run one query per step.
func replayBatched(ctx context.Context, q store.Querier, r *Rule, steps []time.Time, opts BacktestOptions, fn func(time.Time, []Row) error) (batched bool, queries int, reason string, err error) {
	batch := opts.BatchSteps
	if batch <= 0 {
		batch = 1440
	}
	timeout := opts.QueryTimeout
	if timeout <= 0 {
		timeout = 5 * time.Minute
	}
	batched = batch > 1
	done := 0
	progress := func(force bool) {
		if opts.Progress != nil && (force || done%60 == 0 || done == len(steps)) {
			opts.Progress(done, len(steps))
		}
	}
	single := func(i int) (time.Duration, error) {
		began := time.Now()
		rows, err := evalSQL(ctx, q, r, steps[i], timeout)
		queries++
		if err != nil {
			return 0, fmt.Errorf("at %s: %w", steps[i].Format(time.RFC3339), err)
		}
		if err := fn(steps[i], rows); err != nil {
			return 0, err
		}
		done++
		return time.Since(began), nil
	}
	runBatch := func(chunk []time.Time, timeout time.Duration) error {
		byStep, err := evalBatch(ctx, q, r, chunk, timeout)
		queries++
		if err != nil {
			return err
		}
		for _, ts := range chunk {
			if err := fn(ts, byStep[ts.UnixNano()]); err != nil {
				return err
			}
		}
		done += len(chunk)
		progress(true)
		return nil
	}
	i := 0
	if batched && len(steps) > 1 {
		one, err := single(0)
		if err != nil {
			return batched, queries, reason, err
		}
		i = 1
		chunk := steps[1:min(1+probeSteps, len(steps))]
		limit := max(2*time.Duration(len(chunk))*one, 2*time.Second)
		began := time.Now()
		switch err := runBatch(chunk, min(limit, timeout)); {
		case err == nil:
			i += len(chunk)
			if perStep := time.Since(began) / time.Duration(len(chunk)); one < perStep {
				batched, reason = false, fmt.Sprintf("one query per step (%v) is faster than batched (%v a step)", one.Round(time.Millisecond), perStep.Round(time.Millisecond))
			}
		case ctx.Err() == nil && (errors.Is(err, context.DeadlineExceeded) || errors.Is(err, store.ErrQuery)):
			batched, reason = false, "batched probe: "+err.Error()
		default:
			return batched, queries, reason, err
		}
	}
	for i < len(steps) {
		if !batched {
			if _, err := single(i); err != nil {
				return batched, queries, reason, err
			}
			i++
			progress(false)
			continue
		}
		chunk := steps[i:min(i+batch, len(steps))]
		if err := runBatch(chunk, timeout); err != nil {
			// A day of steps can hold more rows than the store's memory
			// limit allows for rules that look back far: retry the same
			// steps in smaller batches, down to one query a step.
			if ctx.Err() == nil && isOutOfMemory(err) && batch > 1 {
				batch = max(batch/8, 1)
				batched = batch > 1
				reason = fmt.Sprintf("the store ran out of memory on a batch; continued with %d step(s) a query", batch)
				continue
			}
			return batched, queries, reason, err
		}
		i += len(chunk)
	}
	return batched, queries, reason, nil
}

// isOutOfMemory reports whether a query failed for lack of memory.
func isOutOfMemory(err error) bool {
	msg := strings.ToLower(err.Error())
	return strings.Contains(msg, "out of memory") || strings.Contains(msg, "memory limit")
}

// batchSQL is the rule evaluated at every time of steps in one query.
func batchSQL(r *Rule, steps []time.Time) (string, error) {
	rule, src := r.SQL, ""
	if f, ok := sqlguard.Shared(r.SQL); ok && len(steps) > 0 {
		// Every read of traces keeps only rows that pass f: read them
		// once, for all the steps, from a copy of just those rows. A
		// rule that reads a rare kind of request over a long window
		// (the admin endpoints of the last day) then scans its rows
		// once instead of once per step.
		var b strings.Builder
		fmt.Fprintf(&b, "WITH __th_src AS MATERIALIZED (SELECT * FROM traces WHERE timestamp >= %s", timeLiteral(steps[0].Add(-f.Lookback)))
		if f.Upto {
			fmt.Fprintf(&b, " AND timestamp <= %s", timeLiteral(steps[len(steps)-1]))
		}
		for _, c := range f.Conds {
			b.WriteString(" AND (" + c + ")")
		}
		b.WriteString(")\n")
		src = b.String()
		var renamed strings.Builder
		last := 0
		for _, at := range f.At {
			renamed.WriteString(rule[last:at])
			renamed.WriteString("__th_src")
			last = at + len("traces")
		}
		renamed.WriteString(rule[last:])
		rule = renamed.String()
	}
	inner, err := sqlguard.RewriteNow(rule, "__th_steps."+stepColumn)
	if err != nil {
		return "", err
	}
	var b strings.Builder
	b.WriteString(src)
	b.WriteString("SELECT __th_steps.")
	b.WriteString(stepColumn)
	b.WriteString(", __th_rule.* FROM (SELECT unnest([")
	for i, t := range steps {
		if i > 0 {
			b.WriteString(",")
		}
		fmt.Fprintf(&b, "toDateTime64('%s', 6, 'UTC')", t.UTC().Format("2006-01-02 15:04:05.000000"))
	}
	b.WriteString("]) AS ")
	b.WriteString(stepColumn)
	b.WriteString(") AS __th_steps, LATERAL (\n")
	b.WriteString(strings.TrimRight(strings.TrimSpace(inner), ";"))
	b.WriteString("\n) AS __th_rule")
	return b.String(), nil
}

// evalBatch runs the rule at every time of steps in one query and returns
// the rows by step (UnixNano).
func evalBatch(ctx context.Context, q store.Querier, r *Rule, steps []time.Time, timeout time.Duration) (map[int64][]Row, error) {
	sql, err := batchSQL(r, steps)
	if err != nil {
		return nil, err
	}
	res, err := q.Query(ctx, sql, store.QueryOptions{Timeout: timeout})
	if err != nil {
		return nil, err
	}
	if len(res.Columns) == 0 || res.Columns[0] != stepColumn {
		return nil, fmt.Errorf("%w: batched query returned columns %v", store.ErrQuery, res.Columns)
	}
	byStepRaw := map[int64][][]any{}
	for _, row := range res.Rows {
		ts, ok := row[0].(time.Time)
		if !ok {
			return nil, fmt.Errorf("batched query: evaluation time %v (%T) is not a time", row[0], row[0])
		}
		k := ts.UnixNano()
		byStepRaw[k] = append(byStepRaw[k], row[1:])
	}
	inner := &store.Result{Columns: res.Columns[1:], Types: nil}
	if len(res.Types) > 1 {
		inner.Types = res.Types[1:]
	}
	out := make(map[int64][]Row, len(byStepRaw))
	for k, rows := range byStepRaw {
		if len(rows) > r.limit() {
			return nil, fmt.Errorf("at %s: the query returned more than the rule's limit of %d rows", time.Unix(0, k).UTC().Format(time.RFC3339), r.limit())
		}
		inner.Rows = rows
		out[k], err = rowsFromResult(r, inner)
		if err != nil {
			return nil, err
		}
	}
	return out, nil
}
