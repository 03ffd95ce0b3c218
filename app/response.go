package app

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"strings"
	"sync"
	"time"

	"github.com/tracehound/tracehound/alert"
	"github.com/tracehound/tracehound/auth"
	"github.com/tracehound/tracehound/config"
	"github.com/tracehound/tracehound/contain"
	"github.com/tracehound/tracehound/detect"
	"github.com/tracehound/tracehound/state"
)

// Automatic response: a rule's response (alert.Response) runs when one of
// its instances starts firing, and the detectors' verdict on the client
// address of a newly firing alert can block it too (contain.detector).
// Everything is shadow unless both the configuration and the rule or
// detector setting say enforce; trusted addresses are never touched; every
// action is in the audit log and, when enforced, undone in one step with
// 'tracehound ip undo CHANGE'.

// DetectorTagPrefix starts the tag an investigated address gets with its
// verdict ("detector:malicious"); exclusion dry runs read it.
const DetectorTagPrefix = "detector:"

// responder holds the automatic response's limits.
type responder struct {
	mu sync.Mutex
	// blocks are the times of the enforced automatic blocks of the last
	// hour (the circuit breaker); investigated the times of the alert
	// investigations of the last hour.
	blocks       []time.Time
	investigated []time.Time
	// inFlight are the addresses being investigated.
	inFlight map[string]bool

	ctx    context.Context
	cancel context.CancelFunc
}

func (r *responder) init() {
	r.ctx, r.cancel = context.WithCancel(auth.WithPrincipal(context.Background(), auth.System))
	r.inFlight = map[string]bool{}
}

// take reports whether one more event fits in the last hour's budget of
// n, and records it when it does.
func take(times *[]time.Time, n int, now time.Time) bool {
	kept := (*times)[:0]
	for _, t := range *times {
		if now.Sub(t) < time.Hour {
			kept = append(kept, t)
		}
	}
	*times = kept
	if len(kept) >= n {
		return false
	}
	*times = append(*times, now)
	return true
}

// actionable reports whether an automatic action may touch the address:
// never loopback, link-local, multicast or unspecified ones.
func actionable(ip string) (netip.Addr, bool) {
	addr, err := netip.ParseAddr(ip)
	if err != nil {
		return addr, false
	}
	addr = addr.Unmap()
	return addr, !(addr.IsLoopback() || addr.IsLinkLocalUnicast() || addr.IsLinkLocalMulticast() ||
		addr.IsMulticast() || addr.IsUnspecified() || addr.IsInterfaceLocalMulticast())
}

// severityScore ranks an automatic block against a target's capacity.
func severityScore(s alert.Severity) int {
	switch s {
	case alert.SeverityCritical:
		return 90
	case alert.SeverityHigh:
		return 75
	case alert.SeverityMedium:
		return 50
	case alert.SeverityLow:
		return 25
	}
	return 10
}

// respond runs, in the background, the responses of the alerts that
// started firing at this evaluation, and has the detectors look at their
// client addresses.
func (a *App) respond(alerts []alert.Alert) {
	mode := a.cfg.Contain.AutoResponse
	if mode == config.AutoResponseOff {
		return
	}
	responses := map[string]*alert.Response{}
	a.rules.mu.Lock()
	for _, l := range a.rules.loaded {
		if !l.rule.Response.IsZero() {
			responses[l.rule.ID] = l.rule.Response
		}
	}
	a.rules.mu.Unlock()
	var jobs []alert.Alert
	var addrs []string
	seen := map[string]bool{}
	for _, al := range alerts {
		if al.State != alert.StateFiring || !al.StartsAt.Equal(al.EvaluatedAt) {
			continue
		}
		if responses[al.RuleID] != nil {
			jobs = append(jobs, al)
		}
		if ip := al.Labels[alert.LabelIP]; ip != "" && !seen[ip] {
			if _, ok := actionable(ip); ok {
				seen[ip] = true
				addrs = append(addrs, ip)
			}
		}
	}
	if len(jobs) > 0 {
		a.bg.Go(func() {
			for _, al := range jobs {
				if a.resp.ctx.Err() != nil {
					return
				}
				a.runResponse(a.resp.ctx, al, responses[al.RuleID])
			}
		})
	}
	if a.cfg.Contain.Detector.InvestigateAlerts && len(addrs) > 0 {
		a.investigateAlertIPs(addrs)
	}
}

