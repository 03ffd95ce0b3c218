// Package clickhouse is the scale-out span store: spans in ClickHouse,
// read and written with clickhouse-go over the native protocol.
//
// In native mode the store owns a traces table (reference/storage.md §6b:
// DateTime64(9), LowCardinality strings, codecs, time-first ordering,
// TTL, bloom-filter skip indexes) with the columns of the DuckDB store's
// traces view, and Write inserts batches of 10k–100k rows, acknowledging
// each Write after the insert that holds it has been committed. With a
// cluster name the DDL runs ON CLUSTER, the data lives in a
// ReplicatedMergeTree table on every replica and queries and inserts go
// through a Distributed table.
//
// In the otel and signoz modes the store reads spans another pipeline
// already writes (the OpenTelemetry Collector's clickhouseexporter,
// SigNoz) through a traces view that extracts tracehound's HTTP columns
// from the semantic-convention attributes the way span.Normaliser does.
// Those stores are read-only.
//
// Queries are tracehound's ClickHouse dialect as it is: ClickHouse is the
// dialect's reference engine.
package clickhouse

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	ch "github.com/ClickHouse/clickhouse-go/v2"
	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"

	"github.com/tracehound/tracehound/span"
	"github.com/tracehound/tracehound/store"
)

var _ store.Store = (*Store)(nil)

// ErrReadOnly is returned by Write and DeleteBefore of a store in a compat
// mode: the spans belong to the pipeline that writes the source table.
var ErrReadOnly = errors.New("the clickhouse store is read-only in this mode")

// MinVersion is the oldest ClickHouse Open accepts.
const MinVersion = "23.8"

// Options configure a Store. DSN is required; zero values of the others
// take the defaults.
type Options struct {
	// DSN addresses the server, in clickhouse-go's form:
	// clickhouse://user:password@host1:9000,host2:9000/database?dial_timeout=10s&secure=true
	// Its database, when given, is the default of Database.
	DSN string
	// Database holds the traces table or view; default the DSN's, else
	// "tracehound". It is created if missing.
	Database string
	// Table is the traces table (native) or view (compat); default "traces".
	Table string
	// Cluster, when set, makes the DDL run ON CLUSTER; in native mode the
	// data goes to a ReplicatedMergeTree table Table+"_local" on every
	// replica, behind a Distributed table Table sharded by trace id.
	Cluster string
	// TTL is the native table's retention (ClickHouse drops whole expired
	// parts); 0 keeps spans until DeleteBefore removes them.
	TTL time.Duration
	// Mode is ModeNative (default), ModeOTel or ModeSigNoz.
	Mode Mode
	// Source is the table a compat mode reads, "db.table" or a table in
	// Database; default DefaultOTelSource or DefaultSigNozSource.
	Source string
	// KeyAttributes name, in the compat modes, the attributes whose first
	// non-empty value is api_key_id (secret ones are skipped: the view
	// cannot compute the keyed hash ingest stores); nil means
	// span.DefaultKeyAttributes.
	KeyAttributes []span.KeyAttribute
	// SkipDDL leaves the schema alone: an operator created it from DDL.
	SkipDDL bool

	// BatchSpans is the insert size the writer aims for; default 50,000.
	BatchSpans int
	// FlushInterval bounds how long a Write waits for others to share its
	// insert; default 200ms. Writes are acknowledged after the insert, so
	// it adds to their latency.
	FlushInterval time.Duration
	// MaxQueuedSpans bounds the spans accepted but not yet inserted; a
	// Write that would exceed it gets store.ErrOverloaded. Default 500,000.
	MaxQueuedSpans int
	// Inserters is how many inserts may run at once; default 2.
	Inserters int
	// InsertTimeout bounds one insert; default 1 minute.
	InsertTimeout time.Duration
	// AsyncInsert sends inserts with async_insert=1 and
	// wait_for_async_insert=1: the server batches them, and a Write is
	// still acknowledged only after the server flushed it.
	AsyncInsert bool
	// Logger receives the store's logs; nil discards them.
	Logger *slog.Logger

	// legacy renders the schema and SQL for ClickHouse 18.16 (tests only;
	// see legacy.go).
	legacy bool
}

