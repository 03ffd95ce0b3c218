package main

import (
	"fmt"
	"time"

	"github.com/spf13/cobra"
)

func newStatusCmd(g *globals) *cobra.Command {
	return &cobra.Command{
		Use:   "status",
		Short: "Show what the data directory (or server) holds",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			format, err := g.outputFormat()
			if err != nil {
				return err
			}
			b, release, err := g.backend(cmd.Context())
			if err != nil {
				return err
			}
			defer release()
			st, err := b.Status(cmd.Context())
			if err != nil {
				return err
			}
			if format == "json" {
				return printJSON(g.stdout, st)
			}
			span := "no spans yet"
			if st.Spans > 0 {
				span = fmt.Sprintf("%s to %s", st.Oldest.Format(time.RFC3339), st.Newest.Format(time.RFC3339))
			}
			return printTable(g.stdout, []string{"field", "value"}, [][]any{
				{"version", st.Version},
				{"data", st.Data},
				{"spans", st.Spans},
				{"time range", span},
				{"disk", fmt.Sprintf("%.1f MiB", float64(st.DiskBytes)/(1<<20))},
				{"retention", fmt.Sprintf("%g days", st.RetentionDays)},
			})
		},
	}
}
