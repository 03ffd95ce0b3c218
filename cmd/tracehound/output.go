package main

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"
	"unicode/utf8"
)

// printJSON writes v as indented JSON.
func printJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

// maxCell bounds a table cell; JSON output is never cut.
const maxCell = 80

// printTable writes rows under a header, aligned.
func printTable(w io.Writer, header []string, rows [][]any) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	upper := make([]string, len(header))
	for i, h := range header {
		upper[i] = strings.ToUpper(h)
	}
	fmt.Fprintln(tw, strings.Join(upper, "\t"))
	cells := make([]string, len(header))
	for _, row := range rows {
		for i := range cells {
			cells[i] = ""
			if i < len(row) {
				cells[i] = cell(row[i])
			}
		}
		fmt.Fprintln(tw, strings.Join(cells, "\t"))
	}
	return tw.Flush()
}

// cell renders one value for a table: one line, bounded width.
func cell(v any) string {
	var s string
	switch x := v.(type) {
	case nil:
		s = "NULL"
	case time.Time:
		s = x.UTC().Format("2006-01-02 15:04:05.000Z")
	case string:
		s = x
	case float64:
		s = strings.TrimRight(strings.TrimRight(fmt.Sprintf("%.4f", x), "0"), ".")
	case map[string]any, []any:
		b, _ := json.Marshal(x)
		s = string(b)
	default:
		s = fmt.Sprint(x)
	}
	s = strings.NewReplacer("\n", `\n`, "\t", `\t`, "\r", `\r`).Replace(s)
	if utf8.RuneCountInString(s) > maxCell {
		r := []rune(s)
		s = string(r[:maxCell-1]) + "…"
	}
	return s
}

// plural returns "1 row", "2 rows".
func plural(n int, noun string) string {
	if n == 1 {
		return "1 " + noun
	}
	return fmt.Sprintf("%d %ss", n, noun)
}

// dateCells renders the values of DATE columns as dates, not midnights.
func dateCells(types []string, rows [][]any) [][]any {
	for i, t := range types {
		if t != "DATE" {
			continue
		}
		for _, r := range rows {
			if d, ok := r[i].(time.Time); ok {
				r[i] = d.Format("2006-01-02")
			}
		}
	}
	return rows
}
