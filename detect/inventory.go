package detect

import (
	"context"
	"fmt"
	"math"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/tracehound/tracehound/store"
)

// defaultKeyLimit caps a key inventory when KeysOptions.Limit is 0.
const defaultKeyLimit = 500

// Keys returns the API keys seen in traffic: each key's age (its first
// request since the lookback), the addresses and networks that used it,
// its endpoints, volume and error mix in the window, and a risk score from
// the detectors that need no request sequences (new key with volume,
// sharing across networks, errors, focus, bytes against the other keys).
// It reads the store in two queries: the keys and the stored hours.
func Keys(ctx context.Context, q store.Querier, o KeysOptions) (*KeyInventory, error) {
	since, until, err := window(o.Since, o.Until, o.Now)
	if err != nil {
		return nil, err
	}
	lookback := o.Lookback
	switch {
	case lookback > 0:
	case o.FirstSeenWithin > 0:
		lookback = max(0, o.FirstSeenWithin-until.Sub(since)) + 7*24*time.Hour
	default:
		lookback = defaultLookback
	}
	from := since.Add(-lookback)
	limit := o.Limit
	if limit <= 0 {
		limit = defaultKeyLimit
	}
	r := &runner{q: q}
	// The window's start is a literal so that every countIf shares it.
	res, err := r.query(ctx, sqlText("inventory", map[string]string{"issuer": issuerPattern()}), since, from, until)
	if err != nil {
		return nil, fmt.Errorf("read API keys: %w", err)
	}
	type keyRows struct {
		info KeyInfo
		kf   keyFacts
		eps  map[string]int64
	}
	byKey := map[string]*keyRows{}
	get := func(k string) *keyRows {
		kr := byKey[k]
		if kr == nil {
			kr = &keyRows{info: KeyInfo{APIKeyID: k}, kf: keyFacts{id: k}, eps: map[string]int64{}}
			byKey[k] = kr
		}
		return kr
	}
	cols := columns(res)
	for _, vals := range res.Rows {
		rw := row{cols, vals}
		kr := get(rw.str("k"))
		n := rw.int("requests")
		switch rw.str("kind") {
		case "key":
			c := counts{
				Requests: n, Bytes: rw.int("bytes"), OK: rw.int("ok"), S401: rw.int("s401"), S403: rw.int("s403"),
				S404: rw.int("s404"), S429: rw.int("s429"), S4xx: rw.int("s4xx"), S5xx: rw.int("s5xx"),
			}
			kr.kf.firstSeen, kr.kf.lastSeen = rw.time("first_seen"), rw.time("last_seen")
			if rw.val("created_at") != nil && rw.time("created_at").Equal(kr.kf.firstSeen) {
				kr.kf.created = rw.str("created_by")
			}
			kr.kf.requests, kr.kf.bytes = n, c.Bytes
			kr.info.Requests, kr.info.Bytes, kr.info.Status = n, c.Bytes, c.status()
		case "endpoint":
			if n > 0 {
				kr.eps[rw.str("ep")] = n
			}
		case "ip":
			if n > 0 {
				kr.kf.ips = append(kr.kf.ips, ipUse{ip: rw.str("peer_ip"), requests: n, first: rw.time("first_in_window"), last: rw.time("last_seen")})
			}
		}
	}
	// The keys active in the window, and what is typical of them.
	var keys []*keyRows
	var logReq, logBytes []float64
	for _, kr := range byKey {
		if kr.info.Requests == 0 {
			continue
		}
		keys = append(keys, kr)
		logReq = append(logReq, math.Log1p(float64(kr.info.Requests)))
		logBytes = append(logBytes, math.Log1p(float64(kr.info.Bytes)))
	}
	var facts []*keyFacts
	for _, kr := range keys {
		facts = append(facts, &kr.kf)
	}
	edge, err := readDataEdge(ctx, r, facts, from, until)
	if err != nil {
		return nil, err
	}
	mReq, mBytes := median(logReq), median(logBytes)
	madReq, madBytes := mad(logReq, mReq), mad(logBytes, mBytes)
	enriched := map[string]*Enrichment{}
	if o.Enrich != nil {
		var ips []string
		for _, kr := range keys {
			if len(kr.kf.ips) <= maxCoUsers {
				for _, u := range kr.kf.ips {
					ips = append(ips, u.ip)
				}
			}
		}
		enriched = enrichIPs(ctx, o.Enrich, ips)
	}
	out := &KeyInventory{Since: since, Until: until, Keys: []KeyInfo{}}
	for _, kr := range keys {
		ki := &kr.info
		k := &kr.kf
		slices.SortFunc(k.ips, func(a, b ipUse) int {
			if a.requests != b.requests {
				return cmpInt(b.requests, a.requests)
			}
			return cmpString(a.ip, b.ip)
		})
		ki.FirstSeen, ki.LastSeen = k.firstSeen, k.lastSeen
		age, censored := k.age(until, edge)
		ki.AgeDays, ki.AgeCensored, ki.CreatedBy = round(age, 2), censored, k.createdBy()
		if o.FirstSeenWithin > 0 && (censored || k.firstSeen.Before(until.Add(-o.FirstSeenWithin))) {
			continue
		}
		ki.IPCount, ki.Networks = len(k.ips), k.networks()
		ki.IPs = []string{}
		for i, u := range k.ips {
			if i < 10 {
				ki.IPs = append(ki.IPs, u.ip)
			}
		}
		asns := map[uint32]bool{}
		for _, u := range k.ips {
			if en := enriched[u.ip]; en != nil && en.ASN != 0 {
				asns[en.ASN] = true
			}
		}
		ki.ASNs = len(asns)
		ki.Endpoints = len(kr.eps)
		if top := sortedCounts(kr.eps); len(top) > 0 {
			ki.TopEndpoint = top[0]
			ki.TopShare = round(float64(kr.eps[top[0]])/float64(ki.Requests), 4)
		}
		ki.ErrorRate = round(float64(ki.Status.ClientErrors-ki.Status.TooMany)/float64(ki.Requests), 4)
		zReq := robustZ(math.Log1p(float64(ki.Requests)), mReq, madReq)
		zBytes := robustZ(math.Log1p(float64(ki.Bytes)), mBytes, madBytes)
		keyRisk(ki, k, censored, zReq, zBytes)
		out.Keys = append(out.Keys, *ki)
	}
	slices.SortFunc(out.Keys, func(a, b KeyInfo) int {
		switch {
		case a.RiskScore != b.RiskScore:
			return b.RiskScore - a.RiskScore
		case a.Requests != b.Requests:
			return cmpInt(b.Requests, a.Requests)
		}
		return cmpString(a.APIKeyID, b.APIKeyID)
	})
	out.Total = len(out.Keys)
	if len(out.Keys) > limit {
		out.Keys = out.Keys[:limit]
	}
	out.SQL = inventoryEvidenceSQL(since, from, until)
	out.Queries = r.n
	return out, nil
}

