package auth_test

import (
	"context"
	"encoding/json"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/tracehound/tracehound/auth"
	"github.com/tracehound/tracehound/state"
)

func TestPrincipalScope(t *testing.T) {
	scoped := auth.Principal{Kind: "user", Name: "pay", Role: auth.RoleAnalyst, Applications: []string{"checkout", "search"}}
	tests := []struct {
		name   string
		p      auth.Principal
		app    string
		scoped bool
		sees   bool
	}{
		{"scoped, listed", scoped, "checkout", true, true},
		{"scoped, not listed", scoped, "billing", true, false},
		{"scoped, no application", scoped, "", true, false},
		{"unscoped user", auth.Principal{Kind: "user", Name: "ops", Role: auth.RoleAdmin}, "billing", false, true},
		{"local", auth.Local, "billing", false, true},
		{"system", auth.System, "billing", false, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := tc.p.Scoped(); got != tc.scoped {
				t.Errorf("Scoped() = %v, want %v", got, tc.scoped)
			}
			if got := tc.p.SeesApplication(tc.app); got != tc.sees {
				t.Errorf("SeesApplication(%q) = %v, want %v", tc.app, got, tc.sees)
			}
		})
	}
	b, err := json.Marshal(scoped)
	if err != nil || !strings.Contains(string(b), `"applications":["checkout","search"]`) {
		t.Errorf("json of a scoped principal = %s, %v; want its applications", b, err)
	}
	if b, _ := json.Marshal(auth.Local); strings.Contains(string(b), "applications") {
		t.Errorf("json of the local principal = %s; want no applications (unscoped)", b)
	}
}

// scopeFixture is a service whose store holds the applications billing,
// checkout and search.
func scopeFixture(t *testing.T) *fixture {
	t.Helper()
	f := newFixture(t)
	for _, name := range []string{"search", "checkout", "billing"} {
		if err := f.store.CreateApplication(context.Background(), state.Application{Name: name, Environment: "production", CreatedAt: f.now, CreatedBy: "system"}); err != nil {
			t.Fatal(err)
		}
	}
	return f
}

// login signs name in and returns a context acting as the session.
func (f *fixture) login(t *testing.T, name, password string) (context.Context, auth.Session) {
	t.Helper()
	se, err := f.svc.Login(context.Background(), name, password, "127.0.0.1")
	if err != nil {
		t.Fatalf("Login(%s) = %v", name, err)
	}
	return auth.WithPrincipal(context.Background(), se.Principal), se
}

// tokenApps issues a token as ctx and returns the applications of the
// principal it authenticates as.
func (f *fixture) tokenApps(t *testing.T, ctx context.Context, req auth.TokenRequest) (auth.TokenInfo, []string, error) {
	t.Helper()
	info, secret, err := f.svc.CreateToken(ctx, req)
	if err != nil {
		return info, nil, err
	}
	p, err := f.svc.Authenticate(request("Bearer "+secret, ""))
	if err != nil {
		t.Fatalf("Authenticate(token %s) = %v", info.ID, err)
	}
	return info, p.Applications, nil
}