// Store is a ClickHouse span store. It is safe for concurrent use.
type Store struct {
	conn   driver.Conn
	sc     schema
	log    *slog.Logger
	legacy bool
	// querySettings is false when the user's profile is readonly=1, which
	// refuses every per-query setting.
	querySettings bool
	version       string

	insertSQL     string
	batchSpans    int
	flushInterval time.Duration
	insertTimeout time.Duration
	insertCtx     func(context.Context) context.Context
	maxQueued     int64
	queued        atomic.Int64

	mu      sync.RWMutex // guards closed and sends on queue
	closed  bool
	queue   chan *pending
	batches chan []*pending
	loopWG  sync.WaitGroup
	sendWG  sync.WaitGroup
}

// pending is one Write waiting for its insert.
type pending struct {
	spans []span.Span
	done  chan error
}

// Open connects to ClickHouse, creates the database and the traces table
// or view unless SkipDDL, and starts the writer.
func Open(ctx context.Context, o Options) (*Store, error) {
	if o.DSN == "" {
		return nil, errors.New("clickhouse: no DSN")
	}
	chOpts, err := ch.ParseDSN(o.DSN)
	if err != nil {
		return nil, fmt.Errorf("clickhouse: parse DSN: %w", redactDSNError(err, o.DSN))
	}
	if o.Database == "" {
		o.Database = chOpts.Auth.Database
	}
	sc, err := newSchema(o)
	if err != nil {
		return nil, err
	}
	o = withDefaults(o)
	log := o.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	if chOpts.Compression == nil {
		chOpts.Compression = &ch.Compression{Method: ch.CompressionLZ4}
	}
	if chOpts.DialTimeout == 0 {
		chOpts.DialTimeout = 10 * time.Second
	}
	if chOpts.MaxOpenConns == 0 {
		chOpts.MaxOpenConns = o.Inserters + 16
	}
	if !o.SkipDDL {
		// The database may not exist yet: connect without it for the DDL.
		boot := *chOpts
		boot.Auth.Database = ""
		if err := runDDL(ctx, &boot, sc, o.legacy); err != nil {
			return nil, err
		}
	}
	chOpts.Auth.Database = sc.database
	conn, err := ch.Open(chOpts)
	if err != nil {
		return nil, fmt.Errorf("clickhouse: connect: %w", err)
	}
	s := &Store{
		conn:          conn,
		sc:            sc,
		log:           log.With("component", "store", "engine", "clickhouse"),
		legacy:        o.legacy,
		batchSpans:    o.BatchSpans,
		flushInterval: o.FlushInterval,
		insertTimeout: o.InsertTimeout,
		maxQueued:     int64(o.MaxQueuedSpans),
		queue:         make(chan *pending, 1024),
		batches:       make(chan []*pending),
	}
	if err := s.check(ctx); err != nil {
		conn.Close()
		return nil, err
	}
	s.insertSQL = insertSQL(sc, o.legacy)
	settings := ch.Settings{}
	if sc.cluster != "" {
		// Acknowledge after the shards have the rows, not when the
		// Distributed table has queued them.
		settings["insert_distributed_sync"] = 1
	}
	if o.AsyncInsert {
		settings["async_insert"] = 1
		settings["wait_for_async_insert"] = 1
	}
	s.insertCtx = func(ctx context.Context) context.Context {
		if len(settings) == 0 {
			return ctx
		}
		return ch.Context(ctx, ch.WithSettings(settings))
	}
	if !sc.readOnly() {
		s.loopWG.Add(1)
		go s.batchLoop()
		for range o.Inserters {
			s.sendWG.Add(1)
			go s.sendLoop()
		}
	}
	return s, nil
}

func withDefaults(o Options) Options {
	if o.BatchSpans <= 0 {
		o.BatchSpans = 50_000
	}
	if o.FlushInterval <= 0 {
		o.FlushInterval = 200 * time.Millisecond
	}
	if o.MaxQueuedSpans <= 0 {
		o.MaxQueuedSpans = 500_000
	}
	if o.Inserters <= 0 {
		o.Inserters = 2
	}
	if o.InsertTimeout <= 0 {
		o.InsertTimeout = time.Minute
	}
	return o
}

