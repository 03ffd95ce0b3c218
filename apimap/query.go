package apimap

import (
	"embed"
	"fmt"
	"strings"
	"time"

	"github.com/tracehound/tracehound/store"
)

// The inventory's SQL, in the ClickHouse-compatible dialect the store
// speaks where it can; each file notes what the dialect bridge must map.
// Every query but services.sql groups spans by request shape, whose path
// part is sql/path_key.sql, spliced in where a query says /*path_key*/.
var (
	//go:embed sql/*.sql
	sqlFiles embed.FS

	pathKeySQL      = sqlFragment("path_key.sql")
	observationsSQL = sqlQuery("observations.sql")
	statsSQL        = sqlQuery("stats.sql")
	breakdownSQL    = sqlQuery("breakdown.sql")
	paramsSQL       = sqlQuery("params.sql")
	servicesSQL     = sqlQuery("services.sql")
)

// Dialect is implemented by a store whose SQL dialect cannot run one of
// the inventory's queries as written (the ClickHouse store: they use
// DuckDB's unnest, QUALIFY and GROUPING SETS). It returns its own version,
// with the same arguments and columns, for a query file's name.
type Dialect interface {
	APIMapQuery(name string) (string, bool)
}

// sqlFor returns the query the store runs for the named file: its own
// version, when it has one, or def.
func sqlFor(q store.Querier, name, def string) string {
	if d, ok := q.(Dialect); ok {
		if s, ok := d.APIMapQuery(name); ok {
			return s
		}
	}
	return def
}

// sqlFragment returns an embedded SQL expression without its comment
// lines, ready to splice into a query.
func sqlFragment(name string) string {
	var lines []string
	for line := range strings.SplitSeq(sqlFile(name), "\n") {
		if t := strings.TrimSpace(line); t != "" && !strings.HasPrefix(t, "--") {
			lines = append(lines, line)
		}
	}
	return strings.Join(lines, "\n")
}

// sqlQuery returns an embedded query with the path key spliced in.
func sqlQuery(name string) string {
	return strings.ReplaceAll(sqlFile(name), "/*path_key*/", pathKeySQL)
}

func sqlFile(name string) string {
	b, err := sqlFiles.ReadFile("sql/" + name)
	if err != nil {
		panic(err) // embedded: cannot happen in a built binary
	}
	return string(b)
}

// rows reads the columns of a store.Result by name. The first conversion
// error is kept in err, and the readers then return zero values, so that
// a loop checks once at its end.
type rows struct {
	index map[string]int
	err   error
}

// newRows checks that res has every column in want.
func newRows(res *store.Result, want ...string) (*rows, error) {
	r := &rows{index: make(map[string]int, len(res.Columns))}
	for i, c := range res.Columns {
		r.index[c] = i
	}
	for _, c := range want {
		if _, ok := r.index[c]; !ok {
			return nil, fmt.Errorf("result has no column %q", c)
		}
	}
	return r, nil
}

func (r *rows) fail(err error) {
	if r.err == nil {
		r.err = err
	}
}

func (r *rows) value(row []any, col string) any { return row[r.index[col]] }

func (r *rows) str(row []any, col string) string {
	switch v := r.value(row, col).(type) {
	case string:
		return v
	case nil:
		return ""
	default:
		r.fail(fmt.Errorf("column %s: %T is not a string", col, v))
		return ""
	}
}

func (r *rows) int(row []any, col string) int64 {
	v := r.value(row, col)
	n, ok := store.AsInt64(v)
	if !ok {
		r.fail(fmt.Errorf("column %s: %T is not an integer", col, v))
	}
	return n
}

func (r *rows) uint(row []any, col string) uint64 {
	switch v := r.value(row, col).(type) {
	case uint64:
		return v
	case int64:
		return uint64(v)
	default:
		r.fail(fmt.Errorf("column %s: %T is not an unsigned integer", col, v))
		return 0
	}
}

func (r *rows) float(row []any, col string) float64 {
	switch v := r.value(row, col).(type) {
	case float64:
		return v
	case float32:
		return float64(v)
	case nil:
		return 0
	default:
		return float64(r.int(row, col))
	}
}

func (r *rows) floats(row []any, col string) []float64 {
	list, ok := r.value(row, col).([]any)
	if !ok {
		r.fail(fmt.Errorf("column %s: %T is not a list", col, r.value(row, col)))
		return nil
	}
	out := make([]float64, len(list))
	for i, v := range list {
		f, ok := v.(float64)
		if !ok {
			r.fail(fmt.Errorf("column %s: element %T is not a float", col, v))
			return nil
		}
		out[i] = f
	}
	return out
}

func (r *rows) bool(row []any, col string) bool {
	v, ok := r.value(row, col).(bool)
	if !ok {
		r.fail(fmt.Errorf("column %s: %T is not a boolean", col, r.value(row, col)))
	}
	return v
}

func (r *rows) time(row []any, col string) time.Time {
	v, ok := r.value(row, col).(time.Time)
	if !ok {
		r.fail(fmt.Errorf("column %s: %T is not a time", col, r.value(row, col)))
	}
	return v.UTC()
}
