package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"

	"github.com/spf13/cobra"
	"golang.org/x/term"

	"github.com/tracehound/tracehound/api"
	"github.com/tracehound/tracehound/app"
	"github.com/tracehound/tracehound/auth"
	"github.com/tracehound/tracehound/config"
)

// Exit codes (PRODUCT.md §3).
const (
	exitOK      = 0
	exitFailure = 1 // a failed check, finding or operation
	exitUsage   = 2 // bad flags or arguments
)

// globals are the flags every command takes.
type globals struct {
	data       string
	server     string
	configFile string
	format     string
	token      string

	stdout, stderr io.Writer
}

// usageError marks errors in how the command was called.
type usageError struct{ err error }

func (e usageError) Error() string { return e.err.Error() }
func (e usageError) Unwrap() error { return e.err }

func usagef(format string, args ...any) error { return usageError{fmt.Errorf(format, args...)} }

func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	g := &globals{stdout: stdout, stderr: stderr}
	root := newRoot(g)
	root.SetArgs(args)
	root.SetOut(stdout)
	root.SetErr(stderr)
	err := root.ExecuteContext(ctx)
	if err == nil {
		return exitOK
	}
	fmt.Fprintln(stderr, "tracehound:", err)
	switch {
	case errors.Is(err, auth.ErrUnauthenticated):
		fmt.Fprintln(stderr, "Pass an API token with --token or TRACEHOUND_TOKEN; an admin issues one with 'tracehound tokens create NAME --role viewer'.")
	case errors.Is(err, auth.ErrForbidden):
		fmt.Fprintln(stderr, "Your token's role or applications do not allow this; ask an admin for a token with the role or applications named above.")
	}
	var ue usageError
	if errors.As(err, &ue) || isCobraUsage(err) {
		return exitUsage
	}
	return exitFailure
}

// isCobraUsage recognises the flag and argument errors cobra returns.
func isCobraUsage(err error) bool {
	msg := err.Error()
	for _, p := range []string{"unknown flag", "unknown shorthand flag", "unknown command", "flag needs an argument", "invalid argument", "accepts ", "requires at least", "requires exactly", "received "} {
		if strings.Contains(msg, p) {
			return true
		}
	}
	return false
}

func newRoot(g *globals) *cobra.Command {
	root := &cobra.Command{
		Use:   "tracehound",
		Short: "Find and stop API abuse in your OpenTelemetry traces",
		Long: `tracehound takes the OpenTelemetry traces your HTTP services already emit and
answers a security engineer's questions: what does our real API surface look
like, who is abusing it, how bad is it, how do we prove it and stop it.

Start a server with 'tracehound serve' and point your OTLP exporters at it,
or try 'tracehound demo' for a worked example.`,
		SilenceUsage:  true,
		SilenceErrors: true,
		Version:       app.Version,
	}
	root.SetFlagErrorFunc(func(c *cobra.Command, err error) error {
		return usageError{fmt.Errorf("%w\nRun '%s --help' for usage.", err, c.CommandPath())}
	})
	pf := root.PersistentFlags()
	pf.StringVar(&g.data, "data", "", "data directory (default ./tracehound-data, or TRACEHOUND_DATA)")
	pf.StringVar(&g.server, "server", os.Getenv("TRACEHOUND_SERVER"), "URL of a running tracehound to talk to instead of opening the data directory (TRACEHOUND_SERVER)")
	pf.StringVar(&g.configFile, "config", os.Getenv("TRACEHOUND_CONFIG"), "configuration file (YAML)")
	pf.StringVar(&g.token, "token", "", "API token for --server (TRACEHOUND_TOKEN; default: the data directory's "+app.CLITokenFile+" when this machine runs the server)")
	pf.StringVar(&g.format, "format", "", "output format: table or json (default table on a terminal, json otherwise)")

	root.AddCommand(
		newServeCmd(g),
		newIngestCmd(g),
		newSQLCmd(g),
		newStatusCmd(g),
		newDemoCmd(g),
		newMapCmd(g),
		newTraceCmd(g),
		newTracesCmd(g),
		newUsersCmd(g),
		newTokensCmd(g),
		newAuditCmd(g),
		newRulesCmd(g),
		newIPCmd(g),
		newIPsCmd(g),
		newBlocklistCmd(g),
		newBouncersCmd(g),
		newAskCmd(g),
		newAlertsCmd(g),
		newIncidentsCmd(g),
		newExclusionsCmd(g),
		newMCPCmd(g),
		newAppsCmd(g),
		newInvestigateCmd(g),
		newKeysCmd(g),
		newCampaignsCmd(g),
		newReportCmd(g),
	)
	return root
}

