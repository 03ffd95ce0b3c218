package app

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/netip"
	"runtime"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/tracehound/tracehound/alert"
	"github.com/tracehound/tracehound/api"
	"github.com/tracehound/tracehound/auth"
	"github.com/tracehound/tracehound/config"
	"github.com/tracehound/tracehound/detect"
	"github.com/tracehound/tracehound/exclude"
	"github.com/tracehound/tracehound/ipintel"
	"github.com/tracehound/tracehound/state"
	"github.com/tracehound/tracehound/store"
)

var (
	_ api.ExclusionsBackend = (*App)(nil)
	_ api.SilencesBackend   = (*App)(nil)
)

// Exclusion bookkeeping intervals.
const (
	// exclusionCacheTTL bounds how long compiled exclusions are reused:
	// expiries and asn resolutions are at most this late.
	exclusionCacheTTL = time.Minute
	// hitCountInterval is how often hit counters are brought up to date;
	// the count rides on the rule evaluations, so it runs while the engine
	// does.
	hitCountInterval = time.Minute
	// hitsCountedSetting keeps the end of the last counted interval, so
	// that a restart neither counts a span twice nor skips one.
	hitsCountedSetting = "exclusion_hits_counted_until"
)

// exclusionState is the App's exclusion machinery: the compiled live
// exclusions, the baseline replays dry runs share, and the hit counter.
type exclusionState struct {
	mu       sync.Mutex
	compiled *compiledExclusions
	// baselines keeps rule replays without a candidate, shared by the dry
	// runs of suggestions.
	baselines *exclude.MemoryBaselines

	countMu  sync.Mutex
	counting bool
	lastRun  time.Time

	// isMalicious rates addresses (detection supplies it); nil: only the
	// addresses blocked in containment are rated malicious.
	isMalicious func(ip string) bool

	// silences are the silences not yet ended, read at silencesAt.
	silences   []exclude.Silence
	silencesAt time.Time
}

// compiledExclusions are the live exclusions with their predicates.
type compiledExclusions struct {
	at    time.Time
	list  []exclude.Exclusion
	preds map[string]exclude.Predicate
}

// SetMaliciousRater installs a rating of addresses that dry runs use to
// flag suppressions of malicious traffic (besides the addresses blocked
// in containment).
func (a *App) SetMaliciousRater(isMalicious func(ip string) bool) {
	a.rules.excl.mu.Lock()
	a.rules.excl.isMalicious = isMalicious
	a.rules.excl.mu.Unlock()
}

// errNoExclusionStore: the state store does not keep exclusions.
var errNoExclusionStore = errors.New("this state store does not keep exclusions")

func (a *App) exclusionStore() (state.ExclusionStore, error) {
	es, ok := a.state.(state.ExclusionStore)
	if !ok {
		return nil, fmt.Errorf("%w (%T)", errNoExclusionStore, a.state)
	}
	return es, nil
}

// badRequest marks the exclude package's refusals as the client's to fix.
func badRequest(err error) error {
	if errors.Is(err, exclude.ErrInvalid) || errors.Is(err, exclude.ErrNeedsEnrichment) {
		return fmt.Errorf("%w: %w", api.ErrBadRequest, err)
	}
	return err
}

// exclusionOf decodes a stored exclusion; the store's counters win.
func exclusionOf(r state.ExclusionRecord) (exclude.Exclusion, error) {
	var e exclude.Exclusion
	if err := json.Unmarshal(r.Body, &e); err != nil {
		return e, fmt.Errorf("stored exclusion %s: %w", r.ID, err)
	}
	e.ID, e.HitCount, e.LastHit = r.ID, r.HitCount, r.LastHit
	e.Normalize()
	return e, nil
}

func recordOf(e exclude.Exclusion, actor string, at time.Time) (state.ExclusionRecord, error) {
	body, err := json.Marshal(e)
	if err != nil {
		return state.ExclusionRecord{}, err
	}
	r := state.ExclusionRecord{ID: e.ID, Body: body, Mode: string(e.Mode), ShadowUntil: e.ShadowUntil,
		CreatedAt: e.CreatedAt, CreatedBy: e.CreatedBy, UpdatedAt: at, UpdatedBy: actor, HitCount: e.HitCount, LastHit: e.LastHit}
	if !e.ExpiresAt.Never {
		r.ExpiresAt = e.ExpiresAt.At
	}
	return r, nil
}

func (a *App) info(r state.ExclusionRecord, now time.Time) (api.ExclusionInfo, error) {
	e, err := exclusionOf(r)
	if err != nil {
		return api.ExclusionInfo{}, err
	}
	return api.ExclusionInfo{Exclusion: e, Status: e.Status(now), ShadowSuppressions: r.ShadowSuppressions,
		UpdatedAt: r.UpdatedAt, UpdatedBy: r.UpdatedBy}, nil
}

