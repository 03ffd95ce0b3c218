package app

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/tracehound/tracehound/api"
	"github.com/tracehound/tracehound/auth"
	"github.com/tracehound/tracehound/config"
	"github.com/tracehound/tracehound/state"
)

// CLITokenFile, in the data directory, holds an admin token for the CLI on
// the same machine: commands given --server read it when no --token is
// set, as cscli reads CrowdSec's local API credentials. It is readable by
// the data directory's owner only.
const CLITokenFile = "cli-token"

// cliTokenName names the token behind CLITokenFile.
const cliTokenName = "local-cli"

// isLoopback reports whether a listen address accepts only local
// connections; an empty address (a disabled listener) counts as local.
func isLoopback(addr string) bool {
	if addr == "" {
		return true
	}
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		host = addr
	}
	if host == "localhost" {
		return true
	}
	ip, err := netip.ParseAddr(strings.Trim(host, "[]"))
	return err == nil && ip.IsLoopback()
}

// ingestTokenRequired applies ingest.require_token.
func ingestTokenRequired(c config.Config) bool {
	switch c.Ingest.RequireToken {
	case "true":
		return true
	case "false":
		return false
	}
	return !isLoopback(c.OTLPHTTP) || !isLoopback(c.OTLPGRPC) || (!isLoopback(c.Listen))
}

// authorizeIngest admits an OTLP export and names the application whose
// ingest key sent it. With ingest.require_token an ingest (or admin) token
// is required; without, an export may come without one, but a token it
// does carry must be valid, so that an application's key always tags its
// spans.
func (a *App) authorizeIngest(ctx context.Context, token string) (string, error) {
	if token == "" {
		if a.ingestAuth {
			return "", errors.New("this tracehound requires an ingest token: send \"Authorization: Bearer th_…\" (an admin creates one with: tracehound apps create NAME, or tracehound tokens create --service --role ingest NAME)")
		}
		return "", nil
	}
	p, err := a.auth.TokenPrincipal(ctx, token)
	if err != nil {
		return "", err
	}
	if !p.Role.Allows(auth.RoleIngest) {
		return "", fmt.Errorf("token %s has the %s role; exports need an ingest token", p.TokenID, p.Role)
	}
	return p.Application, nil
}

// bootstrapAuth runs when a server starts: on the first run it creates
// the admin user with a one-time password (FirstRunPassword), and it keeps
// a working admin token for the local CLI in the data directory.
func (a *App) bootstrapAuth(ctx context.Context) error {
	pw, err := a.auth.EnsureAdmin(ctx)
	if err != nil {
		return fmt.Errorf("create the first admin: %w", err)
	}
	a.firstRunPassword = pw
	path := filepath.Join(a.cfg.Data, CLITokenFile)
	if b, err := os.ReadFile(path); err == nil {
		if _, err := a.auth.TokenPrincipal(ctx, strings.TrimSpace(string(b))); err == nil {
			return nil
		}
	}
	sys := auth.WithPrincipal(ctx, auth.System)
	toks, err := a.auth.Tokens(sys)
	if err != nil {
		return err
	}
	for _, t := range toks {
		if t.Name == cliTokenName && t.User == "" {
			if err := a.auth.DeleteToken(sys, t.ID); err != nil {
				return err
			}
		}
	}
	_, secret, err := a.auth.CreateToken(sys, auth.TokenRequest{Name: cliTokenName, Role: auth.RoleAdmin, Service: true})
	if err != nil {
		return err
	}
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, []byte(secret+"\n"), 0o600); err != nil {
		return fmt.Errorf("write the CLI token: %w", err)
	}
	return os.Rename(tmp, path)
}

// FirstRunPassword is the generated password of the admin user when this
// server created it (the first run), "" otherwise. Show it once.
func (a *App) FirstRunPassword() string { return a.firstRunPassword }

// ingestToken returns a short-lived ingest token for the App's own
// exporters (demo seeding, live traffic) when exports need one.
func (a *App) ingestToken(ctx context.Context) (map[string]string, error) {
	if !a.ingestAuth {
		return nil, nil
	}
	_, secret, err := a.auth.CreateToken(auth.WithPrincipal(ctx, auth.System),
		auth.TokenRequest{Name: "demo-ingest", Role: auth.RoleIngest, Service: true, TTL: 7 * 24 * time.Hour})
	if err != nil {
		return nil, err
	}
	return map[string]string{"Authorization": "Bearer " + secret}, nil
}

