package scenario

import (
	"fmt"
	"math"
	"net/url"
	"strconv"
	"testing"
	"time"
)

// generate runs the traffic model of o without the SDK, calls each (when
// not nil) for every request in order and returns the summary.
func generate(t *testing.T, o Options, each func(*request)) Summary {
	t.Helper()
	o, def, err := o.normalize()
	if err != nil {
		t.Fatal(err)
	}
	g := build(o, def)
	rec, err := newRecorder(g, Summary{Scenario: o.Scenario}, "")
	if err != nil {
		t.Fatal(err)
	}
	last := int64(math.MinInt64)
	err = g.run(func(rq *request) error {
		if rq.start < last {
			return fmt.Errorf("request at %d after one at %d: not in time order", rq.start, last)
		}
		last = rq.start
		if each != nil {
			each(rq)
		}
		return rec.record(rq, [16]byte{}, 1)
	})
	if err != nil {
		t.Fatal(err)
	}
	sum, err := rec.close("")
	if err != nil {
		t.Fatal(err)
	}
	return sum
}

func campaign(t *testing.T, s Summary, name string) CampaignSummary {
	t.Helper()
	for _, c := range s.Campaigns {
		if c.Name == name {
			return c
		}
	}
	t.Fatalf("summary has no campaign %q", name)
	return CampaignSummary{}
}

func TestExfilFigures(t *testing.T) {
	for _, scale := range []float64{0.0005, 0.005} {
		t.Run(fmt.Sprint("scale=", scale), func(t *testing.T) {
			// Recount from the requests themselves, not from the summary.
			perDayIP := map[[2]any]int{}
			collections := map[int]bool{}
			params := map[string]bool{}
			var total, bytes int64
			var signup *request
			sum := generate(t, Options{Start: testStart, Days: 4, Scale: scale, Seed: 3}, func(rq *request) {
				if rq.actor.campaign == nil || rq.actor.campaign.name != ExfilCampaign {
					if rq.op.id == opAdminExport {
						t.Fatalf("benign actor %s called the shadow endpoint", rq.actor.name)
					}
					return
				}
				if rq.actor.label != LabelAttacker {
					t.Fatalf("exfil request labelled %q", rq.actor.label)
				}
				if rq.op.id == opSignup {
					cp := *rq
					signup = &cp
				}
				if rq.op.id != opAdminExport {
					return
				}
				total++
				bytes += rq.respBytes
				day := int((rq.start - testStart.UnixNano()) / int64(24*time.Hour))
				perDayIP[[2]any{day + 1, rq.clientIP}]++
				q, _ := url.ParseQuery(rq.query)
				params[q.Get("collection_id")] = true
				if c, err := strconv.Atoi(q.Get("collection_id")); err == nil && rq.status == 200 && c >= 1 && c <= numCollections {
					collections[c] = true
				}
				if rq.ua != exfilUA || (rq.key == nil && rq.status != 401) || (rq.key != nil && rq.key != worldFor(3).exfilKey) {
					t.Fatalf("export request %+v: want the trial key and %q", rq, exfilUA)
				}
			})
			if total != ExfilRequests {
				t.Errorf("export requests = %d, want %d", total, ExfilRequests)
			}
			for day, counts := range exfilPerDay {
				for ip, want := range counts {
					if got := perDayIP[[2]any{day + 1, ExfilIPs[ip]}]; got != want {
						t.Errorf("day %d, %s: %d requests, want %d", day+1, ExfilIPs[ip], got, want)
					}
				}
			}
			if len(collections) != ExfilCollections {
				t.Errorf("distinct collections read = %d, want %d", len(collections), ExfilCollections)
			}
			if math.Abs(float64(bytes)-2.7e9) > 0.05*2.7e9 {
				t.Errorf("bytes = %d, want 2.7 GB ±5%%", bytes)
			}
			if signup == nil || signup.key == nil || signup.acct.plan != planTrial || signup.emailDomain == "" {
				t.Fatalf("signup = %+v, want a trial signup carrying the new key", signup)
			}
			if want := testStart.Add(-5 * 24 * time.Hour); time.Unix(0, signup.start).UTC().Truncate(24*time.Hour) != want {
				t.Errorf("signup at %v, want on %v", time.Unix(0, signup.start).UTC(), want)
			}

			c := campaign(t, sum, ExfilCampaign)
			if c.UniqueParamValues != len(params) || c.UniqueParamValues <= ExfilCollections {
				t.Errorf("summary: %d distinct collection_id values, recount %d (malformed included)", c.UniqueParamValues, len(params))
			}
			if c.Requests != ExfilRequests || c.UniqueObjects != ExfilCollections || c.Bytes != bytes || len(c.IPs) != 3 || len(c.APIKeyIDs) != 1 {
				t.Errorf("summary = %+v, want the recount", c)
			}
			if got := len(c.ByDay); got != 9 {
				t.Errorf("summary has %d day/IP rows, want 9", got)
			}
			if c.LastSeen.Sub(testStart) > 3*24*time.Hour+11*time.Hour {
				t.Errorf("last request at %v, after containment at about 11:00 on day 4", c.LastSeen)
			}
		})
	}
}

func TestExfilTruncated(t *testing.T) {
	sum := generate(t, Options{Start: testStart, Days: 2, Scale: 0.0005, Seed: 3}, nil)
	c := campaign(t, sum, ExfilCampaign)
	if want := int64(47 + 3214); c.Requests != want {
		t.Errorf("2 days: %d export requests, want %d", c.Requests, want)
	}
	if len(c.IPs) != 2 {
		t.Errorf("2 days: IPs %v, want the first two", c.IPs)
	}
}

func TestExfilDay1Probes(t *testing.T) {
	if n := len(exfilProbes); n != exfilPerDay[0][0] {
		t.Fatalf("%d probes, want %d", n, exfilPerDay[0][0])
	}
	plan, _ := simulateExfil(worldFor(5), 5)
	statuses := map[int]int{}
	for _, p := range plan[:47] {
		statuses[p.status]++
		if p.at < 2*time.Hour+17*time.Minute || p.at > 4*time.Hour {
			t.Errorf("probe at %v, want from 02:17 on day 1", p.at)
		}
	}
	if statuses[200] == 0 || statuses[400] == 0 || statuses[404] == 0 || statuses[401] != 1 {
		t.Errorf("day-1 statuses = %v, want successes, 400s, 404s and one 401", statuses)
	}
}
