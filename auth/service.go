package auth

import (
	"context"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/tracehound/tracehound/state"
)

// Names of the credentials on HTTP requests.
const (
	// SessionCookie carries a browser session.
	SessionCookie = "tracehound_session"
	// CSRFHeader must echo the session's CSRF token on unsafe methods.
	CSRFHeader = "X-CSRF-Token"
	// TokenPrefix starts every API token.
	TokenPrefix = "th_"
)

// ErrRateLimited: too many failed logins; try again later.
var ErrRateLimited = errors.New("too many failed logins")

// Options configure a Service.
type Options struct {
	// SessionTTL is how long a browser session lasts. Default 12h.
	SessionTTL time.Duration
	// Now is the clock; default time.Now.
	Now func() time.Time
	// Applications lists the registered applications, which users and
	// tokens may be scoped to; without it nothing can be scoped.
	Applications ApplicationLister
}

// Service authenticates requests and manages users, tokens and sessions
// in a state store, auditing every change.
type Service struct {
	store      state.AuthStore
	apps       ApplicationLister
	sessionTTL time.Duration
	now        func() time.Time

	mu       sync.Mutex
	failures map[string]*failure // login failures by remote address and user
}

type failure struct {
	count int
	first time.Time
}

// Login throttling: after maxFailures failed attempts for one address and
// user within failureWindow, further attempts are refused until the window
// has passed.
const (
	maxFailures   = 5
	failureWindow = 5 * time.Minute
	maxTracked    = 10_000
	touchEvery    = time.Minute
)