var _ api.AuthBackend = (*App)(nil)

// Users implements api.AuthBackend.
func (a *App) Users(ctx context.Context) (*api.UserList, error) {
	users, err := a.auth.Users(ctx)
	if err != nil {
		return nil, err
	}
	return &api.UserList{Users: users}, nil
}

// CreateUser implements api.AuthBackend.
func (a *App) CreateUser(ctx context.Context, req api.UserRequest) (*api.UserCreated, error) {
	role, err := auth.ParseRole(string(req.Role))
	if err != nil {
		return nil, fmt.Errorf("%w: %v", auth.ErrInvalid, err)
	}
	u, pw, err := a.auth.CreateUser(ctx, req.Name, role, req.Password, req.Applications)
	if err != nil {
		return nil, err
	}
	return &api.UserCreated{User: u, Password: pw}, nil
}

// SetUserRole implements api.AuthBackend.
func (a *App) SetUserRole(ctx context.Context, name string, role auth.Role) (*auth.UserInfo, error) {
	r, err := auth.ParseRole(string(role))
	if err != nil {
		return nil, fmt.Errorf("%w: %v", auth.ErrInvalid, err)
	}
	u, err := a.auth.SetRole(ctx, name, r)
	if err != nil {
		return nil, err
	}
	return &u, nil
}

// SetUserApplications implements api.AuthBackend.
func (a *App) SetUserApplications(ctx context.Context, name string, apps []string) (*auth.UserInfo, error) {
	u, err := a.auth.SetApplications(ctx, name, apps)
	if err != nil {
		return nil, err
	}
	return &u, nil
}

// SetUserPassword implements api.AuthBackend.
func (a *App) SetUserPassword(ctx context.Context, name, password string) error {
	return a.auth.SetPassword(ctx, name, password)
}

// DeleteUser implements api.AuthBackend.
func (a *App) DeleteUser(ctx context.Context, name string) error {
	return a.auth.DeleteUser(ctx, name)
}

// Tokens implements api.AuthBackend.
func (a *App) Tokens(ctx context.Context) (*api.TokenList, error) {
	toks, err := a.auth.Tokens(ctx)
	if err != nil {
		return nil, err
	}
	return &api.TokenList{Tokens: toks}, nil
}

// CreateToken implements api.AuthBackend.
func (a *App) CreateToken(ctx context.Context, req api.TokenRequest) (*api.TokenCreated, error) {
	role, err := auth.ParseRole(string(req.Role))
	if err != nil {
		return nil, fmt.Errorf("%w: %v", auth.ErrInvalid, err)
	}
	var ttl time.Duration
	if req.ExpiresIn != "" {
		if ttl, err = config.ParseDuration(req.ExpiresIn); err != nil || ttl <= 0 {
			return nil, fmt.Errorf("%w: expires_in %q: want a positive duration such as 30d", auth.ErrInvalid, req.ExpiresIn)
		}
	}
	info, secret, err := a.auth.CreateToken(ctx, auth.TokenRequest{Name: req.Name, Role: role, TTL: ttl, Service: req.Service, Applications: req.Applications})
	if err != nil {
		return nil, err
	}
	return &api.TokenCreated{Token: info, Secret: secret}, nil
}

// DeleteToken implements api.AuthBackend.
func (a *App) DeleteToken(ctx context.Context, id string) error {
	return a.auth.DeleteToken(ctx, id)
}

// Audit implements api.AuthBackend.
func (a *App) Audit(ctx context.Context, q api.AuditQuery) (*api.AuditList, error) {
	f := state.AuditFilter{Actor: q.Actor, Action: q.Action, Target: q.Target, BeforeID: q.BeforeID, Limit: q.Limit}
	if q.Window > 0 {
		f.Since = a.now().Add(-q.Window)
	}
	entries, err := a.state.Audit(ctx, f)
	if err != nil {
		return nil, err
	}
	out := &api.AuditList{Entries: make([]api.AuditEntry, len(entries))}
	for i, e := range entries {
		out.Entries[i] = api.AuditEntry{ID: e.ID, At: e.At, Actor: e.Actor, Action: e.Action, Target: e.Target, Before: e.Before, After: e.After}
	}
	return out, nil
}

// audit records a state change by the context's principal; a failure to
// audit fails the change's request, so no change goes unrecorded.
func (a *App) audit(ctx context.Context, action, target string, before, after any) error {
	return a.auth.Audit(ctx, action, target, before, after)
}
