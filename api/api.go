// Package api is tracehound's HTTP JSON API (under /api/v1/), its health and
// metrics endpoints, and a client that speaks it, so the CLI works the same
// against a running server as on a local data directory.
package api

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"runtime/debug"
	"strings"
	"sync/atomic"
	"time"

	"github.com/tracehound/tracehound/alert"
	"github.com/tracehound/tracehound/apimap"
	"github.com/tracehound/tracehound/auth"
	"github.com/tracehound/tracehound/contain"
	"github.com/tracehound/tracehound/forensics"
	"github.com/tracehound/tracehound/sqlguard"
	"github.com/tracehound/tracehound/state"
	"github.com/tracehound/tracehound/store"
	"github.com/tracehound/tracehound/triage"
)

// Backend is what the API serves. The CLI uses the same interface, backed
// either by the local data directory or by Client.
type Backend interface {
	// SQL runs a read-only query through the guard.
	SQL(ctx context.Context, q string) (*QueryResult, error)
	// Status describes the server and its data.
	Status(ctx context.Context) (*Status, error)
}

// ErrBadRequest marks a request the client must fix (bad JSON, missing field).
var ErrBadRequest = errors.New("bad request")

// maxRequestBytes bounds API request bodies (not OTLP, which has its own limit).
const maxRequestBytes = 1 << 20

// Server routes the HTTP API.
type Server struct {
	backend Backend
	auth    *auth.Service
	log     *slog.Logger
	mux     *http.ServeMux
	ready   atomic.Bool
	routes  []Route
	limiter *limiter
	// secureCookies marks session cookies Secure even on plain HTTP (the
	// server sits behind a TLS-terminating proxy).
	secureCookies bool
}

// Route is one API route and the role it requires.
type Route struct {
	Pattern string // "METHOD /path", as net/http.ServeMux reads it
	Role    auth.Role
}

// Options configure a Server.
type Options struct {
	Backend Backend
	Logger  *slog.Logger
	// OTLP serves POST /v1/traces on the API port too, when set.
	OTLP http.Handler
	// MCP serves the Model Context Protocol's streamable HTTP transport on
	// /mcp, when set; it authenticates its own requests.
	MCP http.Handler
	// Metrics serves /metrics, when set.
	Metrics http.Handler
	// Auth authenticates requests and enforces each route's role. Nil
	// leaves the API open (tests, and a server explicitly configured
	// with auth disabled).
	Auth *auth.Service
	// SecureCookies marks session cookies Secure on plain HTTP too.
	SecureCookies bool
	// RateLimit bounds each client address's requests to /api/.
	RateLimit RateLimit
	// UI serves the web UI on every path no other route claims (web.Handler
	// answers GET and HEAD, and 405 otherwise), when set. /api/ paths
	// never reach it: unknown API routes stay JSON 404s.
	UI http.Handler
}

// NewServer returns the API handler. It reports not ready until SetReady.
func NewServer(opts Options) *Server {
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	s := &Server{backend: opts.Backend, auth: opts.Auth, log: log.With("component", "api"), mux: http.NewServeMux(), secureCookies: opts.SecureCookies,
		limiter: newLimiter(opts.RateLimit, time.Now)}
	s.mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		w.Write([]byte("ok\n"))
	})
	s.mux.HandleFunc("GET /readyz", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		if !s.ready.Load() {
			w.WriteHeader(http.StatusServiceUnavailable)
			w.Write([]byte("not ready\n"))
			return
		}
		w.Write([]byte("ready\n"))
	})
	if opts.Metrics != nil {
		s.mux.Handle("GET /metrics", opts.Metrics)
	}
	if opts.OTLP != nil {
		s.mux.Handle("/v1/traces", opts.OTLP)
	}
	if opts.MCP != nil {
		s.mux.Handle("/mcp", s.limit(opts.MCP))
	}
	s.handle("GET /api/v1/status", auth.RoleViewer, s.status)
	s.handle("POST /api/v1/sql", auth.RoleViewer, s.sql)
	s.handle("GET /api/v1/sql", auth.RoleViewer, s.sql)
	s.routeAuth()
	if ab, ok := opts.Backend.(AuthBackend); ok {
		s.routeUsers(ab)
	}
	if mb, ok := opts.Backend.(MapBackend); ok {
		s.routeMap(mb)
	}
	if pb, ok := opts.Backend.(PinsBackend); ok {
		s.routeMapPins(pb)
	}
	if tb, ok := opts.Backend.(TraceBackend); ok {
		s.routeTraces(tb)
	}
	if rb, ok := opts.Backend.(RulesBackend); ok {
		s.routeRules(rb)
	}
	if ab, ok := opts.Backend.(AskBackend); ok {
		s.routeAsk(ab)
	}
	if ib, ok := opts.Backend.(IPBackend); ok {
		s.routeIPs(ib)
	}
	if ab, ok := opts.Backend.(AlertsBackend); ok {
		s.routeAlerts(ab)
	}
	if ab, ok := opts.Backend.(AgentAuditBackend); ok {
		s.routeAgent(ab)
	}
	if ab, ok := opts.Backend.(ApplicationsBackend); ok {
		s.routeApplications(ab)
	}
	if ib, ok := opts.Backend.(InvestigateBackend); ok {
		s.routeInvestigate(ib)
	}
	if rb, ok := opts.Backend.(ReportBackend); ok {
		s.routeReports(rb)
	}
	if eb, ok := opts.Backend.(ExclusionsBackend); ok {
		s.routeExclusions(eb)
	}
	if sb, ok := opts.Backend.(SilencesBackend); ok {
		s.routeSilences(sb)
	}
	if sb, ok := opts.Backend.(SettingsBackend); ok {
		s.routeSettings(sb)
	}
	s.mux.HandleFunc("/api/", func(w http.ResponseWriter, r *http.Request) {
		writeError(w, s.log, fmt.Errorf("%w: no API route %s %s", errNoRoute, r.Method, r.URL.Path))
	})
	if opts.UI != nil {
		// "/" rather than "GET /": a method-specific catch-all would
		// conflict with the method-less /api/ and /v1/traces patterns.
		s.mux.Handle("/", opts.UI)
	}
	return s
}

