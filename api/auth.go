package api

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"github.com/tracehound/tracehound/auth"
	"github.com/tracehound/tracehound/config"
)

// AuthBackend manages users, API tokens and reads the audit log. The
// principal acting is the one in the context (auth.FromContext).
type AuthBackend interface {
	Users(ctx context.Context) (*UserList, error)
	// CreateUser adds a user; an empty password generates a one-time one,
	// returned in the answer.
	CreateUser(ctx context.Context, req UserRequest) (*UserCreated, error)
	SetUserRole(ctx context.Context, name string, role auth.Role) (*auth.UserInfo, error)
	// SetUserApplications scopes a user to the named applications' data;
	// none means every application.
	SetUserApplications(ctx context.Context, name string, apps []string) (*auth.UserInfo, error)
	SetUserPassword(ctx context.Context, name, password string) error
	DeleteUser(ctx context.Context, name string) error
	Tokens(ctx context.Context) (*TokenList, error)
	// CreateToken issues a token; its secret is in the answer, once.
	CreateToken(ctx context.Context, req TokenRequest) (*TokenCreated, error)
	DeleteToken(ctx context.Context, id string) error
	Audit(ctx context.Context, q AuditQuery) (*AuditList, error)
}

// UserRequest is the body of POST /api/v1/users.
type UserRequest struct {
	Name     string    `json:"name"`
	Role     auth.Role `json:"role"`
	Password string    `json:"password,omitempty"`
	// Applications scope the user to those applications' data; none
	// means every application.
	Applications []string `json:"applications,omitempty"`
}

// UserApplications is the body of PUT /api/v1/users/{name}/applications:
// the applications whose data the user sees; empty means every one.
type UserApplications struct {
	Applications []string `json:"applications"`
}

// UserCreated answers POST /api/v1/users.
type UserCreated struct {
	User auth.UserInfo `json:"user"`
	// Password is set when it was generated: a one-time password to hand
	// to the user, who must change it.
	Password string `json:"password,omitempty"`
}

// UserList answers GET /api/v1/users.
type UserList struct {
	Users []auth.UserInfo `json:"users"`
}

// TokenRequest is the body of POST /api/v1/tokens.
type TokenRequest struct {
	Name string    `json:"name"`
	Role auth.Role `json:"role"`
	// ExpiresIn is a duration such as 30d; empty means never.
	ExpiresIn string `json:"expires_in,omitempty"`
	// Service issues a token that acts for no user (admins only).
	Service bool `json:"service,omitempty"`
	// Applications scope the token to those applications' data, within
	// what its issuer sees; none means all the issuer sees.
	Applications []string `json:"applications,omitempty"`
}

// TokenCreated answers POST /api/v1/tokens. Secret is shown only here.
type TokenCreated struct {
	Token  auth.TokenInfo `json:"token"`
	Secret string         `json:"secret"`
}

// TokenList answers GET /api/v1/tokens.
type TokenList struct {
	Tokens []auth.TokenInfo `json:"tokens"`
}

// AuditQuery filters the audit log.
type AuditQuery struct {
	Actor    string
	Action   string // exact, or a prefix ending in "."
	Target   string
	Window   time.Duration
	BeforeID int64
	Limit    int
}

// AuditEntry is one audit log entry.
type AuditEntry struct {
	ID     int64           `json:"id"`
	At     time.Time       `json:"at"`
	Actor  string          `json:"actor"`
	Action string          `json:"action"`
	Target string          `json:"target"`
	Before json.RawMessage `json:"before,omitempty"`
	After  json.RawMessage `json:"after,omitempty"`
}

// AuditList answers GET /api/v1/audit, newest first.
type AuditList struct {
	Entries []AuditEntry `json:"entries"`
}

// LoginRequest is the body of POST /api/v1/login.
type LoginRequest struct {
	User     string `json:"user"`
	Password string `json:"password"`
}

