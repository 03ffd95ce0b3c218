package scenario

import (
	"fmt"
	"maps"
	"math"
	"math/rand/v2"
	"slices"
	"time"
)

// The benign base traffic every scenario starts from: enterprise clients,
// internal services, trials, monitoring, a partner's nightly bulk sync and
// CI pipelines.

// habits are how a caller uses list endpoints.
type habits struct {
	pageOn float64 // probability of fetching the next page when there is one
	limit  int
	omitP1 bool // leaves page=1 out of the first request
}

// client is a caller whose volume follows a daily shape: an enterprise
// integration (with, for some, staff using the desktop app), an internal
// service or a small trial account.
type client struct {
	info     *actorInfo
	acct     *account
	keys     []*apiKey
	ips      []string
	ua       string
	direct   bool // calls the service directly (no load balancer, no X-Forwarded-For)
	host     string
	port     int32
	anyColl  bool // reads any collection (internal services)
	tz       int  // minutes east of UTC
	perDay   float64
	coef     [3]float64 // weight of each daily shape
	norm     float64
	apiMix   *weighted
	habits   habits
	sessOn   float64 // share of requests from desktop-app sessions
	sessIPs  []string
	sessUAs  []string
	sessMix  *weighted
	spikeMul float64 // extra multiple of the volume (benign-spike); 0 normally
}

var timezones = []struct {
	tz     int
	weight float64
}{{-300, 30}, {-360, 10}, {-480, 14}, {0, 14}, {60, 16}, {120, 3}, {330, 4}, {480, 3}, {600, 3}, {-180, 3}}

var sdkUAs = []string{
	"datavault-python/2.4.1 python/3.11.9",
	"datavault-python/2.3.0 python/3.10.12",
	"datavault-java/3.2.0 (Java/17.0.9; Linux)",
	"datavault-java/3.1.4 (Java/21.0.2; Linux)",
	"datavault-node/1.8.2 node/20.11.0",
	"datavault-go/0.9.3 go1.22.4",
	"datavault-dotnet/2.0.1 (.NET 8.0.4)",
	"Go-http-client/1.1",
	"okhttp/4.12.0",
	"python-requests/2.31.0",
	"python-requests/2.28.2",
	"axios/1.6.8",
	"Apache-HttpClient/4.5.14 (Java/11.0.22)",
}

var desktopUAs = []string{
	"DataVault-Desktop/5.3.2 (Windows NT 10.0; Win64; x64)",
	"DataVault-Desktop/5.3.2 (Macintosh; Intel Mac OS X 14_4)",
	"DataVault-Desktop/5.2.9 (Windows NT 10.0; Win64; x64)",
	"Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.0.0 Safari/537.36",
	"Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.4 Safari/605.1.15",
	"Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:127.0) Gecko/20100101 Firefox/127.0",
}

var apiMixBase = map[opID]float64{
	opGetDocument: 22, opGetDocumentContent: 10, opListDocuments: 10, opListCollectionDocuments: 9,
	opListCollections: 5, opGetCollection: 5, opCreateDocument: 6, opUpdateDocument: 4, opDeleteDocument: 1.5,
	opSearch: 9, opListShares: 2, opCreateShare: 1.5, opDeleteShare: 0.5, opCreateCollection: 0.5,
	opGetMe: 2, opListUsers: 1, opGetUser: 1, opListWebhooks: 0.3, opCreateWebhook: 0.05, opDeleteWebhook: 0.02,
}

var adminMix = map[opID]float64{opAdminListUsers: 0.4, opAdminCreateUser: 0.05}

var sessMixBase = map[opID]float64{
	opLogin: 2, opTokenRefresh: 5, opGetMe: 6, opGetDocument: 25, opGetDocumentContent: 14, opListDocuments: 12,
	opSearch: 14, opListCollections: 6, opListCollectionDocuments: 8, opCreateDocument: 3, opUpdateDocument: 2,
	opListShares: 1, opCreateShare: 1,
}

var core = map[opID]bool{opGetDocument: true, opListDocuments: true, opSearch: true, opListCollections: true}