// Exclusions implements api.ExclusionsBackend.
func (a *App) Exclusions(ctx context.Context, q api.ExclusionQuery) (*api.ExclusionList, error) {
	es, err := a.exclusionStore()
	if err != nil {
		return nil, err
	}
	recs, err := es.Exclusions(ctx, state.ExclusionFilter{})
	if err != nil {
		return nil, err
	}
	now := a.now()
	out := &api.ExclusionList{Exclusions: []api.ExclusionInfo{}}
	for _, r := range recs {
		info, err := a.info(r, now)
		if err != nil {
			return nil, err
		}
		review := info.Status == exclude.StatusExpired || info.Status == exclude.StatusReview
		if q.All || q.Expired == review {
			out.Exclusions = append(out.Exclusions, info)
		}
	}
	return out, nil
}

// Exclusion implements api.ExclusionsBackend.
func (a *App) Exclusion(ctx context.Context, id string) (*api.ExclusionDetail, error) {
	es, err := a.exclusionStore()
	if err != nil {
		return nil, err
	}
	r, err := es.Exclusion(ctx, id)
	if err != nil {
		return nil, err
	}
	info, err := a.info(r, a.now())
	if err != nil {
		return nil, err
	}
	sups, err := es.ShadowSuppressions(ctx, id, 100)
	if err != nil {
		return nil, err
	}
	return &api.ExclusionDetail{ExclusionInfo: info, Suppressed: sups}, nil
}

// newExclusionID names an exclusion created without an id.
func newExclusionID() string {
	b := make([]byte, 5)
	rand.Read(b)
	return "exc-" + hex.EncodeToString(b)
}

// AddExclusion implements api.ExclusionsBackend.
func (a *App) AddExclusion(ctx context.Context, req api.ExclusionRequest) (*api.ExclusionDetail, error) {
	es, err := a.exclusionStore()
	if err != nil {
		return nil, err
	}
	now := a.now()
	e := req.Exclusion
	e.Normalize()
	if err := scopeExclusion(ctx, &e); err != nil {
		return nil, err
	}
	if e.ID == "" {
		e.ID = newExclusionID()
	}
	e.CreatedBy, e.CreatedAt = auth.FromContext(ctx).Actor(), now.UTC()
	e.HitCount, e.LastHit = 0, time.Time{}
	if err := e.Check(now); err != nil {
		return nil, badRequest(err)
	}
	e.ExpiresAt = e.ExpiresAt.Resolve(now)
	if err := a.fixScope(&e); err != nil {
		return nil, err
	}
	if err := a.checkCompiles(ctx, e); err != nil {
		return nil, err
	}
	if _, err := es.Exclusion(ctx, e.ID); err == nil {
		return nil, fmt.Errorf("exclusion %s: %w", e.ID, state.ErrExists)
	} else if !errors.Is(err, state.ErrNotFound) {
		return nil, err
	}
	dry, err := a.truePositiveCheck(ctx, e, req.Force, req.ForceReason, req.Since, req.Until)
	if err != nil {
		return nil, err
	}
	if req.Force {
		e.ForceReason = strings.TrimSpace(req.ForceReason)
	}
	rec, err := recordOf(e, e.CreatedBy, now)
	if err != nil {
		return nil, err
	}
	if err := es.CreateExclusion(ctx, rec); err != nil {
		return nil, err
	}
	a.invalidateExclusions()
	if err := a.audit(ctx, "exclusion.create", "exclusion:"+e.ID, nil, e); err != nil {
		return nil, err
	}
	d, err := a.Exclusion(ctx, e.ID)
	if err != nil {
		return nil, err
	}
	d.DryRun = dry
	return d, nil
}

// fixScope checks the rule ids a scope names and fills those of an
// existing-rules scope.
func (a *App) fixScope(e *exclude.Exclusion) error {
	a.rules.mu.Lock()
	ids := make([]string, 0, len(a.rules.loaded))
	for _, l := range a.rules.loaded {
		ids = append(ids, l.rule.ID)
	}
	a.rules.mu.Unlock()
	switch e.Scope.Kind {
	case exclude.ScopeExisting:
		if len(e.Scope.RuleIDs) == 0 {
			e.Scope.RuleIDs = ids
			e.Normalize()
		}
	case exclude.ScopeRule, exclude.ScopeRules:
		for _, id := range e.Scope.RuleIDs {
			if !slices.Contains(ids, id) {
				return fmt.Errorf("%w: scope: no rule %q is loaded (see tracehound rules)", api.ErrBadRequest, id)
			}
		}
	}
	return nil
}

