package scenario

import (
	"math/rand/v2"
	"slices"
	"strconv"
	"time"
)

// The reference campaign (PRODUCT.md §1): a trial account exfiltrates a
// third of all collections through the undocumented GET /v1/admin/export
// from three DigitalOcean addresses over four days. Its figures are
// constants, the same at every scale and for every seed.

// ExfilIPs are the attacker's addresses, in the order they join.
var ExfilIPs = [3]string{"104.248.73.19", "167.71.205.88", "178.128.44.156"}

// exfilPerDay is the number of /v1/admin/export requests of each address on
// days 1 to 4: 47, 3,214, 8,923 and 2,419, 14,603 in all.
var exfilPerDay = [4][3]int{
	{47, 0, 0},
	{1842, 1372, 0},
	{3021, 2968, 2934},
	{812, 798, 809},
}

const (
	// ExfilRequests is the number of /v1/admin/export requests of the campaign.
	ExfilRequests = 14_603
	// ExfilCollections is the number of distinct collections it reads.
	ExfilCollections = 3_847
	// ExfilCampaign names the campaign in the ground truth.
	ExfilCampaign = "datavault-exfil"

	exfilUA       = "python-requests/2.32.3"
	exfilSignupUA = "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0"
)

// plannedRequest is one request of a precomputed plan, as an offset from
// day 1 00:00 UTC.
type plannedRequest struct {
	at     time.Duration
	ip     int // index into the actor's addresses
	op     opID
	path   string
	query  string
	status int
	bytes  int64
	noKey  bool
	target bool
	object int64
}

// window is a span of active time within a day, as clock offsets.
type window struct{ from, to time.Duration }

func hm(h, m int) time.Duration { return time.Duration(h)*time.Hour + time.Duration(m)*time.Minute }

// exfilWindows are the hours each address is active on days 2 to 4: the
// script starts in the morning of day 2, the second address joins in the
// afternoon, on day 3 all three pause for four hours at night, and on day 4
// they run at a slower pace until the rush (exfilRush).
var exfilWindows = [4][3][]window{
	1: {{{hm(7, 48), hm(23, 59)}}, {{hm(13, 21), hm(23, 59)}}},
	2: {
		{{hm(0, 6), hm(1, 52)}, {hm(5, 52), hm(23, 58)}},
		{{hm(0, 7), hm(1, 52)}, {hm(5, 53), hm(23, 58)}},
		{{hm(0, 9), hm(1, 51)}, {hm(5, 51), hm(23, 57)}},
	},
	3: {{{hm(0, 3), hm(10, 19)}}, {{hm(0, 4), hm(10, 19)}}, {{hm(0, 5), hm(10, 18)}}},
}

// exfilRush is the end of day 4: the operator raises the script's
// concurrency, and each address sends its last n requests of the day,
// about five a minute, until containment shortly before 11:00. Until then
// no address made more than about 40 requests in any 15 minutes; the rush
// is what a per-address volume threshold finally catches (the case
// study's alert of day 4, some 80 hours after the first probe).
var exfilRush = [3]struct {
	window
	n int
}{
	{window{hm(10, 20), hm(10, 57)}, 180},
	{window{hm(10, 20), hm(10, 56)}, 176},
	{window{hm(10, 21), hm(10, 57)}, 178},
}

