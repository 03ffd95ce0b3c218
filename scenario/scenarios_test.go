package scenario

import (
	"slices"
	"testing"
	"time"
)

func TestScenarioRegistry(t *testing.T) {
	infos := Scenarios()
	if len(infos) < 5 || infos[0].Name != DefaultScenario {
		t.Fatalf("Scenarios() = %v, want the default first and at least five", infos)
	}
	for _, in := range infos {
		got, ok := Lookup(in.Name)
		if !ok || got != in || in.Description == "" {
			t.Errorf("Lookup(%q) = %v, %v", in.Name, got, ok)
		}
	}
	if got, ok := Lookup(""); !ok || got.Name != DefaultScenario {
		t.Errorf("Lookup(\"\") = %v, %v, want the default", got, ok)
	}
	if _, ok := Lookup("no-such"); ok {
		t.Error(`Lookup("no-such") found a scenario`)
	}
}

// scenarioRun collects what a scenario's campaign did.
type scenarioRun struct {
	campaign    []request // copies of the campaign's requests
	attackers   int       // attacker-labelled requests of any actor
	benignByOp  map[opID][]request
	campaignSum CampaignSummary
}

func runScenario(t *testing.T, name string, scale float64) scenarioRun {
	t.Helper()
	run := scenarioRun{benignByOp: map[opID][]request{}}
	sum := generate(t, Options{Scenario: name, Start: testStart, Days: 4, Scale: scale, Seed: 11}, func(rq *request) {
		if rq.actor.label == LabelAttacker {
			run.attackers++
		}
		if rq.actor.campaign != nil {
			if rq.actor.campaign.name != name {
				t.Fatalf("scenario %s emitted a request of campaign %s", name, rq.actor.campaign.name)
			}
			run.campaign = append(run.campaign, *rq)
			return
		}
		if rq.actor.label != LabelBenign {
			t.Fatalf("request of %s labelled %q outside any campaign", rq.actor.name, rq.actor.label)
		}
		if rq.op.id == opSearch || rq.op.id == opLogin {
			run.benignByOp[rq.op.id] = append(run.benignByOp[rq.op.id], *rq)
		}
	})
	run.campaignSum = campaign(t, sum, name)
	if int64(len(run.campaign)) != run.campaignSum.Requests+run.campaignSum.OtherRequests {
		t.Fatalf("%d campaign requests, summary counts %d", len(run.campaign), run.campaignSum.Requests+run.campaignSum.OtherRequests)
	}
	return run
}

func TestCredentialStuffing(t *testing.T) {
	run := runScenario(t, "credential-stuffing", 0.0005)
	perIP := map[string]int{}
	ok := 0
	for _, rq := range run.campaign {
		if rq.op.id != opLogin || rq.actor.label != LabelAttacker || rq.key != nil {
			t.Fatalf("stuffing request %s %s by %s (%s), want anonymous POST /v1/auth/login", rq.op.method, rq.path, rq.actor.name, rq.actor.label)
		}
		perIP[rq.clientIP]++
		switch rq.status {
		case 200:
			ok++
			if rq.acct == nil || rq.acct.plan != planEnterprise {
				t.Fatalf("successful stuffing login without the taken-over account")
			}
		case 401:
			if rq.acct != nil {
				t.Fatalf("failed login carries account %s", rq.acct.id)
			}
		default:
			t.Fatalf("stuffing login status %d", rq.status)
		}
	}
	if len(perIP) < 2000 || slices.Max(mapValues(perIP)) > 6 {
		t.Errorf("%d addresses, at most %d attempts each; want many, low rate", len(perIP), slices.Max(mapValues(perIP)))
	}
	if rate := float64(ok) / float64(len(run.campaign)); ok == 0 || rate > 0.02 {
		t.Errorf("%d of %d attempts succeeded, want a few", ok, len(run.campaign))
	}
	if run.attackers != len(run.campaign) || len(run.benignByOp[opLogin]) == 0 {
		t.Errorf("attackers %d, campaign %d, benign logins %d", run.attackers, len(run.campaign), len(run.benignByOp[opLogin]))
	}
}

