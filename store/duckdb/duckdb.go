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
	"math"
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

var (
	_ store.Store         = (*Store)(nil)
	_ store.ChangeTracker = (*Store)(nil)
	_ store.DurableMarks  = (*Store)(nil)
)

// Options configure a Store. Zero values take the defaults.
type Options struct {
	// MaxQueuedSpans bounds the spans accepted but not yet in DuckDB; a
	// Write that would exceed it gets store.ErrOverloaded. Default 250,000.
	MaxQueuedSpans int
	// ApplyBatchSpans is the DuckDB commit size the applier aims for.
	// Default 122,880, one DuckDB row group: a commit that fills whole row
	// groups has them written compressed straight to the database file.
	ApplyBatchSpans int
	// ApplyInterval bounds how long an acknowledged span waits before it is
	// committed to DuckDB (and visible to queries that do not wait for it).
	// Default 1s.
	ApplyInterval time.Duration
	// MemoryLimit is DuckDB's memory limit, e.g. "1GB". Default "384MB".
	MemoryLimit string
	// Logger receives the store's logs; nil discards them.
	Logger *slog.Logger
	// Metrics receives write-path measurements; nil records nothing.
	Metrics Metrics
}

// Metrics observes the write path.
type Metrics interface {
	// Committed is called after each DuckDB commit with its size and duration.
	Committed(spans int, d time.Duration, err error)
	// QueueDepth reports the spans acknowledged or waiting but not yet in DuckDB.
	QueueDepth(spans int64)
}

// Store is a DuckDB span store. It is safe for concurrent use.
//
// A Write is encoded on the caller's goroutine, appended to the
// write-ahead log by the log goroutine (group commit: one fsync for every
// Write waiting), acknowledged, and handed in log order to the applier
// goroutine, which commits to DuckDB in large batches. Queries first wait
// until every Write acknowledged before they started is in DuckDB.
type Store struct {
	path    string
	db      *sql.DB
	log     *slog.Logger
	metrics Metrics

	// The in-memory database of Scratch copies, attached on first use.
	scratchOnce sync.Once
	scratchErr  error
	scratchSeq  atomic.Int64

	// stats are the latest Stats read and when; under overload Stats
	// answers with them and refreshes them in the background.
	statsMu         sync.Mutex
	stats           store.Stats
	statsAt         time.Time
	statsRefreshing bool

	maxQueued     int64
	applyBatch    int
	applyInterval time.Duration
	queued        atomic.Int64

	mu     sync.RWMutex // guards closed and sends on logQueue
	closed bool

	wal      *wal
	logQueue chan *pending
	logDone  chan struct{}

	encodeJobs chan *pending
	encoding   sync.WaitGroup // Writes logged and not yet encoded
	applyQueue chan *pending
	applyDone  chan struct{}
	barrier    chan uint64 // a query asks the applier to commit up to a seq now
	acked      atomic.Uint64
	applied    atomic.Uint64
	appliedMu  sync.Mutex
	maintMu    sync.Mutex    // serialises retention and compaction
	committed  atomic.Int64  // spans committed since Open
	appliedCh  chan struct{} // closed and replaced after each commit
	applyErr   atomic.Pointer[error]
	changes    changes

	app *appender
}

// pending is one Write: its spans, log record and, once an encoder has
// filled them, DuckDB chunks.
type pending struct {
	spans   []span.Span
	chunks  []mapping.DataChunk
	encoded chan struct{} // closed when chunks are filled
	record  []byte
	n       int
	seq     uint64
	done    chan error
	// earliest is the earliest span start, in Unix microseconds.
	earliest int64
}

// earliestStart returns the earliest start of spans in Unix
// microseconds.
func earliestStart(spans []span.Span) int64 {
	e := int64(math.MaxInt64)
	for i := range spans {
		e = min(e, spans[i].Timestamp.UnixMicro())
	}
	return e
}

// encodeWorkers fill DuckDB chunks for the applier, off the request path.
const encodeWorkers = 2

var closedChan = func() chan struct{} { c := make(chan struct{}); close(c); return c }()

