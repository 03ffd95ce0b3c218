package main

import (
	"encoding/json"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/tracehound/tracehound/api"
	"github.com/tracehound/tracehound/config"
	"github.com/tracehound/tracehound/ipintel"
)

// Bounds of 'ip enrich': addresses per request, and in all.
const (
	enrichBatch = 500
	enrichMax   = 65_536
)

func newIPCmd(g *globals) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "ip",
		Short: "Show, enrich, analyse and contain IP addresses (show | enrich | analyse | set | undo)",
		Long: `Ip works on single addresses and CIDR ranges: what tracehound knows about
them (enrichment, status, traffic, history), enriching them from the
configured sources, rating them with the behavioural detectors, and setting
their status — monitoring, investigating, blocked or trusted. Trusted always
beats blocked. Every status change is one undoable change in the IP's
history and the audit log; blocks reach the blocklist exports ('tracehound
blocklist') and CrowdSec bouncers at once.

Examples:
  tracehound ip show 104.248.73.19
  tracehound ip enrich 104.248.73.19 167.71.205.88 178.128.44.156
  tracehound ip analyse --status monitoring,investigating --since 7d
  tracehound ip set 104.248.73.19 167.71.205.88 --status blocked --for 7d --reason "admin export exfiltration"
  tracehound ip undo 12
  tracehound ips --status blocked`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return usagef("ip needs a subcommand: show, enrich, analyse, set or undo (see 'tracehound ip --help')")
		},
	}
	cmd.AddCommand(newIPShowCmd(g), newIPEnrichCmd(g), newIPAnalyseCmd(g), newIPSetCmd(g), newIPUndoCmd(g))
	return cmd
}

