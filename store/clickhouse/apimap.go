package clickhouse

import (
	"embed"
	"strings"
)

// The API map's queries (package apimap, sql/*.sql) are written for
// DuckDB: unnest(?::UBIGINT[]), QUALIFY, GROUPING SETS, hash(), regexp
// flags. ClickHouse runs none of them, so these are their ClickHouse
// versions, with the same arguments (in the same order) and the same
// result columns; they also run on ClickHouse 18.16, where CI checks them
// against the DuckDB originals. The API map picks them when its querier
// reports the clickhouse dialect (Store.Dialect).

//go:embed apimap/*.sql
var apimapFS embed.FS

// APIMapQueries are the ClickHouse versions of the API map's queries, by
// the name of the apimap/sql file they stand for (observations.sql,
// stats.sql, breakdown.sql, params.sql, services.sql), with the path key
// and the breakdown's request subquery spliced in.
var APIMapQueries = func() map[string]string {
	pathKey := sqlBody("path_key.sql")
	requests := strings.ReplaceAll(sqlBody("requests.sql"), "/*path_key*/", pathKey)
	out := map[string]string{}
	for _, name := range []string{"observations.sql", "stats.sql", "breakdown.sql", "params.sql", "services.sql"} {
		q := sqlBody(name)
		q = strings.ReplaceAll(q, "/*requests*/", requests)
		out[name] = strings.ReplaceAll(q, "/*path_key*/", pathKey)
	}
	return out
}()

// sqlBody is an embedded file without its comment lines.
func sqlBody(name string) string {
	b, err := apimapFS.ReadFile("apimap/" + name)
	if err != nil {
		panic(err)
	}
	var lines []string
	for line := range strings.SplitSeq(string(b), "\n") {
		if t := strings.TrimSpace(line); t != "" && !strings.HasPrefix(t, "--") {
			lines = append(lines, line)
		}
	}
	return strings.Join(lines, "\n")
}

// Dialect names the SQL dialect of the store's queries, for callers (the
// API map) that keep one version of a query per engine.
func (s *Store) Dialect() string { return "clickhouse" }

// APIMapQuery implements apimap.Dialect: the ClickHouse version of an API
// map query.
func (s *Store) APIMapQuery(name string) (string, bool) {
	q, ok := APIMapQueries[name]
	return q, ok
}
