package duckdb

import (
	"errors"
	"fmt"
	"sync"
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
	pool  sync.Pool // of *mapping.DataChunk, filled and reset
}

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
	if c, ok := a.pool.Get().(*mapping.DataChunk); ok {
		return *c
	}
	return mapping.CreateDataChunk(a.types)
}

func (a *appender) putChunk(c mapping.DataChunk) {
	mapping.DataChunkReset(c)
	a.pool.Put(&c)
}

// releaseChunks returns the chunks of an abandoned write to the pool.
func (a *appender) releaseChunks(chunks []mapping.DataChunk) {
	for _, c := range chunks {
		a.putChunk(c)
	}
}

// commit appends the encoded chunks of every pending write and commits them
// as one transaction. On error nothing of the batch is kept. The chunks go
// back to the pool either way.
func (a *appender) commit(batch []*pending) error {
	var err error
	for _, p := range batch {
		for _, c := range p.chunks {
			if err == nil && mapping.AppendDataChunk(a.app, c) == mapping.StateError {
				err = errors.New(mapping.AppenderError(a.app))
			}
			a.putChunk(c)
		}
		p.chunks = nil
	}
	if err == nil && mapping.AppenderFlush(a.app) == mapping.StateError {
		err = errors.New(mapping.AppenderError(a.app))
	}
	if err != nil {
		mapping.AppenderClear(a.app)
	}
	return err
}

func (a *appender) close() error {
	var err error
	if a.app.Ptr != nil {
		if mapping.AppenderDestroy(&a.app) == mapping.StateError {
			err = errors.New("close appender")
		}
	}
	for {
		c, ok := a.pool.Get().(*mapping.DataChunk)
		if !ok {
			break
		}
		mapping.DestroyDataChunk(c)
	}
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

// chunkWriter fills one data chunk row by row.
type chunkWriter struct {
	chunk mapping.DataChunk
	vecs  [nColumns]mapping.Vector
	n     int
	buf   []byte
}

func newChunkWriter(chunk mapping.DataChunk) *chunkWriter {
	w := &chunkWriter{chunk: chunk, buf: make([]byte, 0, 4096)}
	for i := range w.vecs {
		w.vecs[i] = mapping.DataChunkGetVector(chunk, mapping.IdxT(i))
	}
	return w
}

func (w *chunkWriter) row(s *span.Span) {
	r := mapping.IdxT(w.n)
	setFixed(w.vecs[cTimestamp], w.n, s.Timestamp.UnixMicro())
	setString(w.vecs[cTraceID], r, s.TraceID)
	setString(w.vecs[cSpanID], r, s.SpanID)
	setString(w.vecs[cParentSpanID], r, s.ParentSpanID)
	setString(w.vecs[cServiceName], r, s.ServiceName)
	setString(w.vecs[cSpanName], r, s.SpanName)
	setString(w.vecs[cSpanKind], r, s.SpanKind)
	setFixed(w.vecs[cDurationNS], w.n, s.DurationNS)
	setString(w.vecs[cOtelStatus], r, s.OtelStatus)
	setString(w.vecs[cHTTPMethod], r, s.HTTPMethod)
	setString(w.vecs[cHTTPTarget], r, s.HTTPTarget)
	setString(w.vecs[cHTTPPath], r, s.HTTPPath)
	setString(w.vecs[cHTTPQuery], r, s.HTTPQuery)
	setString(w.vecs[cHTTPRoute], r, s.HTTPRoute)
	setFixed(w.vecs[cStatusCode], w.n, s.StatusCode)
	setString(w.vecs[cPeerIP], r, s.PeerIP)
	setString(w.vecs[cNetPeerIP], r, s.NetPeerIP)
	setString(w.vecs[cServerAddress], r, s.ServerAddress)
	setString(w.vecs[cUserAgent], r, s.UserAgent)
	setFixed(w.vecs[cRequestBytes], w.n, s.RequestBytes)
	setFixed(w.vecs[cResponseBytes], w.n, s.ResponseBytes)
	setString(w.vecs[cUserID], r, s.UserID)
	setString(w.vecs[cAPIKeyID], r, s.APIKeyID)
	w.buf = appendAttrsJSON(w.buf[:0], s.SpanAttributes)
	setBytes(w.vecs[cSpanAttributesJSON], r, w.buf)
	w.buf = appendAttrsJSON(w.buf[:0], s.ResourceAttributes)
	setBytes(w.vecs[cResourceAttributesJSON], r, w.buf)
	w.n++
}

func (w *chunkWriter) finish() {
	mapping.DataChunkSetSize(w.chunk, mapping.IdxT(w.n))
}

// setString copies s into row r of a VARCHAR vector. Strings are valid
// UTF-8 (the span normaliser guarantees it), so DuckDB's check is skipped.
func setString(v mapping.Vector, r mapping.IdxT, s string) {
	mapping.UnsafeVectorAssignStringElementLen(v, r, unsafe.Slice(unsafe.StringData(s), len(s)))
}

// setBytes copies b (valid UTF-8) into row r of a VARCHAR vector.
func setBytes(v mapping.Vector, r mapping.IdxT, b []byte) {
	mapping.UnsafeVectorAssignStringElementLen(v, r, b)
}

// setFixed writes a fixed-width value into a vector whose physical type is T.
func setFixed[T int64 | uint64 | uint16](v mapping.Vector, row int, x T) {
	*(*T)(unsafe.Add(mapping.VectorGetData(v), uintptr(row)*unsafe.Sizeof(x))) = x
}
