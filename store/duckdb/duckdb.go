// Package duckdb is the embedded span store: one DuckDB file in the data
// directory, written by a single appender goroutine that commits batches
// (group commit) and acknowledges each Write only after its batch is
// durable, and read through a pooled database/sql handle.
package duckdb

import (
	"context"
	"database/sql"
	"database/sql/driver"
	_ "embed"
	"errors"
	"fmt"
	"log/slog"
	"math/big"
	"os"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	mapping "github.com/duckdb/duckdb-go-bindings"
	duckdb "github.com/duckdb/duckdb-go/v2"

	"github.com/tracehound/tracehound/span"
	"github.com/tracehound/tracehound/store"
)

var (
	//go:embed schema.sql
	schemaSQL string
	//go:embed macros.sql
	macrosSQL string
)

var _ store.Store = (*Store)(nil)

// Options configure a Store. Zero values take the defaults.
type Options struct {
	// MaxQueuedSpans bounds the spans accepted but not yet committed; a
	// Write that would exceed it gets store.ErrOverloaded. Default 200,000.
	MaxQueuedSpans int
	// MaxBatchSpans bounds one commit. Default 50,000.
	MaxBatchSpans int
	// Logger receives the store's logs; nil discards them.
	Logger *slog.Logger
	// Metrics receives write-path measurements; nil records nothing.
	Metrics Metrics
}

// Metrics observes the write path.
type Metrics interface {
	// Committed is called after each commit with its size and duration.
	Committed(spans int, d time.Duration, err error)
	// QueueDepth reports the spans waiting for a commit.
	QueueDepth(spans int64)
}

// Store is a DuckDB span store. It is safe for concurrent use.
type Store struct {
	path    string
	db      *sql.DB
	log     *slog.Logger
	metrics Metrics

	maxQueued int64
	maxBatch  int
	queued    atomic.Int64

	mu     sync.RWMutex // guards closed and sends on queue
	closed bool
	queue  chan *pending
	done   chan struct{}

	app *appender
}

// pending is one Write waiting for its commit.
type pending struct {
	chunks []mapping.DataChunk
	n      int
	done   chan error
}

// Open opens (creating if needed) the DuckDB database at path, installs the
// schema and the ClickHouse-compatibility macros, and starts the writer.
func Open(ctx context.Context, path string, opts Options) (*Store, error) {
	if opts.MaxQueuedSpans <= 0 {
		opts.MaxQueuedSpans = 200_000
	}
	if opts.MaxBatchSpans <= 0 {
		opts.MaxBatchSpans = 50_000
	}
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	connector, err := duckdb.NewConnector(path, func(execer driver.ExecerContext) error {
		_, err := execer.ExecContext(context.Background(), "SET TimeZone = 'UTC'", nil)
		return err
	})
	if err != nil {
		return nil, openError(path, err)
	}
	db := sql.OpenDB(connector)
	for _, script := range []string{schemaSQL, macrosSQL} {
		if _, err := db.ExecContext(ctx, script); err != nil {
			db.Close()
			return nil, fmt.Errorf("initialise duckdb %q: %w", path, err)
		}
	}
	app, err := newAppender(path)
	if err != nil {
		db.Close()
		return nil, fmt.Errorf("open duckdb appender %q: %w", path, err)
	}
	s := &Store{
		path:      path,
		db:        db,
		log:       log.With("component", "store", "engine", "duckdb"),
		metrics:   opts.Metrics,
		maxQueued: int64(opts.MaxQueuedSpans),
		maxBatch:  opts.MaxBatchSpans,
		queue:     make(chan *pending, 4096),
		done:      make(chan struct{}),
		app:       app,
	}
	go s.writeLoop()
	return s, nil
}

// ErrLocked: another process holds the database file. DuckDB allows one
// writing process; talk to that process instead (the CLI's --server).
var ErrLocked = errors.New("the trace database is in use by another process")

var lockPID = regexp.MustCompile(`\(PID (\d+)\)`)

// openError explains the common failure of a second process opening the file.
func openError(path string, err error) error {
	msg := err.Error()
	if strings.Contains(msg, "Could not set lock") || strings.Contains(msg, "Conflicting lock") {
		if m := lockPID.FindStringSubmatch(msg); m != nil {
			return fmt.Errorf("%s: %w (PID %s)", path, ErrLocked, m[1])
		}
		return fmt.Errorf("%s: %w", path, ErrLocked)
	}
	return fmt.Errorf("open duckdb %q: %w", path, err)
}

// DB returns the underlying database handle for packages that run their own
// read queries (the API map, forensics).
func (s *Store) DB() *sql.DB { return s.db }

