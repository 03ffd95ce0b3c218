package otlp

import (
	"bytes"
	"compress/gzip"
	"context"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"go.opentelemetry.io/collector/pdata/ptrace"
	"go.opentelemetry.io/collector/pdata/ptrace/ptraceotlp"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/tracehound/tracehound/span"
	"github.com/tracehound/tracehound/store"
)

// memWriter is an in-memory store.Writer for the receiver's unit tests; the
// end-to-end tests in app use the real store.
type memWriter struct {
	mu    sync.Mutex
	spans []span.Span
	err   error
}

func (w *memWriter) Write(_ context.Context, spans []span.Span) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.err != nil {
		return w.err
	}
	w.spans = append(w.spans, spans...)
	return nil
}

func sampleRequest(t testing.TB, n int) []byte {
	td := ptrace.NewTraces()
	ss := td.ResourceSpans().AppendEmpty().ScopeSpans().AppendEmpty()
	for i := range n {
		sp := ss.Spans().AppendEmpty()
		sp.SetTraceID([16]byte{1, byte(i)})
		sp.SetSpanID([8]byte{1, byte(i)})
		sp.SetKind(ptrace.SpanKindServer)
		sp.Attributes().PutStr("url.path", "/x")
	}
	b, err := ptraceotlp.NewExportRequestFromTraces(td).MarshalProto()
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func serve(r *Receiver, contentType, encoding string, body []byte) *httptest.ResponseRecorder {
	req := httptest.NewRequest(http.MethodPost, "/v1/traces", bytes.NewReader(body))
	req.Header.Set("Content-Type", contentType)
	if encoding != "" {
		req.Header.Set("Content-Encoding", encoding)
	}
	rec := httptest.NewRecorder()
	r.ServeHTTP(rec, req)
	return rec
}

func TestStoreErrorsAreRetryable(t *testing.T) {
	for _, tc := range []struct {
		err  error
		want int
	}{
		{store.ErrOverloaded, 503},
		{store.ErrClosed, 503},
		{errDisk, 503},
	} {
		r := NewReceiver(Options{Writer: &memWriter{err: tc.err}})
		rec := serve(r, contentProtobuf, "", sampleRequest(t, 3))
		if rec.Code != tc.want || rec.Header().Get("Retry-After") == "" {
			t.Errorf("store error %v: status %d Retry-After %q, want %d with Retry-After", tc.err, rec.Code, rec.Header().Get("Retry-After"), tc.want)
		}
		if ct := rec.Header().Get("Content-Type"); ct != contentProtobuf {
			t.Errorf("error body content type %q, want the request's %q", ct, contentProtobuf)
		}
	}
}

var errDisk = &diskError{}

type diskError struct{}

func (*diskError) Error() string { return "disk full" }

func FuzzHTTPBody(f *testing.F) {
	good := sampleRequest(f, 2)
	var gz bytes.Buffer
	zw := gzip.NewWriter(&gz)
	zw.Write(good)
	zw.Close()
	jsonBody, _ := ptraceotlp.NewExportRequest().MarshalJSON()
	f.Add(uint8(0), uint8(0), good)
	f.Add(uint8(0), uint8(1), gz.Bytes())
	f.Add(uint8(1), uint8(0), jsonBody)
	f.Add(uint8(1), uint8(0), []byte(`{"resourceSpans":[{"scopeSpans":[{"spans":[{"traceId":"zz"}]}]}]}`))
	f.Add(uint8(2), uint8(2), []byte("x"))
	types := []string{contentProtobuf, contentJSON, "text/plain"}
	encodings := []string{"", "gzip", "br"}
	w := &memWriter{}
	r := NewReceiver(Options{Writer: w, MaxBodyBytes: 1 << 20})
	f.Fuzz(func(t *testing.T, ct, enc uint8, body []byte) {
		rec := serve(r, types[int(ct)%len(types)], encodings[int(enc)%len(encodings)], body)
		switch rec.Code {
		case 200, 400, 413, 415:
		default:
			t.Fatalf("status %d for a fuzzed body: %s", rec.Code, rec.Body)
		}
	})
}

func TestGRPCThrottleCarriesRetryInfo(t *testing.T) {
	r := NewReceiver(Options{Writer: &memWriter{err: store.ErrOverloaded}, RetryAfter: 3 * time.Second})
	td := ptrace.NewTraces()
	sp := td.ResourceSpans().AppendEmpty().ScopeSpans().AppendEmpty().Spans().AppendEmpty()
	sp.SetTraceID([16]byte{1})
	sp.SetSpanID([8]byte{1})
	_, err := (&grpcService{r: r}).Export(context.Background(), ptraceotlp.NewExportRequestFromTraces(td))
	st, ok := status.FromError(err)
	if !ok || st.Code() != codes.Unavailable {
		t.Fatalf("Export on a full store = %v, want UNAVAILABLE", err)
	}
	var delay time.Duration
	for _, d := range st.Details() {
		if ri, ok := d.(*errdetails.RetryInfo); ok {
			delay = ri.GetRetryDelay().AsDuration()
		}
	}
	if delay != 3*time.Second {
		t.Errorf("RetryInfo delay = %v, want 3s", delay)
	}
}
