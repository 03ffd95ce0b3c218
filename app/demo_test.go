package app_test

import (
	"context"
	"errors"
	"fmt"
	"math"
	"testing"
	"time"

	"github.com/tracehound/tracehound/app"
	"github.com/tracehound/tracehound/scenario"
)

// TestSeedScenarioLandsInStore seeds the reference scenario through the
// SDK and OTLP into a running App and checks, with SQL, that the campaign's
// figures arrived: per day and address, unique collections, bytes, and
// every generated span.
func TestSeedScenarioLandsInStore(t *testing.T) {
	if testing.Short() {
		t.Skip("seeds a scenario")
	}
	s := start(t, testConfig(t, t.TempDir()))
	ctx := context.Background()
	sum, err := s.SeedScenario(ctx, app.SeedOptions{Scenario: scenario.DefaultScenario, Days: 4, Scale: 0.0005, Seed: 7})
	if err != nil {
		t.Fatal(err)
	}
	if got := count(t, s.App, "true"); got != sum.Spans {
		t.Errorf("store holds %d spans, the scenario emitted %d", got, sum.Spans)
	}
	if got := count(t, s.App, "span_kind = 'Server'"); got != sum.Requests {
		t.Errorf("store holds %d server spans, the scenario made %d requests", got, sum.Requests)
	}
	var camp scenario.CampaignSummary
	for _, c := range sum.Campaigns {
		if c.Name == scenario.ExfilCampaign {
			camp = c
		}
	}
	if camp.Requests != scenario.ExfilRequests {
		t.Fatalf("campaign summary: %d requests, want %d", camp.Requests, scenario.ExfilRequests)
	}
	res, err := s.SQL(ctx, `SELECT uniqExact(extractURLParameter(http_target, 'collection_id')) AS ids,
		uniqExact(if(status_code = 200, extractURLParameter(http_target, 'collection_id'), NULL)) AS served,
		sum(response_bytes) AS bytes, count() AS requests
		FROM traces WHERE http_method = 'GET' AND http_path = '/v1/admin/export'`)
	if err != nil {
		t.Fatal(err)
	}
	row := res.Rows[0]
	if ids := row[0].(int64); ids != int64(camp.UniqueParamValues) {
		t.Errorf("distinct collection_id values = %d, want %d", ids, camp.UniqueParamValues)
	}
	if served := row[1].(int64); served != scenario.ExfilCollections {
		t.Errorf("collections served = %d, want %d", served, scenario.ExfilCollections)
	}
	if bytes := row[2].(int64); bytes != camp.Bytes {
		t.Errorf("bytes = %d, want %d", bytes, camp.Bytes)
	}
	for _, d := range camp.ByDay {
		q := fmt.Sprintf(`SELECT count() AS n FROM traces WHERE http_path = '/v1/admin/export' AND peer_ip = '%s'
			AND timestamp >= TIMESTAMPTZ '%sT00:00:00Z' AND timestamp < TIMESTAMPTZ '%sT00:00:00Z' + INTERVAL 1 DAY`, d.IP, d.Date, d.Date)
		res, err := s.SQL(ctx, q)
		if err != nil {
			t.Fatal(err)
		}
		got := res.Rows[0][0].(int64)
		if math.Abs(float64(got-d.Requests)) > 0.01*float64(d.Requests) {
			t.Errorf("day %d %s: %d requests stored, want %d (±1%%)", d.Day, d.IP, got, d.Requests)
		}
	}
	if seeded, ok := s.SeededScenario(); !ok || seeded.Requests != sum.Requests {
		t.Errorf("SeededScenario = %v, %v; want the summary just written", seeded.Requests, ok)
	}

	// Live traffic after the seeded days comes from the seeded clients:
	// their keys were seen before, not strangers every key inventory
	// would call new.
	began := time.Now().UTC()
	liveCtx, stop := context.WithTimeout(ctx, 3*time.Second)
	defer stop()
	if err := s.RunLiveTraffic(liveCtx, 60, sum.Seed, nil); err != nil && !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("RunLiveTraffic: %v", err)
	}
	res, err = s.SQL(ctx, fmt.Sprintf(`SELECT count() AS live,
		countIf(api_key_id IN (SELECT api_key_id FROM traces WHERE timestamp < TIMESTAMPTZ '%s')) AS known
		FROM traces WHERE span_kind = 'Server' AND api_key_id != '' AND timestamp >= TIMESTAMPTZ '%s'`,
		began.Format(time.RFC3339Nano), began.Format(time.RFC3339Nano)))
	if err != nil {
		t.Fatal(err)
	}
	live, known := res.Rows[0][0].(int64), res.Rows[0][1].(int64)
	if live < 50 || float64(known) < 0.9*float64(live) {
		t.Errorf("%d live requests with a key, %d of them with a key seen in the seeded days; want nearly all", live, known)
	}
}