// Write implements store.Writer.
func (s *Store) Write(ctx context.Context, spans []span.Span) error {
	if len(spans) == 0 {
		return nil
	}
	n := int64(len(spans))
	s.mu.RLock()
	if s.closed {
		s.mu.RUnlock()
		return store.ErrClosed
	}
	if q := s.queued.Add(n); q > s.maxQueued && q != n {
		s.queued.Add(-n)
		s.mu.RUnlock()
		return store.ErrOverloaded
	}
	s.mu.RUnlock()
	p := &pending{chunks: s.app.encode(spans), n: len(spans), done: make(chan error, 1)}
	s.mu.RLock()
	ok := !s.closed
	if ok {
		select {
		case s.queue <- p:
		default:
			ok = false
		}
	}
	closed := s.closed
	s.mu.RUnlock()
	if !ok {
		s.queued.Add(-n)
		s.app.releaseChunks(p.chunks)
		if closed {
			return store.ErrClosed
		}
		return store.ErrOverloaded
	}
	if s.metrics != nil {
		s.metrics.QueueDepth(s.queued.Load())
	}
	select {
	case err := <-p.done:
		return err
	case <-ctx.Done():
		return ctx.Err()
	}
}

// writeLoop is the single writer: it takes every Write waiting in the queue,
// appends them, commits once, and then acknowledges them all (group commit).
// A commit takes as long as it takes; Writes that arrive meanwhile form the
// next batch, so batches grow with load and latency stays one commit.
func (s *Store) writeLoop() {
	defer close(s.done)
	batch := make([]*pending, 0, 64)
	for p := range s.queue {
		batch = append(batch[:0], p)
		n := p.n
	drain:
		for n < s.maxBatch {
			select {
			case q, ok := <-s.queue:
				if !ok {
					break drain
				}
				batch = append(batch, q)
				n += q.n
			default:
				break drain
			}
		}
		start := time.Now()
		err := s.app.commit(batch)
		if err != nil {
			s.log.Error("commit spans", "spans", n, "err", err)
			err = fmt.Errorf("commit %d spans: %w", n, err)
		}
		if s.metrics != nil {
			s.metrics.Committed(n, time.Since(start), err)
		}
		for _, b := range batch {
			b.done <- err
		}
		s.queued.Add(-int64(n))
		if s.metrics != nil {
			s.metrics.QueueDepth(s.queued.Load())
		}
	}
}

// Query implements store.Querier.
func (s *Store) Query(ctx context.Context, q string, opts store.QueryOptions, args ...any) (*store.Result, error) {
	if opts.Timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, opts.Timeout)
		defer cancel()
	}
	rows, err := s.db.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, queryError(ctx, err)
	}
	defer rows.Close()
	cols, err := rows.ColumnTypes()
	if err != nil {
		return nil, queryError(ctx, err)
	}
	res := &store.Result{Columns: make([]string, len(cols)), Types: make([]string, len(cols)), Rows: [][]any{}}
	for i, c := range cols {
		res.Columns[i] = c.Name()
		res.Types[i] = c.DatabaseTypeName()
	}
	for rows.Next() {
		if opts.MaxRows > 0 && len(res.Rows) == opts.MaxRows {
			res.Truncated = true
			break
		}
		vals := make([]any, len(cols))
		ptrs := make([]any, len(cols))
		for i := range vals {
			ptrs[i] = &vals[i]
		}
		if err := rows.Scan(ptrs...); err != nil {
			return nil, queryError(ctx, err)
		}
		for i, v := range vals {
			vals[i] = plainValue(v)
		}
		res.Rows = append(res.Rows, vals)
	}
	if err := rows.Err(); err != nil {
		return nil, queryError(ctx, err)
	}
	return res, nil
}

// queryError wraps the errors a query's author can fix in store.ErrQuery and
// turns cancellations into context errors.
func queryError(ctx context.Context, err error) error {
	if ctxErr := ctx.Err(); ctxErr != nil {
		return fmt.Errorf("query: %w", ctxErr)
	}
	var de *duckdb.Error
	if errors.As(err, &de) {
		switch de.Type {
		case duckdb.ErrorTypeParser, duckdb.ErrorTypeSyntax, duckdb.ErrorTypeBinder, duckdb.ErrorTypeCatalog,
			duckdb.ErrorTypeConversion, duckdb.ErrorTypeInvalidInput, duckdb.ErrorTypeOutOfRange,
			duckdb.ErrorTypeDivideByZero, duckdb.ErrorTypeMismatchType, duckdb.ErrorTypeParameterNotResolved,
			duckdb.ErrorTypeNotImplemented, duckdb.ErrorTypeInvalidType, duckdb.ErrorTypePermission:
			return fmt.Errorf("%w: %s", store.ErrQuery, de.Msg)
		case duckdb.ErrorTypeInterrupt:
			return fmt.Errorf("query interrupted: %w", context.Canceled)
		}
	}
	return fmt.Errorf("query: %w", err)
}

