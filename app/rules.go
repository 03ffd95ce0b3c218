package app

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"net/netip"
	"os"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/tracehound/tracehound/alert"
	"github.com/tracehound/tracehound/api"
	"github.com/tracehound/tracehound/auth"
	"github.com/tracehound/tracehound/config"
	"github.com/tracehound/tracehound/exclude"
	"github.com/tracehound/tracehound/state"
	"github.com/tracehound/tracehound/store"
)

var _ api.RulesBackend = (*App)(nil)

// loadedRule is a rule with where it came from.
type loadedRule struct {
	rule    alert.Rule
	origin  string // builtin, file or api
	file    string
	body    string // API-defined rules: their YAML
	enabled bool
}

// rulesState holds the engine, the rules it was given and the
// exclusions that filter them.
type rulesState struct {
	engine *alert.Engine
	mu     sync.Mutex
	loaded []loadedRule
	excl   exclusionState
}

// openEngine builds the alert engine over the trace store; the server runs
// it, other commands read its rules.
func (a *App) openEngine() error {
	// The engine's copies of what rules read go in the store's scratch
	// space, kept fresh by what it tells of its writes.
	var changes store.ChangeTracker
	if sc, ok := a.store.(scopedStore); ok {
		_, copies := sc.Store.(store.Scratcher)
		if ct, ok := sc.Store.(store.ChangeTracker); ok && copies {
			changes = ct
		}
	}
	e, err := alert.NewEngine(alert.Options{
		Querier:     a.store,
		Changes:     changes,
		RuleStore:   a.state,
		MapStore:    a.state,
		Sink:        a,
		Logger:      a.log,
		Registerer:  a.reg,
		Now:         a.now,
		QueryOffset: time.Duration(a.cfg.Rules.QueryOffset),
		Rewrite:     a.rewriteRule,
	})
	if err != nil {
		return err
	}
	a.rules.engine = e
	return a.reloadRules(context.Background())
}

