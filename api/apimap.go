package api

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/getkin/kin-openapi/openapi3"
	"gopkg.in/yaml.v3"

	"github.com/tracehound/tracehound/apimap"
	"github.com/tracehound/tracehound/auth"
	"github.com/tracehound/tracehound/config"
)

// MapBackend serves the API map: the endpoint inventory, its snapshots and
// review queue, and the registered OpenAPI specs. The server routes
// /api/v1/map and /api/v1/specs when its Backend implements it; the CLI
// uses it through the local App or through Client.
type MapBackend interface {
	// Map builds the inventory of the query's window.
	Map(ctx context.Context, q MapQuery) (*MapResult, error)
	// MapTopology arranges the query's endpoints for the circle pack.
	MapTopology(ctx context.Context, q MapQuery) (*apimap.TopologyNode, error)
	// ObservedOpenAPI writes the observed API of q.Service as OpenAPI 3.
	// An empty service names the only service with traffic, and is a bad
	// request when there are several.
	ObservedOpenAPI(ctx context.Context, q MapQuery) (*openapi3.T, error)
	// TakeSnapshot snapshots the inventory of the window (zero: the
	// configured one) now, raising events for new shadow and sensitive
	// endpoints.
	TakeSnapshot(ctx context.Context, window time.Duration) (*SnapshotResult, error)
	// Snapshots lists the snapshots, newest first.
	Snapshots(ctx context.Context) (*SnapshotList, error)
	// EndpointReview returns an endpoint's review state and history. An
	// endpoint that is not on the map is not found.
	EndpointReview(ctx context.Context, id string) (*ReviewResult, error)
	// SetEndpointReview records a review decision on an endpoint of the map.
	SetEndpointReview(ctx context.Context, id string, r ReviewRequest) (*ReviewResult, error)
	// Specs lists the registered specs.
	Specs(ctx context.Context) (*SpecList, error)
	// RegisterSpec checks an OpenAPI document and registers it for a
	// service, replacing the service's previous one. An empty service
	// names the only service with traffic.
	RegisterSpec(ctx context.Context, u SpecUpload) (*SpecInfo, error)
}

// MapQuery selects part of the API map.
type MapQuery struct {
	// Service keeps one service; empty keeps all.
	Service string
	// Window is how much traffic to cover; zero means the server's
	// apimap.window.
	Window time.Duration
	// Only keeps a subset: shadow, zombie, new or sensitive.
	Only apimap.Only
}

// MapResult is the answer of GET /api/v1/map.
type MapResult struct {
	Service string      `json:"service,omitempty"`
	Only    apimap.Only `json:"only,omitempty"`
	Since   time.Time   `json:"since"`
	Until   time.Time   `json:"until"`
	// Specs are the services with a registered spec.
	Specs []string `json:"specs"`
	// Unrouted counts the requests left out because no route served them.
	Unrouted  apimap.Unrouted   `json:"unrouted"`
	ElapsedMS float64           `json:"elapsed_ms"`
	Endpoints []apimap.Endpoint `json:"endpoints"`
}

// SnapshotInfo describes one inventory snapshot.
type SnapshotInfo struct {
	ID            int64     `json:"id"`
	TakenAt       time.Time `json:"taken_at"`
	WindowSeconds int64     `json:"window_seconds"`
	Endpoints     int       `json:"endpoints"`
	// NewEndpoints had traffic that no earlier snapshot had seen.
	NewEndpoints int `json:"new_endpoints"`
}

// SnapshotList is the answer of GET /api/v1/map/snapshots.
type SnapshotList struct {
	Snapshots []SnapshotInfo `json:"snapshots"`
}

// SnapshotResult is the answer of POST /api/v1/map/snapshots.
type SnapshotResult struct {
	Snapshot SnapshotInfo `json:"snapshot"`
	// New are the endpoints no earlier snapshot had seen.
	New []EndpointRef `json:"new"`
	// Events are the events the snapshot raised.
	Events []EventRef `json:"events"`
}