// plainValue converts driver values to the JSON-friendly scalars of
// store.Result.
func plainValue(v any) any {
	switch x := v.(type) {
	case *big.Int:
		if x.IsInt64() {
			return x.Int64()
		}
		return x.String()
	case []byte:
		return string(x)
	case duckdb.Decimal:
		return x.Float64()
	case duckdb.UUID:
		return x.String()
	case duckdb.Interval:
		return fmt.Sprintf("%d months %d days %d us", x.Months, x.Days, x.Micros)
	case duckdb.OrderedMap:
		m := make(map[string]any, x.Len())
		keys, vals := x.Keys(), x.Values()
		for i := range keys {
			m[fmt.Sprint(keys[i])] = plainValue(vals[i])
		}
		return m
	case duckdb.Map:
		m := make(map[string]any, len(x))
		for k, val := range x {
			m[fmt.Sprint(k)] = plainValue(val)
		}
		return m
	case []any:
		for i := range x {
			x[i] = plainValue(x[i])
		}
		return x
	case map[string]any:
		for k := range x {
			x[k] = plainValue(x[k])
		}
		return x
	case time.Time:
		return x.UTC()
	}
	return v
}

// Trace implements store.TraceReader.
func (s *Store) Trace(ctx context.Context, traceID string) ([]span.Span, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT timestamp, trace_id, span_id, parent_span_id, service_name, span_name,
		span_kind, duration_ns, otel_status, http_method, http_target, http_path, http_query, http_route, status_code,
		peer_ip, net_peer_ip, server_address, user_agent, request_bytes, response_bytes, user_id, api_key_id,
		span_attributes_json, resource_attributes_json
		FROM spans WHERE trace_id = ? ORDER BY timestamp, span_id`, strings.ToLower(traceID))
	if err != nil {
		return nil, fmt.Errorf("read trace %s: %w", traceID, err)
	}
	defer rows.Close()
	var out []span.Span
	for rows.Next() {
		var sp span.Span
		var sa, ra string
		if err := rows.Scan(&sp.Timestamp, &sp.TraceID, &sp.SpanID, &sp.ParentSpanID, &sp.ServiceName, &sp.SpanName,
			&sp.SpanKind, &sp.DurationNS, &sp.OtelStatus, &sp.HTTPMethod, &sp.HTTPTarget, &sp.HTTPPath, &sp.HTTPQuery,
			&sp.HTTPRoute, &sp.StatusCode, &sp.PeerIP, &sp.NetPeerIP, &sp.ServerAddress, &sp.UserAgent,
			&sp.RequestBytes, &sp.ResponseBytes, &sp.UserID, &sp.APIKeyID, &sa, &ra); err != nil {
			return nil, fmt.Errorf("read trace %s: %w", traceID, err)
		}
		sp.Timestamp = sp.Timestamp.UTC()
		if sp.SpanAttributes, err = parseAttrsJSON(sa); err != nil {
			return nil, fmt.Errorf("read trace %s: span attributes: %w", traceID, err)
		}
		if sp.ResourceAttributes, err = parseAttrsJSON(ra); err != nil {
			return nil, fmt.Errorf("read trace %s: resource attributes: %w", traceID, err)
		}
		out = append(out, sp)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("read trace %s: %w", traceID, err)
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("trace %s: %w", traceID, store.ErrNotFound)
	}
	return out, nil
}

// DeleteBefore implements store.Store.
func (s *Store) DeleteBefore(ctx context.Context, t time.Time) (int64, error) {
	res, err := s.db.ExecContext(ctx, "DELETE FROM spans WHERE timestamp < ?", t.UTC())
	if err != nil {
		return 0, fmt.Errorf("delete spans before %s: %w", t.UTC().Format(time.RFC3339), err)
	}
	n, _ := res.RowsAffected()
	if n > 0 {
		if _, err := s.db.ExecContext(ctx, "CHECKPOINT"); err != nil {
			s.log.Warn("checkpoint after retention", "err", err)
		}
	}
	return n, nil
}

// Stats implements store.Store.
func (s *Store) Stats(ctx context.Context) (store.Stats, error) {
	var st store.Stats
	var oldest, newest sql.NullTime
	err := s.db.QueryRowContext(ctx, "SELECT count(*), min(timestamp), max(timestamp) FROM spans").Scan(&st.Spans, &oldest, &newest)
	if err != nil {
		return st, fmt.Errorf("stats: %w", err)
	}
	st.Oldest, st.Newest = oldest.Time.UTC(), newest.Time.UTC()
	for _, p := range []string{s.path, s.path + ".wal"} {
		if fi, err := os.Stat(p); err == nil {
			st.DiskSize += fi.Size()
		}
	}
	return st, nil
}

// Close stops accepting writes, commits what is queued, and closes the
// database (which checkpoints the WAL into the file).
func (s *Store) Close() error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil
	}
	s.closed = true
	close(s.queue)
	s.mu.Unlock()
	<-s.done
	errApp := s.app.close()
	errDB := s.db.Close()
	return errors.Join(errApp, errDB)
}
