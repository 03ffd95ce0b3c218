package app_test

import (
	"context"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/tracehound/tracehound/api"
	"github.com/tracehound/tracehound/app"
	"github.com/tracehound/tracehound/scenario"
)

// TestCaseStudyRules replays the case study's two user rules over the
// seeded DataVault scenario, as its story tells: the narrow rule written
// after the incident would have fired minutes after the first probe of
// day 1; the per-address admin volume rule the team had fires first on
// day 4, some 80 hours later.
func TestCaseStudyRules(t *testing.T) {
	if testing.Short() {
		t.Skip("seeds a scenario")
	}
	s := start(t, testConfig(t, t.TempDir()))
	ctx := context.Background()
	sum, err := s.SeedScenario(ctx, app.SeedOptions{Scenario: scenario.DefaultScenario, Days: 4, Scale: 0.0005, Seed: 7})
	if err != nil {
		t.Fatal(err)
	}
	res, err := s.SQL(ctx, `SELECT min(timestamp) FROM traces WHERE span_kind = 'Server' AND timestamp > now() - INTERVAL 5 DAY AND peer_ip IN ('`+
		strings.Join(scenario.ExfilIPs[:], "','")+`')`)
	if err != nil || len(res.Rows) != 1 {
		t.Fatalf("first attacker request: %v %v", res, err)
	}
	first, ok := res.Rows[0][0].(time.Time)
	if !ok || first.Before(sum.Start) || first.After(sum.Start.Add(24*time.Hour)) {
		t.Fatalf("first attacker request at %v, want on day 1 (%v)", res.Rows[0][0], sum.Start)
	}

	raw, err := os.ReadFile("../alert/testdata/casestudy.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var file struct{ Rules []yaml.Node }
	if err := yaml.Unmarshal(raw, &file); err != nil || len(file.Rules) != 2 {
		t.Fatalf("casestudy.yaml: %d rules, %v", len(file.Rules), err)
	}
	got := map[string]*api.BacktestAnswer{}
	for _, n := range file.Rules {
		body, err := yaml.Marshal(&n)
		if err != nil {
			t.Fatal(err)
		}
		bt, err := s.App.BacktestRule(ctx, api.BacktestRequest{Body: string(body), Since: "5d", IncidentStart: first})
		if err != nil {
			t.Fatal(err)
		}
		for _, f := range bt.Firings {
			if !slices.Contains(scenario.ExfilIPs[:], f.Labels["peer_ip"]) {
				t.Errorf("%s fired for %s, not an attacker: %+v", bt.RuleID, f.Labels["peer_ip"], f)
			}
		}
		t.Logf("%s (%s): %d firings, first %v, gap %v", bt.RuleID, bt.Method, len(bt.Firings), bt.FirstFiring, time.Duration(bt.DetectionGap))
		got[bt.RuleID] = bt
	}

	narrow, volume := got["casestudy_admin_export"], got["casestudy_admin_volume"]
	if narrow == nil || volume == nil {
		t.Fatalf("backtests of %v, want both case-study rules", got)
	}
	if gap := time.Duration(narrow.DetectionGap); narrow.FirstFiring.IsZero() || gap < 0 || gap > 15*time.Minute {
		t.Errorf("narrow rule first fired %v after the first probe, want within minutes", gap)
	}
	day4 := sum.Start.Add(72 * time.Hour)
	if volume.FirstFiring.Before(day4) || !volume.FirstFiring.Before(day4.Add(11*time.Hour)) {
		t.Errorf("volume rule first fired at %v, want on day 4 (%v) before containment at 11:00", volume.FirstFiring, day4)
	}
	if gap := volume.FirstFiring.Sub(narrow.FirstFiring); gap < 78*time.Hour || gap > 82*time.Hour {
		t.Errorf("the narrow rule fires %v before the volume rule, want about 80 hours", gap)
	}
}
