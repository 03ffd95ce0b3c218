package api

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"

	"github.com/tracehound/tracehound/auth"
)

// AgentAuditBackend records the tool calls of an MCP server that runs
// apart from the server (`tracehound mcp --server`), so that an agent's
// calls are audited where the data is, under the agent's token.
type AgentAuditBackend interface {
	// RecordAgentCall audits one call by the context's principal. Action is
	// mcp.call or mcp.read; target names the tool or resource.
	RecordAgentCall(ctx context.Context, c AgentCall) error
}

// AgentCall is the body of POST /api/v1/agent/audit.
type AgentCall struct {
	Action string          `json:"action"`
	Target string          `json:"target"`
	Detail json.RawMessage `json:"detail,omitempty"`
}

// Validate checks that c is an agent's call: the audit log keeps other
// actions for the changes the server makes itself.
func (c AgentCall) Validate() error {
	if c.Action != "mcp.call" && c.Action != "mcp.read" {
		return fmt.Errorf("%w: action %q: only mcp.call and mcp.read are recorded", ErrBadRequest, c.Action)
	}
	if !strings.HasPrefix(c.Target, "tool:") && !strings.HasPrefix(c.Target, "resource:") || len(c.Target) > 200 {
		return fmt.Errorf("%w: target %q: want tool:NAME or resource:URI", ErrBadRequest, c.Target)
	}
	if len(c.Detail) > 16<<10 {
		return fmt.Errorf("%w: detail exceeds 16 KiB", ErrBadRequest)
	}
	return nil
}

func (s *Server) routeAgent(b AgentAuditBackend) {
	s.handle("POST /api/v1/agent/audit", auth.RoleViewer, func(w http.ResponseWriter, r *http.Request) {
		var c AgentCall
		if err := decodeJSON(w, r, &c); err != nil {
			writeError(w, s.log, err)
			return
		}
		if err := c.Validate(); err != nil {
			writeError(w, s.log, err)
			return
		}
		if err := b.RecordAgentCall(r.Context(), c); err != nil {
			writeError(w, s.log, err)
			return
		}
		w.WriteHeader(http.StatusNoContent)
	})
}

// RecordAgentCall implements AgentAuditBackend.
func (c *Client) RecordAgentCall(ctx context.Context, call AgentCall) error {
	return c.do(ctx, http.MethodPost, "/api/v1/agent/audit", call, nil)
}
