package detect

import (
	"embed"
	"fmt"
	"strconv"
	"strings"
	"time"
)

//go:embed sql/*.sql
var sqlFiles embed.FS

// sqlText returns an embedded query with its /*markers*/ replaced.
func sqlText(name string, repl map[string]string) string {
	b, err := sqlFiles.ReadFile("sql/" + name + ".sql")
	if err != nil {
		panic("detect: missing embedded query " + name) // a build error, not a runtime one
	}
	s := string(b)
	// Drop the leading comment block: it documents the file, not the query.
	for strings.HasPrefix(s, "--") {
		_, s, _ = strings.Cut(s, "\n")
	}
	for k, v := range repl {
		s = strings.ReplaceAll(s, "/*"+k+"*/", v)
	}
	return s
}

// templateSQL is the route of a request without http.route: its path with
// number, UUID and long hex segments replaced by {id}. Slashes are doubled
// first so that adjacent id segments each keep their delimiters (RE2 has
// no look-ahead).
const templateSQL = `'/' || trim(regexp_replace(regexp_replace(replace(http_path, '/', '//') || '/', ` +
	`'/([0-9]+|[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}|[0-9a-fA-F]{24,})/', '/{id}/', 'g'), ` +
	`'/+', '/', 'g'), '/')`

// endpointKeySQL identifies a request's endpoint in one string, as
// endpoint.key does.
const endpointKeySQL = `service_name || '|' || http_method || '|' || http_route || '|' || if(http_route = '', ` + templateSQL + `, '')`

// endpoint identifies an endpoint as the queries group requests: the
// service, the method, and either the route (Routed) or the templated path
// of requests without one.
type endpoint struct {
	Service, Method, Route string
	Routed                 bool
}

func (e endpoint) key() string {
	if e.Routed {
		return e.Service + "|" + e.Method + "|" + e.Route + "|"
	}
	return e.Service + "|" + e.Method + "||" + e.Route
}

func (e endpoint) String() string { return e.Method + " " + e.Route }

func (e endpoint) ref() EndpointRef {
	return EndpointRef{Service: e.Service, Method: e.Method, Route: e.Route}
}

// quoted returns the endpoint's service, method and route as SQL string
// literals, or false when one cannot be written portably.
func (e endpoint) quoted() (svc, method, route string, ok bool) {
	svc, ok1 := quote(e.Service)
	method, ok2 := quote(e.Method)
	route, ok3 := quote(e.Route)
	return svc, method, route, ok1 && ok2 && ok3
}

// columnsMatch is the condition that a row of svc, method, route and
// tmpl columns (the template of unrouted requests, ” for routed ones) is
// the endpoint's, with literal values; false when a value cannot be
// written portably.
func (e endpoint) columnsMatch() (string, bool) {
	svc, m, r, ok := e.quoted()
	if !ok {
		return "", false
	}
	if e.Routed {
		return "svc = " + svc + " AND method = " + m + " AND route = " + r + " AND tmpl = ''", true
	}
	return "svc = " + svc + " AND method = " + m + " AND route = '' AND tmpl = " + r, true
}

// filter returns the WHERE condition selecting the endpoint's requests,
// with literal values, or false when a value cannot be written portably.
func (e endpoint) filter() (string, bool) {
	svc, m, r, ok := e.quoted()
	if !ok {
		return "", false
	}
	if e.Routed {
		return fmt.Sprintf("service_name = %s AND http_method = %s AND http_route = %s", svc, m, r), true
	}
	return fmt.Sprintf("service_name = %s AND http_method = %s AND http_route = '' AND %s = %s", svc, m, templateSQL, r), true
}

// routes returns the distinct http_route values of endpoints ("" for
// templated ones), to narrow a scan before endpoint keys are computed.
func routes(eps []endpoint) []string {
	var out []string
	seen := map[string]bool{}
	for _, e := range eps {
		r := e.Route
		if !e.Routed {
			r = ""
		}
		if !seen[r] {
			seen[r] = true
			out = append(out, r)
		}
	}
	return out
}

// shortList is the longest list matched with list_contains, which DuckDB
// evaluates inside the scan (reading the other columns of matching rows
// only) but by a linear search; longer lists use a hash semi-join.
const shortList = 32