// handle registers a route that requires role. With authentication on,
// the request's principal must hold the role (401 without a valid
// credential, 403 with too low a role or a session request without its
// CSRF token); the handler finds the principal in the request context.
func (s *Server) handle(pattern string, role auth.Role, h http.HandlerFunc) {
	s.routes = append(s.routes, Route{Pattern: pattern, Role: role})
	s.mux.HandleFunc(pattern, func(w http.ResponseWriter, r *http.Request) {
		if s.auth == nil || role == auth.RoleNone {
			h(w, r)
			return
		}
		p, err := s.auth.Authenticate(r)
		if err != nil {
			writeError(w, s.log, err)
			return
		}
		if !p.Role.Allows(role) {
			writeError(w, s.log, fmt.Errorf("%w: %s needs the %s role; %s has %s", auth.ErrForbidden, pattern, role, p.Actor(), p.Role))
			return
		}
		if err := auth.CheckCSRF(p, r); err != nil {
			writeError(w, s.log, err)
			return
		}
		h(w, r.WithContext(auth.WithPrincipal(r.Context(), p)))
	})
}

// Routes lists the API routes with their roles, in registration order.
func (s *Server) Routes() []Route { return append([]Route(nil), s.routes...) }

// SetReady flips /readyz.
func (s *Server) SetReady(ready bool) { s.ready.Store(ready) }

// ServeHTTP implements http.Handler. A panic in a handler answers 500 and
// is logged; it never takes the server down.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	defer func() {
		if v := recover(); v != nil {
			if v == http.ErrAbortHandler {
				panic(v)
			}
			s.log.Error("handler panic", "path", r.URL.Path, "panic", v, "stack", string(debug.Stack()))
			writeError(w, s.log, fmt.Errorf("panic: %v", v))
		}
	}()
	if s.limiter != nil && strings.HasPrefix(r.URL.Path, "/api/") {
		s.limit(s.mux).ServeHTTP(w, r)
		return
	}
	s.mux.ServeHTTP(w, r)
}

var errNoRoute = errors.New("not found")

func (s *Server) status(w http.ResponseWriter, r *http.Request) {
	st, err := s.backend.Status(r.Context())
	if err != nil {
		writeError(w, s.log, err)
		return
	}
	writeJSON(w, http.StatusOK, st)
}

// sqlRequest is the body of POST /api/v1/sql.
type sqlRequest struct {
	SQL string `json:"sql"`
}

func (s *Server) sql(w http.ResponseWriter, r *http.Request) {
	var req sqlRequest
	if r.Method == http.MethodGet {
		req.SQL = r.URL.Query().Get("q")
	} else if err := decodeJSON(w, r, &req); err != nil {
		writeError(w, s.log, err)
		return
	}
	if strings.TrimSpace(req.SQL) == "" {
		writeError(w, s.log, fmt.Errorf("%w: the sql field is empty", ErrBadRequest))
		return
	}
	res, err := s.backend.SQL(r.Context(), req.SQL)
	if err != nil {
		writeError(w, s.log, err)
		return
	}
	writeJSON(w, http.StatusOK, res)
}