// Me answers GET /api/v1/me and POST /api/v1/login: who the request acts
// as, and for a browser session the CSRF token unsafe requests must echo.
type Me struct {
	Kind string    `json:"kind"`
	Name string    `json:"name"`
	Role auth.Role `json:"role"`
	User string    `json:"user,omitempty"`
	// Applications are the applications whose data the principal sees;
	// absent means every application.
	Applications       []string  `json:"applications,omitempty"`
	CSRFToken          string    `json:"csrf_token,omitempty"`
	ExpiresAt          time.Time `json:"expires_at,omitzero"`
	MustChangePassword bool      `json:"must_change_password,omitempty"`
	AuthEnabled        bool      `json:"auth_enabled"`
}

func (s *Server) routeAuth() {
	s.handle("POST /api/v1/login", auth.RoleNone, s.login)
	s.handle("POST /api/v1/logout", auth.RoleNone, s.logout)
	s.handle("GET /api/v1/me", auth.RoleViewer, s.me)
}

func (s *Server) login(w http.ResponseWriter, r *http.Request) {
	if s.auth == nil {
		writeError(w, s.log, fmt.Errorf("%w: authentication is disabled on this server", ErrBadRequest))
		return
	}
	var req LoginRequest
	if err := decodeJSON(w, r, &req); err != nil {
		writeError(w, s.log, err)
		return
	}
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		host = r.RemoteAddr
	}
	se, err := s.auth.Login(r.Context(), req.User, req.Password, host)
	if err != nil {
		writeError(w, s.log, err)
		return
	}
	http.SetCookie(w, &http.Cookie{
		Name: auth.SessionCookie, Value: se.Secret, Path: "/", Expires: se.ExpiresAt,
		HttpOnly: true, SameSite: http.SameSiteStrictMode, Secure: s.secureCookies || r.TLS != nil,
	})
	writeJSON(w, http.StatusOK, Me{Kind: se.Principal.Kind, Name: se.Principal.Name, Role: se.Principal.Role, User: se.Principal.User,
		Applications: se.Principal.Applications, CSRFToken: se.CSRF, ExpiresAt: se.ExpiresAt, MustChangePassword: se.MustChangePassword, AuthEnabled: true})
}

func (s *Server) logout(w http.ResponseWriter, r *http.Request) {
	if c, err := r.Cookie(auth.SessionCookie); err == nil && s.auth != nil {
		p, err := s.auth.Authenticate(r)
		if err == nil {
			if err := auth.CheckCSRF(p, r); err != nil {
				writeError(w, s.log, err)
				return
			}
		}
		if err := s.auth.Logout(r.Context(), c.Value); err != nil {
			writeError(w, s.log, err)
			return
		}
	}
	http.SetCookie(w, &http.Cookie{Name: auth.SessionCookie, Value: "", Path: "/", MaxAge: -1, HttpOnly: true, SameSite: http.SameSiteStrictMode})
	w.WriteHeader(http.StatusNoContent)
}

func (s *Server) me(w http.ResponseWriter, r *http.Request) {
	p := auth.FromContext(r.Context())
	writeJSON(w, http.StatusOK, Me{Kind: p.Kind, Name: p.Name, Role: p.Role, User: p.User, Applications: p.Applications, CSRFToken: p.CSRF,
		AuthEnabled: s.auth != nil})
}

func (s *Server) routeUsers(b AuthBackend) {
	h := &userHandlers{b: b, s: s}
	s.handle("GET /api/v1/users", auth.RoleAdmin, h.users)
	s.handle("POST /api/v1/users", auth.RoleAdmin, h.createUser)
	s.handle("PUT /api/v1/users/{name}/role", auth.RoleAdmin, h.setRole)
	s.handle("PUT /api/v1/users/{name}/applications", auth.RoleAdmin, h.setApplications)
	// Users change their own password; the backend refuses others'
	// unless the caller is an admin.
	s.handle("PUT /api/v1/users/{name}/password", auth.RoleViewer, h.setPassword)
	s.handle("DELETE /api/v1/users/{name}", auth.RoleAdmin, h.deleteUser)
	s.handle("GET /api/v1/tokens", auth.RoleViewer, h.tokens)
	s.handle("POST /api/v1/tokens", auth.RoleViewer, h.createToken)
	s.handle("DELETE /api/v1/tokens/{id}", auth.RoleViewer, h.deleteToken)
	s.handle("GET /api/v1/audit", auth.RoleAdmin, h.audit)
}

