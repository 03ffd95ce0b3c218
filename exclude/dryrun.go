package exclude

import (
	"cmp"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/tracehound/tracehound/alert"
	"github.com/tracehound/tracehound/store"
)

// DefaultWindow is how far back a dry run replays by default.
const DefaultWindow = 7 * 24 * time.Hour

// KnownAlert is a notification of the dry run's window that a person
// triaged as a true positive: they moved it to investigating or resolved
// it rather than closing it as a false positive.
type KnownAlert struct {
	NotificationID int64             `json:"notification_id"`
	RuleID         string            `json:"rule_id"`
	Fingerprint    string            `json:"fingerprint"`
	Labels         map[string]string `json:"labels"`
	StartsAt       time.Time         `json:"starts_at"`
	// EndsAt is when the alert resolved; zero while it fires.
	EndsAt time.Time `json:"ends_at,omitzero"`
	Status string    `json:"status"`
	Reason string    `json:"reason,omitempty"`
}

// Progress reports how far a dry run is.
type Progress struct {
	// Phase is "count" (scanning the excluded rows), "replay" or "done".
	Phase      string `json:"phase"`
	Rule       string `json:"rule,omitempty"`
	RulesDone  int    `json:"rules_done"`
	RulesTotal int    `json:"rules_total"`
	// StepsDone and StepsTotal count rule evaluations over every replay.
	StepsDone  int `json:"steps_done"`
	StepsTotal int `json:"steps_total"`
}

// BaselineCache keeps replays of rules by rule definition, predicate and
// window: the baselines, which do not change from one candidate to the
// next, and the replays with a candidate, which a true-positive check
// repeats when the candidate is applied.
type BaselineCache interface {
	Get(key string) (alert.BacktestResult, bool)
	Put(key string, r alert.BacktestResult)
}

// DryRunOptions configure DryRun.
type DryRunOptions struct {
	Querier store.Querier
	// Rules are the rules that run; those the candidate covers are
	// replayed (SQL rules only).
	Rules []alert.Rule
	// Active are the exclusions that apply now: each rule is replayed
	// with those covering it (the baseline), then with the candidate too.
	Active    []Exclusion
	Candidate Exclusion
	// From and To bound the replay (To defaults to now, From to
	// To - DefaultWindow).
	From, To time.Time
	Compile  CompileOptions
	// Known are the notifications triaged as true positives in the
	// window; those the candidate would suppress are flagged.
	Known []KnownAlert
	// IsMalicious, when set, rates addresses (from threat intelligence or
	// detection): suppressed alerts and excluded traffic from an address
	// it rates malicious are flagged.
	IsMalicious func(ip string) bool
	// Progress, when set, is called as the replays advance.
	Progress func(Progress)
	// Concurrency is how many rules replay at once; default 1. The
	// store runs each replay's scans on every core, but the replays'
	// window passes and state machines on one: on 2 cores, 10 rules'
	// week of baselines took 45 s one at a time and 37 s two at a time.
	Concurrency int
	// Baselines, when set and Steps is not, caches the replays.
	Baselines BaselineCache
	// Steps, when set, keeps the rows of the rules' evaluations: a dry
	// run replays only the steps that earlier ones did not, or whose
	// spans changed since (alert.StepCache).
	Steps *alert.StepCache
	// TopKeys is how many excluded keys of each kind are listed; default 10.
	TopKeys int
	// Pause, when set, is called by WarmBaselines before each rule's
	// replay; it may wait (while a dry run someone waits for runs: the
	// two would share the cores and the store's memory) and returns an
	// error to stop the warming.
	Pause func(context.Context) error
	// Step, when set, replaces the rules' intervals as the replay step.
	Step time.Duration
}

