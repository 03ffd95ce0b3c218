package web

import (
	"bytes"
	"compress/gzip"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"testing/fstest"
)

const indexHTML = `<!doctype html><html><head><script type="module" src="/assets/index-abc123.js"></script></head><body><div id="app"></div></body></html>`

// A build whose script is big enough to be gzipped.
var appJS = strings.Repeat("console.log('tracehound');\n", 200)

func buildFS() fstest.MapFS {
	return fstest.MapFS{
		"dist/index.html":              {Data: []byte(indexHTML)},
		"dist/assets/index-abc123.js":  {Data: []byte(appJS)},
		"dist/assets/index-def456.css": {Data: []byte("body{color:red}")},
		"dist/favicon.svg":             {Data: []byte("<svg xmlns='http://www.w3.org/2000/svg'/>")},
		"dist/.gitkeep":                {Data: nil},
		"placeholder/index.html":       {Data: []byte("<p>run make ui</p>")},
	}
}

func get(t *testing.T, h http.Handler, method, target string, hdr map[string]string) *httptest.ResponseRecorder {
	t.Helper()
	r := httptest.NewRequest(method, target, nil)
	for k, v := range hdr {
		r.Header.Set(k, v)
	}
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	return w
}

func TestServe(t *testing.T) {
	h := New(buildFS())
	if !h.Built() {
		t.Fatal("Built() = false with dist/index.html present")
	}
	tests := []struct {
		name, method, path string
		status             int
		ctype, cache, body string
	}{
		{"root is the index", "GET", "/", 200, "text/html; charset=utf-8", "no-cache", indexHTML},
		{"index.html itself", "GET", "/index.html", 200, "text/html; charset=utf-8", "no-cache", indexHTML},
		{"hashed script", "GET", "/assets/index-abc123.js", 200, "text/javascript; charset=utf-8", "public, max-age=31536000, immutable", appJS},
		{"hashed style", "GET", "/assets/index-def456.css", 200, "text/css; charset=utf-8", "public, max-age=31536000, immutable", "body{color:red}"},
		{"other file", "GET", "/favicon.svg", 200, "image/svg+xml", "no-cache", "<svg xmlns='http://www.w3.org/2000/svg'/>"},
		{"client route falls back to the index", "GET", "/map", 200, "text/html; charset=utf-8", "no-cache", indexHTML},
		{"deep client route with query", "GET", "/traces/153ad5b5?ip=1.2.3.4", 200, "text/html; charset=utf-8", "no-cache", indexHTML},
		{"missing asset is not the index", "GET", "/assets/index-old999.js", 404, "text/plain; charset=utf-8", "", "not found\n"},
		{"dotfiles are not served", "GET", "/.gitkeep", 200, "text/html; charset=utf-8", "no-cache", indexHTML},
		{"traversal stays inside", "GET", "/assets/../../web.go", 200, "text/html; charset=utf-8", "no-cache", indexHTML},
		{"HEAD has no body", "HEAD", "/assets/index-abc123.js", 200, "text/javascript; charset=utf-8", "public, max-age=31536000, immutable", ""},
		{"POST is refused", "POST", "/map", 405, "text/plain; charset=utf-8", "", "method not allowed\n"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			w := get(t, h, tc.method, tc.path, nil)
			if w.Code != tc.status {
				t.Fatalf("%s %s: status %d, want %d", tc.method, tc.path, w.Code, tc.status)
			}
			if got := w.Header().Get("Content-Type"); got != tc.ctype {
				t.Errorf("%s %s: Content-Type %q, want %q", tc.method, tc.path, got, tc.ctype)
			}
			if got := w.Header().Get("Cache-Control"); got != tc.cache {
				t.Errorf("%s %s: Cache-Control %q, want %q", tc.method, tc.path, got, tc.cache)
			}
			if got := w.Body.String(); got != tc.body {
				t.Errorf("%s %s: body %.60q, want %.60q", tc.method, tc.path, got, tc.body)
			}
			if got := w.Header().Get("X-Content-Type-Options"); got != "nosniff" {
				t.Errorf("%s %s: X-Content-Type-Options %q, want nosniff", tc.method, tc.path, got)
			}
		})
	}
}

func TestSecurityHeaders(t *testing.T) {
	w := get(t, New(buildFS()), "GET", "/", nil)
	csp := w.Header().Get("Content-Security-Policy")
	for _, want := range []string{"default-src 'self'", "script-src 'self'", "frame-ancestors 'none'", "object-src 'none'"} {
		if !strings.Contains(csp, want) {
			t.Errorf("Content-Security-Policy = %q, want it to contain %q", csp, want)
		}
	}
	if strings.Contains(csp, "unsafe-inline") || strings.Contains(csp, "unsafe-eval") {
		t.Errorf("Content-Security-Policy = %q allows inline or eval", csp)
	}
	for k, want := range map[string]string{"Referrer-Policy": "no-referrer", "X-Frame-Options": "DENY"} {
		if got := w.Header().Get(k); got != want {
			t.Errorf("%s = %q, want %q", k, got, want)
		}
	}
}

