package duckdb

import (
	"errors"
	"fmt"
	"sync"
	"time"
	"unsafe"

	mapping "github.com/duckdb/duckdb-go-bindings"
	duckdb "github.com/duckdb/duckdb-go/v2"

	"github.com/tracehound/tracehound/span"
)

// appender writes spans into the spans table through DuckDB's C data-chunk
// API: each value is one direct copy into a vector, where database/sql's
// generic appender converts every value through reflection. It is owned by
// the writer goroutine.
type appender struct {
	db    mapping.Database
	conn  mapping.Connection
	app   mapping.Appender
	types []mapping.LogicalType

	// free holds reset chunks for reuse. Chunks live in DuckDB's (C) memory,
	// so they are pooled here, bounded, and destroyed explicitly: a
	// sync.Pool would drop them at a GC without freeing them.
	freeMu sync.Mutex
	free   []mapping.DataChunk
}

// maxFreeChunks bounds the reusable chunks kept (2,048 rows each).
const maxFreeChunks = 64

// Column order of traces (schema.sql).
const (
	cTimestamp = iota
	cTraceID
	cSpanID
	cParentSpanID
	cServiceName
	cSpanName
	cSpanKind
	cDurationNS
	cOtelStatus
	cHTTPMethod
	cHTTPTarget
	cHTTPPath
	cHTTPQuery
	cHTTPRoute
	cStatusCode
	cPeerIP
	cNetPeerIP
	cServerAddress
	cUserAgent
	cRequestBytes
	cResponseBytes
	cUserID
	cAPIKeyID
	cSpanAttributesJSON
	cResourceAttributesJSON
	nColumns
)

// newAppender opens a native connection to the same database instance that
// database/sql uses (DuckDB's instance cache hands out the open instance for
// a path) and prepares an appender on traces.
func newAppender(path string) (*appender, error) {
	a := &appender{}
	var cfg mapping.Config
	if mapping.CreateConfig(&cfg) == mapping.StateError {
		return nil, errors.New("create config")
	}
	defer mapping.DestroyConfig(&cfg)
	// The instance cache hands out the open instance only to a caller with
	// the same configuration as duckdb-go's connector.
	if mapping.SetConfig(cfg, "duckdb_api", "go") == mapping.StateError {
		return nil, errors.New("set config duckdb_api")
	}
	var errMsg string
	if mapping.GetOrCreateFromCache(duckdb.GetInstanceCache(), path, &a.db, cfg, &errMsg) == mapping.StateError {
		return nil, fmt.Errorf("open instance: %s", errMsg)
	}
	if mapping.Connect(a.db, &a.conn) == mapping.StateError {
		mapping.Close(&a.db)
		return nil, errors.New("connect")
	}
	if mapping.AppenderCreate(a.conn, "", "spans", &a.app) == mapping.StateError {
		err := errors.New(mapping.AppenderError(a.app))
		a.close()
		return nil, err
	}
	n := mapping.AppenderColumnCount(a.app)
	if int(n) != nColumns {
		a.close()
		return nil, fmt.Errorf("spans has %d columns, want %d", n, nColumns)
	}
	for i := mapping.IdxT(0); i < n; i++ {
		a.types = append(a.types, mapping.AppenderColumnType(a.app, i))
	}
	return a, nil
}

// encode fills data chunks with spans. It runs on the writing goroutine,
// not the committer, so that several OTLP requests encode in parallel while
// one commit is in progress.
func (a *appender) encode(spans []span.Span) []mapping.DataChunk {
	capacity := int(mapping.VectorSize())
	chunks := make([]mapping.DataChunk, 0, (len(spans)+capacity-1)/capacity)
	for len(spans) > 0 {
		n := min(len(spans), capacity)
		chunk := a.getChunk()
		w := newChunkWriter(chunk)
		for i := range spans[:n] {
			w.row(&spans[i])
		}
		w.finish()
		chunks = append(chunks, chunk)
		spans = spans[n:]
	}
	return chunks
}

func (a *appender) getChunk() mapping.DataChunk {
	a.freeMu.Lock()
	if n := len(a.free); n > 0 {
		c := a.free[n-1]
		a.free = a.free[:n-1]
		a.freeMu.Unlock()
		return c
	}
	a.freeMu.Unlock()
	return mapping.CreateDataChunk(a.types)
}