// redactDSNError keeps a password out of a DSN parse error.
func redactDSNError(err error, dsn string) error {
	msg := err.Error()
	if i := strings.Index(dsn, "://"); i >= 0 {
		if at := strings.LastIndex(dsn, "@"); at > i {
			if colon := strings.Index(dsn[i+3:at], ":"); colon >= 0 {
				if pw := dsn[i+3+colon+1 : at]; pw != "" {
					msg = strings.ReplaceAll(msg, pw, "xxxxx")
				}
			}
		}
	}
	return errors.New(msg)
}

func runDDL(ctx context.Context, chOpts *ch.Options, sc schema, legacy bool) error {
	conn, err := ch.Open(chOpts)
	if err != nil {
		return fmt.Errorf("clickhouse: connect: %w", err)
	}
	defer conn.Close()
	if err := checkVersion(ctx, conn, legacy); err != nil {
		return err
	}
	stmts, err := sc.ddl()
	if err != nil {
		return err
	}
	for _, stmt := range stmts {
		if err := conn.Exec(ctx, stmt); err != nil {
			first, _, _ := strings.Cut(stmt, "\n")
			return fmt.Errorf("clickhouse: create the schema (%s): %w", first, err)
		}
	}
	return nil
}

// checkVersion refuses servers older than MinVersion (their SQL lacks
// DateTime64 and Map) and returns the version.
func checkVersion(ctx context.Context, conn driver.Conn, legacy bool) error {
	var v string
	if err := conn.QueryRow(ctx, "SELECT version()").Scan(&v); err != nil {
		return fmt.Errorf("clickhouse: %w", err)
	}
	if !legacy && versionLess(v, MinVersion) {
		return fmt.Errorf("clickhouse: server %s is older than %s, the oldest tracehound supports", v, MinVersion)
	}
	return nil
}

// versionLess compares dotted version numbers numerically.
func versionLess(a, b string) bool {
	as, bs := strings.Split(a, "."), strings.Split(b, ".")
	for i := 0; i < len(as) || i < len(bs); i++ {
		var x, y int
		if i < len(as) {
			x, _ = strconv.Atoi(as[i])
		}
		if i < len(bs) {
			y, _ = strconv.Atoi(bs[i])
		}
		if x != y {
			return x < y
		}
	}
	return false
}

// check verifies the server (version, traces object) and learns whether
// queries may carry settings.
func (s *Store) check(ctx context.Context) error {
	if err := s.conn.QueryRow(ctx, "SELECT version()").Scan(&s.version); err != nil {
		return fmt.Errorf("clickhouse: %w", err)
	}
	if !s.legacy && versionLess(s.version, MinVersion) {
		return fmt.Errorf("clickhouse: server %s is older than %s, the oldest tracehound supports", s.version, MinVersion)
	}
	var readonly string
	if err := s.conn.QueryRow(ctx, "SELECT value FROM system.settings WHERE name = 'readonly'").Scan(&readonly); err != nil {
		return fmt.Errorf("clickhouse: read the readonly setting: %w", err)
	}
	s.querySettings = readonly != "1"
	if !s.querySettings && !s.sc.readOnly() {
		return fmt.Errorf("clickhouse: the user is read-only (readonly=1), which native mode cannot write with")
	}
	var n uint64
	if err := s.conn.QueryRow(ctx, "SELECT count() FROM system.tables WHERE database = "+quoteString(s.sc.database)+" AND name = "+quoteString(s.sc.table)).Scan(&n); err != nil {
		return fmt.Errorf("clickhouse: %w", err)
	}
	if n == 0 {
		return fmt.Errorf("clickhouse: %s does not exist (create it with the statements of clickhouse.DDL, or let tracehound run them)", s.sc.qualified())
	}
	return nil
}

// Version is the server's version.
func (s *Store) Version() string { return s.version }

// Mode is the store's mode.
func (s *Store) Mode() Mode { return s.sc.mode }

