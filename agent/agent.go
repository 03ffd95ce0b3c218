// Package agent serves tracehound's tools to AI assistants over the Model
// Context Protocol: the API map, notifications, forensics, SQL, traces, IP
// intelligence, blocking and rule backtests, each a typed tool with a JSON
// schema for its input and output.
//
// A Server takes the same backend the HTTP API does (the App on a data
// directory, or an api.Client talking to a server) and offers the tools
// whose feature the backend serves. Every call is audited with the caller's
// principal; write tools need the analyst role and an explicit confirm
// argument, and are dry runs without it; outputs are bounded so that an
// agent's context is never flooded.
package agent

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"

	sdkauth "github.com/modelcontextprotocol/go-sdk/auth"
	"github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/tracehound/tracehound/api"
	"github.com/tracehound/tracehound/auth"
)

// Bounds on what one tool call returns.
const (
	// DefaultRows and MaxRows bound the rows of ask, run_sql and list tools.
	DefaultRows = 50
	MaxRows     = 500
	// MaxSpans bounds get_trace.
	MaxSpans = 500
	// MaxIPs bounds the addresses of one block_ips or trust_ips call.
	MaxIPs = 100
	// maxAuditArgs bounds the arguments kept in an audit entry.
	maxAuditArgs = 4 << 10
)

// AuditFunc records one tool call by the context's principal.
type AuditFunc func(ctx context.Context, action, target string, before, after any) error

// Options configure a Server.
type Options struct {
	// Version is tracehound's version, reported to clients.
	Version string
	Logger  *slog.Logger
	// Audit records every tool call; a call whose audit fails fails. Nil
	// records nothing.
	Audit AuditFunc
}

// Server is tracehound's MCP server.
type Server struct {
	mcp   *mcp.Server
	b     any
	log   *slog.Logger
	audit AuditFunc
	tools []string
}

// New returns a server offering the tools backend serves: backend is an
// api.Backend and any of the api feature interfaces (MapBackend,
// AlertsBackend, AskBackend, TraceBackend, IPBackend, RulesBackend).
func New(backend any, opts Options) *Server {
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	s := &Server{b: backend, log: log.With("component", "mcp"), audit: opts.Audit}
	s.mcp = mcp.NewServer(&mcp.Implementation{Name: "tracehound", Title: "tracehound API-abuse detection", Version: opts.Version}, &mcp.ServerOptions{
		Instructions: instructions,
		Logger:       s.log,
	})
	s.addTools()
	s.addResources()
	s.addPrompts()
	return s
}

const instructions = `tracehound watches an HTTP API through its OpenTelemetry traces. Start with map_endpoints (only=shadow finds undocumented endpoints with traffic) and list_alerts (open notifications), then dig in with ask (plain-English forensic questions), ip_info, get_trace and run_sql (read-only SQL over the traces table, ClickHouse dialect). block_ips and trust_ips change enforcement: they are dry runs unless confirm is true, and they never block a trusted address.`

// MCP returns the underlying SDK server.
func (s *Server) MCP() *mcp.Server { return s.mcp }

// Tools lists the names of the tools offered, in registration order.
func (s *Server) Tools() []string { return append([]string(nil), s.tools...) }

// Run serves one client over stdin and stdout until it disconnects or ctx
// ends.
func (s *Server) Run(ctx context.Context) error {
	return s.mcp.Run(ctx, &mcp.StdioTransport{})
}

// Authenticator authenticates an HTTP request, as auth.Service does.
type Authenticator interface {
	Authenticate(r *http.Request) (auth.Principal, error)
}

