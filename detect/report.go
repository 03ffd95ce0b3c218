package detect

import (
	"context"
	"fmt"
	"slices"
	"strings"
)

// report runs the detectors, correlates campaigns and writes the reports.
func (inv *investigation) report(ctx context.Context, order []Caller) (*Report, error) {
	all := inv.ordered(order)
	prelim := map[*callerData]*CallerReport{}
	for _, cd := range all {
		inv.detect(cd)
		p := &CallerReport{}
		inv.scoreCaller(cd, p, 0)
		prelim[cd] = p
	}
	// Campaigns: linked addresses, then credential cohorts.
	campOf := map[*callerData]*Campaign{}
	var camps []*Campaign
	for _, cb := range inv.linkCallers(all, prelim) {
		if err := inv.buildCampaign(ctx, cb); err != nil {
			return nil, err
		}
		for _, m := range cb.members {
			campOf[m] = cb.out
		}
		camps = append(camps, cb.out)
	}
	cohortCamp := map[*cohort]*Campaign{}
	for _, cd := range all {
		c := inv.cohortByIP[cd.caller.Value]
		if c == nil || cd.caller.Kind != CallerIP {
			continue
		}
		if cohortCamp[c] == nil {
			cohortCamp[c] = inv.cohortCampaign(c)
			camps = append(camps, cohortCamp[c])
		}
		if campOf[cd] == nil {
			campOf[cd] = cohortCamp[c]
		}
	}
	for _, c := range camps {
		c.ID = campaignID(c.Target, c.IPs)
	}

	rep := &Report{Since: inv.since, Until: inv.until, Callers: []CallerReport{}, Campaigns: []*Campaign{}}
	final := map[*callerData]*CallerReport{}
	for _, cd := range all {
		cr := &CallerReport{Caller: cd.caller}
		size := 0
		if c := campOf[cd]; c != nil && prelim[cd].RiskScore >= riskInconclusive {
			size = c.IPCount
		}
		inv.scoreCaller(cd, cr, size)
		final[cd] = cr
	}
	// A campaign takes its worst member's verdict.
	for _, c := range camps {
		var worst *CallerReport
		for cd, cc := range campOf {
			if cc != c {
				continue
			}
			if r := final[cd]; worst == nil || r.RiskScore > worst.RiskScore {
				worst = r
			}
		}
		if worst == nil {
			continue
		}
		c.Severity, c.Class = worst.Severity, worst.Class
		c.Verdict = worst.Verdict
		c.Summary = campaignSummary(c)
	}
	used := map[*Campaign]bool{}
	for _, c := range order {
		cd := inv.callers[c]
		if cd == nil {
			rep.Callers = append(rep.Callers, emptyReport(c))
			continue
		}
		cr := final[cd]
		if cam := campOf[cd]; cam != nil {
			cr.Campaign = &CampaignRef{ID: cam.ID, Verdict: cam.Verdict, Members: cam.IPCount, Summary: cam.Summary}
			used[cam] = true
		}
		inv.fill(cd, cr, campOf[cd])
		rep.Callers = append(rep.Callers, *cr)
	}
	for _, c := range camps {
		if used[c] {
			rep.Campaigns = append(rep.Campaigns, c)
		}
	}
	rep.Overall = overall(rep)
	return rep, nil
}

// emptyReport is the report on a caller without traffic in the window.
func emptyReport(c Caller) CallerReport {
	return CallerReport{
		Caller: c, Verdict: string(Inconclusive), Severity: Inconclusive, Certainty: CertaintyLow,
		Summary: "No requests in the window.", Findings: []Finding{}, Detectors: []Detection{},
		AttackTechniques: []Technique{}, OWASP: []OWASPCategory{},
		Remediation: []string{"Check the address or key, or widen the window"},
		Activity:    Activity{TopEndpoints: []EndpointUse{}, APIKeys: []KeyUse{}, UserAgents: []string{}, IPs: []string{}},
	}
}

