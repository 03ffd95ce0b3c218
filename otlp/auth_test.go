package otlp

import (
	"bytes"
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"testing"

	"go.opentelemetry.io/collector/pdata/ptrace"
	"go.opentelemetry.io/collector/pdata/ptrace/ptraceotlp"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
)

func tokenIs(want string) func(context.Context, string) (string, error) {
	return func(_ context.Context, tok string) (string, error) {
		if tok != want {
			return "", errors.New("unknown ingest token")
		}
		return "", nil
	}
}

// TestApplicationTag checks that an application's key tags its spans, and
// that a span cannot claim an application without the key.
func TestApplicationTag(t *testing.T) {
	w := &memWriter{}
	r := NewReceiver(Options{Writer: w, Authorize: func(_ context.Context, tok string) (string, error) {
		if tok == "th_checkout" {
			return "checkout", nil
		}
		return "", nil
	}})
	td := ptrace.NewTraces()
	rs := td.ResourceSpans().AppendEmpty()
	rs.Resource().Attributes().PutStr(ApplicationAttr, "forged")
	sp := rs.ScopeSpans().AppendEmpty().Spans().AppendEmpty()
	sp.SetTraceID([16]byte{1})
	sp.SetSpanID([8]byte{1})
	body, err := ptraceotlp.NewExportRequestFromTraces(td).MarshalProto()
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct{ header, want string }{{"Bearer th_checkout", "checkout"}, {"", ""}} {
		w.spans = nil
		req := httptest.NewRequest(http.MethodPost, "/v1/traces", bytes.NewReader(body))
		req.Header.Set("Content-Type", contentProtobuf)
		if tc.header != "" {
			req.Header.Set("Authorization", tc.header)
		}
		rec := httptest.NewRecorder()
		r.ServeHTTP(rec, req)
		if rec.Code != http.StatusOK || len(w.spans) != 1 {
			t.Fatalf("%q: status %d, %d spans", tc.header, rec.Code, len(w.spans))
		}
		var got string
		for _, a := range w.spans[0].ResourceAttributes {
			if a.Key == ApplicationAttr {
				got = a.Value
			}
		}
		if got != tc.want {
			t.Errorf("%q: application %q, want %q", tc.header, got, tc.want)
		}
	}
}

func TestHTTPRequiresToken(t *testing.T) {
	w := &memWriter{}
	r := NewReceiver(Options{Writer: w, Authorize: tokenIs("th_good")})
	body := sampleRequest(t, 3)
	for _, tc := range []struct {
		header string
		want   int
	}{
		{"", http.StatusUnauthorized},
		{"Bearer th_bad", http.StatusUnauthorized},
		{"Basic th_good", http.StatusUnauthorized},
		{"Bearer th_good", http.StatusOK},
		{"bearer  th_good ", http.StatusOK},
	} {
		req := httptest.NewRequest(http.MethodPost, "/v1/traces", bytes.NewReader(body))
		req.Header.Set("Content-Type", contentProtobuf)
		if tc.header != "" {
			req.Header.Set("Authorization", tc.header)
		}
		rec := httptest.NewRecorder()
		r.ServeHTTP(rec, req)
		if rec.Code != tc.want {
			t.Errorf("Authorization %q: status %d, want %d", tc.header, rec.Code, tc.want)
		}
		if tc.want == http.StatusUnauthorized && rec.Header().Get("WWW-Authenticate") == "" {
			t.Errorf("Authorization %q: 401 without WWW-Authenticate", tc.header)
		}
	}
	if len(w.spans) != 6 {
		t.Errorf("stored %d spans, want 6 (two authorised exports of 3)", len(w.spans))
	}
}

func TestGRPCRequiresToken(t *testing.T) {
	w := &memWriter{}
	r := NewReceiver(Options{Writer: w, Authorize: tokenIs("th_good")})
	req := ptraceotlp.NewExportRequest()
	if err := req.UnmarshalProto(sampleRequest(t, 2)); err != nil {
		t.Fatal(err)
	}
	g := &grpcService{r: r}
	if _, err := g.Export(context.Background(), req); status.Code(err) != codes.Unauthenticated {
		t.Errorf("no metadata: %v, want UNAUTHENTICATED", err)
	}
	ctx := metadata.NewIncomingContext(context.Background(), metadata.Pairs("authorization", "Bearer th_good"))
	if _, err := g.Export(ctx, req); err != nil {
		t.Errorf("with the token: %v", err)
	}
	if len(w.spans) != 2 {
		t.Errorf("stored %d spans, want 2", len(w.spans))
	}
}
