package auth_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/tracehound/tracehound/auth"
	"github.com/tracehound/tracehound/state"
	"github.com/tracehound/tracehound/state/sqlite"
)

func TestPasswordHash(t *testing.T) {
	h, err := auth.HashPassword("correct horse battery")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(h, "$argon2id$v=19$m=19456,t=2,p=1$") {
		t.Errorf("hash %q is not an argon2id PHC string with the expected parameters", h)
	}
	if h2, _ := auth.HashPassword("correct horse battery"); h2 == h {
		t.Error("two hashes of one password are equal: the salt is not random")
	}
	for pw, want := range map[string]bool{"correct horse battery": true, "correct horse batterY": false, "": false} {
		if ok, err := auth.CheckPassword(h, pw); err != nil || ok != want {
			t.Errorf("CheckPassword(%q) = %v, %v; want %v", pw, ok, err, want)
		}
	}
	for _, bad := range []string{"", "plain", "$argon2i$v=19$m=1,t=1,p=1$AA$AA", "$argon2id$v=19$m=999999999,t=1,p=1$AA$AA", "$argon2id$v=19$m=8,t=1,p=1$!!$AA"} {
		if _, err := auth.CheckPassword(bad, "x"); err == nil {
			t.Errorf("CheckPassword(malformed %q) = nil error", bad)
		}
	}
}

func FuzzCheckPassword(f *testing.F) {
	h, _ := auth.HashPassword("seed password 1")
	f.Add(h, "seed password 1")
	f.Add("$argon2id$v=19$m=8,t=1,p=1$c2FsdA$a2V5", "x")
	f.Fuzz(func(t *testing.T, hash, pw string) {
		if strings.Contains(hash, "m=") && !strings.Contains(hash, "m=8,") && !strings.Contains(hash, "m=19456,") {
			return // bound the memory a fuzzed hash can ask for
		}
		auth.CheckPassword(hash, pw)
	})
}

func TestRoles(t *testing.T) {
	tests := []struct {
		have, need auth.Role
		want       bool
	}{
		{auth.RoleViewer, auth.RoleViewer, true},
		{auth.RoleViewer, auth.RoleAnalyst, false},
		{auth.RoleAnalyst, auth.RoleViewer, true},
		{auth.RoleAdmin, auth.RoleAnalyst, true},
		{auth.RoleAnalyst, auth.RoleAdmin, false},
		{auth.RoleIngest, auth.RoleViewer, false},
		{auth.RoleIngest, auth.RoleIngest, true},
		{auth.RoleViewer, auth.RoleIngest, false},
		{auth.RoleAdmin, auth.RoleIngest, true},
		{auth.RoleNone, auth.RoleViewer, false},
		{auth.RoleNone, auth.RoleNone, true},
	}
	for _, tt := range tests {
		if got := tt.have.Allows(tt.need); got != tt.want {
			t.Errorf("%q.Allows(%q) = %v, want %v", tt.have, tt.need, got, tt.want)
		}
	}
	if _, err := auth.ParseRole("root"); err == nil {
		t.Error("ParseRole(root) = nil error")
	}
}

type fixture struct {
	svc   *auth.Service
	store state.Store
	now   time.Time
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	st, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "state.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	f := &fixture{store: st, now: time.Date(2026, 11, 2, 9, 0, 0, 0, time.UTC)}
	f.svc = auth.NewService(st, auth.Options{Now: func() time.Time { return f.now }, Applications: st})
	return f
}

func request(header, cookie string) *http.Request {
	r := httptest.NewRequest(http.MethodGet, "/api/v1/status", nil)
	if header != "" {
		r.Header.Set("Authorization", header)
	}
	if cookie != "" {
		r.AddCookie(&http.Cookie{Name: auth.SessionCookie, Value: cookie})
	}
	return r
}

