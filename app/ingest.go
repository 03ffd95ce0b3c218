package app

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"time"

	"go.opentelemetry.io/collector/pdata/ptrace/ptraceotlp"

	"github.com/tracehound/tracehound/api"
	"github.com/tracehound/tracehound/span"
	"github.com/tracehound/tracehound/store"
)

// OTLPFile is one decoded export request of a file.
type OTLPFile struct {
	// Body is the request as sent over OTLP/HTTP, ContentType its type.
	Body        []byte
	ContentType string
}

// maxIngestFileBytes bounds a file read into memory for ingest.
const maxIngestFileBytes = 2 << 30

// SplitOTLPFile reads an OTLP file and returns its export requests: a
// protobuf ExportTraceServiceRequest, a JSON one, or JSON lines (one request
// per line, as the Collector's file exporter writes). Gzip-compressed files
// are decompressed first.
func SplitOTLPFile(r io.Reader) ([]OTLPFile, error) {
	br := bufio.NewReader(r)
	if magic, _ := br.Peek(2); len(magic) == 2 && magic[0] == 0x1f && magic[1] == 0x8b {
		zr, err := gzip.NewReader(br)
		if err != nil {
			return nil, fmt.Errorf("gzip: %w", err)
		}
		defer zr.Close()
		br = bufio.NewReader(zr)
	}
	data, err := io.ReadAll(io.LimitReader(br, maxIngestFileBytes+1))
	if err != nil {
		return nil, err
	}
	if len(data) > maxIngestFileBytes {
		return nil, fmt.Errorf("file is larger than %d bytes; split it", maxIngestFileBytes)
	}
	trimmed := bytes.TrimSpace(data)
	if len(trimmed) == 0 {
		return nil, errors.New("file is empty")
	}
	if trimmed[0] != '{' {
		req := ptraceotlp.NewExportRequest()
		if err := req.UnmarshalProto(data); err != nil {
			return nil, fmt.Errorf("not OTLP JSON, and not OTLP protobuf: %w", err)
		}
		return []OTLPFile{{Body: data, ContentType: "application/x-protobuf"}}, nil
	}
	// JSON lines when the first line is a complete JSON value of its own;
	// otherwise one (possibly pretty-printed) document.
	first, rest, _ := bytes.Cut(trimmed, []byte("\n"))
	if len(bytes.TrimSpace(rest)) == 0 || !json.Valid(first) {
		req := ptraceotlp.NewExportRequest()
		if err := req.UnmarshalJSON(trimmed); err != nil {
			return nil, fmt.Errorf("not an OTLP JSON export request: %w", err)
		}
		return []OTLPFile{{Body: trimmed, ContentType: "application/json"}}, nil
	}
	var out []OTLPFile
	for i, line := range bytes.Split(trimmed, []byte("\n")) {
		line = bytes.TrimSpace(line)
		if len(line) == 0 {
			continue
		}
		req := ptraceotlp.NewExportRequest()
		if err := req.UnmarshalJSON(line); err != nil {
			return nil, fmt.Errorf("line %d: not an OTLP JSON export request: %w", i+1, err)
		}
		out = append(out, OTLPFile{Body: line, ContentType: "application/json"})
	}
	return out, nil
}

// ingestBatch bounds one Write of a local ingest, so a large file never
// exceeds the store's queue.
const ingestBatch = 10_000

// Ingest stores the export requests directly (local mode), reporting spans
// written after each batch. It waits and retries while the store is busy.
func (a *App) Ingest(ctx context.Context, reqs []OTLPFile, progress func(spans int64)) (api.IngestResult, error) {
	var res api.IngestResult
	for _, f := range reqs {
		req := ptraceotlp.NewExportRequest()
		var err error
		if f.ContentType == "application/x-protobuf" {
			err = req.UnmarshalProto(f.Body)
		} else {
			err = req.UnmarshalJSON(f.Body)
		}
		if err != nil {
			return res, fmt.Errorf("decode: %w", err)
		}
		res.Requests++
		// Each request gets its own slice: the store keeps written spans.
		valid, rejected := span.DropInvalid(a.norm.Append(nil, req.Traces()))
		res.Rejected += int64(rejected)
		for len(valid) > 0 {
			n := min(len(valid), ingestBatch)
			if err := a.writeRetry(ctx, valid[:n]); err != nil {
				return res, err
			}
			res.Spans += int64(n)
			valid = valid[n:]
			if progress != nil {
				progress(res.Spans)
			}
		}
	}
	return res, nil
}

func (a *App) writeRetry(ctx context.Context, spans []span.Span) error {
	for {
		err := a.store.Write(ctx, spans)
		if !errors.Is(err, store.ErrOverloaded) {
			return err
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(100 * time.Millisecond):
		}
	}
}