func TestSearchScraper(t *testing.T) {
	run := runScenario(t, "search-scraper", 0.002)
	ips := map[string]bool{}
	deep := 0
	for _, rq := range run.campaign {
		if rq.op.id != opSearch || rq.key != worldFor(11).scraperKey || rq.actor.label != LabelAttacker {
			t.Fatalf("scraper request %s %s with key %v", rq.op.method, rq.path, rq.key)
		}
		ips[rq.clientIP] = true
		if atoiParam(rq.query, "page") > 10 {
			deep++
		}
	}
	benignDeep := 0
	for _, rq := range run.benignByOp[opSearch] {
		if atoiParam(rq.query, "page") > 10 {
			benignDeep++
		}
	}
	if len(ips) != 2 || deep < 1000 || benignDeep*20 > deep {
		t.Errorf("scraper: %d IPs, %d requests past page 10 (customers: %d of %d)", len(ips), deep, benignDeep, len(run.benignByOp[opSearch]))
	}
}

func TestBOLAEnumeration(t *testing.T) {
	run := runScenario(t, "bola-enumeration", 0.0005)
	w := worldFor(11)
	statuses := map[int32]int{}
	var prev int64
	for i, rq := range run.campaign {
		if rq.op.id != opGetDocument || rq.key != w.bolaKey || rq.clientIP != run.campaign[0].clientIP {
			t.Fatalf("BOLA request %s %s from %s", rq.op.method, rq.path, rq.clientIP)
		}
		if i > 0 && rq.object != prev+1 {
			t.Fatalf("document %d follows %d: not sequential", rq.object, prev)
		}
		prev = rq.object
		statuses[rq.status]++
		want := int32(403)
		switch {
		case w.docCollection(rq.object) == 0:
			want = 404
		case w.linkShared(rq.object):
			want = 200
		}
		if rq.status != want {
			t.Fatalf("document %d answered %d, the service answers %d", rq.object, rq.status, want)
		}
	}
	if n := len(run.campaign); n != 5200 || statuses[200] == 0 || statuses[403]+statuses[404] < n*8/10 {
		t.Errorf("%d requests with statuses %v, want mostly 403/404 and some 200", n, statuses)
	}
	if run.campaignSum.UniqueObjects != statuses[200] {
		t.Errorf("summary: %d documents exposed, want %d", run.campaignSum.UniqueObjects, statuses[200])
	}
}

func TestBenignSpike(t *testing.T) {
	const name = "benign-spike"
	o, def, _ := Options{Scenario: name, Start: testStart, Days: 4, Scale: 0.002, Seed: 11}.normalize()
	g := build(o, def)
	var spiker *client
	for _, e := range g.actors {
		if s, ok := e.a.(*spike); ok {
			spiker = s.c
		}
	}
	from, to := testStart.Add(2*24*time.Hour+14*time.Hour).UnixNano(), testStart.Add(2*24*time.Hour+18*time.Hour).UnixNano()
	var base, extra, attackers int
	sum := generate(t, o, func(rq *request) {
		if rq.actor.label != LabelBenign {
			attackers++
		}
		if rq.actor.name != spiker.info.name {
			return
		}
		if rq.actor.campaign != nil {
			extra++
			if rq.start < from || rq.start >= to+int64(time.Minute) || !slices.Contains(spiker.ips, rq.clientIP) || rq.key != spiker.keys[0] || !rq.op.documented {
				t.Fatalf("spike request %s %s from %s at %v outside the client's habits", rq.op.method, rq.path, rq.clientIP, time.Unix(0, rq.start).UTC())
			}
		} else if rq.start >= from && rq.start < to && rq.key != nil {
			base++
		}
	})
	if attackers != 0 {
		t.Errorf("%d attacker-labelled requests in a benign scenario", attackers)
	}
	if base == 0 || extra < 10*base || extra > 30*base {
		t.Errorf("spike: %d extra requests on %d usual ones, want about 19 times", extra, base)
	}
	if c := campaign(t, sum, name); c.Label != LabelBenign || c.Requests != int64(extra) {
		t.Errorf("campaign summary %+v", c)
	}
}

func mapValues(m map[string]int) []int {
	out := make([]int, 0, len(m))
	for _, v := range m {
		out = append(out, v)
	}
	return out
}

func TestEndCutsTheWindow(t *testing.T) {
	start := time.Date(2026, 3, 2, 0, 0, 0, 0, time.UTC)
	end := start.Add(50 * time.Hour)
	o, def, err := Options{Start: start, Days: 4, Scale: 0.0002, Seed: 3, End: end}.normalize()
	if err != nil {
		t.Fatal(err)
	}
	var n int
	var last int64
	err = build(o, def).run(func(rq *request) error {
		n++
		last = max(last, rq.start)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if n == 0 || last >= end.UnixNano() {
		t.Errorf("with End %v: %d requests, the last at %v; want some, all before End", end, n, time.Unix(0, last).UTC())
	}
}