type userHandlers struct {
	b AuthBackend
	s *Server
}

func (h *userHandlers) users(w http.ResponseWriter, r *http.Request) {
	res, err := h.b.Users(r.Context())
	reply(w, h.s.log, res, err)
}

func (h *userHandlers) createUser(w http.ResponseWriter, r *http.Request) {
	var req UserRequest
	if err := decodeJSON(w, r, &req); err != nil {
		writeError(w, h.s.log, err)
		return
	}
	res, err := h.b.CreateUser(r.Context(), req)
	reply(w, h.s.log, res, err)
}

func (h *userHandlers) setRole(w http.ResponseWriter, r *http.Request) {
	var req struct {
		Role auth.Role `json:"role"`
	}
	if err := decodeJSON(w, r, &req); err != nil {
		writeError(w, h.s.log, err)
		return
	}
	res, err := h.b.SetUserRole(r.Context(), r.PathValue("name"), req.Role)
	reply(w, h.s.log, res, err)
}

func (h *userHandlers) setApplications(w http.ResponseWriter, r *http.Request) {
	var req UserApplications
	if err := decodeJSON(w, r, &req); err != nil {
		writeError(w, h.s.log, err)
		return
	}
	res, err := h.b.SetUserApplications(r.Context(), r.PathValue("name"), req.Applications)
	reply(w, h.s.log, res, err)
}

func (h *userHandlers) setPassword(w http.ResponseWriter, r *http.Request) {
	var req struct {
		Password string `json:"password"`
	}
	if err := decodeJSON(w, r, &req); err != nil {
		writeError(w, h.s.log, err)
		return
	}
	reply(w, h.s.log, nil, h.b.SetUserPassword(r.Context(), r.PathValue("name"), req.Password))
}

func (h *userHandlers) deleteUser(w http.ResponseWriter, r *http.Request) {
	reply(w, h.s.log, nil, h.b.DeleteUser(r.Context(), r.PathValue("name")))
}

func (h *userHandlers) tokens(w http.ResponseWriter, r *http.Request) {
	res, err := h.b.Tokens(r.Context())
	reply(w, h.s.log, res, err)
}

func (h *userHandlers) createToken(w http.ResponseWriter, r *http.Request) {
	var req TokenRequest
	if err := decodeJSON(w, r, &req); err != nil {
		writeError(w, h.s.log, err)
		return
	}
	res, err := h.b.CreateToken(r.Context(), req)
	reply(w, h.s.log, res, err)
}

func (h *userHandlers) deleteToken(w http.ResponseWriter, r *http.Request) {
	reply(w, h.s.log, nil, h.b.DeleteToken(r.Context(), r.PathValue("id")))
}

func (h *userHandlers) audit(w http.ResponseWriter, r *http.Request) {
	v := r.URL.Query()
	q := AuditQuery{Actor: v.Get("actor"), Action: v.Get("action"), Target: v.Get("target")}
	if s := v.Get("since"); s != "" {
		d, err := config.ParseDuration(s)
		if err != nil || d <= 0 {
			writeError(w, h.s.log, fmt.Errorf("%w: since=%q: want a positive duration such as 24h or 7d", ErrBadRequest, s))
			return
		}
		q.Window = d
	}
	for name, dst := range map[string]*int64{"before_id": &q.BeforeID} {
		if s := v.Get(name); s != "" {
			n, err := strconv.ParseInt(s, 10, 64)
			if err != nil || n <= 0 {
				writeError(w, h.s.log, fmt.Errorf("%w: %s=%q: want a positive number", ErrBadRequest, name, s))
				return
			}
			*dst = n
		}
	}
	if s := v.Get("limit"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n <= 0 || n > 1000 {
			writeError(w, h.s.log, fmt.Errorf("%w: limit=%q: want 1 to 1000", ErrBadRequest, s))
			return
		}
		q.Limit = n
	}
	res, err := h.b.Audit(r.Context(), q)
	reply(w, h.s.log, res, err)
}

