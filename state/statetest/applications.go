package statetest

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/tracehound/tracehound/state"
)

func runApplicationStore(t *testing.T, newStore Factory) {
	t.Run("Applications", func(t *testing.T) {
		s := newStore(t)
		defer s.Close()
		ctx := context.Background()
		at := time.Date(2026, 3, 2, 10, 0, 0, 123456789, time.UTC)
		for _, name := range []string{"search", "checkout"} {
			if err := s.CreateApplication(ctx, state.Application{Name: name, Environment: "production", Team: "t-" + name, CreatedAt: at, CreatedBy: "user:admin"}); err != nil {
				t.Fatal(err)
			}
		}
		if err := s.CreateApplication(ctx, state.Application{Name: "search", CreatedAt: at}); !errors.Is(err, state.ErrExists) {
			t.Errorf("CreateApplication(search) twice = %v, want ErrExists", err)
		}
		apps, err := s.Applications(ctx)
		if err != nil || len(apps) != 2 || apps[0].Name != "checkout" || apps[1].Team != "t-search" || !apps[0].CreatedAt.Equal(at) {
			t.Fatalf("Applications = %+v, %v; want checkout then search, times kept", apps, err)
		}
		if _, err := s.Application(ctx, "nope"); !errors.Is(err, state.ErrNotFound) {
			t.Errorf("Application(nope) = %v, want ErrNotFound", err)
		}
		// An application's keys carry its name and go with it.
		for i, app := range []string{"checkout", "checkout", "search", ""} {
			tok := state.Token{ID: "tok_a" + string(rune('0'+i)), Name: "k", Hash: "h" + string(rune('0'+i)), Role: "ingest", Application: app, CreatedAt: at}
			if err := s.CreateToken(ctx, tok); err != nil {
				t.Fatal(err)
			}
		}
		if tok, err := s.TokenByHash(ctx, "h0"); err != nil || tok.Application != "checkout" {
			t.Errorf("TokenByHash(h0) = %+v, %v; want the checkout key", tok, err)
		}
		if err := s.DeleteApplication(ctx, "checkout"); err != nil {
			t.Fatal(err)
		}
		if err := s.DeleteApplication(ctx, "checkout"); !errors.Is(err, state.ErrNotFound) {
			t.Errorf("DeleteApplication twice = %v, want ErrNotFound", err)
		}
		toks, err := s.Tokens(ctx)
		if err != nil {
			t.Fatal(err)
		}
		var left []string
		for _, tok := range toks {
			left = append(left, tok.ID+"/"+tok.Application)
		}
		if len(toks) != 2 || toks[0].Application != "search" || toks[1].Application != "" {
			t.Errorf("tokens after deleting checkout = %v, want the search key and the plain one", left)
		}
	})
}
