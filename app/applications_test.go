package app_test

import (
	"bytes"
	"context"
	"errors"
	"net/http"
	"strings"
	"testing"

	"github.com/tracehound/tracehound/api"
	"github.com/tracehound/tracehound/auth"
)

// TestApplications registers an application and sends spans with its key:
// they are tagged with its name, spans sent without a key cannot claim an
// application, a bad key is refused, and removing the application revokes
// its keys.
func TestApplications(t *testing.T) {
	s := start(t, testConfig(t, t.TempDir()))
	ctx := context.Background()
	created, err := s.CreateApplication(ctx, api.ApplicationRequest{Name: "checkout", Team: "payments"})
	if err != nil {
		t.Fatal(err)
	}
	if created.Application.Environment != "production" || created.Key.Role != auth.RoleIngest || created.Key.Application != "checkout" || !strings.HasPrefix(created.Secret, "th_") {
		t.Errorf("created = %+v", created)
	}
	if _, err := s.CreateApplication(ctx, api.ApplicationRequest{Name: "checkout"}); !errors.Is(err, api.ErrBadRequest) {
		t.Errorf("registering checkout twice = %v, want a bad request", err)
	}
	if _, err := s.CreateApplication(ctx, api.ApplicationRequest{Name: "bad name!"}); !errors.Is(err, api.ErrBadRequest) {
		t.Errorf("a bad name = %v, want a bad request", err)
	}
	viewer := auth.WithPrincipal(ctx, auth.Principal{Kind: "user", Name: "v", Role: auth.RoleViewer, User: "v"})
	if _, err := s.CreateApplication(viewer, api.ApplicationRequest{Name: "other"}); !errors.Is(err, auth.ErrForbidden) {
		t.Errorf("a viewer registering = %v, want forbidden", err)
	}

	send := func(run, token string) int {
		req, _ := http.NewRequest(http.MethodPost, "http://"+s.OTLPHTTPAddr()+"/v1/traces", bytes.NewReader(exportBody(t, 3, run)))
		req.Header.Set("Content-Type", "application/x-protobuf")
		if token != "" {
			req.Header.Set("Authorization", "Bearer "+token)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	if code := send("appk", created.Secret); code != http.StatusOK {
		t.Fatalf("export with the application's key = %d", code)
	}
	if code := send("nokey", ""); code != http.StatusOK {
		t.Fatalf("export without a key = %d", code)
	}
	if code := send("badk", "th_not-a-real-key"); code != http.StatusUnauthorized {
		t.Errorf("export with a bad key = %d, want 401", code)
	}
	if got := count(t, s.App, "span_attributes['test.run'] = 'appk' AND resource_attributes['tracehound.application'] = 'checkout'"); got != 3 {
		t.Errorf("%d spans tagged checkout, want 3", got)
	}
	if got := count(t, s.App, "span_attributes['test.run'] = 'nokey' AND coalesce(resource_attributes['tracehound.application'], '') = ''"); got != 3 {
		t.Errorf("%d untagged spans sent without a key, want 3", got)
	}

	list, err := s.Applications(ctx)
	if err != nil || len(list.Applications) != 1 || len(list.Applications[0].Keys) != 1 || list.Applications[0].Team != "payments" {
		t.Fatalf("Applications = %+v, %v", list, err)
	}
	if err := s.DeleteApplication(ctx, "checkout"); err != nil {
		t.Fatal(err)
	}
	if code := send("gone", created.Secret); code != http.StatusUnauthorized {
		t.Errorf("export with a removed application's key = %d, want 401", code)
	}
	audit, err := s.Audit(ctx, api.AuditQuery{Action: "application."})
	if err != nil || len(audit.Entries) != 2 {
		t.Errorf("audit of applications = %+v, %v; want create and delete", audit, err)
	}
}