// fill writes a caller report's findings, mapping and activity.
func (inv *investigation) fill(cd *callerData, cr *CallerReport, cam *Campaign) {
	a := &cd.an
	cr.Detectors = sortDetections(a.dets)
	cr.AttackTechniques, cr.OWASP = inv.mapping(cd, cr.Class)
	cr.Activity = inv.activity(cd)
	cr.Enrichment = inv.enrich[cd.caller.Value]
	if cd.caller.Kind != CallerIP {
		cr.Enrichment = nil
	}
	cr.Findings = inv.findings(cd, cr, cam)
	cr.AttackPattern = inv.pattern(cd, cr)
	cr.Remediation = inv.remediation(cd, cr)
	fired := firedNames(cr.Detectors)
	switch {
	case len(fired) == 0 && cr.Class == ClassPartner:
		cr.Summary = fmt.Sprintf("%s: an established, scheduled client (%s).", cr.Verdict, a.scheduleTxt)
	case len(fired) == 0:
		cr.Summary = fmt.Sprintf("%s: no detector fired over %s requests.", cr.Verdict, fmtInt(cd.total.Requests))
	default:
		extra := ""
		if cr.Class == ClassPartner {
			extra = "; discounted as an established, scheduled client (" + a.scheduleTxt + ")"
		}
		if cam != nil {
			extra += fmt.Sprintf("; member of campaign %s (%d addresses)", cam.ID, cam.IPCount)
		}
		cr.Summary = fmt.Sprintf("%s (risk %d, certainty %s): %s fired over %s requests%s.",
			cr.Verdict, cr.RiskScore, cr.Certainty, strings.Join(fired, ", "), fmtInt(cd.total.Requests), extra)
	}
}

// activity sums up a caller's traffic.
func (inv *investigation) activity(cd *callerData) Activity {
	t := &cd.total
	act := Activity{
		Requests: t.Requests, Bytes: t.Bytes, FirstSeen: t.First, LastSeen: t.Last,
		Endpoints: len(cd.endpoints), Status: t.status(),
		TopEndpoints: []EndpointUse{}, APIKeys: []KeyUse{}, UserAgents: []string{}, IPs: []string{},
	}
	if t.Requests > 0 {
		act.AvgBytes = round(float64(t.Bytes)/float64(t.Requests), 0)
	}
	for _, n := range cd.days {
		if n > 0 {
			act.ActiveDays++
		}
	}
	for i, es := range cd.endpoints {
		if i == 5 {
			break
		}
		act.TopEndpoints = append(act.TopEndpoints, EndpointUse{
			Endpoint: es.ep.String(), Service: es.ep.Service, Requests: es.Requests, Bytes: es.Bytes,
			Share: round(float64(es.Requests)/float64(max(t.Requests, 1)), 4), Status: es.status(), Facts: es.facts,
		})
	}
	for _, k := range sortedCounts(cd.keys) {
		if k == "" {
			continue
		}
		act.APIKeys = append(act.APIKeys, inv.keyUse(k, cd.keys[k]))
	}
	for _, ua := range sortedCounts(cd.uas) {
		if len(act.UserAgents) == 5 {
			break
		}
		act.UserAgents = append(act.UserAgents, ua)
	}
	nets := map[string]bool{}
	for _, u := range cd.ips {
		if len(act.IPs) < 20 {
			act.IPs = append(act.IPs, u.ip)
		}
		nets[network(u.ip)] = true
	}
	act.Networks = len(nets)
	return act
}

// keyUse describes a key a caller used n times.
func (inv *investigation) keyUse(id string, n int64) KeyUse {
	ku := KeyUse{APIKeyID: id, Requests: n}
	k := inv.keys[id]
	if k == nil {
		return ku
	}
	ku.FirstSeen = k.firstSeen
	age, censored := k.age(inv.until, inv.edge)
	ku.AgeDays, ku.AgeCensored = round(age, 2), censored
	ku.CreatedBy = k.createdBy()
	ku.IPs, ku.Networks = len(k.ips), k.networks()
	ku.KeyRequests, ku.KeyBytes = k.requests, k.bytes
	if !k.asnsKnown {
		asns := map[uint32]bool{}
		for _, u := range k.ips {
			if en := inv.enrich[u.ip]; en != nil && en.ASN != 0 {
				asns[en.ASN] = true
			}
		}
		k.asns, k.asnsKnown = len(asns), true
	}
	ku.ASNs = k.asns
	return ku
}