// loadRules gathers the built-in pack, the configured rule files and the
// rules defined through the API; later sources may not reuse an id.
func (a *App) loadRules(ctx context.Context) ([]loadedRule, error) {
	var out []loadedRule
	seen := map[string]string{}
	disabled := map[string]bool{}
	for _, id := range a.cfg.Rules.Disabled {
		disabled[id] = true
	}
	add := func(r alert.Rule, origin, file, body string, enabled bool) error {
		if prev, dup := seen[r.ID]; dup {
			return fmt.Errorf("%w: rule id %q is defined twice (%s and %s)", alert.ErrInvalidRule, r.ID, prev, cmp.Or(file, origin))
		}
		seen[r.ID] = cmp.Or(file, origin)
		out = append(out, loadedRule{rule: r, origin: origin, file: file, body: body, enabled: enabled && !disabled[r.ID]})
		return nil
	}
	if a.cfg.Rules.Builtin {
		for _, r := range alert.Builtin() {
			if err := add(r, "builtin", r.File, "", true); err != nil {
				return nil, err
			}
		}
	}
	for _, dir := range a.cfg.Rules.Dirs {
		var rules []alert.Rule
		var err error
		if fi, statErr := os.Stat(dir); statErr == nil && !fi.IsDir() {
			rules, err = alert.LoadFiles(dir)
		} else {
			rules, err = alert.LoadDir(dir)
		}
		if err != nil {
			return nil, fmt.Errorf("rules from %s: %w", dir, err)
		}
		for _, r := range rules {
			if err := add(r, "file", r.File, "", true); err != nil {
				return nil, err
			}
		}
	}
	defs, err := a.state.RuleDefs(ctx)
	if err != nil {
		return nil, err
	}
	for _, d := range defs {
		r, err := alert.ParseRuleDef(d.ID, d.Body)
		if err != nil {
			// A stored rule that no longer parses (an upgrade changed the
			// format) must not stop the others: it is listed, not run.
			a.log.Error("stored rule does not parse; it is not run", "rule", d.ID, "err", err)
			r = alert.Rule{ID: d.ID, Name: d.ID}
			d.Enabled = false
		}
		if err := add(r, "api", "", string(d.Body), d.Enabled); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// reloadRules loads the rules and hands the enabled ones to the engine.
func (a *App) reloadRules(ctx context.Context) error {
	loaded, err := a.loadRules(ctx)
	if err != nil {
		return err
	}
	var run []alert.Rule
	for _, l := range loaded {
		if l.enabled {
			run = append(run, l.rule)
		}
	}
	if err := a.rules.engine.SetRules(run); err != nil {
		return err
	}
	a.rules.mu.Lock()
	a.rules.loaded = loaded
	a.rules.mu.Unlock()
	return nil
}

// Deliver implements alert.Sink: every alert is recorded for triage
// (shadow ones too, hidden from default lists), active ones that no
// silence mutes go to the notification receivers, the client addresses of
// newly firing alerts are enriched in the background, the automatic
// responses of newly firing alerts run (see respond), and shadow
// exclusions record the newly firing alerts they would have suppressed.
func (a *App) Deliver(ctx context.Context, alerts []alert.Alert) error {
	err := a.triage.Record(ctx, alerts)
	if serr := a.notifier.Send(ctx, a.unsilenced(ctx, alerts)); serr != nil {
		err = errors.Join(err, serr)
	}
	a.enrichAlertIPs(alerts)
	a.respond(alerts)
	a.checkShadowExclusions(alerts)
	return err
}

// maxAutoEnrich bounds the addresses one delivery enriches.
const maxAutoEnrich = 100

// enrichAlertIPs enriches, in the background, the client addresses named
// by alerts that started firing at this evaluation and have no enrichment
// yet. Re-sends of alerts already firing are skipped: their addresses were
// looked at when they started.
func (a *App) enrichAlertIPs(alerts []alert.Alert) {
	var ips []string
	seen := map[string]bool{}
	for _, al := range alerts {
		if al.State != alert.StateFiring || !al.StartsAt.Equal(al.EvaluatedAt) {
			continue
		}
		ip := al.Labels[alert.LabelIP]
		if addr, err := netip.ParseAddr(ip); err != nil || !addr.IsGlobalUnicast() || addr.IsPrivate() || seen[ip] {
			continue
		}
		seen[ip] = true
		ips = append(ips, ip)
		if len(ips) == maxAutoEnrich {
			break
		}
	}
	if len(ips) == 0 {
		return
	}
	ctx := auth.WithPrincipal(context.Background(), auth.System)
	existing, err := a.state.LookupIPs(ctx, ips)
	if err != nil {
		return
	}
	var todo []string
	for _, ip := range ips {
		if rec, ok := existing[ip]; !ok || len(rec.Enrichment) == 0 {
			todo = append(todo, ip)
		}
	}
	if len(todo) == 0 {
		return
	}
	a.bg.Go(func() {
		ctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
		defer cancel()
		if _, err := a.EnrichIPs(ctx, api.EnrichRequest{IPs: todo}); err != nil {
			a.log.Warn("enrich the addresses of new alerts", "err", err, "addresses", len(todo))
		}
	})
}

// Rules implements api.RulesBackend.
func (a *App) Rules(ctx context.Context) (*api.RuleList, error) {
	status := a.ruleStatus()
	a.rules.mu.Lock()
	loaded := slices.Clone(a.rules.loaded)
	a.rules.mu.Unlock()
	out := &api.RuleList{Rules: make([]api.RuleInfo, 0, len(loaded))}
	for _, l := range loaded {
		out.Rules = append(out.Rules, ruleInfo(l, status[l.rule.ID]))
	}
	sort.Slice(out.Rules, func(i, j int) bool { return out.Rules[i].ID < out.Rules[j].ID })
	return out, nil
}

// ruleStatus is the engine's view of the running rules; a process that
// does not run the engine reads the stored state instead.
func (a *App) ruleStatus() map[string]alert.RuleStatus {
	out := map[string]alert.RuleStatus{}
	for _, st := range a.rules.engine.Status() {
		out[st.RuleID] = st
	}
	return out
}

func ruleInfo(l loadedRule, st alert.RuleStatus) api.RuleInfo {
	r := l.rule
	info := api.RuleInfo{
		ID: r.ID, Name: r.Name, Description: strings.TrimSpace(r.Description), Severity: string(r.Severity), Mode: string(r.Mode),
		Origin: l.origin, File: l.file, Interval: fmtDuration(r.Interval), For: fmtDuration(r.For), Enabled: l.enabled,
		Health: string(alert.HealthUnknown), SQL: r.SQL, Response: r.Response.Summary(),
	}
	if l.origin == "builtin" {
		info.File = ""
	}
	if !l.enabled {
		info.Health = "disabled"
	}
	if st.RuleID != "" {
		info.Health, info.Error, info.LastEval, info.Missed = string(st.Health), st.LastError, st.LastEval, st.Missed
		for _, in := range st.Instances {
			switch in.State {
			case alert.StatePending:
				info.Pending++
			case alert.StateFiring:
				info.Firing++
			}
		}
	}
	return info
}

func fmtDuration(d time.Duration) string {
	if d == 0 {
		return ""
	}
	return config.Duration(d).String()
}

// Rule implements api.RulesBackend.
func (a *App) Rule(ctx context.Context, id string) (*api.RuleDetail, error) {
	a.rules.mu.Lock()
	var found *loadedRule
	for i := range a.rules.loaded {
		if a.rules.loaded[i].rule.ID == id {
			l := a.rules.loaded[i]
			found = &l
		}
	}
	a.rules.mu.Unlock()
	if found == nil {
		return nil, fmt.Errorf("rule %s: %w", id, store.ErrNotFound)
	}
	st := a.ruleStatus()[id]
	d := &api.RuleDetail{RuleInfo: ruleInfo(*found, st), Body: found.body, Labels: found.rule.Labels,
		Annotations: found.rule.Annotations, GroupBy: found.rule.GroupBy, Instances: st.Instances}
	if d.Instances == nil {
		d.Instances = []alert.Alert{}
	}
	return d, nil
}

// PutRule implements api.RulesBackend.
func (a *App) PutRule(ctx context.Context, id string, req api.RuleRequest) (*api.RuleDetail, error) {
	rule, err := alert.ParseRuleDef(id, []byte(req.Body))
	if err != nil {
		return nil, err
	}
	if err := checkRuleScope(ctx, rule); err != nil {
		return nil, err
	}
	a.rules.mu.Lock()
	for _, l := range a.rules.loaded {
		if l.rule.ID == id && l.origin != "api" {
			a.rules.mu.Unlock()
			return nil, fmt.Errorf("%w: rule %s comes from the %s rules; give the new rule another id, or disable %s with rules.disabled", alert.ErrInvalidRule, id, l.origin, id)
		}
	}
	a.rules.mu.Unlock()
	before, err := a.state.RuleDef(ctx, id)
	var prev any
	if err == nil {
		prev = map[string]any{"body": string(before.Body), "enabled": before.Enabled}
	} else if !errors.Is(err, state.ErrNotFound) {
		return nil, err
	}
	enabled := true
	if req.Enabled != nil {
		enabled = *req.Enabled
	}
	def := state.RuleDef{ID: id, Body: []byte(req.Body), Enabled: enabled, UpdatedAt: a.now(), UpdatedBy: auth.FromContext(ctx).Actor()}
	if err := a.state.PutRuleDef(ctx, def); err != nil {
		return nil, err
	}
	if err := a.reloadRules(ctx); err != nil {
		return nil, err
	}
	if err := a.audit(ctx, "rule.put", "rule:"+id, prev, map[string]any{"body": req.Body, "enabled": enabled}); err != nil {
		return nil, err
	}
	return a.Rule(ctx, id)
}

// DeleteRule implements api.RulesBackend.
func (a *App) DeleteRule(ctx context.Context, id string) error {
	before, err := a.state.RuleDef(ctx, id)
	if errors.Is(err, state.ErrNotFound) {
		return fmt.Errorf("rule %s is not defined through the API (built-in and file rules are turned off with rules.disabled): %w", id, store.ErrNotFound)
	}
	if err != nil {
		return err
	}
	if err := a.state.DeleteRuleDef(ctx, id); err != nil {
		return err
	}
	if err := a.reloadRules(ctx); err != nil {
		return err
	}
	return a.audit(ctx, "rule.delete", "rule:"+id, map[string]any{"body": string(before.Body), "enabled": before.Enabled}, nil)
}

// defaultBacktestWindow is how far back a backtest replays by default.
const defaultBacktestWindow = 7 * 24 * time.Hour

// BacktestRule implements api.RulesBackend.
func (a *App) BacktestRule(ctx context.Context, req api.BacktestRequest) (*api.BacktestAnswer, error) {
	defer a.waited.start()()
	var rule alert.Rule
	switch {
	case req.Body != "":
		id := req.RuleID
		if id == "" {
			var head struct {
				ID string `yaml:"id"`
			}
			yaml.Unmarshal([]byte(req.Body), &head)
			id = cmp.Or(head.ID, "draft")
		}
		r, err := alert.ParseRuleDef(id, []byte(req.Body))
		if err != nil {
			return nil, err
		}
		rule = r
	case req.RuleID != "":
		a.rules.mu.Lock()
		found := false
		for _, l := range a.rules.loaded {
			if l.rule.ID == req.RuleID {
				rule, found = l.rule, true
			}
		}
		a.rules.mu.Unlock()
		if !found {
			return nil, fmt.Errorf("rule %s: %w", req.RuleID, store.ErrNotFound)
		}
	default:
		return nil, fmt.Errorf("%w: name a rule (rule_id) or give a draft (body)", api.ErrBadRequest)
	}
	window := defaultBacktestWindow
	if req.Since != "" {
		d, err := config.ParseDuration(req.Since)
		if err != nil || d <= 0 {
			return nil, fmt.Errorf("%w: since %q: want a positive duration such as 7d", api.ErrBadRequest, req.Since)
		}
		window = d
	}
	opts := alert.BacktestOptions{To: a.now().Add(-time.Duration(a.cfg.Rules.QueryOffset)), IncidentStart: req.IncidentStart}
	opts.From = opts.To.Add(-window)
	if req.Step != "" {
		d, err := config.ParseDuration(req.Step)
		if err != nil || d <= 0 {
			return nil, fmt.Errorf("%w: step %q: want a positive duration such as 1m", api.ErrBadRequest, req.Step)
		}
		opts.Step = d
	}
	step := opts.Step
	if step == 0 {
		step = max(rule.Interval, time.Second)
	}
	if window/step > 100_000 {
		return nil, fmt.Errorf("%w: %s at %s steps is more than 100,000 evaluations; use a longer step or a shorter window", api.ErrBadRequest, config.Duration(window), config.Duration(step))
	}
	// The rule is replayed as it runs: with the active exclusions that
	// cover it, over its applications.
	excl, err := a.liveExclusions(ctx)
	if err != nil {
		return nil, err
	}
	opts.Rewrite = exclude.RuleRewriter(excl.predicateFor(rule.ID, opts.To))
	// A server keeps the replayed rows for the next backtest or dry run;
	// a one-off command would only pay for encoding them.
	if a.serving {
		opts.Cache = a.replayCache(ctx)
	}
	res, err := alert.Backtest(ctx, a.store, rule, opts)
	if err != nil {
		return nil, err
	}
	return &api.BacktestAnswer{BacktestResult: res, Name: rule.Name}, nil
}

// replayCache returns the cache of rule evaluations that backtests and
// dry runs share, nil for a caller who reads only some applications'
// spans: its replays read other rows than the cache holds.
func (a *App) replayCache(ctx context.Context) *alert.StepCache {
	if a.replays == nil || auth.FromContext(ctx).Scoped() {
		return nil
	}
	a.loadReplays(ctx)
	return a.replays
}