// checkCompiles compiles e and, for a sql_predicate, runs it once on the
// trace store, so that a predicate that only fails at run time (a
// misspelt column, an aggregate) is refused now rather than breaking the
// rules it covers.
func (a *App) checkCompiles(ctx context.Context, e exclude.Exclusion) error {
	p, err := exclude.Compile(ctx, e, a.compileOptions())
	if err != nil {
		return badRequest(err)
	}
	for _, c := range e.Conditions {
		if c.Kind != exclude.KindSQLPredicate {
			continue
		}
		q := "SELECT count() FROM (SELECT 1 FROM traces WHERE coalesce((" + p.SQL + "), false) LIMIT 1)"
		if _, err := a.store.Query(ctx, q, store.QueryOptions{Timeout: 30 * time.Second}, p.Args...); err != nil {
			if errors.Is(err, store.ErrQuery) {
				return fmt.Errorf("%w: %w: sql_predicate does not run: %w", api.ErrBadRequest, exclude.ErrInvalid, err)
			}
			return err
		}
		break
	}
	return nil
}

// truePositiveCheck dry-runs e over the rules that have notifications
// triaged as true positives in the window, when there are any. It refuses
// e when it would suppress one, unless force comes with a reason.
func (a *App) truePositiveCheck(ctx context.Context, e exclude.Exclusion, force bool, forceReason, since string, until time.Time) (*exclude.DryRunResult, error) {
	defer a.waited.start()()
	if force && strings.TrimSpace(forceReason) == "" {
		return nil, fmt.Errorf("%w: force needs a force_reason saying why the true positives may be suppressed", api.ErrBadRequest)
	}
	from, to, err := a.window(since, until)
	if err != nil {
		return nil, err
	}
	known, err := a.knownTruePositives(ctx, from, to)
	if err != nil {
		return nil, err
	}
	var covered []string
	for _, k := range known {
		if e.Scope.Covers(k.RuleID) && !slices.Contains(covered, k.RuleID) {
			covered = append(covered, k.RuleID)
		}
	}
	if len(covered) == 0 {
		return nil, nil // nothing triaged as a true positive can be suppressed
	}
	check := e
	check.Scope = exclude.Scope{Kind: exclude.ScopeRules, RuleIDs: covered}
	opts, err := a.dryRunOptions(ctx, from, to)
	if err != nil {
		return nil, err
	}
	opts.Candidate = check
	opts.Known = known
	res, err := exclude.DryRun(ctx, opts)
	if err != nil {
		return nil, badRequest(err)
	}
	res.Exclusion = e
	var triaged []string
	for _, s := range res.SuppressedTruePositives {
		if s.Why == exclude.WhyTriaged {
			triaged = append(triaged, fmt.Sprintf("#%d (%s, %s)", s.NotificationID, s.RuleID, s.Status))
		}
	}
	if len(triaged) > 0 && !force {
		return nil, fmt.Errorf("%w: exclusion %s would suppress %d notification(s) triaged as true positives: %s; apply it with force and a force_reason if that is intended",
			api.ErrBadRequest, e.ID, len(triaged), strings.Join(triaged, ", "))
	}
	for _, r := range res.Rules {
		if r.Error != "" && !force {
			return nil, fmt.Errorf("%w: exclusion %s: rule %s, which has notifications triaged as true positives, could not be replayed to check them (%s); apply it with force and a force_reason if that is intended",
				api.ErrBadRequest, e.ID, r.RuleID, r.Error)
		}
	}
	return res, nil
}

// DeleteExclusion implements api.ExclusionsBackend.
func (a *App) DeleteExclusion(ctx context.Context, id string) error {
	es, err := a.exclusionStore()
	if err != nil {
		return err
	}
	r, err := es.Exclusion(ctx, id)
	if err != nil {
		return err
	}
	before, err := exclusionOf(r)
	if err != nil {
		return err
	}
	if err := es.DeleteExclusion(ctx, id); err != nil {
		return err
	}
	a.invalidateExclusions()
	return a.audit(ctx, "exclusion.delete", "exclusion:"+id, before, nil)
}

// ActivateExclusion implements api.ExclusionsBackend.
func (a *App) ActivateExclusion(ctx context.Context, id string, req api.ActivateRequest) (*api.ExclusionDetail, error) {
	es, err := a.exclusionStore()
	if err != nil {
		return nil, err
	}
	r, err := es.Exclusion(ctx, id)
	if err != nil {
		return nil, err
	}
	e, err := exclusionOf(r)
	if err != nil {
		return nil, err
	}
	now := a.now()
	if e.ExpiresAt.Expired(now) {
		return nil, fmt.Errorf("%w: exclusion %s expired at %s; create a new one", api.ErrBadRequest, id, e.ExpiresAt)
	}
	if e.Mode == exclude.ModeActive {
		return nil, fmt.Errorf("%w: exclusion %s is already active", api.ErrBadRequest, id)
	}
	before := e
	e.Mode, e.ShadowUntil = exclude.ModeActive, time.Time{}
	dry, err := a.truePositiveCheck(ctx, e, req.Force, req.ForceReason, req.Since, req.Until)
	if err != nil {
		return nil, err
	}
	if req.Force {
		e.ForceReason = strings.TrimSpace(req.ForceReason)
	}
	rec, err := recordOf(e, auth.FromContext(ctx).Actor(), now)
	if err != nil {
		return nil, err
	}
	if err := es.UpdateExclusion(ctx, rec); err != nil {
		return nil, err
	}
	a.invalidateExclusions()
	if err := a.audit(ctx, "exclusion.activate", "exclusion:"+id, before, e); err != nil {
		return nil, err
	}
	d, err := a.Exclusion(ctx, id)
	if err != nil {
		return nil, err
	}
	d.DryRun = dry
	return d, nil
}

