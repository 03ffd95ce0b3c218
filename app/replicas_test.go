package app_test

import (
	"context"
	"net/http"
	"path/filepath"
	"slices"
	"testing"

	"github.com/tracehound/tracehound/api"
	"github.com/tracehound/tracehound/auth"
	"github.com/tracehound/tracehound/state/postgres/pgtest"
)

// TestReplicasShareState runs two tracehound replicas on one PostgreSQL
// state store: a user, a token, an application and a block made on one are
// seen by the other, and the CrowdSec-compatible block list of both has the
// blocked address.
func TestReplicasShareState(t *testing.T) {
	dsn := pgtest.DSN(t)
	replica := func(name string) *server {
		c := testConfig(t, filepath.Join(t.TempDir(), name))
		c.State.Driver, c.State.DSN = "postgres", dsn
		return start(t, c)
	}
	a, b := replica("a"), replica("b")
	ctx := context.Background()

	tok, err := a.CreateToken(ctx, api.TokenRequest{Name: "shared", Role: auth.RoleAnalyst, Service: true})
	if err != nil {
		t.Fatal(err)
	}
	cb, err := api.NewClient("http://" + b.Addr())
	if err != nil {
		t.Fatal(err)
	}
	cb.SetToken(tok.Secret)
	if _, err := cb.Status(ctx); err != nil {
		t.Fatalf("replica b refuses the token issued on a: %v", err)
	}
	if _, err := cb.SetIPStatus(ctx, api.IPStatusRequest{IPs: []string{"203.0.113.9"}, Status: "blocked", Reason: "seen on b"}); err != nil {
		t.Fatal(err)
	}
	d, err := a.IP(ctx, "203.0.113.9", 0)
	if err != nil || d.Effective != "blocked" {
		t.Errorf("replica a sees 203.0.113.9 as %q (%v), want blocked", d.Effective, err)
	}
	if _, err := b.CreateApplication(ctx, api.ApplicationRequest{Name: "checkout"}); err != nil {
		t.Fatal(err)
	}
	apps, err := a.Applications(ctx)
	if err != nil || len(apps.Applications) != 1 || apps.Applications[0].Name != "checkout" {
		t.Errorf("replica a's applications = %+v, %v", apps, err)
	}
	for _, s := range []*server{a, b} {
		resp, err := http.Get("http://" + s.Addr() + "/readyz")
		if err != nil || resp.StatusCode != http.StatusOK {
			t.Fatalf("replica not ready: %v", err)
		}
		resp.Body.Close()
	}
	audit, err := a.Audit(ctx, api.AuditQuery{})
	if err != nil {
		t.Fatal(err)
	}
	var actions []string
	for _, e := range audit.Entries {
		actions = append(actions, e.Action)
	}
	for _, want := range []string{"token.create", "application.create"} {
		if !slices.Contains(actions, want) {
			t.Errorf("the shared audit log lacks %s: %v", want, actions)
		}
	}
}
