package app

import (
	"context"
	"errors"
	"path/filepath"
	"testing"

	"github.com/tracehound/tracehound/auth"
	"github.com/tracehound/tracehound/store/duckdb"
)

// The server's store keeps copies for a principal that sees every
// application, and refuses them to one limited to some.
func TestScopedStoreScratch(t *testing.T) {
	ctx := context.Background()
	st, err := duckdb.Open(ctx, filepath.Join(t.TempDir(), "traces.duckdb"), duckdb.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	s := scopedStore{st}
	_, n, drop, err := s.Scratch(ctx, "SELECT * FROM traces", 10)
	if err != nil || n != 0 {
		t.Fatalf("Scratch() = %d rows, %v; want an empty copy", n, err)
	}
	drop()
	scoped := auth.WithPrincipal(ctx, auth.Principal{Kind: "user", Name: "sam", User: "sam", Role: auth.RoleAnalyst, Applications: []string{"shop"}})
	if _, _, _, err := s.Scratch(scoped, "SELECT * FROM traces", 10); !errors.Is(err, errScopedCopy) {
		t.Errorf("Scratch() for a scoped principal = %v, want %v", err, errScopedCopy)
	}
}
