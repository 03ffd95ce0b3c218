package otlp

import (
	"bytes"
	"compress/gzip"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"strconv"
	"sync"

	spb "google.golang.org/genproto/googleapis/rpc/status"
	"google.golang.org/grpc/codes"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"

	"go.opentelemetry.io/collector/pdata/ptrace/ptraceotlp"

	"github.com/tracehound/tracehound/store"
)

const (
	contentProtobuf = "application/x-protobuf"
	contentJSON     = "application/json"
)

// ServeHTTP handles POST /v1/traces.
//
// Responses follow the OTLP/HTTP specification: 200 with an
// ExportTraceServiceResponse (partial success when spans were invalid), 400
// for a body that does not decode, 405, 413 when the body exceeds the limit
// after decompression, 415 for an unsupported content type or encoding, and
// 429/503 with Retry-After when the client should retry later. Error bodies
// are google.rpc.Status in the request's encoding.
func (r *Receiver) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	if req.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		r.httpError(w, contentJSON, http.StatusMethodNotAllowed, codes.Unimplemented, "method "+req.Method+" not allowed; OTLP exports are POSTed")
		return
	}
	mediaType, _, err := mime.ParseMediaType(req.Header.Get("Content-Type"))
	if err != nil || (mediaType != contentProtobuf && mediaType != contentJSON) {
		r.httpError(w, contentJSON, http.StatusUnsupportedMediaType, codes.InvalidArgument,
			fmt.Sprintf("unsupported content type %q; use %s or %s", req.Header.Get("Content-Type"), contentProtobuf, contentJSON))
		return
	}
	var application string
	if r.authorize != nil {
		var err error
		if application, err = r.authorize(req.Context(), bearer(req.Header.Get("Authorization"))); err != nil {
			r.metrics.requests.WithLabelValues("http", strconv.Itoa(http.StatusUnauthorized)).Inc()
			w.Header().Set("WWW-Authenticate", `Bearer realm="tracehound-otlp"`)
			r.httpError(w, mediaType, http.StatusUnauthorized, codes.Unauthenticated, err.Error())
			return
		}
	}
	if r.saturated() {
		r.throttle(w, mediaType, http.StatusServiceUnavailable, store.ErrOverloaded)
		return
	}
	if !r.acquire(req.Context()) {
		r.throttle(w, mediaType, http.StatusTooManyRequests, errThrottled)
		return
	}
	defer r.release()

	body, status, err := r.readBody(req)
	if err != nil {
		r.httpError(w, mediaType, status, codes.InvalidArgument, err.Error())
		return
	}
	defer putBuffer(body)

	exportReq := ptraceotlp.NewExportRequest()
	if mediaType == contentProtobuf {
		err = exportReq.UnmarshalProto(body.Bytes())
	} else {
		err = exportReq.UnmarshalJSON(body.Bytes())
	}
	if err != nil {
		r.httpError(w, mediaType, http.StatusBadRequest, codes.InvalidArgument, "decode OTLP "+mediaType+" body: "+err.Error())
		return
	}
	rejected, reason, err := r.export(req.Context(), "http", exportReq.Traces(), application)
	if err != nil {
		switch {
		case errors.Is(err, store.ErrOverloaded):
			r.throttle(w, mediaType, http.StatusServiceUnavailable, err)
		case errors.Is(err, store.ErrClosed):
			r.throttle(w, mediaType, http.StatusServiceUnavailable, errors.New("server is shutting down"))
		case req.Context().Err() != nil:
			// The client is gone; nothing to answer.
			r.metrics.requests.WithLabelValues("http", "499").Inc()
		default:
			r.throttle(w, mediaType, http.StatusServiceUnavailable, errors.New("spans could not be stored; retry later"))
		}
		return
	}
	resp := ptraceotlp.NewExportResponse()
	if rejected > 0 {
		resp.PartialSuccess().SetRejectedSpans(int64(rejected))
		resp.PartialSuccess().SetErrorMessage(reason)
	}
	var out []byte
	if mediaType == contentProtobuf {
		out, err = resp.MarshalProto()
	} else {
		out, err = resp.MarshalJSON()
	}
	if err != nil {
		r.httpError(w, mediaType, http.StatusInternalServerError, codes.Internal, "encode response")
		return
	}
	w.Header().Set("Content-Type", mediaType)
	w.WriteHeader(http.StatusOK)
	w.Write(out)
	r.metrics.requests.WithLabelValues("http", "200").Inc()
}

