package main

import (
	"cmp"
	"context"
	"fmt"
	"os"
	"os/user"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"gopkg.in/yaml.v3"

	"github.com/tracehound/tracehound/api"
	"github.com/tracehound/tracehound/apimap"
	"github.com/tracehound/tracehound/config"
)

// mapFlags are the flags of map and its subcommands.
type mapFlags struct {
	service string
	since   config.Duration
}

func (f *mapFlags) query(only apimap.Only) api.MapQuery {
	return api.MapQuery{Service: f.service, Window: time.Duration(f.since), Only: only}
}

func newMapCmd(g *globals) *cobra.Command {
	f := &mapFlags{}
	var specFile, only string
	cmd := &cobra.Command{
		Use:   "map",
		Short: "Show the API map: every endpoint seen in traffic, with its risk",
		Long: `Map lists the endpoints of your services as their traffic shows them: paths
templated into endpoints (/v1/documents/{id}), with hits, first and last
seen, auth state (public, enforced, mixed), function and sensitivity tags,
callers and a 0-100 risk score. With an OpenAPI spec registered for a
service, endpoints are also compared with it: SHADOW (undocumented, with
traffic), ZOMBIE (documented but unused, or deprecated but called) and
drift. NEW marks endpoints first seen recently, after their service's
baseline.

--spec registers an OpenAPI document (YAML or JSON) for the service, kept
in the data directory, so later runs need no flag.

When the templating is wrong, correct it: 'map pin' makes paths one
endpoint under a template of yours, 'map keep' keeps a path literal
(do not merge), 'map pins' lists the corrections, 'map unpin' removes one.

Examples:
  tracehound map --spec openapi.yaml --service datavault-api
  tracehound map --only shadow
  tracehound map export --openapi > observed.yaml
  tracehound map review 3f198f6259a86491 --status flagged --note "no owner"
  tracehound map pin /files/{name}
  tracehound map keep --service reports-api /reports/summary`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			format, err := g.outputFormat()
			if err != nil {
				return err
			}
			o, err := apimap.ParseOnly(only)
			if err != nil {
				return usagef("--only: %v", err)
			}
			var raw []byte
			if specFile != "" {
				if raw, err = os.ReadFile(specFile); err != nil {
					return fmt.Errorf("read the spec: %w", err)
				}
			}
			b, release, err := g.mapBackend(cmd.Context())
			if err != nil {
				return err
			}
			defer release()
			if raw != nil {
				info, err := b.RegisterSpec(cmd.Context(), api.SpecUpload{Service: f.service, Name: filepath.Base(specFile), Raw: raw})
				if err != nil {
					return fmt.Errorf("register %s: %w", specFile, err)
				}
				fmt.Fprintf(g.stderr, "registered %s for %s: %s %s, %d operations\n", specFile, info.Service, info.Title, info.Version, info.Operations)
			}
			res, err := b.Map(cmd.Context(), f.query(o))
			if err != nil {
				return err
			}
			if format == "json" {
				return printJSON(g.stdout, res)
			}
			return printMap(g, res)
		},
	}
	pf := cmd.PersistentFlags()
	pf.StringVar(&f.service, "service", "", "keep one service (with --spec, the service the spec describes; with pin and keep, the service the correction applies to)")
	pf.Var(&f.since, "since", "how much traffic to cover, e.g. 24h or 30d (default: the server's apimap.window, 7d)")
	cmd.Flags().StringVar(&specFile, "spec", "", "register this OpenAPI document for the service first")
	cmd.Flags().StringVar(&only, "only", "", "keep shadow, zombie, new or sensitive endpoints")
	cmd.AddCommand(newMapExportCmd(g, f), newMapReviewCmd(g), newMapSnapshotCmd(g, f), newMapSnapshotsCmd(g),
		newMapPinCmd(g, f), newMapKeepCmd(g, f), newMapPinsCmd(g, f), newMapUnpinCmd(g))
	return cmd
}

// mapBackend is backend for the API map's commands.
func (g *globals) mapBackend(ctx context.Context) (api.MapBackend, func(), error) {
	return backendAs[api.MapBackend](ctx, g, "the API map")
}