// DryRunResult is what an exclusion would have done over the window.
type DryRunResult struct {
	Exclusion Exclusion `json:"exclusion"`
	From      time.Time `json:"from"`
	To        time.Time `json:"to"`
	// Rules are the rules the exclusion covers, with their effect.
	Rules []RuleEffect `json:"rules"`
	// NotificationsBefore and NotificationsAfter count the notifications
	// (firings and resolutions) of the covered rules without and with the
	// exclusion; Removed lists the firings that would disappear and Added
	// those that would appear (a smaller baseline can make a rule fire).
	NotificationsBefore int          `json:"notifications_before"`
	NotificationsAfter  int          `json:"notifications_after"`
	Removed             []FiringDiff `json:"removed"`
	Added               []FiringDiff `json:"added"`
	// RowsExcluded counts the server spans of the window the exclusion
	// matches; RowsTotal all the server spans of the window.
	RowsExcluded int64      `json:"rows_excluded"`
	RowsTotal    int64      `json:"rows_total"`
	TopKeys      []KeyCount `json:"top_excluded_keys"`
	PerDay       []DayDiff  `json:"per_day"`
	// SuppressedTruePositives are the notifications triaged as true
	// positives that would disappear, the disappearing alerts about
	// addresses rated malicious, and the excluded addresses rated
	// malicious. Applying an exclusion with any needs a forced reason.
	SuppressedTruePositives []Suppressed  `json:"suppressed_true_positives"`
	Warnings                []string      `json:"warnings,omitempty"`
	Elapsed                 time.Duration `json:"elapsed_ns"`
}

// RuleEffect is the exclusion's effect on one rule.
type RuleEffect struct {
	RuleID              string `json:"rule_id"`
	Name                string `json:"name"`
	Mode                string `json:"mode"`
	NotificationsBefore int    `json:"notifications_before"`
	NotificationsAfter  int    `json:"notifications_after"`
	FiringsRemoved      int    `json:"firings_removed"`
	FiringsAdded        int    `json:"firings_added"`
	// Skipped says why the rule was not replayed; Error why its replay
	// failed (its effect is unknown, and left out of the totals).
	Skipped string `json:"skipped,omitempty"`
	Error   string `json:"error,omitempty"`
	// Method is how the replays ran (see alert.BacktestResult), both
	// methods when they differ; Fallback why one left the fastest.
	Method string `json:"method,omitempty"`
	// GroupsReplayed, when set, is how many of the rule's groups the
	// candidate touches: only those were replayed with it (the others
	// replay as in the baseline); 0 when the whole rule was.
	GroupsReplayed int `json:"groups_replayed,omitempty"`
	// StepsCached and Steps count the baseline's evaluations taken from
	// earlier dry runs (DryRunOptions.Steps), and all of them.
	StepsCached int           `json:"steps_cached,omitempty"`
	Steps       int           `json:"steps,omitempty"`
	Fallback    string        `json:"fallback,omitempty"`
	Elapsed     time.Duration `json:"elapsed_ns"`
}

// FiringDiff is one alert firing that would disappear or appear.
type FiringDiff struct {
	RuleID      string            `json:"rule_id"`
	Mode        string            `json:"mode"`
	Fingerprint string            `json:"fingerprint"`
	Labels      map[string]string `json:"labels"`
	Summary     string            `json:"summary,omitempty"`
	StartedAt   time.Time         `json:"started_at"`
	ResolvedAt  time.Time         `json:"resolved_at,omitzero"`
}

// KeyCount is one of the most excluded values of a column.
type KeyCount struct {
	Key   string `json:"key"` // peer_ip, http_path, api_key_id or user_agent
	Value string `json:"value"`
	Rows  int64  `json:"rows"`
}

// DayDiff is one UTC day of the window.
type DayDiff struct {
	Day                 string `json:"day"`
	RowsExcluded        int64  `json:"rows_excluded"`
	NotificationsBefore int    `json:"notifications_before"`
	NotificationsAfter  int    `json:"notifications_after"`
}

// Reasons a suppression is flagged.
const (
	WhyTriaged       = "triaged_true_positive"
	WhyMaliciousIP   = "malicious_ip"
	WhyExcludesRated = "excludes_malicious_ip"
)

// Suppressed is a flagged suppression.
type Suppressed struct {
	Why            string            `json:"why"`
	RuleID         string            `json:"rule_id,omitempty"`
	Fingerprint    string            `json:"fingerprint,omitempty"`
	NotificationID int64             `json:"notification_id,omitempty"`
	Status         string            `json:"status,omitempty"`
	Reason         string            `json:"reason,omitempty"`
	Labels         map[string]string `json:"labels,omitempty"`
	StartedAt      time.Time         `json:"started_at,omitzero"`
	IP             string            `json:"ip,omitempty"`
}

