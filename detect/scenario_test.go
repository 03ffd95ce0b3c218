package detect_test

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tracehound/tracehound/detect"
	"github.com/tracehound/tracehound/scenario"
	"github.com/tracehound/tracehound/sqlguard"
	"github.com/tracehound/tracehound/store"
)

func investigate(t testing.TB, f *fixture, callers []string, o detect.Options) *detect.Report {
	t.Helper()
	o.Callers, o.Since, o.Until = callers, fixtureStart, fixtureEnd
	rep, err := detect.Investigate(context.Background(), f.store, o)
	if err != nil {
		t.Fatalf("Investigate(%s, %d callers): %v", f.name, len(callers), err)
	}
	if len(rep.Callers) != len(callers) {
		t.Fatalf("Investigate(%s) returned %d reports for %d callers", f.name, len(rep.Callers), len(callers))
	}
	return rep
}

func findingWith(c *detect.CallerReport, detector string) *detect.Finding {
	for i := range c.Findings {
		if c.Findings[i].Detector == detector {
			return &c.Findings[i]
		}
	}
	return nil
}

func detection(c *detect.CallerReport, name string) *detect.Detection {
	for i := range c.Detectors {
		if c.Detectors[i].Detector == name {
			return &c.Detectors[i]
		}
	}
	return nil
}

func hasTechnique(ts []detect.Technique, id string) bool {
	return slices.ContainsFunc(ts, func(t detect.Technique) bool { return t.ID == id })
}

func hasOWASP(os []detect.OWASPCategory, prefix string) bool {
	return slices.ContainsFunc(os, func(o detect.OWASPCategory) bool { return strings.HasPrefix(o.ID, prefix) })
}