// exfilProbes are the day-1 manual probes of the first address: the
// endpoint without a key, collection 1 and its pagination, malformed and
// out-of-range ids, and a search for the highest collection id.
var exfilProbes = []string{
	"!collection_id=1", // sent without a key
	"collection_id=1", "collection_id=1&page=2", "collection_id=1&page=3", "collection_id=1&page=4",
	"collection_id=1&page=5", "collection_id=1&page=6", "collection_id=1&page=100", "collection_id=1&page=0",
	"collection_id=1&page=-1", "collection_id=1&page=abc", "collection_id=1&limit=1000", "collection_id=1&limit=200",
	"collection_id=1&page=2&limit=200", "collection_id=0", "collection_id=-1", "collection_id=abc", "",
	"collection_id=1%27", "collection_id=99999999", "collection_id=2", "collection_id=2&page=2", "collection_id=2&page=3",
	"collection_id=3", "collection_id=3&page=2", "collection_id=20000", "collection_id=10000", "collection_id=15000",
	"collection_id=12500", "collection_id=11000", "collection_id=11500", "collection_id=12000", "collection_id=12001",
	"collection_id=12250", "collection_id=12100", "collection_id=12010", "collection_id=4", "collection_id=5",
	"collection_id=5&page=2", "collection_id=6", "collection_id=7", "collection_id=8", "collection_id=9",
	"collection_id=10", "collection_id=10&page=2", "collection_id=1&page=1", "collection_id=2&page=1",
}

// exportResult is what GET /v1/admin/export answers to a query: the
// status, the body size and the collection and page it read (0 when none).
func (w *world) exportResult(query string, authed bool) (status int, bytes int64, coll, page int) {
	if !authed {
		return 401, errorBodyBytes, 0, 0
	}
	q := parseQuery(query)
	c, err := strconv.Atoi(q["collection_id"])
	switch {
	case q["collection_id"] == "" || err != nil || c < 0:
		return 400, errorBodyBytes, 0, 0
	case c < 1 || c > numCollections:
		return 404, errorBodyBytes, 0, 0
	}
	page = 1
	if p, ok := q["page"]; ok {
		if page, err = strconv.Atoi(p); err != nil || page < 1 {
			return 400, errorBodyBytes, 0, 0
		}
	}
	if l, ok := q["limit"]; ok {
		if n, err := strconv.Atoi(l); err != nil || n < 1 || n > exportPageSize {
			return 400, errorBodyBytes, 0, 0
		}
	}
	return 200, w.exportBytes(c, page), c, page
}

// parseQuery splits a raw query into its parameters (first value wins). It
// keeps values raw: the export handler of the service reads the same way.
func parseQuery(q string) map[string]string {
	m := map[string]string{}
	for q != "" {
		kv := q[:indexByte(q, '&')]
		k, v := kv, ""
		if i := indexByte(kv, '='); i < len(kv) {
			k, v = kv[:i], kv[i+1:]
		}
		if _, dup := m[k]; !dup && k != "" {
			m[k] = v
		}
		if len(kv) == len(q) {
			break
		}
		q = q[len(kv)+1:]
	}
	return m
}

// simulateExfil plans the campaign against the collections of w: the probes
// of day 1, then a script that reads every page of every collection in id
// order. On day 2 the two addresses share one queue of ids; on day 3 the
// script restarts with the rest of the id range split into three equal
// chunks, one an address. It returns the plan and the number of distinct
// collections read.
func simulateExfil(w *world, seed uint64) ([]plannedRequest, int) {
	return simulateExfilQueries(w, seed, true)
}

