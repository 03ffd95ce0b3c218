package main

import (
	"fmt"
	"strconv"

	"github.com/spf13/cobra"

	"github.com/tracehound/tracehound/api"
	"github.com/tracehound/tracehound/report"
)

func newReportCmd(g *globals) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "report INCIDENT_ID [--format md|html|json]",
		Short: "Write an incident report: vector, duration, infrastructure, exposure, root cause, detection gap, actions",
		Long: `Report investigates an incident's addresses and keys and writes its report:
the verdict and attack vector, duration, infrastructure (addresses, networks,
countries), exposure (requests, bytes, unique objects), root cause (what the
API map knows of the target endpoint: undocumented, auth state, no rate
limiting), the detection gap (first malicious request to first
notification), ATT&CK and OWASP mapping, the actions taken (triage,
blocks, audit log), a timeline, remediation and the evidence queries.

  tracehound report 12 > incident-12.md
  tracehound report 12 --format html > incident-12.html   # self-contained, with a chart

--format is md (the default), html or json.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			id, err := strconv.ParseInt(args[0], 10, 64)
			if err != nil || id <= 0 {
				return usageError{fmt.Errorf("incident id %q is not a number (list them with: tracehound incidents)", args[0])}
			}
			format := g.format
			switch format {
			case "", "table":
				format = "md"
			case "md", "html", "json":
			default:
				return usageError{fmt.Errorf("--format %q: want md, html or json", format)}
			}
			b, release, err := backendAs[api.ReportBackend](cmd.Context(), g, "incident reports")
			if err != nil {
				return err
			}
			defer release()
			rep, err := b.IncidentReport(cmd.Context(), id)
			if err != nil {
				return err
			}
			switch format {
			case "json":
				return printJSON(g.stdout, rep)
			case "html":
				return report.HTML(g.stdout, rep)
			}
			return report.Markdown(g.stdout, rep)
		},
	}
	return cmd
}
