package scenario

import (
	"math/rand/v2"
	"slices"
	"time"
)

// Info describes a scenario.
type Info struct {
	Name        string `json:"name"`
	Description string `json:"description"`
}

// DefaultScenario is the reference scenario of PRODUCT.md §1.
const DefaultScenario = "datavault"

type scenarioDef struct {
	Info
	add func(g *generator) // adds the scenario's actors to the benign base
}

var registry = []scenarioDef{
	{Info{DefaultScenario, "trial key exfiltrates 3,847 collections through the undocumented GET /v1/admin/export from three DigitalOcean IPs over four days"}, (*generator).addExfil},
	{Info{"credential-stuffing", "a botnet of residential IPs tries leaked credentials on POST /v1/auth/login, a few attempts an address, mostly 401 with a few take-overs"}, (*generator).addCredentialStuffing},
	{Info{"search-scraper", "two hosting IPs with a trial key page through GET /v1/search far deeper than any customer"}, (*generator).addSearchScraper},
	{Info{"bola-enumeration", "one trial key walks GET /v1/documents/{id} through sequential ids: mostly 403/404, some 200 through a broken object-level authorisation check"}, (*generator).addBOLA},
	{Info{"benign-spike", "an enterprise customer migrates: its usual key and IPs, 20x its normal volume of documented reads for four hours (benign)"}, (*generator).addBenignSpike},
}

// Scenarios lists the scenarios Backfill knows, the default first.
func Scenarios() []Info {
	out := make([]Info, len(registry))
	for i, s := range registry {
		out[i] = s.Info
	}
	return out
}

// Lookup returns the scenario called name; the empty name is the default.
func Lookup(name string) (Info, bool) {
	d, ok := lookup(name)
	return d.Info, ok
}

func lookup(name string) (scenarioDef, bool) {
	if name == "" {
		name = DefaultScenario
	}
	for _, s := range registry {
		if s.Name == name {
			return s, true
		}
	}
	return scenarioDef{}, false
}

var browserUAs = []string{
	"Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/125.0.0.0 Safari/537.36",
	"Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36 Edg/124.0.0.0",
	"Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/125.0.0.0 Safari/537.36",
	"Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:126.0) Gecko/20100101 Firefox/126.0",
	"Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1",
	"Mozilla/5.0 (Linux; Android 14; SM-S918B) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/125.0.0.0 Mobile Safari/537.36",
	"Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/123.0.0.0 Safari/537.36",
}

// sortPlan orders a plan by time, as plannedActor replays it.
func sortPlan(p []plannedRequest) {
	slices.SortStableFunc(p, func(a, b plannedRequest) int {
		switch {
		case a.at < b.at:
			return -1
		case a.at > b.at:
			return 1
		}
		return 0
	})
}

// uniformIn returns an instant drawn uniformly in [from, to) of day (1-based).
func uniformIn(r *rand.Rand, day int, from, to time.Duration) time.Duration {
	return time.Duration(day-1)*24*time.Hour + from + time.Duration(r.Int64N(int64(to-from)))
}

// addCredentialStuffing: 2,400 residential addresses, each trying one to
// six leaked e-mail/password pairs on POST /v1/auth/login between day 2
// 20:00 and day 3 08:00 UTC. About 0.6% succeed and take over a customer
// account.
func (g *generator) addCredentialStuffing() {
	const name = "credential-stuffing"
	r := newRand(g.seed, "plan:"+name)
	camp := g.addCampaign(&campaignInfo{name: name, label: LabelAttacker, target: ops[opLogin], objectKind: "account",
		description: "credential stuffing against POST /v1/auth/login"})
	ips := newIPAllocator(r)
	a := &plannedActor{info: g.newInfo(name+"-botnet", LabelAttacker, camp)}
	for i := 0; i < 2400; i++ {
		a.ips = append(a.ips, ips.next(ipResidential))
		a.uas = append(a.uas, browserUAs[r.IntN(len(browserUAs))])
		for n := 1 + r.IntN(6); n > 0; n-- {
			p := plannedRequest{at: uniformIn(r, 2, 20*time.Hour, 32*time.Hour), ip: i, op: opLogin, path: ops[opLogin].route, status: 401, noKey: true, target: true}
			if r.Float64() < 0.006 {
				p.status, p.object = 200, int64(1+r.IntN(numEnterprise))
			}
			a.reqs = append(a.reqs, p)
		}
	}
	sortPlan(a.reqs)
	w := g.w
	a.extras = func(_ *generator, rq *request, p *plannedRequest) {
		if p.status == 200 {
			rq.acct = w.enterprise[p.object-1] // the taken-over account
		}
	}
	g.addActor(a, newRand(g.seed, "actor:"+name))
}