// simulateExfilQueries is simulateExfil, leaving the queries of the script's
// requests out unless withQueries: calibration needs only the objects.
func simulateExfilQueries(w *world, seed uint64, withQueries bool) ([]plannedRequest, int) {
	r := newRand(seed, "exfil")
	var plan []plannedRequest
	seen := make([]bool, numCollections+1)
	distinct := 0
	record := func(p plannedRequest) {
		if p.status == 200 && p.object > 0 && !seen[p.object] {
			seen[p.object] = true
			distinct++
		}
		plan = append(plan, p)
	}

	// Day 1: by hand, irregular gaps.
	at := hm(2, 17) + time.Duration(r.IntN(50))*time.Second
	for _, q := range exfilProbes {
		noKey := len(q) > 0 && q[0] == '!'
		if noKey {
			q = q[1:]
		}
		status, bytes, c, _ := w.exportResult(q, !noKey)
		record(plannedRequest{at: at, op: opAdminExport, path: ops[opAdminExport].route, query: q, status: status, bytes: bytes, noKey: noKey, target: true, object: int64(c)})
		at += time.Duration(4+r.IntN(80)) * time.Second
	}

	// Days 2-4: the script.
	type worker struct {
		coll, page int // current collection and page; coll 0 = take the next one
		hi         int // end of the worker's chunk (exclusive); 0 = shared queue
		next       int // next id of the chunk
	}
	var workers [3]worker
	queue := 1
	for day := 2; day <= 4; day++ {
		if day == 3 {
			// Restart with a static split of the rest of the range.
			chunk := (numCollections + 1 - queue) / 3
			for i := range workers {
				workers[i] = worker{next: queue + i*chunk, hi: queue + (i+1)*chunk}
			}
			workers[2].hi = numCollections + 1
		}
		type slot struct {
			at time.Duration
			ip int
		}
		var slots []slot
		for ip, n := range exfilPerDay[day-1] {
			var rush []time.Duration
			if day == 4 {
				n -= exfilRush[ip].n
				rush = spread(r, []window{exfilRush[ip].window}, exfilRush[ip].n)
			}
			for _, t := range append(spread(r, exfilWindows[day-1][ip], n), rush...) {
				slots = append(slots, slot{t, ip})
			}
		}
		slices.SortStableFunc(slots, func(a, b slot) int { return int(a.at - b.at) })
		for _, s := range slots {
			wk := &workers[s.ip]
			if wk.coll == 0 {
				if wk.hi == 0 {
					wk.coll, queue = queue, queue+1
				} else {
					wk.coll, wk.next = wk.next, wk.next+1
				}
				wk.page = 1
			}
			q := ""
			if withQueries {
				q = "collection_id=" + strconv.Itoa(wk.coll) + "&page=" + strconv.Itoa(wk.page)
			}
			status, bytes, c := 200, w.exportBytes(wk.coll, wk.page), wk.coll
			if r.Float64() < 0.003 {
				status, bytes = 502, errorBodyBytes // retried on the next slot
			}
			record(plannedRequest{
				at: time.Duration(day-1)*24*time.Hour + s.at, ip: s.ip, op: opAdminExport, path: ops[opAdminExport].route,
				query: q, status: status, bytes: bytes, target: true, object: int64(c),
			})
			if status == 200 {
				if wk.page >= w.pages(wk.coll) {
					wk.coll = 0
				} else {
					wk.page++
				}
			}
		}
		if day == 2 {
			// The day-2 run ends mid-collection; the day-3 restart drops it.
			for i := range workers {
				workers[i].coll = 0
			}
		}
	}
	return plan, distinct
}

// spread returns n instants spread over windows with a script's regular
// rhythm: an even interval with ±30% jitter, in ascending order.
func spread(r *rand.Rand, ws []window, n int) []time.Duration {
	if n == 0 {
		return nil
	}
	var total time.Duration
	for _, w := range ws {
		total += w.to - w.from
	}
	step := float64(total) / float64(n)
	out := make([]time.Duration, n)
	for i := range out {
		off := time.Duration(step * (float64(i) + 0.5 + 0.6*(r.Float64()-0.5)))
		for _, w := range ws {
			if off < w.to-w.from {
				out[i] = w.from + off
				break
			}
			off -= w.to - w.from
		}
	}
	return out
}