func (g *generator) addBenignBase() {
	w := g.w
	pr := newRand(g.seed, "profiles") // profiles never depend on the scale
	ips := newIPAllocator(newRand(g.seed, "ips"))
	total := 0.0
	for _, a := range w.enterprise {
		total += a.weight
	}
	for i, a := range w.enterprise {
		c := &client{
			info: g.newInfo(fmt.Sprintf("enterprise-client-%03d", i+1), LabelBenign, nil),
			acct: a, keys: w.keysOf(a), host: apiHost, port: -1,
			perDay: enterpriseDaily * g.scale * a.weight / total,
		}
		kind := [...]ipKind{ipAWS, ipAWS, ipAWS, ipAWS, ipGCP, ipGCP, ipAzure, ipAzure, ipCorporate, ipCorporate, ipCorporate, ipHosting}[pr.IntN(12)]
		for n := 1 + pr.IntN(4); len(c.ips) < n; {
			c.ips = append(c.ips, ips.next(kind))
		}
		c.ua = sdkUAs[pr.IntN(len(sdkUAs))]
		c.tz = pickZone(pr)
		b := 0.45 + 0.45*pr.Float64()
		nt := 0.25 * pr.Float64() * pr.Float64()
		c.setShape(b, 1-b-nt, nt)
		mix := map[opID]float64{}
		for _, op := range slices.Sorted(maps.Keys(apiMixBase)) { // map order would break determinism
			if !core[op] && pr.Float64() < 0.2 {
				continue
			}
			mix[op] = apiMixBase[op] * math.Exp(0.7*pr.NormFloat64())
		}
		if c.keys[0].admin {
			for op, wt := range adminMix {
				mix[op] = wt
			}
		}
		c.apiMix = newWeighted(mix)
		c.habits = habits{pageOn: 0.1 + 0.45*pr.Float64(), limit: []int{20, 25, 50, 50, 100}[pr.IntN(5)], omitP1: pr.Float64() < 0.4}
		if pr.Float64() < 0.35 {
			c.sessOn = 0.1 + 0.3*pr.Float64()
			for n := 2 + int(float64(min(a.users, 40))*pr.Float64()); len(c.sessIPs) < n; {
				k := ipResidential
				if pr.Float64() < 0.3 {
					k = ipCorporate
				}
				c.sessIPs = append(c.sessIPs, ips.next(k))
			}
			for n := 2 + pr.IntN(3); len(c.sessUAs) < n; {
				c.sessUAs = append(c.sessUAs, desktopUAs[pr.IntN(len(desktopUAs))])
			}
			c.sessMix = newWeighted(sessMixBase)
		}
		g.addActor(c, nil)
	}

	// Internal services call the service directly on the cluster network.
	indexer := &client{
		info: g.newInfo("internal-indexer", LabelBenign, nil), acct: w.internal, keys: []*apiKey{w.indexerKey},
		ua: "datavault-indexer/1.14.2 Go-http-client/1.1", direct: true, host: innerHost, port: 8080, anyColl: true,
		perDay: indexerDaily * g.scale,
		apiMix: newWeighted(map[opID]float64{opGetDocument: 40, opGetDocumentContent: 50, opListCollectionDocuments: 10}),
		habits: habits{pageOn: 0.6, limit: 200},
	}
	billing := &client{
		info: g.newInfo("internal-billing", LabelBenign, nil), acct: w.internal, keys: []*apiKey{w.billingKey},
		ua: "billing-sync/3.1.0", direct: true, host: innerHost, port: 8080, anyColl: true,
		perDay: billingDaily * g.scale,
		apiMix: newWeighted(map[opID]float64{opListUsers: 30, opListCollections: 30, opAdminListUsers: 40}),
		habits: habits{pageOn: 0.8, limit: 100},
	}
	for _, c := range []*client{indexer, billing} {
		for n := 2 + pr.IntN(3); len(c.ips) < n; {
			c.ips = append(c.ips, ips.next(ipPrivate))
		}
		c.setShape(0, 0.8, 0.2)
		g.addActor(c, nil)
	}

	// Trial accounts created before the window poke at the API a little.
	for i, a := range w.oldTrials {
		c := &client{
			info: g.newInfo(fmt.Sprintf("trial-account-%02d", i+1), LabelBenign, nil),
			acct: a, keys: w.keysOf(a), host: apiHost, port: -1,
			perDay: oldTrialDaily * g.scale / numOldTrials * math.Exp(pr.NormFloat64()),
			ips:    []string{ips.next([...]ipKind{ipResidential, ipCorporate, ipAWS}[pr.IntN(3)])},
			ua:     sdkUAs[pr.IntN(len(sdkUAs))], tz: pickZone(pr),
			apiMix: newWeighted(map[opID]float64{opGetDocument: 5, opListDocuments: 5, opCreateDocument: 3, opSearch: 3, opListCollections: 2, opGetMe: 2}),
			habits: habits{pageOn: 0.2, limit: 20},
		}
		c.setShape(0.9, 0.1, 0)
		g.addActor(c, nil)
	}

	g.addMonitors(pr, ips)
	g.addActor(newPartnerSync(g, pr, ips), nil)
	g.addActor(newCIPipelines(g, pr), nil)
	g.addActor(&signups{info: g.newInfo("trial-signups", LabelBenign, nil), names: newNameSource(newRand(g.seed, "signup-names"))}, nil)
}