// addSearchScraper: two hosting addresses share a trial key and page
// through GET /v1/search, 100 results a page, for every term of a word
// list, from day 2 09:00 to day 3 21:00 UTC. Customers rarely go past page
// three; the scraper reads every page.
func (g *generator) addSearchScraper() {
	const name = "search-scraper"
	r := newRand(g.seed, "plan:"+name)
	camp := g.addCampaign(&campaignInfo{name: name, label: LabelAttacker, target: ops[opSearch], objectKind: "search term",
		description: "scraping of the search index through GET /v1/search"})
	ips := newIPAllocator(r)
	a := &plannedActor{
		info: g.newInfo(name, LabelAttacker, camp), key: g.w.scraperKey, acct: g.w.scraper,
		ips: []string{ips.next(ipHosting), ips.next(ipHosting)}, uas: []string{"Scrapy/2.11.2 (+https://scrapy.org)"},
	}
	terms := append([]string(nil), searchTerms...)
	for _, x := range searchTerms {
		for _, y := range []string{"2023", "2024", "final", "draft", "signed", "confidential"} {
			terms = append(terms, x+"+"+y)
		}
	}
	var queries []plannedRequest
	for i, term := range terms {
		hits := int(logNormal(r, 2500, 0.6))
		for page := 1; (page-1)*100 < hits; page++ {
			n := min(100, hits-(page-1)*100)
			queries = append(queries, plannedRequest{
				op: opSearch, path: ops[opSearch].route, query: pageQuery("q="+term, page, 100), status: 200,
				bytes: int64(110 + n*ops[opSearch].itemBytes), target: true, object: int64(i + 1), ip: i % 2,
			})
		}
	}
	for i, t := range spread(r, []window{{9 * time.Hour, 45 * time.Hour}}, len(queries)) {
		queries[i].at = 24*time.Hour + t
	}
	a.reqs = queries
	g.addActor(a, newRand(g.seed, "actor:"+name))
}

// addBOLA: one address with a trial key requests GET /v1/documents/{id}
// for 5,200 consecutive ids from day 3 13:00 to 19:00 UTC. Deleted ids
// answer 404, other accounts' documents 403, and documents with a public
// share link 200: the broken object-level authorisation being exploited.
func (g *generator) addBOLA() {
	const name = "bola-enumeration"
	r := newRand(g.seed, "plan:"+name)
	w := g.w
	camp := g.addCampaign(&campaignInfo{name: name, label: LabelAttacker, target: ops[opGetDocument], objectKind: "document",
		description: "sequential-id enumeration of GET /v1/documents/{id} (broken object-level authorisation)"})
	a := &plannedActor{
		info: g.newInfo(name, LabelAttacker, camp), key: w.bolaKey, acct: w.bola,
		ips: []string{newIPAllocator(r).next(ipHosting)}, uas: []string{"python-httpx/0.27.0"},
	}
	first := w.collStart[2000+r.IntN(4000)]
	for i, t := range spread(r, []window{{13 * time.Hour, 19 * time.Hour}}, 5200) {
		id := first + int64(i)
		p := plannedRequest{at: 2*24*time.Hour + t, op: opGetDocument, path: appendPath("/v1/documents/", id, ""), target: true, object: id}
		switch c := w.docCollection(id); {
		case c == 0:
			p.status = 404
		case w.linkShared(id):
			p.status = 200
		default:
			p.status = 403
		}
		a.reqs = append(a.reqs, p)
	}
	g.addActor(a, newRand(g.seed, "actor:"+name))
}

// addBenignSpike: the fifth-largest enterprise client migrates to a new
// system and reads its documents at twenty times its usual rate, from its
// usual addresses with its usual key, on day 3 from 14:00 to 18:00 UTC.
func (g *generator) addBenignSpike() {
	const name = "benign-spike"
	camp := g.addCampaign(&campaignInfo{name: name, label: LabelBenign, objectKind: "",
		description: "a customer's migration: 20x its usual documented reads for four hours"})
	var clients []*client
	for _, e := range g.actors {
		if c, ok := e.a.(*client); ok && c.acct.plan == planEnterprise {
			clients = append(clients, c)
		}
	}
	slices.SortStableFunc(clients, func(a, b *client) int {
		switch {
		case a.perDay > b.perDay:
			return -1
		case a.perDay < b.perDay:
			return 1
		}
		return 0
	})
	c := clients[4]
	s := &spike{
		c: c, info: g.newInfo(c.info.name, LabelBenign, camp),
		from: g.at(3, 14*time.Hour), to: g.at(3, 18*time.Hour),
		mix: newWeighted(map[opID]float64{opGetDocument: 40, opGetDocumentContent: 35, opListCollectionDocuments: 25}),
	}
	g.addActor(s, newRand(g.seed, "actor:"+name))
}

// spike adds a client's extra reads during a window: 19 times its normal
// rate, so that with its base traffic it runs at 20 times.
type spike struct {
	c        *client
	info     *actorInfo
	from, to int64
	mix      *weighted
}

func (s *spike) generate(g *generator, from, to int64) {
	if to <= s.from || from >= s.to {
		return
	}
	c := s.c
	for n := poisson(g.r, 19*c.rate(from)*float64(to-from)/float64(time.Minute)); n > 0; n-- {
		rq := request{
			start: from + g.r.Int64N(to-from), actor: s.info, host: c.host, serverPort: c.port,
			clientIP: c.ips[g.r.IntN(len(c.ips))], ua: c.ua, key: c.keys[0], acct: c.acct, target: true,
		}
		g.call(&rq, ops[s.mix.pick(g.r)], c.acct, false, habits{limit: 100})
	}
}