// readBody reads the request body, decompressing it, and enforces the size
// limit on the decompressed bytes. On error it returns the HTTP status.
func (r *Receiver) readBody(req *http.Request) (*bytes.Buffer, int, error) {
	if req.ContentLength > r.maxBody && req.Header.Get("Content-Encoding") == "" {
		return nil, http.StatusRequestEntityTooLarge, fmt.Errorf("body of %d bytes exceeds the %d-byte limit", req.ContentLength, r.maxBody)
	}
	var src io.Reader = req.Body
	switch enc := req.Header.Get("Content-Encoding"); enc {
	case "", "identity":
	case "gzip", "x-gzip":
		zr, err := gzip.NewReader(io.LimitReader(req.Body, r.maxBody))
		if err != nil {
			return nil, http.StatusBadRequest, fmt.Errorf("gzip body: %v", err)
		}
		defer zr.Close()
		src = zr
	default:
		return nil, http.StatusUnsupportedMediaType, fmt.Errorf("unsupported content encoding %q; use gzip or none", enc)
	}
	buf := getBuffer()
	n, err := buf.ReadFrom(io.LimitReader(src, r.maxBody+1))
	if err != nil {
		putBuffer(buf)
		var maxErr *http.MaxBytesError
		if errors.As(err, &maxErr) {
			return nil, http.StatusRequestEntityTooLarge, fmt.Errorf("body exceeds the %d-byte limit", r.maxBody)
		}
		return nil, http.StatusBadRequest, fmt.Errorf("read body: %v", err)
	}
	if n > r.maxBody {
		putBuffer(buf)
		return nil, http.StatusRequestEntityTooLarge, fmt.Errorf("body exceeds the %d-byte limit after decompression", r.maxBody)
	}
	return buf, 0, nil
}

// throttle answers a retryable refusal with Retry-After.
func (r *Receiver) throttle(w http.ResponseWriter, mediaType string, status int, err error) {
	w.Header().Set("Retry-After", strconv.Itoa(int(r.retryAfter.Seconds()+0.5)))
	code := codes.Unavailable
	if status == http.StatusTooManyRequests {
		code = codes.ResourceExhausted
	}
	r.httpError(w, mediaType, status, code, err.Error())
}

func (r *Receiver) httpError(w http.ResponseWriter, mediaType string, status int, code codes.Code, msg string) {
	st := &spb.Status{Code: int32(code), Message: msg}
	var body []byte
	if mediaType == contentProtobuf {
		body, _ = proto.Marshal(st)
	} else {
		mediaType = contentJSON
		body, _ = protojson.Marshal(st)
	}
	w.Header().Set("Content-Type", mediaType)
	w.WriteHeader(status)
	w.Write(body)
	r.metrics.requests.WithLabelValues("http", strconv.Itoa(status)).Inc()
	if status >= 500 || status == http.StatusTooManyRequests {
		r.warnThrottled(status, msg)
	} else {
		r.log.Debug("export refused", "status", status, "reason", msg)
	}
}

// bufferPool keeps request bodies from churning the heap at high rates. A
// body may go back to the pool once its spans are written: the store copies
// what it keeps.
var bufferPool = sync.Pool{New: func() any { return new(bytes.Buffer) }}

func getBuffer() *bytes.Buffer { return bufferPool.Get().(*bytes.Buffer) }

func putBuffer(b *bytes.Buffer) {
	if b == nil {
		return
	}
	// Do not keep very large buffers alive.
	if b.Cap() > 8<<20 {
		return
	}
	b.Reset()
	bufferPool.Put(b)
}