func newIPShowCmd(g *globals) *cobra.Command {
	var since config.Duration
	cmd := &cobra.Command{
		Use:   "show IP...",
		Short: "Show an address's or range's status, enrichment, traffic and history",
		Long: `Show prints, for each address or CIDR range: its status and the ranges that
cover it, what enforcement does now (trusted beats blocked), the stored
enrichment (AbuseIPDB score, ISP/ASN, usage type, country), its traffic in
the trace store over --since (requests, bytes, errors, API keys, top
endpoints) and its change history, whose ids 'tracehound ip undo' takes.

Examples:
  tracehound ip show 104.248.73.19
  tracehound ip show 104.248.73.19 198.51.100.0/24 --since 30d --format json`,
		Args: func(cmd *cobra.Command, args []string) error {
			if len(args) == 0 {
				return usagef("ip show needs at least one IP address or CIDR range")
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			format, err := g.outputFormat()
			if err != nil {
				return err
			}
			b, release, err := backendAs[api.IPBackend](cmd.Context(), g, "IP intelligence")
			if err != nil {
				return err
			}
			defer release()
			out := api.IPDetailList{IPs: make([]api.IPDetail, 0, len(args))}
			for _, ip := range args {
				d, err := b.IP(cmd.Context(), ip, time.Duration(since))
				if err != nil {
					return err
				}
				out.IPs = append(out.IPs, *d)
			}
			if format == "json" {
				return printJSON(g.stdout, out)
			}
			for i, d := range out.IPs {
				if i > 0 {
					fmt.Fprintln(g.stdout)
				}
				printIPDetail(g.stdout, d)
			}
			return nil
		},
	}
	cmd.Flags().Var(&since, "since", "traffic window (default 7d)")
	return cmd
}

// enrichment is the part of an ipintel record that tables show.
type enrichment struct {
	AbuseConfidence int      `json:"abuse_confidence"`
	TotalReports    int      `json:"total_reports"`
	ISP             string   `json:"isp"`
	ASN             uint32   `json:"asn"`
	ASOrg           string   `json:"as_org"`
	UsageType       string   `json:"usage_type"`
	Country         string   `json:"country"`
	CountryName     string   `json:"country_name"`
	City            string   `json:"city"`
	Hostnames       []string `json:"hostnames"`
	IsTor           bool     `json:"is_tor"`
	IsPublic        bool     `json:"is_public"`
	Sources         []string `json:"sources"`
}

func (e enrichment) abuse() string {
	for _, s := range e.Sources {
		if strings.HasPrefix(s, "abuseipdb") {
			return fmt.Sprintf("%d%% (%s)", e.AbuseConfidence, plural(e.TotalReports, "report"))
		}
	}
	return "-"
}

func (e enrichment) asn() string {
	if e.ASN == 0 {
		return "-"
	}
	return strings.TrimSpace(fmt.Sprintf("AS%d %s", e.ASN, e.ASOrg))
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

func printIPDetail(w io.Writer, d api.IPDetail) {
	status := d.Status
	if !d.Tracked {
		status = "not tracked"
	}
	fmt.Fprintf(w, "%s  status %s, effective %s", d.IP, status, d.Effective)
	if !d.ExpiresAt.IsZero() {
		fmt.Fprintf(w, ", until %s", d.ExpiresAt.Format(time.RFC3339))
	}
	fmt.Fprintln(w)
	if d.Reason != "" {
		fmt.Fprintf(w, "  reason:     %s\n", d.Reason)
	}
	if len(d.Tags) > 0 {
		fmt.Fprintf(w, "  tags:       %s\n", strings.Join(d.Tags, ", "))
	}
	for _, c := range d.CoveredBy {
		fmt.Fprintf(w, "  covered by: %s (%s", c.IP, c.Status)
		if c.Reason != "" {
			fmt.Fprintf(w, ": %s", c.Reason)
		}
		fmt.Fprintln(w, ")")
	}
	if len(d.Enrichment) == 0 {
		fmt.Fprintf(w, "  enrichment: none yet (tracehound ip enrich %s)\n", d.IP)
	} else {
		var e enrichment
		json.Unmarshal(d.Enrichment, &e)
		loc := strings.Trim(strings.Join([]string{e.City, e.CountryName}, ", "), ", ")
		if e.Country != "" {
			loc = strings.TrimSpace(e.Country + " " + loc)
		}
		fmt.Fprintf(w, "  network:    %s  isp %s  usage %s\n", e.asn(), orDash(e.ISP), orDash(e.UsageType))
		fmt.Fprintf(w, "  location:   %s\n", orDash(loc))
		fmt.Fprintf(w, "  abuse:      %s  tor %v  public %v\n", e.abuse(), e.IsTor, e.IsPublic)
		if len(e.Hostnames) > 0 {
			fmt.Fprintf(w, "  hostnames:  %s\n", strings.Join(e.Hostnames, ", "))
		}
		fmt.Fprintf(w, "  sources:    %s (enriched %s)\n", orDash(strings.Join(e.Sources, ", ")), d.EnrichedAt.Format(time.RFC3339))
	}
	t := d.Traffic
	fmt.Fprintf(w, "  traffic:    %s, %s out, %s in since %s", plural(int(t.Requests), "request"),
		humanBytes(t.ResponseBytes), humanBytes(t.RequestBytes), t.Since.Format("2006-01-02 15:04Z"))
	if t.Requests > 0 {
		fmt.Fprintf(w, "; first %s, last %s; %d 4xx, %d 5xx; %s, %s",
			t.FirstSeen.Format(time.RFC3339), t.LastSeen.Format(time.RFC3339), t.ClientErrors, t.ServerErrors,
			plural(int(t.APIKeys), "API key"), plural(int(t.Endpoints), "endpoint"))
	}
	fmt.Fprintln(w)
	if len(t.TopEndpoints) > 0 {
		rows := make([][]any, len(t.TopEndpoints))
		for i, e := range t.TopEndpoints {
			rows[i] = []any{"  " + e.Method, e.Path, e.Requests, humanBytes(e.Bytes)}
		}
		printTable(w, []string{"  method", "path", "requests", "bytes"}, rows)
	}
	if len(d.History) == 0 {
		fmt.Fprintln(w, "  history:    none")
		return
	}
	rows := make([][]any, 0, len(d.History))
	for _, c := range d.History {
		for _, it := range c.Items {
			rows = append(rows, []any{"  " + strconv.FormatInt(c.ID, 10), c.At, c.Actor, changeAction(c), stateText(it.Before) + " → " + stateText(it.After), c.Reason})
		}
	}
	printTable(w, []string{"  change", "at", "actor", "action", "status", "reason"}, rows)
}

func changeAction(c api.IPChange) string {
	a := c.Action
	if c.Shadow {
		a += " (shadow)"
	}
	if c.UndoneBy != 0 {
		a += fmt.Sprintf(" (undone by %d)", c.UndoneBy)
	}
	return a
}

func stateText(s *api.IPState) string {
	if s == nil {
		return "none"
	}
	if s.ExpiresAt.IsZero() {
		return s.Status
	}
	return s.Status + " until " + s.ExpiresAt.Format("2006-01-02 15:04Z")
}

// humanBytes writes a byte count in binary units: 512 B, 1.5 KiB, 2.7 GiB.
func humanBytes(n int64) string {
	const unit = 1024
	if n < unit {
		return fmt.Sprintf("%d B", n)
	}
	div, exp := int64(unit), 0
	for m := n / unit; m >= unit; m /= unit {
		div *= unit
		exp++
	}
	return fmt.Sprintf("%.1f %ciB", float64(n)/float64(div), "KMGTPE"[exp])
}

func newIPEnrichCmd(g *globals) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "enrich IP|CIDR...",
		Short: "Enrich addresses (reputation, ISP/ASN, usage type, country) and start monitoring them",
		Long: `Enrich looks every address up in the configured sources (AbuseIPDB, .mmdb
files, ASN and country CSVs, the data-center ASN set, reverse DNS), stores
the result on the address's record — creating a monitoring record for an
address that has none — and refreshes its traffic statistics from the trace
store. CIDR ranges are expanded (at most 65,536 addresses); progress goes to
standard error.

Examples:
  tracehound ip enrich 104.248.73.19
  tracehound ip enrich 104.248.73.0/24 --format json`,
		Args: func(cmd *cobra.Command, args []string) error {
			if len(args) == 0 {
				return usagef("ip enrich needs at least one IP address or CIDR range")
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			format, err := g.outputFormat()
			if err != nil {
				return err
			}
			addrs, err := ipintel.ExpandTargets(args, enrichMax)
			if err != nil {
				return usageError{err}
			}
			b, release, err := backendAs[api.IPBackend](cmd.Context(), g, "IP intelligence")
			if err != nil {
				return err
			}
			defer release()
			var bar *progressBar
			if len(addrs) > enrichBatch {
				bar = newProgressBar(g.stderr, "addresses enriched")
			}
			var recs []json.RawMessage
			created, updated := 0, 0
			warnings := map[string]bool{}
			for start := 0; start < len(addrs); start += enrichBatch {
				batch := addrs[start:min(start+enrichBatch, len(addrs))]
				ips := make([]string, len(batch))
				for i, a := range batch {
					ips[i] = a.String()
				}
				res, err := b.EnrichIPs(cmd.Context(), api.EnrichRequest{IPs: ips})
				if err != nil {
					return err
				}
				recs = append(recs, res.Records...)
				created += res.Created
				updated += res.StatsUpdated
				if res.Warning != "" && !warnings[res.Warning] {
					warnings[res.Warning] = true
					fmt.Fprintln(g.stderr, "warning:", res.Warning)
				}
				if bar != nil {
					bar.update(int64(len(recs)), int64(len(addrs)))
				}
			}
			if bar != nil {
				bar.finish()
			}
			fmt.Fprintf(g.stderr, "%d of %d addresses enriched; %s created; traffic stats of %s refreshed\n",
				len(recs), len(addrs), plural(created, "monitoring record"), plural(updated, "record"))
			if format == "json" {
				return printJSON(g.stdout, map[string]any{"ips": recs})
			}
			rows := make([][]any, 0, len(recs))
			for i, raw := range recs {
				var e enrichment
				json.Unmarshal(raw, &e)
				rows = append(rows, []any{addrs[i].String(), orDash(e.Country), e.asn(), orDash(e.UsageType), e.abuse(), e.IsTor, strings.Join(e.Sources, ",")})
			}
			return printTable(g.stdout, []string{"ip", "country", "asn", "usage_type", "abuse", "tor", "sources"}, rows)
		},
	}
	return cmd
}

func newIPAnalyseCmd(g *globals) *cobra.Command {
	var req api.AnalyseRequest
	cmd := &cobra.Command{
		Use:   "analyse [IP...] [--status S] [--tag T] [--within CIDR] [--since 24h]",
		Short: "Rate addresses with the behavioural detectors and tag them with the verdict",
		Long: `Analyse runs the behavioural detectors ('tracehound investigate') over the
traffic of many addresses at once: those named, and those of the IP records
that --status, --tag and --within select (range records are skipped and
counted). Each address with requests in the window is tagged with its
verdict (detector:malicious, detector:suspicious, detector:inconclusive,
detector:benign), and the detector response of the configuration applies
(contain.detector: a Malicious verdict above min_risk may block, in the
detector's mode, within contain.max_auto_blocks_per_hour). An address
without requests in the window keeps its earlier verdict. At most 100,000
addresses, rated 1,000 at a time; progress goes to standard error, then a
summary and the flagged addresses, riskiest first.

Examples:
  tracehound ip analyse --status monitoring,investigating
  tracehound ip analyse --tag campaign-42 --since 7d
  tracehound ip analyse --within 104.248.0.0/16 104.248.73.19 167.71.205.88
  tracehound ip analyse --status blocked --since 30d --format json`,
		Args: func(cmd *cobra.Command, args []string) error {
			if len(args) == 0 && len(req.Status) == 0 && req.Tag == "" && req.Within == "" {
				return usagef("ip analyse needs addresses, or a selection: --status, --tag or --within")
			}
			for _, st := range req.Status {
				switch st {
				case "monitoring", "investigating", "blocked", "trusted":
				default:
					return usagef("--status %q: want monitoring, investigating, blocked or trusted", st)
				}
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			format, err := g.outputFormat()
			if err != nil {
				return err
			}
			b, release, err := backendAs[api.IPBackend](cmd.Context(), g, "IP intelligence")
			if err != nil {
				return err
			}
			defer release()
			req.IPs = args
			req.Progress = analyseProgress(g.stderr)
			res, err := b.AnalyseIPs(cmd.Context(), req)
			if err != nil {
				return err
			}
			if format == "json" {
				return printJSON(g.stdout, res)
			}
			printAnalysis(g.stdout, res)
			return nil
		},
	}
	f := cmd.Flags()
	f.StringSliceVar(&req.Status, "status", nil, "select the records with these statuses (monitoring, investigating, blocked, trusted; comma-separated)")
	f.StringVar(&req.Tag, "tag", "", "select the records with this tag")
	f.StringVar(&req.Within, "within", "", "select the records inside this CIDR range")
	f.StringVar(&req.Since, "since", "24h", "start of the window: a duration back from now or an RFC 3339 time")
	return cmd
}

// analyseProgress writes an analysis's progress to w: on one rewritten
// line on a terminal, else a line a chunk.
func analyseProgress(w io.Writer) func(done, total int) {
	tty := isTerminal(w)
	return func(done, total int) {
		switch {
		case total == 0 || (done == 0 && !tty):
		case tty && done < total:
			fmt.Fprintf(w, "\r\033[Kanalysed %d/%d addresses", done, total)
		case tty:
			fmt.Fprintf(w, "\r\033[Kanalysed %d/%d addresses\n", done, total)
		default:
			fmt.Fprintf(w, "analysed %d/%d addresses\n", done, total)
		}
	}
}

func printAnalysis(w io.Writer, res *api.AnalyseResult) {
	c := res.Counts
	fmt.Fprintf(w, "%s analysed (%s – %s, %.1fs): %d malicious, %d suspicious, %d inconclusive, %d benign\n",
		addresses(res.Analysed), res.Since.Format(time.DateTime), res.Until.Format(time.DateTime), res.ElapsedMS/1000,
		c.Malicious, c.Suspicious, c.Inconclusive, c.Benign)
	if res.NoTraffic > 0 {
		fmt.Fprintf(w, "%s without requests in the window: not tagged\n", addresses(res.NoTraffic))
	}
	if res.SkippedRanges > 0 {
		fmt.Fprintf(w, "%s skipped (select the addresses inside with --within)\n", plural(res.SkippedRanges, "range record"))
	}
	if res.SkippedLocal > 0 {
		fmt.Fprintf(w, "%s skipped: loopback, link-local, multicast or unspecified\n", addresses(res.SkippedLocal))
	}
	if res.FlaggedTotal == 0 {
		fmt.Fprintln(w, "nothing flagged")
		return
	}
	rows := make([][]any, len(res.Flagged))
	for i, f := range res.Flagged {
		rows[i] = []any{f.IP, f.Verdict, f.Risk, f.Certainty, f.Requests}
	}
	printTable(w, []string{"ip", "verdict", "risk", "certainty", "requests"}, rows)
	if res.FlaggedTotal > len(res.Flagged) {
		fmt.Fprintf(w, "%d of %d flagged addresses shown; 'tracehound ips --tag detector:malicious' (or detector:suspicious) lists them all\n", len(res.Flagged), res.FlaggedTotal)
	}
}

func addresses(n int) string {
	if n == 1 {
		return "1 address"
	}
	return fmt.Sprintf("%d addresses", n)
}

func newIPSetCmd(g *globals) *cobra.Command {
	var req api.IPStatusRequest
	var dur string
	cmd := &cobra.Command{
		Use:   "set IP... --status blocked|trusted|monitoring|investigating [--for 24h] --reason TEXT",
		Short: "Set the status of addresses and ranges (one undoable change)",
		Long: `Set gives every address and CIDR range the status, in one change that
'tracehound ip undo' reverts. Blocking or trusting needs --reason. A block
of an address that a trusted entry covers is refused: trusted beats blocked;
trusting a range lifts the blocks inside it. --for makes the status expire
(24h, 7d); without it the status lasts until changed.

Examples:
  tracehound ip set 104.248.73.19 167.71.205.88 178.128.44.156 --status blocked --for 7d --reason "admin export exfiltration"
  tracehound ip set 198.51.100.0/24 --status trusted --reason "partner office"
  tracehound ip set 203.0.113.7 --status investigating --tag campaign-42`,
		Args: func(cmd *cobra.Command, args []string) error {
			if len(args) == 0 {
				return usagef("ip set needs at least one IP address or CIDR range")
			}
			switch req.Status {
			case "":
				return usagef("ip set needs --status blocked, trusted, monitoring or investigating")
			case "blocked", "trusted":
				if strings.TrimSpace(req.Reason) == "" {
					return usagef("--status %s needs --reason", req.Status)
				}
			case "monitoring", "investigating":
			default:
				return usagef("--status %q: want blocked, trusted, monitoring or investigating", req.Status)
			}
			if dur != "" {
				if d, err := config.ParseDuration(dur); err != nil || d <= 0 {
					return usagef("--for %q: want a positive duration such as 24h or 7d", dur)
				}
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			format, err := g.outputFormat()
			if err != nil {
				return err
			}
			b, release, err := backendAs[api.IPBackend](cmd.Context(), g, "containment")
			if err != nil {
				return err
			}
			defer release()
			req.IPs, req.For = args, dur
			res, err := b.SetIPStatus(cmd.Context(), req)
			if err != nil {
				return err
			}
			if format == "json" {
				return printJSON(g.stdout, res)
			}
			if res.ChangeID == 0 {
				fmt.Fprintf(g.stdout, "nothing changed: %s already %s\n", strings.Join(res.Unchanged, ", "), res.Status)
				return nil
			}
			until := ""
			if !res.ExpiresAt.IsZero() {
				until = " until " + res.ExpiresAt.Format(time.RFC3339)
			}
			fmt.Fprintf(g.stdout, "change %d: %s %s%s\n", res.ChangeID, res.Status, strings.Join(res.Changed, ", "), until)
			if len(res.Unchanged) > 0 {
				fmt.Fprintf(g.stdout, "already %s: %s\n", res.Status, strings.Join(res.Unchanged, ", "))
			}
			fmt.Fprintf(g.stdout, "undo with: tracehound ip undo %d\n", res.ChangeID)
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVar(&req.Status, "status", "", "blocked, trusted, monitoring or investigating")
	f.StringVar(&dur, "for", "", "how long the status lasts (24h, 7d); default until changed")
	f.StringVar(&req.Reason, "reason", "", "why (required for blocked and trusted; bouncers see it as the scenario)")
	f.StringSliceVar(&req.Tags, "tag", nil, "tags to add (repeatable)")
	f.IntVar(&req.Severity, "severity", 0, "0–100: ranks blocks when a target's capacity is exceeded")
	return cmd
}

func newIPUndoCmd(g *globals) *cobra.Command {
	return &cobra.Command{
		Use:   "undo CHANGE_ID",
		Short: "Revert a status change (ids from 'ip set' and 'ip show')",
		Long: `Undo reverts one change — a set, an expiry or an earlier undo — in a new
change, provided the records are still as the change left them.

Example:
  tracehound ip undo 12`,
		Args: func(cmd *cobra.Command, args []string) error {
			if len(args) != 1 {
				return usagef("ip undo needs one change id (see 'tracehound ip show IP')")
			}
			if n, err := strconv.ParseInt(args[0], 10, 64); err != nil || n <= 0 {
				return usagef("change id %q: want a positive number", args[0])
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			format, err := g.outputFormat()
			if err != nil {
				return err
			}
			id, _ := strconv.ParseInt(args[0], 10, 64)
			b, release, err := backendAs[api.IPBackend](cmd.Context(), g, "containment")
			if err != nil {
				return err
			}
			defer release()
			res, err := b.UndoIPChange(cmd.Context(), id)
			if err != nil {
				return err
			}
			if format == "json" {
				return printJSON(g.stdout, res)
			}
			fmt.Fprintf(g.stdout, "change %d undid change %d\n", res.ChangeID, res.UndoOf)
			return nil
		},
	}
}

func newIPsCmd(g *globals) *cobra.Command {
	var q api.IPQuery
	var expiring config.Duration
	cmd := &cobra.Command{
		Use:   "ips",
		Short: "List monitored IP addresses and ranges",
		Long: `Ips lists the IP records: status, reason, expiry, tags, traffic and
enrichment summary, one page at a time (--limit, --offset), with the total
that match.

Examples:
  tracehound ips --status blocked
  tracehound ips --status blocked,trusted --expiring 24h
  tracehound ips --within 104.248.0.0/16 --sort requests --desc
  tracehound ips --search exfiltration --limit 20`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			format, err := g.outputFormat()
			if err != nil {
				return err
			}
			b, release, err := backendAs[api.IPBackend](cmd.Context(), g, "IP intelligence")
			if err != nil {
				return err
			}
			defer release()
			q.Expiring = time.Duration(expiring)
			res, err := b.IPs(cmd.Context(), q)
			if err != nil {
				return err
			}
			if format == "json" {
				return printJSON(g.stdout, res)
			}
			rows := make([][]any, 0, len(res.IPs))
			for _, r := range res.IPs {
				var e enrichment
				if len(r.Enrichment) > 0 {
					json.Unmarshal(r.Enrichment, &e)
				}
				rows = append(rows, []any{r.IP, r.Status, optTime(r.ExpiresAt), r.Reason, strings.Join(r.Tags, ","),
					r.Requests, orDash(e.Country), e.asn(), r.UpdatedBy})
			}
			if err := printTable(g.stdout, []string{"ip", "status", "expires_at", "reason", "tags", "requests", "country", "asn", "updated_by"}, rows); err != nil {
				return err
			}
			fmt.Fprintf(g.stderr, "%d of %d\n", len(res.IPs), res.Total)
			return nil
		},
	}
	f := cmd.Flags()
	f.StringSliceVar(&q.Statuses, "status", nil, "keep these statuses (monitoring, investigating, blocked, trusted; comma-separated)")
	f.StringVar(&q.Tag, "tag", "", "keep records with this tag")
	f.StringVar(&q.Source, "source", "", "keep records from this source (manual, detector, rule:ID)")
	f.StringVar(&q.Within, "within", "", "keep records inside this CIDR range")
	f.StringVar(&q.Containing, "containing", "", "keep records whose range contains this address")
	f.StringVar(&q.Text, "search", "", "search addresses, reasons, notes and tags")
	f.Var(&expiring, "expiring", "keep statuses that expire within this duration (24h, 7d)")
	f.StringVar(&q.Sort, "sort", "", "sort by value, status, severity, source, created_at, updated_at, expires_at, first_seen, last_seen, requests or bytes")
	f.BoolVar(&q.Desc, "desc", false, "reverse the order")
	f.IntVar(&q.Limit, "limit", 0, fmt.Sprintf("page size (default %d, at most %d)", api.IPListDefault, api.IPListMax))
	f.IntVar(&q.Offset, "offset", 0, "skip this many records")
	return cmd
}