// TestDataVault is the reference scenario's acceptance: the three
// attacker addresses are data exfiltration with high certainty, one
// campaign that read the collections the ground truth says, and the
// partner's nightly sync and the heaviest customers are not flagged.
func TestDataVault(t *testing.T) {
	f := seeded(t, scenario.DefaultScenario)
	truth := f.campaignSummary(t, scenario.ExfilCampaign)
	attackers := scenario.ExfilIPs[:]
	var mu sync.Mutex
	var enriched []string
	rep := investigate(t, f, attackers, detect.Options{
		Enrich: func(_ context.Context, ip string) (detect.Enrichment, error) {
			mu.Lock()
			enriched = append(enriched, ip)
			mu.Unlock()
			if slices.Contains(attackers, ip) {
				return detect.Enrichment{Country: "NL", ASN: 14061, ASOrg: "DigitalOcean, LLC", UsageType: "Data Center/Web Hosting/Transit", DataCenter: true}, nil
			}
			return detect.Enrichment{}, fmt.Errorf("unknown address")
		},
		Endpoints: func(_ context.Context, ep detect.EndpointRef) (detect.EndpointFacts, bool) {
			if ep.Route == truth.Target[strings.IndexByte(truth.Target, ' ')+1:] {
				return detect.EndpointFacts{Shadow: true, Auth: "enforced", Tags: []string{"admin", "export"}, Sensitivity: []string{"bulk"}}, true
			}
			return detect.EndpointFacts{}, false
		},
	})
	if rep.Queries > 6 {
		t.Errorf("Investigate ran %d queries, want at most 6", rep.Queries)
	}
	key := truth.APIKeyIDs[0]
	var totalRequests int64
	for i := range rep.Callers {
		c := &rep.Callers[i]
		t.Run(c.Caller.Value, func(t *testing.T) {
			if c.Verdict != "Malicious — Data Exfiltration" || c.Certainty != detect.CertaintyHigh || c.RiskScore < 85 {
				t.Fatalf("verdict %q, certainty %s, risk %d; want Malicious — Data Exfiltration, high, ≥ 85\n%s", c.Verdict, c.Certainty, c.RiskScore, c.Summary)
			}
			var want int64
			for _, d := range truth.ByDay {
				if d.IP == c.Caller.Value {
					want += d.Requests
				}
			}
			top := c.Activity.TopEndpoints[0]
			if top.Endpoint != truth.Target || top.Requests != want {
				t.Errorf("top endpoint %s with %d requests, want %s with %d", top.Endpoint, top.Requests, truth.Target, want)
			}
			totalRequests += top.Requests
			if f := findingWith(c, "activity"); f == nil || f.Figures["requests"] != c.Activity.Requests {
				t.Errorf("no activity finding with the request count %d", c.Activity.Requests)
			}
			enum := detection(c, detect.DetectorEnumeration)
			if !enum.Fired || !strings.Contains(enum.Finding, "query parameter "+truth.ObjectParam) || findingWith(c, detect.DetectorEnumeration) == nil {
				t.Errorf("enumeration %v: %s; want the sequential walk of %s found", enum.Fired, enum.Finding, truth.ObjectParam)
			}
			if avg := float64(top.Bytes) / float64(top.Requests); math.Abs(avg-187_000) > 10_000 {
				t.Errorf("average response %.0f bytes, want about 187 KB", avg)
			}
			var bytesFinding bool
			for _, fd := range c.Findings {
				if fd.Figures["bytes"] == c.Activity.Bytes && fd.Figures["avg_bytes"] != nil && strings.Contains(fd.Text, "KB a response") {
					bytesFinding = true
				}
			}
			if !bytesFinding {
				t.Errorf("no finding states the total bytes %d and the average response", c.Activity.Bytes)
			}
			if !detection(c, detect.DetectorFocus).Fired || findingWith(c, detect.DetectorFocus) == nil {
				t.Errorf("single-endpoint focus not found")
			}
			kf := findingWith(c, "api_key")
			if kf == nil || kf.Figures["api_key_id"] != key || kf.Figures["ips"] != 3 || kf.Figures["age_censored"] != false {
				t.Fatalf("key finding %+v, want key %s shared by 3 addresses with a known age", kf, key)
			}
			if age := kf.Figures["age_days"].(float64); math.Abs(age-fixtureEnd.Sub(truth.FirstSeen).Hours()/24) > 0.01 {
				t.Errorf("key age %.2f days, want %.2f (first seen at the signup)", age, fixtureEnd.Sub(truth.FirstSeen).Hours()/24)
			}
			if !strings.Contains(kf.Text, "created by POST") {
				t.Errorf("key finding %q does not say the key was created in the observed traffic", kf.Text)
			}
			for _, id := range []string{"T1190", "T1530", "T1078"} {
				if !hasTechnique(c.AttackTechniques, id) {
					t.Errorf("ATT&CK %v lacks %s", c.AttackTechniques, id)
				}
			}
			for _, id := range []string{"API1", "API3", "API4", "API9"} {
				if !hasOWASP(c.OWASP, id) {
					t.Errorf("OWASP %v lacks %s", c.OWASP, id)
				}
			}
			if len(c.Remediation) < 3 || !strings.Contains(strings.Join(c.Remediation, "\n"), key) {
				t.Errorf("remediation %q does not revoke the key", c.Remediation)
			}
			if c.Enrichment == nil || !c.Enrichment.DataCenter || findingWith(c, "network") == nil {
				t.Errorf("enrichment %+v not reported", c.Enrichment)
			}
			if c.Campaign == nil || c.Campaign.Members != 3 {
				t.Errorf("campaign %+v, want one of three addresses", c.Campaign)
			}
		})
	}
	if totalRequests != truth.Requests {
		t.Errorf("the three addresses sent %d requests to the target, ground truth %d", totalRequests, truth.Requests)
	}
	if len(rep.Campaigns) != 1 {
		t.Fatalf("%d campaigns, want 1", len(rep.Campaigns))
	}
	camp := rep.Campaigns[0]
	if !slices.Equal(sortedCopy(camp.IPs), sortedCopy(attackers)) || !slices.Equal(camp.APIKeys, []string{key}) {
		t.Errorf("campaign members %v keys %v, want %v and %s", camp.IPs, camp.APIKeys, attackers, key)
	}
	if camp.UniqueObjects != int64(truth.UniqueObjects) || camp.Requests != truth.Requests || camp.Bytes != truth.Bytes {
		t.Errorf("campaign read %d objects in %d requests, %d bytes; ground truth %d, %d, %d",
			camp.UniqueObjects, camp.Requests, camp.Bytes, truth.UniqueObjects, truth.Requests, truth.Bytes)
	}
	if camp.Overlap > 0.05 || len(camp.Ranges) != 3 {
		t.Errorf("id ranges %+v overlap %.2f; want three complementary ranges", camp.Ranges, camp.Overlap)
	}
	if d := camp.LastSeen.Sub(camp.FirstSeen).Hours(); d < 78 || d > 82 {
		t.Errorf("campaign lasts %.1f hours, want about 80", d)
	}
	kinds := map[string]int{}
	for _, e := range camp.Timeline {
		kinds[e.Kind]++
	}
	if kinds["first_probe"] != 1 || kinds["automation_start"] != 1 || kinds["ip_joined"] != 2 || kinds["pause"] < 2 || kinds["last_request"] != 1 {
		t.Errorf("timeline kinds %v, want a first probe, automation start, two joins, the pauses and the end", kinds)
	}
	var auto time.Time
	for _, e := range camp.Timeline {
		if e.Kind == "automation_start" {
			auto = e.At
		}
	}
	if day := int(auto.Sub(fixtureStart).Hours()/24) + 1; day != 2 {
		t.Errorf("automation starts %s (day %d), want day 2", auto, day)
	}
	if !slices.Contains(enriched, scenario.ExfilIPs[0]) {
		t.Errorf("the enrichment hook was not called for the attackers")
	}
	c := rep.Callers[0]
	t.Logf("%s: %s\n  pattern: %s", c.Caller.Value, c.Summary, c.AttackPattern)
	for _, f := range c.Findings {
		t.Logf("  finding (%s): %s", f.Detector, f.Text)
	}
	if _, err := json.Marshal(rep); err != nil {
		t.Errorf("the report does not encode: %v", err)
	}
}