// printMap writes the inventory as a table for people, riskiest first,
// and a summary on stderr.
func printMap(g *globals, res *api.MapResult) error {
	eps := slices.Clone(res.Endpoints)
	slices.SortStableFunc(eps, func(a, b apimap.Endpoint) int {
		return cmp.Or(cmp.Compare(b.RiskScore, a.RiskScore), cmp.Compare(b.Hits, a.Hits))
	})
	services := map[string]bool{}
	for _, e := range eps {
		services[e.Service] = true
	}
	header := []string{"id", "method", "template", "hits", "first seen", "auth", "tags", "risk", "flags", "review"}
	if len(services) > 1 {
		header = append([]string{"service"}, header...)
	}
	rows := make([][]any, 0, len(eps))
	for _, e := range eps {
		first := "-"
		if !e.FirstSeen.IsZero() {
			first = e.FirstSeen.UTC().Format("2006-01-02 15:04")
		}
		row := []any{e.ID, e.Method, e.Template, e.Hits, first, string(e.Auth.State), tagList(e), e.RiskScore, flagList(e), e.Review.Status}
		if len(services) > 1 {
			row = append([]any{e.Service}, row...)
		}
		rows = append(rows, row)
	}
	if err := printTable(g.stdout, header, rows); err != nil {
		return err
	}
	fmt.Fprintln(g.stderr, mapSummary(res))
	return nil
}

// tagList writes an endpoint's tags for a table: its functions other than
// plain CRUD, then its sensitivity.
func tagList(e apimap.Endpoint) string {
	var tags []string
	for _, t := range e.Tags {
		if t != apimap.TagCRUDRead && t != apimap.TagCRUDWrite {
			tags = append(tags, string(t))
		}
	}
	for _, t := range e.Sensitivity {
		tags = append(tags, string(t))
	}
	if len(tags) == 0 {
		return "-"
	}
	return strings.Join(tags, ",")
}

func flagList(e apimap.Endpoint) string {
	var flags []string
	for _, f := range []struct {
		name string
		set  bool
	}{{"SHADOW", e.Shadow}, {"ZOMBIE", e.Zombie}, {"NEW", e.New}, {"DRIFT", len(e.Drift) > 0}} {
		if f.set {
			flags = append(flags, f.name)
		}
	}
	if len(flags) == 0 {
		return "-"
	}
	return strings.Join(flags, ",")
}

func mapSummary(res *api.MapResult) string {
	var shadow, zombie, fresh, sensitive int
	for i := range res.Endpoints {
		e := &res.Endpoints[i]
		for _, c := range []struct {
			n   *int
			set bool
		}{{&shadow, e.Shadow}, {&zombie, e.Zombie}, {&fresh, e.New}, {&sensitive, e.Sensitive()}} {
			if c.set {
				*c.n++
			}
		}
	}
	s := fmt.Sprintf("%s (%d shadow, %d zombie, %d new, %d sensitive) from %s to %s",
		plural(len(res.Endpoints), "endpoint"), shadow, zombie, fresh, sensitive, res.Since.UTC().Format(time.RFC3339), res.Until.UTC().Format(time.RFC3339))
	if res.Only != "" {
		s += "; only " + string(res.Only)
	}
	if len(res.Specs) == 0 {
		s += "; no spec registered (add one with --spec)"
	} else {
		s += "; specs: " + strings.Join(res.Specs, ", ")
	}
	if res.Unrouted.Requests > 0 {
		s += fmt.Sprintf("; left out: %s that matched no route", plural(int(res.Unrouted.Requests), "request"))
	}
	return s
}