// window resolves a since duration (default 7d) ending at until (default
// now minus the query offset, to the minute, so that dry runs started
// within a minute share their baselines).
func (a *App) window(since string, until time.Time) (time.Time, time.Time, error) {
	d := exclude.DefaultWindow
	if since != "" {
		v, err := config.ParseDuration(since)
		if err != nil || v <= 0 {
			return time.Time{}, time.Time{}, fmt.Errorf("%w: since %q: want a positive duration such as 7d", api.ErrBadRequest, since)
		}
		if v > 31*24*time.Hour {
			return time.Time{}, time.Time{}, fmt.Errorf("%w: since %q: at most 31 days", api.ErrBadRequest, since)
		}
		d = v
	}
	to := until
	if to.IsZero() {
		to = a.now().Add(-time.Duration(a.cfg.Rules.QueryOffset)).Truncate(time.Minute)
	}
	return to.Add(-d).UTC(), to.UTC(), nil
}

// DryRunExclusion implements api.ExclusionsBackend.
func (a *App) DryRunExclusion(ctx context.Context, req api.DryRunRequest) (*exclude.DryRunResult, error) {
	defer a.waited.start()()
	var e exclude.Exclusion
	switch {
	case req.Exclusion != nil:
		e = *req.Exclusion
		e.Normalize()
		if e.ID == "" {
			e.ID = "draft"
		}
		if e.Scope.Kind == "" {
			e.Scope.Kind = exclude.ScopeAny
		}
		if e.Reason == "" {
			e.Reason = "dry run"
		}
		if !e.ExpiresAt.Set() {
			e.ExpiresAt = exclude.Expiry{Never: true}
		}
		if err := e.Validate(); err != nil {
			return nil, badRequest(err)
		}
		if err := scopeExclusion(ctx, &e); err != nil {
			return nil, err
		}
		if err := a.fixScope(&e); err != nil {
			return nil, err
		}
	case req.ID != "":
		es, err := a.exclusionStore()
		if err != nil {
			return nil, err
		}
		r, err := es.Exclusion(ctx, req.ID)
		if err != nil {
			return nil, err
		}
		if e, err = exclusionOf(r); err != nil {
			return nil, err
		}
	default:
		return nil, fmt.Errorf("%w: name a stored exclusion (id) or give a draft (exclusion)", api.ErrBadRequest)
	}
	from, to, err := a.window(req.Since, req.Until)
	if err != nil {
		return nil, err
	}
	opts, err := a.dryRunOptions(ctx, from, to)
	if err != nil {
		return nil, err
	}
	if opts.Known, err = a.knownTruePositives(ctx, from, to); err != nil {
		return nil, err
	}
	opts.Candidate = e
	opts.Progress = req.Progress
	res, err := exclude.DryRun(ctx, opts)
	return res, badRequest(err)
}

// dryRunOptions gathers what every dry run needs: the running rules, the
// active exclusions (the baseline), compile options and the rating of
// addresses.
func (a *App) dryRunOptions(ctx context.Context, from, to time.Time) (exclude.DryRunOptions, error) {
	a.rules.mu.Lock()
	var rules []alert.Rule
	for _, l := range a.rules.loaded {
		if l.enabled {
			rules = append(rules, l.rule)
		}
	}
	a.rules.mu.Unlock()
	set, err := a.liveExclusions(ctx)
	if err != nil {
		return exclude.DryRunOptions{}, err
	}
	var active []exclude.Exclusion
	for _, e := range set.list {
		if e.Status(to) == exclude.StatusActive {
			active = append(active, e)
		}
	}
	rate, err := a.maliciousRater(ctx)
	if err != nil {
		return exclude.DryRunOptions{}, err
	}
	opts := exclude.DryRunOptions{
		Querier: a.store, Rules: rules, Active: active, From: from, To: to, Compile: a.compileOptions(),
		IsMalicious: rate, Steps: a.replayCache(ctx), Concurrency: min(runtime.GOMAXPROCS(0), 2),
	}
	if !auth.FromContext(ctx).Scoped() { // a scoped caller's replays read fewer rows
		opts.Baselines = a.baselines()
	}
	return opts, nil
}

func (a *App) baselines() *exclude.MemoryBaselines {
	a.rules.excl.mu.Lock()
	defer a.rules.excl.mu.Unlock()
	if a.rules.excl.baselines == nil {
		a.rules.excl.baselines = exclude.NewMemoryBaselines(64, 15*time.Minute, nil)
	}
	return a.rules.excl.baselines
}