// inList is the condition "expr is one of the n strings of the list
// argument ?".
func inList(expr string, n int) string {
	if n <= shortList {
		return "list_contains(CAST(? AS VARCHAR[]), " + expr + ")"
	}
	return expr + " IN (SELECT unnest(CAST(? AS VARCHAR[])))"
}

// inColumn is the condition "column is one of vals" and its arguments.
// A short list is a list of parameters, which DuckDB also checks against
// each row group's statistics: on a compacted store (duckdb.Compact) it
// reads only the row groups holding the values.
func inColumn(column string, vals []string) (string, []any) {
	if len(vals) > shortList {
		return inList(column, len(vals)), []any{vals}
	}
	if len(vals) == 0 {
		return "false", nil
	}
	args := make([]any, len(vals))
	for i, v := range vals {
		args[i] = v
	}
	return column + " IN (?" + strings.Repeat(", ?", len(vals)-1) + ")", args
}

// timeLiteral writes t as a timestamp literal both engines read (the
// toDateTime64 macro on DuckDB), to the microsecond.
func timeLiteral(t time.Time) string {
	return "toDateTime64('" + t.UTC().Format("2006-01-02 15:04:05.000000") + "', 6, 'UTC')"
}

// windowSQL is the evidence queries' time bound.
func windowSQL(since, until time.Time) string {
	return "timestamp >= " + timeLiteral(since) + " AND timestamp < " + timeLiteral(until)
}

// callerSQL is the evidence condition selecting one caller.
func callerSQL(c Caller) (string, bool) {
	v, ok := quote(c.Value)
	if !ok {
		return "", false
	}
	return c.Kind.column() + " = " + v, true
}

// paramPattern returns name as an RE2 pattern that matches it literally,
// for names made of letters, digits and a few punctuation characters; ok
// is false for any other name.
func paramPattern(name string) (string, bool) {
	var b strings.Builder
	for _, r := range name {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9', r == '_':
			b.WriteRune(r)
		case strings.ContainsRune(".-~%:+*()!$,;@", r):
			b.WriteString("[" + string(r) + "]")
		default:
			return "", false
		}
	}
	return b.String(), b.Len() > 0
}

// sourceSQL returns the SQL expression of an id source's raw value.
func (s idSource) valueSQL() (string, bool) {
	if s.Field > 0 {
		return "split_part(split_part(http_target, '?', 1), '/', " + strconv.Itoa(s.Field) + ")", true
	}
	n, ok := quote(s.Param)
	if !ok {
		return "", false
	}
	return "extractURLParameter(http_target, " + n + ")", true
}

// numberSQL returns the SQL expression of an id source's numeric value:
// NULL unless the raw value is 1 to 18 digits (see parseID).
func (s idSource) numberSQL() (string, bool) {
	v, ok := s.valueSQL()
	if !ok {
		return "", false
	}
	return "if(regexp_full_match(" + v + ", '[0-9]{1,18}'), CAST(" + v + " AS BIGINT), NULL)", true
}

func fmtInt(n int64) string {
	s := strconv.FormatInt(n, 10)
	neg := strings.HasPrefix(s, "-")
	if neg {
		s = s[1:]
	}
	var b strings.Builder
	for i, c := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(c)
	}
	if neg {
		return "-" + b.String()
	}
	return b.String()
}

// fmtBytes writes a byte count in decimal units.
func fmtBytes(n float64) string {
	switch {
	case n >= 1e9:
		return strconv.FormatFloat(n/1e9, 'f', 2, 64) + " GB"
	case n >= 1e6:
		return strconv.FormatFloat(n/1e6, 'f', 1, 64) + " MB"
	case n >= 1e3:
		return strconv.FormatFloat(n/1e3, 'f', 1, 64) + " KB"
	}
	return strconv.FormatFloat(n, 'f', 0, 64) + " B"
}

func fmtPct(x float64) string { return strconv.FormatFloat(100*x, 'f', 0, 64) + "%" }

func fmtTime(t time.Time) string { return t.UTC().Format("2006-01-02 15:04 UTC") }