// findings lists the facts behind a verdict: the traffic, the figures of
// each detector that fired, the key, the endpoint, the network and the
// campaign.
func (inv *investigation) findings(cd *callerData, cr *CallerReport, cam *Campaign) []Finding {
	out := []Finding{}
	t := &cd.total
	act := &cr.Activity
	if t.Requests > 0 {
		top := cd.endpoints[0]
		out = append(out, Finding{
			Detector: "activity",
			Text: fmt.Sprintf("%s requests from %s to %s, %s (%s) to %s, across %d endpoint(s)",
				fmtInt(t.Requests), fmtTime(t.First), fmtTime(t.Last), fmtInt(top.Requests),
				fmtPct(float64(top.Requests)/float64(t.Requests)), top.ep, len(cd.endpoints)),
			Figures: map[string]any{
				"requests": t.Requests, "first_seen": t.First, "last_seen": t.Last, "endpoints": len(cd.endpoints),
				"top_endpoint": top.ep.String(), "top_requests": top.Requests, "active_days": act.ActiveDays,
			},
		})
		out = append(out, Finding{
			Detector: "activity",
			Text: fmt.Sprintf("%s downloaded in all, %s a response on average; %s 2xx, %s 401, %s 403, %s 404",
				fmtBytes(float64(t.Bytes)), fmtBytes(act.AvgBytes), fmtInt(t.OK), fmtInt(t.S401), fmtInt(t.S403), fmtInt(t.S404)),
			Figures: map[string]any{"bytes": t.Bytes, "avg_bytes": act.AvgBytes, "ok": t.OK, "unauthorized": t.S401, "forbidden": t.S403, "not_found": t.S404},
		})
	}
	for _, d := range cr.Detectors {
		if d.Fired {
			out = append(out, Finding{Detector: d.Detector, Text: d.Finding, Figures: d.Evidence.Figures})
		}
	}
	if k := cd.an.key; k != nil {
		ku := inv.keyUse(k.id, cd.keys[k.id])
		age := fmt.Sprintf("%.1f days old", ku.AgeDays)
		if ku.AgeCensored {
			age = fmt.Sprintf("at least %.0f days old (first seen at the start of the stored data)", ku.AgeDays)
		}
		created := ""
		if ku.CreatedBy != "" {
			created = ", created by " + ku.CreatedBy
		}
		out = append(out, Finding{
			Detector: "api_key",
			Text: fmt.Sprintf("API key %s: first seen %s (%s%s); used from %d addresses in %d networks in the window, %s requests and %s in all",
				k.id, fmtTime(k.firstSeen), age, created, ku.IPs, ku.Networks, fmtInt(ku.KeyRequests), fmtBytes(float64(ku.KeyBytes))),
			Figures: map[string]any{
				"api_key_id": k.id, "first_seen": k.firstSeen, "age_days": ku.AgeDays, "age_censored": ku.AgeCensored,
				"created_by": ku.CreatedBy, "ips": ku.IPs, "networks": ku.Networks, "key_requests": ku.KeyRequests, "key_bytes": ku.KeyBytes,
			},
		})
	}
	if len(cd.endpoints) > 0 {
		if f := cd.endpoints[0].facts; f != nil && (f.Shadow || !f.Documented || f.Auth != "" || len(f.Sensitivity) > 0) {
			var parts []string
			switch {
			case f.Shadow:
				parts = append(parts, "undocumented (shadow)")
			case !f.Documented:
				parts = append(parts, "not in any spec")
			}
			if f.Auth != "" {
				parts = append(parts, "auth "+f.Auth)
			}
			if len(f.Tags) > 0 {
				parts = append(parts, "tags "+strings.Join(f.Tags, ", "))
			}
			if len(f.Sensitivity) > 0 {
				parts = append(parts, "sensitivity "+strings.Join(f.Sensitivity, ", "))
			}
			out = append(out, Finding{
				Detector: "endpoint",
				Text:     fmt.Sprintf("%s is %s", cd.endpoints[0].ep, strings.Join(parts, "; ")),
				Figures:  map[string]any{"endpoint": cd.endpoints[0].ep.String(), "shadow": f.Shadow, "documented": f.Documented, "auth": f.Auth},
			})
		}
	}
	if en := cr.Enrichment; en != nil {
		var parts []string
		if en.Country != "" {
			parts = append(parts, en.Country)
		}
		if en.ASN != 0 {
			parts = append(parts, fmt.Sprintf("AS%d %s", en.ASN, en.ASOrg))
		}
		if en.UsageType != "" {
			parts = append(parts, en.UsageType)
		} else if en.DataCenter {
			parts = append(parts, "data center")
		}
		if en.Tor {
			parts = append(parts, "Tor exit")
		}
		if en.AbuseConfidence > 0 {
			parts = append(parts, fmt.Sprintf("AbuseIPDB confidence %d", en.AbuseConfidence))
		}
		if len(parts) > 0 {
			out = append(out, Finding{Detector: "network", Text: cd.caller.Value + ": " + strings.Join(parts, ", "),
				Figures: map[string]any{"country": en.Country, "asn": en.ASN, "data_center": en.DataCenter, "tor": en.Tor, "abuse_confidence": en.AbuseConfidence}})
		}
	}
	if cam != nil {
		out = append(out, Finding{Detector: "campaign", Text: "Member of campaign " + cam.ID + ": " + cam.Summary,
			Figures: map[string]any{"campaign": cam.ID, "ips": cam.IPCount, "requests": cam.Requests, "unique_objects": cam.UniqueObjects}})
	}
	return out
}

