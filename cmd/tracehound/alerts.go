package main

import (
	"errors"
	"fmt"
	"io"
	"maps"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/tracehound/tracehound/api"
	"github.com/tracehound/tracehound/state"
	"github.com/tracehound/tracehound/triage"
)

// triageStatuses is the help text of --status.
const triageStatuses = "open, investigating, resolved or false_positive"

func newAlertsCmd(g *globals) *cobra.Command {
	var q api.AlertQuery
	cmd := &cobra.Command{
		Use:   "alerts",
		Short: "List alert notifications and triage them",
		Long: `Alerts lists the notifications the alert rules raised, newest first: one per
firing episode of an alert instance, with its triage status (open,
investigating, resolved, false_positive), severity, rule, what it is about
(peer_ip, api_key_id, endpoint), when it was first and last seen, how many
times it fired, and who it is assigned to. Shadow-mode rules' notifications
are left out unless --mode shadow or --mode any.

Filters combine; --status and --severity take comma-separated lists. --since
and --until take an RFC 3339 time or a duration back from now (90m, 24h, 7d)
and apply to when a notification was first seen.

Examples:
  tracehound alerts --status open --severity high,critical
  tracehound alerts --ip 203.0.113.7 --since 7d
  tracehound alerts --rule credential_stuffing --limit 20
  tracehound alerts show 42
  tracehound alerts set 42 43 --status investigating --assignee alice
  tracehound alerts set 42 --status false_positive --reason "load test from 10.0.0.9"

Related notifications (sharing an IP, API key or endpoint within a day) are
grouped into incidents: see 'tracehound incidents'.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			format, err := g.outputFormat()
			if err != nil {
				return err
			}
			b, release, err := backendAs[api.AlertsBackend](cmd.Context(), g, "alerts")
			if err != nil {
				return err
			}
			defer release()
			res, err := b.Alerts(cmd.Context(), q)
			if err != nil {
				return asUsage(err)
			}
			if format == "json" {
				return printJSON(g.stdout, res)
			}
			if err := printAlerts(g.stdout, res.Alerts); err != nil {
				return err
			}
			more := ""
			if res.NextCursor != "" {
				more = "; next page: --cursor " + res.NextCursor
			}
			fmt.Fprintf(g.stderr, "%d of %s%s\n", len(res.Alerts), plural(res.Total, "alert"), more)
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVar(&q.Status, "status", "", "keep these triage statuses: "+triageStatuses+" (comma-separated)")
	f.StringVar(&q.Severity, "severity", "", "keep these severities: info, low, medium, high, critical (comma-separated)")
	f.StringVar(&q.Rule, "rule", "", "keep one rule (its id)")
	f.StringVar(&q.IP, "ip", "", "keep alerts about this client IP (peer_ip)")
	f.StringVar(&q.APIKey, "api-key", "", "keep alerts about this API key (api_key_id)")
	f.StringVar(&q.Endpoint, "endpoint", "", `keep alerts about this endpoint, e.g. "GET /admin/export"`)
	f.StringVar(&q.Assignee, "assignee", "", "keep alerts assigned to this person")
	f.StringVar(&q.Incident, "incident", "", "keep the alerts of one incident (its id)")
	f.StringVar(&q.AlertState, "alert-state", "", "keep firing or resolved alerts (the rule's view, not the triage status)")
	f.StringVar(&q.Mode, "mode", "", "active (default), shadow or any")
	f.StringVar(&q.Since, "since", "", "first seen at or after: RFC 3339 or a duration back from now (24h, 7d)")
	f.StringVar(&q.Until, "until", "", "first seen before: RFC 3339 or a duration back from now")
	f.StringVar(&q.Cursor, "cursor", "", "the next page, as the previous page printed it")
	f.IntVar(&q.Limit, "limit", 0, fmt.Sprintf("at most this many alerts (default %d, at most %d)", triage.DefaultLimit, triage.MaxLimit))
	cmd.AddCommand(newAlertsShowCmd(g), newAlertsSetCmd(g))
	return cmd
}

func newAlertsShowCmd(g *globals) *cobra.Command {
	return &cobra.Command{
		Use:   "show ID",
		Short: "Show one alert notification with its labels and audit trail",
		Long: `Show prints one notification (the ID column of 'tracehound alerts'): its
rule, severity, triage status and reason, assignee, incident, labels and
annotations, then its audit trail, oldest first: who changed the status or
the assignee, or added a note, and when.

Example:
  tracehound alerts show 42`,
		Args: func(cmd *cobra.Command, args []string) error {
			if len(args) != 1 {
				return usagef("alerts show needs one alert id, e.g. tracehound alerts show 42")
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			format, err := g.outputFormat()
			if err != nil {
				return err
			}
			id, err := parseTriageID("alert", args[0])
			if err != nil {
				return err
			}
			b, release, err := backendAs[api.AlertsBackend](cmd.Context(), g, "alerts")
			if err != nil {
				return err
			}
			defer release()
			d, err := b.Alert(cmd.Context(), id)
			if err != nil {
				return err
			}
			if format == "json" {
				return printJSON(g.stdout, d)
			}
			printAlertDetail(g.stdout, d)
			return nil
		},
	}
}

func newAlertsSetCmd(g *globals) *cobra.Command {
	var c api.AlertChange
	var assignee string
	cmd := &cobra.Command{
		Use:   "set ID... [--status open|investigating|resolved|false_positive] [--reason TEXT] [--assignee NAME] [--note TEXT]",
		Short: "Change the triage status, assignee or notes of alerts",
		Long: `Set changes one or more notifications at once, all or none: their triage
status, their assignee (--assignee "" unassigns) or adds a note to their
trail. Marking a notification false_positive needs a --reason, which tunes
the rule later; a reason goes with any status change. Every change is kept
in the notification's trail and in the audit log under your name (a user,
a token, or "local" for the CLI on the data directory).

Changing triage state needs the analyst role when talking to a server.

Examples:
  tracehound alerts set 42 --status investigating --assignee alice
  tracehound alerts set 42 43 44 --status resolved --reason "IP blocked at the edge"
  tracehound alerts set 42 --status false_positive --reason "our uptime checker"
  tracehound alerts set 42 --note "asked the API owner"`,
		Args: func(cmd *cobra.Command, args []string) error {
			if len(args) == 0 {
				return usagef("alerts set needs at least one alert id, e.g. tracehound alerts set 42 --status resolved")
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			format, err := g.outputFormat()
			if err != nil {
				return err
			}
			for _, a := range args {
				id, err := parseTriageID("alert", a)
				if err != nil {
					return err
				}
				c.IDs = append(c.IDs, id)
			}
			if cmd.Flags().Changed("assignee") {
				c.Assignee = &assignee
			}
			if err := checkTriageChange(c.Status, c.Reason, c.Assignee != nil || c.Note != ""); err != nil {
				return err
			}
			b, release, err := backendAs[api.AlertsBackend](cmd.Context(), g, "alerts")
			if err != nil {
				return err
			}
			defer release()
			res, err := b.UpdateAlerts(cmd.Context(), c)
			if err != nil {
				return asUsage(err)
			}
			if format == "json" {
				return printJSON(g.stdout, res)
			}
			if err := printAlerts(g.stdout, res.Alerts); err != nil {
				return err
			}
			fmt.Fprintf(g.stderr, "%s changed\n", plural(len(res.Alerts), "alert"))
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVar(&c.Status, "status", "", triageStatuses)
	f.StringVar(&c.Reason, "reason", "", "why (required with --status false_positive)")
	f.StringVar(&assignee, "assignee", "", `assign to this person ("" unassigns)`)
	f.StringVar(&c.Note, "note", "", "add a note to the trail")
	return cmd
}

func newIncidentsCmd(g *globals) *cobra.Command {
	var q api.IncidentQuery
	cmd := &cobra.Command{
		Use:   "incidents",
		Short: "List incidents: alerts grouped into one campaign",
		Long: `Incidents lists the incidents, newest first. An incident groups the
notifications that share a client IP, an API key or an endpoint within a
day of each other, so that one scanner tripping five rules is one thing to
work on. Each row shows the incident's status, its most severe member's
severity, its title, how many alerts it holds and what they share.

Examples:
  tracehound incidents --status open,investigating
  tracehound incidents show 7
  tracehound incidents set 7 --status resolved --reason "blocked" --cascade`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			format, err := g.outputFormat()
			if err != nil {
				return err
			}
			b, release, err := backendAs[api.AlertsBackend](cmd.Context(), g, "incidents")
			if err != nil {
				return err
			}
			defer release()
			res, err := b.Incidents(cmd.Context(), q)
			if err != nil {
				return asUsage(err)
			}
			if format == "json" {
				return printJSON(g.stdout, res)
			}
			rows := make([][]any, 0, len(res.Incidents))
			for _, inc := range res.Incidents {
				rows = append(rows, []any{inc.ID, inc.Status, inc.Severity, inc.Title, inc.NotificationCount,
					incidentAbout(inc), alertTime(inc.FirstSeen), alertTime(inc.LastSeen), inc.Assignee})
			}
			if err := printTable(g.stdout, []string{"id", "status", "severity", "title", "alerts", "about", "first_seen", "last_seen", "assignee"}, rows); err != nil {
				return err
			}
			more := ""
			if res.NextCursor != "" {
				more = "; next page: --cursor " + res.NextCursor
			}
			fmt.Fprintf(g.stderr, "%s%s\n", plural(len(res.Incidents), "incident"), more)
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVar(&q.Status, "status", "", "keep these statuses: "+triageStatuses+" (comma-separated)")
	f.StringVar(&q.Since, "since", "", "seen at or after: RFC 3339 or a duration back from now (24h, 7d)")
	f.StringVar(&q.Cursor, "cursor", "", "the next page, as the previous page printed it")
	f.IntVar(&q.Limit, "limit", 0, fmt.Sprintf("at most this many incidents (default %d, at most %d)", triage.DefaultLimit, triage.MaxLimit))
	cmd.AddCommand(newIncidentsShowCmd(g), newIncidentsSetCmd(g))
	return cmd
}

func newIncidentsShowCmd(g *globals) *cobra.Command {
	return &cobra.Command{
		Use:   "show ID",
		Short: "Show one incident with its alerts and timeline",
		Long: `Show prints one incident (the ID column of 'tracehound incidents'): its
status, severity, what its alerts share, then its member alerts, newest
first, and its timeline, oldest first: alerts joining, status and assignee
changes and notes, on the incident and on its alerts.

Example:
  tracehound incidents show 7`,
		Args: func(cmd *cobra.Command, args []string) error {
			if len(args) != 1 {
				return usagef("incidents show needs one incident id, e.g. tracehound incidents show 7")
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			format, err := g.outputFormat()
			if err != nil {
				return err
			}
			id, err := parseTriageID("incident", args[0])
			if err != nil {
				return err
			}
			b, release, err := backendAs[api.AlertsBackend](cmd.Context(), g, "incidents")
			if err != nil {
				return err
			}
			defer release()
			d, err := b.Incident(cmd.Context(), id)
			if err != nil {
				return err
			}
			if format == "json" {
				return printJSON(g.stdout, d)
			}
			return printIncidentDetail(g.stdout, d)
		},
	}
}

func newIncidentsSetCmd(g *globals) *cobra.Command {
	var c api.IncidentChange
	var assignee string
	cmd := &cobra.Command{
		Use:   "set ID [--status open|investigating|resolved|false_positive] [--reason TEXT] [--cascade] [--title TEXT] [--assignee NAME] [--note TEXT]",
		Short: "Change an incident's status, title, assignee or notes",
		Long: `Set changes one incident: its status (false_positive needs a --reason),
its title, its assignee (--assignee "" unassigns), or adds a note to its
timeline. With --cascade a status change (and its reason) applies to every
alert of the incident too. Changes are kept in the timeline and in the audit
log under your name.

Changing triage state needs the analyst role when talking to a server.

Examples:
  tracehound incidents set 7 --status investigating --assignee alice
  tracehound incidents set 7 --status resolved --reason "IP blocked" --cascade
  tracehound incidents set 7 --title "Credential stuffing from AS64500"`,
		Args: func(cmd *cobra.Command, args []string) error {
			if len(args) != 1 {
				return usagef("incidents set needs one incident id, e.g. tracehound incidents set 7 --status resolved")
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			format, err := g.outputFormat()
			if err != nil {
				return err
			}
			id, err := parseTriageID("incident", args[0])
			if err != nil {
				return err
			}
			if cmd.Flags().Changed("assignee") {
				c.Assignee = &assignee
			}
			if c.Cascade && c.Status == "" {
				return usagef("--cascade goes with --status")
			}
			if err := checkTriageChange(c.Status, c.Reason, c.Assignee != nil || c.Note != "" || c.Title != ""); err != nil {
				return err
			}
			b, release, err := backendAs[api.AlertsBackend](cmd.Context(), g, "incidents")
			if err != nil {
				return err
			}
			defer release()
			d, err := b.UpdateIncident(cmd.Context(), id, c)
			if err != nil {
				return asUsage(err)
			}
			if format == "json" {
				return printJSON(g.stdout, d)
			}
			return printIncidentDetail(g.stdout, d)
		},
	}
	f := cmd.Flags()
	f.StringVar(&c.Status, "status", "", triageStatuses)
	f.StringVar(&c.Reason, "reason", "", "why (required with --status false_positive)")
	f.BoolVar(&c.Cascade, "cascade", false, "apply the status change to the incident's alerts too")
	f.StringVar(&c.Title, "title", "", "rename the incident")
	f.StringVar(&assignee, "assignee", "", `assign to this person ("" unassigns)`)
	f.StringVar(&c.Note, "note", "", "add a note to the timeline")
	return cmd
}

// parseTriageID reads the id of an alert or incident.
func parseTriageID(what, s string) (int64, error) {
	id, err := strconv.ParseInt(s, 10, 64)
	if err != nil || id <= 0 {
		return 0, usagef("%s id %q: want a positive number, as the ID column of 'tracehound %ss' shows", what, s, what)
	}
	return id, nil
}

// checkTriageChange refuses, before anything is sent, a change the triage
// service would refuse: an unknown status, a false positive without a
// reason, or nothing to change.
func checkTriageChange(status, reason string, other bool) error {
	if status != "" && !state.ValidTriageStatus(status) {
		return usagef("--status %q: want %s", status, triageStatuses)
	}
	if status == state.TriageFalsePositive && strings.TrimSpace(reason) == "" {
		return usagef("--status false_positive needs a --reason: say why the alert is not abuse (it is kept to tune the rule)")
	}
	if status == "" && !other {
		return usagef("nothing to change: pass --status, --assignee or --note")
	}
	return nil
}

// asUsage marks a request the server refused as malformed (a bad filter
// or change) as a usage error, so that the command exits 2.
func asUsage(err error) error {
	if errors.Is(err, triage.ErrInvalid) || errors.Is(err, api.ErrBadRequest) {
		return usageError{err}
	}
	return err
}

// alertTime renders a time to the minute, for the triage tables.
func alertTime(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format("2006-01-02 15:04Z")
}

// alertAbout lists what a notification is about: its well-known labels.
func alertAbout(n state.Notification) string {
	var out []string
	for _, kv := range [][2]string{{"peer_ip", n.IP}, {"api_key_id", n.APIKey}, {"endpoint", n.Endpoint}} {
		if kv[1] != "" {
			out = append(out, kv[0]+"="+kv[1])
		}
	}
	return strings.Join(out, " ")
}

// incidentAbout lists what an incident's notifications share.
func incidentAbout(inc state.Incident) string {
	var out []string
	out = append(out, inc.IPs...)
	out = append(out, inc.APIKeys...)
	out = append(out, inc.Endpoints...)
	return strings.Join(out, ", ")
}

func printAlerts(w io.Writer, ns []state.Notification) error {
	rows := make([][]any, 0, len(ns))
	for _, n := range ns {
		rows = append(rows, []any{n.ID, n.Status, n.Severity, n.RuleID, alertAbout(n),
			alertTime(n.FirstSeen), alertTime(n.LastSeen), n.Count, n.Assignee})
	}
	return printTable(w, []string{"id", "status", "severity", "rule", "about", "first_seen", "last_seen", "count", "assignee"}, rows)
}

func printAlertDetail(w io.Writer, d *triage.NotificationDetail) {
	n := d.Notification
	fields := [][2]string{
		{"alert", strconv.FormatInt(n.ID, 10)},
		{"rule", n.RuleID + alertRuleName(n.RuleID, n.RuleName)},
		{"severity", n.Severity},
		{"mode", n.Mode},
		{"status", n.Status},
		{"reason", n.Reason},
		{"assignee", n.Assignee},
		{"alert_state", n.AlertState},
		{"first_seen", alertTime(n.FirstSeen)},
		{"last_seen", alertTime(n.LastSeen)},
		{"count", strconv.Itoa(n.Count)},
	}
	if n.IncidentID != 0 {
		fields = append(fields, [2]string{"incident", strconv.FormatInt(n.IncidentID, 10)})
	}
	printTriageFields(w, fields)
	printLabelMap(w, "labels", n.Labels)
	printLabelMap(w, "annotations", n.Annotations)
	fmt.Fprintln(w, "\ntrail:")
	printTriageTrail(w, d.Audit)
}

func printIncidentDetail(w io.Writer, d *triage.IncidentDetail) error {
	inc := d.Incident
	fields := [][2]string{
		{"incident", strconv.FormatInt(inc.ID, 10)},
		{"title", inc.Title},
		{"severity", inc.Severity},
		{"status", inc.Status},
		{"reason", inc.Reason},
		{"assignee", inc.Assignee},
		{"first_seen", alertTime(inc.FirstSeen)},
		{"last_seen", alertTime(inc.LastSeen)},
		{"ips", strings.Join(inc.IPs, ", ")},
		{"api_keys", strings.Join(inc.APIKeys, ", ")},
		{"endpoints", strings.Join(inc.Endpoints, ", ")},
		{"rules", strings.Join(inc.RuleIDs, ", ")},
	}
	if inc.MergedInto != 0 {
		fields = append(fields, [2]string{"merged_into", strconv.FormatInt(inc.MergedInto, 10)})
	}
	printTriageFields(w, fields)
	fmt.Fprintf(w, "\n%s:\n", plural(len(d.Notifications), "alert"))
	if err := printAlerts(w, d.Notifications); err != nil {
		return err
	}
	fmt.Fprintln(w, "\ntimeline:")
	printTriageTrail(w, d.Timeline)
	return nil
}

func alertRuleName(id, name string) string {
	if name == "" || name == id {
		return ""
	}
	return " (" + name + ")"
}

// printTriageFields writes name: value lines, leaving out empty values.
func printTriageFields(w io.Writer, fields [][2]string) {
	for _, f := range fields {
		if f[1] != "" {
			fmt.Fprintf(w, "%-12s %s\n", f[0]+":", f[1])
		}
	}
}

func printLabelMap(w io.Writer, title string, m map[string]string) {
	if len(m) == 0 {
		return
	}
	fmt.Fprintf(w, "\n%s:\n", title)
	for _, k := range slices.Sorted(maps.Keys(m)) {
		fmt.Fprintf(w, "  %s = %s\n", k, m[k])
	}
}

// printTriageTrail writes triage events, oldest first.
func printTriageTrail(w io.Writer, events []state.TriageEvent) {
	rows := make([][]any, 0, len(events))
	for _, e := range events {
		change := e.After
		if e.Before != "" {
			change = e.Before + " → " + e.After
		}
		on := ""
		if e.NotificationID != 0 {
			on = "alert " + strconv.FormatInt(e.NotificationID, 10)
		}
		rows = append(rows, []any{alertTime(e.At), e.Actor, e.Kind, on, change, e.Note})
	}
	printTable(w, []string{"at", "actor", "event", "on", "change", "note"}, rows)
}
