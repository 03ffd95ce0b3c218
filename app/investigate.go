package app

import (
	"context"
	"encoding/json"
	"fmt"
	"net/netip"
	"strings"
	"sync"
	"time"

	"github.com/tracehound/tracehound/api"
	"github.com/tracehound/tracehound/apimap"
	"github.com/tracehound/tracehound/config"
	"github.com/tracehound/tracehound/detect"
	"github.com/tracehound/tracehound/ipintel"
	"github.com/tracehound/tracehound/llm"
	"github.com/tracehound/tracehound/state"
)

// Bounds of investigations.
const (
	// maxInvestigated bounds the callers of one investigation.
	maxInvestigated = 5000
	// investigateTimeout bounds one investigation (1,000 addresses take
	// well under a minute).
	investigateTimeout = 5 * time.Minute
	// factsTTL is how long the endpoint facts of an inventory built for
	// investigations are reused when no map snapshot exists.
	factsTTL = 5 * time.Minute
)

// Investigate implements api.InvestigateBackend: it runs the behavioural
// detectors over the callers' traffic, joins IP enrichment and the API
// map's endpoint facts, and returns the verdicts; with Narrate and an LLM
// configured, the LLM words the overall finding (it cannot change it).
func (a *App) Investigate(ctx context.Context, req api.InvestigationRequest) (*api.InvestigationResult, error) {
	if len(req.Callers) == 0 {
		return nil, fmt.Errorf("%w: name at least one IP address or API key", api.ErrBadRequest)
	}
	if len(req.Callers) > maxInvestigated {
		return nil, fmt.Errorf("%w: %d callers; at most %d in one investigation", api.ErrBadRequest, len(req.Callers), maxInvestigated)
	}
	since, until, err := a.sinceUntil(req.Since, req.Until)
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithTimeout(ctx, investigateTimeout)
	defer cancel()
	rep, err := detect.Investigate(ctx, a.store, detect.Options{
		Callers: req.Callers, Since: since, Until: until,
		Enrich: a.detectEnrich(), Endpoints: a.endpointFacts(ctx),
		Progress: req.Progress, Now: a.now,
	})
	if err != nil {
		return nil, err
	}
	res := &api.InvestigationResult{Report: rep}
	if req.Narrate {
		res.Narrative, res.NarrativeError = a.narrate(ctx, rep)
	}
	return res, nil
}

// Keys implements api.InvestigateBackend: the API keys seen in traffic.
func (a *App) Keys(ctx context.Context, q api.KeysQuery) (*detect.KeyInventory, error) {
	since, until, err := a.sinceUntil(q.Since, q.Until)
	if err != nil {
		return nil, err
	}
	return detect.Keys(ctx, a.store, detect.KeysOptions{Since: since, Until: until, FirstSeenWithin: q.FirstSeenWithin, Limit: q.Limit, Enrich: a.detectEnrich(), Now: a.now})
}

// Campaigns implements api.InvestigateBackend: the campaigns of a window.
func (a *App) Campaigns(ctx context.Context, q api.CampaignQuery) (*detect.CampaignReport, error) {
	since, until, err := a.sinceUntil(q.Since, q.Until)
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithTimeout(ctx, investigateTimeout)
	defer cancel()
	return detect.Campaigns(ctx, a.store, detect.CampaignOptions{Since: since, Until: until, Enrich: a.detectEnrich(), Endpoints: a.endpointFacts(ctx), Progress: q.Progress, Now: a.now})
}

// window resolves a since/until pair given as durations back from now or
// RFC 3339 times; since defaults to 7 days, until to now.
func (a *App) sinceUntil(since, until string) (time.Time, time.Time, error) {
	now := a.now()
	parse := func(name, s string, def time.Time) (time.Time, error) {
		if s == "" {
			return def, nil
		}
		if t, err := time.Parse(time.RFC3339, s); err == nil {
			return t, nil
		}
		d, err := config.ParseDuration(s)
		if err != nil || d <= 0 {
			return time.Time{}, fmt.Errorf("%w: %s %q: want a duration such as 7d or an RFC 3339 time", api.ErrBadRequest, name, s)
		}
		return now.Add(-d), nil
	}
	u, err := parse("until", until, now)
	if err != nil {
		return u, u, err
	}
	s, err := parse("since", since, u.Add(-7*24*time.Hour))
	if err != nil {
		return s, u, err
	}
	if !s.Before(u) {
		return s, u, fmt.Errorf("%w: since %s is not before until %s", api.ErrBadRequest, s.Format(time.RFC3339), u.Format(time.RFC3339))
	}
	return s, u, nil
}

