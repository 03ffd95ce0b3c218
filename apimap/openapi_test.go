package apimap

import (
	"bytes"
	"context"
	"flag"
	"os"
	"path/filepath"
	"testing"

	"gopkg.in/yaml.v3"
)

var update = flag.Bool("update", false, "rewrite the golden files under testdata")

// golden compares got with the file, or rewrites the file with -update.
func golden(t *testing.T, path string, got []byte) {
	t.Helper()
	if *update {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s differs from what the code produces; if the change is intended, run go test -update\ngot:\n%s", path, got)
	}
}

func TestObservedOpenAPI(t *testing.T) {
	inv := buildShop(t, BuildOptions{})
	doc := ObservedOpenAPI(inv, "shop-api")
	if err := doc.Validate(context.Background()); err != nil {
		t.Errorf("ObservedOpenAPI produced an invalid document: %v", err)
	}
	got, err := yaml.Marshal(doc)
	if err != nil {
		t.Fatal(err)
	}
	golden(t, "testdata/openapi/shop-api.golden.yaml", got)

	// Registered as the service's spec, the export documents everything it
	// was made from: no endpoint with traffic is a shadow any more.
	spec, err := LoadSpec(got)
	if err != nil {
		t.Fatalf("LoadSpec(export) = %v", err)
	}
	for _, e := range inv.Endpoints {
		if e.Service != "shop-api" || e.Hits == 0 {
			continue
		}
		if _, ok := spec.Match(e.Method, e.Template); !ok {
			t.Errorf("the export does not document %s %s", e.Method, e.Template)
		}
	}
	if op, ok := spec.Match("GET", "/api/coupons/{code}"); ok {
		t.Errorf("the export documents the unused GET /api/coupons/{code} (%s): it only holds what was observed", op.OperationID)
	}
}

func TestOperationID(t *testing.T) {
	tests := []struct{ method, template, want string }{
		{"GET", "/v1/documents/{id}", "get_v1_documents_id"},
		{"DELETE", "/api/order-items/{order_item_id}/", "delete_api_order_items_order_item_id"},
		{"POST", "/", "post"},
	}
	for _, tc := range tests {
		if got := operationID(tc.method, tc.template); got != tc.want {
			t.Errorf("operationID(%q, %q) = %q, want %q", tc.method, tc.template, got, tc.want)
		}
	}
	used := map[string]bool{}
	for _, want := range []string{"get_a", "get_a_2", "get_a_3"} {
		if got := uniqueOperationID("get_a", used); got != want {
			t.Errorf("uniqueOperationID(get_a) = %q, want %q", got, want)
		}
	}
}