func decodeJSON(w http.ResponseWriter, r *http.Request, dst any) error {
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, maxRequestBytes))
	dec.DisallowUnknownFields()
	if err := dec.Decode(dst); err != nil {
		var maxErr *http.MaxBytesError
		if errors.As(err, &maxErr) {
			return fmt.Errorf("%w: request body exceeds %d bytes", ErrBadRequest, maxRequestBytes)
		}
		return fmt.Errorf("%w: invalid JSON body: %v", ErrBadRequest, err)
	}
	return nil
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		http.Error(w, `{"error":{"code":"internal","message":"internal error"}}`, http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	w.Write(b)
	w.Write([]byte("\n"))
}

// reply answers a handler's result: the error's status, 204 for a nil
// result, or v as JSON.
func reply(w http.ResponseWriter, log *slog.Logger, v any, err error) {
	if err != nil {
		writeError(w, log, err)
		return
	}
	if v == nil {
		w.WriteHeader(http.StatusNoContent)
		return
	}
	writeJSON(w, http.StatusOK, v)
}

// errorBody is the JSON shape of every API error.
type errorBody struct {
	Error struct {
		Code    string `json:"code"`
		Message string `json:"message"`
	} `json:"error"`
}

// Error codes of the API, one per kind of failure.
const (
	CodeBadRequest      = "bad_request"
	CodeRefused         = "refused"
	CodeInvalidQuery    = "invalid_query"
	CodeNotFound        = "not_found"
	CodeOverloaded      = "overloaded"
	CodeTimeout         = "timeout"
	CodeInternal        = "internal"
	CodeUnauthenticated = "unauthenticated"
	CodeForbidden       = "forbidden"
	CodeRateLimited     = "rate_limited"
	CodeConflict        = "conflict"
)

// classify maps an error to its HTTP status and code. It is the only place
// that decides statuses; internal errors never show their text to clients.
func classify(err error) (int, string, bool) {
	switch {
	case errors.Is(err, ErrBadRequest), errors.Is(err, apimap.ErrInvalidSpec), errors.Is(err, auth.ErrInvalid), errors.Is(err, alert.ErrInvalidRule),
		errors.Is(err, triage.ErrInvalid), errors.Is(err, contain.ErrInvalid),
		errors.Is(err, forensics.ErrNeedsEnrichment), errors.Is(err, forensics.ErrUnsupported), errors.As(err, new(*forensics.ParseError)):
		return http.StatusBadRequest, CodeBadRequest, true
	case errors.Is(err, contain.ErrTrusted), errors.Is(err, state.ErrIPChangeConflict), errors.Is(err, state.ErrBouncerExists):
		return http.StatusConflict, CodeConflict, true
	case errors.Is(err, auth.ErrUnauthenticated):
		return http.StatusUnauthorized, CodeUnauthenticated, true
	case errors.Is(err, auth.ErrForbidden):
		return http.StatusForbidden, CodeForbidden, true
	case errors.Is(err, auth.ErrRateLimited):
		return http.StatusTooManyRequests, CodeRateLimited, true
	case errors.Is(err, state.ErrExists):
		return http.StatusConflict, CodeConflict, true
	case errors.Is(err, sqlguard.ErrRefused):
		return http.StatusBadRequest, CodeRefused, true
	case errors.Is(err, store.ErrQuery):
		return http.StatusBadRequest, CodeInvalidQuery, true
	case errors.Is(err, store.ErrNotFound), errors.Is(err, state.ErrNotFound), errors.Is(err, errNoRoute):
		return http.StatusNotFound, CodeNotFound, true
	case errors.Is(err, store.ErrOverloaded), errors.Is(err, store.ErrClosed):
		return http.StatusServiceUnavailable, CodeOverloaded, true
	case errors.Is(err, context.DeadlineExceeded):
		return http.StatusGatewayTimeout, CodeTimeout, true
	case errors.Is(err, context.Canceled):
		// The client went away (a page changing its filters): not a
		// server error, and nobody reads the answer.
		return 499, "canceled", true
	}
	return http.StatusInternalServerError, CodeInternal, false
}

func writeError(w http.ResponseWriter, log *slog.Logger, err error) {
	status, code, public := classify(err)
	var body errorBody
	body.Error.Code = code
	if public {
		body.Error.Message = err.Error()
	} else {
		log.Error("internal error", "err", err)
		body.Error.Message = "internal error; see the server log"
	}
	switch status {
	case http.StatusServiceUnavailable:
		w.Header().Set("Retry-After", "2")
	case http.StatusTooManyRequests:
		w.Header().Set("Retry-After", "60")
	case http.StatusUnauthorized:
		w.Header().Set("WWW-Authenticate", `Bearer realm="tracehound"`)
	}
	writeJSON(w, status, body)
}