// Write implements store.Writer: the spans are inserted with others in one
// batch, and Write returns after that insert is committed. A failed insert
// is reported as store.ErrOverloaded (retry later): nothing of it was
// stored.
func (s *Store) Write(ctx context.Context, spans []span.Span) error {
	if s.sc.readOnly() {
		return fmt.Errorf("%w (%s mode reads %s)", ErrReadOnly, s.sc.mode, s.sc.source)
	}
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
	p := &pending{spans: spans, done: make(chan error, 1)}
	select {
	case s.queue <- p:
	case <-ctx.Done():
		s.queued.Add(-n)
		s.mu.RUnlock()
		return ctx.Err()
	}
	s.mu.RUnlock()
	select {
	case err := <-p.done:
		return err
	case <-ctx.Done():
		return ctx.Err()
	}
}

// batchLoop gathers Writes into inserts of about BatchSpans spans: a batch
// leaves when it is full, FlushInterval after its first Write, or at close.
func (s *Store) batchLoop() {
	defer s.loopWG.Done()
	defer close(s.batches)
	var batch []*pending
	n := 0
	timer := time.NewTimer(time.Hour)
	timer.Stop()
	flush := func() {
		if len(batch) > 0 {
			s.batches <- batch
			batch, n = nil, 0
		}
		timer.Stop()
	}
	for {
		select {
		case p, ok := <-s.queue:
			if !ok {
				flush()
				return
			}
			if len(batch) == 0 {
				timer.Reset(s.flushInterval)
			}
			batch = append(batch, p)
			n += len(p.spans)
			if n >= s.batchSpans {
				flush()
			}
		case <-timer.C:
			flush()
		}
	}
}

// sendLoop inserts batches and acknowledges their Writes.
func (s *Store) sendLoop() {
	defer s.sendWG.Done()
	for batch := range s.batches {
		n := 0
		for _, p := range batch {
			n += len(p.spans)
		}
		start := time.Now()
		err := s.insert(batch, n)
		if err != nil {
			s.log.Error("insert spans", "spans", n, "err", err)
			err = fmt.Errorf("%w: insert %d spans into clickhouse: %v", store.ErrOverloaded, n, err)
		} else {
			s.log.Debug("inserted spans", "spans", n, "took", time.Since(start))
		}
		s.queued.Add(-int64(n))
		for _, p := range batch {
			p.done <- err
			p.spans = nil
		}
	}
}

// insertColumns are the traces columns Write fills, in order.
var insertColumns = []string{
	"timestamp", "trace_id", "span_id", "parent_span_id", "service_name", "span_name", "span_kind",
	"duration_ns", "otel_status", "http_method", "http_target", "http_path", "http_query", "http_route",
	"status_code", "peer_ip", "net_peer_ip", "server_address", "user_agent", "request_bytes",
	"response_bytes", "user_id", "api_key_id",
}

// insertSQL names every column: ClickHouse 18.16 answers an INSERT
// without a column list in a way clickhouse-go cannot read.
func insertSQL(sc schema, legacy bool) string {
	cols := append([]string(nil), insertColumns...)
	if legacy {
		cols = append(cols, "`span_attributes.key`", "`span_attributes.value`", "`resource_attributes.key`", "`resource_attributes.value`")
	} else {
		cols = append(cols, "span_attributes", "resource_attributes")
	}
	return "INSERT INTO " + sc.qualified() + " (" + strings.Join(cols, ", ") + ")"
}

// insert sends one batch, column by column.
func (s *Store) insert(batch []*pending, n int) error {
	ctx, cancel := context.WithTimeout(context.Background(), s.insertTimeout)
	defer cancel()
	b, err := s.conn.PrepareBatch(s.insertCtx(ctx), s.insertSQL)
	if err != nil {
		return err
	}
	defer b.Abort()
	c := newColumns(n, s.legacy)
	for _, p := range batch {
		for i := range p.spans {
			c.add(&p.spans[i])
		}
	}
	for i, col := range c.list() {
		if err := b.Column(i).Append(col); err != nil {
			return fmt.Errorf("column %d: %w", i, err)
		}
	}
	return b.Send()
}

// Close stops accepting writes, inserts what is queued and closes the
// connections.
func (s *Store) Close() error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil
	}
	s.closed = true
	close(s.queue)
	s.mu.Unlock()
	s.loopWG.Wait()
	s.sendWG.Wait()
	return s.conn.Close()
}