// campaignSummary describes a campaign in a sentence.
func campaignSummary(c *Campaign) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%d addresses", c.IPCount)
	if len(c.APIKeys) == 1 {
		fmt.Fprintf(&b, " sharing API key %s", c.APIKeys[0])
	}
	fmt.Fprintf(&b, " on %s, %s requests", c.Target, fmtInt(c.Requests))
	if c.Bytes > 0 {
		fmt.Fprintf(&b, ", %s", fmtBytes(float64(c.Bytes)))
	}
	if c.UniqueObjects > 0 {
		fmt.Fprintf(&b, ", %s distinct objects (%s)", fmtInt(c.UniqueObjects), c.ObjectSource)
	}
	if len(c.Ranges) > 1 {
		fmt.Fprintf(&b, ", id ranges split between addresses (overlap %s)", fmtPct(c.Overlap))
	}
	fmt.Fprintf(&b, ", from %s to %s (%.1f hours)", fmtTime(c.FirstSeen), fmtTime(c.LastSeen), c.DurationHours)
	return b.String()
}

// overall sums up the callers.
func overall(rep *Report) Overall {
	o := Overall{Callers: len(rep.Callers), Severity: Benign, Certainty: CertaintyLow, Verdict: string(Benign)}
	rank := map[Severity]int{Malicious: 3, Suspicious: 2, Inconclusive: 1, Benign: 0}
	classes := map[Class]int{}
	for i := range rep.Callers {
		c := &rep.Callers[i]
		if c.Severity.Flagged() {
			o.Flagged++
			classes[c.Class]++
		}
		if i == 0 || rank[c.Severity] > rank[o.Severity] || (c.Severity == o.Severity && c.RiskScore > o.RiskScore) {
			o.Severity, o.Class, o.Certainty, o.RiskScore, o.Verdict = c.Severity, c.Class, c.Certainty, c.RiskScore, c.Verdict
		}
	}
	var names []string
	for cl, n := range classes {
		names = append(names, fmt.Sprintf("%d %s", n, cl))
	}
	slices.Sort(names)
	switch {
	case o.Flagged == 0:
		o.Summary = fmt.Sprintf("None of the %d callers is flagged.", o.Callers)
	default:
		o.Summary = fmt.Sprintf("%d of %d callers flagged (%s); worst: %s, risk %d.", o.Flagged, o.Callers, strings.Join(names, ", "), o.Verdict, o.RiskScore)
	}
	if n := len(rep.Campaigns); n > 0 {
		o.Summary += fmt.Sprintf(" %d campaign(s).", n)
	}
	return o
}
