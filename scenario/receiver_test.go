package scenario

import (
	"cmp"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/ptrace"
	"go.opentelemetry.io/collector/pdata/ptrace/ptraceotlp"
)

// receivedSpan is a span as an OTLP receiver decoded it.
type receivedSpan struct {
	traceID, spanID, parentID string
	name, kind, scope         string
	start, end                int64
	status                    string
	attrs                     map[string]any
	keys                      []string // attribute keys in wire order
	resource                  map[string]any
}

// receiver is an OTLP/HTTP receiver built on pdata: POST /v1/traces with a
// protobuf ExportTraceServiceRequest.
type receiver struct {
	srv   *httptest.Server
	mu    sync.Mutex
	spans []receivedSpan
}

func newReceiver(t *testing.T) *receiver {
	t.Helper()
	rc := &receiver{}
	rc.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodPost || r.URL.Path != "/v1/traces" || r.Header.Get("Content-Type") != "application/x-protobuf" {
			http.Error(w, "want POST /v1/traces with protobuf", http.StatusBadRequest)
			return
		}
		body, err := io.ReadAll(r.Body)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		req := ptraceotlp.NewExportRequest()
		if err := req.UnmarshalProto(body); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		rc.add(req.Traces())
		out, _ := ptraceotlp.NewExportResponse().MarshalProto()
		w.Header().Set("Content-Type", "application/x-protobuf")
		w.Write(out)
	}))
	t.Cleanup(rc.srv.Close)
	return rc
}

func (rc *receiver) endpoint() string { return rc.srv.URL }

func (rc *receiver) add(td ptrace.Traces) {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	for _, rs := range td.ResourceSpans().All() {
		res := rs.Resource().Attributes().AsRaw()
		for _, ss := range rs.ScopeSpans().All() {
			for _, s := range ss.Spans().All() {
				tid, sid := s.TraceID(), s.SpanID()
				sp := receivedSpan{
					traceID: hex.EncodeToString(tid[:]), spanID: hex.EncodeToString(sid[:]),
					name: s.Name(), kind: s.Kind().String(), scope: ss.Scope().Name(),
					start: int64(s.StartTimestamp()), end: int64(s.EndTimestamp()),
					status: s.Status().Code().String(), attrs: s.Attributes().AsRaw(), resource: res,
				}
				if p := s.ParentSpanID(); !p.IsEmpty() {
					sp.parentID = hex.EncodeToString(p[:])
				}
				s.Attributes().Range(func(k string, _ pcommon.Value) bool {
					sp.keys = append(sp.keys, k)
					return true
				})
				rc.spans = append(rc.spans, sp)
			}
		}
	}
}

func (rc *receiver) all() []receivedSpan {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	return slices.Clone(rc.spans)
}

// hashSpans hashes spans independently of the order they arrived in.
func hashSpans(spans []receivedSpan) string {
	lines := make([]string, len(spans))
	for i, s := range spans {
		keys := slices.Sorted(func(yield func(string) bool) {
			for k := range s.attrs {
				if !yield(k) {
					return
				}
			}
		})
		var b strings.Builder
		fmt.Fprintf(&b, "%s %s %s %s %s %s %d %d %s", s.traceID, s.spanID, s.parentID, s.name, s.kind, s.scope, s.start, s.end, s.status)
		for _, k := range keys {
			fmt.Fprintf(&b, " %s=%v", k, s.attrs[k])
		}
		lines[i] = b.String()
	}
	slices.SortFunc(lines, cmp.Compare)
	h := sha256.New()
	for _, l := range lines {
		io.WriteString(h, l+"\n")
	}
	return hex.EncodeToString(h.Sum(nil))
}