// detectEnrich adapts IP enrichment for the detectors: offline sources
// always, AbuseIPDB when configured (its cache and quota apply). Without
// enrichment data it returns nil and the detectors do without.
func (a *App) detectEnrich() detect.EnrichFunc {
	e, err := a.enricher()
	if err != nil || e == nil {
		return nil
	}
	var mu sync.Mutex
	cache := map[string]detect.Enrichment{}
	return func(ctx context.Context, ip string) (detect.Enrichment, error) {
		mu.Lock()
		if v, ok := cache[ip]; ok {
			mu.Unlock()
			return v, nil
		}
		mu.Unlock()
		addr, err := netip.ParseAddr(ip)
		if err != nil {
			return detect.Enrichment{}, err
		}
		recs, err := e.Enrich(ctx, []netip.Addr{addr}, nil)
		if err != nil || len(recs) == 0 {
			return detect.Enrichment{}, err
		}
		r := recs[0]
		v := detect.Enrichment{Country: r.Country, ASN: r.ASN, ASOrg: r.ASOrg, ISP: r.ISP, UsageType: r.UsageType,
			DataCenter: isDataCenter(r.UsageType), Tor: r.IsTor, AbuseConfidence: r.AbuseConfidence}
		mu.Lock()
		cache[ip] = v
		mu.Unlock()
		return v, nil
	}
}

func isDataCenter(usage string) bool {
	return usage == ipintel.UsageDataCenter || strings.Contains(strings.ToLower(usage), "data center") || strings.Contains(strings.ToLower(usage), "hosting")
}

// factsCache keeps the endpoint facts of the latest map snapshot, or of
// an inventory built when no snapshot exists.
type factsCache struct {
	mu       sync.Mutex
	facts    map[string]detect.EndpointFacts
	snapshot int64     // the latest snapshot the facts come from; 0: an inventory
	built    time.Time // when the inventory was built
	// auth holds the auth counts of the older snapshots within the map's
	// window, by snapshot and endpoint id.
	auth map[int64]map[string]apimap.Auth
}

// endpointFacts returns the API map's facts for the detectors: from the
// latest map snapshot (auth judged over the snapshots of the map's
// window), or else from an inventory of the configured window, built once
// and reused for a few minutes.
func (a *App) endpointFacts(ctx context.Context) detect.EndpointFunc {
	facts, err := a.loadFacts(ctx)
	if err != nil {
		a.log.Warn("investigate without the API map's endpoint facts", "err", err)
		return nil
	}
	return func(_ context.Context, ep detect.EndpointRef) (detect.EndpointFacts, bool) {
		if f, ok := facts[ep.Service+" "+ep.Method+" "+ep.Route]; ok {
			return f, true
		}
		f, ok := facts[" "+ep.Method+" "+ep.Route]
		return f, ok
	}
}

func (a *App) loadFacts(ctx context.Context) (map[string]detect.EndpointFacts, error) {
	snaps, err := a.state.MapSnapshots(ctx, 0)
	if err != nil {
		return nil, err
	}
	c := &a.facts
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(snaps) > 0 {
		if c.facts != nil && c.snapshot == snaps[0].ID {
			return c.facts, nil
		}
		eps, err := a.snapshotFacts(ctx, snaps)
		if err != nil {
			return nil, err
		}
		c.facts, c.snapshot = indexFacts(eps), snaps[0].ID
		return c.facts, nil
	}
	if c.facts != nil && c.snapshot == 0 && a.now().Sub(c.built) < factsTTL {
		return c.facts, nil
	}
	v, err := a.inventory(ctx, 0, "")
	if err != nil {
		return nil, err
	}
	c.facts, c.snapshot, c.built = indexFacts(v.inv.Endpoints), 0, a.now()
	return c.facts, nil
}