// keyRisk scores a key from its inventory figures.
func keyRisk(ki *KeyInfo, k *keyFacts, censored bool, zReq, zBytes float64) {
	var risk float64
	add := func(points, score float64, format string, args ...any) {
		if score < 0.05 {
			return
		}
		risk += points * score
		ki.RiskFactors = append(ki.RiskFactors, fmt.Sprintf(format, args...))
	}
	ki.RiskFactors = []string{}
	if !censored {
		add(35, ramp(30-ki.AgeDays, 0, 20)*ramp(zReq, 1, 3), "new key (%.1f days) with busy traffic (robust z %.1f on requests)", ki.AgeDays, zReq)
	}
	add(15, ramp(float64(ki.Networks), 1.5, 4)*ramp(float64(k.concurrency()), 1.5, 3),
		"used from %d addresses in %d networks, up to %d at once", ki.IPCount, ki.Networks, k.concurrency())
	add(20, ramp(ki.ErrorRate, 0.2, 0.6)*ramp(float64(ki.Requests), 50, 500), "%s of requests refused or not found", fmtPct(ki.ErrorRate))
	add(10, ramp(ki.TopShare, 0.8, 0.97)*ramp(float64(ki.Requests), 300, 3000), "%s of requests to %s", fmtPct(ki.TopShare), ki.TopEndpoint)
	add(20, ramp(zBytes, 2, 4), "downloads far above other keys (robust z %.1f on bytes)", zBytes)
	if ki.CreatedBy != "" && ki.AgeDays <= 30 {
		ki.RiskFactors = append(ki.RiskFactors, "created in the observed traffic by "+ki.CreatedBy)
	}
	ki.RiskScore = int(math.Round(math.Min(100, risk)))
}