// EndpointRef names an endpoint.
type EndpointRef struct {
	ID       string `json:"id"`
	Service  string `json:"service"`
	Method   string `json:"method"`
	Template string `json:"template"`
}

// EventRef names an event raised for an endpoint.
type EventRef struct {
	Kind       string `json:"kind"`
	EndpointID string `json:"endpoint_id"`
}

// ReviewRequest is the body of PUT /api/v1/map/endpoints/{id}/review.
type ReviewRequest struct {
	// Status is approved, flagged or unreviewed.
	Status   string `json:"status"`
	Note     string `json:"note,omitempty"`
	Reviewer string `json:"reviewer,omitempty"`
}

// ReviewResult is an endpoint's review state and its history, oldest
// first.
type ReviewResult struct {
	EndpointID string          `json:"endpoint_id"`
	Review     apimap.Review   `json:"review"`
	History    []apimap.Review `json:"history"`
}

// SpecInfo describes a registered OpenAPI spec.
type SpecInfo struct {
	Service      string    `json:"service"`
	Name         string    `json:"name"`
	Title        string    `json:"title"`
	Version      string    `json:"version"`
	Operations   int       `json:"operations"`
	Bytes        int       `json:"bytes"`
	RegisteredAt time.Time `json:"registered_at"`
}

// SpecList is the answer of GET /api/v1/specs.
type SpecList struct {
	Specs []SpecInfo `json:"specs"`
}

// SpecUpload is an OpenAPI document to register (POST /api/v1/specs, whose
// body is the document and whose query has service and name).
type SpecUpload struct {
	Service string
	Name    string
	Raw     []byte
}

// routeMap adds the API map's routes.
func (s *Server) routeMap(b MapBackend) {
	m := &mapHandlers{b: b, log: s.log}
	s.handle("GET /api/v1/map", auth.RoleViewer, m.inventory)
	s.handle("GET /api/v1/map/topology", auth.RoleViewer, m.topology)
	s.handle("GET /api/v1/map/openapi", auth.RoleViewer, m.openAPI)
	s.handle("GET /api/v1/map/snapshots", auth.RoleViewer, m.snapshots)
	s.handle("POST /api/v1/map/snapshots", auth.RoleAnalyst, m.takeSnapshot)
	s.handle("GET /api/v1/map/endpoints/{id}/review", auth.RoleViewer, m.review)
	s.handle("PUT /api/v1/map/endpoints/{id}/review", auth.RoleAnalyst, m.setReview)
	s.handle("GET /api/v1/specs", auth.RoleViewer, m.specs)
	s.handle("POST /api/v1/specs", auth.RoleAnalyst, m.registerSpec)
}

type mapHandlers struct {
	b   MapBackend
	log *slog.Logger
}

// parseMapQuery reads service, since (a duration such as 7d) and only.
func parseMapQuery(r *http.Request) (MapQuery, error) {
	v := r.URL.Query()
	q := MapQuery{Service: v.Get("service")}
	if s := v.Get("since"); s != "" {
		d, err := config.ParseDuration(s)
		if err != nil || d <= 0 {
			return q, fmt.Errorf("%w: since=%q: want a positive duration such as 24h or 7d", ErrBadRequest, s)
		}
		q.Window = d
	}
	only, err := apimap.ParseOnly(v.Get("only"))
	if err != nil {
		return q, fmt.Errorf("%w: only: %v", ErrBadRequest, err)
	}
	q.Only = only
	return q, nil
}

func (m *mapHandlers) fail(w http.ResponseWriter, err error) { writeError(w, m.log, err) }

func (m *mapHandlers) inventory(w http.ResponseWriter, r *http.Request) {
	q, err := parseMapQuery(r)
	if err != nil {
		m.fail(w, err)
		return
	}
	res, err := m.b.Map(r.Context(), q)
	if err != nil {
		m.fail(w, err)
		return
	}
	writeJSON(w, http.StatusOK, res)
}

