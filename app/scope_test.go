package app_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/http"
	"testing"

	"github.com/tracehound/tracehound/api"
	"github.com/tracehound/tracehound/auth"
	"github.com/tracehound/tracehound/exclude"
)

// TestApplicationScope: a principal scoped to one application reads only
// its spans through SQL and traces, may define rules and exclusions only
// for it, and a rule scoped to an application fires on its spans only.
func TestApplicationScope(t *testing.T) {
	s := start(t, testConfig(t, t.TempDir()))
	ctx := context.Background()
	keys := map[string]string{}
	for _, name := range []string{"shop", "billing"} {
		created, err := s.CreateApplication(ctx, api.ApplicationRequest{Name: name})
		if err != nil {
			t.Fatal(err)
		}
		keys[name] = created.Secret
	}
	send := func(run, token string, n int) {
		req, _ := http.NewRequest(http.MethodPost, "http://"+s.OTLPHTTPAddr()+"/v1/traces", bytes.NewReader(exportBody(t, n, run)))
		req.Header.Set("Content-Type", "application/x-protobuf")
		if token != "" {
			req.Header.Set("Authorization", "Bearer "+token)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("export %s: %d", run, resp.StatusCode)
		}
	}
	send("shop", keys["shop"], 4)
	send("bill", keys["billing"], 6)
	send("none", "", 2)

	shopAnalyst := auth.WithPrincipal(ctx, auth.Principal{Kind: "user", Name: "sam", User: "sam", Role: auth.RoleAnalyst, Applications: []string{"shop"}})
	total := func(ctx context.Context) int64 {
		t.Helper()
		res, err := s.App.SQL(ctx, "SELECT count() AS n FROM traces")
		if err != nil {
			t.Fatal(err)
		}
		return res.Rows[0][0].(int64)
	}
	if got := total(ctx); got != 12 {
		t.Fatalf("unscoped: %d spans, want 12", got)
	}
	if got := total(shopAnalyst); got != 4 {
		t.Errorf("scoped to shop: %d spans, want its 4", got)
	}
	// Aliases, self-joins and subqueries are filtered too.
	res, err := s.App.SQL(shopAnalyst, `SELECT count() AS n FROM traces AS a JOIN traces b ON a.trace_id = b.trace_id
		WHERE a.span_id IN (SELECT span_id FROM traces WHERE span_attributes['test.run'] = 'bill')`)
	if err != nil {
		t.Fatal(err)
	}
	if n := res.Rows[0][0].(int64); n != 0 {
		t.Errorf("a join reaching billing's spans counted %d, want 0", n)
	}
	// A trace of another application is not found.
	res, err = s.App.SQL(ctx, "SELECT trace_id FROM traces WHERE span_attributes['test.run'] = 'bill' LIMIT 1")
	if err != nil {
		t.Fatal(err)
	}
	billTrace := res.Rows[0][0].(string)
	if _, err := s.App.Trace(shopAnalyst, billTrace); err == nil {
		t.Errorf("shop's analyst read billing's trace %s", billTrace)
	}
	if tr, err := s.App.Trace(ctx, billTrace); err != nil || len(tr.Spans) == 0 {
		t.Errorf("unscoped Trace(%s) = %v, %v", billTrace, tr, err)
	}

	// Rules: a scoped principal must scope its rules to its applications.
	body := func(id, apps string) string {
		return fmt.Sprintf("id: %s\nseverity: low\n%ssql: SELECT span_attributes['test.run'] AS run, count() AS n FROM traces WHERE timestamp > now() - INTERVAL 1 HOUR GROUP BY run\n", id, apps)
	}
	if _, err := s.App.PutRule(shopAnalyst, "r", api.RuleRequest{Body: body("r", "")}); !errors.Is(err, auth.ErrForbidden) {
		t.Errorf("an unscoped rule from shop's analyst: %v, want forbidden", err)
	}
	if _, err := s.App.PutRule(shopAnalyst, "r", api.RuleRequest{Body: body("r", "applications: [billing]\n")}); !errors.Is(err, auth.ErrForbidden) {
		t.Errorf("a billing rule from shop's analyst: %v, want forbidden", err)
	}
	if _, err := s.App.PutRule(shopAnalyst, "r", api.RuleRequest{Body: body("r", "applications: [shop]\n")}); err != nil {
		t.Fatal(err)
	}
	bt, err := s.App.BacktestRule(ctx, api.BacktestRequest{RuleID: "r", Since: "10m", Step: "1m"})
	if err != nil {
		t.Fatal(err)
	}
	runs := map[string]bool{}
	for _, f := range bt.Firings {
		runs[f.Labels["run"]] = true
	}
	if !runs["shop"] || runs["bill"] || runs["none"] {
		t.Errorf("the shop rule fired for %v, want shop only", runs)
	}
	// An admin's rule for billing fires for billing's spans only.
	if _, err := s.App.PutRule(ctx, "r2", api.RuleRequest{Body: body("r2", "applications: [billing]\n")}); err != nil {
		t.Fatal(err)
	}
	if bt, err = s.App.BacktestRule(ctx, api.BacktestRequest{RuleID: "r2", Since: "10m", Step: "1m"}); err != nil {
		t.Fatal(err)
	}
	runs = map[string]bool{}
	for _, f := range bt.Firings {
		runs[f.Labels["run"]] = true
	}
	if !runs["bill"] || len(runs) != 1 {
		t.Errorf("the billing rule fired for %v, want bill only", runs)
	}

	// Exclusions made by a scoped principal are limited to its
	// applications and cannot name another.
	draft := exclude.Exclusion{Conditions: []exclude.Condition{{Kind: exclude.KindPathGlob, Value: "/*"}}, Reason: "test",
		ExpiresAt: exclude.Expiry{Never: true}, Scope: exclude.Scope{Kind: exclude.ScopeAny}}
	d, err := s.App.AddExclusion(shopAnalyst, api.ExclusionRequest{Exclusion: draft})
	if err != nil {
		t.Fatal(err)
	}
	if apps := d.Applications; len(apps) != 1 || apps[0] != "shop" {
		t.Errorf("shop analyst's exclusion applies to %v, want [shop]", apps)
	}
	other := draft
	other.Applications = []string{"billing"}
	if _, err := s.App.AddExclusion(shopAnalyst, api.ExclusionRequest{Exclusion: other}); !errors.Is(err, auth.ErrForbidden) {
		t.Errorf("an exclusion for billing from shop's analyst: %v, want forbidden", err)
	}
}