func TestUserScope(t *testing.T) {
	f := scopeFixture(t)
	sys := auth.WithPrincipal(context.Background(), auth.System)

	// Names are cleaned: blanks dropped, duplicates removed, sorted.
	u, _, err := f.svc.CreateUser(sys, "pay", auth.RoleAnalyst, "payments password", []string{"search", " checkout", "search", ""})
	if err != nil || !slices.Equal(u.Applications, []string{"checkout", "search"}) {
		t.Fatalf("CreateUser(pay, search+checkout) = %+v, %v; want applications [checkout search]", u, err)
	}
	if u, _, err := f.svc.CreateUser(sys, "ops", auth.RoleAdmin, "operations password", nil); err != nil || u.Applications == nil || len(u.Applications) != 0 {
		t.Fatalf("CreateUser(ops) = %+v, %v; want an empty, non-nil list (every application)", u, err)
	}

	// Unknown applications are refused, naming the known ones.
	_, _, err = f.svc.CreateUser(sys, "shopper", auth.RoleViewer, "shopper password", []string{"checkout", "shop"})
	if !errors.Is(err, auth.ErrInvalid) || !strings.Contains(err.Error(), `unknown application "shop"`) || !strings.Contains(err.Error(), "billing, checkout, search") {
		t.Errorf("CreateUser with an unknown application = %v; want ErrInvalid naming it and the known ones", err)
	}
	if _, err := f.store.User(context.Background(), "shopper"); !errors.Is(err, state.ErrNotFound) {
		t.Errorf("a refused user was stored: User(shopper) = %v", err)
	}
	if _, err := f.svc.SetApplications(sys, "pay", []string{"nope"}); !errors.Is(err, auth.ErrInvalid) || !strings.Contains(err.Error(), `"nope"`) {
		t.Errorf("SetApplications(pay, nope) = %v, want ErrInvalid naming it", err)
	}

	// The session carries the user's applications, at login and after.
	ctx, se := f.login(t, "pay", "payments password")
	if !slices.Equal(se.Principal.Applications, []string{"checkout", "search"}) {
		t.Errorf("Login(pay).Principal.Applications = %q, want [checkout search]", se.Principal.Applications)
	}
	p, err := f.svc.Authenticate(request("", se.Secret))
	if err != nil || !p.Scoped() || !p.SeesApplication("checkout") || p.SeesApplication("billing") {
		t.Errorf("Authenticate(pay's session) = %+v, %v; want scoped to checkout and search", p, err)
	}
	if _, opsSe := f.login(t, "ops", "operations password"); opsSe.Principal.Scoped() {
		t.Errorf("Login(ops).Principal = %+v, want unscoped", opsSe.Principal)
	}

	// Changing the applications is audited before and after, and the
	// session follows.
	if u, err := f.svc.SetApplications(sys, "pay", []string{"search"}); err != nil || !slices.Equal(u.Applications, []string{"search"}) {
		t.Fatalf("SetApplications(pay, search) = %+v, %v", u, err)
	}
	if p, err := f.svc.Authenticate(request("", se.Secret)); err != nil || !slices.Equal(p.Applications, []string{"search"}) {
		t.Errorf("after SetApplications, the session's applications = %q, %v; want [search]", p.Applications, err)
	}
	entries, err := f.store.Audit(context.Background(), state.AuditFilter{Action: "user.applications"})
	if err != nil || len(entries) != 1 {
		t.Fatalf("Audit(user.applications) = %+v, %v; want one entry", entries, err)
	}
	if e := entries[0]; e.Actor != "system" || e.Target != "user:pay" ||
		!strings.Contains(string(e.Before), `"applications":["checkout","search"]`) || !strings.Contains(string(e.After), `"applications":["search"]`) {
		t.Errorf("audit entry = %s %s before %s after %s; want system changing pay from [checkout search] to [search]", e.Actor, e.Target, e.Before, e.After)
	}
	if u, err := f.svc.SetApplications(sys, "pay", nil); err != nil || len(u.Applications) != 0 {
		t.Fatalf("SetApplications(pay, none) = %+v, %v", u, err)
	}
	if p, err := f.svc.Authenticate(request("", se.Secret)); err != nil || p.Scoped() {
		t.Errorf("after clearing, the session = %+v, %v; want unscoped", p, err)
	}
	if _, err := f.svc.SetApplications(ctx, "ops", []string{"search"}); !errors.Is(err, auth.ErrForbidden) {
		t.Errorf("an analyst changing applications = %v, want ErrForbidden", err)
	}
}