// maliciousRater rates an address malicious when detection says so (the
// detectors tagged it, see applyVerdict, or the installed rater) or when
// containment blocks it (alone or in a blocked range).
func (a *App) maliciousRater(ctx context.Context) (func(string) bool, error) {
	page, err := a.state.IPs(ctx, state.IPFilter{Statuses: []string{state.IPBlocked}})
	if err != nil {
		return nil, err
	}
	rated, err := a.state.IPs(ctx, state.IPFilter{Tag: DetectorTagPrefix + strings.ToLower(string(detect.Malicious))})
	if err != nil {
		return nil, err
	}
	var blocked []netip.Prefix
	for _, r := range append(page.Records, rated.Records...) {
		if p, err := exclude.ParseCIDR(r.Value); err == nil {
			blocked = append(blocked, p)
		}
	}
	a.rules.excl.mu.Lock()
	detect := a.rules.excl.isMalicious
	a.rules.excl.mu.Unlock()
	return func(ip string) bool {
		if detect != nil && detect(ip) {
			return true
		}
		addr, err := netip.ParseAddr(ip)
		if err != nil {
			return false
		}
		for _, p := range blocked {
			if p.Contains(addr.Unmap()) {
				return true
			}
		}
		return false
	}, nil
}

// knownTruePositives are the notifications of the window (and the day
// before it, for alerts still firing into it) that a person moved to
// investigating or resolved.
func (a *App) knownTruePositives(ctx context.Context, from, to time.Time) ([]exclude.KnownAlert, error) {
	ns, err := a.state.Notifications(ctx, state.NotificationFilter{
		Statuses: []string{state.TriageInvestigating, state.TriageResolved}, Mode: "any",
		Since: from.Add(-24 * time.Hour), Until: to,
	})
	if err != nil {
		return nil, err
	}
	out := make([]exclude.KnownAlert, 0, len(ns))
	for _, n := range ns {
		out = append(out, exclude.KnownAlert{NotificationID: n.ID, RuleID: n.RuleID, Fingerprint: n.Fingerprint, Labels: n.Labels,
			StartsAt: n.StartsAt, EndsAt: n.AlertEndsAt, Status: n.Status, Reason: n.Reason})
	}
	return out, nil
}

// ExclusionSuggestions implements api.ExclusionsBackend.
func (a *App) ExclusionSuggestions(ctx context.Context, q api.SuggestionQuery) (*api.SuggestionList, error) {
	defer a.waited.start()()
	from, to, err := a.window(q.Since, q.Until)
	if err != nil {
		return nil, err
	}
	opts, err := a.dryRunOptions(ctx, from, to)
	if err != nil {
		return nil, err
	}
	if opts.Known, err = a.knownTruePositives(ctx, from, to); err != nil {
		return nil, err
	}
	notices := func(statuses []string, mode string) ([]exclude.Notice, error) {
		ns, err := a.state.Notifications(ctx, state.NotificationFilter{Statuses: statuses, Mode: mode, Since: from, Until: to})
		if err != nil {
			return nil, err
		}
		out := make([]exclude.Notice, 0, len(ns))
		for _, n := range ns {
			out = append(out, exclude.Notice{ID: n.ID, RuleID: n.RuleID, Fingerprint: n.Fingerprint, Labels: n.Labels,
				StartsAt: n.StartsAt, EndsAt: n.AlertEndsAt, Status: n.Status, Reason: n.Reason})
		}
		return out, nil
	}
	fp, err := notices([]string{state.TriageFalsePositive}, "any")
	if err != nil {
		return nil, err
	}
	open, err := notices([]string{state.TriageOpen}, "")
	if err != nil {
		return nil, err
	}
	sugs, err := exclude.Suggest(ctx, exclude.SuggestOptions{DryRun: opts, FalsePositives: fp, Others: open, Now: a.now(), Max: q.Max})
	if err != nil {
		return nil, badRequest(err)
	}
	if sugs == nil {
		sugs = []exclude.Suggestion{}
	}
	res := &api.SuggestionList{From: from, To: to, Suggestions: sugs}
	if q.Narrate {
		a.narrateSuggestions(ctx, res)
	}
	return res, nil
}

// compileOptions resolve asn conditions from the enrichment kept in the IP
// store: the enriched addresses announced by the system.
func (a *App) compileOptions() exclude.CompileOptions {
	return exclude.CompileOptions{ResolveASN: a.resolveASN}
}

func (a *App) resolveASN(ctx context.Context, asn uint32) ([]netip.Prefix, error) {
	page, err := a.state.IPs(ctx, state.IPFilter{})
	if err != nil {
		return nil, err
	}
	var out []netip.Prefix
	for _, r := range page.Records {
		if len(r.Enrichment) == 0 {
			continue
		}
		var rec ipintel.Record
		if json.Unmarshal(r.Enrichment, &rec) != nil || rec.ASN != asn {
			continue
		}
		if p, err := exclude.ParseCIDR(r.Value); err == nil {
			out = append(out, p)
		}
	}
	return out, nil
}

