package app

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/tracehound/tracehound/api"
	"github.com/tracehound/tracehound/detect"
	"github.com/tracehound/tracehound/report"
	"github.com/tracehound/tracehound/state"
	"github.com/tracehound/tracehound/store"
)

// reportLookback is how far before an incident's first notification the
// report's investigation looks for the callers' first requests.
const reportLookback = 7 * 24 * time.Hour

// IncidentReport implements api.ReportBackend: it investigates the
// incident's addresses and keys over its window, and joins the API map's
// facts on the target endpoint, the detection gap, the actions taken
// (triage, enforcement and the audit log) and an hourly timeline.
func (a *App) IncidentReport(ctx context.Context, id int64) (*report.Incident, error) {
	inc, err := a.Incident(ctx, id)
	if err != nil {
		return nil, err
	}
	if inc.MergedInto != 0 {
		return nil, fmt.Errorf("%w: incident %d was merged into %d; report on that one", api.ErrBadRequest, id, inc.MergedInto)
	}
	r := &report.Incident{ID: inc.ID, Title: inc.Title, Severity: inc.Severity, Status: inc.Status, GeneratedAt: a.now().UTC(),
		Infrastructure: []report.Host{}, Actions: []report.Action{}, Findings: []string{}, Remediation: []string{}}
	callers := slices.Clone(inc.IPs)
	for _, k := range inc.APIKeys {
		callers = append(callers, "key:"+k)
	}
	since := inc.FirstSeen.Add(-reportLookback)
	until := a.now().Add(time.Minute)
	d := report.Detection{FirstNotification: inc.FirstSeen, Notifications: len(inc.Notifications)}
	for _, n := range inc.Notifications {
		if !slices.Contains(d.Rules, n.RuleID) {
			d.Rules = append(d.Rules, n.RuleID)
		}
		if d.FirstNotification.IsZero() || n.FirstSeen.Before(d.FirstNotification) {
			d.FirstNotification = n.FirstSeen
		}
	}
	if len(callers) > 0 {
		rep, err := detect.Investigate(ctx, a.store, detect.Options{Callers: callers, Since: since, Until: until,
			Enrich: a.detectEnrich(), Endpoints: a.endpointFacts(ctx), Now: a.now})
		if err != nil {
			return nil, fmt.Errorf("investigate the incident's callers: %w", err)
		}
		a.fillFromInvestigation(ctx, r, rep)
	}
	if !r.FirstActivity.IsZero() && !d.FirstNotification.IsZero() {
		d.FirstMalicious = r.FirstActivity
		if r.Campaign != nil && !r.Campaign.FirstSeen.IsZero() {
			d.FirstMalicious = r.Campaign.FirstSeen
		}
		d.Gap = d.FirstNotification.Sub(d.FirstMalicious)
	}
	r.Detection = d
	for _, ev := range inc.Timeline {
		what := ev.Kind
		if ev.After != "" {
			what += " → " + ev.After
		}
		r.Actions = append(r.Actions, report.Action{At: ev.At, Actor: ev.Actor, What: what, Detail: ev.Note})
	}
	for _, ip := range inc.IPs {
		det, err := a.IP(ctx, ip, time.Hour)
		if err != nil {
			continue
		}
		for _, h := range det.History {
			r.Actions = append(r.Actions, report.Action{At: h.At, Actor: h.Actor, What: h.Action + " " + ip, Detail: h.Reason})
		}
		for i := range r.Infrastructure {
			if r.Infrastructure[i].IP == ip {
				r.Infrastructure[i].Status = det.Effective
			}
		}
	}
	audit, err := a.state.Audit(ctx, state.AuditFilter{Target: fmt.Sprintf("incident:%d", id), Limit: 1000})
	if err == nil {
		for _, e := range audit {
			r.Actions = append(r.Actions, report.Action{At: e.At, Actor: e.Actor, What: e.Action})
		}
	}
	slices.SortStableFunc(r.Actions, func(x, y report.Action) int { return x.At.Compare(y.At) })
	if err := a.fillHourly(ctx, r, inc.IPs, since, until); err != nil {
		return nil, err
	}
	return r, nil
}