// TestScopedApplicationManagement: an admin scoped to one application
// lists, keys and removes only it, and registers none.
func TestScopedApplicationManagement(t *testing.T) {
	s := start(t, testConfig(t, t.TempDir()))
	ctx := context.Background()
	for _, name := range []string{"shop", "billing"} {
		if _, err := s.CreateApplication(ctx, api.ApplicationRequest{Name: name}); err != nil {
			t.Fatal(err)
		}
	}
	admin := auth.WithPrincipal(ctx, auth.Principal{Kind: "user", Name: "lead", User: "lead", Role: auth.RoleAdmin, Applications: []string{"shop"}})
	list, err := s.App.Applications(admin)
	if err != nil || len(list.Applications) != 1 || list.Applications[0].Name != "shop" {
		t.Errorf("the shop admin lists %+v, %v; want shop only", list, err)
	}
	if _, err := s.App.CreateApplication(admin, api.ApplicationRequest{Name: "new"}); !errors.Is(err, auth.ErrForbidden) {
		t.Errorf("a scoped admin registering an application: %v, want forbidden", err)
	}
	if _, err := s.App.ApplicationKey(admin, "billing"); !errors.Is(err, auth.ErrForbidden) {
		t.Errorf("a key for billing from the shop admin: %v, want forbidden", err)
	}
	if err := s.App.DeleteApplication(admin, "billing"); !errors.Is(err, auth.ErrForbidden) {
		t.Errorf("removing billing by the shop admin: %v, want forbidden", err)
	}
	if _, err := s.App.ApplicationKey(admin, "shop"); err != nil {
		t.Errorf("a key for its own application: %v", err)
	}
}