// calibrateExfil adjusts the page counts of the collections the script
// reads until it reads exactly ExfilCollections distinct collections: one
// more page in a collection pushes the script back by one request. Only
// collections the campaign reads change, so the rest of the world keeps its
// random shape. Collections 1 to 10, read by the probes, keep their sizes.
func calibrateExfil(w *world) {
	w.collDocs[1], w.collDocs[2], w.collDocs[3] = 937, 412, 331
	r := newRand(w.seed, "exfil-calibrate")
	for iter := 0; ; iter++ {
		plan, got := simulateExfilQueries(w, w.seed, false)
		if got == ExfilCollections {
			return
		}
		if iter > 10_000 {
			panic("scenario: exfiltration plan does not converge")
		}
		var read []int
		seen := map[int64]bool{}
		for _, p := range plan {
			if p.object > 10 && p.status == 200 && !seen[p.object] {
				seen[p.object] = true
				read = append(read, int(p.object))
			}
		}
		diff := got - ExfilCollections
		steps := max(1, 2*abs(diff)) // a page more or less moves the count by about 1/4
		for range steps {
			c := read[r.IntN(len(read))]
			if diff > 0 {
				w.collDocs[c] += exportPageSize
			} else if w.collDocs[c] > exportPageSize {
				w.collDocs[c] -= exportPageSize
			}
		}
	}
}

func abs(n int) int {
	if n < 0 {
		return -n
	}
	return n
}

// plannedActor replays a precomputed plan.
type plannedActor struct {
	info   *actorInfo
	ips    []string
	uas    []string // by address; one for all when of length 1
	key    *apiKey
	acct   *account
	reqs   []plannedRequest
	next   int
	extras func(g *generator, rq *request, p *plannedRequest) // sets scenario-specific fields
}

func (a *plannedActor) generate(g *generator, from, to int64) {
	for ; a.next < len(a.reqs); a.next++ {
		p := &a.reqs[a.next]
		t := g.start + int64(p.at)
		if t >= to {
			return
		}
		op := ops[p.op]
		rq := request{
			start: t, actor: a.info, op: op, path: p.path, query: p.query, host: apiHost, serverPort: -1,
			clientIP: a.ips[p.ip], ua: a.uas[min(p.ip, len(a.uas)-1)], status: int32(p.status), target: p.target, object: p.object,
		}
		if !p.noKey {
			rq.key, rq.acct = a.key, a.acct
		}
		if a.extras != nil {
			a.extras(g, &rq, p)
		}
		g.size(&rq, 1, 0)
		if p.bytes > 0 {
			rq.respBytes = p.bytes
			rq.dur += int64(float64(p.bytes) / 60_000 * float64(time.Millisecond))
		}
		g.add(&rq)
	}
}

// addExfil adds the reference campaign: the signup five days before day 1,
// a look around with the new key, and the plan of simulateExfil, cut at the
// end of the window.
func (g *generator) addExfil() {
	w := g.w
	camp := g.addCampaign(&campaignInfo{
		name: ExfilCampaign, label: LabelAttacker, target: ops[opAdminExport], objectKind: "collection", objectParam: "collection_id",
		description: "trial account exfiltrates collections through the undocumented GET /v1/admin/export",
	})
	plan, _ := simulateExfil(w, w.seed)
	signup := -5*24*time.Hour + hm(19, 42) + 17*time.Second
	setup := []plannedRequest{
		{at: signup, op: opSignup, path: ops[opSignup].route, status: 201, bytes: 520},
		{at: signup + 4*time.Minute, op: opGetMe, path: ops[opGetMe].route, status: 200},
		{at: signup + 5*time.Minute, op: opListCollections, path: ops[opListCollections].route, status: 200, bytes: 120},
		{at: signup + 6*time.Minute, op: opListDocuments, path: ops[opListDocuments].route, status: 200, bytes: 120},
	}
	g.addActor(&plannedActor{
		info: g.newInfo(ExfilCampaign, LabelAttacker, camp), ips: ExfilIPs[:], uas: []string{exfilUA},
		key: w.exfilKey, acct: w.exfil, reqs: append(setup, plan...),
		extras: func(_ *generator, rq *request, p *plannedRequest) {
			if p.op == opSignup {
				rq.emailDomain, rq.ua = w.exfil.domain, exfilSignupUA
			}
		},
	}, newRand(g.seed, "actor:"+ExfilCampaign))
}