// fillFromInvestigation copies the verdict, campaign, exposure, hosts and
// root cause from an investigation.
func (a *App) fillFromInvestigation(ctx context.Context, r *report.Incident, rep *detect.Report) {
	r.Verdict, r.Certainty, r.RiskScore, r.Summary = rep.Overall.Verdict, string(rep.Overall.Certainty), rep.Overall.RiskScore, rep.Overall.Summary
	if len(rep.Campaigns) > 0 {
		r.Campaign = rep.Campaigns[0]
	}
	var worst *detect.CallerReport
	keys := map[string]bool{}
	for i := range rep.Callers {
		c := &rep.Callers[i]
		if worst == nil || c.RiskScore > worst.RiskScore {
			worst = c
		}
		act := c.Activity
		if !act.FirstSeen.IsZero() && (r.FirstActivity.IsZero() || act.FirstSeen.Before(r.FirstActivity)) {
			r.FirstActivity = act.FirstSeen
		}
		if act.LastSeen.After(r.LastActivity) {
			r.LastActivity = act.LastSeen
		}
		for _, k := range act.APIKeys {
			keys[k.APIKeyID] = true
		}
		if c.Caller.Kind == detect.CallerIP {
			h := report.Host{IP: c.Caller.Value, Verdict: c.Verdict, Requests: act.Requests}
			if e := c.Enrichment; e != nil {
				h.Country, h.ASN, h.ASOrg, h.DataCenter = e.Country, e.ASN, e.ASOrg, e.DataCenter
			}
			r.Infrastructure = append(r.Infrastructure, h)
			r.Exposure.Requests += act.Requests
			r.Exposure.Bytes += act.Bytes
			r.Exposure.Successes += act.Status.OK
		}
		for _, det := range c.Detectors {
			if det.Fired && det.Evidence.SQL != "" && len(r.Evidence) < 12 && !slices.Contains(r.Evidence, det.Evidence.SQL) {
				r.Evidence = append(r.Evidence, det.Evidence.SQL)
			}
		}
	}
	for k := range keys {
		r.Exposure.APIKeys = append(r.Exposure.APIKeys, k)
	}
	slices.Sort(r.Exposure.APIKeys)
	if worst != nil {
		r.Vector = worst.AttackPattern
		r.Techniques, r.OWASP, r.Remediation = worst.AttackTechniques, worst.OWASP, worst.Remediation
		for _, f := range worst.Findings {
			r.Findings = append(r.Findings, f.Text)
		}
		if r.Vector == "" {
			r.Vector = worst.Summary
		}
	}
	if c := r.Campaign; c != nil {
		r.Exposure.Target, r.Exposure.UniqueObjects, r.Exposure.ObjectSource = c.Target, c.UniqueObjects, c.ObjectSource
		r.Exposure.Requests, r.Exposure.Bytes = max(r.Exposure.Requests, c.Requests), max(r.Exposure.Bytes, c.Bytes)
	} else if worst != nil && len(worst.Activity.TopEndpoints) > 0 {
		r.Exposure.Target = worst.Activity.TopEndpoints[0].Endpoint
	}
	a.rootCause(ctx, r)
}

// rootCause states what the API map knows of the target, and whether it
// ever answered 429 (rate limiting).
func (a *App) rootCause(ctx context.Context, r *report.Incident) {
	rc := report.RootCause{Endpoint: r.Exposure.Target, Notes: []string{}}
	method, route, ok := strings.Cut(r.Exposure.Target, " ")
	if ok {
		if facts := a.endpointFacts(ctx); facts != nil {
			if f, known := facts(ctx, detect.EndpointRef{Method: method, Route: route}); known {
				rc.Known, rc.Documented, rc.Shadow, rc.Auth, rc.Tags, rc.Sensitivity = true, f.Documented, f.Shadow, f.Auth, f.Tags, f.Sensitivity
			}
		}
		q := `SELECT countIf(status_code = 429) AS limited FROM traces WHERE span_kind = 'Server' AND http_method = ? AND (http_route = ? OR http_path = ?) AND timestamp >= ? AND timestamp < ?`
		if res, err := a.store.Query(ctx, q, store.QueryOptions{Timeout: time.Minute}, method, route, route, r.FirstActivity, r.LastActivity.Add(time.Second)); err == nil && len(res.Rows) == 1 {
			n, _ := store.AsInt64(res.Rows[0][0])
			rc.RateLimited = n > 0
		}
	}
	switch {
	case rc.Shadow:
		rc.Notes = append(rc.Notes, "The endpoint is undocumented: it is absent from the service's OpenAPI spec, so no review, gateway policy or test covered it.")
	case rc.Known && !rc.Documented:
		rc.Notes = append(rc.Notes, "No OpenAPI spec is registered for the service; register one to find undocumented endpoints.")
	}
	switch rc.Auth {
	case "public":
		rc.Notes = append(rc.Notes, "It answers requests without credentials.")
	case "mixed":
		rc.Notes = append(rc.Notes, "It sometimes answers requests without credentials: enforcement depends on something else.")
	case "enforced":
		rc.Notes = append(rc.Notes, "It requires a credential, so the attacker held a valid one: check how it was obtained (trial sign-up, leak).")
	}
	if rc.Endpoint != "" && !rc.RateLimited {
		rc.Notes = append(rc.Notes, "No request to it was ever answered 429: there is no evidence of rate limiting.")
	}
	r.RootCause = rc
}

// fillHourly counts the incident's addresses' requests per hour.
func (a *App) fillHourly(ctx context.Context, r *report.Incident, ips []string, since, until time.Time) error {
	if len(ips) == 0 {
		return nil
	}
	marks := strings.TrimSuffix(strings.Repeat("?, ", len(ips)), ", ")
	args := make([]any, 0, len(ips)+2)
	for _, ip := range ips {
		args = append(args, ip)
	}
	from, to := since, until
	if !r.FirstActivity.IsZero() {
		from, to = r.FirstActivity.Truncate(time.Hour), r.LastActivity.Add(time.Hour)
	}
	q := `SELECT toStartOfHour(timestamp) AS hour, count() AS requests FROM traces WHERE span_kind = 'Server' AND peer_ip IN (` + marks + `) AND timestamp >= ? AND timestamp < ? GROUP BY hour ORDER BY hour`
	res, err := a.store.Query(ctx, q, store.QueryOptions{Timeout: time.Minute, MaxRows: 24 * 400}, append(args, from, to)...)
	if err != nil {
		return fmt.Errorf("incident timeline: %w", err)
	}
	for _, row := range res.Rows {
		t, _ := row[0].(time.Time)
		n, _ := store.AsInt64(row[1])
		r.Hourly = append(r.Hourly, report.Bucket{Start: t.UTC(), Count: n})
	}
	return nil
}
