// Package store defines how tracehound keeps spans: the interfaces that the
// ingest pipeline, the rules engine, forensics and the API consume, and the
// errors that every implementation returns. Implementations live in
// subpackages (duckdb for one machine, clickhouse for scale-out) and all pass
// the storetest conformance suite.
package store

import (
	"context"
	"errors"
	"time"

	"github.com/tracehound/tracehound/span"
)

// Errors every implementation returns, wrapped with context.
var (
	// ErrNotFound: the trace or object does not exist.
	ErrNotFound = errors.New("not found")
	// ErrOverloaded: the write queue is full; the caller should retry later
	// (OTLP 429/503 with Retry-After). Nothing of the rejected batch was stored.
	ErrOverloaded = errors.New("store overloaded")
	// ErrClosed: the store is closed or closing.
	ErrClosed = errors.New("store closed")
	// ErrQuery: the query is invalid (syntax, unknown column, type error).
	// Its message is safe to show to the user who wrote the query.
	ErrQuery = errors.New("invalid query")
)

// Writer stores spans.
type Writer interface {
	// Write stores spans durably. It returns nil only after the spans are
	// committed, so that an OTLP acknowledgement never covers data that a
	// crash could lose. It returns ErrOverloaded at once, storing nothing,
	// when the write queue cannot take the batch. If ctx ends while the
	// batch waits for its commit, Write returns ctx.Err() and the batch may
	// or may not be stored (at-least-once). Write takes ownership of spans:
	// the store may read them after Write returns, so the caller must not
	// modify them.
	Write(ctx context.Context, spans []span.Span) error
}

// Result is a tabular query result. Values are Go scalars (int64, uint64,
// float64, string, bool, time.Time, nil) or, for nested types, maps and
// slices of them.
type Result struct {
	Columns []string
	Types   []string
	Rows    [][]any
	// Truncated is set when the row cap cut the result.
	Truncated bool
}

// QueryOptions bound one query.
type QueryOptions struct {
	// MaxRows caps the rows returned; 0 means no cap.
	MaxRows int
	// Timeout cancels the query; 0 means the caller's context alone.
	Timeout time.Duration
}

// Querier runs read queries in the ClickHouse dialect subset tracehound
// speaks (see PRODUCT.md §4). Callers validate queries before they reach a
// Querier; an implementation may still refuse writes.
type Querier interface {
	// Query runs q with positional args. An invalid query returns an error
	// wrapping ErrQuery.
	Query(ctx context.Context, q string, opts QueryOptions, args ...any) (*Result, error)
}

// TraceReader reads whole traces.
type TraceReader interface {
	// Trace returns every span of the trace, ordered by start time. It
	// returns ErrNotFound when no span has that id. The caller owns the
	// returned slice.
	Trace(ctx context.Context, traceID string) ([]span.Span, error)
}

// ChangeTracker is a store that can tell which span times its writes
// touched after a point, so that what was computed from its spans (a
// rule's evaluations) can be kept and recomputed only where they changed.
type ChangeTracker interface {
	// Mark waits, as a query does, for the spans acknowledged so far and
	// returns the point the store's writes have reached: take it before
	// reading what is to be kept.
	Mark(ctx context.Context) (uint64, error)
	// ChangedSince tells what the store's writes and deletions changed
	// after mark.
	ChangedSince(mark uint64) Changes
}

// Changes is what a store's writes and deletions changed after a mark.
// The zero Changes is nothing.
type Changes struct {
	// Written is set when spans were written; the earliest started at
	// WrittenFrom.
	Written     bool
	WrittenFrom time.Time
	// DeletedBefore, when set, is a time every deleted span started
	// before (retention).
	DeletedBefore time.Time
	// Unknown: anything may have changed; the store cannot tell what.
	Unknown bool
}

// Any reports whether anything changed.
func (c Changes) Any() bool { return c.Written || !c.DeletedBefore.IsZero() || c.Unknown }

// DurableMarks is a ChangeTracker whose marks hold across restarts: a
// mark taken before the store was closed still tells, once it is open
// again, what changed since, so that what was computed from its spans
// can be kept on disk.
type DurableMarks interface {
	ChangeTracker
	// StoreID names the store the marks hold for: another store, or a
	// copy restored over this one, has another.
	StoreID() string
}

// Scratcher is a store that can keep a copy of a query's rows for the
// queries that follow: a caller with many questions of a few rows copies
// them once rather than scanning for them each time.
type Scratcher interface {
	// Scratch copies at most maxRows+1 rows of query (one SELECT, with
	// positional args) into a new table, in memory, and returns the
	// table's name for the store's queries, how many rows it holds, and
	// a function that drops it. Every table is dropped when the store
	// closes.
	Scratch(ctx context.Context, query string, maxRows int, args ...any) (table string, rows int64, drop func(), err error)
}

// Stats describes the stored data.
type Stats struct {
	Spans    int64
	Oldest   time.Time
	Newest   time.Time
	DiskSize int64 // bytes on disk, 0 when unknown
}

// Store is a complete span store.
type Store interface {
	Writer
	Querier
	TraceReader
	// DeleteBefore removes spans that started before t (retention) and
	// returns how many were removed.
	DeleteBefore(ctx context.Context, t time.Time) (int64, error)
	// Stats reports the size and time range of the stored data.
	Stats(ctx context.Context) (Stats, error)
	// Close flushes pending writes and releases the store. Spans whose
	// Write returned nil are durable after Close returns.
	Close() error
}