func pickZone(r *rand.Rand) int {
	total := 0.0
	for _, z := range timezones {
		total += z.weight
	}
	x := r.Float64() * total
	for _, z := range timezones {
		if x -= z.weight; x < 0 {
			return z.tz
		}
	}
	return 0
}

// setShape sets the daily-shape mix and the factor that keeps the average
// day of a week at perDay requests.
func (c *client) setShape(business, flat, night float64) {
	c.coef = [3]float64{business, flat, night}
	week := 0.0
	for k, v := range c.coef {
		week += v * (5 + 2*weekendFactor[k])
	}
	c.norm = 7 / week
}

// rate returns the expected requests per minute at unix ns t.
func (c *client) rate(t int64) float64 {
	m, weekend := localClock(t, c.tz)
	lam := 0.0
	for k, v := range c.coef {
		f := v * shapes[k][m]
		if weekend {
			f *= weekendFactor[k]
		}
		lam += f
	}
	return c.perDay * c.norm * lam
}

func (c *client) generate(g *generator, from, to int64) {
	n := poisson(g.r, c.rate(from)*float64(to-from)/float64(time.Minute))
	for i := 0; i < n; i++ {
		c.emit(g, from+g.r.Int64N(to-from), c.info)
	}
}

// emit generates one request of the client at t (and its follow-ups).
func (c *client) emit(g *generator, t int64, info *actorInfo) {
	r := g.r
	rq := request{start: t, actor: info, host: c.host, serverPort: c.port}
	var op *operation
	if c.sessMix != nil && r.Float64() < c.sessOn {
		op = ops[c.sessMix.pick(r)]
		rq.clientIP = c.sessIPs[r.IntN(len(c.sessIPs))]
		rq.ua = c.sessUAs[r.IntN(len(c.sessUAs))]
		rq.acct = c.acct
	} else {
		op = ops[c.apiMix.pick(r)]
		rq.clientIP = c.ips[r.IntN(len(c.ips))]
		rq.ua = c.ua
		rq.key = c.keys[0]
		if len(c.keys) > 1 && r.Float64() < 0.25 {
			rq.key = c.keys[1]
		}
		rq.acct = rq.key.acct
	}
	if c.direct {
		rq.peerIP = rq.clientIP
	}
	g.call(&rq, op, c.acct, c.anyColl, c.habits)
}

// call fills in request rq for op on behalf of acct, appends it and appends
// its follow-ups: the next pages of a list, and retries after 429 and 5xx.
func (g *generator) call(rq *request, op *operation, acct *account, anyColl bool, h habits) {
	r := g.r
	rq.op = op
	status := g.outcome(op, rq.key != nil)
	if status == 401 && op.id == opLogin {
		rq.acct = nil
	}
	g.target(rq, op, acct, anyColl, status, h)
	rq.status = int32(status)
	total := 0
	if op.list {
		total = g.listTotal(rq, op, acct)
	}
	g.size(rq, 1, total)
	g.add(rq)
	if op.list && status == op.okStatus {
		g.pages(*rq, h, total)
	}

	// Retries of transient failures, with exponential backoff.
	for attempt := 1; attempt <= 3 && (rq.status == 429 || rq.status >= 500) && r.Float64() < 0.8; attempt++ {
		rq.start += rq.dur + int64(float64(time.Second)*(0.5+1.5*r.Float64())*float64(int(1)<<attempt))
		rq.status = int32(op.okStatus)
		if r.Float64() < 0.1 {
			rq.status = []int32{429, 500, 502, 503}[r.IntN(4)]
		}
		g.size(rq, 1, total)
		g.add(rq)
	}
}