// DryRun replays the rules the candidate covers over the window through
// alert.Backtest, once with the active exclusions (the baseline, which
// may come from opts.Baselines) and once with the candidate as well, and
// reports the difference: the notifications that disappear or appear, the
// rows the candidate matches per day and by key, and the flagged
// suppressions. Rules the candidate can change nothing in (it matches no
// span up to the window's end and within the rule's look-back) are not
// replayed.
func DryRun(ctx context.Context, opts DryRunOptions) (*DryRunResult, error) {
	began := time.Now()
	if opts.Querier == nil {
		return nil, errors.New("dry run: no querier")
	}
	if opts.To.IsZero() {
		opts.To = time.Now()
	}
	if opts.From.IsZero() {
		opts.From = opts.To.Add(-DefaultWindow)
	}
	if !opts.From.Before(opts.To) {
		return nil, invalidf("dry run window: from %s is not before to %s", opts.From.Format(time.RFC3339), opts.To.Format(time.RFC3339))
	}
	if opts.Concurrency <= 0 {
		opts.Concurrency = 1
	}
	if opts.TopKeys <= 0 {
		opts.TopKeys = 10
	}
	cand := opts.Candidate
	cand.Normalize()
	candPred, err := Compile(ctx, cand, opts.Compile)
	if err != nil {
		return nil, err
	}
	res := &DryRunResult{Exclusion: cand, From: opts.From.UTC(), To: opts.To.UTC(), Rules: []RuleEffect{}, Removed: []FiringDiff{},
		Added: []FiringDiff{}, TopKeys: []KeyCount{}, PerDay: []DayDiff{}, SuppressedTruePositives: []Suppressed{}}

	var rules []alert.Rule
	for _, r := range opts.Rules {
		if !cand.Scope.Covers(r.ID) {
			continue
		}
		if r.Source != alert.SourceSQL && r.Source != "" {
			res.Rules = append(res.Rules, RuleEffect{RuleID: r.ID, Name: r.Name, Mode: string(r.Mode),
				Skipped: "its rows come from " + r.Source + ", not from traces"})
			continue
		}
		rules = append(rules, r)
	}
	// The rules read back from each evaluation; the candidate changes a
	// rule only if it matches a span the rule can read.
	lookbackFrom := opts.From
	for _, r := range rules {
		lb, ok := lookback(r.SQL)
		if !ok {
			lookbackFrom = time.Time{}
			break
		}
		if t := opts.From.Add(-lb); t.Before(lookbackFrom) {
			lookbackFrom = t
		}
	}
	report := newProgressReporter(opts.Progress, len(rules))
	report.phase("count", "")
	baseline, warnings := baselines(ctx, opts.Active, cand.ID, opts.Compile)
	res.Warnings = append(res.Warnings, warnings...)
	// One scan of the spans the candidate matches, when they are few and
	// the rules' look-back is bounded; else a scan per question.
	var scan *candidateScan
	scanned := false
	if !lookbackFrom.IsZero() && deltaReplays {
		if scan, scanned, err = scanCandidate(ctx, opts.Querier, rules, baseline, candPred, opts.From, opts.To, lookbackFrom, opts.TopKeys); err != nil {
			return nil, err
		}
	}
	var counts excludedCounts
	if scanned {
		counts = scan.counts
	} else if counts, err = countExcluded(ctx, opts.Querier, candPred, opts.From, opts.To, lookbackFrom, opts.TopKeys); err != nil {
		return nil, err
	}
	res.RowsExcluded, res.RowsTotal, res.TopKeys = counts.rows, counts.total, counts.top
	days := map[string]*DayDiff{}
	day := func(k string) *DayDiff {
		if days[k] == nil {
			days[k] = &DayDiff{Day: k}
		}
		return days[k]
	}
	for k, n := range counts.perDay {
		day(k).RowsExcluded = n
	}

	// A step cache checks what the store's writes changed; a cache of
	// results does not, and would mix older replays with fresh ones.
	results := opts.Baselines
	if opts.Steps != nil {
		results = nil
	}
	effects := make([]RuleEffect, len(rules))
	type diff struct{ removed, added []FiringDiff }
	diffs := make([]diff, len(rules))
	befores := make([]alert.BacktestResult, len(rules))
	afters := make([]alert.BacktestResult, len(rules))
	var (
		wg       sync.WaitGroup
		sem      = make(chan struct{}, opts.Concurrency)
		errMu    sync.Mutex
		firstErr error
		failed   int // rules whose replay failed
	)
	fail := func(i int, err error, start time.Time) {
		errMu.Lock()
		firstErr = cmp.Or(firstErr, fmt.Errorf("dry run of rule %s: %w", rules[i].ID, err))
		failed++
		errMu.Unlock()
		effects[i].Error = err.Error()
		effects[i].Elapsed += time.Since(start)
		report.ruleDone(rules[i].ID)
	}
	// each runs f for every rule the candidate can change that has not
	// failed, opts.Concurrency at a time.
	each := func(f func(i int, r alert.Rule)) error {
		for i, r := range rules {
			if effects[i].Skipped != "" || effects[i].Error != "" {
				continue
			}
			wg.Add(1)
			go func() {
				defer wg.Done()
				select {
				case sem <- struct{}{}:
				case <-ctx.Done():
					return
				}
				defer func() { <-sem }()
				f(i, r)
			}()
		}
		wg.Wait()
		return ctx.Err()
	}
	for i, r := range rules {
		effects[i] = RuleEffect{RuleID: r.ID, Name: r.Name, Mode: string(r.Mode)}
		if lb, ok := lookback(r.SQL); counts.lastMatch.IsZero() || ok && !counts.lastMatch.After(opts.From.Add(-lb)) {
			effects[i].Skipped = "the exclusion matches no span the rule reads in the window"
			report.skip()
		}
	}
	// The baselines first (from the cache when warm): which groups fired
	// decides which touched groups can change.
	bos := make([]alert.BacktestOptions, len(rules))
	if err := each(func(i int, r alert.Rule) {
		start := time.Now()
		base := baseline(r.ID)
		bo := alert.BacktestOptions{From: opts.From, To: opts.To, Step: opts.Step, Cache: opts.Steps}
		bos[i] = bo
		key := baselineKey(r, base, bo)
		if results != nil {
			if before, cached := results.Get(key); cached {
				before.CachedSteps = before.Evaluations
				befores[i] = before
				effects[i].Elapsed = time.Since(start)
				return
			}
		}
		bo.Progress = report.steps(r.ID)
		bo.Rewrite = rewriterFor(base)
		before, err := alert.Backtest(ctx, opts.Querier, r, bo)
		if err != nil {
			fail(i, err, start)
			return
		}
		if results != nil {
			results.Put(key, before)
		}
		befores[i] = before
		effects[i].Elapsed = time.Since(start)
	}); err != nil {
		return nil, err
	}
	if scanned {
		for i, r := range rules {
			if rs := scan.rules[r.ID]; effects[i].Error == "" && rs.windowed {
				rs.touched = changeable(&r, rs.touched, befores[i].Firings)
				scan.rules[r.ID] = rs
			}
		}
	}
	// The touched groups' rows of the rules, copied once for the
	// group-wise replays.
	var copied *touchedCopy
	if scanned && deltaReplays {
		var preds []Predicate
		for i := range rules {
			p, err := ForRule(&rules[i], Or(baseline(rules[i].ID), candPred))
			if err != nil {
				return nil, err
			}
			preds = append(preds, p)
		}
		if copied, err = copyTouched(ctx, opts.Querier, rules, scan, opts.From, opts.To, preds); err != nil {
			return nil, err
		}
		if copied != nil {
			defer copied.drop()
		}
	}
	if err := each(func(i int, r alert.Rule) {
		start := time.Now()
		base, bo, before := baseline(r.ID), bos[i], befores[i]
		withCand := Or(base, candPred)
		akey := baselineKey(r, withCand, bo)
		after, cached := alert.BacktestResult{}, false
		if results != nil {
			after, cached = results.Get(akey)
		}
		if !cached {
			var groups int
			var rs *ruleScan
			if scanned {
				v := scan.rules[r.ID]
				rs = &v
			}
			var err error
			after, groups, err = replayWithCandidate(ctx, opts.Querier, r, bo, base, withCand, candPred, before, rs, copied, report)
			if err != nil {
				fail(i, err, start)
				return
			}
			effects[i].GroupsReplayed = groups
			if results != nil {
				results.Put(akey, after)
			}
		}
		afters[i] = after
		removed := firingsMissing(r, before.Firings, after.Firings, opts.To)
		added := firingsMissing(r, after.Firings, before.Firings, opts.To)
		diffs[i] = diff{removed, added}
		effects[i].NotificationsBefore, effects[i].NotificationsAfter = before.Notifications, after.Notifications
		effects[i].FiringsRemoved, effects[i].FiringsAdded = len(removed), len(added)
		effects[i].StepsCached, effects[i].Steps = before.CachedSteps, before.Evaluations
		effects[i].Method = before.Method
		if after.Method != before.Method {
			effects[i].Method += ", " + after.Method
		}
		effects[i].Fallback = strings.Join(slices.DeleteFunc([]string{before.FallbackReason, after.FallbackReason}, func(s string) bool { return s == "" }), "; ")
		effects[i].Elapsed += time.Since(start)
		report.ruleDone(r.ID)
	}); err != nil {
		return nil, err
	}
	// One rule that fails (a query past its row limit, say) leaves the
	// others' effects worth showing; when every replay failed, there is
	// nothing to show.
	replayed := 0
	for _, e := range effects {
		if e.Skipped == "" {
			replayed++
		}
	}
	if firstErr != nil && failed == replayed {
		return nil, firstErr
	}
	for i, r := range rules {
		res.Rules = append(res.Rules, effects[i])
		if effects[i].Error != "" {
			res.Warnings = append(res.Warnings, fmt.Sprintf("rule %s could not be replayed, so what the exclusion does to it is unknown: %s", r.ID, effects[i].Error))
			continue
		}
		res.NotificationsBefore += effects[i].NotificationsBefore
		res.NotificationsAfter += effects[i].NotificationsAfter
		res.Removed = append(res.Removed, diffs[i].removed...)
		res.Added = append(res.Added, diffs[i].added...)
		for _, d := range befores[i].PerDay {
			day(d.Day).NotificationsBefore += d.Notifications
		}
		for _, d := range afters[i].PerDay {
			day(d.Day).NotificationsAfter += d.Notifications
		}
		if effects[i].Skipped != "" {
			continue
		}
		for _, k := range opts.Known {
			if k.RuleID != r.ID {
				continue
			}
			if overlaps(r, befores[i].Firings, k, opts.To) && !overlaps(r, afters[i].Firings, k, opts.To) {
				res.SuppressedTruePositives = append(res.SuppressedTruePositives, Suppressed{Why: WhyTriaged, RuleID: k.RuleID,
					Fingerprint: k.Fingerprint, NotificationID: k.NotificationID, Status: k.Status, Reason: k.Reason,
					Labels: k.Labels, StartedAt: k.StartsAt, IP: k.Labels[alert.LabelIP]})
			}
		}
	}
	sort.Slice(res.Rules, func(i, j int) bool { return res.Rules[i].RuleID < res.Rules[j].RuleID })
	sortFirings(res.Removed)
	sortFirings(res.Added)
	for _, d := range days {
		res.PerDay = append(res.PerDay, *d)
	}
	sort.Slice(res.PerDay, func(i, j int) bool { return res.PerDay[i].Day < res.PerDay[j].Day })
	if opts.IsMalicious != nil {
		for _, f := range res.Removed {
			if ip := f.Labels[alert.LabelIP]; ip != "" && opts.IsMalicious(ip) {
				res.SuppressedTruePositives = append(res.SuppressedTruePositives, Suppressed{Why: WhyMaliciousIP, RuleID: f.RuleID,
					Fingerprint: f.Fingerprint, Labels: f.Labels, StartedAt: f.StartedAt, IP: ip})
			}
		}
		for _, k := range res.TopKeys {
			if k.Key == "peer_ip" && opts.IsMalicious(k.Value) {
				res.SuppressedTruePositives = append(res.SuppressedTruePositives, Suppressed{Why: WhyExcludesRated, IP: k.Value})
			}
		}
	}
	if res.RowsTotal > 0 && res.RowsExcluded*2 > res.RowsTotal {
		res.Warnings = append(res.Warnings, fmt.Sprintf("the exclusion matches %d of the window's %d server spans: more than half of the traffic", res.RowsExcluded, res.RowsTotal))
	}
	report.phase("done", "")
	res.Elapsed = time.Since(began)
	return res, nil
}