func TestTokenScope(t *testing.T) {
	f := scopeFixture(t)
	sys := auth.WithPrincipal(context.Background(), auth.System)
	for _, u := range []struct {
		name string
		role auth.Role
		apps []string
	}{{"pay", auth.RoleAnalyst, []string{"checkout", "search"}}, {"ops", auth.RoleAdmin, nil}} {
		if _, _, err := f.svc.CreateUser(sys, u.name, u.role, u.name+" long password", u.apps); err != nil {
			t.Fatal(err)
		}
	}
	pay, _ := f.login(t, "pay", "pay long password")
	ops, _ := f.login(t, "ops", "ops long password")

	tests := []struct {
		name     string
		ctx      context.Context
		req      auth.TokenRequest
		stored   []string // the token's own list, as shown
		sees     []string // what its principal sees; nil: every application
		wantErr  error
		errWords string
	}{
		{"a scoped user's token narrows", pay, auth.TokenRequest{Name: "t1", Role: auth.RoleViewer, Applications: []string{"checkout"}},
			[]string{"checkout"}, []string{"checkout"}, nil, ""},
		{"a scoped user's token without applications takes the user's", pay, auth.TokenRequest{Name: "t2", Role: auth.RoleViewer},
			[]string{"checkout", "search"}, []string{"checkout", "search"}, nil, ""},
		{"a scoped user's token cannot widen", pay, auth.TokenRequest{Name: "t3", Role: auth.RoleViewer, Applications: []string{"billing", "checkout"}},
			nil, nil, auth.ErrForbidden, "never widen them: billing is not among them"},
		{"an unknown application", pay, auth.TokenRequest{Name: "t4", Role: auth.RoleViewer, Applications: []string{"shop"}},
			nil, nil, auth.ErrInvalid, `unknown application "shop"`},
		{"an unscoped user's token", ops, auth.TokenRequest{Name: "t5", Role: auth.RoleViewer},
			[]string{}, nil, nil, ""},
		{"an unscoped user's narrowed token", ops, auth.TokenRequest{Name: "t6", Role: auth.RoleViewer, Applications: []string{"billing"}},
			[]string{"billing"}, []string{"billing"}, nil, ""},
		{"a service token", sys, auth.TokenRequest{Name: "t7", Role: auth.RoleViewer, Service: true, Applications: []string{"search"}},
			[]string{"search"}, []string{"search"}, nil, ""},
		{"an unscoped service token", sys, auth.TokenRequest{Name: "t8", Role: auth.RoleViewer, Service: true},
			[]string{}, nil, nil, ""},
		{"an application's key sees its application", sys, auth.TokenRequest{Name: "t9", Role: auth.RoleIngest, Service: true, Application: "checkout"},
			[]string{}, []string{"checkout"}, nil, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			info, sees, err := f.tokenApps(t, tc.ctx, tc.req)
			if tc.wantErr != nil {
				if !errors.Is(err, tc.wantErr) || !strings.Contains(err.Error(), tc.errWords) {
					t.Errorf("CreateToken(%+v) = %v, want %v saying %q", tc.req, err, tc.wantErr, tc.errWords)
				}
				return
			}
			if err != nil {
				t.Fatalf("CreateToken(%+v) = %v", tc.req, err)
			}
			if !slices.Equal(info.Applications, tc.stored) || info.Applications == nil {
				t.Errorf("CreateToken(%+v).Applications = %#v, want %#v", tc.req, info.Applications, tc.stored)
			}
			if !slices.Equal(sees, tc.sees) || (tc.sees == nil) != (sees == nil) {
				t.Errorf("the token's principal sees %#v, want %#v", sees, tc.sees)
			}
		})
	}
}