func TestAPIPathsAreNotTheUI(t *testing.T) {
	w := get(t, New(buildFS()), "GET", "/api/v1/nope", nil)
	if w.Code != http.StatusNotFound {
		t.Fatalf("GET /api/v1/nope: status %d, want 404", w.Code)
	}
	var body struct {
		Error struct{ Code, Message string }
	}
	if err := json.Unmarshal(w.Body.Bytes(), &body); err != nil || body.Error.Code != "not_found" {
		t.Fatalf("GET /api/v1/nope: body %q (%v), want a JSON not_found error", w.Body.String(), err)
	}
}

func TestGzip(t *testing.T) {
	h := New(buildFS())
	w := get(t, h, "GET", "/assets/index-abc123.js", map[string]string{"Accept-Encoding": "br, gzip"})
	if got := w.Header().Get("Content-Encoding"); got != "gzip" {
		t.Fatalf("Content-Encoding = %q, want gzip", got)
	}
	if got := w.Header().Get("Vary"); got != "Accept-Encoding" {
		t.Errorf("Vary = %q, want Accept-Encoding", got)
	}
	if w.Body.Len() >= len(appJS) {
		t.Errorf("gzipped body is %d bytes, not smaller than %d", w.Body.Len(), len(appJS))
	}
	zr, err := gzip.NewReader(bytes.NewReader(w.Body.Bytes()))
	if err != nil {
		t.Fatal(err)
	}
	plain, _ := io.ReadAll(zr)
	if string(plain) != appJS {
		t.Error("gunzipped body differs from the file")
	}
	for _, ae := range []string{"", "br", "gzip;q=0", "identity"} {
		w := get(t, h, "GET", "/assets/index-abc123.js", map[string]string{"Accept-Encoding": ae})
		if w.Header().Get("Content-Encoding") != "" || w.Body.String() != appJS {
			t.Errorf("Accept-Encoding %q: got Content-Encoding %q, want the plain file", ae, w.Header().Get("Content-Encoding"))
		}
	}
	// Tiny files are not worth gzipping.
	if w := get(t, h, "GET", "/assets/index-def456.css", map[string]string{"Accept-Encoding": "gzip"}); w.Header().Get("Content-Encoding") != "" {
		t.Error("a 15-byte file was gzipped")
	}
}

func TestETag(t *testing.T) {
	h := New(buildFS())
	w := get(t, h, "GET", "/", nil)
	etag := w.Header().Get("ETag")
	if etag == "" {
		t.Fatal("no ETag on the index")
	}
	if w := get(t, h, "GET", "/map", map[string]string{"If-None-Match": etag}); w.Code != http.StatusNotModified || w.Body.Len() != 0 {
		t.Errorf("If-None-Match %s: status %d with %d bytes, want 304 and no body", etag, w.Code, w.Body.Len())
	}
	if w := get(t, h, "GET", "/", map[string]string{"If-None-Match": `"other"`}); w.Code != http.StatusOK {
		t.Errorf("If-None-Match of another version: status %d, want 200", w.Code)
	}
}

func TestPlaceholderWithoutBuild(t *testing.T) {
	fsys := buildFS()
	for k := range fsys {
		if strings.HasPrefix(k, "dist/") && k != "dist/.gitkeep" {
			delete(fsys, k)
		}
	}
	h := New(fsys)
	if h.Built() {
		t.Error("Built() = true without dist/index.html")
	}
	for _, p := range []string{"/", "/map"} {
		w := get(t, h, "GET", p, nil)
		if w.Code != 200 || !strings.Contains(w.Body.String(), "make ui") {
			t.Errorf("GET %s without a build: %d %q, want the placeholder", p, w.Code, w.Body.String())
		}
	}
}

func TestEmbedded(t *testing.T) {
	// Built or not, the binary's UI answers with an HTML page.
	w := get(t, Handler(), "GET", "/", nil)
	if w.Code != 200 || !strings.HasPrefix(w.Header().Get("Content-Type"), "text/html") || !strings.Contains(strings.ToLower(w.Body.String()), "<!doctype html>") {
		t.Fatalf("GET / on the embedded UI: %d %s %.80q", w.Code, w.Header().Get("Content-Type"), w.Body.String())
	}
	if Handler() != Handler() {
		t.Error("Handler() builds a new UI on every call")
	}
}
