package app_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/tracehound/tracehound/api"
	"github.com/tracehound/tracehound/auth"
)

// tokenFor creates a user of role with a token and returns the secret.
func tokenFor(t *testing.T, c *api.Client, role auth.Role) string {
	t.Helper()
	ctx := context.Background()
	name := "u-" + string(role)
	if _, err := c.CreateUser(ctx, api.UserRequest{Name: name, Role: role, Password: "password for " + name}); err != nil {
		t.Fatalf("create %s: %v", name, err)
	}
	uc, err := api.NewClient(strings.TrimPrefix(c.Base(), "http://"))
	if err != nil {
		t.Fatal(err)
	}
	// Sign in as the user and issue their token over the API, as they would.
	tok := loginToken(t, uc.Base(), name, "password for "+name, role)
	return tok
}

func loginToken(t *testing.T, base, user, password string, role auth.Role) string {
	t.Helper()
	jar := &cookieJar{}
	me := doJSON(t, jar, http.MethodPost, base+"/api/v1/login", "", api.LoginRequest{User: user, Password: password}, http.StatusOK)
	var created api.TokenCreated
	body := doJSON(t, jar, http.MethodPost, base+"/api/v1/tokens", me["csrf_token"].(string), api.TokenRequest{Name: "t", Role: role}, http.StatusOK)
	b, _ := json.Marshal(body)
	json.Unmarshal(b, &created)
	return created.Secret
}

type cookieJar struct{ cookies []*http.Cookie }

