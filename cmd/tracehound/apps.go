package main

import (
	"fmt"
	"strings"

	"github.com/spf13/cobra"

	"github.com/tracehound/tracehound/api"
)

func newAppsCmd(g *globals) *cobra.Command {
	cmd := &cobra.Command{
		Use:     "apps",
		Aliases: []string{"applications"},
		Short:   "List and register the instrumented applications (admin)",
		Long: `Apps lists the applications that send spans to tracehound and registers new
ones. Each application (a name, its environment and owning team) gets its own
ingest key: spans sent with it are tagged with the application's name, in the
resource attribute tracehound.application, which no exporter can forge —
tracehound sets it from the key and removes it from spans sent without one.

Query an application's traffic with
  tracehound sql "SELECT count() FROM traces WHERE resource_attributes['tracehound.application'] = 'checkout'"

Examples:
  tracehound apps create checkout --env production --team payments
      # then, in the application's environment:
      # OTEL_EXPORTER_OTLP_HEADERS="Authorization=Bearer th_…"
  tracehound apps key checkout      # another key, to rotate: deploy it, then revoke the old one
  tracehound apps rm checkout       # revokes its keys; its spans stay`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			format, err := g.outputFormat()
			if err != nil {
				return err
			}
			b, release, err := backendAs[api.ApplicationsBackend](cmd.Context(), g, "applications")
			if err != nil {
				return err
			}
			defer release()
			res, err := b.Applications(cmd.Context())
			if err != nil {
				return err
			}
			if format == "json" {
				return printJSON(g.stdout, res)
			}
			rows := make([][]any, 0, len(res.Applications))
			for _, a := range res.Applications {
				rows = append(rows, []any{a.Name, a.Environment, a.Team, strings.Join(a.Keys, " "), a.CreatedAt, a.CreatedBy})
			}
			return printTable(g.stdout, []string{"name", "environment", "team", "keys", "created_at", "created_by"}, rows)
		},
	}
	var req api.ApplicationRequest
	create := &cobra.Command{
		Use:   "create NAME [--env ENV] [--team TEAM]",
		Short: "Register an application and print its ingest key (once)",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			format, err := g.outputFormat()
			if err != nil {
				return err
			}
			b, release, err := backendAs[api.ApplicationsBackend](cmd.Context(), g, "applications")
			if err != nil {
				return err
			}
			defer release()
			req.Name = args[0]
			res, err := b.CreateApplication(cmd.Context(), req)
			if err != nil {
				return err
			}
			if format == "json" {
				return printJSON(g.stdout, res)
			}
			fmt.Fprintln(g.stdout, res.Secret)
			fmt.Fprintf(g.stderr, "application %s (%s) registered with ingest key %s; the secret above is shown once.\nSend it with its spans: OTEL_EXPORTER_OTLP_HEADERS=\"Authorization=Bearer <secret>\"\n",
				res.Application.Name, res.Application.Environment, res.Key.ID)
			return nil
		},
	}
	create.Flags().StringVar(&req.Environment, "env", "production", "the application's environment")
	create.Flags().StringVar(&req.Team, "team", "", "the team that owns it")
	create.Flags().StringVar(&req.Description, "description", "", "what it is")
	key := &cobra.Command{
		Use:   "key NAME",
		Short: "Issue another ingest key for an application (to rotate keys)",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			format, err := g.outputFormat()
			if err != nil {
				return err
			}
			b, release, err := backendAs[api.ApplicationsBackend](cmd.Context(), g, "applications")
			if err != nil {
				return err
			}
			defer release()
			res, err := b.ApplicationKey(cmd.Context(), args[0])
			if err != nil {
				return err
			}
			if format == "json" {
				return printJSON(g.stdout, res)
			}
			fmt.Fprintln(g.stdout, res.Secret)
			fmt.Fprintf(g.stderr, "ingest key %s for %s; the secret above is shown once (revoke an old key with: tracehound tokens revoke ID)\n", res.Token.ID, args[0])
			return nil
		},
	}
	rm := &cobra.Command{
		Use:     "rm NAME",
		Aliases: []string{"delete"},
		Short:   "Remove an application and revoke its ingest keys (its spans stay)",
		Args:    cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			b, release, err := backendAs[api.ApplicationsBackend](cmd.Context(), g, "applications")
			if err != nil {
				return err
			}
			defer release()
			if err := b.DeleteApplication(cmd.Context(), args[0]); err != nil {
				return err
			}
			fmt.Fprintf(g.stderr, "application %s removed; its keys are revoked\n", args[0])
			return nil
		},
	}
	cmd.AddCommand(create, key, rm)
	return cmd
}