func TestTokenFollowsItsUser(t *testing.T) {
	f := scopeFixture(t)
	sys := auth.WithPrincipal(context.Background(), auth.System)
	if _, _, err := f.svc.CreateUser(sys, "pay", auth.RoleAnalyst, "pay long password", nil); err != nil {
		t.Fatal(err)
	}
	pay, _ := f.login(t, "pay", "pay long password")
	secrets := map[string]string{}
	for name, apps := range map[string][]string{"all": nil, "checkout": {"checkout"}, "two": {"checkout", "search"}} {
		_, secret, err := f.svc.CreateToken(pay, auth.TokenRequest{Name: name, Role: auth.RoleViewer, Applications: apps})
		if err != nil {
			t.Fatal(err)
		}
		secrets[name] = secret
	}
	// A token issued through a narrowed token stays within it.
	p, err := f.svc.TokenPrincipal(context.Background(), secrets["checkout"])
	if err != nil {
		t.Fatal(err)
	}
	viaToken := auth.WithPrincipal(context.Background(), p)
	if _, sees, err := f.tokenApps(t, viaToken, auth.TokenRequest{Name: "child", Role: auth.RoleViewer}); err != nil || !slices.Equal(sees, []string{"checkout"}) {
		t.Errorf("a token issued by the checkout token sees %q, %v; want [checkout]", sees, err)
	}
	if _, _, err := f.tokenApps(t, viaToken, auth.TokenRequest{Name: "child2", Role: auth.RoleViewer, Applications: []string{"search"}}); !errors.Is(err, auth.ErrForbidden) {
		t.Errorf("the checkout token issuing a search token = %v, want ErrForbidden", err)
	}

	// Narrowing the user narrows the tokens; a token left with nothing is
	// refused rather than treated as unscoped.
	if _, err := f.svc.SetApplications(sys, "pay", []string{"search", "billing"}); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		token string
		sees  []string
		err   error
	}{
		{"all", []string{"billing", "search"}, nil},
		{"two", []string{"search"}, nil},
		{"checkout", nil, auth.ErrForbidden},
	}
	for _, tc := range tests {
		p, err := f.svc.TokenPrincipal(context.Background(), secrets[tc.token])
		if tc.err != nil {
			if !errors.Is(err, tc.err) || p.Scoped() {
				t.Errorf("TokenPrincipal(%s) = %+v, %v; want %v", tc.token, p, err, tc.err)
			}
			continue
		}
		if err != nil || !slices.Equal(p.Applications, tc.sees) {
			t.Errorf("TokenPrincipal(%s).Applications = %q, %v; want %q", tc.token, p.Applications, err, tc.sees)
		}
	}
	// The token listing shows each token's own list.
	toks, err := f.svc.Tokens(pay)
	if err != nil {
		t.Fatal(err)
	}
	for _, tok := range toks {
		if tok.Name == "two" && !slices.Equal(tok.Applications, []string{"checkout", "search"}) {
			t.Errorf("Tokens(): two has %q, want its own [checkout search]", tok.Applications)
		}
	}
}

func TestScopedAdmin(t *testing.T) {
	f := scopeFixture(t)
	sys := auth.WithPrincipal(context.Background(), auth.System)
	for _, u := range []struct {
		name string
		role auth.Role
		apps []string
	}{
		{"payadmin", auth.RoleAdmin, []string{"checkout", "billing"}},
		{"ops", auth.RoleAdmin, nil},
		{"searcher", auth.RoleViewer, []string{"search"}},
	} {
		if _, _, err := f.svc.CreateUser(sys, u.name, u.role, u.name+" long password", u.apps); err != nil {
			t.Fatal(err)
		}
	}
	if _, _, err := f.svc.CreateToken(sys, auth.TokenRequest{Name: "collector", Role: auth.RoleIngest, Service: true}); err != nil {
		t.Fatal(err)
	}
	admin, _ := f.login(t, "payadmin", "payadmin long password")

	// What a scoped admin grants stays within its applications.
	if u, _, err := f.svc.CreateUser(admin, "cart", auth.RoleViewer, "", nil); err != nil || !slices.Equal(u.Applications, []string{"billing", "checkout"}) {
		t.Errorf("a scoped admin's new user without applications = %+v, %v; want the admin's [billing checkout]", u, err)
	}
	if _, _, err := f.svc.CreateUser(admin, "spy", auth.RoleViewer, "", []string{"search"}); !errors.Is(err, auth.ErrForbidden) {
		t.Errorf("a scoped admin creating a search user = %v, want ErrForbidden", err)
	}
	if _, err := f.svc.SetApplications(admin, "cart", nil); !errors.Is(err, auth.ErrForbidden) {
		t.Errorf("a scoped admin unscoping a user = %v, want ErrForbidden", err)
	}
	if u, err := f.svc.SetApplications(admin, "cart", []string{"billing"}); err != nil || !slices.Equal(u.Applications, []string{"billing"}) {
		t.Errorf("a scoped admin narrowing its user = %+v, %v", u, err)
	}
	if _, _, err := f.svc.CreateToken(admin, auth.TokenRequest{Name: "svc", Role: auth.RoleViewer, Service: true}); err != nil {
		t.Errorf("a scoped admin's service token: %v", err)
	}

	// Other teams' accounts and tokens are out of its reach.
	for _, name := range []string{"ops", "searcher"} {
		if _, err := f.svc.SetRole(admin, name, auth.RoleViewer); !errors.Is(err, auth.ErrForbidden) {
			t.Errorf("a scoped admin changing %s's role = %v, want ErrForbidden", name, err)
		}
		if err := f.svc.DeleteUser(admin, name); !errors.Is(err, auth.ErrForbidden) {
			t.Errorf("a scoped admin deleting %s = %v, want ErrForbidden", name, err)
		}
		if err := f.svc.SetPassword(admin, name, "a brand new password"); !errors.Is(err, auth.ErrForbidden) {
			t.Errorf("a scoped admin resetting %s's password = %v, want ErrForbidden", name, err)
		}
		if _, err := f.svc.SetApplications(admin, name, []string{"checkout"}); !errors.Is(err, auth.ErrForbidden) {
			t.Errorf("a scoped admin rescoping %s = %v, want ErrForbidden", name, err)
		}
	}
	users, err := f.svc.Users(admin)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, u := range users {
		names = append(names, u.Name)
	}
	if !slices.Equal(names, []string{"cart", "payadmin"}) {
		t.Errorf("a scoped admin's Users() = %q, want [cart payadmin]", names)
	}
	toks, err := f.svc.Tokens(admin)
	if err != nil {
		t.Fatal(err)
	}
	if len(toks) != 1 || toks[0].Name != "svc" {
		t.Errorf("a scoped admin's Tokens() = %+v, want its own service token only", toks)
	}
	all, err := f.svc.Tokens(sys)
	if err != nil {
		t.Fatal(err)
	}
	for _, tok := range all {
		if tok.Name == "collector" {
			if err := f.svc.DeleteToken(admin, tok.ID); !errors.Is(err, auth.ErrForbidden) {
				t.Errorf("a scoped admin revoking the unscoped collector = %v, want ErrForbidden", err)
			}
		}
	}
	if _, _, err := f.svc.CreateToken(admin, auth.TokenRequest{Name: "search-ingest", Role: auth.RoleIngest, Service: true, Application: "search"}); !errors.Is(err, auth.ErrForbidden) {
		t.Errorf("a scoped admin issuing another team's ingest key = %v, want ErrForbidden", err)
	}
}

