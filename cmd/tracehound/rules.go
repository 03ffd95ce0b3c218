package main

import (
	"fmt"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"gopkg.in/yaml.v3"

	"github.com/tracehound/tracehound/alert"
	"github.com/tracehound/tracehound/api"
	"github.com/tracehound/tracehound/config"
)

func newRulesCmd(g *globals) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "rules",
		Short: "Detection rules: list, unit-test, backtest, edit",
		Long: `Rules are SQL over the traces table (ClickHouse dialect) that run on a
schedule; every result row is an alert instance that goes pending, firing and
resolved as Prometheus alerts do. The built-in pack runs by default; add your
own as YAML files (rules.dirs in the configuration) or through the API.

  tracehound rules                       # every rule, its health and alerts
  tracehound rules show admin_endpoint_new_caller
  tracehound rules test ./rules          # promtool-style unit tests
  tracehound rules backtest casestudy_admin_export --since 7d
  tracehound rules backtest --file draft.yaml --since 7d --incident-start 2026-11-22T02:00:00Z
  tracehound rules set my_rule -f my_rule.yaml`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error { return listRules(cmd, g) },
	}
	list := &cobra.Command{Use: "list", Short: "List the rules with their health and alerts", Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error { return listRules(cmd, g) }}
	show := &cobra.Command{
		Use:   "show ID",
		Short: "Show one rule: definition, health and alert instances",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			format, err := g.outputFormat()
			if err != nil {
				return err
			}
			b, release, err := backendAs[api.RulesBackend](cmd.Context(), g, "rules")
			if err != nil {
				return err
			}
			defer release()
			r, err := b.Rule(cmd.Context(), args[0])
			if err != nil {
				return err
			}
			if format == "json" {
				return printJSON(g.stdout, r)
			}
			w := g.stdout
			fmt.Fprintf(w, "%s — %s\n  severity %s, mode %s, every %s", r.ID, r.Name, r.Severity, r.Mode, r.Interval)
			if r.For != "" {
				fmt.Fprintf(w, ", for %s", r.For)
			}
			fmt.Fprintf(w, "\n  origin %s %s, health %s", r.Origin, r.File, r.Health)
			if r.Error != "" {
				fmt.Fprintf(w, " (%s)", r.Error)
			}
			fmt.Fprintln(w)
			if r.Response != "" {
				fmt.Fprintf(w, "  response: %s\n", r.Response)
			}
			if r.Description != "" {
				fmt.Fprintf(w, "  %s\n", r.Description)
			}
			fmt.Fprintf(w, "\n%s\n", indent(strings.TrimSpace(r.SQL), "    "))
			if len(r.Instances) == 0 {
				fmt.Fprintln(w, "\nno pending or firing instance")
				return nil
			}
			rows := make([][]any, 0, len(r.Instances))
			for _, in := range r.Instances {
				rows = append(rows, []any{string(in.State), labelSummary(in.Labels), in.ActiveAt, optTime(in.StartsAt), in.Annotations["summary"]})
			}
			fmt.Fprintln(w)
			return printTable(w, []string{"state", "labels", "active_at", "starts_at", "summary"}, rows)
		},
	}
	test := &cobra.Command{
		Use:   "test FILE|DIR...",
		Short: "Run rule unit tests (fixture spans, expected alerts) on an embedded store",
		Long: `Test runs promtool-style rule unit tests: each *_test.yaml file names rule
files ("builtin" for the built-in pack), fixture spans written to a fresh
embedded store, and the alerts expected at given evaluation times. A failed
expectation prints what was missing (-) and what was not expected (+).
Exit 1 when any case fails.`,
		Args: func(cmd *cobra.Command, args []string) error {
			if len(args) == 0 {
				return usagef("rules test needs test files or directories, e.g. tracehound rules test ./rules")
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			format, err := g.outputFormat()
			if err != nil {
				return err
			}
			rep, err := alert.RunTests(cmd.Context(), args...)
			if err != nil {
				return err
			}
			if format == "json" {
				if err := printJSON(g.stdout, rep); err != nil {
					return err
				}
			} else {
				fmt.Fprint(g.stdout, rep.String())
			}
			if !rep.OK() {
				return fmt.Errorf("%d of %d rule test cases failed", rep.Failed, rep.Failed+rep.Passed)
			}
			return nil
		},
	}
	var since, step config.Duration
	var file, incident string
	backtest := &cobra.Command{
		Use:   "backtest [RULE]",
		Short: "Replay a rule over history: when it would have fired, how often, the detection gap",
		Long: `Backtest replays a rule over the stored traces at its interval, through the
same state machine as the live engine, and prints when it would have fired,
how many notifications it would have sent per day, and — given the start of
an incident — how long after (or before) it the rule would have fired.

The rule is a loaded one (by id) or a draft file (--file, one rule as YAML,
or a rule file whose first rule is used).`,
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			format, err := g.outputFormat()
			if err != nil {
				return err
			}
			req := api.BacktestRequest{}
			if len(args) == 1 {
				req.RuleID = args[0]
			}
			if file != "" {
				body, err := draftRule(file)
				if err != nil {
					return err
				}
				req.Body = body
			}
			if req.RuleID == "" && req.Body == "" {
				return usagef("backtest needs a rule id or --file")
			}
			if since > 0 {
				req.Since = since.String()
			}
			if step > 0 {
				req.Step = step.String()
			}
			if incident != "" {
				t, err := time.Parse(time.RFC3339, incident)
				if err != nil {
					return usagef("--incident-start %q: want an RFC 3339 time such as 2026-11-22T02:00:00Z", incident)
				}
				req.IncidentStart = t
			}
			b, release, err := backendAs[api.RulesBackend](cmd.Context(), g, "rules")
			if err != nil {
				return err
			}
			defer release()
			res, err := b.BacktestRule(cmd.Context(), req)
			if err != nil {
				return err
			}
			if format == "json" {
				return printJSON(g.stdout, res)
			}
			printBacktest(g, res)
			return nil
		},
	}
	backtest.Flags().Var(&since, "since", "how far back to replay (default 7d)")
	backtest.Flags().Var(&step, "step", "time between evaluations (default: the rule's interval)")
	backtest.Flags().StringVarP(&file, "file", "f", "", "backtest a draft rule from this YAML file")
	backtest.Flags().StringVar(&incident, "incident-start", "", "when the incident began (RFC 3339), to report the detection gap")
	var setFile string
	var disabled bool
	set := &cobra.Command{
		Use:   "set ID -f FILE",
		Short: "Create or replace a rule defined through the API (one rule as YAML)",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if setFile == "" {
				return usagef("rules set needs -f FILE with the rule in YAML")
			}
			body, err := draftRule(setFile)
			if err != nil {
				return err
			}
			b, release, err := backendAs[api.RulesBackend](cmd.Context(), g, "rules")
			if err != nil {
				return err
			}
			defer release()
			enabled := !disabled
			r, err := b.PutRule(cmd.Context(), args[0], api.RuleRequest{Body: body, Enabled: &enabled})
			if err != nil {
				return err
			}
			fmt.Fprintf(g.stdout, "rule %s saved (%s, every %s, %s)\n", r.ID, r.Severity, r.Interval, map[bool]string{true: "enabled", false: "disabled"}[r.Enabled])
			return nil
		},
	}
	set.Flags().StringVarP(&setFile, "file", "f", "", "the rule in YAML")
	set.Flags().BoolVar(&disabled, "disabled", false, "store the rule without running it")
	del := &cobra.Command{
		Use:   "delete ID",
		Short: "Delete a rule defined through the API",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			b, release, err := backendAs[api.RulesBackend](cmd.Context(), g, "rules")
			if err != nil {
				return err
			}
			defer release()
			if err := b.DeleteRule(cmd.Context(), args[0]); err != nil {
				return err
			}
			fmt.Fprintf(g.stdout, "rule %s deleted\n", args[0])
			return nil
		},
	}
	cmd.AddCommand(list, show, test, backtest, set, del)
	return cmd
}