// baselines compiles the active exclusions, but the one of id skip (a
// candidate replaces its stored version), and returns the predicate of
// those that cover a rule: what the rule runs with now. An exclusion
// that does not compile is left out, with a warning.
func baselines(ctx context.Context, active []Exclusion, skip string, co CompileOptions) (func(ruleID string) Predicate, []string) {
	var warnings []string
	preds := make([]Predicate, len(active))
	for i, e := range active {
		if e.ID == skip {
			continue
		}
		var err error
		if preds[i], err = Compile(ctx, e, co); err != nil {
			warnings = append(warnings, fmt.Sprintf("active exclusion %s is left out of the baseline: %v", e.ID, err))
			preds[i] = Predicate{}
		}
	}
	return func(ruleID string) Predicate {
		var ps []Predicate
		for i, e := range active {
			if e.ID != skip && e.Scope.Covers(ruleID) {
				ps = append(ps, preds[i])
			}
		}
		return Or(ps...)
	}, warnings
}

// WarmBaselines replays, one after the other, every SQL rule of opts with
// the active exclusions that cover it over opts' window, into opts.Steps
// (or else opts.Baselines): the replays a dry run of any candidate starts
// from.
// With a step cache, each rule evaluates only the steps the cache lacks
// or whose spans changed. It returns how many steps it evaluated and
// how many came from the cache.
func WarmBaselines(ctx context.Context, opts DryRunOptions) (steps, cached int, err error) {
	baseline, _ := baselines(ctx, opts.Active, "", opts.Compile)
	var errs []error
	for _, r := range opts.Rules {
		if r.Source != alert.SourceSQL && r.Source != "" {
			continue
		}
		if opts.Pause != nil {
			if err := opts.Pause(ctx); err != nil {
				return steps, cached, err
			}
		}
		base := baseline(r.ID)
		bo := alert.BacktestOptions{From: opts.From, To: opts.To, Step: opts.Step, Cache: opts.Steps, Rewrite: rewriterFor(base)}
		res, err := alert.Backtest(ctx, opts.Querier, r, bo)
		if err != nil {
			if ctx.Err() != nil {
				return steps, cached, ctx.Err()
			}
			errs = append(errs, fmt.Errorf("rule %s: %w", r.ID, err))
			continue
		}
		steps += res.Evaluations
		cached += res.CachedSteps
		if opts.Baselines != nil && opts.Steps == nil {
			opts.Baselines.Put(baselineKey(r, base, bo), res)
		}
	}
	return steps, cached, errors.Join(errs...)
}