var _ AuthBackend = (*Client)(nil)

// Users implements AuthBackend.
func (c *Client) Users(ctx context.Context) (*UserList, error) {
	var res UserList
	return &res, c.do(ctx, http.MethodGet, "/api/v1/users", nil, &res)
}

// CreateUser implements AuthBackend.
func (c *Client) CreateUser(ctx context.Context, req UserRequest) (*UserCreated, error) {
	var res UserCreated
	return &res, c.do(ctx, http.MethodPost, "/api/v1/users", req, &res)
}

// SetUserRole implements AuthBackend.
func (c *Client) SetUserRole(ctx context.Context, name string, role auth.Role) (*auth.UserInfo, error) {
	var res auth.UserInfo
	return &res, c.do(ctx, http.MethodPut, "/api/v1/users/"+url.PathEscape(name)+"/role", map[string]auth.Role{"role": role}, &res)
}

// SetUserApplications implements AuthBackend.
func (c *Client) SetUserApplications(ctx context.Context, name string, apps []string) (*auth.UserInfo, error) {
	var res auth.UserInfo
	if apps == nil {
		apps = []string{}
	}
	return &res, c.do(ctx, http.MethodPut, "/api/v1/users/"+url.PathEscape(name)+"/applications", UserApplications{Applications: apps}, &res)
}

// SetUserPassword implements AuthBackend.
func (c *Client) SetUserPassword(ctx context.Context, name, password string) error {
	return c.do(ctx, http.MethodPut, "/api/v1/users/"+url.PathEscape(name)+"/password", map[string]string{"password": password}, nil)
}

// DeleteUser implements AuthBackend.
func (c *Client) DeleteUser(ctx context.Context, name string) error {
	return c.do(ctx, http.MethodDelete, "/api/v1/users/"+url.PathEscape(name), nil, nil)
}

// Tokens implements AuthBackend.
func (c *Client) Tokens(ctx context.Context) (*TokenList, error) {
	var res TokenList
	return &res, c.do(ctx, http.MethodGet, "/api/v1/tokens", nil, &res)
}

// CreateToken implements AuthBackend.
func (c *Client) CreateToken(ctx context.Context, req TokenRequest) (*TokenCreated, error) {
	var res TokenCreated
	return &res, c.do(ctx, http.MethodPost, "/api/v1/tokens", req, &res)
}

// DeleteToken implements AuthBackend.
func (c *Client) DeleteToken(ctx context.Context, id string) error {
	return c.do(ctx, http.MethodDelete, "/api/v1/tokens/"+url.PathEscape(id), nil, nil)
}

// Audit implements AuthBackend.
func (c *Client) Audit(ctx context.Context, q AuditQuery) (*AuditList, error) {
	v := url.Values{}
	for k, s := range map[string]string{"actor": q.Actor, "action": q.Action, "target": q.Target} {
		if s != "" {
			v.Set(k, s)
		}
	}
	if q.Window > 0 {
		v.Set("since", windowParam(q.Window))
	}
	if q.BeforeID > 0 {
		v.Set("before_id", strconv.FormatInt(q.BeforeID, 10))
	}
	if q.Limit > 0 {
		v.Set("limit", strconv.Itoa(q.Limit))
	}
	path := "/api/v1/audit"
	if len(v) > 0 {
		path += "?" + v.Encode()
	}
	var res AuditList
	return &res, c.do(ctx, http.MethodGet, path, nil, &res)
}