// runResponse runs one rule's response to one alert.
func (a *App) runResponse(ctx context.Context, al alert.Alert, resp *alert.Response) {
	enforce := a.cfg.Contain.AutoResponse == config.AutoResponseOn && resp.Enforced() && al.Mode == alert.ModeActive
	source := contain.SourceRulePrefix + al.RuleID
	what := al.Annotations["summary"]
	if what == "" {
		what = al.RuleName
	}
	reason := fmt.Sprintf("rule %s: %s", al.RuleID, what)
	if resp.RateLimit != "" {
		reason += "; advised rate limit " + resp.RateLimit
	}
	base := map[string]any{"rule": al.RuleID, "alert": al.Fingerprint, "response": resp.Summary()}
	ip := al.Labels[alert.LabelIP]
	if _, ok := actionable(ip); ip != "" && ok {
		if resp.Block > 0 {
			a.autoBlock(ctx, ip, resp.Block, reason, source, severityScore(al.Severity), enforce, base)
		}
		if resp.RateLimit != "" {
			a.autoAdvise(ip, resp.RateLimit, reason, source, enforce, base)
		}
	} else if resp.Block > 0 || resp.RateLimit != "" {
		a.log.Warn("automatic response: the alert names no client address to act on (label peer_ip)", "rule", al.RuleID, "alert", al.Fingerprint)
	}
	if key := al.Labels[alert.LabelAPIKey]; resp.RevokeKey && key != "" {
		id, err := a.contain.Revoke(ctx, contain.RevokeRequest{KeyID: key, Reason: reason, Actor: auth.System.Actor(), Source: source, Shadow: !enforce})
		a.auditResponse(ctx, "response.revoke_key", "api_key:"+key, enforce, id, err, base)
	}
}

// autoBlock blocks an address, or records that it would have, within the
// circuit breaker's hourly budget.
func (a *App) autoBlock(ctx context.Context, ip string, d time.Duration, reason, source string, severity int, enforce bool, base map[string]any) {
	if enforce {
		a.resp.mu.Lock()
		ok := take(&a.resp.blocks, a.cfg.Contain.MaxAutoBlocksPerHour, a.now())
		a.resp.mu.Unlock()
		if !ok {
			enforce = false
			a.log.Warn("automatic response: more enforced blocks this hour than contain.max_auto_blocks_per_hour; recording this one as shadow",
				"ip", ip, "limit", a.cfg.Contain.MaxAutoBlocksPerHour)
			base["breaker"] = "max_auto_blocks_per_hour reached"
		}
	}
	res, err := a.contain.Set(ctx, contain.SetRequest{IPs: []string{ip}, Status: state.IPBlocked, Duration: d, Reason: reason,
		Actor: auth.System.Actor(), Source: source, Shadow: !enforce, Severity: severity, Tags: []string{"auto-response"}})
	if errors.Is(err, contain.ErrTrusted) {
		base["skipped"] = "trusted"
		err = nil
	}
	base["for"] = config.Duration(d).String()
	a.auditResponse(ctx, "response.block", "ip:"+ip, enforce, res.ChangeID, err, base)
}

// autoAdvise sends a rate-limit advice to the response webhooks.
func (a *App) autoAdvise(ip, limit, reason, source string, enforce bool, base map[string]any) {
	var err error
	if enforce {
		err = a.contain.AdviseRateLimit(ip, limit, reason, auth.System.Actor(), source)
	}
	a.auditResponse(a.resp.ctx, "response.rate_limit", "ip:"+ip, enforce, 0, err, map[string]any{"rule": base["rule"], "alert": base["alert"], "rate_limit": limit})
}