// config loads the configuration: file, environment, then global flags.
func (g *globals) config() (config.Config, error) {
	c, err := config.Load(g.configFile, os.Getenv)
	if err != nil {
		return c, err
	}
	if g.data != "" {
		c.Data = g.data
	}
	return c, nil
}

// outputFormat resolves --format.
func (g *globals) outputFormat() (string, error) {
	switch g.format {
	case "table", "json":
		return g.format, nil
	case "":
		if f, ok := g.stdout.(*os.File); ok && term.IsTerminal(int(f.Fd())) {
			return "table", nil
		}
		return "json", nil
	}
	return "", usagef("--format %q: want table or json", g.format)
}

// newLogger builds the logger the configuration asks for, writing to w.
func newLogger(c config.Config, w io.Writer) *slog.Logger {
	var level slog.Level
	level.UnmarshalText([]byte(c.Log.Level))
	opts := &slog.HandlerOptions{Level: level}
	if c.Log.Format == "json" {
		return slog.New(slog.NewJSONHandler(w, opts))
	}
	return slog.New(slog.NewTextHandler(w, opts))
}

// backend returns what data commands talk to: the server named by --server,
// or the local data directory. The returned function releases it.
func (g *globals) backend(ctx context.Context) (api.Backend, func(), error) {
	if g.server != "" {
		c, err := api.NewClient(g.server)
		if err != nil {
			return nil, nil, usageError{err}
		}
		tok, err := g.apiToken()
		if err != nil {
			return nil, nil, err
		}
		c.SetToken(tok)
		return c, func() {}, nil
	}
	a, err := g.openLocal(ctx)
	if err != nil {
		return nil, nil, err
	}
	return a, func() { a.Close() }, nil
}

// apiToken is the token the CLI sends to --server: --token, then
// TRACEHOUND_TOKEN, then the local CLI token that a server on this machine
// keeps in its data directory.
func (g *globals) apiToken() (string, error) {
	if g.token != "" {
		return g.token, nil
	}
	if t := os.Getenv("TRACEHOUND_TOKEN"); t != "" {
		return t, nil
	}
	c, err := g.config()
	if err != nil {
		return "", err
	}
	b, err := os.ReadFile(filepath.Join(c.Data, app.CLITokenFile))
	if err != nil {
		return "", nil // no token: the server says whether it needs one
	}
	return strings.TrimSpace(string(b)), nil
}

// backendAs is backend for commands that need one of the API's feature
// interfaces (the API map, traces, alerts…); what names the feature in the
// error when the backend lacks it.
func backendAs[T any](ctx context.Context, g *globals, what string) (T, func(), error) {
	var zero T
	b, release, err := g.backend(ctx)
	if err != nil {
		return zero, nil, err
	}
	fb, ok := b.(T)
	if !ok {
		release()
		return zero, nil, fmt.Errorf("this backend (%T) does not serve %s", b, what)
	}
	return fb, release, nil
}

// openLocal opens the data directory without serving.
func (g *globals) openLocal(ctx context.Context) (*app.App, error) {
	c, err := g.config()
	if err != nil {
		return nil, err
	}
	a, err := app.New(ctx, app.Options{Config: c, Logger: newLogger(c, g.stderr)})
	if errors.Is(err, app.ErrDataLocked) {
		return nil, fmt.Errorf("%w\nA tracehound server probably holds the data directory: talk to it with --server (e.g. --server http://%s), or stop it first", err, c.Listen)
	}
	if err != nil {
		return nil, err
	}
	return a, nil
}