// rewriterFor filters the traces a rule reads with p and the rule's
// applications.
func rewriterFor(p Predicate) alert.Rewriter { return RuleRewriter(p) }

// replayWithCandidate replays r with the candidate (withCand: the
// baseline's exclusions and the candidate's predicate cand), given full,
// its baseline replay. A rule of the single-window shape replays only the
// groups the candidate touches (delta.go), whose number it returns; any
// other replays whole. rs, when set, is what the scan of the candidate's
// spans found of r; else replayWithCandidate looks for itself. copied,
// when set, holds the touched groups' rows the group-wise replays read.
func replayWithCandidate(ctx context.Context, q store.Querier, r alert.Rule, bo alert.BacktestOptions, base, withCand, cand Predicate,
	full alert.BacktestResult, rs *ruleScan, copied *touchedCopy, report *progressReporter) (alert.BacktestResult, int, error) {
	var t touched
	ok := false
	if rs != nil {
		t, ok = rs.touched, rs.windowed
		if ok && t.groups == 0 || !ok && rs.shared && rs.untouched {
			return full, 0, nil // the candidate removes no row the rule reads
		}
		// Replaying the touched groups costs a scan: more than a whole
		// replay of a cheap rule.
		ok = ok && full.Cost >= deltaMinReplay
	} else if full.Cost >= deltaMinReplay {
		var err error
		if t, ok, err = touchedGroups(ctx, q, &r, base, cand, bo.From, bo.To); err != nil {
			return alert.BacktestResult{}, 0, err
		}
		if ok {
			t = changeable(&r, t, full.Firings)
		}
		// A candidate that removes none of the rows a rule of another
		// shape reads leaves it as it is (touchedGroups tells for the
		// single-window shape, in the same scan).
		if !ok {
			if same, err := readsUntouched(ctx, q, &r, base, cand, bo.From, bo.To); err != nil {
				return alert.BacktestResult{}, 0, err
			} else if same {
				return full, 0, nil
			}
		}
	}
	if ok && t.groups == 0 {
		return full, 0, nil // the candidate removes no row the rule reads, or none of a group that fired
	}
	if ok {
		keep := t.keep()
		few := bo
		few.Cache = nil // replays of a few groups are cheap, and of this candidate only
		// Both replays read the copy of the touched groups' rows, if any.
		rq := q
		if copied != nil {
			fb, err := restrictedFilter(&r, base, keep)
			if err != nil {
				return alert.BacktestResult{}, 0, err
			}
			fa, err := restrictedFilter(&r, withCand, keep)
			if err != nil {
				return alert.BacktestResult{}, 0, err
			}
			rq = copied.reader(q, r.ID, fb.SQL, fa.SQL)
		}
		// The touched groups without the candidate: their rows in the
		// baseline's evaluations, when the cache holds them, else a replay.
		var before alert.BacktestResult
		err := alert.ErrNotCached
		if rows := t.rowFilter(); rows != nil && bo.Cache != nil {
			cached := bo
			cached.CachedOnly, cached.KeepValues, cached.Rewrite = true, rows, rewriterFor(base)
			before, err = alert.Backtest(ctx, q, r, cached)
		}
		if errors.Is(err, alert.ErrNotCached) {
			few.Progress = report.steps(r.ID)
			few.Rewrite = restrictedRewriter(base, keep)
			before, err = alert.Backtest(ctx, rq, r, few)
		}
		if err != nil {
			return alert.BacktestResult{}, 0, err
		}
		few.Progress = report.steps(r.ID)
		few.Rewrite = restrictedRewriter(withCand, keep)
		after, err := alert.Backtest(ctx, rq, r, few)
		if err != nil {
			return alert.BacktestResult{}, 0, err
		}
		// The full replay with the candidate could pass the rule's row
		// limit only if the touched groups' rows and the others' did.
		if full.MaxRows+after.MaxRows <= ruleLimit(r) {
			return splice(full, before, after), t.groups, nil
		}
	}
	bo.Progress = report.steps(r.ID)
	bo.Rewrite = rewriterFor(withCand)
	after, err := alert.Backtest(ctx, q, r, bo)
	return after, 0, err
}