func doJSON(t *testing.T, jar *cookieJar, method, url, csrf string, in any, want int) map[string]any {
	t.Helper()
	b, _ := json.Marshal(in)
	req, _ := http.NewRequest(method, url, bytes.NewReader(b))
	req.Header.Set("Content-Type", "application/json")
	if csrf != "" {
		req.Header.Set(auth.CSRFHeader, csrf)
	}
	for _, c := range jar.cookies {
		req.AddCookie(c)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	jar.cookies = append(jar.cookies, resp.Cookies()...)
	rb, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != want {
		t.Fatalf("%s %s: %s %s, want %d", method, url, resp.Status, rb, want)
	}
	out := map[string]any{}
	json.Unmarshal(rb, &out)
	return out
}

// TestRoleMatrix calls every API route with no credential and with a
// token of every role, and checks 401, 403 or admission.
func TestRoleMatrix(t *testing.T) {
	s := start(t, testConfig(t, t.TempDir()))
	admin := s.client(t)
	tokens := map[auth.Role]string{auth.RoleNone: ""}
	for _, r := range []auth.Role{auth.RoleViewer, auth.RoleAnalyst} {
		tokens[r] = tokenFor(t, admin, r)
	}
	adm, err := admin.CreateToken(context.Background(), api.TokenRequest{Name: "adm", Role: auth.RoleAdmin, Service: true})
	if err != nil {
		t.Fatal(err)
	}
	tokens[auth.RoleAdmin] = adm.Secret
	ing, err := admin.CreateToken(context.Background(), api.TokenRequest{Name: "collector", Role: auth.RoleIngest, Service: true})
	if err != nil {
		t.Fatal(err)
	}
	tokens[auth.RoleIngest] = ing.Secret

	routes := s.APIRoutes()
	if len(routes) < 20 {
		t.Fatalf("only %d routes declared", len(routes))
	}
	// Routes whose role is easy to get wrong: batch work on IP records
	// changes their tags and may block, so it needs an analyst.
	for pattern, role := range map[string]auth.Role{
		"POST /api/v1/ips/enrich":  auth.RoleAnalyst,
		"POST /api/v1/ips/analyse": auth.RoleAnalyst,
		"POST /api/v1/ips/status":  auth.RoleAnalyst,
	} {
		if !slices.Contains(routes, api.Route{Pattern: pattern, Role: role}) {
			t.Errorf("route %s is not declared for the %s role", pattern, role)
		}
	}
	for _, rt := range routes {
		method, pattern, _ := strings.Cut(rt.Pattern, " ")
		for have, tok := range tokens {
			// A user acts on their own account (their password); ids
			// name nothing, so admitted requests may answer 404.
			path := strings.ReplaceAll(pattern, "{name}", "u-"+string(have))
			path = strings.ReplaceAll(path, "{id}", "nobody")
			req, _ := http.NewRequest(method, "http://"+s.Addr()+path, strings.NewReader("{}"))
			req.Header.Set("Content-Type", "application/json")
			if tok != "" {
				req.Header.Set("Authorization", "Bearer "+tok)
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			var want string
			switch {
			case rt.Role == auth.RoleNone:
				continue // public: login answers 401 to a wrong password, by design
			case tok == "":
				want = "401"
			case !have.Allows(rt.Role):
				want = "403"
			default:
				want = "admitted"
			}
			got := fmt.Sprint(resp.StatusCode)
			if got != "401" && got != "403" {
				got = "admitted"
			}
			if got != want {
				t.Errorf("%s as %q (route needs %q): %d, want %s", rt.Pattern, have, rt.Role, resp.StatusCode, want)
			}
		}
	}
	t.Logf("%d routes × %d credentials checked", len(routes), len(tokens))
}

func TestSessionNeedsCSRF(t *testing.T) {
	s := start(t, testConfig(t, t.TempDir()))
	ctx := context.Background()
	admin := s.client(t)
	if _, err := admin.CreateUser(ctx, api.UserRequest{Name: "ana", Role: auth.RoleAnalyst, Password: "analyst password"}); err != nil {
		t.Fatal(err)
	}
	base := "http://" + s.Addr()
	jar := &cookieJar{}
	doJSON(t, jar, http.MethodPost, base+"/api/v1/login", "", api.LoginRequest{User: "ana", Password: "wrong password!"}, http.StatusUnauthorized)
	me := doJSON(t, jar, http.MethodPost, base+"/api/v1/login", "", api.LoginRequest{User: "ana", Password: "analyst password"}, http.StatusOK)
	csrf, _ := me["csrf_token"].(string)
	if csrf == "" || me["role"] != "analyst" {
		t.Fatalf("login answered %v", me)
	}
	if len(jar.cookies) == 0 || !jar.cookies[0].HttpOnly || jar.cookies[0].SameSite != http.SameSiteStrictMode {
		t.Fatalf("session cookie %+v: want HttpOnly and SameSite=Strict", jar.cookies)
	}
	doJSON(t, jar, http.MethodGet, base+"/api/v1/me", "", nil, http.StatusOK)
	body := api.TokenRequest{Name: "laptop", Role: auth.RoleViewer}
	doJSON(t, jar, http.MethodPost, base+"/api/v1/tokens", "", body, http.StatusForbidden)
	doJSON(t, jar, http.MethodPost, base+"/api/v1/tokens", "not-the-token", body, http.StatusForbidden)
	doJSON(t, jar, http.MethodPost, base+"/api/v1/tokens", csrf, body, http.StatusOK)
	doJSON(t, jar, http.MethodGet, base+"/api/v1/users", "", nil, http.StatusForbidden) // analyst, not admin
	doJSON(t, jar, http.MethodPost, base+"/api/v1/logout", csrf, nil, http.StatusNoContent)
	doJSON(t, jar, http.MethodGet, base+"/api/v1/me", "", nil, http.StatusUnauthorized)

	// The changes are in the audit log with their actors.
	list, err := admin.Audit(ctx, api.AuditQuery{Action: "token.", Actor: "user:ana"})
	if err != nil || len(list.Entries) != 1 || list.Entries[0].Actor != "user:ana" {
		t.Errorf("audit of token changes = %+v, %v; want ana's token", list, err)
	}
}

func TestIngestToken(t *testing.T) {
	c := testConfig(t, t.TempDir())
	c.Ingest.RequireToken = "true"
	s := start(t, c)
	body := exportBody(t, 3, "auth")
	url := "http://" + s.OTLPHTTPAddr() + "/v1/traces"
	if resp, _ := post(t, url, "application/x-protobuf", "", body); resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("export without a token: %s, want 401", resp.Status)
	}
	admin := s.client(t)
	ing, err := admin.CreateToken(context.Background(), api.TokenRequest{Name: "collector", Role: auth.RoleIngest, Service: true})
	if err != nil {
		t.Fatal(err)
	}
	view, err := admin.CreateToken(context.Background(), api.TokenRequest{Name: "viewer", Role: auth.RoleViewer, Service: true})
	if err != nil {
		t.Fatal(err)
	}
	for tok, want := range map[string]int{view.Secret: http.StatusUnauthorized, ing.Secret: http.StatusOK} {
		req, _ := http.NewRequest(http.MethodPost, url, bytes.NewReader(body))
		req.Header.Set("Content-Type", "application/x-protobuf")
		req.Header.Set("Authorization", "Bearer "+tok)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != want {
			t.Errorf("export with a %s token: %s, want %d", map[bool]string{true: "viewer", false: "ingest"}[tok == view.Secret], resp.Status, want)
		}
	}
	if n := count(t, s.App, "true"); n != 3 {
		t.Errorf("%d spans stored, want the 3 of the authorised export", n)
	}
}

// TestScopedAccounts scopes a user and their tokens to applications over
// the API: /api/v1/me tells the session and each token what it sees, a
// token cannot widen its user's applications, unknown applications are
// refused, and the change is audited before and after.
func TestScopedAccounts(t *testing.T) {
	s := start(t, testConfig(t, t.TempDir()))
	ctx := context.Background()
	admin := s.client(t)
	for _, name := range []string{"checkout", "search", "billing"} {
		if _, err := admin.CreateApplication(ctx, api.ApplicationRequest{Name: name}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := admin.CreateUser(ctx, api.UserRequest{Name: "pay", Role: auth.RoleAnalyst, Password: "payments password", Applications: []string{"checkout", "shop"}}); !errors.Is(err, api.ErrBadRequest) ||
		!strings.Contains(err.Error(), `unknown application "shop"`) {
		t.Errorf("CreateUser with an unknown application = %v, want a bad request naming it", err)
	}
	created, err := admin.CreateUser(ctx, api.UserRequest{Name: "pay", Role: auth.RoleAnalyst, Password: "payments password", Applications: []string{"search", "checkout"}})
	if err != nil || !slices.Equal(created.User.Applications, []string{"checkout", "search"}) {
		t.Fatalf("CreateUser(pay) = %+v, %v", created, err)
	}
	base := "http://" + s.Addr()
	jar := &cookieJar{}
	login := doJSON(t, jar, http.MethodPost, base+"/api/v1/login", "", api.LoginRequest{User: "pay", Password: "payments password"}, http.StatusOK)
	if fmt.Sprint(login["applications"]) != "[checkout search]" {
		t.Errorf("login answered applications %v, want [checkout search]", login["applications"])
	}
	csrf := login["csrf_token"].(string)
	if me := doJSON(t, jar, http.MethodGet, base+"/api/v1/me", "", nil, http.StatusOK); fmt.Sprint(me["applications"]) != "[checkout search]" {
		t.Errorf("GET /me as pay's session = %v, want applications [checkout search]", me)
	}

	// Tokens narrow, never widen.
	doJSON(t, jar, http.MethodPost, base+"/api/v1/tokens", csrf, api.TokenRequest{Name: "wide", Role: auth.RoleViewer, Applications: []string{"billing"}}, http.StatusForbidden)
	doJSON(t, jar, http.MethodPost, base+"/api/v1/tokens", csrf, api.TokenRequest{Name: "odd", Role: auth.RoleViewer, Applications: []string{"shop"}}, http.StatusBadRequest)
	body := doJSON(t, jar, http.MethodPost, base+"/api/v1/tokens", csrf, api.TokenRequest{Name: "narrow", Role: auth.RoleViewer, Applications: []string{"checkout"}}, http.StatusOK)
	narrow := body["secret"].(string)
	meAs := func(secret string, want int) map[string]any {
		t.Helper()
		req, _ := http.NewRequest(http.MethodGet, base+"/api/v1/me", nil)
		req.Header.Set("Authorization", "Bearer "+secret)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		if resp.StatusCode != want {
			t.Fatalf("GET /me with a token: %s, want %d", resp.Status, want)
		}
		out := map[string]any{}
		json.NewDecoder(resp.Body).Decode(&out)
		return out
	}
	if me := meAs(narrow, http.StatusOK); fmt.Sprint(me["applications"]) != "[checkout]" || me["user"] != "pay" {
		t.Errorf("GET /me with pay's checkout token = %v, want pay on [checkout]", me)
	}

	// An admin rescopes pay: the session follows, the checkout token is
	// left with nothing and refused, and the audit log has both lists.
	u, err := admin.SetUserApplications(ctx, "pay", []string{"search"})
	if err != nil || !slices.Equal(u.Applications, []string{"search"}) {
		t.Fatalf("SetUserApplications(pay, search) = %+v, %v", u, err)
	}
	if me := doJSON(t, jar, http.MethodGet, base+"/api/v1/me", "", nil, http.StatusOK); fmt.Sprint(me["applications"]) != "[search]" {
		t.Errorf("GET /me after rescoping = %v, want [search]", me["applications"])
	}
	meAs(narrow, http.StatusForbidden)
	if _, err := admin.SetUserApplications(ctx, "pay", []string{"nope"}); !errors.Is(err, api.ErrBadRequest) {
		t.Errorf("SetUserApplications(pay, nope) = %v, want a bad request", err)
	}
	list, err := admin.Audit(ctx, api.AuditQuery{Action: "user.applications", Target: "user:pay"})
	if err != nil || len(list.Entries) != 1 {
		t.Fatalf("Audit(user.applications) = %+v, %v; want one entry", list, err)
	}
	if e := list.Entries[0]; !strings.Contains(string(e.Before), `"applications":["checkout","search"]`) || !strings.Contains(string(e.After), `"applications":["search"]`) {
		t.Errorf("audit entry before %s after %s; want [checkout search] then [search]", e.Before, e.After)
	}
	// Cleared, pay sees every application again; the admin's token never
	// was scoped.
	if u, err := admin.SetUserApplications(ctx, "pay", nil); err != nil || len(u.Applications) != 0 {
		t.Fatalf("SetUserApplications(pay, none) = %+v, %v", u, err)
	}
	if me := doJSON(t, jar, http.MethodGet, base+"/api/v1/me", "", nil, http.StatusOK); me["applications"] != nil {
		t.Errorf("GET /me after clearing = %v, want no applications (every one)", me["applications"])
	}
	users, err := admin.Users(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, u := range users.Users {
		if u.Applications == nil || len(u.Applications) != 0 {
			t.Errorf("Users(): %s has %#v, want an empty list", u.Name, u.Applications)
		}
	}
}
