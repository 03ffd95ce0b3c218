package sqlguard

import (
	"math"
	"time"
)

// Limits bound what one query may cost. The guard enforces the size
// limits itself; MaxRows, Timeout and MaxMemoryBytes are enforced by the
// store (store.QueryOptions on DuckDB, ClickHouseSettings on ClickHouse)
// and live here so that one value configures every layer. Zero fields take
// the DefaultLimits values.
type Limits struct {
	// MaxQueryBytes caps the query text. Default 100,000.
	MaxQueryBytes int
	// MaxTokens caps the number of tokens. Default 20,000.
	MaxTokens int
	// MaxDepth caps how deeply brackets nest. Default 64.
	MaxDepth int
	// MaxRows caps the rows a query returns. Default 10,000.
	MaxRows int
	// Timeout cancels a query that runs longer. Default 30s.
	Timeout time.Duration
	// MaxMemoryBytes caps the memory one query may use on ClickHouse.
	// Default 2 GiB.
	MaxMemoryBytes int64
}

// DefaultLimits returns the limits used when a field is zero.
func DefaultLimits() Limits {
	return Limits{
		MaxQueryBytes:  maxQueryBytes,
		MaxTokens:      20_000,
		MaxDepth:       64,
		MaxRows:        10_000,
		Timeout:        30 * time.Second,
		MaxMemoryBytes: 2 << 30,
	}
}

// withDefaults fills zero fields from DefaultLimits.
func (l Limits) withDefaults() Limits {
	d := DefaultLimits()
	if l.MaxQueryBytes <= 0 {
		l.MaxQueryBytes = d.MaxQueryBytes
	}
	if l.MaxTokens <= 0 {
		l.MaxTokens = d.MaxTokens
	}
	if l.MaxDepth <= 0 {
		l.MaxDepth = d.MaxDepth
	}
	if l.MaxRows <= 0 {
		l.MaxRows = d.MaxRows
	}
	if l.Timeout <= 0 {
		l.Timeout = d.Timeout
	}
	if l.MaxMemoryBytes <= 0 {
		l.MaxMemoryBytes = d.MaxMemoryBytes
	}
	return l
}

// ClickHouseSettings returns the per-query ClickHouse settings that
// enforce limits on the server, for the query context of a user query
// (clickhouse-go: clickhouse.Context(ctx, clickhouse.WithSettings(…))).
//
// readonly=2 allows reads and these per-query settings but no writes and
// no change to readonly itself; allow_ddl=0 also disables table functions.
// max_result_rows is MaxRows+1 with result_overflow_mode=break, so the
// server stops early yet the client can still tell that the cap cut the
// result. max_execution_time is in whole seconds, rounded up. Zero fields
// of limits take the DefaultLimits values.
func ClickHouseSettings(limits Limits) map[string]any {
	l := limits.withDefaults()
	seconds := int64(math.Ceil(l.Timeout.Seconds()))
	return map[string]any{
		"readonly":                      2,
		"allow_ddl":                     0,
		"allow_introspection_functions": 0,
		"max_execution_time":            seconds,
		"timeout_overflow_mode":         "throw",
		"max_result_rows":               uint64(l.MaxRows) + 1,
		"result_overflow_mode":          "break",
		"max_memory_usage":              uint64(l.MaxMemoryBytes),
		"max_query_size":                uint64(l.MaxQueryBytes),
		"max_subquery_depth":            uint64(l.MaxDepth),
	}
}
