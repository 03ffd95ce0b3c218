package api

import (
	"context"
	"net/http"
	"net/url"

	"github.com/tracehound/tracehound/auth"
	"github.com/tracehound/tracehound/state"
)

// ApplicationsBackend serves the applications: each instrumented
// application sends its spans with its own ingest key, and its spans are
// tagged with its name (resource attribute tracehound.application).
type ApplicationsBackend interface {
	Applications(ctx context.Context) (*ApplicationList, error)
	// CreateApplication registers an application and issues its first
	// ingest key; the key's secret is in the answer, once.
	CreateApplication(ctx context.Context, req ApplicationRequest) (*ApplicationCreated, error)
	// ApplicationKey issues another ingest key for an application.
	ApplicationKey(ctx context.Context, name string) (*TokenCreated, error)
	// DeleteApplication removes an application and revokes its keys.
	DeleteApplication(ctx context.Context, name string) error
}

// ApplicationRequest is the body of POST /api/v1/applications.
type ApplicationRequest struct {
	Name string `json:"name"`
	// Environment defaults to production.
	Environment string `json:"environment,omitempty"`
	Team        string `json:"team,omitempty"`
	Description string `json:"description,omitempty"`
}

// ApplicationInfo is an application with the ids of its ingest keys.
type ApplicationInfo struct {
	state.Application
	Keys []string `json:"keys"`
}

// ApplicationList answers GET /api/v1/applications.
type ApplicationList struct {
	Applications []ApplicationInfo `json:"applications"`
}

// ApplicationCreated answers POST /api/v1/applications.
type ApplicationCreated struct {
	Application state.Application `json:"application"`
	Key         auth.TokenInfo    `json:"key"`
	Secret      string            `json:"secret"`
}

func (s *Server) routeApplications(b ApplicationsBackend) {
	s.handle("GET /api/v1/applications", auth.RoleViewer, func(w http.ResponseWriter, r *http.Request) {
		res, err := b.Applications(r.Context())
		reply(w, s.log, res, err)
	})
	s.handle("POST /api/v1/applications", auth.RoleAdmin, func(w http.ResponseWriter, r *http.Request) {
		var req ApplicationRequest
		if err := decodeJSON(w, r, &req); err != nil {
			writeError(w, s.log, err)
			return
		}
		res, err := b.CreateApplication(r.Context(), req)
		reply(w, s.log, res, err)
	})
	s.handle("POST /api/v1/applications/{name}/keys", auth.RoleAdmin, func(w http.ResponseWriter, r *http.Request) {
		res, err := b.ApplicationKey(r.Context(), r.PathValue("name"))
		reply(w, s.log, res, err)
	})
	s.handle("DELETE /api/v1/applications/{name}", auth.RoleAdmin, func(w http.ResponseWriter, r *http.Request) {
		reply(w, s.log, nil, b.DeleteApplication(r.Context(), r.PathValue("name")))
	})
}

// Applications implements ApplicationsBackend.
func (c *Client) Applications(ctx context.Context) (*ApplicationList, error) {
	var res ApplicationList
	return &res, c.do(ctx, http.MethodGet, "/api/v1/applications", nil, &res)
}

// CreateApplication implements ApplicationsBackend.
func (c *Client) CreateApplication(ctx context.Context, req ApplicationRequest) (*ApplicationCreated, error) {
	var res ApplicationCreated
	return &res, c.do(ctx, http.MethodPost, "/api/v1/applications", req, &res)
}

// ApplicationKey implements ApplicationsBackend.
func (c *Client) ApplicationKey(ctx context.Context, name string) (*TokenCreated, error) {
	var res TokenCreated
	return &res, c.do(ctx, http.MethodPost, "/api/v1/applications/"+url.PathEscape(name)+"/keys", nil, &res)
}

// DeleteApplication implements ApplicationsBackend.
func (c *Client) DeleteApplication(ctx context.Context, name string) error {
	return c.do(ctx, http.MethodDelete, "/api/v1/applications/"+url.PathEscape(name), nil, nil)
}
