package duckdb_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/tracehound/tracehound/store"
	"github.com/tracehound/tracehound/store/duckdb"
)

// TestQueryIsReadOnly holds the store to its own layer of the read-only
// promise, without the guard: one SELECT per call, no files, no settings.
func TestQueryIsReadOnly(t *testing.T) {
	dir := t.TempDir()
	secret := filepath.Join(dir, "secret.csv")
	if err := os.WriteFile(secret, []byte("a,b\n1,2\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	s, err := duckdb.Open(context.Background(), filepath.Join(dir, "t.duckdb"), duckdb.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	ctx := context.Background()
	for _, q := range []string{
		"SELECT 1; DROP VIEW traces",
		"SELECT 1; SELECT 2",
		"DROP VIEW traces",
		"CREATE TABLE x AS SELECT 1",
		"SELECT * FROM read_csv('" + secret + "')",
		"SELECT * FROM '" + secret + "'",
		"SELECT content FROM read_text('" + secret + "')",
		"COPY (SELECT 1) TO '" + filepath.Join(dir, "out.csv") + "'",
		"ATTACH '" + filepath.Join(dir, "other.db") + "' AS other",
		"SET enable_external_access = true",
		"INSTALL httpfs",
		"LOAD httpfs",
		"PRAGMA database_list",
	} {
		if _, err := s.Query(ctx, q, store.QueryOptions{}); !errors.Is(err, store.ErrQuery) {
			t.Errorf("Query(%q) = %v, want a refusal wrapping ErrQuery", q, err)
		}
	}
	if _, err := os.Stat(filepath.Join(dir, "out.csv")); err == nil {
		t.Error("COPY wrote a file")
	}
	res, err := s.Query(ctx, "SELECT count() AS n FROM traces WHERE peer_ip = ? OR ? = 'it''s'", store.QueryOptions{}, "x", "y")
	if err != nil || len(res.Rows) != 1 {
		t.Fatalf("a plain SELECT with arguments after the refusals: %v, %v", res, err)
	}
}
