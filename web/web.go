// Package web serves tracehound's web UI: the Vite build of web/ui,
// embedded in the binary from web/dist.
//
// `make ui` builds the UI into web/dist. Only dist/.gitkeep is committed
// (it keeps the embed pattern matching), so a binary built without Node
// serves web/placeholder/index.html, which says how to build the UI.
//
// The handler serves hashed assets under /assets/ as immutable for a year,
// index.html and other files with no-cache, and index.html for every other
// path (the UI routes in the browser); it gzips text files once at start
// and serves the gzip to clients that accept it. Every answer carries a
// strict Content-Security-Policy (scripts, styles and connections to the
// same origin only; no framing) and the usual hardening headers.
package web

import (
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"encoding/json"
	"io/fs"
	"net/http"
	"path"
	"strconv"
	"strings"
	"sync"
)

//go:embed all:dist placeholder
var files embed.FS

// Security headers of every answer.
var securityHeaders = map[string]string{
	"Content-Security-Policy": "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; font-src 'self'; " +
		"connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'",
	"X-Content-Type-Options":       "nosniff",
	"X-Frame-Options":              "DENY",
	"Referrer-Policy":              "no-referrer",
	"Cross-Origin-Opener-Policy":   "same-origin",
	"Cross-Origin-Resource-Policy": "same-origin",
	"Permissions-Policy":           "camera=(), microphone=(), geolocation=(), payment=()",
}

// Cache-Control values.
const (
	cacheImmutable  = "public, max-age=31536000, immutable"
	cacheRevalidate = "no-cache"
)

// contentTypes names the types of the files a Vite build holds; other
// extensions are served as application/octet-stream.
var contentTypes = map[string]string{
	".html":        "text/html; charset=utf-8",
	".js":          "text/javascript; charset=utf-8",
	".mjs":         "text/javascript; charset=utf-8",
	".css":         "text/css; charset=utf-8",
	".json":        "application/json",
	".map":         "application/json",
	".svg":         "image/svg+xml",
	".png":         "image/png",
	".jpg":         "image/jpeg",
	".ico":         "image/x-icon",
	".webp":        "image/webp",
	".woff2":       "font/woff2",
	".woff":        "font/woff",
	".txt":         "text/plain; charset=utf-8",
	".webmanifest": "application/manifest+json",
}

// compressible lists the types worth gzipping.
var compressible = map[string]bool{".html": true, ".js": true, ".mjs": true, ".css": true, ".json": true, ".map": true, ".svg": true, ".txt": true, ".webmanifest": true}

var (
	defaultOnce sync.Once
	defaultUI   *UI
)

// Handler returns the handler of the UI embedded in the binary; it is
// built once, on first use.
func Handler() *UI {
	defaultOnce.Do(func() {
		defaultUI = New(files)
	})
	return defaultUI
}

// UI serves a UI build. It is safe for concurrent use.
type UI struct {
	built bool
	files map[string]*file
	index *file
}

type file struct {
	body  []byte
	gz    []byte // nil when not worth it
	ctype string
	etag  string
}

// New returns a handler over fsys, which holds dist/ (a UI build) and
// placeholder/. When dist has no index.html, it serves the placeholder.
func New(fsys fs.FS) *UI {
	h := &UI{files: map[string]*file{}}
	root := "placeholder"
	if b, err := fs.ReadFile(fsys, "dist/index.html"); err == nil && len(b) > 0 {
		root = "dist"
		h.built = true
	}
	sub, err := fs.Sub(fsys, root)
	if err != nil {
		panic("web: " + err.Error()) // fs.Sub fails only on an invalid name
	}
	fs.WalkDir(sub, ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || strings.HasPrefix(d.Name(), ".") {
			return nil
		}
		b, err := fs.ReadFile(sub, p)
		if err != nil {
			return nil
		}
		h.files["/"+p] = newFile(p, b)
		return nil
	})
	h.index = h.files["/index.html"]
	if h.index == nil {
		h.index = newFile("index.html", []byte("<!doctype html><title>tracehound</title><p>The web UI is missing from this build.</p>\n"))
	}
	return h
}