// outcome draws the status of a benign request.
func (g *generator) outcome(op *operation, withKey bool) int {
	u := g.r.Float64()
	switch {
	case u < 0.0006:
		return 500
	case u < 0.0009:
		return 502
	case u < 0.0012:
		return 503
	case u < 0.0030:
		return 429
	case u < 0.0045 && withKey && op.auth != authNone:
		return 401
	}
	u = g.r.Float64()
	switch op.id {
	case opGetDocument, opGetDocumentContent, opUpdateDocument, opDeleteDocument, opListShares, opCreateShare, opGetCollection, opListCollectionDocuments, opGetUser:
		if u < 0.02 {
			return 404
		}
		if u < 0.024 {
			return 403
		}
	case opCreateDocument, opCreateCollection, opCreateWebhook, opAdminCreateUser:
		if u < 0.015 {
			return 400
		}
		if u < 0.02 {
			return 409
		}
	case opSearch, opListDocuments:
		if u < 0.005 {
			return 400
		}
	case opLogin:
		if u < 0.05 {
			return 401
		}
	case opTokenRefresh:
		if u < 0.02 {
			return 401
		}
	}
	return op.okStatus
}

// target sets the path and query of rq for op, consistent with its status:
// a 404 names a deleted document, a 403 another account's, and a list asks
// for its first page.
func (g *generator) target(rq *request, op *operation, acct *account, anyColl bool, status int, h habits) {
	r, w := g.r, g.w
	coll := func() int32 {
		if anyColl || len(acct.colls) == 0 {
			return int32(1 + r.IntN(numCollections))
		}
		return acct.colls[r.IntN(len(acct.colls))]
	}
	doc := func() int64 {
		c := coll()
		switch status {
		case 404:
			return w.deletedDoc(r, c)
		case 403:
			for {
				o := int32(1 + r.IntN(numCollections))
				if d := w.randomDoc(r, o); w.collOwner[o] != int32(acct.index) && !w.linkShared(d) {
					return d
				}
			}
		}
		return w.randomDoc(r, c)
	}
	first := func(lead string) string {
		if h.omitP1 && lead == "" {
			return "limit=" + itoa(h.limit)
		}
		return pageQuery(lead, 1, h.limit)
	}
	rq.path, rq.query = op.route, ""
	switch op.id {
	case opGetDocument, opUpdateDocument, opDeleteDocument:
		rq.path = appendPath("/v1/documents/", doc(), "")
	case opGetDocumentContent:
		rq.path = appendPath("/v1/documents/", doc(), "/content")
	case opListShares, opCreateShare:
		rq.path = appendPath("/v1/documents/", doc(), "/shares")
	case opDeleteShare:
		rq.path = appendPath("/v1/documents/", doc(), "/shares/") + itoa(int(900_000+r.IntN(400_000)))
	case opGetCollection:
		c := coll()
		if status == 404 {
			c = int32(numCollections + 1 + r.IntN(3000))
		}
		rq.path = appendPath("/v1/collections/", int64(c), "")
	case opListCollectionDocuments:
		c := coll()
		if status == 404 {
			c = int32(numCollections + 1 + r.IntN(3000))
		}
		rq.path = appendPath("/v1/collections/", int64(c), "/documents")
		rq.object = int64(c)
		rq.query = first("")
	case opGetUser:
		id := acct.userBase + r.Int64N(max(acct.users, 1))
		if status == 404 {
			id = w.maxUserID + r.Int64N(5000)
		}
		rq.path = appendPath("/v1/users/", id, "")
	case opDeleteWebhook:
		rq.path = appendPath("/v1/webhooks/", int64(1+r.IntN(5000)), "")
	case opSearch:
		rq.query = first("q=" + searchTerms[r.IntN(len(searchTerms))])
	case opListDocuments, opListCollections, opListUsers, opAdminListUsers:
		rq.query = first("")
	}
}