func (a *appender) putChunk(c mapping.DataChunk) {
	a.freeMu.Lock()
	if len(a.free) < maxFreeChunks {
		mapping.DataChunkReset(c)
		a.free = append(a.free, c)
		a.freeMu.Unlock()
		return
	}
	a.freeMu.Unlock()
	mapping.DestroyDataChunk(&c)
}

// releaseChunks returns the chunks of an abandoned write to the pool.
func (a *appender) releaseChunks(chunks []mapping.DataChunk) {
	for _, c := range chunks {
		a.putChunk(c)
	}
}

// commit appends the encoded chunks of every pending write, sets
// wal_state.applied_seq to seq and runs the statements also, in one
// transaction. On error nothing of the batch is kept. The chunks go back
// to the pool either way.
func (a *appender) commit(batch []*pending, seq uint64, also []string) error {
	if err := a.exec("BEGIN TRANSACTION"); err != nil {
		a.releaseBatch(batch)
		return err
	}
	// The appender copies each chunk; flushing every flushChunks moves
	// the copies into the transaction before they pile up, so that a
	// commit holds about two copies of its rows rather than three.
	var err error
	held := 0
	for _, p := range batch {
		for _, c := range p.chunks {
			if err == nil && mapping.AppendDataChunk(a.app, c) == mapping.StateError {
				err = errors.New(mapping.AppenderError(a.app))
			}
			a.putChunk(c)
			if held++; err == nil && held == flushChunks {
				err = a.flush()
				held = 0
			}
		}
		p.chunks = nil
	}
	if err == nil {
		err = a.flush()
	}
	if err == nil {
		err = a.exec(fmt.Sprintf("UPDATE wal_state SET applied_seq = %d", seq))
	}
	for _, q := range also {
		if err == nil {
			err = a.exec(q)
		}
	}
	if err == nil {
		err = a.exec("COMMIT")
	}
	if err != nil {
		mapping.AppenderClear(a.app)
		a.exec("ROLLBACK")
	}
	return err
}

// flushChunks is how many chunks (of 2,048 rows) the appender holds before
// commit flushes them into the transaction.
const flushChunks = 16

func (a *appender) flush() error {
	if mapping.AppenderFlush(a.app) == mapping.StateError {
		return errors.New(mapping.AppenderError(a.app))
	}
	return nil
}

func (a *appender) releaseBatch(batch []*pending) {
	for _, p := range batch {
		a.releaseChunks(p.chunks)
		p.chunks = nil
	}
}

// exec runs a statement on the appender's connection. It drives the
// statement's tasks itself: DuckDB's own loop spins while one of its worker
// threads runs the statement's only task (a COMMIT compressing a row group
// for tenths of a second), and that spinning takes a core from the requests
// being decoded. Here the goroutine sleeps instead, briefly, then checks
// again.
func (a *appender) exec(q string) error {
	var stmt mapping.PreparedStatement
	defer mapping.DestroyPrepare(&stmt)
	if mapping.Prepare(a.conn, q, &stmt) == mapping.StateError {
		return fmt.Errorf("%s: %s", q, mapping.PrepareError(stmt))
	}
	var pending mapping.PendingResult
	defer mapping.DestroyPending(&pending)
	if mapping.PendingPrepared(stmt, &pending) == mapping.StateError {
		return fmt.Errorf("%s: %s", q, mapping.PendingError(pending))
	}
	wait := minTaskWait
	for ready := false; !ready; {
		switch mapping.PendingExecuteTask(pending) {
		case mapping.PendingStateResultReady:
			ready = true
		case mapping.PendingStateError:
			return fmt.Errorf("%s: %s", q, mapping.PendingError(pending))
		case mapping.PendingStateNoTasksAvailable:
			time.Sleep(wait)
			wait = min(2*wait, maxTaskWait)
		default:
			wait = minTaskWait
		}
	}
	var res mapping.Result
	defer mapping.DestroyResult(&res)
	if mapping.ExecutePending(pending, &res) == mapping.StateError {
		return fmt.Errorf("%s: %s", q, mapping.ResultError(&res))
	}
	return nil
}

// The bounds of exec's sleeps while a worker thread runs its statement.
const (
	minTaskWait = 20 * time.Microsecond
	maxTaskWait = time.Millisecond
)

