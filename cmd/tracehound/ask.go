package main

import (
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/spf13/cobra"
	"golang.org/x/term"

	"github.com/tracehound/tracehound/api"
	"github.com/tracehound/tracehound/forensics"
	"github.com/tracehound/tracehound/store"
)

func newAskCmd(g *globals) *cobra.Command {
	var sqlOnly, examples bool
	cmd := &cobra.Command{
		Use:   `ask "QUESTION" [--sql-only]`,
		Short: "Ask a forensic question in plain English",
		Long: `Ask reads a question in plain English, turns it into a read-only SQL query
over the traces table and runs it. It prints how it read the question, the
SQL it ran, the rows, and for lists and counts a per-hour or per-day
timeline. Endpoint and query parameter names ("collection IDs") are resolved
against the endpoints the API map has seen; a word it cannot read is refused
with "did you mean" suggestions, never guessed.

--sql-only shows the interpretation and the SQL without running it; paste
the SQL into 'tracehound sql' to change it. --examples lists questions the
grammar answers.

Examples:
  tracehound ask "Show all requests to /admin/export in the last 7 days"
  tracehound ask "Count unique collection IDs accessed via /admin/export in the last 7 days"
  tracehound ask "top 10 IPs by bytes downloaded yesterday"
  tracehound ask "requests from 104.248.73.19 by day" --sql-only
  tracehound ask --examples`,
		Args: func(cmd *cobra.Command, args []string) error {
			if len(args) == 0 && !examples {
				return usagef("ask needs a question, e.g. tracehound ask %q (see tracehound ask --examples)", forensics.Examples[0])
			}
			if len(args) > 0 && examples {
				return usagef("ask --examples takes no question")
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			format, err := g.outputFormat()
			if err != nil {
				return err
			}
			b, release, err := backendAs[api.AskBackend](cmd.Context(), g, "forensic questions")
			if err != nil {
				return err
			}
			defer release()
			if examples {
				res, err := b.AskExamples(cmd.Context())
				if err != nil {
					return err
				}
				if format == "json" {
					return printJSON(g.stdout, res)
				}
				for _, q := range res.Examples {
					fmt.Fprintf(g.stdout, "tracehound ask %q\n", q)
				}
				return nil
			}
			res, err := b.Ask(cmd.Context(), api.AskRequest{Question: strings.Join(args, " "), SQLOnly: sqlOnly})
			if pe := (*forensics.ParseError)(nil); errors.As(err, &pe) {
				return askParseError{pe}
			}
			if err != nil {
				return err
			}
			if format == "json" {
				return printJSON(g.stdout, res)
			}
			return printAnswer(g.stdout, g.stderr, res)
		},
	}
	cmd.Flags().BoolVar(&sqlOnly, "sql-only", false, "show the interpretation and SQL without running it")
	cmd.Flags().BoolVar(&examples, "examples", false, "list example questions")
	return cmd
}

// askParseError prints a question the grammar could not read with what to
// write instead.
type askParseError struct{ pe *forensics.ParseError }

func (e askParseError) Error() string {
	var b strings.Builder
	if e.pe.Word != "" {
		fmt.Fprintf(&b, "cannot read %q in your question: ", e.pe.Word)
	}
	b.WriteString(e.pe.Msg)
	if len(e.pe.Suggestions) > 0 {
		b.WriteString("\nDid you mean ")
		for i, s := range e.pe.Suggestions {
			if i > 0 {
				b.WriteString(" or ")
			}
			fmt.Fprintf(&b, "%q", s)
		}
		b.WriteString("?")
	}
	if len(e.pe.Examples) > 0 {
		b.WriteString("\nQuestions it answers look like:")
		for _, q := range e.pe.Examples {
			fmt.Fprintf(&b, "\n  tracehound ask %q", q)
		}
		b.WriteString("\nMore with 'tracehound ask --examples'.")
	}
	return b.String()
}

func (e askParseError) Unwrap() error { return e.pe }

// printAnswer writes an answer for a reader: the interpretation, the SQL
// indented (dimmed on a terminal), the rows and the timeline as a bar
// chart, then a summary on errOut.
func printAnswer(w, errOut io.Writer, res *api.AskResult) error {
	fmt.Fprintln(w, res.Interpretation)
	for _, n := range res.Notes {
		fmt.Fprintf(w, "Note: %s\n", n)
	}
	fmt.Fprintln(w)
	dim := dimmer(w)
	printSQL(w, dim, res.SQL, res.Args)
	if res.SQLOnly {
		if tl := res.Timeline; tl != nil {
			fmt.Fprintf(w, "\nTimeline, per %s:\n\n", tl.Bucket)
			printSQL(w, dim, tl.SQL, tl.Args)
		}
		return nil
	}
	fmt.Fprintln(w)
	if err := printTable(w, res.Columns, dateCells(res.Types, res.Rows)); err != nil {
		return err
	}
	tl := res.Timeline
	if tl == nil && len(res.Columns) == 2 && (res.Columns[0] == "day" || res.Columns[0] == "hour") {
		// A count by day or hour is a timeline itself.
		tl = &api.AskTimeline{Bucket: res.Columns[0], QueryResult: res.QueryResult}
	}
	if tl != nil {
		fmt.Fprintf(w, "\nPer %s:\n", tl.Bucket)
		printBarChart(w, tl)
	}
	more := ""
	if res.Truncated {
		more = " (truncated: ask for fewer, e.g. \"top 100 …\", or narrow the window)"
	}
	fmt.Fprintf(errOut, "%s in %.1f ms%s\n", plural(len(res.Rows), "row"), res.ElapsedMS, more)
	return nil
}

// dimmer returns a function that dims a line on a terminal (unless
// NO_COLOR is set) and leaves it alone otherwise.
func dimmer(w io.Writer) func(string) string {
	f, ok := w.(*os.File)
	if !ok || !term.IsTerminal(int(f.Fd())) || os.Getenv("NO_COLOR") != "" {
		return func(s string) string { return s }
	}
	return func(s string) string { return "\x1b[2m" + s + "\x1b[0m" }
}

// printSQL writes a query indented, with its positional arguments.
func printSQL(w io.Writer, dim func(string) string, sql string, args []any) {
	for line := range strings.SplitSeq(sql, "\n") {
		fmt.Fprintln(w, dim("    "+line))
	}
	if len(args) == 0 {
		return
	}
	vals := make([]string, len(args))
	for i, a := range args {
		if s, ok := a.(string); ok {
			vals[i] = "'" + strings.ReplaceAll(s, "'", "''") + "'"
		} else {
			vals[i] = fmt.Sprint(a)
		}
	}
	fmt.Fprintln(w, dim("    -- ? = "+strings.Join(vals, ", ")))
}

// Limits of the timeline chart.
const (
	barWidth = 40
	// maxBars bounds the buckets drawn; empty buckets between the first
	// and the last are drawn (a pause shows as a gap) unless that would
	// exceed it.
	maxBars = 400
)

// printBarChart draws a timeline's counts, one bar per bucket, scaled to
// the largest. The first column is the bucket's start, the last the count.
func printBarChart(w io.Writer, tl *api.AskTimeline) {
	type bar struct {
		at time.Time
		v  float64
	}
	var bars []bar
	for _, row := range tl.Rows {
		if len(row) < 2 {
			continue
		}
		at, ok := timeCell(row[0])
		if !ok {
			continue
		}
		bars = append(bars, bar{at, numCell(row[len(row)-1])})
	}
	if len(bars) == 0 {
		fmt.Fprintln(w, "  (nothing in the window)")
		return
	}
	step, layout := 24*time.Hour, "2006-01-02 Mon"
	if tl.Bucket == "hour" {
		step, layout = time.Hour, "2006-01-02 15:00"
	}
	if n := bars[len(bars)-1].at.Sub(bars[0].at) / step; n < maxBars {
		filled := make([]bar, 0, n+1)
		for i, b := range bars {
			if i > 0 {
				for at := bars[i-1].at.Add(step); at.Before(b.at); at = at.Add(step) {
					filled = append(filled, bar{at: at})
				}
			}
			filled = append(filled, b)
		}
		bars = filled
	}
	if len(bars) > maxBars {
		fmt.Fprintf(w, "  (%d buckets: too many to draw; see --format json)\n", len(bars))
		return
	}
	top := 0.0
	for _, b := range bars {
		top = max(top, b.v)
	}
	for _, b := range bars {
		line := barOf(b.v, top)
		line += strings.Repeat(" ", barWidth+1-utf8.RuneCountInString(line))
		fmt.Fprintf(w, "  %s  %s%s\n", b.at.UTC().Format(layout), line, cell(b.v))
	}
}

// barOf draws v out of top in barWidth cells, to an eighth of a cell; a
// non-zero value shows at least a sliver.
func barOf(v, top float64) string {
	if v <= 0 || top <= 0 {
		return ""
	}
	eighths := int(math.Round(v / top * barWidth * 8))
	eighths = max(eighths, 1)
	partial := []string{"", "▏", "▎", "▍", "▌", "▋", "▊", "▉"}
	return strings.Repeat("█", eighths/8) + partial[eighths%8]
}

// timeCell reads a bucket start: a time from the local store, RFC 3339
// text from the API.
func timeCell(v any) (time.Time, bool) {
	switch x := v.(type) {
	case time.Time:
		return x, true
	case string:
		t, err := time.Parse(time.RFC3339Nano, x)
		if err != nil {
			t, err = time.Parse(time.DateOnly, x)
		}
		return t, err == nil
	}
	return time.Time{}, false
}

// numCell reads a count or measure as a float.
func numCell(v any) float64 {
	if x, ok := v.(string); ok {
		f, _ := strconv.ParseFloat(x, 64)
		return f
	}
	f, _ := store.AsFloat64(v)
	return f
}
