package main

import (
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/tracehound/tracehound/api"
	"github.com/tracehound/tracehound/config"
	"github.com/tracehound/tracehound/detect"
)

func newInvestigateCmd(g *globals) *cobra.Command {
	var req api.InvestigationRequest
	cmd := &cobra.Command{
		Use:   "investigate IP|KEY... [--since 7d]",
		Short: "Investigate callers: a verdict with its evidence for each IP address or API key",
		Long: `Investigate pulls the callers' traffic, runs the behavioural detectors
(sequential-id enumeration, pagination crawling, export volume against peers,
single-endpoint focus, one key from many networks, credential stuffing and
spraying, forced browsing, automation timing, new key with high volume), joins
IP enrichment and the API map, and gives each caller a verdict ("Malicious —
Data Exfiltration", "Benign — Partner integration", ...), a certainty, a risk
score 0–100, the findings with their figures, MITRE ATT&CK techniques, OWASP
API Top 10 categories, remediation steps and the campaign it belongs to.

Every figure comes from a query; each detector's evidence carries the SQL that
reproduces it (--format json). With an LLM configured, --narrate adds a
worded summary; it cannot change the verdict or the numbers.

Callers are IP addresses or API key ids ("key:ID" for an id that reads as an
address).

Examples:
  tracehound investigate 104.248.73.19 167.71.205.88 178.128.44.156
  tracehound investigate dvk_trial_8f3a --since 30d
  tracehound keys --first-seen-within 60d     # then investigate the riskiest`,
		Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			format, err := g.outputFormat()
			if err != nil {
				return err
			}
			b, release, err := backendAs[api.InvestigateBackend](cmd.Context(), g, "investigations")
			if err != nil {
				return err
			}
			defer release()
			req.Callers = args
			if len(args) > 20 && isTerminal(g.stderr) {
				req.Progress = func(done, total int) {
					fmt.Fprintf(g.stderr, "\rinvestigated %d of %d callers", done, total)
					if done == total {
						fmt.Fprintln(g.stderr)
					}
				}
			}
			res, err := b.Investigate(cmd.Context(), req)
			if err != nil {
				return err
			}
			if format == "json" {
				return printJSON(g.stdout, res)
			}
			printInvestigation(g.stdout, res)
			return nil
		},
	}
	cmd.Flags().StringVar(&req.Since, "since", "7d", "start of the window: a duration back from now or an RFC 3339 time")
	cmd.Flags().StringVar(&req.Until, "until", "", "end of the window (default now)")
	cmd.Flags().BoolVar(&req.Narrate, "narrate", false, "ask the configured LLM to word the worst finding")
	return cmd
}

func printInvestigation(w io.Writer, res *api.InvestigationResult) {
	rep := res.Report
	fmt.Fprintf(w, "%s  (%s – %s, %d queries, %.1fs)\n", rep.Overall.Verdict, rep.Since.Format(time.DateTime), rep.Until.Format(time.DateTime), rep.Queries, rep.ElapsedMS/1000)
	if rep.Overall.Summary != "" {
		fmt.Fprintf(w, "%s\n", rep.Overall.Summary)
	}
	for _, c := range rep.Callers {
		fmt.Fprintf(w, "\n%s — %s\n", c.Caller, c.Verdict)
		fmt.Fprintf(w, "  certainty %s, risk %d/100", c.Certainty, c.RiskScore)
		if e := c.Enrichment; e != nil {
			var parts []string
			for _, p := range []string{e.Country, asText(e.ASN, e.ASOrg), e.UsageType} {
				if p != "" {
					parts = append(parts, p)
				}
			}
			if len(parts) > 0 {
				fmt.Fprintf(w, "; %s", strings.Join(parts, ", "))
			}
		}
		fmt.Fprintln(w)
		if c.Summary != "" {
			fmt.Fprintf(w, "  %s\n", c.Summary)
		}
		if c.AttackPattern != "" {
			fmt.Fprintf(w, "  pattern: %s\n", c.AttackPattern)
		}
		if len(c.Findings) > 0 {
			fmt.Fprintln(w, "  findings:")
			for _, f := range c.Findings {
				fmt.Fprintf(w, "    - %s\n", f.Text)
			}
		}
		if len(c.AttackTechniques) > 0 {
			var ts []string
			for _, t := range c.AttackTechniques {
				ts = append(ts, t.ID+" "+t.Name)
			}
			fmt.Fprintf(w, "  ATT&CK: %s\n", strings.Join(ts, "; "))
		}
		if len(c.OWASP) > 0 {
			var os []string
			for _, o := range c.OWASP {
				os = append(os, o.ID+" "+o.Name)
			}
			fmt.Fprintf(w, "  OWASP API: %s\n", strings.Join(os, "; "))
		}
		if len(c.Remediation) > 0 {
			fmt.Fprintln(w, "  remediation:")
			for _, r := range c.Remediation {
				fmt.Fprintf(w, "    - %s\n", r)
			}
		}
		if c.Campaign != nil {
			fmt.Fprintf(w, "  campaign %s (%d members): %s\n", c.Campaign.ID, c.Campaign.Members, c.Campaign.Summary)
		}
	}
	for _, cam := range rep.Campaigns {
		printCampaign(w, cam)
	}
	if res.Narrative != nil {
		fmt.Fprintf(w, "\nLLM summary (checked against the figures): %s\n", res.Narrative.Summary)
	} else if res.NarrativeError != "" {
		fmt.Fprintf(w, "\n(no LLM summary: %s)\n", res.NarrativeError)
	}
}