// TestDataVaultBenign checks that the partner's nightly sync and the
// heaviest customers are not flagged, and the sync is recognised.
func TestDataVaultBenign(t *testing.T) {
	f := seeded(t, scenario.DefaultScenario)
	ctx := context.Background()
	// The partner: the addresses of the documented bulk sync; the heavy
	// customers: the busiest benign addresses by bytes.
	res, err := f.store.Query(ctx, `SELECT peer_ip, sum(response_bytes) AS b FROM traces
		WHERE span_kind = 'Server' AND timestamp >= ? AND timestamp < ? GROUP BY peer_ip ORDER BY b DESC LIMIT 40`,
		store.QueryOptions{}, fixtureStart, fixtureEnd)
	if err != nil {
		t.Fatal(err)
	}
	var heavy []string
	for _, r := range res.Rows {
		if ip := r[0].(string); f.truth[ip] == scenario.LabelBenign && len(heavy) < 12 {
			heavy = append(heavy, ip)
		}
	}
	rep := investigate(t, f, heavy, detect.Options{})
	partners := 0
	for _, c := range rep.Callers {
		if c.Severity.Flagged() {
			t.Errorf("%s (benign, %s) is %s: %s", c.Caller.Value, fmtBytes(c.Activity.Bytes), c.Verdict, c.Summary)
		}
		if c.Class == detect.ClassPartner {
			partners++
			if c.Certainty != detect.CertaintyHigh || len(c.Remediation) == 0 {
				t.Errorf("partner %s certainty %s remediation %q", c.Caller.Value, c.Certainty, c.Remediation)
			}
		}
	}
	// The two heaviest benign addresses are the partner's sync.
	if partners < 2 {
		t.Errorf("%d addresses recognised as a partner integration, want the sync's 2", partners)
	}
}

