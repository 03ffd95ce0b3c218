package apimap

import (
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

func loadSpecFile(t testing.TB, name string) *Spec {
	t.Helper()
	data, err := os.ReadFile(name)
	if err != nil {
		t.Fatal(err)
	}
	spec, err := LoadSpec(data)
	if err != nil {
		t.Fatalf("LoadSpec(%s): %v", name, err)
	}
	return spec
}

func TestLoadSpec(t *testing.T) {
	spec := loadSpecFile(t, "testdata/spec/datavault.yaml")
	if spec.Title != "DataVault" || spec.Version != "2.3.0" {
		t.Errorf("LoadSpec: title %q version %q, want DataVault 2.3.0", spec.Title, spec.Version)
	}
	// Both servers resolve to /v1, the second through its variables.
	if want := []string{"/v1"}; !slices.Equal(spec.BasePaths, want) {
		t.Errorf("LoadSpec: BasePaths = %q, want %q", spec.BasePaths, want)
	}
	var got []string
	for _, op := range spec.Operations() {
		got = append(got, op.Method+" "+op.Path+" "+op.OperationID)
	}
	want := []string{
		"GET /v1/collections/{collectionId}/documents listCollectionDocuments",
		"GET /v1/documents listDocuments",
		"POST /v1/documents createDocument",
		"GET /v1/documents/search searchDocuments",
		"GET /v1/documents/{documentId} getDocument",
		"DELETE /v1/documents/{documentId} deleteDocument",
		"GET /v1/files/{name}.{ext} getFile",
		"GET /v1/legacy/export legacyExport",
		"GET /status status",
	}
	if !slices.Equal(got, want) {
		t.Errorf("LoadSpec: operations\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}

	ops := make(map[string]Operation)
	for _, op := range spec.Operations() {
		ops[op.OperationID] = op
	}
	if got, want := ops["getDocument"].Params, []Param{{Name: "documentId", In: "path", Required: true, Type: "string", Format: "uuid"}}; !slices.Equal(got, want) {
		t.Errorf("getDocument params = %+v, want %+v", got, want)
	}
	if got, want := ops["listDocuments"].Params, []Param{{Name: "limit", In: "query", Type: "integer"}, {Name: "page", In: "query", Type: "integer"}}; !slices.Equal(got, want) {
		t.Errorf("listDocuments params = %+v, want %+v", got, want)
	}
	if got, want := ops["listDocuments"].StatusCodes, []string{"200", "4XX"}; !slices.Equal(got, want) {
		t.Errorf("listDocuments status codes = %q, want %q", got, want)
	}
	for id, op := range ops {
		if op.Deprecated != (id == "legacyExport") {
			t.Errorf("%s deprecated = %v, want %v", id, op.Deprecated, id == "legacyExport")
		}
	}
}

func TestOperationDocuments(t *testing.T) {
	op := Operation{
		StatusCodes: []string{"200", "4XX"},
		Params:      []Param{{Name: "page", In: "query"}, {Name: "X-Key", In: "header"}},
	}
	for code, want := range map[int]bool{200: true, 201: false, 404: true, 500: false} {
		if got := op.DocumentsStatus(code); got != want {
			t.Errorf("DocumentsStatus(%d) = %v, want %v", code, got, want)
		}
	}
	if got := (Operation{StatusCodes: []string{"default"}}).DocumentsStatus(503); !got {
		t.Errorf("DocumentsStatus(503) with default = %v, want true", got)
	}
	for name, want := range map[string]bool{"page": true, "X-Key": false, "limit": false} {
		if got := op.DocumentsQueryParam(name); got != want {
			t.Errorf("DocumentsQueryParam(%q) = %v, want %v", name, got, want)
		}
	}
}

func TestSpecMatch(t *testing.T) {
	datavault := loadSpecFile(t, "testdata/spec/datavault.yaml")
	minimal := loadSpecFile(t, "testdata/spec/minimal.json")
	tests := []struct {
		spec         *Spec
		method, path string
		wantID       string // empty: no match
		wantPath     string
	}{
		{datavault, "GET", "/v1/documents", "listDocuments", "/v1/documents"},
		{datavault, "get", "/v1/documents/?page=2", "listDocuments", "/v1/documents"},
		{datavault, "GET", "/v1/documents/search", "searchDocuments", "/v1/documents/search"},
		{datavault, "GET", "/v1/documents/550e8400-e29b-41d4-a716-446655440000", "getDocument", "/v1/documents/{documentId}"},
		{datavault, "HEAD", "/v1/documents/x", "getDocument", "/v1/documents/{documentId}"},
		{datavault, "DELETE", "/v1/documents/x", "deleteDocument", "/v1/documents/{documentId}"},
		{datavault, "PUT", "/v1/documents/x", "", ""},
		{datavault, "GET", "/v1/documents/{document_id}", "getDocument", "/v1/documents/{documentId}"},
		{datavault, "GET", "/v1/files/report.pdf", "getFile", "/v1/files/{name}.{ext}"},
		{datavault, "GET", "/v1/files/report", "", ""},
		{datavault, "GET", "/v1/files/.pdf", "", ""},
		{datavault, "GET", "/status", "status", "/status"},
		{datavault, "GET", "/v1/status", "", ""},
		{datavault, "GET", "/documents", "", ""},
		{datavault, "GET", "/v1/collections/7/documents", "listCollectionDocuments", "/v1/collections/{collectionId}/documents"},
		{minimal, "GET", "/users/me", "me", "/users/me"},
		{minimal, "GET", "/users/42", "getUser", "/users/{id}"},
		{minimal, "GET", "/users/{id}", "getUser", "/users/{id}"},
		{minimal, "GET", "/a/b/c", "oneParam", "/{a}/b/c"},
		{minimal, "GET", "/a/x/y", "twoParams", "/a/{x}/{y}"},
		{minimal, "GET", "/a/x", "", ""},
	}
	for _, tc := range tests {
		op, ok := tc.spec.Match(tc.method, tc.path)
		if ok != (tc.wantID != "") || op.OperationID != tc.wantID || op.Path != tc.wantPath {
			t.Errorf("Match(%s, %q) = %q %q %v, want %q %q", tc.method, tc.path, op.OperationID, op.Path, ok, tc.wantID, tc.wantPath)
		}
	}
}

func TestSpecBasePaths(t *testing.T) {
	spec, err := LoadSpec([]byte(`
openapi: 3.0.0
info: {title: t, version: "1"}
servers:
  - url: https://api.example.com/v2/
  - url: /internal
  - url: api.example.com
paths:
  /ping:
    get:
      responses: {"200": {description: ok}}
`))
	if err != nil {
		t.Fatalf("LoadSpec: %v", err)
	}
	if want := []string{"/v2", "/internal", "/"}; !slices.Equal(spec.BasePaths, want) {
		t.Errorf("BasePaths = %q, want %q", spec.BasePaths, want)
	}
	for path, want := range map[string]string{"/v2/ping": "/v2/ping", "/internal/ping": "/internal/ping", "/ping": "/ping", "/v3/ping": ""} {
		op, ok := spec.Match("GET", path)
		if ok != (want != "") || op.Path != want {
			t.Errorf("Match(GET, %q) = %q %v, want %q", path, op.Path, ok, want)
		}
	}
	if got := spec.Operations()[0].Path; got != "/v2/ping" {
		t.Errorf("Operations()[0].Path = %q, want the first server's /v2/ping", got)
	}
}

func TestLoadSpecErrors(t *testing.T) {
	tests := []struct {
		name string
		doc  string
		want string
	}{
		{"empty", "", "empty document"},
		{"blank", " \n\t", "empty document"},
		{"not a document", "not: [valid", "parse"},
		{"swagger 2", `{"swagger": "2.0", "info": {"title": "t", "version": "1"}, "paths": {}}`, "Swagger 2.0"},
		{"openapi 2", "openapi: 2.5.0\ninfo: {title: t, version: '1'}\npaths: {}\n", `"2.5.0" is not supported`},
		{"path without slash", "openapi: 3.0.0\ninfo: {title: t, version: '1'}\npaths:\n  users:\n    get: {responses: {'200': {description: ok}}}\n", `does not start with "/"`},
		{"unbalanced brace", "openapi: 3.0.0\ninfo: {title: t, version: '1'}\npaths:\n  /a/{b:\n    get: {responses: {'200': {description: ok}}}\n", `unmatched "{"`},
		{"bad server", "openapi: 3.0.0\ninfo: {title: t, version: '1'}\nservers: [{url: 'https://h/{x'}]\npaths: {}\n", "servers"},
		{"external ref", "openapi: 3.0.0\ninfo: {title: t, version: '1'}\npaths:\n  /a:\n    $ref: 'other.yaml#/paths/~1a'\n", "parse"},
		{"too big", strings.Repeat(" ", MaxSpecBytes) + "x", "more than"},
	}
	for _, tc := range tests {
		_, err := LoadSpec([]byte(tc.doc))
		if err == nil || !errors.Is(err, ErrInvalidSpec) || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("LoadSpec(%s) = %v, want an ErrInvalidSpec containing %q", tc.name, err, tc.want)
		}
	}
}

func FuzzLoadSpec(f *testing.F) {
	seeds, err := filepath.Glob("testdata/spec/*")
	if err != nil {
		f.Fatal(err)
	}
	for _, name := range seeds {
		data, err := os.ReadFile(name)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	f.Add([]byte(`{"openapi":"3.0.0","info":{"title":"t","version":"1"},"paths":{"/a/{b}.{c}":{"get":{"responses":{"200":{"description":"x"}}}}}}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		if len(data) > 64<<10 {
			t.Skip()
		}
		spec, err := LoadSpec(data)
		if err != nil {
			if !errors.Is(err, ErrInvalidSpec) {
				t.Fatalf("LoadSpec error %v does not wrap ErrInvalidSpec", err)
			}
			return
		}
		for _, op := range spec.Operations() {
			if !strings.HasPrefix(op.Path, "/") {
				t.Fatalf("operation path %q does not start with /", op.Path)
			}
			spec.Match(op.Method, op.Path)
			spec.Match(op.Method, strings.ReplaceAll(op.Path, "{", "x"))
		}
	})
}