// ruleLimit is the most rows an evaluation of r may return.
func ruleLimit(r alert.Rule) int { return cmp.Or(r.Limit, alert.DefaultLimit) }

// baselineKey identifies a baseline replay: the rule's definition, the
// baseline predicate and the evaluation times (windows that differ by
// less than a step evaluate at the same times).
func baselineKey(r alert.Rule, p Predicate, bo alert.BacktestOptions) string {
	step := cmp.Or(bo.Step, r.Interval)
	first, last := bo.From.Truncate(step), bo.To.Truncate(step)
	if first.Before(bo.From) {
		first = first.Add(step)
	}
	h := sha256.New()
	def, _ := json.Marshal([]any{r.ID, r.SQL, r.Interval, r.For, r.KeepFiringFor, r.Severity, r.Labels, r.Annotations,
		r.Limit, r.Mode, r.GroupBy, r.Applications, p.SQL, p.Args, first.UnixNano(), last.UnixNano(), step})
	h.Write(def)
	return hex.EncodeToString(h.Sum(nil))
}

// span is a firing's interval: until it resolved, or the window's end.
func firingSpan(f alert.Firing, to time.Time) (time.Time, time.Time) {
	end := f.ResolvedAt
	if end.IsZero() {
		end = to
	}
	return f.StartedAt, end
}

