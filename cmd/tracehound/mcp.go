package main

import (
	"github.com/spf13/cobra"

	"github.com/tracehound/tracehound/agent"
	"github.com/tracehound/tracehound/app"
)

func newMCPCmd(g *globals) *cobra.Command {
	return &cobra.Command{
		Use:   "mcp",
		Short: "Serve tracehound's tools to an AI assistant over MCP (stdio)",
		Long: `MCP speaks the Model Context Protocol on standard input and output, for an
AI assistant (Claude Code, Cursor, Codex…) to use tracehound's tools: the API
map, notifications, forensic questions, read-only SQL, traces, IP
intelligence, blocking and rule backtests.

With a server running, it talks to the server (--server, or the data
directory's CLI token on this machine); every tool call is audited there
under the token's name. A server also serves the same tools over HTTP on
its API port at /mcp, for a bearer token.

Write tools (block_ips, trust_ips, set_alert_status) are dry runs unless
the agent passes confirm: true, need the analyst role, and never block a
trusted address.

Register it with an assistant, e.g.:

  claude mcp add tracehound -- tracehound mcp --server http://127.0.0.1:8080 --token th_…`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx := cmd.Context()
			c, err := g.config()
			if err != nil {
				return err
			}
			b, release, err := g.backend(ctx)
			if err != nil {
				return err
			}
			defer release()
			srv := agent.New(b, agent.Options{Version: app.Version, Logger: newLogger(c, g.stderr), Audit: app.AgentAudit(b)})
			return srv.Run(ctx)
		},
	}
}