// pages appends the pages after first that a caller with habits h fetches
// from a list of total items.
func (g *generator) pages(first request, h habits, total int) {
	r, op := g.r, first.op
	lead := ""
	if op.id == opSearch {
		lead = first.query[:indexByte(first.query, '&')]
	}
	next := first
	t := first.start + first.dur
	for page := 2; (page-1)*h.limit < total && page <= 40 && r.Float64() < h.pageOn; page++ {
		t += int64(float64(time.Millisecond) * (60 + logNormal(r, 250, 0.8)))
		next.start = t
		next.query = pageQuery(lead, page, h.limit)
		g.size(&next, page, total)
		g.add(&next)
		t += next.dur
	}
}

func (g *generator) listTotal(rq *request, op *operation, acct *account) int {
	switch op.id {
	case opListCollectionDocuments:
		c := int(rq.object)
		if c >= 1 && c <= numCollections {
			return int(g.w.collDocs[c])
		}
		return 0
	case opListCollections:
		return len(acct.colls)
	case opListUsers, opAdminListUsers:
		return int(acct.users)
	case opSearch:
		return int(logNormal(g.r, 40, 1.3))
	}
	return 20 + 300*len(acct.colls)
}

// size sets the body sizes, duration and socket peer of rq from its
// status. A list request returns page of a list of total items.
func (g *generator) size(rq *request, page, total int) {
	r, op := g.r, rq.op
	rq.reqBytes = 0
	if op.reqMedian > 0 {
		rq.reqBytes = int64(logNormal(r, op.reqMedian, 0.4))
	}
	lat := logNormal(r, op.latencyMs, 0.5)
	switch {
	case rq.status == 204:
		rq.respBytes = 0
	case rq.status >= 400:
		rq.respBytes = int64(errorBodyBytes - 20 + r.IntN(60))
		switch {
		case rq.status == 429, rq.status == 401 && op.id != opLogin: // a failed login still hashes the password
			lat = 0.5 + 2*r.Float64()
		case rq.status == 502:
			lat = 1000 + 14000*r.Float64()
		case rq.status == 503:
			lat = 2 + 8*r.Float64()
		}
	case op.list:
		limit := max(1, atoiParam(rq.query, "limit"))
		n := max(0, min(limit, total-(page-1)*limit))
		rq.respBytes = int64(110 + float64(n*op.itemBytes)*(0.9+0.2*r.Float64()))
		lat += float64(n) * 0.08
	default:
		rq.respBytes = int64(logNormal(r, op.respMedian, op.respSigma))
	}
	lat += float64(rq.respBytes) / 60_000 // about 60 MB/s to the load balancer
	rq.dur = int64(lat * float64(time.Millisecond))
	rq.peerPort = int32(1024 + r.IntN(64511))
	if rq.peerIP != rq.clientIP { // behind the load balancer, not a direct caller
		rq.peerIP = loadBalancers[r.IntN(len(loadBalancers))]
	}
}

// --- fixed-rate callers -----------------------------------------------------

// periodic is a checker that calls the same operations at a fixed interval
// from each of its addresses.
type periodic struct {
	info   *actorInfo
	ips    []string
	phase  []int64
	every  int64
	ops    []opID
	ua     string
	key    *apiKey
	host   string
	port   int32
	direct bool
}

func (p *periodic) generate(g *generator, from, to int64) {
	for i, ip := range p.ips {
		first := from + ((p.phase[i]-from)%p.every+p.every)%p.every
		for t := first; t < to; t += p.every {
			start := t + g.r.Int64N(int64(150*time.Millisecond))
			for _, id := range p.ops {
				op := ops[id]
				rq := request{start: start, actor: p.info, op: op, path: op.route, host: p.host, serverPort: p.port, clientIP: ip, ua: p.ua, key: p.key}
				if p.key != nil {
					rq.acct = p.key.acct
				}
				if p.direct {
					rq.peerIP = ip
				}
				rq.status = int32(op.okStatus)
				if g.r.Float64() < 0.0005 {
					rq.status = 503
				}
				if op.list {
					rq.query = "page=1&limit=1"
				}
				g.size(&rq, 1, 1000)
				g.add(&rq)
				start += rq.dur + int64(5*time.Millisecond)
			}
		}
	}
}

