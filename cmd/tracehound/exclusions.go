package main

import (
	"fmt"
	"io"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"golang.org/x/term"

	"github.com/tracehound/tracehound/api"
	"github.com/tracehound/tracehound/exclude"
)

// exclusionFlags are the flags that define an exclusion on the command
// line (add, test --inline).
type exclusionFlags struct {
	id, reason, expires, shadow string
	paths, ips, keys, uas, asns []string
	statuses, sqls              []string
	anyMatch                    bool
	rules                       []string
	allRules, existingRules     bool
	file                        string
	force                       bool
	forceReason, since, until   string
}

func (f *exclusionFlags) conditionFlags(c *cobra.Command) {
	fl := c.Flags()
	fl.StringArrayVar(&f.paths, "path", nil, "path_glob condition: a glob (/health*, /api/*/status, /admin/**) or an API-map template (/v1/users/{id})")
	fl.StringArrayVar(&f.ips, "ip", nil, "ip_cidr condition: addresses or ranges, IPv4 or IPv6, comma-separated")
	fl.StringArrayVar(&f.keys, "api-key", nil, "api_key condition: an api_key_id")
	fl.StringArrayVar(&f.uas, "user-agent", nil, "user_agent condition: exact, or with * wildcards")
	fl.StringArrayVar(&f.asns, "asn", nil, "asn condition (AS14061): the enriched addresses of the autonomous system")
	fl.StringArrayVar(&f.statuses, "status", nil, "status condition: 404, 4xx, 500-599 or a comma-separated list")
	fl.StringArrayVar(&f.sqls, "sql", nil, "sql_predicate condition: one boolean expression over the traces columns")
	fl.BoolVar(&f.anyMatch, "any", false, "match any condition instead of all of them")
	fl.StringArrayVar(&f.rules, "rule", nil, "apply to this rule (repeatable)")
	fl.BoolVar(&f.allRules, "all-rules", false, "apply to every rule, including rules added later")
	fl.BoolVar(&f.existingRules, "existing-rules", false, "apply to every rule that exists now, not to rules added later")
	fl.StringVar(&f.reason, "reason", "", "why this traffic is benign (required to add)")
	fl.StringVar(&f.expires, "expires", "", `when it stops applying: a duration (30d), an RFC 3339 time, or "never" (required to add)`)
	fl.StringVar(&f.id, "id", "", "the exclusion's id (default: generated)")
}

// exclusion builds the exclusion the flags define.
func (f *exclusionFlags) exclusion() (exclude.Exclusion, error) {
	e := exclude.Exclusion{ID: f.id, Reason: f.reason, Match: exclude.MatchAll}
	if f.anyMatch {
		e.Match = exclude.MatchAny
	}
	for _, c := range []struct {
		kind exclude.Kind
		vals []string
	}{{exclude.KindPathGlob, f.paths}, {exclude.KindIPCIDR, f.ips}, {exclude.KindAPIKey, f.keys}, {exclude.KindUserAgent, f.uas},
		{exclude.KindASN, f.asns}, {exclude.KindStatus, f.statuses}, {exclude.KindSQLPredicate, f.sqls}} {
		for _, v := range c.vals {
			e.Conditions = append(e.Conditions, exclude.Condition{Kind: c.kind, Value: v})
		}
	}
	if len(e.Conditions) == 0 {
		return e, usagef("give at least one condition: --path, --ip, --api-key, --user-agent, --asn, --status or --sql")
	}
	switch n := btoi(len(f.rules) > 0) + btoi(f.allRules) + btoi(f.existingRules); {
	case n > 1:
		return e, usagef("give one scope: --rule (repeatable), --all-rules or --existing-rules")
	case f.allRules:
		e.Scope.Kind = exclude.ScopeAny
	case f.existingRules:
		e.Scope.Kind = exclude.ScopeExisting
	case len(f.rules) == 1:
		e.Scope = exclude.Scope{Kind: exclude.ScopeRule, RuleIDs: f.rules}
	case len(f.rules) > 1:
		e.Scope = exclude.Scope{Kind: exclude.ScopeRules, RuleIDs: f.rules}
	}
	if f.expires != "" {
		x, err := exclude.ParseExpiry(f.expires)
		if err != nil {
			return e, usageError{err}
		}
		e.ExpiresAt = x
	}
	return e, nil
}