// invalidateExclusions drops the compiled exclusions after a change.
func (a *App) invalidateExclusions() {
	a.rules.excl.mu.Lock()
	a.rules.excl.compiled = nil
	a.rules.excl.mu.Unlock()
}

// liveExclusions returns the exclusions that have not expired, compiled;
// those that do not compile (an asn whose addresses are no longer known)
// are logged and left out.
func (a *App) liveExclusions(ctx context.Context) (*compiledExclusions, error) {
	now := a.now()
	x := &a.rules.excl
	x.mu.Lock()
	c := x.compiled
	x.mu.Unlock()
	if c != nil && now.Sub(c.at) < exclusionCacheTTL && now.Sub(c.at) >= 0 {
		return c, nil
	}
	es, err := a.exclusionStore()
	if err != nil {
		return &compiledExclusions{at: now, preds: map[string]exclude.Predicate{}}, nil
	}
	recs, err := es.Exclusions(ctx, state.ExclusionFilter{LiveAt: now})
	if err != nil {
		return nil, err
	}
	c = &compiledExclusions{at: now, preds: map[string]exclude.Predicate{}}
	for _, r := range recs {
		e, err := exclusionOf(r)
		if err != nil {
			a.log.Error("stored exclusion does not decode; it does not apply", "exclusion", r.ID, "err", err)
			continue
		}
		p, err := exclude.Compile(ctx, e, a.compileOptions())
		if err != nil {
			a.log.Error("exclusion does not compile; it does not apply", "exclusion", e.ID, "err", err)
			continue
		}
		c.list = append(c.list, e)
		c.preds[e.ID] = p
	}
	x.mu.Lock()
	x.compiled = c
	x.mu.Unlock()
	return c, nil
}

// predicateFor combines the predicates of the exclusions that apply to
// ruleID at t (status active), plus extra.
func (c *compiledExclusions) predicateFor(ruleID string, t time.Time, extra ...exclude.Predicate) exclude.Predicate {
	var ps []exclude.Predicate
	for _, e := range c.list {
		if e.Applies(ruleID, t) {
			ps = append(ps, c.preds[e.ID])
		}
	}
	return exclude.Or(append(ps, extra...)...)
}

// rewriteRule is the engine's Rewriter: the rule reads traces without the
// spans of the active exclusions that cover it, and only those of its
// applications. It also starts the hit
// count when it is due.
func (a *App) rewriteRule(r *alert.Rule) (string, []any, error) {
	ctx := context.Background()
	a.maybeCountHits()
	c, err := a.liveExclusions(ctx)
	if err != nil {
		return "", nil, fmt.Errorf("load exclusions: %w", err)
	}
	return exclude.RuleRewriter(c.predicateFor(r.ID, a.now()))(r)
}

// maybeCountHits starts, in the background, the count of what the live
// exclusions matched since the last count, at most every
// hitCountInterval.
func (a *App) maybeCountHits() {
	x := &a.rules.excl
	now := a.now()
	x.countMu.Lock()
	if x.counting || now.Sub(x.lastRun) < hitCountInterval {
		x.countMu.Unlock()
		return
	}
	x.counting, x.lastRun = true, now
	x.countMu.Unlock()
	a.bg.Go(func() {
		defer func() {
			x.countMu.Lock()
			x.counting = false
			x.countMu.Unlock()
		}()
		ctx, cancel := context.WithTimeout(auth.WithPrincipal(context.Background(), auth.System), 2*time.Minute)
		defer cancel()
		if err := a.countExclusionHits(ctx); err != nil {
			a.log.Warn("count exclusion hits", "err", err)
		}
	})
}

// countExclusionHits adds to the hit counters of the active and shadow
// exclusions the server spans they matched since the last count (at most
// a day back), up to now minus the query offset.
func (a *App) countExclusionHits(ctx context.Context) error {
	es, err := a.exclusionStore()
	if err != nil {
		return nil
	}
	to := a.now().Add(-time.Duration(a.cfg.Rules.QueryOffset)).UTC()
	from := to.Add(-hitCountInterval)
	if v, err := a.state.Setting(ctx, hitsCountedSetting); err == nil {
		if t, err := time.Parse(time.RFC3339Nano, v); err == nil {
			from = t
		}
	} else if !errors.Is(err, state.ErrNotFound) {
		return err
	}
	if from.Before(to.Add(-24 * time.Hour)) {
		from = to.Add(-24 * time.Hour)
	}
	if !from.Before(to) {
		return nil
	}
	c, err := a.liveExclusions(ctx)
	if err != nil {
		return err
	}
	var ids []string
	var preds []exclude.Predicate
	for _, e := range c.list {
		if st := e.Status(to); st == exclude.StatusActive || st == exclude.StatusShadow {
			ids = append(ids, e.ID)
			preds = append(preds, c.preds[e.ID])
		}
	}
	if len(ids) > 0 {
		hits, err := exclude.CountHits(ctx, a.store, ids, preds, from, to)
		if err != nil {
			return err
		}
		add := make([]state.ExclusionHits, 0, len(hits))
		for _, h := range hits {
			add = append(add, state.ExclusionHits{ID: h.ID, Rows: h.Rows, Last: h.Last})
		}
		if err := es.AddExclusionHits(ctx, add); err != nil {
			return err
		}
	}
	return a.state.SetSetting(ctx, hitsCountedSetting, to.Format(time.RFC3339Nano))
}