func (a *appender) close() error {
	var err error
	if a.app.Ptr != nil {
		if mapping.AppenderDestroy(&a.app) == mapping.StateError {
			err = errors.New("close appender")
		}
	}
	a.freeMu.Lock()
	for i := range a.free {
		mapping.DestroyDataChunk(&a.free[i])
	}
	a.free = nil
	a.freeMu.Unlock()
	for i := range a.types {
		mapping.DestroyLogicalType(&a.types[i])
	}
	a.types = nil
	if a.conn.Ptr != nil {
		mapping.Disconnect(&a.conn)
	}
	if a.db.Ptr != nil {
		mapping.Close(&a.db)
	}
	return err
}

// chunkWriter fills one data chunk row by row: fixed-width values go
// straight into the vectors, strings into per-column buffers that finish
// copies with one C call per column.
type chunkWriter struct {
	chunk mapping.DataChunk
	vecs  [nColumns]mapping.Vector
	data  [nColumns]unsafe.Pointer // fixed-width vectors' data
	strs  [nColumns]stringColumn
	n     int
	buf   []byte
}

// fixedColumns are the columns that are not VARCHAR.
var fixedColumns = [nColumns]bool{cTimestamp: true, cDurationNS: true, cStatusCode: true, cRequestBytes: true, cResponseBytes: true}

var writerPool = sync.Pool{New: func() any { return new(chunkWriter) }}

func newChunkWriter(chunk mapping.DataChunk) *chunkWriter {
	w := writerPool.Get().(*chunkWriter)
	w.chunk, w.n = chunk, 0
	for i := range w.vecs {
		w.vecs[i] = mapping.DataChunkGetVector(chunk, mapping.IdxT(i))
		if fixedColumns[i] {
			w.data[i] = mapping.VectorGetData(w.vecs[i])
		} else {
			w.strs[i].reset()
		}
	}
	return w
}

func (w *chunkWriter) row(s *span.Span) {
	r := w.n
	setFixed(w.data[cTimestamp], r, s.Timestamp.UnixMicro())
	w.strs[cTraceID].add(s.TraceID)
	w.strs[cSpanID].add(s.SpanID)
	w.strs[cParentSpanID].add(s.ParentSpanID)
	w.strs[cServiceName].add(s.ServiceName)
	w.strs[cSpanName].add(s.SpanName)
	w.strs[cSpanKind].add(s.SpanKind)
	setFixed(w.data[cDurationNS], r, s.DurationNS)
	w.strs[cOtelStatus].add(s.OtelStatus)
	w.strs[cHTTPMethod].add(s.HTTPMethod)
	w.strs[cHTTPTarget].add(s.HTTPTarget)
	w.strs[cHTTPPath].add(s.HTTPPath)
	w.strs[cHTTPQuery].add(s.HTTPQuery)
	w.strs[cHTTPRoute].add(s.HTTPRoute)
	setFixed(w.data[cStatusCode], r, s.StatusCode)
	w.strs[cPeerIP].add(s.PeerIP)
	w.strs[cNetPeerIP].add(s.NetPeerIP)
	w.strs[cServerAddress].add(s.ServerAddress)
	w.strs[cUserAgent].add(s.UserAgent)
	setFixed(w.data[cRequestBytes], r, s.RequestBytes)
	setFixed(w.data[cResponseBytes], r, s.ResponseBytes)
	w.strs[cUserID].add(s.UserID)
	w.strs[cAPIKeyID].add(s.APIKeyID)
	w.buf = appendAttrsJSON(w.buf[:0], s.SpanAttributes)
	w.strs[cSpanAttributesJSON].addBytes(w.buf)
	w.buf = appendAttrsJSON(w.buf[:0], s.ResourceAttributes)
	w.strs[cResourceAttributesJSON].addBytes(w.buf)
	w.n++
}

// finish copies the string columns into the chunk, sets its size and
// returns the writer's buffers to the pool.
func (w *chunkWriter) finish() {
	for i := range w.vecs {
		if !fixedColumns[i] {
			w.strs[i].fill(w.vecs[i])
		}
	}
	mapping.DataChunkSetSize(w.chunk, mapping.IdxT(w.n))
	w.chunk = mapping.DataChunk{}
	writerPool.Put(w)
}

// setFixed writes a fixed-width value into row of a vector whose data
// pointer is data and whose physical type is T.
func setFixed[T int64 | uint64 | uint16](data unsafe.Pointer, row int, x T) {
	*(*T)(unsafe.Add(data, uintptr(row)*unsafe.Sizeof(x))) = x
}
