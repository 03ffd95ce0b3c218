package detect

import (
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Detector names, as Detection.Detector reports them.
const (
	DetectorEnumeration  = "enumeration"
	DetectorPagination   = "pagination"
	DetectorExportVolume = "export_volume"
	DetectorFocus        = "endpoint_focus"
	DetectorKeySharing   = "key_sharing"
	DetectorCredential   = "credential_attack"
	DetectorForcedBrowse = "forced_browsing"
	DetectorTiming       = "timing_regularity"
	DetectorNewKeyVolume = "new_key_volume"
)

// Detector thresholds.
const (
	detectorNames         = "enumeration pagination export_volume endpoint_focus key_sharing credential_attack forced_browsing timing_regularity new_key_volume"
	firedAt               = 0.5
	minEnumerationUniques = 20
	// minPeers is the fewest callers of an endpoint to compare a caller
	// with; bulkBytes the volume that counts as a bulk transfer.
	minPeers  = 6
	bulkBytes = 100e6
)

// Detectors lists the detectors in the order reports show them.
func Detectors() []string { return strings.Fields(detectorNames) }

// env is what every caller's detectors share.
type env struct {
	since, until time.Time
	lookback     time.Time
	edge         *dataEdge // where the stored data begins
	keys         map[string]*keyFacts
	peers        map[string]*peerStats
	cohortByIP   map[string]*cohort
	facts        map[string]*EndpointFacts
	enrich       map[string]*Enrichment
	hasRoutes    bool // some request in the window had an http.route
}

// analysis is the detectors' reading of one caller.
type analysis struct {
	seqs     map[*sequence]seqAnalysis
	main     *sequence // the sequence of the busiest endpoint
	dets     map[string]*Detection
	enumKind string // "numeric" or "text", for the best enumeration
	enumNum  *numericStats
	enumSeq  *sequence
	denied   float64 // the share of 401/403/404 answers on the enumerated endpoint
	export   *endpointStat
	page     *pageStats
	pageSeq  *sequence
	key      *keyFacts
	// established: the caller's key (or address) predates the data or is
	// old, and its activity recurs on a daily schedule.
	established bool
	scheduleTxt string
}

func (a *analysis) score(name string) float64 {
	if d := a.dets[name]; d != nil {
		return d.Score
	}
	return 0
}

func newDetection(name string, score float64, finding string, figures map[string]any, sql, note string) *Detection {
	score = round(clamp01(score), 3)
	return &Detection{
		Detector: name, Score: score, Fired: score >= firedAt, Finding: finding,
		Evidence: Evidence{Figures: figures, SQL: sql, Note: note},
	}
}

// baseWhere is the evidence condition for a caller's requests in the
// window; endpoint adds the endpoint. ok is false when a value cannot be
// written as a literal.
func baseWhere(c Caller, since, until time.Time, ep *endpoint) (string, bool) {
	cs, ok := callerSQL(c)
	if !ok {
		return "", false
	}
	w := "span_kind = 'Server' AND http_method <> '' AND " + windowSQL(since, until) + " AND " + cs
	if ep != nil {
		f, ok := ep.filter()
		if !ok {
			return "", false
		}
		w += " AND " + f
	}
	return w, true
}

// limited wraps the selection of a sequence's requests so that the
// evidence reads the same requests the detector read: the first limit
// when the sequence was truncated.
func limited(cols, where string, s *sequence) string {
	q := "SELECT " + cols + " FROM traces WHERE " + where
	if s.truncated {
		q += " ORDER BY timestamp, trace_id LIMIT " + strconv.Itoa(s.limit)
	}
	return q
}

func truncNote(s *sequence) string {
	if s.truncated {
		return fmt.Sprintf("read from the first %s of %s requests", fmtInt(int64(s.limit)), fmtInt(s.total))
	}
	return ""
}

// --- enumeration ------------------------------------------------------------

func (e *env) enumeration(cd *callerData) *Detection {
	a := &cd.an
	type cand struct {
		score float64
		s     *sequence
		num   *numericStats
		text  *textStats
		peers *peerStats
	}
	var best cand
	for _, s := range cd.seqs {
		sa := a.seqs[s]
		for i := range sa.numeric {
			st := &sa.numeric[i]
			if sc := numericEnumScore(st); sc > best.score || best.s == nil {
				best = cand{score: sc, s: s, num: st}
			}
		}
		for i := range sa.texts {
			st := &sa.texts[i]
			p := e.peers[peerKey(cd.caller.Kind, s.ep)]
			if p != nil && p.uniq != st.src {
				p = nil
			}
			if sc := textEnumScore(st, p); sc > best.score || best.s == nil {
				best = cand{score: sc, s: s, text: st, peers: p}
			}
		}
	}
	if best.s == nil {
		return newDetection(DetectorEnumeration, 0, "no object ids in the caller's requests", map[string]any{}, "", "")
	}
	a.enumSeq = best.s
	if best.num != nil {
		st := best.num
		a.enumKind, a.enumNum = "numeric", st
		if st.n > 0 {
			a.denied = float64(st.denied) / float64(st.n)
		}
		fig := map[string]any{
			"endpoint": best.s.ep.String(), "source": st.src.String(), "requests": st.n, "unique_ids": st.unique,
			"min_id": st.min, "max_id": st.max, "coverage": round(st.coverage, 4), "density": round(st.density, 4), "rank_correlation": round(st.rho, 4),
			"unique_ok_ids": st.okUnique, "min_ok_id": st.okMin, "max_ok_id": st.okMax,
			"id_changes": st.changes, "mode_step": st.modeStep, "mode_steps": int(math.Round(st.modeShare * float64(st.changes))),
			"mode_step_share": round(st.modeShare, 4), "longest_run": st.longestRun, "ok": st.ok, "denied": st.denied,
		}
		finding := fmt.Sprintf("%s on %s: %s distinct ids from %s to %s (coverage %s; %s of them %d apart), %s of them answered 2xx",
			st.src, best.s.ep, fmtInt(int64(st.unique)), fmtInt(st.min), fmtInt(st.max), fmtPct(st.coverage), fmtPct(st.density), abs64(st.modeStep),
			fmtInt(int64(st.okUnique)))
		if st.okUnique > 0 {
			finding += fmt.Sprintf(" (ids %s to %s)", fmtInt(st.okMin), fmtInt(st.okMax))
		}
		finding += fmt.Sprintf("; rank correlation with time %.2f, %s of id changes are %+d (longest run %s)",
			st.rho, fmtPct(st.modeShare), st.modeStep, fmtInt(int64(st.longestRun)))
		if st.denied > 0 {
			finding += fmt.Sprintf("; %s of %s requests answered 401/403/404", fmtInt(int64(st.denied)), fmtInt(int64(st.n)))
		}
		if best.score >= firedAt {
			finding = "Sequential enumeration of " + finding
		} else {
			finding = "No sequential enumeration: " + finding
		}
		return newDetection(DetectorEnumeration, best.score, finding, fig, e.numericEvidenceSQL(cd.caller, best.s, st), truncNote(best.s))
	}
	st := best.text
	a.enumKind = "text"
	fig := map[string]any{"endpoint": best.s.ep.String(), "source": st.src.String(), "requests": st.n, "unique_values": st.unique}
	peersTxt := "no peers to compare with"
	if p := best.peers; p != nil {
		fig["peers_with_values"] = p.uniqCallers
		fig["peers_p95_unique_values"] = round(p.p95Uniq, 2)
		fig["peers_median_unique_values"] = round(p.mUniq, 2)
		peersTxt = fmt.Sprintf("the endpoint's %s callers that send it reach %.0f at the 95th percentile (median %.0f)", fmtInt(p.uniqCallers), p.p95Uniq, p.mUniq)
	}
	verb := "Harvesting of"
	if best.score < firedAt {
		verb = "No harvesting of distinct values:"
	}
	finding := fmt.Sprintf("%s %s distinct values of %s on %s; %s", verb, fmtInt(int64(st.unique)), st.src, best.s.ep, peersTxt)
	return newDetection(DetectorEnumeration, best.score, finding, fig, e.textEvidenceSQL(cd.caller, best.s, st), truncNote(best.s))
}

// numericEnumScore scores a numeric source as sequential enumeration:
// ids that rise (or fall) with time, cover their range densely, and step
// by a constant, over enough distinct ids.
func numericEnumScore(st *numericStats) float64 {
	if st.unique < minEnumerationUniques {
		return 0
	}
	shape := 0.35*ramp(math.Abs(st.rho), 0.5, 0.9) + 0.35*ramp(math.Max(st.coverage, st.density), 0.3, 0.8) + 0.3*ramp(st.modeShare, 0.3, 0.7)
	return shape * ramp(float64(st.unique), minEnumerationUniques, 100)
}

// textEnumScore scores a non-numeric source by its distinct values
// against the endpoint's other callers.
func textEnumScore(st *textStats, p *peerStats) float64 {
	if st.unique < 30 {
		return 0
	}
	vol := ramp(float64(st.unique), 30, 100)
	if p == nil || p.uniqCallers < 6 {
		return vol * 0.5 * ramp(float64(st.unique), 100, 1000)
	}
	return vol * ramp(float64(st.unique)/math.Max(p.p95Uniq, 1), 2, 6)
}

func (e *env) numericEvidenceSQL(c Caller, s *sequence, st *numericStats) string {
	where, ok := baseWhere(c, e.since, e.until, &s.ep)
	num, ok2 := st.src.numberSQL()
	if !ok || !ok2 {
		return ""
	}
	return fmt.Sprintf(`WITH sel AS (
  %[2]s
),
ids AS (
  SELECT v, v - lag(v) OVER (ORDER BY v) AS g FROM (SELECT DISTINCT v FROM sel WHERE v IS NOT NULL)
)
SELECT count() AS requests, uniqExact(v) AS unique_ids, min(v) AS min_id, max(v) AS max_id,
  round(uniqExact(v) / (max(v) - min(v) + 1), 4) AS coverage,
  uniqExactIf(v, status_code BETWEEN 200 AND 299) AS unique_ok_ids,
  minIf(v, status_code BETWEEN 200 AND 299) AS min_ok_id, maxIf(v, status_code BETWEEN 200 AND 299) AS max_ok_id,
  (SELECT round(countIf(g = %[3]d) / greatest(countIf(g IS NOT NULL), 1), 4) FROM ids) AS density,
  round(corr(t, r), 4) AS rank_correlation,
  countIf(d <> 0) AS id_changes, countIf(d = %[1]d) AS mode_steps,
  countIf(status_code BETWEEN 200 AND 299) AS ok, countIf(status_code IN (401, 403, 404)) AS denied
FROM (
  SELECT v, status_code,
    row_number() OVER (ORDER BY timestamp, trace_id) AS t,
    rank() OVER (ORDER BY v) + (count() OVER (PARTITION BY v) - 1) / 2 AS r,
    v - lag(v) OVER (ORDER BY timestamp, trace_id) AS d
  FROM sel
  WHERE v IS NOT NULL
)`, st.modeStep, limited("timestamp, trace_id, status_code, "+num+" AS v", where, s), abs64(st.modeStep))
}

func (e *env) textEvidenceSQL(c Caller, s *sequence, st *textStats) string {
	f, ok1 := s.ep.filter()
	v, ok2 := st.src.valueSQL()
	cv, ok3 := quote(c.Value)
	if !ok1 || !ok2 || !ok3 {
		return ""
	}
	col := c.Kind.column()
	return fmt.Sprintf(`WITH per AS (
  SELECT %[1]s AS caller, uniqExactIf(v, v <> '') AS unique_values
  FROM (
    SELECT %[1]s, %[2]s AS v
    FROM traces
    WHERE span_kind = 'Server' AND http_method <> '' AND %[3]s AND %[4]s AND %[1]s <> ''
  )
  GROUP BY %[1]s
)
SELECT (SELECT unique_values FROM per WHERE caller = %[5]s) AS unique_values,
  countIf(unique_values > 0) AS peers_with_values,
  quantile_cont(if(unique_values > 0, unique_values, NULL), 0.95) AS peers_p95_unique_values,
  median(if(unique_values > 0, unique_values, NULL)) AS peers_median_unique_values
FROM per`, col, v, windowSQL(e.since, e.until), f, cv)
}

// --- pagination -------------------------------------------------------------

func (e *env) pagination(cd *callerData) *Detection {
	a := &cd.an
	var best *pageStats
	var bestSeq *sequence
	bestScore := -1.0
	var bestPeers *peerStats
	for _, s := range cd.seqs {
		sa := a.seqs[s]
		for i := range sa.pages {
			ps := &sa.pages[i]
			p := e.peers[peerKey(cd.caller.Kind, s.ep)]
			if p != nil && p.page != ps.param {
				p = nil
			}
			if sc := pageScore(ps, p); sc > bestScore {
				best, bestSeq, bestScore, bestPeers = ps, s, sc, p
			}
		}
	}
	if best == nil {
		return newDetection(DetectorPagination, 0, "no paginated traversals", map[string]any{}, "", "")
	}
	a.page, a.pageSeq = best, bestSeq
	fig := map[string]any{
		"endpoint": bestSeq.ep.String(), "param": best.param, "paged_requests": best.paged, "traversals": best.traversals,
		"pages": best.unique, "max_page": best.maxPage, "steps": best.steps, "mode_step": best.modeStep,
		"mode_steps": int(math.Round(best.modeShare * float64(best.steps))), "mode_step_share": round(best.modeShare, 4),
		"adjacent_steps": best.adjacent, "adjacent_share": round(best.adjShare, 4),
	}
	if best.sizeParam != "" {
		fig["page_size_param"], fig["page_size"] = best.sizeParam, best.sizeValue
	}
	peersTxt := "no peers page through it"
	if p := bestPeers; p != nil && p.pagedCallers > 0 {
		fig["peers_paging"] = p.pagedCallers
		fig["peers_p95_max_page"] = round(p.p95Page, 2)
		peersTxt = fmt.Sprintf("the endpoint's %s other paging callers reach page %.0f at the 95th percentile", fmtInt(max(p.pagedCallers-1, 0)), p.p95Page)
	}
	size := ""
	if best.sizeParam != "" {
		size = fmt.Sprintf(", constant %s=%s", best.sizeParam, best.sizeValue)
	}
	verb := "Pagination crawl"
	if bestScore < firedAt {
		verb = "No pagination crawl"
	}
	finding := fmt.Sprintf("%s on %s: %s requests step %s by %+d in %s of steps across %s traversals, up to %s %s%s; %s",
		verb, bestSeq.ep, fmtInt(int64(best.paged)), best.param, best.modeStep, fmtPct(best.modeShare), fmtInt(int64(best.traversals)),
		best.param, fmtInt(best.maxPage), size, peersTxt)
	return newDetection(DetectorPagination, bestScore, finding, fig, e.pageEvidenceSQL(cd.caller, bestSeq, best), truncNote(bestSeq))
}

// pageScore scores a page parameter: many requests stepping regularly
// (a crawl), going deeper than the endpoint's other callers go, or, with
// too few of those, many pages per traversal.
func pageScore(ps *pageStats, p *peerStats) float64 {
	crawl := ramp(float64(ps.paged), 30, 300) * ramp(ps.modeShare, 0.5, 0.85)
	var depth float64
	if p != nil && p.pagedCallers >= 6 {
		depth = ramp(float64(ps.maxPage)/math.Max(p.p95Page, 1), 2, 6)
	} else {
		depth = ramp(float64(ps.paged)/math.Max(float64(ps.traversals), 1), 3, 10)
	}
	return crawl * depth
}

func (e *env) pageEvidenceSQL(c Caller, s *sequence, ps *pageStats) string {
	where, ok := baseWhere(c, e.since, e.until, &s.ep)
	src := idSource{Param: ps.param}
	num, ok2 := src.numberSQL()
	pat, ok3 := paramPattern(ps.param)
	f, ok4 := s.ep.filter()
	if !ok || !ok2 || !ok3 || !ok4 {
		return ""
	}
	col := c.Kind.column()
	return fmt.Sprintf(`SELECT * FROM (
  SELECT count() AS paged_requests, uniqExact(rest) AS traversals, uniqExact(p) AS pages, max(p) AS max_page,
    countIf(d IS NOT NULL) AS steps, countIf(d = %[1]d) AS mode_steps, countIf(adj) AS adjacent_steps
  FROM (
    SELECT p, rest, p - lag(p) OVER (PARTITION BY rest ORDER BY timestamp, trace_id) AS d,
      rest = lag(rest) OVER (ORDER BY timestamp, trace_id) AND p - lag(p) OVER (ORDER BY timestamp, trace_id) = %[1]d AS adj
    FROM (%[2]s)
    WHERE p IS NOT NULL
  )
) AS caller, (
  SELECT countIf(mp > 0) AS peers_paging, quantile_cont(if(mp > 0, mp, NULL), 0.95) AS peers_p95_max_page
  FROM (
    SELECT %[3]s, max(coalesce(%[4]s, 0)) AS mp
    FROM traces
    WHERE span_kind = 'Server' AND http_method <> '' AND %[5]s AND %[6]s AND %[3]s <> ''
    GROUP BY %[3]s
  )
) AS peers`, ps.modeStep,
		limited("timestamp, trace_id, "+num+" AS p, regexp_replace(http_target, '[?&]"+pat+"=[^&#]*', '&', 'g') AS rest", where, s),
		col, num, windowSQL(e.since, e.until), f)
}

// --- export volume ----------------------------------------------------------

func (e *env) exportVolume(cd *callerData) *Detection {
	a := &cd.an
	bestScore := -1.0
	var best *Detection
	for _, es := range cd.endpoints {
		if cd.total.Bytes == 0 || 5*es.Bytes < cd.total.Bytes || es.Requests == 0 {
			continue
		}
		p := e.peers[peerKey(cd.caller.Kind, es.ep)]
		if p == nil {
			continue
		}
		x, avg := float64(es.Bytes), float64(es.Bytes)/float64(es.Requests)
		zb := robustZ(math.Log1p(x), p.mLBytes, p.madLBytes)
		za := robustZ(math.Log1p(avg), p.mLAvg, p.madLAvg)
		var sc float64
		var finding string
		verb := "Export volume"
		fewPeers := p.callers < minPeers
		if fewPeers {
			// Too few callers to compare with: judge the volume itself.
			sc = ramp(x, bulkBytes, 10*bulkBytes)
		} else {
			sc = ramp(math.Max(zb, za), 2, 4) * ramp(x, bulkBytes/10, bulkBytes)
		}
		if f := e.facts[es.ep.key()]; f != nil && (f.has("export") || f.has("bulk")) {
			sc = clamp01(1.2 * sc)
		}
		if sc <= bestScore {
			continue
		}
		if sc < firedAt {
			verb = "Normal volume"
		}
		if fewPeers {
			finding = fmt.Sprintf("%s on %s: %s in %s requests (%s a response); only %d caller(s) use the endpoint, too few to compare with, so the volume is judged against %s of bulk transfer",
				verb, es.ep, fmtBytes(x), fmtInt(es.Requests), fmtBytes(avg), p.callers, fmtBytes(bulkBytes))
		} else {
			finding = fmt.Sprintf("%s on %s: %s in %s requests (%s a response); the endpoint's %s callers' median is %s (%s a response); robust z %.1f on bytes, %.1f on bytes per response",
				verb, es.ep, fmtBytes(x), fmtInt(es.Requests), fmtBytes(avg), fmtInt(p.callers), fmtBytes(p.mBytes), fmtBytes(p.mAvg), zb, za)
		}
		bestScore = sc
		a.export = es
		fig := map[string]any{
			"endpoint": es.ep.String(), "requests": es.Requests, "bytes": es.Bytes, "avg_bytes": round(avg, 0),
			"callers": p.callers, "median_bytes": round(p.mBytes, 0), "median_avg_bytes": round(p.mAvg, 0),
			"z_bytes": round(zb, 2), "z_avg_bytes": round(za, 2),
		}
		best = newDetection(DetectorExportVolume, sc, finding, fig, volumeEvidenceSQL(cd.caller, p.scope, e.since, e.until), "")
	}
	if best == nil {
		return newDetection(DetectorExportVolume, 0, "no response volume to compare", map[string]any{}, "", "")
	}
	return best
}

// --- endpoint focus ---------------------------------------------------------

func (e *env) focus(cd *callerData) *Detection {
	if len(cd.endpoints) == 0 || cd.total.Requests == 0 {
		return newDetection(DetectorFocus, 0, "no requests", map[string]any{}, "", "")
	}
	top := cd.endpoints[0]
	share := float64(top.Requests) / float64(cd.total.Requests)
	sc := ramp(share, 0.8, 0.97) * ramp(float64(cd.total.Requests), 50, 300)
	fig := map[string]any{
		"requests": cd.total.Requests, "endpoints": len(cd.endpoints), "top_endpoint": top.ep.String(),
		"top_requests": top.Requests, "top_share": round(share, 4),
	}
	finding := fmt.Sprintf("%s of %s requests went to %s (%d endpoint(s) in all)", fmtPct(share), fmtInt(cd.total.Requests), top.ep, len(cd.endpoints))
	if sc >= firedAt {
		finding = "Single-endpoint focus: " + finding
	}
	sql := ""
	if where, ok := baseWhere(cd.caller, e.since, e.until, nil); ok {
		sql = `SELECT sum(n) AS requests, count() AS endpoints, max(n) AS top_requests, round(max(n) / sum(n), 4) AS top_share
FROM (
  SELECT service_name, http_method, http_route, if(http_route = '', ` + templateSQL + `, '') AS tmpl, count() AS n
  FROM traces
  WHERE ` + where + `
  GROUP BY service_name, http_method, http_route, tmpl
)`
	}
	return newDetection(DetectorFocus, sc, finding, fig, sql, "")
}

// --- key sharing ------------------------------------------------------------

func (e *env) keySharing(cd *callerData) *Detection {
	k := cd.an.key
	if k == nil {
		return newDetection(DetectorKeySharing, 0, "no API key", map[string]any{}, "", "")
	}
	nets, conc := k.networks(), k.concurrency()
	asns, countries := map[uint32]bool{}, map[string]bool{}
	for _, u := range k.ips {
		if en := e.enrich[u.ip]; en != nil {
			if en.ASN != 0 {
				asns[en.ASN] = true
			}
			if en.Country != "" {
				countries[en.Country] = true
			}
		}
	}
	sc := ramp(float64(nets), 1.5, 4) * ramp(float64(conc), 1.5, 3)
	if len(asns) < 2 && len(countries) < 2 {
		sc *= 0.8
	}
	fig := map[string]any{"api_key_id": k.id, "ips": len(k.ips), "networks": nets, "concurrent_ips": conc, "key_requests": k.requests}
	if len(asns) > 0 {
		fig["asns"] = len(asns)
	}
	if len(countries) > 0 {
		fig["countries"] = len(countries)
	}
	finding := fmt.Sprintf("API key %s used from %d addresses in %d networks, up to %d at once", k.id, len(k.ips), nets, conc)
	if len(asns) > 0 || len(countries) > 0 {
		finding += fmt.Sprintf(" (%d ASNs, %d countries)", len(asns), len(countries))
	}
	sql := ""
	if kv, ok := quote(k.id); ok {
		sql = `WITH iv AS (
  SELECT peer_ip, ` + networkSQL + ` AS network, count() AS n, min(timestamp) AS s, max(timestamp) AS e
  FROM traces
  WHERE span_kind = 'Server' AND http_method <> '' AND ` + windowSQL(e.since, e.until) + ` AND api_key_id = ` + kv + `
  GROUP BY peer_ip, network
),
edges AS (
  SELECT s AS t, 1 AS d FROM iv
  UNION ALL
  SELECT e AS t, -1 AS d FROM iv
),
running AS (
  SELECT sum(d) OVER (ORDER BY t, d DESC ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW) AS active FROM edges
)
SELECT count() AS ips, uniqExact(network) AS networks, sum(n) AS key_requests,
  (SELECT max(active) FROM running) AS concurrent_ips
FROM iv`
	}
	return newDetection(DetectorKeySharing, sc, finding, fig, sql, "")
}

// --- credential attacks -----------------------------------------------------

func (e *env) credential(cd *callerData) *Detection {
	var att, fail, ok, failUsers int64
	var eps []*endpointStat
	for _, es := range cd.endpoints {
		if !es.authLike && (es.facts == nil || !es.facts.has("auth")) {
			continue
		}
		eps = append(eps, es)
		att += es.Requests
		fail += es.S401 + es.S403
		ok += es.OK
		failUsers += es.FailUsers
	}
	if att == 0 {
		return newDetection(DetectorCredential, 0, "no requests to authentication endpoints", map[string]any{}, "", "")
	}
	ratio := float64(fail) / float64(att)
	sc := math.Max(ramp(float64(fail), 5, 50), ramp(float64(failUsers), 5, 30)) * ramp(ratio, 0.5, 0.9)
	fig := map[string]any{"attempts": att, "failures": fail, "successes": ok, "failure_rate": round(ratio, 4), "failed_users": failUsers}
	finding := fmt.Sprintf("%s of %s attempts on %s failed (%s distinct users among failures)", fmtInt(fail), fmtInt(att), eps[0].ep, fmtInt(failUsers))
	sql, note := "", ""
	if c := e.cohortByIP[cd.caller.Value]; c != nil && cd.caller.Kind == CallerIP {
		m := c.byIP[cd.caller.Value]
		own := ramp(float64(m.failures)/float64(max(m.attempts, 1)), 0.4, 0.8)
		if csc := ramp(float64(len(c.members)), minCohort, 100) * own; csc > sc {
			sc = csc
		}
		fig["cohort_addresses"] = len(c.members)
		fig["cohort_attempts"] = c.attempts
		fig["cohort_failures"] = c.failures
		fig["cohort_successes"] = c.successes
		fig["cohort_start"], fig["cohort_end"] = c.start, c.end
		finding += fmt.Sprintf("; one of %s addresses that did nothing but fail on %s between %s and %s (%s attempts, %s failed, %s succeeded)",
			fmtInt(int64(len(c.members))), c.ep, fmtTime(c.start), fmtTime(c.end), fmtInt(c.attempts), fmtPct(float64(c.failures)/float64(max(c.attempts, 1))), fmtInt(c.successes))
		sql = c.evidenceSQL(e.since, e.until)
		note = "the query counts the cohort; the caller's own figures come from its requests to the authentication endpoints"
	} else if where, ok := baseWhere(cd.caller, e.since, e.until, nil); ok {
		var fs []string
		for _, es := range eps {
			if f, ok := es.ep.filter(); ok {
				fs = append(fs, "("+f+")")
			}
		}
		if len(fs) == len(eps) {
			sql = `SELECT count() AS attempts, countIf(status_code IN (401, 403)) AS failures,
  countIf(status_code BETWEEN 200 AND 299) AS successes,
  uniqExactIf(user_id, user_id <> '' AND status_code IN (401, 403)) AS failed_users
FROM traces
WHERE ` + where + ` AND (` + strings.Join(fs, " OR ") + `)`
		}
	}
	if sc >= firedAt {
		finding = "Credential attack: " + finding
	}
	return newDetection(DetectorCredential, sc, finding, fig, sql, note)
}

// --- forced browsing --------------------------------------------------------

func (e *env) forcedBrowsing(cd *callerData) *Detection {
	paths := cd.total.Unrouted404
	if !e.hasRoutes {
		paths = cd.total.Paths404
	}
	share := 0.0
	if cd.total.Requests > 0 {
		share = float64(cd.total.S404) / float64(cd.total.Requests)
	}
	sc := ramp(float64(paths), 10, 50) * ramp(share, 0.2, 0.5)
	fig := map[string]any{"requests": cd.total.Requests, "not_found": cd.total.S404, "not_found_share": round(share, 4), "unknown_paths_404": paths}
	finding := fmt.Sprintf("%s distinct unknown paths answered 404; %s of requests were 404", fmtInt(paths), fmtPct(share))
	if sc >= firedAt {
		finding = "Forced browsing: " + finding
	}
	sql := ""
	if where, ok := baseWhere(cd.caller, e.since, e.until, nil); ok {
		cond := "status_code = 404 AND http_route = ''"
		if !e.hasRoutes {
			cond = "status_code = 404"
		}
		sql = `SELECT count() AS requests, countIf(status_code = 404) AS not_found,
  uniqExactIf(http_path, ` + cond + `) AS unknown_paths_404
FROM traces
WHERE ` + where
	}
	return newDetection(DetectorForcedBrowse, sc, finding, fig, sql, "")
}

// --- timing -----------------------------------------------------------------

func (e *env) timing(cd *callerData) *Detection {
	s := cd.an.main
	if s == nil {
		return newDetection(DetectorTiming, 0, "too few requests to time", map[string]any{}, "", "")
	}
	t := cd.an.seqs[s].timing
	sc := ramp(1-t.localCV, 0.3, 0.7) * ramp(float64(t.gaps), 20, 100)
	fig := map[string]any{
		"endpoint": s.ep.String(), "gaps": t.gaps, "mean_gap_s": round(t.mean, 3), "std_gap_s": round(t.std, 3),
		"cv": round(t.cv, 3), "blocks": t.blocks, "local_cv": round(t.localCV, 3),
	}
	finding := fmt.Sprintf("inter-arrival times on %s: mean %.1f s over %s gaps, coefficient of variation %.2f (%.2f within blocks of %d)",
		s.ep, t.mean, fmtInt(int64(t.gaps)), t.cv, t.localCV, timingBlock)
	if sc >= firedAt {
		finding = "Machine-regular timing (automation): " + finding
	}
	sql := ""
	if where, ok := baseWhere(cd.caller, e.since, e.until, &s.ep); ok {
		sql = fmt.Sprintf(`WITH gaps AS (
  SELECT g, row_number() OVER (ORDER BY timestamp, trace_id) - 1 AS i
  FROM (
    SELECT timestamp, trace_id, epoch(timestamp) - lag(epoch(timestamp)) OVER (ORDER BY timestamp, trace_id) AS g
    FROM (%[1]s)
  )
  WHERE g IS NOT NULL AND g <= 3600
),
blocks AS (
  SELECT intDiv(i, %[2]d) AS b, stddev_pop(g) / avg(g) AS block_cv
  FROM gaps
  GROUP BY b
  HAVING count() = %[2]d
)
SELECT count() AS gaps, round(avg(g), 3) AS mean_gap_s, round(stddev_pop(g), 3) AS std_gap_s,
  round(stddev_pop(g) / avg(g), 3) AS cv,
  (SELECT count() FROM blocks) AS blocks,
  (SELECT round(median(block_cv), 3) FROM blocks) AS local_cv
FROM gaps`, limited("timestamp, trace_id", where, s), timingBlock)
	}
	return newDetection(DetectorTiming, sc, finding, fig, sql, truncNote(s))
}

// --- new key ----------------------------------------------------------------

func (e *env) newKeyVolume(cd *callerData) *Detection {
	k := cd.an.key
	if k == nil {
		return newDetection(DetectorNewKeyVolume, 0, "no API key", map[string]any{}, "", "")
	}
	age, censored := k.age(e.until, e.edge)
	onset := k.onset()
	fig := map[string]any{
		"api_key_id": k.id, "first_seen": k.firstSeen, "age_days": round(age, 2), "age_censored": censored,
		"key_requests": k.requests, "key_bytes": k.bytes,
	}
	if cb := k.createdBy(); cb != "" {
		fig["created_by"] = cb
	}
	var sc float64
	finding := ""
	switch {
	case censored:
		finding = fmt.Sprintf("API key %s was first seen %s, at the start of the stored data: at least %.0f days old", k.id, fmtTime(k.firstSeen), age)
	case onset.IsZero():
		finding = fmt.Sprintf("API key %s, first seen %s (%.1f days old), never sent %d requests in a day", k.id, fmtTime(k.firstSeen), age, minOnset)
	default:
		atOnset := math.Max(0, onset.Sub(k.firstSeen).Hours()/24)
		fig["onset"] = onset
		fig["age_at_onset_days"] = round(atOnset, 2)
		sc = ramp(14-atOnset, 0, 10) * ramp(float64(k.requests), 200, 2000)
		created := ""
		if cb := k.createdBy(); cb != "" {
			created = " (created by " + cb + ")"
		}
		finding = fmt.Sprintf("API key %s first seen %s%s, %.1f days before its volume began (%s); %s requests, %s in the window",
			k.id, fmtTime(k.firstSeen), created, atOnset, onset.Format("2006-01-02"), fmtInt(k.requests), fmtBytes(float64(k.bytes)))
		if sc >= firedAt {
			finding = "New key doing high volume: " + finding
		}
	}
	sql := ""
	if kv, ok := quote(k.id); ok {
		sql = `SELECT min(timestamp) AS first_seen,
  argMin(http_method || ' ' || if(http_route <> '', http_route, http_path), timestamp) AS first_request,
  argMin(status_code, timestamp) AS first_status,
  countIf(` + windowSQL(e.since, e.until) + `) AS key_requests,
  sumIf(response_bytes, ` + windowSQL(e.since, e.until) + `) AS key_bytes
FROM traces
WHERE span_kind = 'Server' AND http_method <> '' AND timestamp >= ` + timeLiteral(e.lookback) + ` AND timestamp < ` + timeLiteral(e.until) + `
  AND api_key_id = ` + kv
	}
	return newDetection(DetectorNewKeyVolume, sc, finding, fig, sql, "")
}

// --- schedule ---------------------------------------------------------------

// hourBand returns the width in hours of the narrowest circular band of
// the day holding at least 90% of the requests, and where it starts.
func hourBand(hours [24]int64) (width, start int) {
	var total int64
	for _, n := range hours {
		total += n
	}
	if total == 0 {
		return 24, 0
	}
	for w := 1; w <= 24; w++ {
		for s := 0; s < 24; s++ {
			var sum int64
			for i := 0; i < w; i++ {
				sum += hours[(s+i)%24]
			}
			if 10*sum >= 9*total {
				return w, s
			}
		}
	}
	return 24, 0
}

// windowDays counts the whole or partial days of the window.
func (e *env) windowDays() int {
	return int(math.Ceil(e.until.Sub(e.since).Hours() / 24))
}

// establish decides whether a caller is an established, scheduled client:
// its key (or, without one, the caller itself) predates the stored data
// or is older than a month, and it is active on at least three days,
// either in a narrow daily band or on most days of the window.
func (e *env) establish(cd *callerData) {
	a := &cd.an
	old := false
	if k := a.key; k != nil {
		age, censored := k.age(e.until, e.edge)
		old = censored || age >= 30
	} else if !cd.total.First.IsZero() {
		// Without a key, the caller itself must have been there since the
		// window began.
		old = cd.total.First.Before(e.since.Add(censorMargin))
	}
	days := 0
	for _, n := range cd.days {
		if n > 0 {
			days++
		}
	}
	width, start := hourBand(cd.hours)
	recurring := days >= 3 && (width <= 6 || 10*days >= 8*e.windowDays())
	a.established = old && recurring
	switch {
	case !a.established:
	case width <= 6:
		a.scheduleTxt = fmt.Sprintf("active on %d days, 90%% of requests between %02d:00 and %02d:00 UTC", days, start, (start+width)%24)
	default:
		a.scheduleTxt = fmt.Sprintf("active on %d of %d days", days, e.windowDays())
	}
}

// sortDetections orders detections as Detectors lists them.
func sortDetections(m map[string]*Detection) []Detection {
	var out []Detection
	for _, n := range Detectors() {
		if d := m[n]; d != nil {
			out = append(out, *d)
		}
	}
	return out
}

// firedNames lists the detectors that fired, by score.
func firedNames(dets []Detection) []string {
	var fired []Detection
	for _, d := range dets {
		if d.Fired {
			fired = append(fired, d)
		}
	}
	slices.SortStableFunc(fired, func(a, b Detection) int {
		switch {
		case a.Score > b.Score:
			return -1
		case a.Score < b.Score:
			return 1
		}
		return 0
	})
	out := make([]string, len(fired))
	for i, d := range fired {
		out[i] = d.Detector
	}
	return out
}
