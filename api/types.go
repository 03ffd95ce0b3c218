package api

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"strconv"
	"time"
)

// QueryResult is the JSON shape of every tabular answer (sql, later ask):
// rows are objects keyed by column, written in column order.
type QueryResult struct {
	SQL       string   `json:"sql"`
	Columns   []string `json:"columns"`
	Types     []string `json:"types"`
	Rows      [][]any  `json:"-"`
	Truncated bool     `json:"truncated"`
	ElapsedMS float64  `json:"elapsed_ms"`
}

type queryResultJSON struct {
	SQL       string            `json:"sql"`
	Columns   []string          `json:"columns"`
	Types     []string          `json:"types"`
	Rows      []json.RawMessage `json:"rows"`
	RowCount  int               `json:"row_count"`
	Truncated bool              `json:"truncated"`
	ElapsedMS float64           `json:"elapsed_ms"`
}

// UniqueColumns renames repeated column names (count, count → count,
// count_2) so that every row object has one key per column.
func UniqueColumns(cols []string) []string {
	used := make(map[string]bool, len(cols))
	out := make([]string, len(cols))
	for i, c := range cols {
		name := c
		for n := 2; used[name]; n++ {
			name = c + "_" + strconv.Itoa(n)
		}
		used[name] = true
		out[i] = name
	}
	return out
}

// MarshalJSON writes rows as objects whose keys follow the column order.
func (r QueryResult) MarshalJSON() ([]byte, error) {
	out := queryResultJSON{
		SQL: r.SQL, Columns: r.Columns, Types: r.Types, RowCount: len(r.Rows),
		Truncated: r.Truncated, ElapsedMS: r.ElapsedMS, Rows: make([]json.RawMessage, len(r.Rows)),
	}
	if out.Columns == nil {
		out.Columns = []string{}
	}
	if out.Types == nil {
		out.Types = []string{}
	}
	var buf bytes.Buffer
	for i, row := range r.Rows {
		buf.Reset()
		buf.WriteByte('{')
		for j, v := range row {
			if j >= len(r.Columns) {
				return nil, fmt.Errorf("row %d has more values than columns", i)
			}
			if j > 0 {
				buf.WriteByte(',')
			}
			k, _ := json.Marshal(r.Columns[j])
			buf.Write(k)
			buf.WriteByte(':')
			b, err := json.Marshal(jsonValue(v))
			if err != nil {
				return nil, fmt.Errorf("row %d column %s: %w", i, r.Columns[j], err)
			}
			buf.Write(b)
		}
		buf.WriteByte('}')
		out.Rows[i] = append(json.RawMessage(nil), buf.Bytes()...)
	}
	return json.Marshal(out)
}

// jsonValue makes values JSON-safe: times in RFC 3339 UTC, and NaN or
// infinite floats as null.
func jsonValue(v any) any {
	switch x := v.(type) {
	case time.Time:
		return x.UTC().Format(time.RFC3339Nano)
	case float64:
		if math.IsNaN(x) || math.IsInf(x, 0) {
			return nil
		}
	case float32:
		return jsonValue(float64(x))
	}
	return v
}

// UnmarshalJSON reads rows back into column order. Numbers are kept exact
// (int64 when integral, float64 otherwise).
func (r *QueryResult) UnmarshalJSON(b []byte) error {
	var in queryResultJSON
	if err := json.Unmarshal(b, &in); err != nil {
		return err
	}
	r.SQL, r.Columns, r.Types, r.Truncated, r.ElapsedMS = in.SQL, in.Columns, in.Types, in.Truncated, in.ElapsedMS
	r.Rows = make([][]any, len(in.Rows))
	for i, raw := range in.Rows {
		dec := json.NewDecoder(bytes.NewReader(raw))
		dec.UseNumber()
		var m map[string]any
		if err := dec.Decode(&m); err != nil {
			return fmt.Errorf("row %d: %w", i, err)
		}
		row := make([]any, len(r.Columns))
		for j, c := range r.Columns {
			row[j] = fromJSONNumber(m[c])
		}
		r.Rows[i] = row
	}
	return nil
}

func fromJSONNumber(v any) any {
	switch x := v.(type) {
	case json.Number:
		if n, err := x.Int64(); err == nil {
			return n
		}
		f, _ := x.Float64()
		return f
	case map[string]any:
		for k := range x {
			x[k] = fromJSONNumber(x[k])
		}
	case []any:
		for i := range x {
			x[i] = fromJSONNumber(x[i])
		}
	}
	return v
}

// Status describes a running tracehound.
type Status struct {
	Version       string    `json:"version"`
	Spans         int64     `json:"spans"`
	Oldest        time.Time `json:"oldest,omitzero"`
	Newest        time.Time `json:"newest,omitzero"`
	DiskBytes     int64     `json:"disk_bytes"`
	Data          string    `json:"data"`
	RetentionDays float64   `json:"retention_days"`
}

// IngestResult reports an ingest of OTLP files.
type IngestResult struct {
	Files    int   `json:"files"`
	Requests int   `json:"requests"`
	Spans    int64 `json:"spans"`
	Rejected int64 `json:"rejected"`
}
