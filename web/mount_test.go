package web_test

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/tracehound/tracehound/api"
	"github.com/tracehound/tracehound/web"
)

type backend struct{}

func (backend) SQL(context.Context, string) (*api.QueryResult, error) { return &api.QueryResult{}, nil }
func (backend) Status(context.Context) (*api.Status, error)           { return &api.Status{Version: "test"}, nil }

// TestMountedOnTheAPI checks the UI as the API server's fallback: client
// routes get the UI, while /api/, /healthz and OTLP keep their handlers.
func TestMountedOnTheAPI(t *testing.T) {
	ui := web.New(fstest.MapFS{
		"dist/index.html":        {Data: []byte("<!doctype html><title>ui</title>")},
		"placeholder/index.html": {Data: []byte("placeholder")},
	})
	otlp := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "otlp "+r.Method) })
	srv := api.NewServer(api.Options{Backend: backend{}, UI: ui, OTLP: otlp})
	srv.SetReady(true)
	tests := []struct {
		method, path string
		status       int
		want         string
	}{
		{"GET", "/", 200, "<title>ui</title>"},
		{"GET", "/notifications", 200, "<title>ui</title>"},
		{"HEAD", "/ips", 200, ""},
		{"GET", "/healthz", 200, "ok"},
		{"GET", "/readyz", 200, "ready"},
		{"GET", "/api/v1/status", 200, `"version":"test"`},
		{"GET", "/api/v1/no-such-route", 404, `"code":"not_found"`},
		{"POST", "/v1/traces", 200, "otlp POST"},
		{"DELETE", "/map", 405, "method not allowed"},
	}
	for _, tc := range tests {
		r := httptest.NewRequest(tc.method, tc.path, nil)
		w := httptest.NewRecorder()
		srv.ServeHTTP(w, r)
		if w.Code != tc.status || !strings.Contains(w.Body.String(), tc.want) {
			t.Errorf("%s %s = %d %.80q, want %d containing %q", tc.method, tc.path, w.Code, w.Body.String(), tc.status, tc.want)
		}
	}
}

// TestNoUIWithoutOption checks that a server without a UI does not serve
// one.
func TestNoUIWithoutOption(t *testing.T) {
	srv := api.NewServer(api.Options{Backend: backend{}})
	w := httptest.NewRecorder()
	srv.ServeHTTP(w, httptest.NewRequest("GET", "/map", nil))
	if w.Code != http.StatusNotFound {
		t.Errorf("GET /map without a UI = %d, want 404", w.Code)
	}
}