func newFile(name string, b []byte) *file {
	ext := strings.ToLower(path.Ext(name))
	f := &file{body: b, ctype: contentTypes[ext]}
	if f.ctype == "" {
		f.ctype = "application/octet-stream"
	}
	sum := sha256.Sum256(b)
	f.etag = `"` + hex.EncodeToString(sum[:12]) + `"`
	if compressible[ext] && len(b) > 512 {
		var buf bytes.Buffer
		zw, _ := gzip.NewWriterLevel(&buf, gzip.BestCompression)
		zw.Write(b)
		zw.Close()
		if buf.Len() < len(b)*9/10 {
			f.gz = buf.Bytes()
		}
	}
	return f
}

// Built reports whether the handler serves a UI build rather than the
// placeholder.
func (h *UI) Built() bool { return h.built }

// ServeHTTP implements http.Handler.
func (h *UI) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	hdr := w.Header()
	for k, v := range securityHeaders {
		hdr.Set(k, v)
	}
	p := r.URL.Path
	if p == "/api" || strings.HasPrefix(p, "/api/") {
		// The API owns /api/; its own mux answers there. Never fall back
		// to the UI for an API path.
		var body struct {
			Error struct {
				Code    string `json:"code"`
				Message string `json:"message"`
			} `json:"error"`
		}
		body.Error.Code = "not_found"
		body.Error.Message = "no API route " + r.Method + " " + p
		b, _ := json.Marshal(body)
		hdr.Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusNotFound)
		w.Write(append(b, '\n'))
		return
	}
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		hdr.Set("Allow", "GET, HEAD")
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	clean := path.Clean("/" + p)
	f, ok := h.files[clean]
	switch {
	case ok && strings.HasPrefix(clean, "/assets/"):
		hdr.Set("Cache-Control", cacheImmutable)
	case ok && clean != "/index.html":
		hdr.Set("Cache-Control", cacheRevalidate)
	case strings.HasPrefix(clean, "/assets/"):
		// A missing hashed asset is an old page asking for a file the new
		// build renamed: answering index.html would hide that.
		http.Error(w, "not found", http.StatusNotFound)
		return
	default:
		f = h.index
		hdr.Set("Cache-Control", cacheRevalidate)
	}
	h.serve(w, r, f)
}

func (h *UI) serve(w http.ResponseWriter, r *http.Request, f *file) {
	hdr := w.Header()
	hdr.Set("Content-Type", f.ctype)
	hdr.Set("ETag", f.etag)
	if f.gz != nil {
		hdr.Add("Vary", "Accept-Encoding")
	}
	if match := r.Header.Get("If-None-Match"); match != "" && etagMatches(match, f.etag) {
		w.WriteHeader(http.StatusNotModified)
		return
	}
	body := f.body
	if f.gz != nil && acceptsGzip(r.Header.Get("Accept-Encoding")) {
		hdr.Set("Content-Encoding", "gzip")
		body = f.gz
	}
	hdr.Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(http.StatusOK)
	if r.Method != http.MethodHead {
		w.Write(body)
	}
}

func etagMatches(header, etag string) bool {
	for part := range strings.SplitSeq(header, ",") {
		part = strings.TrimSpace(part)
		if part == "*" || strings.TrimPrefix(part, "W/") == etag {
			return true
		}
	}
	return false
}

// acceptsGzip reads Accept-Encoding: gzip present and not refused (q=0).
func acceptsGzip(ae string) bool {
	for part := range strings.SplitSeq(ae, ",") {
		name, params, _ := strings.Cut(strings.TrimSpace(part), ";")
		if !strings.EqualFold(strings.TrimSpace(name), "gzip") {
			continue
		}
		params = strings.ReplaceAll(params, " ", "")
		return params != "q=0" && params != "q=0.0" && params != "q=0.00" && params != "q=0.000"
	}
	return false
}