func TestNoApplicationStore(t *testing.T) {
	f := newFixture(t)
	svc := auth.NewService(f.store, auth.Options{Now: func() time.Time { return f.now }})
	sys := auth.WithPrincipal(context.Background(), auth.System)
	if _, _, err := svc.CreateUser(sys, "pay", auth.RoleViewer, "", []string{"checkout"}); !errors.Is(err, auth.ErrInvalid) {
		t.Errorf("scoping a user without an application store = %v, want ErrInvalid", err)
	}
	if _, _, err := svc.CreateUser(sys, "ops", auth.RoleViewer, "", nil); err != nil {
		t.Errorf("an unscoped user without an application store: %v", err)
	}
	// With the store but no application registered, the error says so.
	_, _, err := f.svc.CreateUser(sys, "pay", auth.RoleViewer, "", []string{"checkout"})
	if !errors.Is(err, auth.ErrInvalid) || !strings.Contains(err.Error(), "no application is registered") {
		t.Errorf("scoping to an application before any is registered = %v, want ErrInvalid saying none is", err)
	}
}

// TestTokenFollowsItsUsersRole: demoting a user demotes the tokens issued
// before, which never act above the user's current role.
func TestTokenFollowsItsUsersRole(t *testing.T) {
	f := scopeFixture(t)
	sys := auth.WithPrincipal(context.Background(), auth.System)
	for _, name := range []string{"ana", "boss"} {
		if _, _, err := f.svc.CreateUser(sys, name, auth.RoleAdmin, name+" long password", nil); err != nil {
			t.Fatal(err)
		}
	}
	ana, _ := f.login(t, "ana", "ana long password")
	_, secret, err := f.svc.CreateToken(ana, auth.TokenRequest{Name: "ops", Role: auth.RoleAnalyst})
	if err != nil {
		t.Fatal(err)
	}
	if p, err := f.svc.TokenPrincipal(context.Background(), secret); err != nil || p.Role != auth.RoleAnalyst {
		t.Fatalf("token role %q, %v; want analyst", p.Role, err)
	}
	if _, err := f.svc.SetRole(sys, "ana", auth.RoleViewer); err != nil {
		t.Fatal(err)
	}
	if p, err := f.svc.TokenPrincipal(context.Background(), secret); err != nil || p.Role != auth.RoleViewer {
		t.Errorf("after demoting its user, token role %q, %v; want viewer", p.Role, err)
	}
}
