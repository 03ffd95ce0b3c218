package main

import (
	"fmt"
	"io"
	"sort"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/tracehound/tracehound/api"
	"github.com/tracehound/tracehound/config"
)

func newTraceCmd(g *globals) *cobra.Command {
	var attrs bool
	cmd := &cobra.Command{
		Use:   "trace TRACE_ID",
		Short: "Show one trace as a span tree (waterfall)",
		Long: `Trace prints every span of a trace as a tree, in start order: each span's
offset from the start of the trace, its duration drawn to scale, service,
name and status. --attributes adds each span's attributes.

Find trace ids with 'tracehound traces' (by IP, API key, endpoint, status)
or in the trace_id column of 'tracehound sql'.`,
		Args: func(cmd *cobra.Command, args []string) error {
			if len(args) != 1 {
				return usagef("trace needs one trace id (32 hexadecimal digits); find some with 'tracehound traces'")
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			format, err := g.outputFormat()
			if err != nil {
				return err
			}
			b, release, err := backendAs[api.TraceBackend](cmd.Context(), g, "traces")
			if err != nil {
				return err
			}
			defer release()
			res, err := b.Trace(cmd.Context(), args[0])
			if err != nil {
				return err
			}
			if format == "json" {
				return printJSON(g.stdout, res)
			}
			printWaterfall(g.stdout, res, attrs)
			return nil
		},
	}
	cmd.Flags().BoolVar(&attrs, "attributes", false, "print each span's attributes under it")
	return cmd
}

// waterfallWidth is the width of the duration bars.
const waterfallWidth = 32

func printWaterfall(w io.Writer, res *api.TraceResult, attrs bool) {
	fmt.Fprintf(w, "trace %s  %s  %s  %s in %s",
		res.TraceID, res.Start.UTC().Format("2006-01-02 15:04:05.000Z"), formatNS(res.DurationNS),
		plural(len(res.Spans), "span"), strings.Join(res.Services, ", "))
	if res.Errors > 0 {
		fmt.Fprintf(w, "  %s", plural(res.Errors, "error"))
	}
	fmt.Fprintln(w)
	total := max(res.DurationNS, 1)
	rows := make([][]any, 0, len(res.Spans))
	for _, s := range res.Spans {
		from := int(s.OffsetNS * waterfallWidth / total)
		width := max(int(s.DurationNS*waterfallWidth/total), 1)
		from = min(from, waterfallWidth-1)
		width = min(width, waterfallWidth-from)
		bar := strings.Repeat(" ", from) + strings.Repeat("█", width) + strings.Repeat(" ", waterfallWidth-from-width)
		name := strings.Repeat("  ", s.Depth) + s.Name
		if s.Orphan && s.ParentSpanID != "" {
			name += " (parent missing)"
		}
		status := s.Status
		if s.StatusCode > 0 {
			status = fmt.Sprintf("%d %s", s.StatusCode, s.Status)
		}
		rows = append(rows, []any{"+" + formatNS(s.OffsetNS), formatNS(s.DurationNS), "|" + bar + "|", s.Service, name, status})
	}
	printTable(w, []string{"offset", "duration", "waterfall", "service", "span", "status"}, rows)
	if !attrs {
		return
	}
	for _, s := range res.Spans {
		fmt.Fprintf(w, "\n%s %s (%s)\n", s.SpanID, s.Name, s.Kind)
		for _, line := range []struct {
			k, v string
		}{{"http_method", s.Method}, {"http_target", s.Target}, {"http_route", s.Route}, {"peer_ip", s.PeerIP}, {"api_key_id", s.APIKeyID}, {"user_agent", s.UserAgent}} {
			if line.v != "" {
				fmt.Fprintf(w, "  %s = %s\n", line.k, line.v)
			}
		}
		keys := make([]string, 0, len(s.Attributes))
		for k := range s.Attributes {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			fmt.Fprintf(w, "  %s = %s\n", k, s.Attributes[k])
		}
	}
}

// formatNS writes a duration compactly: 850µs, 12.3ms, 1.20s.
func formatNS(ns int64) string {
	d := time.Duration(ns)
	switch {
	case d < time.Millisecond:
		return fmt.Sprintf("%dµs", d.Microseconds())
	case d < time.Second:
		return fmt.Sprintf("%.1fms", float64(d)/float64(time.Millisecond))
	default:
		return fmt.Sprintf("%.2fs", d.Seconds())
	}
}

func newTracesCmd(g *globals) *cobra.Command {
	var q api.TraceQuery
	var since config.Duration
	cmd := &cobra.Command{
		Use:   "traces",
		Short: "Find requests by client IP, API key, endpoint or status",
		Long: `Traces lists requests (server spans), newest first, with their trace ids
for 'tracehound trace'.

Examples:
  tracehound traces --ip 203.0.113.7 --since 7d
  tracehound traces --ip 203.0.113.0/24 --status 4xx
  tracehound traces --endpoint '/admin/*' --limit 20
  tracehound traces --key key_3f2a… --status error`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			format, err := g.outputFormat()
			if err != nil {
				return err
			}
			b, release, err := backendAs[api.TraceBackend](cmd.Context(), g, "traces")
			if err != nil {
				return err
			}
			defer release()
			q.Window = time.Duration(since)
			res, err := b.FindTraces(cmd.Context(), q)
			if err != nil {
				return err
			}
			if format == "json" {
				return printJSON(g.stdout, res)
			}
			rows := make([][]any, 0, len(res.Traces))
			for _, t := range res.Traces {
				rows = append(rows, []any{t.Timestamp, t.TraceID, t.Method, t.Target, t.StatusCode, formatNS(t.DurationNS), t.PeerIP, t.APIKeyID, t.Bytes})
			}
			if err := printTable(g.stdout, []string{"timestamp", "trace_id", "method", "target", "status", "duration", "peer_ip", "api_key_id", "bytes"}, rows); err != nil {
				return err
			}
			more := ""
			if res.Truncated {
				more = " (more match: raise --limit or narrow the search)"
			}
			fmt.Fprintf(g.stderr, "%s since %s%s\n", plural(len(res.Traces), "request"), res.Since.UTC().Format("2006-01-02 15:04Z"), more)
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVar(&q.IP, "ip", "", "client IP address or CIDR")
	f.StringVar(&q.APIKey, "key", "", "API key id (api_key_id)")
	f.StringVar(&q.Endpoint, "endpoint", "", "path, route or glob such as '/admin/*' (a path also matches under a version prefix)")
	f.StringVar(&q.Status, "status", "", "status code (404), class (4xx) or error")
	f.StringVar(&q.Service, "service", "", "keep one service")
	f.Var(&since, "since", "how far back to look (default 24h)")
	f.IntVar(&q.Limit, "limit", 0, "at most this many requests (default 100, at most 1000)")
	return cmd
}
