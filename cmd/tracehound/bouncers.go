package main

import (
	"fmt"
	"net"
	"strings"

	"github.com/spf13/cobra"

	"github.com/tracehound/tracehound/api"
)

func newBouncersCmd(g *globals) *cobra.Command {
	list := func(cmd *cobra.Command, _ []string) error {
		format, err := g.outputFormat()
		if err != nil {
			return err
		}
		b, release, err := backendAs[api.IPBackend](cmd.Context(), g, "bouncers")
		if err != nil {
			return err
		}
		defer release()
		res, err := b.Bouncers(cmd.Context())
		if err != nil {
			return err
		}
		if format == "json" {
			return printJSON(g.stdout, res)
		}
		rows := make([][]any, len(res.Bouncers))
		for i, bo := range res.Bouncers {
			rows[i] = []any{bo.Name, bo.CreatedAt, optTime(bo.LastPull)}
		}
		return printTable(g.stdout, []string{"name", "created_at", "last_pull"}, rows)
	}
	cmd := &cobra.Command{
		Use:   "bouncers",
		Short: "Manage the CrowdSec bouncers that enforce blocks (admin; add | list | delete)",
		Long: `Bouncers manages the CrowdSec bouncers (firewall, nginx, Cloudflare, custom…)
that pull tracehound's blocked set from its CrowdSec-compatible decisions API
(/v1/decisions/stream on the API port). Each bouncer has its own API key,
shown once by 'add'; it grants the decisions API and nothing else.

Examples:
  tracehound bouncers add edge-firewall
  tracehound bouncers list
  tracehound bouncers delete edge-firewall`,
		Args: cobra.NoArgs,
		RunE: list,
	}
	add := &cobra.Command{
		Use:   "add NAME",
		Short: "Register a bouncer and print its API key (shown once) and configuration",
		Args: func(cmd *cobra.Command, args []string) error {
			if len(args) != 1 {
				return usagef("bouncers add needs one name")
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			format, err := g.outputFormat()
			if err != nil {
				return err
			}
			apiURL, err := g.decisionsURL()
			if err != nil {
				return err
			}
			b, release, err := backendAs[api.IPBackend](cmd.Context(), g, "bouncers")
			if err != nil {
				return err
			}
			defer release()
			res, err := b.AddBouncer(cmd.Context(), args[0])
			if err != nil {
				return err
			}
			if format == "json" {
				return printJSON(g.stdout, map[string]any{"bouncer": res.Bouncer, "api_key": res.APIKey, "api_url": apiURL})
			}
			fmt.Fprintf(g.stdout, `bouncer %s registered. Its API key is shown only now:

  %s

Put these in the bouncer's configuration (e.g. /etc/crowdsec/bouncers/crowdsec-firewall-bouncer.yaml):

api_url: %s
api_key: %s
`, res.Bouncer.Name, res.APIKey, apiURL, res.APIKey)
			return nil
		},
	}
	ls := &cobra.Command{
		Use:   "list",
		Short: "List the bouncers with their last pull",
		Args:  cobra.NoArgs,
		RunE:  list,
	}
	del := &cobra.Command{
		Use:   "delete NAME",
		Short: "Remove a bouncer; its key stops working at once",
		Args: func(cmd *cobra.Command, args []string) error {
			if len(args) != 1 {
				return usagef("bouncers delete needs one name")
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			b, release, err := backendAs[api.IPBackend](cmd.Context(), g, "bouncers")
			if err != nil {
				return err
			}
			defer release()
			if err := b.DeleteBouncer(cmd.Context(), args[0]); err != nil {
				return err
			}
			fmt.Fprintf(g.stdout, "bouncer %s deleted\n", args[0])
			return nil
		},
	}
	cmd.AddCommand(add, ls, del)
	return cmd
}

// decisionsURL is the api_url a bouncer is given: the server named by
// --server, or the configured API listen address (a wildcard host becomes
// loopback; put the address bouncers reach in its place).
func (g *globals) decisionsURL() (string, error) {
	if g.server != "" {
		u := g.server
		if !strings.Contains(u, "://") {
			u = "http://" + u
		}
		return strings.TrimRight(u, "/") + "/", nil
	}
	c, err := g.config()
	if err != nil {
		return "", err
	}
	host, port, err := net.SplitHostPort(c.Listen)
	if err != nil {
		return "", fmt.Errorf("listen address %q: %w", c.Listen, err)
	}
	if host == "" || host == "0.0.0.0" || host == "::" {
		host = "127.0.0.1"
	}
	return "http://" + net.JoinHostPort(host, port) + "/", nil
}