func (g *generator) addMonitors(pr *rand.Rand, ips *ipAllocator) {
	phases := func(n int, every time.Duration) []int64 {
		out := make([]int64, n)
		for i := range out {
			out[i] = pr.Int64N(int64(every))
		}
		return out
	}
	for _, p := range []*periodic{
		{
			info: g.newInfo("lb-health-check", LabelBenign, nil), ips: loadBalancers, phase: phases(3, 30*time.Second),
			every: int64(30 * time.Second), ops: []opID{opHealth}, ua: "ELB-HealthChecker/2.0",
			host: "10.40.8.21", port: 8080, direct: true,
		},
		{
			info: g.newInfo("uptime-monitor", LabelBenign, nil), ips: []string{"185.180.12.65", "5.172.196.188", "185.246.208.82"},
			phase: phases(3, time.Minute), every: int64(time.Minute), ops: []opID{opHealth},
			ua: "Pingdom.com_bot_version_1.4_(http://www.pingdom.com/)", host: apiHost, port: -1,
		},
		{
			info: g.newInfo("synthetic-monitor", LabelBenign, nil), ips: []string{ips.next(ipAWS), ips.next(ipAWS), ips.next(ipAWS), ips.next(ipGCP)},
			phase: phases(4, 5*time.Minute), every: int64(5 * time.Minute), ops: []opID{opGetMe, opListDocuments},
			ua: "Datadog/Synthetics", key: g.w.monitorKey, host: apiHost, port: -1,
		},
	} {
		g.addActor(p, nil)
	}
}

// --- partner nightly sync ---------------------------------------------------

// partnerSync is a partner's documented nightly bulk export: from 01:00 UTC
// it pages through every collection shared with it, 500 documents a page,
// until done or 03:00.
type partnerSync struct {
	info  *actorInfo
	ips   []string
	colls []int32
}

func newPartnerSync(g *generator, pr *rand.Rand, ips *ipAllocator) *partnerSync {
	p := &partnerSync{info: g.newInfo("partner-nightly-sync", LabelBenign, nil), colls: g.w.partnerShared}
	p.ips = []string{ips.next(ipCorporate), ips.next(ipCorporate)}
	return p
}

const partnerUA = "DocuSync-Connector/4.2.0 (+https://docusync.io)"

func (p *partnerSync) generate(g *generator, from, to int64) {
	startAt := g.at(g.dayOf(from), time.Hour)
	if startAt < from || startAt >= to {
		return
	}
	r := g.r
	stop := startAt + 2*int64(time.Hour)
	t := startAt + r.Int64N(int64(20*time.Second))
	ip := p.ips[g.dayOf(from)%len(p.ips)]
	op := ops[opListCollectionDocuments]
	for _, c := range p.colls {
		pages := (int(g.w.collDocs[c]) + 499) / 500
		for page := 1; page <= pages && t < stop; page++ {
			rq := request{
				start: t, actor: p.info, op: op, path: appendPath("/v1/collections/", int64(c), "/documents"),
				query: pageQuery("", page, 500), host: apiHost, serverPort: -1, clientIP: ip, ua: partnerUA,
				key: g.w.partnerKey, acct: g.w.partner, status: 200, object: int64(c),
			}
			if r.Float64() < 0.002 {
				rq.status = 502
			}
			g.size(&rq, page, int(g.w.collDocs[c]))
			g.add(&rq)
			t += rq.dur + int64(float64(time.Second)*(0.4+1.2*r.Float64()))
			if rq.status == 502 {
				page--
			}
		}
	}
}

// --- CI pipelines -----------------------------------------------------------

// ciPipelines are the integration-test runs of enterprise clients: bursts
// of create/read/share/delete calls with a CI key, each run from a fresh
// hosted-runner address.
type ciPipelines struct {
	info *actorInfo
	keys []*apiKey
	tz   []int
	ua   []string
}

func newCIPipelines(g *generator, pr *rand.Rand) *ciPipelines {
	c := &ciPipelines{info: g.newInfo("ci-pipelines", LabelBenign, nil), keys: g.w.ciKeys}
	for range c.keys {
		c.tz = append(c.tz, pickZone(pr))
		c.ua = append(c.ua, sdkUAs[pr.IntN(7)]+" pytest/8.2.2")
	}
	return c
}

var ciSteps = []opID{
	opCreateCollection, opCreateDocument, opCreateDocument, opGetDocument, opGetDocument, opUpdateDocument,
	opGetDocumentContent, opListDocuments, opListCollectionDocuments, opSearch, opCreateShare, opListShares,
	opDeleteShare, opGetMe, opListWebhooks, opGetDocument, opDeleteDocument, opDeleteDocument,
}

