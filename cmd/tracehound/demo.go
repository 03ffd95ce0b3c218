package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"golang.org/x/term"

	"github.com/tracehound/tracehound/app"
	"github.com/tracehound/tracehound/scenario"
)

func newDemoCmd(g *globals) *cobra.Command {
	var (
		name    string
		days    int
		scale   float64
		seed    uint64
		noServe bool
		list    bool
		reset   bool
		rate    float64
	)
	cmd := &cobra.Command{
		Use:   "demo",
		Short: "Seed a realistic attack scenario, then serve it",
		Long: `Demo generates a scenario's traffic — an instrumented API, hundreds of
customers, partners, monitors and an attack campaign — and sends it through the
OpenTelemetry SDK over OTLP into a tracehound serving the data directory, the
way real services would. It then keeps serving, with live traffic trickling in,
until interrupted.

The default scenario is the DataVault exfiltration campaign: a trial API key
pulls 3,847 collections through an undocumented GET /v1/admin/export from three
DigitalOcean addresses over four days. The ground truth (every request
labelled benign or attacker) and the API's OpenAPI spec are written under
DATA/scenario/.

--scale 1 is about 12 million requests a day; the default 0.05 seeds four days
in a few minutes. The campaign keeps its figures at every scale.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if list {
				return printScenarios(g)
			}
			if _, ok := scenario.Lookup(name); !ok {
				return usagef("unknown scenario %q; see tracehound demo --list", name)
			}
			if days < 1 || days > 30 {
				return usagef("--days %d: want 1 to 30", days)
			}
			if scale <= 0 || scale > 2 {
				return usagef("--scale %v: want more than 0, at most 2", scale)
			}
			c, err := g.config()
			if err != nil {
				return err
			}
			if reset {
				if err := resetData(c.Data); err != nil {
					return err
				}
			}
			ctx := cmd.Context()
			gcLimit := tuneGC()
			a, err := app.New(ctx, app.Options{Config: c, Logger: newLogger(c, g.stderr), Serve: true, GCLimit: gcLimit})
			if err != nil {
				if strings.Contains(err.Error(), "address already in use") {
					return fmt.Errorf("%w\nAnother tracehound (or another program) uses the port; stop it, or choose ports with TRACEHOUND_LISTEN / TRACEHOUND_OTLP_HTTP / TRACEHOUND_OTLP_GRPC", err)
				}
				return err
			}
			defer a.Close()
			runCtx, stop := context.WithCancel(ctx)
			defer stop()
			done := make(chan error, 1)
			go func() { done <- a.Run(runCtx) }()

			sum, seeded := a.SeededScenario()
			if seeded {
				fmt.Fprintf(g.stderr, "The data directory %s already holds the %s scenario (seeded %s); serving it. Use --reset to seed it again.\n",
					c.Data, sum.Scenario, sum.Start.Format("2006-01-02"))
			} else {
				fmt.Fprintf(g.stderr, "Seeding the %s scenario: %d days from %s at scale %g, through OTLP into %s\n",
					name, days, scenario.DefaultStart(time.Now(), days).Format("2006-01-02"), scale, c.Data)
				bar := newProgressBar(g.stderr, "requests")
				start := time.Now()
				sum, err = a.SeedScenario(ctx, app.SeedOptions{Scenario: name, Days: days, Scale: scale, Seed: seed, Progress: bar.update})
				bar.finish()
				if err != nil {
					return err
				}
				el := time.Since(start)
				fmt.Fprintf(g.stderr, "Seeded %d requests (%d spans) in %s: %.0f spans/s\n",
					sum.Requests, sum.Spans, el.Round(time.Second), float64(sum.Spans)/el.Seconds())
			}
			printDemoGuide(g, a, c.Data, sum)
			if noServe {
				stop()
				return <-done
			}
			fmt.Fprintf(g.stderr, "\nServing with live traffic; press Ctrl-C to stop.\n")
			liveErr := make(chan error, 1)
			go func() { liveErr <- a.RunLiveTraffic(runCtx, rate, sum.Seed, nil) }()
			select {
			case err := <-done:
				return err
			case err := <-liveErr:
				if err != nil && !errors.Is(err, context.Canceled) {
					fmt.Fprintf(g.stderr, "live traffic stopped: %v\n", err)
				}
				return <-done
			}
		},
	}
	f := cmd.Flags()
	f.StringVar(&name, "scenario", scenario.DefaultScenario, "scenario to seed (see --list)")
	f.IntVar(&days, "days", 4, "days of traffic")
	f.Float64Var(&scale, "scale", 0.05, "benign traffic scale: 1 is about 12 million requests a day")
	f.Uint64Var(&seed, "seed", 1, "random seed: the same seed gives the same traffic")
	f.BoolVar(&noServe, "no-serve", false, "seed, print the guide and exit instead of serving")
	f.BoolVar(&list, "list", false, "list the scenarios and exit")
	f.BoolVar(&reset, "reset", false, "delete the data directory's contents first")
	f.Float64Var(&rate, "live-rate", 10, "live requests per second while serving")
	return cmd
}

func printScenarios(g *globals) error {
	format, err := g.outputFormat()
	if err != nil {
		return err
	}
	if format == "json" {
		return printJSON(g.stdout, map[string]any{"scenarios": scenario.Scenarios()})
	}
	var rows [][]any
	for _, s := range scenario.Scenarios() {
		rows = append(rows, []any{s.Name, s.Description})
	}
	return printTable(g.stdout, []string{"scenario", "description"}, rows)
}

// resetData empties a data directory, refusing anything that does not look
// like one.
func resetData(dir string) error {
	entries, err := os.ReadDir(dir)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	known := map[string]bool{"traces.duckdb": true, "traces.duckdb.wal": true, "traces.duckdb.tracehound-wal": true,
		"state.db": true, "state.db-wal": true, "state.db-shm": true, app.ScenarioDir: true, app.CLITokenFile: true,
		"abuseipdb-blacklist.json": true}
	// The downloaded IP tables are not demo data: they are kept.
	keep := map[string]bool{app.IPDataDir: true}
	for _, e := range entries {
		if !known[e.Name()] && !keep[e.Name()] {
			return fmt.Errorf("--reset: %s holds %s, which tracehound did not create; not deleting anything", dir, e.Name())
		}
	}
	for _, e := range entries {
		if keep[e.Name()] {
			continue
		}
		if err := os.RemoveAll(filepath.Join(dir, e.Name())); err != nil {
			return err
		}
	}
	return nil
}

func printDemoGuide(g *globals, a *app.App, data string, sum scenario.Summary) {
	w := g.stdout
	fmt.Fprintf(w, "\ntracehound is serving the %s scenario\n", sum.Scenario)
	fmt.Fprintf(w, "  console/API  http://%s  (sign in as admin)\n  MCP          http://%s/mcp  (or: tracehound mcp)\n  OTLP/HTTP    http://%s/v1/traces\n  data         %s\n  ground truth %s\n",
		a.Addr(), a.Addr(), a.OTLPHTTPAddr(), data, filepath.Join(data, app.ScenarioDir))
	for _, c := range sum.Campaigns {
		if c.Label != "attacker" {
			continue
		}
		fmt.Fprintf(w, "\nCampaign %q: %s\n", c.Name, c.Description)
		fmt.Fprintf(w, "  %d requests to %s from %s, %.1f GB, %d unique %s\n",
			c.Requests, c.Target, strings.Join(c.IPs, ", "), float64(c.Bytes)/1e9, c.UniqueObjects, c.ObjectKind)
	}
	printFirstRun(g, a)
	server := "--server http://" + a.Addr()
	fmt.Fprintf(w, `
Try, in another terminal (the CLI finds the server's token in the data directory):
  tracehound %[1]s map --only shadow          # undocumented endpoints with traffic
  tracehound %[1]s alerts                     # what the rules raised; tracehound rules for their health
  tracehound %[1]s rules backtest admin_endpoint_new_caller --since 7d
  tracehound %[1]s investigate 104.248.73.19 167.71.205.88 178.128.44.156   # verdicts, evidence, the campaign
  tracehound %[1]s keys --first-seen-within 60d   # the API keys first seen in the last 60 days, riskiest first
  tracehound %[1]s campaigns                  # coordinated callers found in the last 7 days
  tracehound %[1]s ip show 104.248.73.19      # enrichment (make ipdata), traffic, status
  tracehound %[1]s ask "Show all requests to /admin/export in the last 7 days"
  tracehound %[1]s ask "Count unique collection IDs accessed via /admin/export in the last 7 days"
  tracehound %[1]s traces --ip 104.248.73.19 --limit 5   # then: tracehound trace TRACE_ID
  tracehound %[1]s ip set 104.248.73.19 167.71.205.88 178.128.44.156 --status blocked --for 7d --reason exfiltration
  tracehound %[1]s blocklist --format nginx
  tracehound %[1]s incidents                  # then: tracehound report ID --format html > report.html
`, server)
}

// progressBar draws a progress bar on a terminal, or a line every 10% elsewhere.
type progressBar struct {
	f       *os.File
	tty     bool
	label   string
	start   time.Time
	lastPct int
}

func newProgressBar(w any, label string) *progressBar {
	f, _ := w.(*os.File)
	return &progressBar{f: f, tty: f != nil && term.IsTerminal(int(f.Fd())), label: label, start: time.Now(), lastPct: -1}
}

func (p *progressBar) update(done, total int64) {
	if p.f == nil || total <= 0 {
		return
	}
	pct := int(done * 100 / total)
	el := time.Since(p.start)
	rate := float64(done) / max(el.Seconds(), 0.001)
	eta := ""
	if done > 0 && done < total {
		eta = " ETA " + time.Duration(float64(total-done)/rate*float64(time.Second)).Round(time.Second).String()
	}
	if p.tty {
		const width = 30
		fill := int(done * width / total)
		fmt.Fprintf(p.f, "\r[%s%s] %3d%% %d/%d %s %.0f/s%s   ", strings.Repeat("█", fill), strings.Repeat("·", width-fill), pct, done, total, p.label, rate, eta)
		return
	}
	if pct/10 != p.lastPct/10 {
		fmt.Fprintf(p.f, "%3d%% %d/%d %s %.0f/s%s\n", pct, done, total, p.label, rate, eta)
	}
	p.lastPct = pct
}

func (p *progressBar) finish() {
	if p.tty {
		fmt.Fprintln(p.f)
	}
}