// Open opens (creating if needed) the DuckDB database at path, installs the
// schema and the ClickHouse-compatibility macros, replays the write-ahead
// log into DuckDB, and starts the writer.
func Open(ctx context.Context, path string, opts Options) (*Store, error) {
	if opts.MaxQueuedSpans <= 0 {
		opts.MaxQueuedSpans = 250_000
	}
	if opts.ApplyBatchSpans <= 0 {
		opts.ApplyBatchSpans = 122_880
	}
	if opts.ApplyInterval <= 0 {
		opts.ApplyInterval = time.Second
	}
	if opts.MemoryLimit == "" {
		opts.MemoryLimit = "384MB"
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
	setup := []string{schemaSQL, macrosSQL,
		fmt.Sprintf("SET memory_limit = '%s'", strings.ReplaceAll(opts.MemoryLimit, "'", "")),
		// Checkpoints compress what DuckDB's own WAL holds; fewer, larger
		// ones cost less per row than one per apply batch.
		"SET checkpoint_threshold = '128MB'",
		// Large window and sort queries (a week's backtest) fit the
		// memory limit without keeping rows in insertion order; a query
		// that needs an order says ORDER BY.
		"SET preserve_insertion_order = false",
		// Queries read the trace store and nothing else: no files, URLs
		// or other databases, and no extension is fetched or loaded on
		// demand. DuckDB refuses to turn external access back on while the
		// database is open, so a query that slipped past the guard cannot.
		"SET autoinstall_known_extensions = false",
		"SET autoload_known_extensions = false",
		"SET enable_external_access = false",
	}
	for _, script := range setup {
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
		path:          path,
		db:            db,
		log:           log.With("component", "store", "engine", "duckdb"),
		metrics:       opts.Metrics,
		maxQueued:     int64(opts.MaxQueuedSpans),
		applyBatch:    opts.ApplyBatchSpans,
		applyInterval: opts.ApplyInterval,
		logQueue:      make(chan *pending, 4096),
		logDone:       make(chan struct{}),
		encodeJobs:    make(chan *pending, 4096),
		applyQueue:    make(chan *pending, 4096),
		applyDone:     make(chan struct{}),
		barrier:       make(chan uint64),
		appliedCh:     make(chan struct{}),
		app:           app,
	}
	if err := s.recover(ctx); err != nil {
		app.close()
		db.Close()
		return nil, err
	}
	go s.logLoop()
	for range encodeWorkers {
		go s.encodeLoop()
	}
	go s.applyLoop()
	return s, nil
}

// recover replays into DuckDB the log records it does not hold yet.
func (s *Store) recover(ctx context.Context) error {
	var applied uint64
	if err := s.db.QueryRowContext(ctx, "SELECT applied_seq FROM wal_state").Scan(&applied); err != nil {
		return fmt.Errorf("read wal_state: %w", err)
	}
	if err := s.loadChanges(ctx, applied); err != nil {
		return err
	}
	r := &logReplay{s: s}
	w, err := openWAL(s.path+".tracehound-wal", applied, s.log, r.add)
	if err != nil {
		return fmt.Errorf("recover write-ahead log: %w", err)
	}
	if err := r.flush(); err != nil {
		w.close()
		return fmt.Errorf("recover write-ahead log: %w", err)
	}
	replayed := r.spans
	s.wal = w
	last := w.nextSeq - 1
	s.acked.Store(last)
	s.applied.Store(last)
	if replayed > 0 {
		if err := s.checkpoint(ctx); err != nil {
			s.log.Warn("checkpoint after recovery; the write-ahead log is kept", "err", err)
		} else {
			w.release(last)
		}
	} else {
		w.release(last)
	}
	if replayed > 0 {
		s.log.Info("recovered acknowledged spans from the write-ahead log", "spans", replayed)
	}
	return nil
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
	closed := s.closed
	s.mu.RUnlock()
	if closed {
		return store.ErrClosed
	}
	if errp := s.applyErr.Load(); errp != nil {
		return fmt.Errorf("%w: %v", store.ErrOverloaded, *errp)
	}
	if q := s.queued.Add(n); q > s.maxQueued && q != n {
		s.queued.Add(-n)
		return store.ErrOverloaded
	}
	p := &pending{
		spans:   spans,
		encoded: make(chan struct{}),
		record:  appendRecord(getRecordBuf(), spans),
		n:       len(spans),
		done:    make(chan error, 1),
	}
	s.mu.RLock()
	ok := !s.closed
	if ok {
		s.logQueue <- p
	}
	s.mu.RUnlock()
	if !ok {
		s.queued.Add(-n)
		return store.ErrClosed
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

// recordBufs keeps the buffers of log records once they are written: a
// record of 512 spans is about half a megabyte, and growing a new one for
// every Write was a sixth of the bytes ingest allocates.
var recordBufs sync.Pool

// maxPooledRecord bounds the record buffers kept for reuse.
const maxPooledRecord = 8 << 20

func getRecordBuf() []byte {
	if b, ok := recordBufs.Get().(*[]byte); ok {
		return (*b)[:0]
	}
	return make([]byte, 0, 64<<10)
}

func putRecordBuf(b []byte) {
	if cap(b) > 0 && cap(b) <= maxPooledRecord {
		recordBufs.Put(&b)
	}
}

// logLoop appends waiting Writes to the write-ahead log, one fsync for all
// of them, hands them to the encoders and, in log order, to the applier,
// and acknowledges them.
func (s *Store) logLoop() {
	defer close(s.logDone)
	defer close(s.applyQueue)
	defer close(s.encodeJobs)
	batch := make([]*pending, 0, 64)
	recs := make([][]byte, 0, 64)
	for p := range s.logQueue {
		batch, recs = append(batch[:0], p), append(recs[:0], p.record)
		size := len(p.record)
	drain:
		for size < 32<<20 {
			select {
			case q, ok := <-s.logQueue:
				if !ok {
					break drain
				}
				batch, recs = append(batch, q), append(recs, q.record)
				size += len(q.record)
			default:
				break drain
			}
		}
		first, err := s.wal.appendRecords(recs)
		for i, b := range batch {
			putRecordBuf(b.record)
			b.record = nil
			if err != nil {
				s.queued.Add(-int64(b.n))
				b.spans = nil
				b.done <- fmt.Errorf("%w: %v", store.ErrOverloaded, err)
				continue
			}
			b.seq = first + uint64(i)
			s.encoding.Add(1)
			s.encodeJobs <- b
			s.applyQueue <- b
		}
		if err != nil {
			s.log.Error("write-ahead log append", "err", err)
			continue
		}
		s.acked.Store(first + uint64(len(batch)) - 1)
		for _, b := range batch {
			b.done <- nil
		}
	}
}

// encodeLoop fills the DuckDB chunks of logged Writes.
func (s *Store) encodeLoop() {
	for p := range s.encodeJobs {
		p.earliest = earliestStart(p.spans)
		p.chunks = s.app.encode(p.spans)
		p.spans = nil
		close(p.encoded)
		s.encoding.Done()
	}
}

// applyLoop commits acknowledged Writes to DuckDB in large batches: when
// ApplyBatchSpans are waiting, ApplyInterval after the oldest arrived, when
// a query needs them, and at close. After a failed commit (a full disk) it
// commits nothing in order until resume has replayed the log past the
// failure, retrying every resumeInterval.
func (s *Store) applyLoop() {
	defer close(s.applyDone)
	var batch []*pending
	n := 0
	timer := time.NewTimer(time.Hour)
	timer.Stop()
	retry := time.NewTicker(resumeInterval)
	defer retry.Stop()
	apply := func() {
		if len(batch) == 0 {
			return
		}
		if s.applyErr.Load() != nil {
			// Committing these past a failed batch would record an
			// applied_seq beyond it, and recovery would skip it. They
			// stay in the log: resume or the next start replays them.
			for _, p := range batch {
				<-p.encoded
				s.app.releaseChunks(p.chunks)
			}
		} else if err := s.commit(batch); err != nil {
			s.failApply(err)
		}
		s.queued.Add(-int64(n))
		if s.metrics != nil {
			s.metrics.QueueDepth(s.queued.Load())
		}
		for _, p := range batch {
			p.chunks = nil
		}
		batch, n = batch[:0], 0
	}
	add := func(p *pending) {
		if p.seq <= s.applied.Load() {
			// Already committed by resume, from the log.
			<-p.encoded
			s.app.releaseChunks(p.chunks)
			p.chunks = nil
			s.queued.Add(-int64(p.n))
			return
		}
		batch = append(batch, p)
		n += p.n
	}
	for {
		select {
		case p, ok := <-s.applyQueue:
			if !ok {
				apply()
				if s.applyErr.Load() != nil {
					s.resume() // a last try; else the next start replays
				}
				return
			}
			if len(batch) == 0 {
				timer.Reset(s.applyInterval)
			}
			add(p)
			if n >= s.applyBatch {
				timer.Stop()
				apply()
			}
		case <-timer.C:
			apply()
		case <-retry.C:
			if s.applyErr.Load() != nil {
				apply() // drops what waits: resume reads it from the log
				s.resume()
			}
		case want := <-s.barrier:
			// Take what the log goroutine has already handed over, then commit.
			for s.applied.Load() < want && (len(batch) == 0 || batch[len(batch)-1].seq < want) {
				p, ok := <-s.applyQueue
				if !ok {
					break
				}
				add(p)
			}
			timer.Stop()
			apply()
		}
	}
}

// resumeInterval is how often ingest retries commits after one failed.
var resumeInterval = 5 * time.Second

// resume commits, from the write-ahead log, every record after the last
// committed one, and reopens ingest when they are all in. Every record the
// applier dropped since the failure was logged before it was dropped, so
// reading to the log's end covers them.
func (s *Store) resume() {
	r := &logReplay{s: s}
	err := s.wal.readRange(s.applied.Load(), s.wal.lastSeq(), r.add)
	if err == nil {
		err = r.flush()
	}
	if err != nil {
		s.app.releaseBatch(r.batch)
		s.log.Debug("ingest still refused: commit from the write-ahead log", "err", err)
		return
	}
	s.applyErr.Store(nil)
	s.log.Info("commits succeed again; ingest resumed", "replayed_spans", r.spans)
}

// logReplay commits log records to DuckDB, in batches of ApplyBatchSpans,
// as a reader of the log hands them over: recovery at open, and resume
// after a failed commit.
type logReplay struct {
	s     *Store
	batch []*pending
	n     int // spans in batch
	spans int // spans handed over
}

// add takes one record; it commits the batch once it is large enough.
func (r *logReplay) add(seq uint64, rec []byte) error {
	spans, err := decodeRecord(rec)
	if err != nil {
		return err
	}
	r.batch = append(r.batch, &pending{chunks: r.s.app.encode(spans), encoded: closedChan, n: len(spans), seq: seq, earliest: earliestStart(spans)})
	r.n += len(spans)
	r.spans += len(spans)
	if r.n >= r.s.applyBatch {
		return r.flush()
	}
	return nil
}

// flush commits what add has taken.
func (r *logReplay) flush() error {
	if len(r.batch) == 0 {
		return nil
	}
	if err := r.s.commit(r.batch); err != nil {
		return err
	}
	r.batch, r.n = r.batch[:0], 0
	return nil
}

// commit appends the batch's chunks and records its last seq in one DuckDB
// transaction, then releases the log segments it covers.
func (s *Store) commit(batch []*pending) error {
	n := 0
	for _, p := range batch {
		n += p.n
	}
	last := batch[len(batch)-1].seq
	for _, p := range batch {
		<-p.encoded
	}
	earliest := batch[0].earliest
	for _, p := range batch[1:] {
		earliest = min(earliest, p.earliest)
	}
	// The commit's entry in the change log goes in its transaction, with
	// the merge of old entries when one is due.
	rewrite := s.changes.takeRewrite()
	var also []string
	if rewrite != nil {
		also = rewrite.statements()
	}
	also = append(also, fmt.Sprintf("INSERT INTO span_changes VALUES (%d, %d)", last, earliest))
	start := time.Now()
	err := s.app.commit(batch, last, also)
	if s.metrics != nil {
		s.metrics.Committed(n, time.Since(start), err)
	}
	if err != nil {
		s.changes.restoreRewrite(rewrite)
		return fmt.Errorf("commit %d spans: %w", n, err)
	}
	s.committed.Add(int64(n))
	s.changes.committed(last, earliest)
	s.appliedMu.Lock()
	s.applied.Store(last)
	close(s.appliedCh)
	s.appliedCh = make(chan struct{})
	s.appliedMu.Unlock()
	if s.wal != nil && s.wal.releasable(last) {
		// Release log segments only once the spans are in the database
		// file: a commit lands in DuckDB's own log, which a full disk
		// during a checkpoint can cost.
		if err := s.checkpoint(context.Background()); err != nil {
			level := slog.LevelWarn
			if checkpointBusy(err) { // a compaction is running: the next commit retries
				level = slog.LevelDebug
			}
			s.log.Log(context.Background(), level, "checkpoint: the write-ahead log keeps the committed spans until the next one succeeds", "err", err)
		} else {
			s.wal.release(last)
		}
	}
	return nil
}

// checkpoint writes DuckDB's log into the database file.
func (s *Store) checkpoint(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, 5*time.Minute)
	defer cancel()
	_, err := s.db.ExecContext(ctx, "CHECKPOINT")
	return err
}

// failApply records a commit failure. The spans are safe in the log; new
// Writes are refused (retryably) until resume has committed them from the
// log, or a restart replays it.
func (s *Store) failApply(err error) {
	s.log.Error("commit acknowledged spans to duckdb; they stay in the write-ahead log, ingest is refused and retried every "+resumeInterval.String(), "err", err)
	s.applyErr.Store(&err)
	s.appliedMu.Lock()
	close(s.appliedCh)
	s.appliedCh = make(chan struct{})
	s.appliedMu.Unlock()
}

// staleBacklog is the backlog of acknowledged spans (about a second of
// commits) beyond which reads stop waiting for it.
const staleBacklog = 50_000

// waitApplied returns when every Write acknowledged so far is in DuckDB,
// so that a query sees the spans written before it. Under a backlog
// (overload) it returns at once: the query then sees what is committed,
// and the API stays responsive while ingest catches up.
func (s *Store) waitApplied(ctx context.Context) error {
	if s.queued.Load() > staleBacklog {
		return nil
	}
	return s.Sync(ctx)
}

// Sync returns when every span acknowledged so far is committed to DuckDB
// and visible to queries, however long the backlog: after a bulk load, a
// caller that must see all of it (a test, a demo) calls it.
func (s *Store) Sync(ctx context.Context) error {
	want := s.acked.Load()
	for s.applied.Load() < want {
		if errp := s.applyErr.Load(); errp != nil {
			return fmt.Errorf("recent spans are not queryable: %v", *errp)
		}
		s.appliedMu.Lock()
		ch := s.appliedCh
		s.appliedMu.Unlock()
		if s.applied.Load() >= want {
			return nil
		}
		select {
		case s.barrier <- want:
		case <-ch:
		case <-s.applyDone:
			return nil
		case <-ctx.Done():
			return ctx.Err()
		}
		select {
		case <-ch:
		case <-s.applyDone:
			return nil
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	return nil
}

// Saturated reports whether the write queue is full, so that a Write now
// would be refused: the OTLP receiver then refuses an export before it
// reads and decodes the body.
func (s *Store) Saturated() bool { return s.queued.Load() >= s.maxQueued }

// Query implements store.Querier.
func (s *Store) Query(ctx context.Context, q string, opts store.QueryOptions, args ...any) (*store.Result, error) {
	if opts.Timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, opts.Timeout)
		defer cancel()
	}
	if err := s.waitApplied(ctx); err != nil {
		return nil, fmt.Errorf("query: %w", err)
	}
	if err := s.checkOneSelect(ctx, q); err != nil {
		return nil, err
	}
	stmt, err := s.db.PrepareContext(ctx, q)
	if err != nil {
		return nil, queryError(ctx, err)
	}
	defer stmt.Close()
	rows, err := stmt.QueryContext(ctx, args...)
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

// checkOneSelect has DuckDB's own parser confirm that q is exactly one
// SELECT statement. It is the store's layer of the read-only promise:
// duckdb-go runs every statement of a multi-statement text, so without it a
// query that slipped past the guard could append a write after a
// semicolon. json_serialize_sql parses without executing and serialises
// SELECT statements only.
func (s *Store) checkOneSelect(ctx context.Context, q string) error {
	if strings.ContainsRune(q, 0) {
		return fmt.Errorf("%w: the query contains a NUL byte", store.ErrQuery)
	}
	// Standard SQL strings know no backslash escapes: doubling the quotes
	// is the whole escape.
	lit := "'" + strings.ReplaceAll(q, "'", "''") + "'"
	var failed bool
	var statements int64
	var msg sql.NullString
	err := s.db.QueryRowContext(ctx, `SELECT CAST(json_extract(j, '$.error') AS BOOLEAN),
		coalesce(json_array_length(j, '$.statements'), 0), json_extract_string(j, '$.error_message')
		FROM (SELECT json_serialize_sql(`+lit+`) AS j)`).Scan(&failed, &statements, &msg)
	if err != nil {
		return queryError(ctx, err)
	}
	switch {
	case failed && strings.Contains(msg.String, "Only SELECT"):
		return fmt.Errorf("%w: only SELECT queries may run", store.ErrQuery)
	case failed:
		return fmt.Errorf("%w: %s", store.ErrQuery, msg.String)
	case statements != 1:
		return fmt.Errorf("%w: exactly one statement may run, the query has %d", store.ErrQuery, statements)
	}
	return nil
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
	if err := s.waitApplied(ctx); err != nil {
		return nil, fmt.Errorf("read trace %s: %w", traceID, err)
	}
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
	if err := s.waitApplied(ctx); err != nil {
		return 0, err
	}
	s.maintMu.Lock()
	defer s.maintMu.Unlock()
	n, err := s.deleteBefore(ctx, t)
	if err != nil {
		return 0, fmt.Errorf("delete spans before %s: %w", t.UTC().Format(time.RFC3339), err)
	}
	if _, err := s.db.ExecContext(ctx, "DELETE FROM compactions WHERE (start_hour + hours) * ? <= epoch_us(?)", hourUS, t.UTC()); err != nil {
		return n, fmt.Errorf("delete compactions before %s: %w", t.UTC().Format(time.RFC3339), err)
	}
	if n > 0 {
		if _, err := s.db.ExecContext(ctx, "CHECKPOINT"); err != nil {
			s.log.Warn("checkpoint after retention", "err", err)
		}
	}
	return n, nil
}

// deleteBefore deletes the spans that started before t and, when there
// were any, counts the deletion (change_state), in one transaction.
func (s *Store) deleteBefore(ctx context.Context, t time.Time) (int64, error) {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return 0, err
	}
	defer tx.Rollback()
	res, err := tx.ExecContext(ctx, "DELETE FROM spans WHERE timestamp < ?", t.UTC())
	if err != nil {
		return 0, err
	}
	n, _ := res.RowsAffected()
	if n == 0 {
		return 0, nil
	}
	// Every deleted span started before t: the microsecond after its
	// start, rounded up, is still no later than t.
	before := t.UnixMicro()
	if t.Sub(time.UnixMicro(before)) > 0 {
		before++
	}
	count, err := s.countDeletion(ctx, tx, before)
	if err != nil {
		return 0, err
	}
	if err := tx.Commit(); err != nil {
		return 0, err
	}
	s.changes.deleted(count, before)
	return n, nil
}

// Stats implements store.Store.
func (s *Store) Stats(ctx context.Context) (store.Stats, error) {
	// Under overload, reads are stale anyway (waitApplied): the latest
	// figures answer at once rather than after a scan that competes with
	// the backlog for the cores, and a second of age starts a refresh.
	if s.queued.Load() > staleBacklog {
		s.statsMu.Lock()
		st, at := s.stats, s.statsAt
		refresh := !at.IsZero() && time.Since(at) > time.Second && !s.statsRefreshing
		s.statsRefreshing = s.statsRefreshing || refresh
		s.statsMu.Unlock()
		if !at.IsZero() {
			if refresh {
				go func() {
					defer func() {
						s.statsMu.Lock()
						s.statsRefreshing = false
						s.statsMu.Unlock()
					}()
					ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
					defer cancel()
					s.readStats(ctx)
				}()
			}
			st.DiskSize = s.diskSize()
			return st, nil
		}
	}
	if err := s.waitApplied(ctx); err != nil {
		return store.Stats{}, fmt.Errorf("stats: %w", err)
	}
	return s.readStats(ctx)
}

// readStats reads the store's figures and keeps them for Stats.
func (s *Store) readStats(ctx context.Context) (store.Stats, error) {
	var st store.Stats
	var oldest, newest sql.NullTime
	err := s.db.QueryRowContext(ctx, "SELECT count(*), min(timestamp), max(timestamp) FROM spans").Scan(&st.Spans, &oldest, &newest)
	if err != nil {
		return st, fmt.Errorf("stats: %w", err)
	}
	st.Oldest, st.Newest = oldest.Time.UTC(), newest.Time.UTC()
	s.statsMu.Lock()
	s.stats, s.statsAt = st, time.Now()
	s.statsMu.Unlock()
	st.DiskSize = s.diskSize()
	return st, nil
}

// diskSize is the size of the database file and of its log.
func (s *Store) diskSize() int64 {
	var n int64
	for _, p := range []string{s.path, s.path + ".wal"} {
		if fi, err := os.Stat(p); err == nil {
			n += fi.Size()
		}
	}
	return n
}

// Close stops accepting writes, logs and commits what is queued, and
// closes the database (which checkpoints DuckDB's own WAL into the file).
func (s *Store) Close() error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil
	}
	s.closed = true
	close(s.logQueue)
	s.mu.Unlock()
	<-s.logDone
	<-s.applyDone
	var errWAL error
	if s.applyErr.Load() == nil && s.checkpoint(context.Background()) == nil {
		errWAL = s.wal.closeApplied(s.applied.Load())
	} else {
		errWAL = s.wal.close()
	}
	errApp := s.app.close()
	errDB := s.db.Close()
	return errors.Join(errWAL, errApp, errDB)
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