func (c *ciPipelines) generate(g *generator, from, to int64) {
	r := g.r
	for i, k := range c.keys {
		m, weekend := localClock(from, c.tz[i])
		runs := 7.0
		if weekend {
			runs = 0.4
		}
		n := poisson(r, runs*shapes[shapeBusiness][m]*float64(to-from)/float64(time.Minute))
		for ; n > 0; n-- {
			t := from + r.Int64N(to-from)
			ip := randomIP(r, ciPrefixes)
			for rep := 1 + r.IntN(3); rep > 0; rep-- {
				for _, id := range ciSteps {
					rq := request{start: t, actor: c.info, host: apiHost, serverPort: -1, clientIP: ip, ua: c.ua[i], key: k, acct: k.acct}
					g.call(&rq, ops[id], k.acct, false, habits{pageOn: 0, limit: 10})
					t += int64(float64(time.Millisecond) * (30 + 250*r.Float64()))
				}
			}
		}
	}
}

// --- new trial signups ------------------------------------------------------

// signups are prospects signing up for a trial during office hours, then
// trying the API for half an hour with their new key.
type signups struct {
	info  *actorInfo
	names *nameSource
}

func (s *signups) generate(g *generator, from, to int64) {
	r := g.r
	m, weekend := localClock(from, -300)
	rate := 4.0
	if weekend {
		rate = 0.8
	}
	for n := poisson(r, rate*shapes[shapeBusiness][m]*float64(to-from)/float64(time.Minute)); n > 0; n-- {
		g.signups++
		org := s.names.next()
		acct := &account{index: -1, id: "acct_" + itoa(g.w.nextAccount+g.signups*4), plan: planTrial, name: org.name, domain: org.domain}
		key := &apiKey{id: randToken(r, "dvk_", 16), acct: acct}
		ip := randomIP(r, ipPrefixes[[...]ipKind{ipCorporate, ipResidential}[r.IntN(2)]])
		t := from + r.Int64N(to-from)
		rq := request{
			start: t, actor: s.info, op: ops[opSignup], path: ops[opSignup].route, host: apiHost, serverPort: -1,
			clientIP: ip, ua: desktopUAs[3+r.IntN(3)], key: key, acct: acct, emailDomain: org.domain, status: 201,
		}
		g.size(&rq, 1, 0)
		g.add(&rq)
		ua := sdkUAs[r.IntN(len(sdkUAs))]
		for k := 8 + r.IntN(18); k > 0; k-- {
			t += int64(float64(time.Second) * logNormal(r, 40, 1))
			op := ops[[]opID{opGetMe, opListCollections, opCreateCollection, opCreateDocument, opListDocuments, opSearch}[r.IntN(6)]]
			rq := request{start: t, actor: s.info, host: apiHost, serverPort: -1, clientIP: ip, ua: ua, key: key, acct: acct}
			g.call(&rq, op, acct, false, habits{limit: 20})
		}
	}
}

var searchTerms = []string{
	"invoice", "contract", "nda", "q3+report", "budget", "policy", "onboarding", "audit", "roadmap", "specification",
	"purchase+order", "statement", "tax", "payroll", "compliance", "gdpr", "soc2", "board+minutes", "pricing", "proposal",
	"design", "architecture", "incident", "postmortem", "handbook", "offer+letter", "lease", "insurance", "claim", "patent",
}

func itoa(n int) string { return appendPath("", int64(n), "") }

func indexByte(s string, c byte) int {
	for i := 0; i < len(s); i++ {
		if s[i] == c {
			return i
		}
	}
	return len(s)
}

// atoiParam returns the integer value of query parameter name, or 0.
func atoiParam(q, name string) int {
	for len(q) > 0 {
		kv := q[:indexByte(q, '&')]
		if len(kv) > len(name) && kv[:len(name)] == name && kv[len(name)] == '=' {
			n := 0
			for _, ch := range []byte(kv[len(name)+1:]) {
				if ch < '0' || ch > '9' {
					return 0
				}
				n = n*10 + int(ch-'0')
			}
			return n
		}
		if len(kv) == len(q) {
			break
		}
		q = q[len(kv)+1:]
	}
	return 0
}
