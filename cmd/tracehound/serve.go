package main

import (
	"fmt"
	"os"
	"runtime/debug"

	"github.com/spf13/cobra"

	"github.com/tracehound/tracehound/app"
)

func newServeCmd(g *globals) *cobra.Command {
	var listen, otlpHTTP, otlpGRPC string
	cmd := &cobra.Command{
		Use:   "serve",
		Short: "Receive OTLP traces and serve the API",
		Long: `Serve receives OpenTelemetry traces over OTLP/HTTP (POST /v1/traces, protobuf
or JSON, optionally gzip) and OTLP/gRPC, stores them in the data directory, and
serves the HTTP API, /metrics, /healthz and /readyz.

Point an OpenTelemetry SDK at it with
  OTEL_EXPORTER_OTLP_ENDPOINT=http://127.0.0.1:4318`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, err := g.config()
			if err != nil {
				return err
			}
			if cmd.Flags().Changed("listen") {
				c.Listen = listen
			}
			if cmd.Flags().Changed("otlp-http") {
				c.OTLPHTTP = otlpHTTP
			}
			if cmd.Flags().Changed("otlp-grpc") {
				c.OTLPGRPC = otlpGRPC
			}
			gcLimit := tuneGC()
			log := newLogger(c, g.stderr)
			a, err := app.New(cmd.Context(), app.Options{Config: c, Logger: log, Serve: true, GCLimit: gcLimit})
			if err != nil {
				return err
			}
			defer a.Close()
			otlpHTTP, otlpGRPC := "disabled", "disabled"
			if a.OTLPHTTPAddr() != "" {
				otlpHTTP = "http://" + a.OTLPHTTPAddr() + "/v1/traces"
			}
			if a.OTLPGRPCAddr() != "" {
				otlpGRPC = a.OTLPGRPCAddr()
			}
			fmt.Fprintf(g.stderr, "tracehound %s\n  API, UI and metrics  http://%s\n  OTLP/HTTP            %s\n  OTLP/gRPC            %s\n  data                 %s\n",
				app.Version, a.Addr(), otlpHTTP, otlpGRPC, c.Data)
			printFirstRun(g, a)
			return a.Run(cmd.Context())
		},
	}
	cmd.Flags().StringVar(&listen, "listen", "", "API, UI and metrics address (default 127.0.0.1:8080)")
	cmd.Flags().StringVar(&otlpHTTP, "otlp-http", "", "OTLP/HTTP address, empty to disable (default 127.0.0.1:4318)")
	cmd.Flags().StringVar(&otlpGRPC, "otlp-grpc", "", "OTLP/gRPC address, empty to disable (default 127.0.0.1:4317)")
	return cmd
}

// printFirstRun shows, once, the credentials the first start created.
func printFirstRun(g *globals, a *app.App) {
	if pw := a.FirstRunPassword(); pw != "" {
		fmt.Fprintf(g.stderr, "\nFirst run: created the user admin with the one-time password\n\n    %s\n\nSign in to the UI with it (you will set your own), or reset it with 'tracehound users passwd admin'.\n", pw)
	}
	if !a.Config().Auth.Enabled {
		fmt.Fprintln(g.stderr, "\nWARNING: authentication is disabled (auth.enabled: false): anyone who reaches the API can use it.")
	}
}

// tuneGC trades memory for CPU in the long-running commands: ingest
// allocates heavily and briefly, so collecting at 3x the live heap instead
// of 2x saves CPU, while a soft limit keeps the heap from growing past what
// a small server has. It returns that limit, which the server raises by
// what its rule replay cache holds (app.Options.GCLimit); 0 when
// GOMEMLIMIT is set. GOGC and GOMEMLIMIT, when set, win.
func tuneGC() int64 {
	if os.Getenv("GOGC") == "" {
		debug.SetGCPercent(200)
	}
	if os.Getenv("GOMEMLIMIT") != "" {
		return 0
	}
	const limit = 512 << 20
	debug.SetMemoryLimit(limit)
	return limit
}