func (m *mapHandlers) topology(w http.ResponseWriter, r *http.Request) {
	q, err := parseMapQuery(r)
	if err != nil {
		m.fail(w, err)
		return
	}
	res, err := m.b.MapTopology(r.Context(), q)
	if err != nil {
		m.fail(w, err)
		return
	}
	writeJSON(w, http.StatusOK, res)
}

// openAPI answers JSON, or YAML with format=yaml or an Accept header that
// asks for YAML.
func (m *mapHandlers) openAPI(w http.ResponseWriter, r *http.Request) {
	q, err := parseMapQuery(r)
	if err != nil {
		m.fail(w, err)
		return
	}
	format := r.URL.Query().Get("format")
	if format == "" && strings.Contains(r.Header.Get("Accept"), "yaml") {
		format = "yaml"
	}
	if format != "" && format != "json" && format != "yaml" {
		m.fail(w, fmt.Errorf("%w: format=%q: want json or yaml", ErrBadRequest, format))
		return
	}
	doc, err := m.b.ObservedOpenAPI(r.Context(), q)
	if err != nil {
		m.fail(w, err)
		return
	}
	if format != "yaml" {
		writeJSON(w, http.StatusOK, doc)
		return
	}
	b, err := yaml.Marshal(doc)
	if err != nil {
		m.fail(w, fmt.Errorf("encode OpenAPI document: %w", err))
		return
	}
	w.Header().Set("Content-Type", "application/yaml")
	w.Write(b)
}

func (m *mapHandlers) snapshots(w http.ResponseWriter, r *http.Request) {
	res, err := m.b.Snapshots(r.Context())
	if err != nil {
		m.fail(w, err)
		return
	}
	writeJSON(w, http.StatusOK, res)
}

func (m *mapHandlers) takeSnapshot(w http.ResponseWriter, r *http.Request) {
	q, err := parseMapQuery(r)
	if err != nil {
		m.fail(w, err)
		return
	}
	res, err := m.b.TakeSnapshot(r.Context(), q.Window)
	if err != nil {
		m.fail(w, err)
		return
	}
	writeJSON(w, http.StatusCreated, res)
}

func (m *mapHandlers) review(w http.ResponseWriter, r *http.Request) {
	res, err := m.b.EndpointReview(r.Context(), r.PathValue("id"))
	if err != nil {
		m.fail(w, err)
		return
	}
	writeJSON(w, http.StatusOK, res)
}

func (m *mapHandlers) setReview(w http.ResponseWriter, r *http.Request) {
	var req ReviewRequest
	if err := decodeJSON(w, r, &req); err != nil {
		m.fail(w, err)
		return
	}
	res, err := m.b.SetEndpointReview(r.Context(), r.PathValue("id"), req)
	if err != nil {
		m.fail(w, err)
		return
	}
	writeJSON(w, http.StatusOK, res)
}

func (m *mapHandlers) specs(w http.ResponseWriter, r *http.Request) {
	res, err := m.b.Specs(r.Context())
	if err != nil {
		m.fail(w, err)
		return
	}
	writeJSON(w, http.StatusOK, res)
}

func (m *mapHandlers) registerSpec(w http.ResponseWriter, r *http.Request) {
	raw, err := io.ReadAll(http.MaxBytesReader(w, r.Body, apimap.MaxSpecBytes))
	if err != nil {
		var maxErr *http.MaxBytesError
		if errors.As(err, &maxErr) {
			err = fmt.Errorf("%w: the spec exceeds %d bytes", ErrBadRequest, apimap.MaxSpecBytes)
		}
		m.fail(w, err)
		return
	}
	if len(raw) == 0 {
		m.fail(w, fmt.Errorf("%w: the body must be an OpenAPI document (YAML or JSON)", ErrBadRequest))
		return
	}
	v := r.URL.Query()
	res, err := m.b.RegisterSpec(r.Context(), SpecUpload{Service: v.Get("service"), Name: v.Get("name"), Raw: raw})
	if err != nil {
		m.fail(w, err)
		return
	}
	writeJSON(w, http.StatusCreated, res)
}
