package app

import (
	"context"
	"errors"
	"testing"

	"github.com/tracehound/tracehound/config"
	"github.com/tracehound/tracehound/sqlguard"
	"github.com/tracehound/tracehound/store"
)

// TestAskQueriesPassTheGuard: the forensic querier refuses what the guard
// refuses, whatever the compiler would produce.
func TestAskQueriesPassTheGuard(t *testing.T) {
	c := config.Default()
	c.Data = t.TempDir()
	a, err := New(context.Background(), Options{Config: c})
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	q := &guardedQuerier{a: a, types: map[string][]string{}}
	ctx := context.Background()
	if _, err := q.Query(ctx, "SELECT * FROM read_csv('/etc/passwd')", store.QueryOptions{}); !errors.Is(err, sqlguard.ErrRefused) {
		t.Errorf("a file read through the forensic querier: %v, want ErrRefused", err)
	}
	if _, err := q.Query(ctx, "SELECT count() AS n FROM traces", store.QueryOptions{}); err != nil {
		t.Errorf("a plain count: %v", err)
	}
}