func listRules(cmd *cobra.Command, g *globals) error {
	format, err := g.outputFormat()
	if err != nil {
		return err
	}
	b, release, err := backendAs[api.RulesBackend](cmd.Context(), g, "rules")
	if err != nil {
		return err
	}
	defer release()
	res, err := b.Rules(cmd.Context())
	if err != nil {
		return err
	}
	if format == "json" {
		return printJSON(g.stdout, res)
	}
	rows := make([][]any, 0, len(res.Rules))
	for _, r := range res.Rules {
		rows = append(rows, []any{r.ID, r.Severity, r.Mode, r.Interval, r.Origin, r.Health, r.Pending, r.Firing, optTime(r.LastEval)})
	}
	return printTable(g.stdout, []string{"id", "severity", "mode", "every", "origin", "health", "pending", "firing", "last_eval"}, rows)
}

// draftRule reads one rule from a file: a bare rule mapping, or a rule
// file whose first rule it re-encodes.
func draftRule(path string) (string, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return "", err
	}
	var file struct {
		Rules []yaml.Node `yaml:"rules"`
	}
	if err := yaml.Unmarshal(b, &file); err != nil || len(file.Rules) == 0 {
		return string(b), nil // one bare rule; the server reports what is wrong with it
	}
	if len(file.Rules) != 1 {
		return "", usagef("%s holds %d rules; give a file with one", path, len(file.Rules))
	}
	out, err := yaml.Marshal(&file.Rules[0])
	if err != nil {
		return "", err
	}
	return string(out), nil
}

