package app

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/tracehound/tracehound/api"
	"github.com/tracehound/tracehound/auth"
	"github.com/tracehound/tracehound/state"
)

// applications returns the state's application store.
func (a *App) applications() (state.ApplicationStore, error) {
	s, ok := a.state.(state.ApplicationStore)
	if !ok {
		return nil, fmt.Errorf("%w: this state store keeps no applications", api.ErrBadRequest)
	}
	return s, nil
}

// Applications implements api.ApplicationsBackend.
func (a *App) Applications(ctx context.Context) (*api.ApplicationList, error) {
	s, err := a.applications()
	if err != nil {
		return nil, err
	}
	apps, err := s.Applications(ctx)
	if err != nil {
		return nil, err
	}
	toks, err := a.state.Tokens(ctx)
	if err != nil {
		return nil, err
	}
	keys := map[string][]string{}
	for _, t := range toks {
		if t.Application != "" {
			keys[t.Application] = append(keys[t.Application], t.ID)
		}
	}
	out := &api.ApplicationList{Applications: []api.ApplicationInfo{}}
	p := auth.FromContext(ctx)
	for _, app := range apps {
		if p.Scoped() && !p.SeesApplication(app.Name) {
			continue
		}
		out.Applications = append(out.Applications, api.ApplicationInfo{Application: app, Keys: append([]string{}, keys[app.Name]...)})
	}
	return out, nil
}

// CreateApplication implements api.ApplicationsBackend: the application
// and its first ingest key, whose secret is in the answer once.
func (a *App) CreateApplication(ctx context.Context, req api.ApplicationRequest) (*api.ApplicationCreated, error) {
	if !auth.FromContext(ctx).Role.Allows(auth.RoleAdmin) {
		return nil, fmt.Errorf("%w: only an admin registers applications", auth.ErrForbidden)
	}
	if p := auth.FromContext(ctx); p.Scoped() {
		return nil, fmt.Errorf("%w: an admin scoped to applications (%s) cannot register new ones; ask an admin who sees every application", auth.ErrForbidden, strings.Join(p.Applications, ", "))
	}
	s, err := a.applications()
	if err != nil {
		return nil, err
	}
	if !auth.ValidName(req.Name) {
		return nil, fmt.Errorf("%w: application name %q: use 1-64 letters, digits, '.', '_', '-' or '@'", api.ErrBadRequest, req.Name)
	}
	if req.Environment == "" {
		req.Environment = "production"
	}
	for _, f := range []struct{ name, v string }{{"environment", req.Environment}, {"team", req.Team}, {"description", req.Description}} {
		if len(f.v) > 200 || strings.ContainsAny(f.v, "\r\n\x00") {
			return nil, fmt.Errorf("%w: %s: at most 200 characters on one line", api.ErrBadRequest, f.name)
		}
	}
	app := state.Application{Name: req.Name, Environment: req.Environment, Team: req.Team, Description: req.Description,
		CreatedAt: a.now().UTC(), CreatedBy: auth.FromContext(ctx).Actor()}
	if err := s.CreateApplication(ctx, app); err != nil {
		if errors.Is(err, state.ErrExists) {
			return nil, fmt.Errorf("%w: application %q exists; issue another key with 'tracehound apps key %s'", api.ErrBadRequest, req.Name, req.Name)
		}
		return nil, err
	}
	if err := a.audit(ctx, "application.create", "application:"+app.Name, nil, app); err != nil {
		return nil, err
	}
	key, err := a.ApplicationKey(ctx, app.Name)
	if err != nil {
		return nil, err
	}
	return &api.ApplicationCreated{Application: app, Key: key.Token, Secret: key.Secret}, nil
}

// ApplicationKey implements api.ApplicationsBackend: a new ingest key for
// the application (to rotate one: issue a new key, deploy it, revoke the
// old one with 'tracehound tokens revoke').
func (a *App) ApplicationKey(ctx context.Context, name string) (*api.TokenCreated, error) {
	s, err := a.applications()
	if err != nil {
		return nil, err
	}
	if _, err := s.Application(ctx, name); err != nil {
		return nil, err
	}
	if err := ownApplication(ctx, name); err != nil {
		return nil, err
	}
	info, secret, err := a.auth.CreateToken(ctx, auth.TokenRequest{Name: name + "-ingest", Role: auth.RoleIngest, Service: true, Application: name})
	if err != nil {
		return nil, err
	}
	return &api.TokenCreated{Token: info, Secret: secret}, nil
}

// DeleteApplication implements api.ApplicationsBackend: the application
// goes, with its ingest keys; its spans stay, tagged.
func (a *App) DeleteApplication(ctx context.Context, name string) error {
	if !auth.FromContext(ctx).Role.Allows(auth.RoleAdmin) {
		return fmt.Errorf("%w: only an admin removes applications", auth.ErrForbidden)
	}
	s, err := a.applications()
	if err != nil {
		return err
	}
	before, err := s.Application(ctx, name)
	if err != nil {
		return err
	}
	if err := ownApplication(ctx, name); err != nil {
		return err
	}
	if err := s.DeleteApplication(ctx, name); err != nil {
		return err
	}
	return a.audit(ctx, "application.delete", "application:"+name, before, nil)
}

// ownApplication refuses a principal scoped to other applications.
func ownApplication(ctx context.Context, name string) error {
	if p := auth.FromContext(ctx); p.Scoped() && !p.SeesApplication(name) {
		return fmt.Errorf("%w: application %q is not among yours (%s)", auth.ErrForbidden, name, strings.Join(p.Applications, ", "))
	}
	return nil
}
