package otlp

import (
	"bytes"
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"testing"

	"go.opentelemetry.io/collector/pdata/ptrace/ptraceotlp"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
)

func tokenIs(want string) func(context.Context, string) error {
	return func(_ context.Context, tok string) error {
		if tok != want {
			return errors.New("unknown ingest token")
		}
		return nil
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