func printCampaign(w io.Writer, cam *detect.Campaign) {
	fmt.Fprintf(w, "\ncampaign %s — %s\n", cam.ID, cam.Verdict)
	fmt.Fprintf(w, "  %s\n", cam.Summary)
	fmt.Fprintf(w, "  target %s; %d addresses; linked by %s; %d requests, %s; %d unique objects", cam.Target, cam.IPCount, strings.Join(cam.LinkedBy, ", "), cam.Requests, humanBytes(cam.Bytes), cam.UniqueObjects)
	if cam.ObjectSource != "" {
		fmt.Fprintf(w, " (%s)", cam.ObjectSource)
	}
	fmt.Fprintf(w, "; %.0f hours\n", cam.DurationHours)
	for _, e := range cam.Timeline {
		fmt.Fprintf(w, "    %s  %-16s %s\n", e.At.UTC().Format("2006-01-02 15:04"), e.Kind, e.Text)
	}
}

func asText(asn uint32, org string) string {
	if asn == 0 {
		return org
	}
	if org == "" {
		return fmt.Sprintf("AS%d", asn)
	}
	return fmt.Sprintf("AS%d %s", asn, org)
}

func newKeysCmd(g *globals) *cobra.Command {
	var q api.KeysQuery
	var within config.Duration
	cmd := &cobra.Command{
		Use:   "keys [--first-seen-within 60d]",
		Short: "List the API keys seen in traffic: age, addresses, networks, endpoints, volume, risk",
		Long: `Keys is the inventory of API consumers as seen in traffic: each API key's
first request (its age), the addresses and networks it came from, the
endpoints it called, its volume and error mix, and a risk score, riskiest
first. "Audit all trial accounts created in the past 60 days" is

  tracehound keys --first-seen-within 60d

and each key can then be investigated like an address:

  tracehound investigate KEY_ID`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			format, err := g.outputFormat()
			if err != nil {
				return err
			}
			b, release, err := backendAs[api.InvestigateBackend](cmd.Context(), g, "the key inventory")
			if err != nil {
				return err
			}
			defer release()
			q.FirstSeenWithin = time.Duration(within)
			res, err := b.Keys(cmd.Context(), q)
			if err != nil {
				return err
			}
			if format == "json" {
				return printJSON(g.stdout, res)
			}
			rows := make([][]any, 0, len(res.Keys))
			for _, k := range res.Keys {
				rows = append(rows, []any{k.APIKeyID, k.FirstSeen.UTC().Format("2006-01-02"), fmt.Sprintf("%.0f", k.AgeDays), k.Requests, humanBytes(k.Bytes),
					k.IPCount, k.Networks, k.Endpoints, k.TopEndpoint, fmt.Sprintf("%.0f%%", 100*k.ErrorRate), k.RiskScore, strings.Join(k.RiskFactors, "; ")})
			}
			if err := printTable(g.stdout, []string{"api_key_id", "first_seen", "age_days", "requests", "bytes", "ips", "networks", "endpoints", "top_endpoint", "errors", "risk", "why"}, rows); err != nil {
				return err
			}
			fmt.Fprintf(g.stderr, "%d of %d keys (%s – %s)\n", len(res.Keys), res.Total, res.Since.Format(time.DateTime), res.Until.Format(time.DateTime))
			return nil
		},
	}
	cmd.Flags().Var(&within, "first-seen-within", "keep keys first seen this recently, such as 60d")
	cmd.Flags().StringVar(&q.Since, "since", "7d", "start of the traffic window")
	cmd.Flags().IntVar(&q.Limit, "limit", 100, "keys to list, riskiest first")
	return cmd
}

func newCampaignsCmd(g *globals) *cobra.Command {
	var q api.CampaignQuery
	cmd := &cobra.Command{
		Use:   "campaigns [--since 7d]",
		Short: "Find coordinated campaigns: callers that share a key, agent and target and split the work",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			format, err := g.outputFormat()
			if err != nil {
				return err
			}
			b, release, err := backendAs[api.InvestigateBackend](cmd.Context(), g, "campaigns")
			if err != nil {
				return err
			}
			defer release()
			if isTerminal(g.stderr) {
				q.Progress = func(done, total int) {
					fmt.Fprintf(g.stderr, "\rscreened %d of %d addresses", done, total)
					if done == total {
						fmt.Fprintln(g.stderr)
					}
				}
			}
			res, err := b.Campaigns(cmd.Context(), q)
			if err != nil {
				return err
			}
			if format == "json" {
				return printJSON(g.stdout, res)
			}
			if len(res.Campaigns) == 0 {
				fmt.Fprintf(g.stdout, "no campaign among %d screened addresses\n", res.Screened)
			}
			for _, c := range res.Campaigns {
				printCampaign(g.stdout, c)
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&q.Since, "since", "7d", "start of the window")
	return cmd
}
