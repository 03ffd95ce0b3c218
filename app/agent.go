package app

import (
	"context"
	"encoding/json"

	"github.com/tracehound/tracehound/agent"
	"github.com/tracehound/tracehound/api"
)

// RecordAgentCall implements api.AgentAuditBackend: it audits a tool call
// of an MCP server that runs apart (`tracehound mcp --server`).
func (a *App) RecordAgentCall(ctx context.Context, c api.AgentCall) error {
	if err := c.Validate(); err != nil {
		return err
	}
	var detail any
	if len(c.Detail) > 0 {
		detail = c.Detail
	}
	return a.audit(ctx, c.Action, c.Target, nil, detail)
}

// AgentAudit returns the audit function of an MCP server over backend: its
// calls are recorded through the backend's AgentAuditBackend (the App's
// own audit log, or the server's over the API), or not at all when the
// backend has none.
func AgentAudit(backend any) agent.AuditFunc {
	b, ok := backend.(api.AgentAuditBackend)
	if !ok {
		return nil
	}
	return func(ctx context.Context, action, target string, _, after any) error {
		c := api.AgentCall{Action: action, Target: target}
		if after != nil {
			d, err := json.Marshal(after)
			if err != nil {
				return err
			}
			c.Detail = d
		}
		return b.RecordAgentCall(ctx, c)
	}
}