// firingsMissing returns the firings of a that no firing of b with the
// same fingerprint overlaps.
func firingsMissing(r alert.Rule, a, b []alert.Firing, to time.Time) []FiringDiff {
	byFP := map[string][]alert.Firing{}
	for _, f := range b {
		byFP[f.Fingerprint] = append(byFP[f.Fingerprint], f)
	}
	out := []FiringDiff{}
	for _, f := range a {
		s, e := firingSpan(f, to)
		found := false
		for _, g := range byFP[f.Fingerprint] {
			gs, ge := firingSpan(g, to)
			if !gs.After(e) && !s.After(ge) {
				found = true
				break
			}
		}
		if !found {
			out = append(out, FiringDiff{RuleID: r.ID, Mode: string(r.Mode), Fingerprint: f.Fingerprint, Labels: f.Labels,
				Summary: f.Annotations["summary"], StartedAt: f.StartedAt, ResolvedAt: f.ResolvedAt})
		}
	}
	return out
}

// overlaps reports whether a firing of fs has k's fingerprint and overlaps
// its interval, widened by the rule's interval on each side: the live
// engine evaluates at jittered slots, a replay on the step grid.
func overlaps(r alert.Rule, fs []alert.Firing, k KnownAlert, to time.Time) bool {
	slack := max(r.Interval, time.Minute)
	ks, ke := k.StartsAt.Add(-slack), k.EndsAt
	if ke.IsZero() {
		ke = to
	}
	ke = ke.Add(slack)
	for _, f := range fs {
		if f.Fingerprint != k.Fingerprint {
			continue
		}
		s, e := firingSpan(f, to)
		if !s.After(ke) && !ks.After(e) {
			return true
		}
	}
	return false
}