// checkShadowExclusions records, in the background, the alerts that just
// started firing and that a shadow exclusion covering their rule would
// have suppressed: evaluated again at the same time with the exclusion
// applied, the rule has no such instance.
func (a *App) checkShadowExclusions(alerts []alert.Alert) {
	var fresh []alert.Alert
	for _, al := range alerts {
		if al.State == alert.StateFiring && al.StartsAt.Equal(al.EvaluatedAt) && al.RuleID != alert.RuleHealthID {
			fresh = append(fresh, al)
		}
	}
	if len(fresh) == 0 {
		return
	}
	ctx := context.Background()
	c, err := a.liveExclusions(ctx)
	if err != nil {
		return
	}
	var shadows []exclude.Exclusion
	for _, e := range c.list {
		if e.Status(a.now()) == exclude.StatusShadow {
			shadows = append(shadows, e)
		}
	}
	if len(shadows) == 0 {
		return
	}
	a.bg.Go(func() {
		ctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
		defer cancel()
		if err := a.recordShadowSuppressions(ctx, c, shadows, fresh); err != nil {
			a.log.Warn("check shadow exclusions", "err", err)
		}
	})
}

func (a *App) recordShadowSuppressions(ctx context.Context, c *compiledExclusions, shadows []exclude.Exclusion, fresh []alert.Alert) error {
	es, err := a.exclusionStore()
	if err != nil {
		return err
	}
	a.rules.mu.Lock()
	rules := map[string]alert.Rule{}
	for _, l := range a.rules.loaded {
		rules[l.rule.ID] = l.rule
	}
	a.rules.mu.Unlock()
	offset := time.Duration(a.cfg.Rules.QueryOffset)
	var errs []error
	for _, e := range shadows {
		byRule := map[string][]alert.Alert{}
		for _, al := range fresh {
			if e.Scope.Covers(al.RuleID) {
				byRule[al.RuleID] = append(byRule[al.RuleID], al)
			}
		}
		for ruleID, als := range byRule {
			r, ok := rules[ruleID]
			if !ok || r.Source != alert.SourceSQL {
				continue
			}
			p := c.predicateFor(ruleID, als[0].EvaluatedAt, c.preds[e.ID])
			rw := exclude.RuleRewriter(p)
			// Alerts of one delivery share their evaluation time.
			insts, err := alert.Evaluate(ctx, a.store, r, als[0].EvaluatedAt.Add(-offset), rw)
			if err != nil {
				errs = append(errs, err)
				continue
			}
			still := map[string]bool{}
			for _, in := range insts {
				still[in.Fingerprint] = true
			}
			for _, al := range als {
				if still[al.Fingerprint] {
					continue
				}
				errs = append(errs, es.AddShadowSuppression(ctx, state.ShadowSuppression{ExclusionID: e.ID, RuleID: ruleID,
					Fingerprint: al.Fingerprint, Labels: al.Labels, StartsAt: al.StartsAt, At: a.now()}))
			}
		}
	}
	return errors.Join(errs...)
}

// silencesCacheTTL bounds how late a new or deleted silence takes effect
// in the delivery path.
const silencesCacheTTL = 10 * time.Second

func (a *App) silenceStore() (state.SilenceStore, error) {
	ss, ok := a.state.(state.SilenceStore)
	if !ok {
		return nil, fmt.Errorf("this state store does not keep silences (%T)", a.state)
	}
	return ss, nil
}

func silenceOf(r state.SilenceRecord) (exclude.Silence, error) {
	var s exclude.Silence
	if err := json.Unmarshal(r.Body, &s); err != nil {
		return s, fmt.Errorf("stored silence %s: %w", r.ID, err)
	}
	return s, nil
}

// Silences implements api.SilencesBackend.
func (a *App) Silences(ctx context.Context, all bool) (*api.SilenceList, error) {
	ss, err := a.silenceStore()
	if err != nil {
		return nil, err
	}
	now := a.now()
	after := now
	if all {
		after = time.Time{}
	}
	recs, err := ss.Silences(ctx, after)
	if err != nil {
		return nil, err
	}
	out := &api.SilenceList{Silences: []api.SilenceInfo{}}
	for _, r := range recs {
		s, err := silenceOf(r)
		if err != nil {
			return nil, err
		}
		out.Silences = append(out.Silences, api.SilenceInfo{Silence: s, Active: s.Active(now)})
	}
	return out, nil
}