// Handler serves the streamable HTTP transport. With authn set, every
// request needs a bearer token of at least the viewer role, and tool calls
// act as that token's principal; nil leaves the endpoint open (tests, or a
// server with authentication disabled).
func (s *Server) Handler(authn Authenticator) http.Handler {
	h := mcp.NewStreamableHTTPHandler(func(*http.Request) *mcp.Server { return s.mcp }, &mcp.StreamableHTTPOptions{
		Stateless: true, JSONResponse: true, Logger: s.log,
	})
	if authn == nil {
		return h
	}
	verify := func(_ context.Context, _ string, r *http.Request) (*sdkauth.TokenInfo, error) {
		p, err := authn.Authenticate(r)
		if err != nil {
			return nil, fmt.Errorf("%w: %v", sdkauth.ErrInvalidToken, err)
		}
		if !p.Role.Allows(auth.RoleViewer) {
			return nil, fmt.Errorf("%w: %s has no role", sdkauth.ErrInvalidToken, p.Actor())
		}
		return &sdkauth.TokenInfo{UserID: p.Actor(), Extra: map[string]any{principalKey: p}}, nil
	}
	return sdkauth.RequireBearerToken(verify, &sdkauth.RequireBearerTokenOptions{AllowMissingExpiration: true})(h)
}

const principalKey = "tracehound.principal"

// principal returns ctx carrying the caller's principal: the bearer
// token's over HTTP, else the one ctx already carries (auth.Local for the
// CLI on a data directory; a client's server checks its own token).
func principal(ctx context.Context, req *mcp.CallToolRequest) context.Context {
	if req != nil && req.Extra != nil && req.Extra.TokenInfo != nil {
		if p, ok := req.Extra.TokenInfo.Extra[principalKey].(auth.Principal); ok {
			return auth.WithPrincipal(ctx, p)
		}
	}
	return ctx
}

// errForbidden is returned to a caller whose role is too low for a tool.
var errForbidden = errors.New("forbidden")

// toolFunc is a tool's body: the input in, the output out.
type toolFunc[In, Out any] func(ctx context.Context, in In) (Out, error)

// add registers a tool that needs role. It checks the role, runs the body
// and audits the call with its arguments and outcome.
func add[In, Out any](s *Server, t *mcp.Tool, role auth.Role, f toolFunc[In, Out]) {
	s.tools = append(s.tools, t.Name)
	mcp.AddTool(s.mcp, t, func(ctx context.Context, req *mcp.CallToolRequest, in In) (*mcp.CallToolResult, Out, error) {
		ctx = principal(ctx, req)
		var zero Out
		p := auth.FromContext(ctx)
		if !p.Role.Allows(role) {
			err := fmt.Errorf("%w: %s needs the %s role; %s has %s", errForbidden, t.Name, role, p.Actor(), p.Role)
			s.record(ctx, t.Name, in, err)
			return nil, zero, err
		}
		out, err := f(ctx, in)
		if aerr := s.record(ctx, t.Name, in, err); aerr != nil && err == nil {
			return nil, zero, fmt.Errorf("audit the call: %w", aerr)
		}
		if err != nil {
			return nil, zero, toolError(err)
		}
		return nil, out, nil
	})
}

// callRecord is the audit entry of one tool call.
type callRecord struct {
	Arguments json.RawMessage `json:"arguments,omitempty"`
	Truncated bool            `json:"arguments_truncated,omitempty"`
	Error     string          `json:"error,omitempty"`
}

func (s *Server) record(ctx context.Context, tool string, in any, callErr error) error {
	if s.audit == nil {
		return nil
	}
	var rec callRecord
	if b, err := json.Marshal(in); err == nil {
		if len(b) > maxAuditArgs {
			rec.Truncated = true
			b, _ = json.Marshal(string(b[:maxAuditArgs]))
		}
		rec.Arguments = b
	}
	if callErr != nil {
		rec.Error = callErr.Error()
	}
	err := s.audit(ctx, "mcp.call", "tool:"+tool, nil, rec)
	if err != nil {
		s.log.Error("audit MCP tool call", "tool", tool, "err", err)
	}
	return err
}

// toolError words an error for the agent: the API's classification
// (bad request, not found, forbidden) stays in the message.
func toolError(err error) error {
	switch {
	case errors.Is(err, api.ErrBadRequest):
		return fmt.Errorf("invalid arguments: %w", err)
	case errors.Is(err, auth.ErrForbidden), errors.Is(err, errForbidden):
		return fmt.Errorf("not allowed: %w", err)
	}
	return err
}