// groundTruthRow is one scenario's score.
type groundTruthRow struct {
	scenario           string
	callers, attackers int
	tp, fp, fn         int
	elapsed            time.Duration
	classes            map[string]int
}

// TestGroundTruth investigates every client address of every scenario and
// scores "Malicious or Suspicious" against the ground truth's attacker
// label: precision and recall over the pooled scenarios, and the verdict
// class of each scenario's attackers.
func TestGroundTruth(t *testing.T) {
	wantClass := map[string]detect.Class{
		"datavault":           detect.ClassExfiltration,
		"credential-stuffing": detect.ClassCredentialStuffing,
		"search-scraper":      detect.ClassScraping,
		"bola-enumeration":    detect.ClassBOLA,
	}
	var rows []groundTruthRow
	for _, info := range scenario.Scenarios() {
		f := seeded(t, info.Name)
		start := time.Now()
		var progress [][2]int
		rep := investigate(t, f, f.addresses(), detect.Options{Progress: func(done, total int) { progress = append(progress, [2]int{done, total}) }})
		row := groundTruthRow{scenario: info.Name, callers: len(rep.Callers), attackers: len(f.attackers()), elapsed: time.Since(start), classes: map[string]int{}}
		if len(progress) == 0 || progress[len(progress)-1] != [2]int{row.callers, row.callers} {
			t.Errorf("%s: progress %v does not end at %d of %d", info.Name, progress, row.callers, row.callers)
		}
		for _, c := range rep.Callers {
			attacker := f.truth[c.Caller.Value] == scenario.LabelAttacker
			flagged := c.Severity.Flagged()
			switch {
			case attacker && flagged:
				row.tp++
				row.classes[c.Verdict]++
			case flagged:
				row.fp++
				t.Logf("%s: false positive %s: %s", info.Name, c.Caller.Value, c.Summary)
			case attacker:
				row.fn++
			}
		}
		rows = append(rows, row)
		if want, ok := wantClass[info.Name]; ok {
			best, n := "", 0
			for v, k := range row.classes {
				if k > n {
					best, n = v, k
				}
			}
			if !strings.HasSuffix(best, string(want)) {
				t.Errorf("%s: attackers' commonest verdict %q, want class %q", info.Name, best, want)
			}
		} else if row.fp > 0 {
			t.Errorf("%s: %d benign addresses flagged in a scenario without attackers", info.Name, row.fp)
		}
	}
	var tp, fp, fn int
	t.Logf("%-20s %8s %9s %6s %4s %4s %9s %7s  %s", "scenario", "callers", "attackers", "tp", "fp", "fn", "precision", "recall", "time")
	for _, r := range rows {
		tp, fp, fn = tp+r.tp, fp+r.fp, fn+r.fn
		t.Logf("%-20s %8d %9d %6d %4d %4d %9.3f %7.3f  %v %v", r.scenario, r.callers, r.attackers, r.tp, r.fp, r.fn,
			ratio(r.tp, r.tp+r.fp), ratio(r.tp, r.tp+r.fn), r.elapsed.Round(time.Millisecond), r.classes)
	}
	precision, recall := ratio(tp, tp+fp), ratio(tp, tp+fn)
	t.Logf("%-20s %8s %9d %6d %4d %4d %9.3f %7.3f", "all", "", tp+fn, tp, fp, fn, precision, recall)
	if precision < 0.95 || recall < 0.9 {
		t.Errorf("precision %.3f, recall %.3f; want ≥ 0.95 and ≥ 0.9", precision, recall)
	}
	// Each scenario on its own, too: the small ones must not hide in the
	// credential-stuffing botnet's numbers.
	for _, r := range rows {
		if r.attackers > 0 && ratio(r.tp, r.tp+r.fn) < 0.9 {
			t.Errorf("%s: recall %.3f", r.scenario, ratio(r.tp, r.tp+r.fn))
		}
		if r.tp+r.fp > 0 && ratio(r.tp, r.tp+r.fp) < 0.95 {
			t.Errorf("%s: precision %.3f", r.scenario, ratio(r.tp, r.tp+r.fp))
		}
	}
}