func newMapExportCmd(g *globals, f *mapFlags) *cobra.Command {
	var openAPI bool
	cmd := &cobra.Command{
		Use:   "export --openapi",
		Short: "Write the observed API as an OpenAPI 3 document",
		Long: `Export writes what traffic shows of one service's API as an OpenAPI 3.0
document: every endpoint with requests, its typed path and query parameters
and the status codes it answered, with what the API map knows of it under
x-tracehound. It is YAML, or JSON with --format json. --service picks the
service when several have traffic.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if !openAPI {
				return usagef("map export needs --openapi, the one export format so far")
			}
			var asJSON bool
			switch g.format {
			case "json":
				asJSON = true
			case "", "table", "yaml":
			default:
				return usagef("--format %q: map export writes yaml or json", g.format)
			}
			b, release, err := g.mapBackend(cmd.Context())
			if err != nil {
				return err
			}
			defer release()
			doc, err := b.ObservedOpenAPI(cmd.Context(), f.query(""))
			if err != nil {
				return err
			}
			if asJSON {
				return printJSON(g.stdout, doc)
			}
			enc := yaml.NewEncoder(g.stdout)
			enc.SetIndent(2)
			if err := enc.Encode(doc); err != nil {
				return fmt.Errorf("write the document: %w", err)
			}
			return enc.Close()
		},
	}
	cmd.Flags().BoolVar(&openAPI, "openapi", false, "write OpenAPI 3")
	return cmd
}

func newMapReviewCmd(g *globals) *cobra.Command {
	var status, note, by string
	cmd := &cobra.Command{
		Use:   "review ID [--status approved|flagged|unreviewed] [--note TEXT]",
		Short: "Review an endpoint of the map, or show its review history",
		Long: `Review records a decision on an endpoint (the ID column of 'tracehound map'):
approved (known and fine), flagged (needs action) or unreviewed (back in
the queue). Every decision is kept. Without --status, review shows the
endpoint's current state and history.`,
		Args: func(cmd *cobra.Command, args []string) error {
			if len(args) != 1 {
				return usagef("map review needs one endpoint id, e.g. tracehound map review 3f198f6259a86491 --status approved")
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			format, err := g.outputFormat()
			if err != nil {
				return err
			}
			if note != "" && status == "" {
				return usagef("--note goes with --status")
			}
			b, release, err := g.mapBackend(cmd.Context())
			if err != nil {
				return err
			}
			defer release()
			var res *api.ReviewResult
			if status == "" {
				res, err = b.EndpointReview(cmd.Context(), args[0])
			} else {
				res, err = b.SetEndpointReview(cmd.Context(), args[0], api.ReviewRequest{Status: status, Note: note, Reviewer: cmp.Or(by, currentUser())})
			}
			if err != nil {
				return err
			}
			if format == "json" {
				return printJSON(g.stdout, res)
			}
			rows := make([][]any, len(res.History))
			for i, r := range res.History {
				rows[i] = []any{r.At, r.Status, r.Reviewer, r.Note}
			}
			fmt.Fprintf(g.stderr, "endpoint %s is %s\n", res.EndpointID, res.Review.Status)
			return printTable(g.stdout, []string{"at", "status", "reviewer", "note"}, rows)
		},
	}
	cmd.Flags().StringVar(&status, "status", "", "approved, flagged or unreviewed")
	cmd.Flags().StringVar(&note, "note", "", "why")
	cmd.Flags().StringVar(&by, "by", "", "the reviewer (default: your user name)")
	return cmd
}

// currentUser names the person at the terminal, for review records.
func currentUser() string {
	if u, err := user.Current(); err == nil && u.Username != "" {
		return u.Username
	}
	return cmp.Or(os.Getenv("USER"), "cli")
}

func newMapSnapshotCmd(g *globals, f *mapFlags) *cobra.Command {
	return &cobra.Command{
		Use:   "snapshot",
		Short: "Snapshot the API map now",
		Long: `Snapshot stores the current inventory (a server also does so every
apimap.snapshot_interval) and lists the endpoints no earlier snapshot had
seen. A shadow or sensitive endpoint found for the first time raises an
event for the alerting pipeline and goes back to the review queue.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			format, err := g.outputFormat()
			if err != nil {
				return err
			}
			b, release, err := g.mapBackend(cmd.Context())
			if err != nil {
				return err
			}
			defer release()
			res, err := b.TakeSnapshot(cmd.Context(), time.Duration(f.since))
			if err != nil {
				return err
			}
			if format == "json" {
				return printJSON(g.stdout, res)
			}
			s := res.Snapshot
			fmt.Fprintf(g.stderr, "snapshot %d at %s: %d endpoints, %d new, %d events\n",
				s.ID, s.TakenAt.UTC().Format(time.RFC3339), s.Endpoints, s.NewEndpoints, len(res.Events))
			events := map[string][]string{}
			for _, ev := range res.Events {
				events[ev.EndpointID] = append(events[ev.EndpointID], strings.TrimPrefix(ev.Kind, "apimap."))
			}
			rows := make([][]any, len(res.New))
			for i, e := range res.New {
				rows[i] = []any{e.ID, e.Service, e.Method, e.Template, strings.Join(events[e.ID], ",")}
			}
			return printTable(g.stdout, []string{"new endpoint", "service", "method", "template", "events"}, rows)
		},
	}
}

func newMapSnapshotsCmd(g *globals) *cobra.Command {
	return &cobra.Command{
		Use:   "snapshots",
		Short: "List the API map's snapshots",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			format, err := g.outputFormat()
			if err != nil {
				return err
			}
			b, release, err := g.mapBackend(cmd.Context())
			if err != nil {
				return err
			}
			defer release()
			res, err := b.Snapshots(cmd.Context())
			if err != nil {
				return err
			}
			if format == "json" {
				return printJSON(g.stdout, res)
			}
			rows := make([][]any, len(res.Snapshots))
			for i, s := range res.Snapshots {
				rows[i] = []any{s.ID, s.TakenAt, config.Duration(time.Duration(s.WindowSeconds) * time.Second).String(), s.Endpoints, s.NewEndpoints}
			}
			return printTable(g.stdout, []string{"id", "taken at", "window", "endpoints", "new"}, rows)
		},
	}
}