// mad is the median absolute deviation of xs from m.
func mad(xs []float64, m float64) float64 {
	d := make([]float64, len(xs))
	for i, x := range xs {
		d[i] = math.Abs(x - m)
	}
	return median(d)
}

// inventoryEvidenceSQL is the inventory's query with its values bound,
// per key only.
func inventoryEvidenceSQL(since, from, until time.Time) string {
	return `SELECT api_key_id,
  min(timestamp) AS first_seen, max(timestamp) AS last_seen,
  argMin(http_method || ' ' || if(http_route <> '', http_route, http_path), timestamp) AS first_request,
  countIf(timestamp >= ` + timeLiteral(since) + `) AS requests,
  sumIf(response_bytes, timestamp >= ` + timeLiteral(since) + `) AS bytes,
  uniqExactIf(peer_ip, timestamp >= ` + timeLiteral(since) + `) AS ips,
  uniqExactIf(http_method || ' ' || if(http_route <> '', http_route, '(no route)'), timestamp >= ` + timeLiteral(since) + `) AS endpoints,
  countIf(timestamp >= ` + timeLiteral(since) + ` AND status_code BETWEEN 400 AND 499) AS client_errors
FROM traces
WHERE span_kind = 'Server' AND http_method <> '' AND api_key_id <> ''
  AND timestamp >= ` + timeLiteral(from) + ` AND timestamp < ` + timeLiteral(until) + `
GROUP BY api_key_id
ORDER BY requests DESC
LIMIT 1000`
}

// enrichIPs looks addresses up, a few at a time.
func enrichIPs(ctx context.Context, f EnrichFunc, ips []string) map[string]*Enrichment {
	out := map[string]*Enrichment{}
	var mu sync.Mutex
	var wg sync.WaitGroup
	work := make(chan string)
	for range enrichWorkers {
		wg.Go(func() {
			for ip := range work {
				en, err := f(ctx, ip)
				if err != nil {
					continue
				}
				mu.Lock()
				out[ip] = &en
				mu.Unlock()
			}
		})
	}
	seen := map[string]bool{}
	for _, ip := range ips {
		if ip == "" || seen[ip] {
			continue
		}
		seen[ip] = true
		if ctx.Err() != nil {
			break
		}
		work <- ip
	}
	close(work)
	wg.Wait()
	return out
}

// CampaignOptions configure a campaign search.
type CampaignOptions struct {
	// Since and Until bound the window (defaults as in Options).
	Since, Until time.Time
	// MaxCallers caps the busy, focused addresses investigated (default
	// 500); MinRequests is the fewest requests such an address sent in the
	// window (default 100).
	MaxCallers  int
	MinRequests int
	Lookback    time.Duration
	Enrich      EnrichFunc
	Endpoints   EndpointFunc
	Progress    func(done, total int)
	Now         func() time.Time
}

