package main

import (
	"fmt"
	"io"
	"os"

	"github.com/spf13/cobra"
	"golang.org/x/term"

	"github.com/tracehound/tracehound/api"
	"github.com/tracehound/tracehound/app"
)

func newIngestCmd(g *globals) *cobra.Command {
	return &cobra.Command{
		Use:   "ingest FILE...",
		Short: "Load OTLP trace files (JSON, JSON lines or protobuf; - for stdin)",
		Long: `Ingest loads OpenTelemetry trace files into the data directory, or sends them
to the server named by --server. A file holds one OTLP ExportTraceServiceRequest
as protobuf or JSON, or JSON lines with one request per line (what the
OpenTelemetry Collector's file exporter writes); gzip-compressed files are
read as well. Use - to read standard input.`,
		Args: func(cmd *cobra.Command, args []string) error {
			if len(args) == 0 {
				return usagef("ingest needs at least one file (or - for standard input)")
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			format, err := g.outputFormat()
			if err != nil {
				return err
			}
			ctx := cmd.Context()
			var client *api.Client
			var local *app.App
			if g.server != "" {
				if client, err = api.NewClient(g.server); err != nil {
					return usageError{err}
				}
			} else {
				if local, err = g.openLocal(ctx); err != nil {
					return err
				}
				defer local.Close()
			}
			progress := g.progress("ingest")
			var total api.IngestResult
			for _, name := range args {
				reqs, err := readOTLPFile(name)
				if err != nil {
					return err
				}
				total.Files++
				if client != nil {
					for _, r := range reqs {
						rejected, err := client.ExportOTLP(ctx, r.Body, r.ContentType)
						if err != nil {
							return fmt.Errorf("%s: %w", name, err)
						}
						total.Requests++
						total.Rejected += rejected
					}
					continue
				}
				base := total.Spans
				res, err := local.Ingest(ctx, reqs, func(n int64) { progress(base + n) })
				total.Requests += res.Requests
				total.Spans += res.Spans
				total.Rejected += res.Rejected
				if err != nil {
					return fmt.Errorf("%s: %w", name, err)
				}
			}
			progress(-1)
			if format == "json" {
				return printJSON(g.stdout, total)
			}
			if client != nil {
				fmt.Fprintf(g.stdout, "sent %d files (%d requests) to %s; %d spans rejected as invalid\n", total.Files, total.Requests, g.server, total.Rejected)
				return nil
			}
			fmt.Fprintf(g.stdout, "ingested %d spans from %d files (%d requests); %d spans rejected as invalid\n", total.Spans, total.Files, total.Requests, total.Rejected)
			return nil
		},
	}
}

func readOTLPFile(name string) ([]app.OTLPFile, error) {
	var r io.Reader = os.Stdin
	if name != "-" {
		f, err := os.Open(name)
		if err != nil {
			return nil, err
		}
		defer f.Close()
		r = f
	}
	reqs, err := app.SplitOTLPFile(r)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	return reqs, nil
}

// progress returns a function that shows a running count on a terminal's
// stderr (and does nothing elsewhere); call it with -1 to finish the line.
func (g *globals) progress(label string) func(n int64) {
	f, ok := g.stderr.(*os.File)
	if !ok || !term.IsTerminal(int(f.Fd())) {
		return func(int64) {}
	}
	shown := false
	return func(n int64) {
		if n < 0 {
			if shown {
				fmt.Fprintln(f)
			}
			return
		}
		shown = true
		fmt.Fprintf(f, "\r%s: %d spans", label, n)
	}
}
