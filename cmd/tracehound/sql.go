package main

import (
	"fmt"
	"strings"

	"github.com/spf13/cobra"
)

func newSQLCmd(g *globals) *cobra.Command {
	return &cobra.Command{
		Use:   `sql "SELECT ..."`,
		Short: "Run a read-only SQL query over the traces table",
		Long: `Sql runs one read-only query, in the ClickHouse dialect tracehound shares
between its engines, over the traces table (one row per span; see the
README for its columns). Anything but a single SELECT over traces is refused.
Results are capped at 10,000 rows and 60 seconds.

Example:
  tracehound sql "SELECT peer_ip, count() AS requests FROM traces
                  WHERE timestamp >= now() - INTERVAL 1 HOUR
                  GROUP BY peer_ip ORDER BY requests DESC LIMIT 10"`,
		Args: func(cmd *cobra.Command, args []string) error {
			if len(args) == 0 {
				return usagef("sql needs a query, e.g. tracehound sql \"SELECT count() FROM traces\"")
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			format, err := g.outputFormat()
			if err != nil {
				return err
			}
			b, release, err := g.backend(cmd.Context())
			if err != nil {
				return err
			}
			defer release()
			res, err := b.SQL(cmd.Context(), strings.Join(args, " "))
			if err != nil {
				return err
			}
			if format == "json" {
				return printJSON(g.stdout, res)
			}
			if err := printTable(g.stdout, res.Columns, dateCells(res.Types, res.Rows)); err != nil {
				return err
			}
			more := ""
			if res.Truncated {
				more = " (truncated: add a LIMIT or narrow the query)"
			}
			fmt.Fprintf(g.stderr, "%s in %.1f ms%s\n", plural(len(res.Rows), "row"), res.ElapsedMS, more)
			return nil
		},
	}
}