// backtestMethod describes how a backtest's steps ran.
func backtestMethod(m string) string {
	switch m {
	case "sliding":
		return ", sliding window over per-step panes"
	case "batched":
		return ", batched"
	}
	return ""
}

func printBacktest(g *globals, res *api.BacktestAnswer) {
	w := g.stdout
	fmt.Fprintf(w, "rule %s — %s\n", res.RuleID, res.Name)
	fmt.Fprintf(w, "  %d evaluations every %s from %s to %s in %s (%d queries%s)\n",
		res.Evaluations, time.Duration(res.Step), res.From.UTC().Format("Mon 2006-01-02 15:04"), res.To.UTC().Format("Mon 2006-01-02 15:04"),
		time.Duration(res.Elapsed).Round(time.Millisecond), res.Queries, backtestMethod(res.Method))
	if res.CachedSteps > 0 {
		fmt.Fprintf(w, "  %d of them kept from earlier replays (the rest are new or their spans changed)\n", res.CachedSteps)
	}
	if len(res.Firings) == 0 {
		fmt.Fprintln(w, "  it would never have fired")
	} else {
		fmt.Fprintf(w, "  it would have fired %s, sending %s; first at %s\n",
			plural(len(res.Firings), "time"), plural(res.Notifications, "notification"), res.FirstFiring.UTC().Format("Mon 2006-01-02 15:04 MST"))
	}
	if !res.IncidentStart.IsZero() {
		switch {
		case res.FirstFiring.IsZero():
			fmt.Fprintf(w, "  the incident began %s; the rule would not have caught it\n", res.IncidentStart.UTC().Format("Mon 2006-01-02 15:04 MST"))
		case res.DetectionGap >= 0:
			fmt.Fprintf(w, "  detection gap: %s after the incident began (%s)\n", time.Duration(res.DetectionGap).Round(time.Minute), res.IncidentStart.UTC().Format("Mon 15:04"))
		default:
			fmt.Fprintf(w, "  it would have fired %s before the incident's given start\n", (-time.Duration(res.DetectionGap)).Round(time.Minute))
		}
	}
	if len(res.PerDay) > 0 {
		fmt.Fprintln(w)
		most := 1
		for _, d := range res.PerDay {
			most = max(most, d.Notifications)
		}
		rows := make([][]any, 0, len(res.PerDay))
		for _, d := range res.PerDay {
			rows = append(rows, []any{d.Day, d.Firings, d.Notifications, strings.Repeat("█", (d.Notifications*30+most-1)/most)})
		}
		printTable(w, []string{"day", "firings", "notifications", ""}, rows)
	}
	if n := len(res.Firings); n > 0 {
		fmt.Fprintln(w)
		shown := res.Firings[:min(n, 10)]
		rows := make([][]any, 0, len(shown))
		for _, f := range shown {
			rows = append(rows, []any{f.StartedAt, optTime(f.ResolvedAt), labelSummary(f.Labels)})
		}
		printTable(w, []string{"started", "resolved", "labels"}, rows)
		if n > len(shown) {
			fmt.Fprintf(w, "… and %d more (--format json lists them all)\n", n-len(shown))
		}
	}
}

// labelSummary renders the identifying labels of an alert compactly.
func labelSummary(labels map[string]string) string {
	var parts []string
	for k, v := range labels {
		if k == alert.LabelAlertName || k == alert.LabelSeverity {
			continue
		}
		parts = append(parts, k+"="+v)
	}
	slices.Sort(parts)
	return strings.Join(parts, " ")
}

func indent(s, prefix string) string {
	return prefix + strings.ReplaceAll(s, "\n", "\n"+prefix)
}