func btoi(b bool) int {
	if b {
		return 1
	}
	return 0
}

func newExclusionsCmd(g *globals) *cobra.Command {
	var q api.ExclusionQuery
	cmd := &cobra.Command{
		Use:     "exclusions",
		Aliases: []string{"exclusion"},
		Short:   "Keep benign traffic out of rules: exclusions, dry runs, suggestions",
		Long: `Exclusions keep benign traffic out of detection rules without turning the rules
off. An exclusion is conditions on spans (path glob or API-map template, IP
address or range, API key, user agent, autonomous system, status code, or a
SQL predicate), all or any of which must match, scoped to some rules, with a
required reason and expiry. The matching spans are filtered out of the rule's
query before it counts and compares with its threshold.

Test before you apply: 'exclusions test' replays the rules over the last 7
days with and without the exclusion and shows the notifications that would
disappear, the spans excluded per day and by key, and — flagged — any
notification triaged as a true positive (investigating or resolved) or any
address rated malicious it would suppress. Adding an exclusion that
suppresses a true positive needs --force and --force-reason.

  tracehound exclusions                              # live exclusions
  tracehound exclusions list --expired               # expired or out of shadow: review them
  tracehound exclusions test --inline --path '/v1/collections/*/documents' --ip 198.51.100.0/24 --rule bulk_reads_per_ip
  tracehound exclusions test partner.yaml --since 14d
  tracehound exclusions add -f partner.yaml
  tracehound exclusions add --path '/health*' --user-agent 'kube-probe/*' --all-rules \
      --reason "Kubernetes liveness probes" --expires never
  tracehound exclusions add -f partner.yaml --shadow 7d   # record what it would suppress for a week
  tracehound exclusions suggest
  tracehound exclusions rm exc-1a2b3c4d5e

An exclusion file holds one exclusion, or several under "exclusions:":

  id: partner-nightly-sync
  conditions:
    - {kind: api_key, value: dvk_partner}
    - {kind: path_glob, value: /v1/collections/*/documents}
  match: all
  scope: {kind: rules, rule_ids: [bulk_reads_per_ip, api_key_volume_spike]}
  reason: Acme's nightly sync, agreed with their integration team
  expires_at: 90d`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error { return listExclusions(cmd, g, q) },
	}
	list := &cobra.Command{Use: "list", Short: "List exclusions with their status, hits and expiry", Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error { return listExclusions(cmd, g, q) }}
	list.Flags().BoolVar(&q.Expired, "expired", false, "list the exclusions to review: expired, or shadow ones whose shadow period ended")
	list.Flags().BoolVar(&q.All, "all", false, "list every exclusion")

	show := &cobra.Command{
		Use:   "show ID",
		Short: "Show one exclusion and what it would have suppressed in shadow",
		Args:  exactArgs(1, "exclusions show needs one exclusion id"),
		RunE: func(cmd *cobra.Command, args []string) error {
			format, err := g.outputFormat()
			if err != nil {
				return err
			}
			b, release, err := backendAs[api.ExclusionsBackend](cmd.Context(), g, "exclusions")
			if err != nil {
				return err
			}
			defer release()
			d, err := b.Exclusion(cmd.Context(), args[0])
			if err != nil {
				return err
			}
			if format == "json" {
				return printJSON(g.stdout, d)
			}
			printExclusion(g.stdout, d)
			return nil
		},
	}

	var af exclusionFlags
	add := &cobra.Command{
		Use:   "add [-f FILE | condition flags]",
		Short: "Add an exclusion (checked first against notifications triaged as true positives)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			format, err := g.outputFormat()
			if err != nil {
				return err
			}
			var es []exclude.Exclusion
			if af.file != "" {
				if es, err = readExclusionFile(af.file); err != nil {
					return err
				}
			} else {
				e, err := af.exclusion()
				if err != nil {
					return err
				}
				es = []exclude.Exclusion{e}
			}
			if af.force && strings.TrimSpace(af.forceReason) == "" {
				return usagef("--force needs --force-reason: say why suppressing true positives is acceptable")
			}
			for i := range es {
				if af.shadow != "" {
					d, err := exclude.ParseExpiry(af.shadow)
					if err != nil || d.In <= 0 {
						return usagef("--shadow %q: want a duration such as 7d", af.shadow)
					}
					es[i].Mode, es[i].ShadowUntil = exclude.ModeShadow, time.Now().Add(d.In).UTC()
				}
			}
			b, release, err := backendAs[api.ExclusionsBackend](cmd.Context(), g, "exclusions")
			if err != nil {
				return err
			}
			defer release()
			var added []*api.ExclusionDetail
			for _, e := range es {
				d, err := b.AddExclusion(cmd.Context(), api.ExclusionRequest{Exclusion: e, Force: af.force, ForceReason: af.forceReason, Since: af.since})
				if err != nil {
					return err
				}
				added = append(added, d)
			}
			if format == "json" {
				if len(added) == 1 {
					return printJSON(g.stdout, added[0])
				}
				return printJSON(g.stdout, added)
			}
			for _, d := range added {
				fmt.Fprintf(g.stdout, "exclusion %s added (%s, %s, expires %s)\n", d.ID, d.Status, scopeText(d.Scope), expiryText(d.ExpiresAt))
				if d.ForceReason != "" {
					fmt.Fprintf(g.stdout, "  forced despite suppressed true positives: %s\n", d.ForceReason)
				}
			}
			return nil
		},
	}
	af.conditionFlags(add)
	add.Flags().StringVarP(&af.file, "file", "f", "", "read the exclusion(s) from this YAML or JSON file")
	add.Flags().StringVar(&af.shadow, "shadow", "", "apply in shadow for this long (7d): record what it would suppress, suppress nothing")
	add.Flags().BoolVar(&af.force, "force", false, "add it although it suppresses notifications triaged as true positives")
	add.Flags().StringVar(&af.forceReason, "force-reason", "", "why suppressing those true positives is acceptable (with --force)")
	add.Flags().StringVar(&af.since, "since", "", "window of the true-positive check (default 7d)")

	rm := &cobra.Command{
		Use:     "rm ID...",
		Aliases: []string{"delete"},
		Short:   "Remove exclusions",
		Args:    minArgs(1, "exclusions rm needs at least one exclusion id"),
		RunE: func(cmd *cobra.Command, args []string) error {
			b, release, err := backendAs[api.ExclusionsBackend](cmd.Context(), g, "exclusions")
			if err != nil {
				return err
			}
			defer release()
			for _, id := range args {
				if err := b.DeleteExclusion(cmd.Context(), id); err != nil {
					return err
				}
				fmt.Fprintf(g.stdout, "exclusion %s removed\n", id)
			}
			return nil
		},
	}

	var actForce bool
	var actReason, actSince string
	activate := &cobra.Command{
		Use:   "activate ID",
		Short: "Turn a shadow exclusion active (checked against true positives first)",
		Args:  exactArgs(1, "exclusions activate needs one exclusion id"),
		RunE: func(cmd *cobra.Command, args []string) error {
			if actForce && strings.TrimSpace(actReason) == "" {
				return usagef("--force needs --force-reason")
			}
			b, release, err := backendAs[api.ExclusionsBackend](cmd.Context(), g, "exclusions")
			if err != nil {
				return err
			}
			defer release()
			d, err := b.ActivateExclusion(cmd.Context(), args[0], api.ActivateRequest{Force: actForce, ForceReason: actReason, Since: actSince})
			if err != nil {
				return err
			}
			fmt.Fprintf(g.stdout, "exclusion %s is %s\n", d.ID, d.Status)
			return nil
		},
	}
	activate.Flags().BoolVar(&actForce, "force", false, "activate it although it suppresses notifications triaged as true positives")
	activate.Flags().StringVar(&actReason, "force-reason", "", "why suppressing those true positives is acceptable")
	activate.Flags().StringVar(&actSince, "since", "", "window of the true-positive check (default 7d)")

	var tf exclusionFlags
	var inline bool
	test := &cobra.Command{
		Use:   "test FILE | test --inline CONDITIONS",
		Short: "Dry-run exclusions over history: what they would have suppressed",
		Long: `Test replays the rules each exclusion covers over the window (default the last
7 days) through the same backtest as 'rules backtest', with the active
exclusions and then with this one too, and prints the notifications that
would disappear (or appear), the spans it excludes per day and its most
excluded addresses, paths, keys and user agents. Notifications triaged as
true positives, and alerts or traffic from addresses rated malicious, that
it would suppress are flagged. Exit 1 when anything is flagged.

Without --rule, --all-rules or --existing-rules, an inline draft covers
every rule.`,
		Args: func(cmd *cobra.Command, args []string) error {
			if inline == (len(args) == 1) || len(args) > 1 {
				return usagef("exclusions test needs one exclusion file, or --inline with condition flags")
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			format, err := g.outputFormat()
			if err != nil {
				return err
			}
			var es []exclude.Exclusion
			if inline {
				e, err := tf.exclusion()
				if err != nil {
					return err
				}
				es = []exclude.Exclusion{e}
			} else if es, err = readExclusionFile(args[0]); err != nil {
				return err
			}
			until, err := parseUntil(tf.until)
			if err != nil {
				return err
			}
			b, release, err := backendAs[api.ExclusionsBackend](cmd.Context(), g, "exclusions")
			if err != nil {
				return err
			}
			defer release()
			var results []*exclude.DryRunResult
			flagged := 0
			for i := range es {
				req := api.DryRunRequest{Exclusion: &es[i], Since: tf.since, Until: until, Progress: progressPrinter(g.stderr)}
				res, err := b.DryRunExclusion(cmd.Context(), req)
				if err != nil {
					return err
				}
				results = append(results, res)
				flagged += len(res.SuppressedTruePositives)
			}
			if format == "json" {
				if len(results) == 1 {
					err = printJSON(g.stdout, results[0])
				} else {
					err = printJSON(g.stdout, results)
				}
			} else {
				for i, res := range results {
					if i > 0 {
						fmt.Fprintln(g.stdout)
					}
					printDryRun(g.stdout, res, isTerminal(g.stdout))
				}
			}
			if err != nil {
				return err
			}
			if flagged > 0 {
				return fmt.Errorf("%d flagged suppression(s): the exclusion would hide true positives or malicious traffic", flagged)
			}
			return nil
		},
	}
	tf.conditionFlags(test)
	test.Flags().BoolVar(&inline, "inline", false, "test the exclusion the condition flags define")
	test.Flags().StringVar(&tf.since, "since", "", "how far back to replay (default 7d, at most 31d)")
	test.Flags().StringVar(&tf.until, "until", "", "end of the window, RFC 3339 (default now)")

	var sSince, sUntil string
	var sMax int
	var sNarrate bool
	suggest := &cobra.Command{
		Use:   "suggest",
		Short: "Suggest the narrowest exclusions for false positives and stable benign callers",
		Long: `Suggest looks at the notifications closed as false positives and at the open
ones of stable callers (health checkers, monitoring ranges, partners on a
daily schedule, internal services: present every day, regular, one user
agent, few errors), and proposes for each caller the narrowest exclusion
that would have removed its notifications — its key, addresses and the
paths it calls rather than a whole prefix — that suppresses no true
positive, with its dry run. Save one to a file and 'exclusions add -f' it.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			format, err := g.outputFormat()
			if err != nil {
				return err
			}
			until, err := parseUntil(sUntil)
			if err != nil {
				return err
			}
			b, release, err := backendAs[api.ExclusionsBackend](cmd.Context(), g, "exclusions")
			if err != nil {
				return err
			}
			defer release()
			res, err := b.ExclusionSuggestions(cmd.Context(), api.SuggestionQuery{Since: sSince, Until: until, Max: sMax, Narrate: sNarrate})
			if err != nil {
				return err
			}
			if format == "json" {
				return printJSON(g.stdout, res)
			}
			if len(res.Suggestions) == 0 {
				fmt.Fprintln(g.stdout, "no suggestion: no false positive or stable benign caller in the window")
				return nil
			}
			for i, s := range res.Suggestions {
				if i > 0 {
					fmt.Fprintln(g.stdout)
				}
				fmt.Fprintf(g.stdout, "suggestion %d (%s): %s\n", i+1, s.Source, s.Rationale)
				fmt.Fprintf(g.stdout, "  conditions: %s\n  scope: %s\n", conditionsText(s.Exclusion), scopeText(s.Exclusion.Scope))
				fmt.Fprintf(g.stdout, "  removes %d of its %d notification(s); dry run: %d → %d notifications, %d spans excluded\n",
					s.Removes, len(s.Notifications), s.DryRun.NotificationsBefore, s.DryRun.NotificationsAfter, s.DryRun.RowsExcluded)
				if i < len(res.Narratives) {
					if n := res.Narratives[i]; n.Narrative != nil {
						fmt.Fprintf(g.stdout, "  in words (LLM, checked): %s\n", n.Narrative.Summary)
					} else {
						fmt.Fprintf(g.stdout, "  no wording: %s\n", n.Error)
					}
				}
			}
			if res.NarrativeError != "" {
				fmt.Fprintf(g.stdout, "\n(%s)\n", res.NarrativeError)
			}
			return nil
		},
	}
	suggest.Flags().StringVar(&sSince, "since", "", "window (default 7d)")
	suggest.Flags().StringVar(&sUntil, "until", "", "end of the window, RFC 3339 (default now)")
	suggest.Flags().IntVar(&sMax, "max", 0, "at most this many suggestions (default 5)")
	suggest.Flags().BoolVar(&sNarrate, "narrate", false, "have the configured LLM word each suggestion (checked against its figures)")

	cmd.AddCommand(list, show, add, rm, activate, test, suggest, newSilencesCmd(g))
	return cmd
}

func newSilencesCmd(g *globals) *cobra.Command {
	var all bool
	list := func(cmd *cobra.Command, _ []string) error {
		format, err := g.outputFormat()
		if err != nil {
			return err
		}
		b, release, err := backendAs[api.SilencesBackend](cmd.Context(), g, "silences")
		if err != nil {
			return err
		}
		defer release()
		res, err := b.Silences(cmd.Context(), all)
		if err != nil {
			return err
		}
		if format == "json" {
			return printJSON(g.stdout, res)
		}
		rows := make([][]any, 0, len(res.Silences))
		for _, s := range res.Silences {
			ms := make([]string, len(s.Matchers))
			for i, m := range s.Matchers {
				ms[i] = m.String()
			}
			rows = append(rows, []any{s.ID, map[bool]string{true: "active", false: "pending"}[s.Active], strings.Join(ms, " "), s.StartsAt, s.EndsAt, s.Comment})
		}
		return printTable(g.stdout, []string{"id", "state", "matchers", "starts", "ends", "comment"}, rows)
	}
	cmd := &cobra.Command{
		Use:   "silences",
		Short: "Mute notifications for a while (label matchers); alerts are still recorded",
		Long: `A silence mutes the notifications of the alerts whose labels match all its
matchers (Alertmanager syntax) during its window; the alerts are still
recorded for triage, and rules compute as before. Use it for maintenance
windows; use an exclusion for traffic that is benign for good.

  tracehound exclusions silences add --match 'alertname="error_rate_spike"' --match 'service_name="billing"' \
      --for 2h --comment "billing database upgrade"
  tracehound exclusions silences
  tracehound exclusions silences rm sil-1a2b3c4d5e`,
		Args: cobra.NoArgs,
		RunE: list,
	}
	cmd.Flags().BoolVar(&all, "all", false, "list ended silences too")
	var req api.SilenceRequest
	var until string
	add := &cobra.Command{
		Use:   "add --match M... (--for D | --until T) --comment C",
		Short: "Add a silence",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if len(req.Matchers) == 0 {
				return usagef("give at least one --match, such as --match 'alertname=\"error_rate_spike\"'")
			}
			if (req.Duration == "") == (until == "") {
				return usagef("give --for or --until")
			}
			if until != "" {
				t, err := parseUntil(until)
				if err != nil {
					return err
				}
				req.EndsAt = t
			}
			b, release, err := backendAs[api.SilencesBackend](cmd.Context(), g, "silences")
			if err != nil {
				return err
			}
			defer release()
			s, err := b.AddSilence(cmd.Context(), req)
			if err != nil {
				return err
			}
			fmt.Fprintf(g.stdout, "silence %s added, until %s\n", s.ID, s.EndsAt.UTC().Format(time.RFC3339))
			return nil
		},
	}
	add.Flags().StringArrayVar(&req.Matchers, "match", nil, "label matcher: name=\"v\", name!=\"v\", name=~\"re\" or name!~\"re\" (repeatable; all must match)")
	add.Flags().StringVar(&req.Duration, "for", "", "how long it lasts from now (2h, 1d)")
	add.Flags().StringVar(&until, "until", "", "when it ends, RFC 3339")
	add.Flags().StringVar(&req.Comment, "comment", "", "why (required)")
	add.Flags().StringVar(&req.ID, "id", "", "the silence's id (default: generated)")
	rm := &cobra.Command{
		Use:   "rm ID...",
		Short: "Remove silences",
		Args:  minArgs(1, "silences rm needs at least one silence id"),
		RunE: func(cmd *cobra.Command, args []string) error {
			b, release, err := backendAs[api.SilencesBackend](cmd.Context(), g, "silences")
			if err != nil {
				return err
			}
			defer release()
			for _, id := range args {
				if err := b.DeleteSilence(cmd.Context(), id); err != nil {
					return err
				}
				fmt.Fprintf(g.stdout, "silence %s removed\n", id)
			}
			return nil
		},
	}
	cmd.AddCommand(&cobra.Command{Use: "list", Short: "List silences", Args: cobra.NoArgs, RunE: list}, add, rm)
	return cmd
}

func exactArgs(n int, msg string) cobra.PositionalArgs {
	return func(_ *cobra.Command, args []string) error {
		if len(args) != n {
			return usagef("%s", msg)
		}
		return nil
	}
}

func minArgs(n int, msg string) cobra.PositionalArgs {
	return func(_ *cobra.Command, args []string) error {
		if len(args) < n {
			return usagef("%s", msg)
		}
		return nil
	}
}

func parseUntil(s string) (time.Time, error) {
	if s == "" {
		return time.Time{}, nil
	}
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		return time.Time{}, usagef("--until %q: want an RFC 3339 time such as 2026-11-22T02:00:00Z", s)
	}
	return t, nil
}

func readExclusionFile(path string) ([]exclude.Exclusion, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	es, err := exclude.ParseFile(data)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return es, nil
}

func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	return ok && term.IsTerminal(int(f.Fd()))
}

// progressPrinter shows a dry run's progress on a terminal, on one line.
func progressPrinter(w io.Writer) func(exclude.Progress) {
	if !isTerminal(w) {
		return func(exclude.Progress) {}
	}
	return func(p exclude.Progress) {
		switch p.Phase {
		case "done":
			fmt.Fprint(w, "\r\033[K")
		case "count":
			fmt.Fprint(w, "\r\033[Kcounting the excluded spans…")
		default:
			fmt.Fprintf(w, "\r\033[Kreplaying %d/%d rules, %d/%d evaluations (%s)", p.RulesDone, p.RulesTotal, p.StepsDone, p.StepsTotal, p.Rule)
		}
	}
}

func listExclusions(cmd *cobra.Command, g *globals, q api.ExclusionQuery) error {
	format, err := g.outputFormat()
	if err != nil {
		return err
	}
	b, release, err := backendAs[api.ExclusionsBackend](cmd.Context(), g, "exclusions")
	if err != nil {
		return err
	}
	defer release()
	res, err := b.Exclusions(cmd.Context(), q)
	if err != nil {
		return err
	}
	if format == "json" {
		return printJSON(g.stdout, res)
	}
	rows := make([][]any, 0, len(res.Exclusions))
	for _, e := range res.Exclusions {
		rows = append(rows, []any{e.ID, string(e.Status), conditionsText(e.Exclusion), scopeText(e.Scope), expiryText(e.ExpiresAt),
			e.HitCount, optTime(e.LastHit), e.Reason})
	}
	return printTable(g.stdout, []string{"id", "status", "conditions", "scope", "expires", "hits", "last_hit", "reason"}, rows)
}

func conditionsText(e exclude.Exclusion) string {
	parts := make([]string, len(e.Conditions))
	for i, c := range e.Conditions {
		parts[i] = string(c.Kind) + "=" + c.Value
	}
	sep := " and "
	if e.Match == exclude.MatchAny {
		sep = " or "
	}
	return strings.Join(parts, sep)
}

func scopeText(s exclude.Scope) string {
	switch s.Kind {
	case exclude.ScopeAny:
		return "all rules"
	case exclude.ScopeExisting:
		return fmt.Sprintf("%d existing rules", len(s.RuleIDs))
	}
	return strings.Join(s.RuleIDs, ",")
}

func expiryText(x exclude.Expiry) string {
	if x.Never {
		return "never"
	}
	if x.At.IsZero() {
		return ""
	}
	return x.At.UTC().Format("2006-01-02 15:04")
}

func printExclusion(w io.Writer, d *api.ExclusionDetail) {
	fmt.Fprintf(w, "%s — %s\n", d.ID, d.Status)
	fmt.Fprintf(w, "  conditions: %s\n  scope: %s\n  reason: %s\n", conditionsText(d.Exclusion), scopeText(d.Scope), d.Reason)
	fmt.Fprintf(w, "  created by %s at %s, expires %s\n", d.CreatedBy, d.CreatedAt.UTC().Format(time.RFC3339), expiryText(d.ExpiresAt))
	if d.Mode == exclude.ModeShadow && !d.ShadowUntil.IsZero() {
		fmt.Fprintf(w, "  shadow until %s\n", d.ShadowUntil.UTC().Format(time.RFC3339))
	}
	if d.ForceReason != "" {
		fmt.Fprintf(w, "  forced despite suppressed true positives: %s\n", d.ForceReason)
	}
	fmt.Fprintf(w, "  %s matched", plural(int(d.HitCount), "span"))
	if !d.LastHit.IsZero() {
		fmt.Fprintf(w, ", the latest at %s", d.LastHit.UTC().Format(time.RFC3339))
	}
	fmt.Fprintln(w)
	if len(d.Suppressed) > 0 {
		fmt.Fprintf(w, "\nwould have suppressed in shadow (%d):\n", d.ShadowSuppressions)
		rows := make([][]any, 0, len(d.Suppressed))
		for _, s := range d.Suppressed {
			rows = append(rows, []any{s.StartsAt, s.RuleID, labelSummary(s.Labels)})
		}
		printTable(w, []string{"started", "rule", "labels"}, rows)
	}
}

// printDryRun prints a dry run; flagged suppressions are red on a
// terminal.
func printDryRun(w io.Writer, res *exclude.DryRunResult, color bool) {
	red := func(s string) string {
		if color {
			return "\033[31m" + s + "\033[0m"
		}
		return s
	}
	e := res.Exclusion
	fmt.Fprintf(w, "exclusion %s: %s\n  scope %s, from %s to %s (%s)\n", e.ID, conditionsText(e), scopeText(e.Scope),
		res.From.UTC().Format("2006-01-02 15:04"), res.To.UTC().Format("2006-01-02 15:04"), time.Duration(res.Elapsed).Round(time.Millisecond))
	pct := 0.0
	if res.RowsTotal > 0 {
		pct = 100 * float64(res.RowsExcluded) / float64(res.RowsTotal)
	}
	fmt.Fprintf(w, "  excludes %d of %d server spans (%.2f%%); notifications %d → %d (%d firing(s) removed, %d added)\n",
		res.RowsExcluded, res.RowsTotal, pct, res.NotificationsBefore, res.NotificationsAfter, len(res.Removed), len(res.Added))
	for _, warn := range res.Warnings {
		fmt.Fprintf(w, "  warning: %s\n", warn)
	}
	if n := len(res.SuppressedTruePositives); n > 0 {
		fmt.Fprintln(w, red(fmt.Sprintf("\n  !! %d flagged suppression(s):", n)))
		for _, s := range res.SuppressedTruePositives {
			switch s.Why {
			case exclude.WhyTriaged:
				fmt.Fprintln(w, red(fmt.Sprintf("  !! notification #%d (%s, %s) triaged %s would disappear: %s", s.NotificationID, s.RuleID,
					s.StartedAt.UTC().Format("2006-01-02 15:04"), s.Status, labelSummary(s.Labels))))
			case exclude.WhyMaliciousIP:
				fmt.Fprintln(w, red(fmt.Sprintf("  !! alert of %s about %s, rated malicious, would disappear", s.RuleID, s.IP)))
			default:
				fmt.Fprintln(w, red(fmt.Sprintf("  !! it excludes traffic from %s, rated malicious", s.IP)))
			}
		}
	}
	if len(res.Rules) > 0 {
		fmt.Fprintln(w)
		rows := make([][]any, 0, len(res.Rules))
		for _, r := range res.Rules {
			note := r.Skipped
			if r.Error != "" {
				note = "replay failed: " + r.Error
			}
			if note == "" {
				note = time.Duration(r.Elapsed).Round(time.Millisecond).String()
				if r.StepsCached > 0 {
					note += fmt.Sprintf(", baseline %d of %d steps from earlier runs", r.StepsCached, r.Steps)
				}
				if r.GroupsReplayed > 0 {
					note += fmt.Sprintf(", %d touched group(s) replayed", r.GroupsReplayed)
				}
			}
			rows = append(rows, []any{r.RuleID, r.Mode, r.NotificationsBefore, r.NotificationsAfter, r.FiringsRemoved, r.FiringsAdded, note})
		}
		printTable(w, []string{"rule", "mode", "before", "after", "removed", "added", ""}, rows)
	}
	if len(res.Removed) > 0 {
		fmt.Fprintln(w, "\nwould disappear:")
		shown := res.Removed[:min(len(res.Removed), 10)]
		rows := make([][]any, 0, len(shown))
		for _, f := range shown {
			rows = append(rows, []any{f.StartedAt, f.RuleID, labelSummary(f.Labels)})
		}
		printTable(w, []string{"started", "rule", "labels"}, rows)
		if len(res.Removed) > len(shown) {
			fmt.Fprintf(w, "… and %d more (--format json lists them all)\n", len(res.Removed)-len(shown))
		}
	}
	if len(res.TopKeys) > 0 {
		fmt.Fprintln(w, "\nmost excluded:")
		keys := slices.Clone(res.TopKeys)
		rows := make([][]any, 0, len(keys))
		for _, k := range keys {
			rows = append(rows, []any{k.Key, k.Value, k.Rows})
		}
		printTable(w, []string{"key", "value", "spans"}, rows)
	}
	if len(res.PerDay) > 0 {
		fmt.Fprintln(w)
		rows := make([][]any, 0, len(res.PerDay))
		for _, d := range res.PerDay {
			rows = append(rows, []any{d.Day, d.RowsExcluded, d.NotificationsBefore, d.NotificationsAfter})
		}
		printTable(w, []string{"day", "excluded_spans", "notifications_before", "notifications_after"}, rows)
	}
}