// snapshotFacts returns the endpoints of the latest of snaps (newest
// first), each with its auth state judged from every snapshot taken
// within the map's window: a snapshot covers only the traffic since the
// one before, whose callers may all have carried a credential, and the
// map the user reads judges the whole window. Each older snapshot's
// counts are read once and kept (snapshots do not change). It runs with
// a.facts locked.
func (a *App) snapshotFacts(ctx context.Context, snaps []state.MapSnapshot) ([]apimap.Endpoint, error) {
	c := &a.facts
	latest, err := a.state.MapSnapshot(ctx, snaps[0].ID)
	if err != nil {
		return nil, err
	}
	eps := make([]apimap.Endpoint, len(latest.Endpoints))
	for i, se := range latest.Endpoints {
		if err := json.Unmarshal(se.Data, &eps[i]); err != nil {
			return nil, fmt.Errorf("snapshot %d: %w", latest.ID, err)
		}
	}
	since := snaps[0].TakenAt.Add(-time.Duration(a.cfg.APIMap.Window))
	kept := map[int64]map[string]apimap.Auth{}
	total := map[string]apimap.Auth{}
	for _, sm := range snaps[1:] {
		if !sm.TakenAt.After(since) {
			break
		}
		auth, ok := c.auth[sm.ID]
		if !ok {
			snap, err := a.state.MapSnapshot(ctx, sm.ID)
			if err != nil {
				return nil, err
			}
			auth = make(map[string]apimap.Auth, len(snap.Endpoints))
			for _, se := range snap.Endpoints {
				var e struct { // the counts alone
					ID   string      `json:"id"`
					Auth apimap.Auth `json:"auth"`
				}
				if err := json.Unmarshal(se.Data, &e); err != nil {
					return nil, fmt.Errorf("snapshot %d: %w", snap.ID, err)
				}
				auth[e.ID] = e.Auth
			}
		}
		kept[sm.ID] = auth
		for id, au := range auth {
			t := total[id]
			t.Unauthenticated2xx += au.Unauthenticated2xx
			t.UnauthenticatedDenied += au.UnauthenticatedDenied
			total[id] = t
		}
	}
	c.auth = kept
	for i := range eps {
		t := total[eps[i].ID]
		eps[i].Auth.State = apimap.AuthStateOf(eps[i].Auth.Unauthenticated2xx+t.Unauthenticated2xx, eps[i].Auth.UnauthenticatedDenied+t.UnauthenticatedDenied)
	}
	return eps, nil
}

// indexFacts keys facts by "service method template", and by " method
// template" for callers whose service the detectors do not know.
func indexFacts(eps []apimap.Endpoint) map[string]detect.EndpointFacts {
	out := make(map[string]detect.EndpointFacts, 2*len(eps))
	for _, e := range eps {
		f := detect.EndpointFacts{Documented: e.Documented, Shadow: e.Shadow, Auth: string(e.Auth.State), FirstSeen: e.FirstSeen}
		for _, t := range e.Tags {
			f.Tags = append(f.Tags, string(t))
		}
		for _, t := range e.Sensitivity {
			f.Sensitivity = append(f.Sensitivity, string(t))
		}
		out[e.Service+" "+e.Method+" "+e.Template] = f
		if _, ok := out[" "+e.Method+" "+e.Template]; !ok {
			out[" "+e.Method+" "+e.Template] = f
		}
	}
	return out
}

// narrate asks the LLM to word the investigation's worst finding. It
// returns the narrative, or why there is none; the report stands either
// way.
func (a *App) narrate(ctx context.Context, rep *detect.Report) (*llm.Narrative, string) {
	if a.llm == nil {
		return nil, "no LLM is configured (llm.base_url); the report above is complete without one"
	}
	var worst *detect.CallerReport
	for i := range rep.Callers {
		if worst == nil || rep.Callers[i].RiskScore > worst.RiskScore {
			worst = &rep.Callers[i]
		}
	}
	if worst == nil {
		return nil, "nothing to word"
	}
	f := llm.Facts{Subject: worst.Caller.String(), Verdict: worst.Verdict, Certainty: string(worst.Certainty), Risk: worst.RiskScore,
		AttackPattern: worst.AttackPattern, Remediation: worst.Remediation, Figures: map[string]float64{}}
	if len(rep.Callers) > 1 {
		f.Subject = fmt.Sprintf("%d callers (worst: %s)", len(rep.Callers), worst.Caller)
		f.Findings = append(f.Findings, rep.Overall.Summary)
	}
	for _, fd := range worst.Findings {
		f.Findings = append(f.Findings, fd.Text)
		for k, v := range fd.Figures {
			if x, ok := number(v); ok {
				f.Figures[fd.Detector+"."+k] = x
			}
		}
	}
	for _, t := range worst.AttackTechniques {
		f.Techniques = append(f.Techniques, t.ID+" "+t.Name)
	}
	n, err := llm.Narrate(ctx, a.llm, f)
	if err != nil {
		return nil, "the LLM's narrative was not used: " + err.Error()
	}
	return &n, ""
}

// number reads a JSON-ish figure as a float.
func number(v any) (float64, bool) {
	switch x := v.(type) {
	case int:
		return float64(x), true
	case int64:
		return float64(x), true
	case float64:
		return x, true
	case uint64:
		return float64(x), true
	case int32:
		return float64(x), true
	}
	return 0, false
}