// NewService returns a Service over store.
func NewService(store state.AuthStore, o Options) *Service {
	if o.SessionTTL <= 0 {
		o.SessionTTL = 12 * time.Hour
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	return &Service{store: store, apps: o.Applications, sessionTTL: o.SessionTTL, now: o.Now, failures: map[string]*failure{}}
}

// Authenticate returns the principal of a request: a bearer token
// ("Authorization: Bearer th_…"), or a session cookie. A request with no
// credential, or an unknown, expired or malformed one, is
// ErrUnauthenticated.
func (s *Service) Authenticate(r *http.Request) (Principal, error) {
	ctx := r.Context()
	if h := r.Header.Get("Authorization"); h != "" {
		scheme, secret, ok := strings.Cut(h, " ")
		if !ok || !strings.EqualFold(scheme, "bearer") {
			return Principal{}, fmt.Errorf("%w: the Authorization header must be \"Bearer <token>\"", ErrUnauthenticated)
		}
		return s.TokenPrincipal(ctx, strings.TrimSpace(secret))
	}
	if c, err := r.Cookie(SessionCookie); err == nil && c.Value != "" {
		return s.sessionPrincipal(ctx, c.Value)
	}
	return Principal{}, fmt.Errorf("%w: send an API token (Authorization: Bearer …) or sign in", ErrUnauthenticated)
}

// TokenPrincipal resolves an API token secret. A token that acts for a
// user sees the applications both it and its user see: its own list
// narrows the user's, so narrowing the user later narrows the token too.
func (s *Service) TokenPrincipal(ctx context.Context, secret string) (Principal, error) {
	if !strings.HasPrefix(secret, TokenPrefix) || len(secret) > 128 {
		return Principal{}, fmt.Errorf("%w: malformed API token", ErrUnauthenticated)
	}
	t, err := s.store.TokenByHash(ctx, HashSecret(secret))
	if errors.Is(err, state.ErrNotFound) {
		return Principal{}, fmt.Errorf("%w: unknown or revoked API token", ErrUnauthenticated)
	}
	if err != nil {
		return Principal{}, err
	}
	now := s.now()
	if !t.ExpiresAt.IsZero() && now.After(t.ExpiresAt) {
		return Principal{}, fmt.Errorf("%w: the API token %s expired at %s", ErrUnauthenticated, t.ID, t.ExpiresAt.Format(time.RFC3339))
	}
	if now.Sub(t.LastUsedAt) > touchEvery {
		if err := s.store.TouchToken(ctx, t.ID, now); err != nil {
			return Principal{}, err
		}
	}
	apps := tokenScope(t)
	role := Role(t.Role)
	if t.User != "" {
		u, err := s.store.User(ctx, t.User)
		if errors.Is(err, state.ErrNotFound) {
			return Principal{}, fmt.Errorf("%w: the API token %s acts for a deleted account", ErrUnauthenticated, t.ID)
		}
		if err != nil {
			return Principal{}, err
		}
		var ok bool
		if apps, ok = narrow(apps, u.Applications); !ok {
			return Principal{}, fmt.Errorf("%w: the API token %s is scoped to applications (%s) that %s no longer sees; issue a new one",
				ErrForbidden, t.ID, strings.Join(t.Applications, ", "), u.Name)
		}
		// A token acts with at most its user's current role: demoting the
		// user demotes the tokens issued before.
		if role.rank() > Role(u.Role).rank() {
			role = Role(u.Role)
		}
	}
	return Principal{Kind: "token", Name: t.Name, Role: role, TokenID: t.ID, User: t.User, Application: t.Application,
		Applications: slices.Clone(apps)}, nil
}

func (s *Service) sessionPrincipal(ctx context.Context, secret string) (Principal, error) {
	if len(secret) > 128 {
		return Principal{}, fmt.Errorf("%w: malformed session", ErrUnauthenticated)
	}
	se, err := s.store.SessionByHash(ctx, HashSecret(secret))
	if errors.Is(err, state.ErrNotFound) {
		return Principal{}, fmt.Errorf("%w: the session ended; sign in again", ErrUnauthenticated)
	}
	if err != nil {
		return Principal{}, err
	}
	if s.now().After(se.ExpiresAt) {
		return Principal{}, fmt.Errorf("%w: the session expired; sign in again", ErrUnauthenticated)
	}
	u, err := s.store.User(ctx, se.User)
	if errors.Is(err, state.ErrNotFound) {
		return Principal{}, fmt.Errorf("%w: the account was deleted", ErrUnauthenticated)
	}
	if err != nil {
		return Principal{}, err
	}
	return Principal{Kind: "user", Name: u.Name, User: u.Name, Role: Role(u.Role), Applications: u.Applications, Session: true, CSRF: se.CSRF}, nil
}

// CheckCSRF verifies the CSRF header of a request authenticated by a
// session cookie; safe methods need none, and neither do tokens (a
// browser never sends them on its own).
func CheckCSRF(p Principal, r *http.Request) error {
	if !p.Session {
		return nil
	}
	switch r.Method {
	case http.MethodGet, http.MethodHead, http.MethodOptions:
		return nil
	}
	got := r.Header.Get(CSRFHeader)
	if got == "" || subtle.ConstantTimeCompare([]byte(got), []byte(p.CSRF)) != 1 {
		return fmt.Errorf("%w: missing or wrong %s header", ErrForbidden, CSRFHeader)
	}
	return nil
}

// Session is what a successful login returns.
type Session struct {
	// Secret goes in the session cookie; it is not stored.
	Secret    string
	CSRF      string
	ExpiresAt time.Time
	Principal Principal
	// MustChangePassword: the account still has a generated password.
	MustChangePassword bool
}

// Login checks a user's password and opens a session. remote (the
// client's address) scopes the failed-login throttle.
func (s *Service) Login(ctx context.Context, name, password, remote string) (Session, error) {
	key := remote + "\x00" + name
	if s.throttled(key) {
		return Session{}, fmt.Errorf("%w for %s from this address; wait a few minutes", ErrRateLimited, name)
	}
	u, err := s.store.User(ctx, name)
	if err != nil && !errors.Is(err, state.ErrNotFound) {
		return Session{}, err
	}
	ok := false
	if err == nil {
		if ok, err = CheckPassword(u.PasswordHash, password); err != nil {
			return Session{}, err
		}
	} else {
		// Spend the same time on unknown users, so timing tells nothing.
		HashPassword(password)
	}
	if !ok {
		s.fail(key)
		return Session{}, fmt.Errorf("%w: wrong user name or password", ErrUnauthenticated)
	}
	s.forget(key)
	now := s.now()
	se := Session{Secret: NewSecret("ths_"), CSRF: NewSecret(""), ExpiresAt: now.Add(s.sessionTTL), MustChangePassword: u.MustChangePassword,
		Principal: Principal{Kind: "user", Name: u.Name, User: u.Name, Role: Role(u.Role), Applications: u.Applications, Session: true}}
	se.Principal.CSRF = se.CSRF
	if err := s.store.CreateSession(ctx, state.Session{Hash: HashSecret(se.Secret), User: u.Name, CSRF: se.CSRF, CreatedAt: now, ExpiresAt: se.ExpiresAt}); err != nil {
		return Session{}, err
	}
	if _, err := s.store.DeleteExpiredSessions(ctx, now); err != nil {
		return Session{}, err
	}
	return se, s.Audit(WithPrincipal(ctx, se.Principal), "session.login", "user:"+u.Name, nil, nil)
}

// Logout ends the session whose cookie carries secret.
func (s *Service) Logout(ctx context.Context, secret string) error {
	return s.store.DeleteSession(ctx, HashSecret(secret))
}

func (s *Service) throttled(key string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	f := s.failures[key]
	if f == nil {
		return false
	}
	if s.now().Sub(f.first) > failureWindow {
		delete(s.failures, key)
		return false
	}
	return f.count >= maxFailures
}

func (s *Service) fail(key string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.now()
	if len(s.failures) >= maxTracked {
		for k, f := range s.failures {
			if now.Sub(f.first) > failureWindow {
				delete(s.failures, k)
			}
		}
		if len(s.failures) >= maxTracked {
			clear(s.failures) // under a spray of addresses, forget rather than grow
		}
	}
	f := s.failures[key]
	if f == nil || now.Sub(f.first) > failureWindow {
		f = &failure{first: now}
		s.failures[key] = f
	}
	f.count++
}

func (s *Service) forget(key string) {
	s.mu.Lock()
	delete(s.failures, key)
	s.mu.Unlock()
}

// UserInfo is a user as the API shows it: never the hash.
type UserInfo struct {
	Name string `json:"name"`
	Role Role   `json:"role"`
	// Applications are the applications whose data the user sees; empty
	// means every application. They come early, so that audit tables,
	// which cut long entries, show them.
	Applications       []string  `json:"applications"`
	CreatedAt          time.Time `json:"created_at"`
	UpdatedAt          time.Time `json:"updated_at"`
	MustChangePassword bool      `json:"must_change_password"`
}

func userInfo(u state.User) UserInfo {
	return UserInfo{Name: u.Name, Role: Role(u.Role), CreatedAt: u.CreatedAt, UpdatedAt: u.UpdatedAt, MustChangePassword: u.MustChangePassword,
		Applications: listOrEmpty(u.Applications)}
}

// listOrEmpty keeps an empty application list "[]" in JSON rather than
// null: every application.
func listOrEmpty(apps []string) []string {
	if apps == nil {
		return []string{}
	}
	return slices.Clone(apps)
}

// Users lists the users: all of them for an unscoped principal; for a
// scoped one, itself and the users who see only applications it sees.
func (s *Service) Users(ctx context.Context) ([]UserInfo, error) {
	p := FromContext(ctx)
	users, err := s.store.Users(ctx)
	if err != nil {
		return nil, err
	}
	out := make([]UserInfo, 0, len(users))
	for _, u := range users {
		if u.Name == p.User || within(u.Applications, p.Applications) {
			out = append(out, userInfo(u))
		}
	}
	return out, nil
}

// CreateUser adds a user who sees the named applications' data (none
// named: every application). An empty password generates one, which is
// returned and must be changed at first use. A scoped principal creates
// users within its own applications; naming none gives them its own.
func (s *Service) CreateUser(ctx context.Context, name string, role Role, password string, apps []string) (UserInfo, string, error) {
	if !ValidName(name) {
		return UserInfo{}, "", fmt.Errorf("%w: user name %q: use 1-64 letters, digits, '.', '_', '-' or '@'", ErrInvalid, name)
	}
	if role.rank() == 0 {
		return UserInfo{}, "", fmt.Errorf("%w: a user's role is viewer, analyst or admin", ErrInvalid)
	}
	apps, err := s.checkApplications(ctx, apps)
	if err != nil {
		return UserInfo{}, "", err
	}
	if apps, err = grantApplications(FromContext(ctx), apps, "a new user"); err != nil {
		return UserInfo{}, "", err
	}
	generated := ""
	if password == "" {
		password, generated = NewPassword(), "yes"
	} else if err := CheckPasswordPolicy(password); err != nil {
		return UserInfo{}, "", err
	}
	hash, err := HashPassword(password)
	if err != nil {
		return UserInfo{}, "", err
	}
	now := s.now()
	u := state.User{Name: name, PasswordHash: hash, Role: string(role), CreatedAt: now, UpdatedAt: now, MustChangePassword: generated != "", Applications: apps}
	if err := s.store.CreateUser(ctx, u); err != nil {
		return UserInfo{}, "", err
	}
	info := userInfo(u)
	if err := s.Audit(ctx, "user.create", "user:"+name, nil, info); err != nil {
		return UserInfo{}, "", err
	}
	if generated == "" {
		password = ""
	}
	return info, password, nil
}

// SetPassword changes a user's password. Users change their own; admins
// anyone's.
func (s *Service) SetPassword(ctx context.Context, name, password string) error {
	p := FromContext(ctx)
	if p.User != name && !p.Role.Allows(RoleAdmin) {
		return fmt.Errorf("%w: only an admin changes another user's password", ErrForbidden)
	}
	if err := CheckPasswordPolicy(password); err != nil {
		return err
	}
	u, err := s.store.User(ctx, name)
	if err != nil {
		return err
	}
	if p.User != name {
		if err := mayManage(p, u.Applications, "user "+name); err != nil {
			return err
		}
	}
	if u.PasswordHash, err = HashPassword(password); err != nil {
		return err
	}
	u.MustChangePassword = p.User != name // an admin's reset is a one-time password
	u.UpdatedAt = s.now()
	if err := s.store.UpdateUser(ctx, u); err != nil {
		return err
	}
	return s.Audit(ctx, "user.password", "user:"+name, nil, nil)
}

// SetRole changes a user's role. The last admin cannot be demoted.
func (s *Service) SetRole(ctx context.Context, name string, role Role) (UserInfo, error) {
	if role.rank() == 0 {
		return UserInfo{}, fmt.Errorf("%w: a user's role is viewer, analyst or admin", ErrInvalid)
	}
	u, err := s.store.User(ctx, name)
	if err != nil {
		return UserInfo{}, err
	}
	if err := mayManage(FromContext(ctx), u.Applications, "user "+name); err != nil {
		return UserInfo{}, err
	}
	before := userInfo(u)
	if Role(u.Role) == RoleAdmin && role != RoleAdmin {
		if err := s.keepAnAdmin(ctx, name); err != nil {
			return UserInfo{}, err
		}
	}
	u.Role, u.UpdatedAt = string(role), s.now()
	if err := s.store.UpdateUser(ctx, u); err != nil {
		return UserInfo{}, err
	}
	after := userInfo(u)
	return after, s.Audit(ctx, "user.role", "user:"+name, before, after)
}

// DeleteUser removes a user, their tokens and sessions. The last admin
// cannot be deleted.
func (s *Service) DeleteUser(ctx context.Context, name string) error {
	u, err := s.store.User(ctx, name)
	if err != nil {
		return err
	}
	if err := mayManage(FromContext(ctx), u.Applications, "user "+name); err != nil {
		return err
	}
	if Role(u.Role) == RoleAdmin {
		if err := s.keepAnAdmin(ctx, name); err != nil {
			return err
		}
	}
	if err := s.store.DeleteUser(ctx, name); err != nil {
		return err
	}
	return s.Audit(ctx, "user.delete", "user:"+name, userInfo(u), nil)
}

// SetApplications changes the applications whose data a user sees; none
// means every application. Only an admin changes them, and a scoped admin
// only for users within its applications, to applications among them.
// The user's tokens follow: each sees at most what its user sees.
func (s *Service) SetApplications(ctx context.Context, name string, apps []string) (UserInfo, error) {
	p := FromContext(ctx)
	if !p.Role.Allows(RoleAdmin) {
		return UserInfo{}, fmt.Errorf("%w: only an admin changes a user's applications", ErrForbidden)
	}
	apps, err := s.checkApplications(ctx, apps)
	if err != nil {
		return UserInfo{}, err
	}
	u, err := s.store.User(ctx, name)
	if err != nil {
		return UserInfo{}, err
	}
	if err := mayManage(p, u.Applications, "user "+name); err != nil {
		return UserInfo{}, err
	}
	if p.Scoped() && len(apps) == 0 {
		return UserInfo{}, fmt.Errorf("%w: you see only %s, so you cannot let %s see every application", ErrForbidden, strings.Join(p.Applications, ", "), name)
	}
	if apps, err = grantApplications(p, apps, "user "+name); err != nil {
		return UserInfo{}, err
	}
	before := userInfo(u)
	u.Applications, u.UpdatedAt = apps, s.now()
	if err := s.store.UpdateUser(ctx, u); err != nil {
		return UserInfo{}, err
	}
	after := userInfo(u)
	return after, s.Audit(ctx, "user.applications", "user:"+name, before, after)
}

func (s *Service) keepAnAdmin(ctx context.Context, leaving string) error {
	users, err := s.store.Users(ctx)
	if err != nil {
		return err
	}
	for _, o := range users {
		if o.Name != leaving && Role(o.Role) == RoleAdmin {
			return nil
		}
	}
	return fmt.Errorf("%w: %s is the last admin; make another user admin first", ErrInvalid, leaving)
}

// TokenInfo is a token as the API shows it: never the secret or its hash.
type TokenInfo struct {
	ID   string `json:"id"`
	Name string `json:"name"`
	Role Role   `json:"role"`
	User string `json:"user,omitempty"`
	// Application is set on an application's ingest key.
	Application string `json:"application,omitempty"`
	// Applications are the applications whose data the token sees, within
	// its user's; empty means every application its user sees (all of
	// them for a service token).
	Applications []string  `json:"applications"`
	CreatedAt    time.Time `json:"created_at"`
	ExpiresAt    time.Time `json:"expires_at,omitzero"`
	LastUsedAt   time.Time `json:"last_used_at,omitzero"`
}

func tokenInfo(t state.Token) TokenInfo {
	return TokenInfo{ID: t.ID, Name: t.Name, Role: Role(t.Role), User: t.User, Application: t.Application, Applications: listOrEmpty(t.Applications),
		CreatedAt: t.CreatedAt, ExpiresAt: t.ExpiresAt, LastUsedAt: t.LastUsedAt}
}

// Tokens lists the tokens: a user's own, and for an admin the others
// too (for a scoped admin, those that see only applications it sees).
func (s *Service) Tokens(ctx context.Context) ([]TokenInfo, error) {
	p := FromContext(ctx)
	toks, err := s.store.Tokens(ctx)
	if err != nil {
		return nil, err
	}
	out := []TokenInfo{}
	for _, t := range toks {
		if mayManageToken(p, t) {
			out = append(out, tokenInfo(t))
		}
	}
	return out, nil
}

// mayManageToken reports whether p sees and may revoke t: its user's own
// tokens, and as an admin the others within p's applications.
func mayManageToken(p Principal, t state.Token) bool {
	if p.User != "" && t.User == p.User {
		return true
	}
	return p.Role.Allows(RoleAdmin) && within(tokenScope(t), p.Applications)
}

// TokenRequest describes a token to issue.
type TokenRequest struct {
	Name string        `json:"name"`
	Role Role          `json:"role"`
	TTL  time.Duration `json:"-"`
	// Service issues a token that acts for no user (a collector, a CI
	// job); only admins issue them, and they outlive user deletion.
	Service bool `json:"service"`
	// Application makes the token an application's ingest key: an ingest
	// service token whose spans are tagged with the application's name.
	Application string `json:"application,omitempty"`
	// Applications scope the token to those applications' data; they must
	// be among the issuer's. None: what the issuer sees (every
	// application for an unscoped issuer; a user token then follows its
	// user).
	Applications []string `json:"applications,omitempty"`
}

// CreateToken issues an API token and returns its secret, shown once. A
// token acts for the calling user with at most the user's role and at
// most the user's applications; an admin may issue service tokens (no
// user, any role, including ingest).
func (s *Service) CreateToken(ctx context.Context, req TokenRequest) (TokenInfo, string, error) {
	p := FromContext(ctx)
	if !req.Service && p.User == "" && p.Role.Allows(RoleAdmin) {
		req.Service = true // an admin acting for no user (a service token, the local CLI) issues service tokens
	}
	name, role, ttl := req.Name, req.Role, req.TTL
	if req.Service && !p.Role.Allows(RoleAdmin) {
		return TokenInfo{}, "", fmt.Errorf("%w: only an admin issues service tokens", ErrForbidden)
	}
	if !ValidName(name) {
		return TokenInfo{}, "", fmt.Errorf("%w: token name %q: use 1-64 letters, digits, '.', '_', '-' or '@'", ErrInvalid, name)
	}
	if _, err := ParseRole(string(role)); err != nil {
		return TokenInfo{}, "", fmt.Errorf("%w: %v", ErrInvalid, err)
	}
	if !p.Role.Allows(RoleAdmin) && !p.Role.Allows(role) {
		return TokenInfo{}, "", fmt.Errorf("%w: a %s cannot issue a %s token", ErrForbidden, p.Role, role)
	}
	if ttl < 0 {
		return TokenInfo{}, "", fmt.Errorf("%w: a token's lifetime must be positive", ErrInvalid)
	}
	if req.Application != "" && (!req.Service || role != RoleIngest) {
		return TokenInfo{}, "", fmt.Errorf("%w: an application's key is an ingest service token", ErrInvalid)
	}
	apps, err := s.checkApplications(ctx, req.Applications)
	if err != nil {
		return TokenInfo{}, "", err
	}
	if req.Application != "" {
		// An application's key is scoped to that application.
		if len(apps) > 0 {
			return TokenInfo{}, "", fmt.Errorf("%w: an application's key sees its application only; give no other applications", ErrInvalid)
		}
		if !p.SeesApplication(req.Application) {
			return TokenInfo{}, "", fmt.Errorf("%w: you see only %s, not %s", ErrForbidden, strings.Join(p.Applications, ", "), req.Application)
		}
	} else if apps, err = grantApplications(p, apps, "a token"); err != nil {
		return TokenInfo{}, "", err
	}
	now := s.now()
	secret := NewSecret(TokenPrefix)
	t := state.Token{ID: "tok_" + NewSecret("")[:12], Name: name, Hash: HashSecret(secret), Role: string(role), Application: req.Application,
		Applications: apps, CreatedAt: now}
	if !req.Service {
		t.User = p.User
		if t.User == "" {
			return TokenInfo{}, "", fmt.Errorf("%w: a token that acts for no user cannot issue tokens", ErrForbidden)
		}
	}
	if ttl > 0 {
		t.ExpiresAt = now.Add(ttl)
	}
	if err := s.store.CreateToken(ctx, t); err != nil {
		return TokenInfo{}, "", err
	}
	info := tokenInfo(t)
	return info, secret, s.Audit(ctx, "token.create", "token:"+t.ID, nil, info)
}

// DeleteToken revokes a token: a user's own, and for an admin any other
// (for a scoped admin, one that sees only applications it sees).
func (s *Service) DeleteToken(ctx context.Context, id string) error {
	p := FromContext(ctx)
	toks, err := s.store.Tokens(ctx)
	if err != nil {
		return err
	}
	for _, t := range toks {
		if t.ID != id {
			continue
		}
		if !p.Role.Allows(RoleAdmin) && (p.User == "" || t.User != p.User) {
			return fmt.Errorf("%w: only an admin revokes another user's token", ErrForbidden)
		}
		if p.User == "" || t.User != p.User {
			if err := mayManage(p, tokenScope(t), "token "+id); err != nil {
				return err
			}
		}
		if err := s.store.DeleteToken(ctx, id); err != nil {
			return err
		}
		return s.Audit(ctx, "token.delete", "token:"+id, tokenInfo(t), nil)
	}
	return fmt.Errorf("token %s: %w", id, state.ErrNotFound)
}

// EnsureAdmin creates the user "admin" with a generated one-time password
// when there is no user at all, and returns that password ("" when users
// existed).
func (s *Service) EnsureAdmin(ctx context.Context) (string, error) {
	users, err := s.store.Users(ctx)
	if err != nil || len(users) > 0 {
		return "", err
	}
	_, password, err := s.CreateUser(WithPrincipal(ctx, System), "admin", RoleAdmin, "", nil)
	return password, err
}

// Audit records a state change by the context's principal. before and
// after are marshalled to JSON (nil stays empty).
func (s *Service) Audit(ctx context.Context, action, target string, before, after any) error {
	return Record(ctx, s.store, s.now(), action, target, before, after)
}

// Record appends an audit entry to store for the context's principal.
func Record(ctx context.Context, store state.AuthStore, at time.Time, action, target string, before, after any) error {
	e := state.AuditEntry{At: at, Actor: FromContext(ctx).Actor(), Action: action, Target: target}
	var err error
	if e.Before, err = marshalOrNil(before); err != nil {
		return err
	}
	if e.After, err = marshalOrNil(after); err != nil {
		return err
	}
	_, err = store.AddAudit(ctx, e)
	return err
}

func marshalOrNil(v any) ([]byte, error) {
	if v == nil {
		return nil, nil
	}
	b, err := json.Marshal(v)
	if err != nil {
		return nil, fmt.Errorf("audit: %w", err)
	}
	return b, nil
}