// AddSilence implements api.SilencesBackend.
func (a *App) AddSilence(ctx context.Context, req api.SilenceRequest) (*exclude.Silence, error) {
	ss, err := a.silenceStore()
	if err != nil {
		return nil, err
	}
	now := a.now().UTC()
	s := exclude.Silence{ID: req.ID, StartsAt: req.StartsAt.UTC(), EndsAt: req.EndsAt.UTC(), Comment: strings.TrimSpace(req.Comment),
		CreatedBy: auth.FromContext(ctx).Actor(), CreatedAt: now}
	if s.ID == "" {
		s.ID = "sil-" + newExclusionID()[4:]
	}
	if req.StartsAt.IsZero() {
		s.StartsAt = now
	}
	if req.Duration != "" {
		if !req.EndsAt.IsZero() {
			return nil, fmt.Errorf("%w: give ends_at or duration, not both", api.ErrBadRequest)
		}
		d, err := config.ParseDuration(req.Duration)
		if err != nil || d <= 0 {
			return nil, fmt.Errorf("%w: duration %q: want a positive duration such as 2h", api.ErrBadRequest, req.Duration)
		}
		s.EndsAt = s.StartsAt.Add(d)
	}
	for _, m := range req.Matchers {
		pm, err := exclude.ParseMatcher(m)
		if err != nil {
			return nil, badRequest(err)
		}
		s.Matchers = append(s.Matchers, pm)
	}
	if err := s.Validate(); err != nil {
		return nil, badRequest(err)
	}
	if !s.EndsAt.After(now) {
		return nil, fmt.Errorf("%w: the silence ends in the past", api.ErrBadRequest)
	}
	body, err := json.Marshal(s)
	if err != nil {
		return nil, err
	}
	if err := ss.CreateSilence(ctx, state.SilenceRecord{ID: s.ID, Body: body, StartsAt: s.StartsAt, EndsAt: s.EndsAt,
		CreatedAt: now, CreatedBy: s.CreatedBy}); err != nil {
		return nil, err
	}
	a.invalidateSilences()
	if err := a.audit(ctx, "silence.create", "silence:"+s.ID, nil, s); err != nil {
		return nil, err
	}
	return &s, nil
}

// DeleteSilence implements api.SilencesBackend.
func (a *App) DeleteSilence(ctx context.Context, id string) error {
	ss, err := a.silenceStore()
	if err != nil {
		return err
	}
	recs, err := ss.Silences(ctx, time.Time{})
	if err != nil {
		return err
	}
	var before any
	for _, r := range recs {
		if r.ID == id {
			before, _ = silenceOf(r)
		}
	}
	if err := ss.DeleteSilence(ctx, id); err != nil {
		return err
	}
	a.invalidateSilences()
	return a.audit(ctx, "silence.delete", "silence:"+id, before, nil)
}

func (a *App) invalidateSilences() {
	a.rules.excl.mu.Lock()
	a.rules.excl.silencesAt = time.Time{}
	a.rules.excl.mu.Unlock()
}

// unsilenced returns the alerts no active silence mutes; the muted ones
// are logged. A store without silences, or one that fails, mutes nothing:
// an alert is better sent twice than lost.
func (a *App) unsilenced(ctx context.Context, alerts []alert.Alert) []alert.Alert {
	now := a.now()
	x := &a.rules.excl
	x.mu.Lock()
	silences, at := x.silences, x.silencesAt
	x.mu.Unlock()
	if at.IsZero() || now.Sub(at) > silencesCacheTTL || now.Before(at) {
		ss, err := a.silenceStore()
		if err != nil {
			return alerts
		}
		recs, err := ss.Silences(ctx, now)
		if err != nil {
			a.log.Error("read silences; nothing is muted", "err", err)
			return alerts
		}
		silences = silences[:0:0]
		for _, r := range recs {
			if s, err := silenceOf(r); err == nil {
				silences = append(silences, s)
			}
		}
		x.mu.Lock()
		x.silences, x.silencesAt = silences, now
		x.mu.Unlock()
	}
	if len(silences) == 0 {
		return alerts
	}
	out := make([]alert.Alert, 0, len(alerts))
	for _, al := range alerts {
		muted := ""
		for i := range silences {
			if silences[i].Mutes(al.Labels, now) {
				muted = silences[i].ID
				break
			}
		}
		if muted != "" {
			a.log.Debug("alert silenced", "silence", muted, "rule", al.RuleID, "fingerprint", al.Fingerprint, "state", al.State)
			continue
		}
		out = append(out, al)
	}
	return out
}
