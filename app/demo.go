package app

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/tracehound/tracehound/api"
	"github.com/tracehound/tracehound/scenario"
)

// ScenarioDir is where a seeded scenario's spec and ground truth live,
// relative to the data directory.
const ScenarioDir = "scenario"

// SeedOptions configure SeedScenario.
type SeedOptions struct {
	Scenario string
	Days     int
	Scale    float64
	Seed     uint64
	Progress func(done, total int64)
}

// SeedScenario generates a scenario's traffic and sends it, through the
// OpenTelemetry SDK over OTLP/HTTP, to this App's own receiver, the way an
// instrumented service would. The scenario's OpenAPI spec and ground-truth
// manifest are written under DATA/scenario.
func (a *App) SeedScenario(ctx context.Context, o SeedOptions) (scenario.Summary, error) {
	if a.OTLPHTTPAddr() == "" {
		return scenario.Summary{}, errors.New("seeding a scenario needs the OTLP/HTTP receiver")
	}
	dir := filepath.Join(a.cfg.Data, ScenarioDir)
	if err := os.MkdirAll(dir, 0o750); err != nil {
		return scenario.Summary{}, err
	}
	if err := os.WriteFile(filepath.Join(dir, "openapi.yaml"), scenario.DataVaultSpec(), 0o640); err != nil {
		return scenario.Summary{}, err
	}
	headers, err := a.ingestToken(ctx)
	if err != nil {
		return scenario.Summary{}, err
	}
	sum, err := scenario.Backfill(ctx, scenario.Options{
		Headers:     headers,
		Scenario:    o.Scenario,
		Days:        o.Days,
		Scale:       o.Scale,
		Seed:        o.Seed,
		End:         time.Now(),
		Endpoint:    "http://" + a.OTLPHTTPAddr(),
		Protocol:    scenario.ProtocolHTTP,
		ManifestDir: dir,
		Progress:    o.Progress,
	})
	if err != nil {
		return sum, fmt.Errorf("seed scenario %s: %w", o.Scenario, err)
	}
	// Everything is acknowledged; wait until it is all queryable before the
	// first snapshot and the guide.
	if err := a.Sync(ctx); err != nil {
		return sum, fmt.Errorf("commit the seeded spans: %w", err)
	}
	// Register the service's documented API as a user would, so the API map
	// tells documented from shadow endpoints with no flag, and take the
	// first inventory snapshot now that the traffic is in.
	if _, err := a.RegisterSpec(ctx, api.SpecUpload{Service: scenario.ServiceName, Name: "DataVault API", Raw: scenario.DataVaultSpec()}); err != nil {
		return sum, fmt.Errorf("register the scenario's OpenAPI spec: %w", err)
	}
	if _, err := a.TakeSnapshot(ctx, 0); err != nil {
		return sum, fmt.Errorf("first API map snapshot: %w", err)
	}
	return sum, nil
}

// SeededScenario returns the summary of the scenario already seeded into
// the data directory, or false.
func (a *App) SeededScenario() (scenario.Summary, bool) {
	var sum scenario.Summary
	b, err := os.ReadFile(filepath.Join(a.cfg.Data, ScenarioDir, scenario.SummaryFile))
	if err != nil || json.Unmarshal(b, &sum) != nil {
		return sum, false
	}
	return sum, true
}

// RunLiveTraffic runs the scenario's service on loopback with simulated
// clients, exporting to this App, until ctx ends. seed is the seeded
// scenario's: the live clients are then the accounts, keys and
// addresses of the seeded days, not strangers.
func (a *App) RunLiveTraffic(ctx context.Context, rate float64, seed uint64, ready func(url string)) error {
	headers, err := a.ingestToken(ctx)
	if err != nil {
		return err
	}
	return scenario.RunLive(ctx, scenario.LiveOptions{
		Headers:  headers,
		Endpoint: "http://" + a.OTLPHTTPAddr(),
		Protocol: scenario.ProtocolHTTP,
		Rate:     rate,
		Seed:     seed,
		Ready:    ready,
	})
}