// auditResponse records an automatic action in the audit log.
func (a *App) auditResponse(ctx context.Context, action, target string, enforce bool, changeID int64, err error, details map[string]any) {
	entry := map[string]any{}
	for k, v := range details {
		entry[k] = v
	}
	entry["mode"] = "shadow"
	if enforce {
		entry["mode"] = "enforce"
	}
	if changeID != 0 {
		entry["change_id"] = changeID
	}
	if err != nil {
		entry["error"] = err.Error()
		a.log.Error("automatic response", "action", action, "target", target, "err", err)
	} else {
		a.log.Info("automatic response", "action", action, "target", target, "mode", entry["mode"], "change", changeID)
	}
	if aerr := a.audit(ctx, action, target, nil, entry); aerr != nil && ctx.Err() == nil {
		a.log.Error("audit an automatic response", "action", action, "err", aerr)
	}
}

// investigateAlertIPs has the detectors rate, in the background, the
// client addresses of newly firing alerts (within the hourly budget), tags
// each with its verdict and applies the detector response.
func (a *App) investigateAlertIPs(ips []string) {
	cfg := a.cfg.Contain.Detector
	var todo []string
	a.resp.mu.Lock()
	for _, ip := range ips {
		if a.resp.inFlight[ip] || !take(&a.resp.investigated, cfg.MaxPerHour, a.now()) {
			continue
		}
		a.resp.inFlight[ip] = true
		todo = append(todo, ip)
	}
	a.resp.mu.Unlock()
	if len(todo) == 0 {
		return
	}
	a.bg.Go(func() {
		defer func() {
			a.resp.mu.Lock()
			for _, ip := range todo {
				delete(a.resp.inFlight, ip)
			}
			a.resp.mu.Unlock()
		}()
		ctx, cancel := context.WithTimeout(a.resp.ctx, investigateTimeout)
		defer cancel()
		now := a.now()
		rep, err := detect.Investigate(ctx, a.store, detect.Options{
			Callers: todo, Since: now.Add(-time.Duration(cfg.Window)), Until: now,
			Enrich: a.detectEnrich(), Endpoints: a.endpointFacts(ctx), Now: a.now,
		})
		if err != nil {
			if ctx.Err() == nil {
				a.log.Warn("investigate the addresses of new alerts", "err", err, "addresses", len(todo))
			}
			return
		}
		for _, c := range rep.Callers {
			a.applyVerdict(ctx, c)
		}
	})
}

// applyVerdict tags an address with the detectors' verdict and blocks it
// when the detector response says so.
func (a *App) applyVerdict(ctx context.Context, c detect.CallerReport) {
	ip := c.Caller.Value
	if c.Caller.Kind != detect.CallerIP || ip == "" {
		return
	}
	tag := DetectorTagPrefix + strings.ToLower(string(c.Severity))
	reason := fmt.Sprintf("detectors: %s (risk %d)", c.Verdict, c.RiskScore)
	if _, err := a.contain.Tag(ctx, contain.TagRequest{IPs: []string{ip}, Add: []string{tag}, ReplacePrefix: DetectorTagPrefix,
		Reason: reason, Actor: auth.System.Actor(), Source: contain.SourceDetector}); err != nil {
		a.log.Warn("tag an address with its verdict", "ip", ip, "err", err)
		return
	}
	cfg := a.cfg.Contain.Detector
	if cfg.Block <= 0 || c.Severity != detect.Malicious || c.RiskScore < cfg.MinRisk {
		return
	}
	enforce := a.cfg.Contain.AutoResponse == config.AutoResponseOn && cfg.Mode == alert.ResponseEnforce
	a.autoBlock(ctx, ip, time.Duration(cfg.Block), reason, contain.SourceDetector, c.RiskScore, enforce,
		map[string]any{"verdict": c.Verdict, "risk": c.RiskScore})
}
