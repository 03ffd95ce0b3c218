package main

import (
	"context"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/tracehound/tracehound/api"
)

// pinsBackend is backend for the commands that correct the API map.
func (g *globals) pinsBackend(ctx context.Context) (api.PinsBackend, func(), error) {
	return backendAs[api.PinsBackend](ctx, g, "the API map's pins")
}

func newMapPinCmd(g *globals, f *mapFlags) *cobra.Command {
	var note string
	cmd := &cobra.Command{
		Use:   "pin [--service S] [--note N] TEMPLATE",
		Short: "Pin a template: every path it matches becomes that endpoint",
		Long: `Pin makes the API map use a template of your choosing, such as
/files/{name}: a path it matches gets it before the http.route attribute,
the registered spec, the classifier or the cardinality trie are tried.
{name} marks a parameter; a segment may mix text and parameters
(/files/{name}.{ext}). Pin what the map keeps apart but is one endpoint
(paths whose segments are words, which stay literal), or a parameter the
map names poorly.

--service applies the pin to one service; without it the pin applies to
every service. The pin is checked before it is stored (in the data
directory, or the server's state) and the change is audit-logged. 'map
pins' lists the pins, 'map unpin ID' removes one; the configuration
file's apimap.pins add to them.

Examples:
  tracehound map pin /files/{name} --note "one download endpoint"
  tracehound map pin --service billing '/invoices/{number}.pdf'`,
		Args: exactArgs(1, "map pin needs one template, e.g. tracehound map pin /files/{name}"),
		RunE: func(cmd *cobra.Command, args []string) error {
			return addPin(cmd, g, api.PinRequest{Service: f.service, Kind: api.PinTemplate, Path: args[0], Note: note})
		},
	}
	cmd.Flags().StringVar(&note, "note", "", "why")
	return cmd
}

func newMapKeepCmd(g *globals, f *mapFlags) *cobra.Command {
	var note string
	cmd := &cobra.Command{
		Use:   "keep [--service S] [--note N] PATH",
		Short: "Keep a path literal: never merge its segments into a parameter",
		Long: `Keep puts a literal path on the do-not-merge list: its segments stay
literal, so the classifier does not make them parameters and the
cardinality trie does not merge them with their siblings. When the map
merged the children of /reports into /reports/{report_id} but one of
them, /reports/summary, is an endpoint of its own, keep it: it shows as
/reports/summary, and its siblings stay merged. A template that
a route, a spec or a pin gives still wins.

An integer of 2 to 9 digits or a UUID cannot stay literal: the inventory
groups such segments before templating.

--service applies it to one service; without it, to every service. The
change is stored and audit-logged; 'map pins' lists it and 'map unpin ID'
removes it. The configuration file's apimap.do_not_merge adds to the
list.

Example:
  tracehound map keep --service reports-api /reports/summary`,
		Args: exactArgs(1, "map keep needs one literal path, e.g. tracehound map keep /reports/daily"),
		RunE: func(cmd *cobra.Command, args []string) error {
			return addPin(cmd, g, api.PinRequest{Service: f.service, Kind: api.PinLiteral, Path: args[0], Note: note})
		},
	}
	cmd.Flags().StringVar(&note, "note", "", "why")
	return cmd
}

func addPin(cmd *cobra.Command, g *globals, req api.PinRequest) error {
	format, err := g.outputFormat()
	if err != nil {
		return err
	}
	b, release, err := g.pinsBackend(cmd.Context())
	if err != nil {
		return err
	}
	defer release()
	p, err := b.AddMapPin(cmd.Context(), req)
	if err != nil {
		return err
	}
	if format == "json" {
		return printJSON(g.stdout, p)
	}
	what := "pinned " + p.Path
	if p.Kind == api.PinLiteral {
		what = "kept " + p.Path + " literal"
	}
	fmt.Fprintf(g.stdout, "%s for %s (pin %d)\n", what, pinScope(p.Service), p.ID)
	return nil
}

func pinScope(service string) string {
	if service == "" {
		return "every service"
	}
	return "service " + service
}

func newMapPinsCmd(g *globals, f *mapFlags) *cobra.Command {
	return &cobra.Command{
		Use:   "pins",
		Short: "List the pins and do-not-merge paths that correct the map",
		Long: `Pins lists the corrections the API map's templating uses: pinned templates
(kind pin, from 'map pin') and do-not-merge paths (kind literal, from 'map
keep'), the stored ones first, oldest first, then those of the
configuration file (source config, without an id: edit the file to change
them). Of two pins that differ only in parameter names, the first listed
wins. With --service, the list keeps what applies to that service: its
own pins and those of every service (service *).`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			format, err := g.outputFormat()
			if err != nil {
				return err
			}
			b, release, err := g.pinsBackend(cmd.Context())
			if err != nil {
				return err
			}
			defer release()
			res, err := b.MapPins(cmd.Context())
			if err != nil {
				return err
			}
			if f.service != "" {
				kept := res.Pins[:0]
				for _, p := range res.Pins {
					if p.Service == "" || p.Service == f.service {
						kept = append(kept, p)
					}
				}
				res.Pins = kept
			}
			if format == "json" {
				return printJSON(g.stdout, res)
			}
			rows := make([][]any, len(res.Pins))
			for i, p := range res.Pins {
				id, created, by := "-", "-", "-"
				if p.Source == api.PinStored {
					id, created, by = fmt.Sprint(p.ID), p.CreatedAt.UTC().Format("2006-01-02 15:04"), p.CreatedBy
				}
				service := p.Service
				if service == "" {
					service = "*"
				}
				rows[i] = []any{id, service, p.Kind, p.Path, p.Source, created, by, p.Note}
			}
			return printTable(g.stdout, []string{"id", "service", "kind", "path", "source", "created", "by", "note"}, rows)
		},
	}
}

func newMapUnpinCmd(g *globals) *cobra.Command {
	return &cobra.Command{
		Use:   "unpin ID...",
		Short: "Remove stored pins or do-not-merge paths",
		Long: `Unpin removes stored pins and do-not-merge paths by id (the ID column of
'tracehound map pins'); the change is audit-logged, and the map templates
those paths as it did before. Entries of the configuration file change
with the file.`,
		Args: minArgs(1, "map unpin needs a pin id, e.g. tracehound map unpin 3 (see tracehound map pins)"),
		RunE: func(cmd *cobra.Command, args []string) error {
			ids := make([]int64, len(args))
			for i, a := range args {
				id, err := api.ParsePinID(a)
				if err != nil {
					return usageError{err}
				}
				ids[i] = id
			}
			b, release, err := g.pinsBackend(cmd.Context())
			if err != nil {
				return err
			}
			defer release()
			for _, id := range ids {
				if err := b.DeleteMapPin(cmd.Context(), id); err != nil {
					return err
				}
				fmt.Fprintf(g.stdout, "pin %d removed\n", id)
			}
			return nil
		},
	}
}