func TestFirstAdminAndTokens(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	pw, err := f.svc.EnsureAdmin(ctx)
	if err != nil || len(pw) < auth.MinPasswordLength {
		t.Fatalf("EnsureAdmin = %q, %v; want a generated password", pw, err)
	}
	if again, err := f.svc.EnsureAdmin(ctx); err != nil || again != "" {
		t.Errorf("EnsureAdmin with users = %q, %v; want nothing to do", again, err)
	}
	se, err := f.svc.Login(ctx, "admin", pw, "127.0.0.1")
	if err != nil {
		t.Fatalf("Login(admin) = %v", err)
	}
	admin := auth.WithPrincipal(ctx, se.Principal)
	if _, _, err := f.svc.CreateUser(admin, "ana", auth.RoleAnalyst, "short", nil); !errors.Is(err, auth.ErrInvalid) {
		t.Errorf("CreateUser with a short password = %v, want ErrInvalid", err)
	}
	if _, _, err := f.svc.CreateUser(admin, "ana", auth.RoleAnalyst, "a long enough password", nil); err != nil {
		t.Fatal(err)
	}
	se2, err := f.svc.Login(ctx, "ana", "a long enough password", "127.0.0.1")
	if err != nil {
		t.Fatal(err)
	}
	ana := auth.WithPrincipal(ctx, se2.Principal)
	if _, _, err := f.svc.CreateToken(ana, auth.TokenRequest{Name: "laptop", Role: auth.RoleAdmin}); !errors.Is(err, auth.ErrForbidden) {
		t.Errorf("analyst issuing an admin token = %v, want ErrForbidden", err)
	}
	info, secret, err := f.svc.CreateToken(ana, auth.TokenRequest{Name: "laptop", Role: auth.RoleViewer, TTL: 24 * time.Hour})
	if err != nil || !strings.HasPrefix(secret, auth.TokenPrefix) || info.User != "ana" {
		t.Fatalf("CreateToken = %+v, %q, %v", info, secret, err)
	}
	p, err := f.svc.Authenticate(request("Bearer "+secret, ""))
	if err != nil || p.Role != auth.RoleViewer || p.Kind != "token" || p.User != "ana" || p.Actor() != "token:"+info.ID {
		t.Errorf("Authenticate(token) = %+v, %v", p, err)
	}
	for _, h := range []string{"Bearer th_wrong", "Basic abc", "Bearer nope", "Bearer"} {
		if _, err := f.svc.Authenticate(request(h, "")); !errors.Is(err, auth.ErrUnauthenticated) {
			t.Errorf("Authenticate(%q) = %v, want ErrUnauthenticated", h, err)
		}
	}
	if _, err := f.svc.Authenticate(request("", "")); !errors.Is(err, auth.ErrUnauthenticated) {
		t.Errorf("Authenticate(no credential) = %v, want ErrUnauthenticated", err)
	}
	// Expiry.
	f.now = f.now.Add(25 * time.Hour)
	if _, err := f.svc.Authenticate(request("Bearer "+secret, "")); !errors.Is(err, auth.ErrUnauthenticated) {
		t.Errorf("expired token: %v, want ErrUnauthenticated", err)
	}
	// Sessions expire after 12 hours by default.
	if _, err := f.svc.Authenticate(request("", se.Secret)); !errors.Is(err, auth.ErrUnauthenticated) {
		t.Errorf("expired session: %v, want ErrUnauthenticated", err)
	}
	// Users see their own tokens; admins all; only admins revoke others'.
	_, svcSecret, err := f.svc.CreateToken(admin, auth.TokenRequest{Name: "collector", Role: auth.RoleIngest, Service: true})
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := f.svc.CreateToken(ana, auth.TokenRequest{Name: "svc", Role: auth.RoleViewer, Service: true}); !errors.Is(err, auth.ErrForbidden) {
		t.Errorf("analyst issuing a service token = %v, want ErrForbidden", err)
	}
	if toks, _ := f.svc.Tokens(ana); len(toks) != 1 {
		t.Errorf("analyst sees %d tokens, want 1 (their own)", len(toks))
	}
	toks, _ := f.svc.Tokens(admin)
	if len(toks) != 2 {
		t.Fatalf("admin sees %d tokens, want 2", len(toks))
	}
	if err := f.svc.DeleteToken(ana, toks[1].ID); !errors.Is(err, auth.ErrForbidden) {
		t.Errorf("analyst revoking the service token = %v, want ErrForbidden", err)
	}
	if p, err := f.svc.TokenPrincipal(ctx, svcSecret); err != nil || p.Role != auth.RoleIngest || p.User != "" {
		t.Errorf("service token principal = %+v, %v", p, err)
	}
	// The last admin stays.
	if err := f.svc.DeleteUser(admin, "admin"); !errors.Is(err, auth.ErrInvalid) {
		t.Errorf("deleting the last admin = %v, want ErrInvalid", err)
	}
	if _, err := f.svc.SetRole(admin, "admin", auth.RoleViewer); !errors.Is(err, auth.ErrInvalid) {
		t.Errorf("demoting the last admin = %v, want ErrInvalid", err)
	}
	// Every change is audited with its actor.
	entries, err := f.store.Audit(ctx, state.AuditFilter{})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, e := range entries {
		got = append(got, e.Actor+" "+e.Action+" "+e.Target)
	}
	want := []string{
		"user:admin token.create token:" + toks[1].ID,
		"user:ana token.create token:" + info.ID,
		"user:ana session.login user:ana",
		"user:admin user.create user:ana",
		"user:admin session.login user:admin",
		"system user.create user:admin",
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("audit log:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	for _, e := range entries {
		if strings.Contains(string(e.After), "hash") || strings.Contains(string(e.After), secret) {
			t.Errorf("audit entry %s leaks a secret or hash: %s", e.Action, e.After)
		}
	}
}

func TestSessionCSRFAndThrottle(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	if _, _, err := f.svc.CreateUser(auth.WithPrincipal(ctx, auth.System), "vic", auth.RoleViewer, "viewer password 1", nil); err != nil {
		t.Fatal(err)
	}
	se, err := f.svc.Login(ctx, "vic", "viewer password 1", "10.0.0.1")
	if err != nil {
		t.Fatal(err)
	}
	p, err := f.svc.Authenticate(request("", se.Secret))
	if err != nil || !p.Session || p.Name != "vic" {
		t.Fatalf("Authenticate(session) = %+v, %v", p, err)
	}
	post := httptest.NewRequest(http.MethodPost, "/api/v1/alerts", nil)
	if err := auth.CheckCSRF(p, post); !errors.Is(err, auth.ErrForbidden) {
		t.Errorf("POST without CSRF header = %v, want ErrForbidden", err)
	}
	post.Header.Set(auth.CSRFHeader, se.CSRF)
	if err := auth.CheckCSRF(p, post); err != nil {
		t.Errorf("POST with the CSRF header = %v", err)
	}
	if err := auth.CheckCSRF(p, request("", se.Secret)); err != nil {
		t.Errorf("GET needs no CSRF header: %v", err)
	}
	if err := f.svc.Logout(ctx, se.Secret); err != nil {
		t.Fatal(err)
	}
	if _, err := f.svc.Authenticate(request("", se.Secret)); !errors.Is(err, auth.ErrUnauthenticated) {
		t.Errorf("after logout: %v, want ErrUnauthenticated", err)
	}
	for i := 0; i < 5; i++ {
		if _, err := f.svc.Login(ctx, "vic", "wrong password!!", "10.0.0.9"); !errors.Is(err, auth.ErrUnauthenticated) {
			t.Fatalf("wrong password %d: %v", i, err)
		}
	}
	if _, err := f.svc.Login(ctx, "vic", "viewer password 1", "10.0.0.9"); !errors.Is(err, auth.ErrRateLimited) {
		t.Errorf("sixth attempt = %v, want ErrRateLimited even with the right password", err)
	}
	if _, err := f.svc.Login(ctx, "vic", "viewer password 1", "10.0.0.10"); err != nil {
		t.Errorf("another address is not throttled: %v", err)
	}
	f.now = f.now.Add(6 * time.Minute)
	if _, err := f.svc.Login(ctx, "vic", "viewer password 1", "10.0.0.9"); err != nil {
		t.Errorf("after the window: %v", err)
	}
	if _, err := f.svc.Login(ctx, "nobody", "whatever password", "10.0.0.9"); !errors.Is(err, auth.ErrUnauthenticated) {
		t.Errorf("unknown user = %v, want ErrUnauthenticated", err)
	}
}