func ratio(a, b int) float64 {
	if b == 0 {
		return 1
	}
	return float64(a) / float64(b)
}

// TestEvidenceReproduces pastes every detection's query into the guard
// of `tracehound sql` and into the store, and checks that it returns the
// figures the detection reports.
func TestEvidenceReproduces(t *testing.T) {
	guard := sqlguard.New()
	cases := []struct {
		scenario string
		callers  func(f *fixture) []string
	}{
		{scenario.DefaultScenario, func(f *fixture) []string { return append(scenario.ExfilIPs[:], busiest(t, f, 3)...) }},
		{"bola-enumeration", func(f *fixture) []string { return f.attackers() }},
		{"search-scraper", func(f *fixture) []string {
			return append(f.attackers(), "key:"+f.campaignSummary(t, "search-scraper").APIKeyIDs[0])
		}},
		{"credential-stuffing", func(f *fixture) []string { return f.attackers()[:5] }},
	}
	checked := map[string]int{}
	for _, tc := range cases {
		f := seeded(t, tc.scenario)
		rep := investigate(t, f, tc.callers(f), detect.Options{})
		for _, c := range rep.Callers {
			for _, d := range c.Detectors {
				if d.Evidence.SQL == "" {
					continue
				}
				name := tc.scenario + "/" + c.Caller.Value + "/" + d.Detector
				checkEvidence(t, guard, f, name, d.Evidence)
				checked[d.Detector]++
			}
		}
		for _, camp := range rep.Campaigns {
			checkEvidence(t, guard, f, tc.scenario+"/campaign "+camp.ID, camp.Evidence)
			checked["campaign"]++
		}
	}
	for _, d := range append(detect.Detectors(), "campaign") {
		if checked[d] == 0 {
			t.Errorf("no evidence of %s was checked", d)
		}
	}
}

// checkEvidence runs an evidence query and compares its first row with
// the figures of the same names.
func checkEvidence(t *testing.T, guard *sqlguard.Guard, f *fixture, name string, ev detect.Evidence) {
	t.Helper()
	if err := guard.Check(ev.SQL); err != nil {
		t.Errorf("%s: the guard refuses the evidence: %v\n%s", name, err, ev.SQL)
		return
	}
	res, err := f.store.Query(context.Background(), ev.SQL, store.QueryOptions{MaxRows: 10})
	if err != nil {
		t.Errorf("%s: %v\n%s", name, err, ev.SQL)
		return
	}
	if len(res.Rows) == 0 {
		t.Errorf("%s: no rows\n%s", name, ev.SQL)
		return
	}
	compared := 0
	for i, col := range res.Columns {
		want, ok := ev.Figures[col]
		if !ok {
			continue
		}
		compared++
		got := res.Rows[0][i]
		if !sameFigure(want, got) {
			t.Errorf("%s: %s = %v from the query, %v in the evidence\n%s", name, col, got, want, ev.SQL)
		}
	}
	if compared == 0 {
		t.Errorf("%s: no figure matches a column of %v", name, res.Columns)
	}
}

func sameFigure(want, got any) bool {
	if wt, ok := want.(time.Time); ok {
		gt, ok := got.(time.Time)
		return ok && wt.Equal(gt)
	}
	w, ok1 := store.AsFloat64(want)
	g, ok2 := store.AsFloat64(got)
	if !ok1 || !ok2 {
		if got == nil {
			return w == 0
		}
		return fmt.Sprint(want) == fmt.Sprint(got)
	}
	return math.Abs(w-g) <= 2e-3*math.Max(1, math.Abs(w))
}