// CampaignReport is the result of a campaign search.
type CampaignReport struct {
	Since     time.Time   `json:"since"`
	Until     time.Time   `json:"until"`
	Campaigns []*Campaign `json:"campaigns"`
	// Screened counts the addresses investigated.
	Screened  int     `json:"screened"`
	Queries   int     `json:"queries"`
	ElapsedMS float64 `json:"elapsed_ms"`
}

// Campaigns finds the campaigns of a window: it investigates the busy
// addresses whose traffic mostly goes to one endpoint (the shape of
// automated abuse) and groups them, and it groups the addresses that did
// nothing but fail to log in on an authentication endpoint.
func Campaigns(ctx context.Context, q store.Querier, o CampaignOptions) (*CampaignReport, error) {
	began := time.Now()
	since, until, err := window(o.Since, o.Until, o.Now)
	if err != nil {
		return nil, err
	}
	maxCallers, minRequests := o.MaxCallers, o.MinRequests
	if maxCallers <= 0 {
		maxCallers = 500
	}
	if minRequests <= 0 {
		minRequests = 100
	}
	r := &runner{q: q}
	res, err := r.query(ctx, sqlText("screen", nil), since, until, minRequests, maxCallers)
	if err != nil {
		return nil, fmt.Errorf("screen addresses: %w", err)
	}
	var ips []string
	for _, vals := range res.Rows {
		if ip, _ := vals[0].(string); ip != "" {
			ips = append(ips, ip)
		}
	}
	out := &CampaignReport{Since: since, Until: until, Campaigns: []*Campaign{}, Screened: len(ips)}
	seen := map[string]bool{}
	if len(ips) > 0 {
		rep, err := Investigate(ctx, q, Options{
			Callers: ips, Since: since, Until: until, Lookback: o.Lookback,
			Enrich: o.Enrich, Endpoints: o.Endpoints, Progress: o.Progress,
		})
		if err != nil {
			return nil, err
		}
		out.Queries += rep.Queries
		for _, c := range rep.Campaigns {
			if !seen[c.ID] {
				seen[c.ID] = true
				out.Campaigns = append(out.Campaigns, c)
			}
		}
	}
	// Credential-attack cohorts.
	res, err = r.query(ctx, sqlText("authfail", map[string]string{"template": templateSQL}), since, until)
	if err != nil {
		return nil, fmt.Errorf("read refused logins: %w", err)
	}
	var eps []endpoint
	cols := columns(res)
	for _, vals := range res.Rows {
		rw := row{cols, vals}
		ep := endpoint{Service: rw.str("svc"), Method: rw.str("method"), Route: rw.str("route"), Routed: true}
		if ep.Route == "" {
			ep.Route, ep.Routed = rw.str("tmpl"), false
		}
		if authLike(ep.Route) && rw.int("addresses") >= minCohort {
			eps = append(eps, ep)
		}
	}
	slices.SortFunc(eps, func(a, b endpoint) int { return cmpString(a.key(), b.key()) })
	cs, err := readCohorts(ctx, r, eps, since, until)
	if err != nil {
		return nil, err
	}
	inv := &investigation{env: env{since: since, until: until}}
	var keys []string
	for k := range cs {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		c := inv.cohortCampaign(cs[k])
		c.ID = campaignID(c.Target, c.IPs)
		if seen[c.ID] {
			continue
		}
		seen[c.ID] = true
		c.Class, c.Severity = ClassCredentialStuffing, Suspicious
		if c.IPCount >= 5*minCohort {
			c.Severity = Malicious
		}
		c.Verdict = string(c.Severity) + " — " + string(c.Class)
		c.Summary = campaignSummary(c)
		out.Campaigns = append(out.Campaigns, c)
	}
	out.Queries += r.n
	out.ElapsedMS = float64(time.Since(began).Microseconds()) / 1000
	slices.SortStableFunc(out.Campaigns, func(a, b *Campaign) int {
		if c := a.FirstSeen.Compare(b.FirstSeen); c != 0 {
			return c
		}
		return strings.Compare(a.ID, b.ID)
	})
	return out, nil
}