func sortFirings(fs []FiringDiff) {
	slices.SortStableFunc(fs, func(a, b FiringDiff) int {
		return cmp.Or(a.StartedAt.Compare(b.StartedAt), cmp.Compare(a.RuleID, b.RuleID), cmp.Compare(a.Fingerprint, b.Fingerprint))
	})
}

// progressReporter aggregates the progress of concurrent replays.
type progressReporter struct {
	fn   func(Progress)
	mu   sync.Mutex
	p    Progress
	done map[string]int // steps done per replay, keyed by rule id and run
	runs map[string]int
	last time.Time
}

func newProgressReporter(fn func(Progress), rules int) *progressReporter {
	return &progressReporter{fn: fn, p: Progress{RulesTotal: rules}, done: map[string]int{}, runs: map[string]int{}}
}

func (r *progressReporter) emit(force bool) {
	if r.fn == nil {
		return
	}
	if !force && time.Since(r.last) < 200*time.Millisecond {
		return
	}
	r.last = time.Now()
	r.fn(r.p)
}

func (r *progressReporter) phase(phase, rule string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.p.Phase, r.p.Rule = phase, rule
	r.emit(true)
}

// steps returns the progress callback of one replay of rule.
func (r *progressReporter) steps(rule string) func(done, total int) {
	r.mu.Lock()
	r.runs[rule]++
	key := fmt.Sprintf("%s#%d", rule, r.runs[rule])
	r.mu.Unlock()
	counted := false
	return func(done, total int) {
		r.mu.Lock()
		defer r.mu.Unlock()
		if !counted {
			r.p.StepsTotal += total
			counted = true
		}
		r.p.StepsDone += done - r.done[key]
		r.done[key] = done
		r.p.Phase, r.p.Rule = "replay", rule
		r.emit(done == total)
	}
}

// skip counts a rule that needs no replay.
func (r *progressReporter) skip() {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.p.RulesDone++
	r.emit(false)
}

func (r *progressReporter) ruleDone(rule string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.p.RulesDone++
	r.p.Rule = rule
	r.emit(true)
}