// busiest returns the n busiest benign addresses of a fixture.
func busiest(t *testing.T, f *fixture, n int) []string {
	t.Helper()
	res, err := f.store.Query(context.Background(), `SELECT peer_ip, count() AS c FROM traces
		WHERE span_kind = 'Server' AND timestamp >= ? AND timestamp < ? GROUP BY peer_ip ORDER BY c DESC LIMIT 20`,
		store.QueryOptions{}, fixtureStart, fixtureEnd)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, r := range res.Rows {
		if ip := r[0].(string); f.truth[ip] == scenario.LabelBenign && len(out) < n {
			out = append(out, ip)
		}
	}
	return out
}

// TestCampaigns searches the reference window for campaigns without being
// told where to look.
func TestCampaigns(t *testing.T) {
	for _, tc := range []struct {
		scenario string
		campaign string
		class    detect.Class
	}{
		{scenario.DefaultScenario, scenario.ExfilCampaign, detect.ClassExfiltration},
		{"credential-stuffing", "credential-stuffing", detect.ClassCredentialStuffing},
	} {
		t.Run(tc.scenario, func(t *testing.T) {
			f := seeded(t, tc.scenario)
			truth := f.campaignSummary(t, tc.campaign)
			rep, err := detect.Campaigns(context.Background(), f.store, detect.CampaignOptions{Since: fixtureStart, Until: fixtureEnd})
			if err != nil {
				t.Fatal(err)
			}
			var found *detect.Campaign
			for _, c := range rep.Campaigns {
				if c.Class == tc.class {
					if found != nil {
						t.Errorf("two %s campaigns: %s and %s", tc.class, found.ID, c.ID)
					}
					found = c
				}
			}
			if found == nil {
				t.Fatalf("no %s campaign among %d", tc.class, len(rep.Campaigns))
			}
			members := 0
			for _, ip := range found.IPs {
				if f.campaigns[ip] == tc.campaign {
					members++
				}
			}
			// The cohort must hold most of the campaign's addresses and
			// nothing else.
			if members != len(found.IPs) || float64(found.IPCount) < 0.9*float64(len(truth.IPs)) || found.IPCount > len(truth.IPs) {
				t.Errorf("campaign of %d addresses (%d listed, %d in the ground truth campaign); ground truth has %d", found.IPCount, len(found.IPs), members, len(truth.IPs))
			}
			if !found.Severity.Flagged() || found.Summary == "" || found.Evidence.SQL == "" {
				t.Errorf("campaign %s: severity %s summary %q", found.ID, found.Severity, found.Summary)
			}
			for _, c := range rep.Campaigns {
				for _, ip := range c.IPs {
					if f.truth[ip] != scenario.LabelAttacker {
						t.Errorf("campaign %s (%s) holds benign address %s", c.ID, c.Verdict, ip)
					}
				}
			}
			t.Logf("%d campaigns from %d screened addresses in %d queries, %.0f ms", len(rep.Campaigns), rep.Screened, rep.Queries, rep.ElapsedMS)
		})
	}
}

// TestKeys checks the API consumer inventory on the reference scenario:
// the trial key is new, shared and the riskiest; the partner's key is old.
func TestKeys(t *testing.T) {
	f := seeded(t, scenario.DefaultScenario)
	truth := f.campaignSummary(t, scenario.ExfilCampaign)
	ctx := context.Background()
	inv, err := detect.Keys(ctx, f.store, detect.KeysOptions{Since: fixtureStart, Until: fixtureEnd})
	if err != nil {
		t.Fatal(err)
	}
	if inv.Queries > 2 {
		t.Errorf("Keys ran %d queries, want at most 2", inv.Queries)
	}
	if len(inv.Keys) == 0 || inv.Keys[0].APIKeyID != truth.APIKeyIDs[0] {
		t.Fatalf("riskiest key %+v, want %s", inv.Keys[:min(1, len(inv.Keys))], truth.APIKeyIDs[0])
	}
	k := inv.Keys[0]
	if k.IPCount != 3 || k.AgeCensored || k.CreatedBy == "" || !k.FirstSeen.Equal(truth.FirstSeen) || k.TopEndpoint != truth.Target {
		t.Errorf("trial key %+v: want 3 addresses, first seen %s at its creation, top endpoint %s", k, truth.FirstSeen, truth.Target)
	}
	// The window holds the target requests but the one sent without a key
	// (the campaign's other requests came before the window).
	if k.Requests != truth.Requests-1 || math.Abs(float64(k.Bytes-truth.Bytes)) > 1000 {
		t.Errorf("trial key: %d requests and %d bytes in the window; ground truth %d requests (one without the key) and %d bytes", k.Requests, k.Bytes, truth.Requests, truth.Bytes)
	}
	if k.RiskScore < 60 {
		t.Errorf("trial key risk %d (%v), want ≥ 60", k.RiskScore, k.RiskFactors)
	}
	// Audit every key first seen in the last 60 days: keys older than the
	// stored data drop out.
	recent, err := detect.Keys(ctx, f.store, detect.KeysOptions{Since: fixtureStart, Until: fixtureEnd, FirstSeenWithin: 60 * 24 * time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	if recent.Total >= inv.Total || recent.Total == 0 {
		t.Errorf("%d keys first seen within 60 days of %d", recent.Total, inv.Total)
	}
	for _, k := range recent.Keys {
		if k.AgeCensored || k.AgeDays > 60 {
			t.Errorf("key %s (age %.1f, censored %v) is not new", k.APIKeyID, k.AgeDays, k.AgeCensored)
		}
	}
	if !slices.ContainsFunc(recent.Keys, func(k detect.KeyInfo) bool { return k.APIKeyID == truth.APIKeyIDs[0] }) {
		t.Errorf("the trial key is missing from the keys first seen within 60 days")
	}
	if err := sqlguard.New().Check(inv.SQL); err != nil {
		t.Errorf("the inventory's query is refused: %v", err)
	}
}

// TestInvestigateKey investigates the trial key itself: the same verdict
// as its addresses.
func TestInvestigateKey(t *testing.T) {
	f := seeded(t, scenario.DefaultScenario)
	truth := f.campaignSummary(t, scenario.ExfilCampaign)
	rep := investigate(t, f, []string{"key:" + truth.APIKeyIDs[0], "203.0.113.77"}, detect.Options{})
	k := rep.Callers[0]
	if k.Caller.Kind != detect.CallerKey || k.Verdict != "Malicious — Data Exfiltration" || len(k.Activity.IPs) != 3 {
		t.Errorf("key report %s %s with addresses %v", k.Caller, k.Verdict, k.Activity.IPs)
	}
	if none := rep.Callers[1]; none.Severity != detect.Inconclusive || none.Activity.Requests != 0 {
		t.Errorf("an address without traffic is %s with %d requests", none.Verdict, none.Activity.Requests)
	}
	if rep.Overall.Severity != detect.Malicious || rep.Overall.Flagged != 1 {
		t.Errorf("overall %+v", rep.Overall)
	}
}

func sortedCopy(s []string) []string {
	out := slices.Clone(s)
	slices.Sort(out)
	return out
}

func fmtBytes(n int64) string { return fmt.Sprintf("%.1f MB", float64(n)/1e6) }

// BenchmarkInvestigate investigates the three reference attackers over the
// seeded week.
func BenchmarkInvestigate(b *testing.B) {
	f := seeded(b, scenario.DefaultScenario)
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := detect.Investigate(ctx, f.store, detect.Options{Callers: scenario.ExfilIPs[:], Since: fixtureStart, Until: fixtureEnd}); err != nil {
			b.Fatal(err)
		}
	}
}
