package statetest

import (
	"context"
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/tracehound/tracehound/state"
)

func runAuthStore(t *testing.T, newStore Factory) {
	t.Run("Users", func(t *testing.T) {
		s := newStore(t)
		defer s.Close()
		testUsers(t, s)
	})
	t.Run("Tokens", func(t *testing.T) {
		s := newStore(t)
		defer s.Close()
		testTokens(t, s)
	})
	t.Run("Scopes", func(t *testing.T) {
		s := newStore(t)
		defer s.Close()
		testScopes(t, s)
	})
	t.Run("Sessions", func(t *testing.T) {
		s := newStore(t)
		defer s.Close()
		testSessions(t, s)
	})
	t.Run("Audit", func(t *testing.T) {
		s := newStore(t)
		defer s.Close()
		testAudit(t, s)
	})
}

func testUsers(t *testing.T, s state.Store) {
	ctx := context.Background()
	if users, err := s.Users(ctx); err != nil || users == nil || len(users) != 0 {
		t.Errorf("Users() on an empty store = %v, %v; want an empty, non-nil slice", users, err)
	}
	alice := state.User{Name: "alice", PasswordHash: "$argon2id$x", Role: "admin", CreatedAt: base, UpdatedAt: base, MustChangePassword: true}
	if err := s.CreateUser(ctx, alice); err != nil {
		t.Fatalf("CreateUser(alice) = %v", err)
	}
	if err := s.CreateUser(ctx, alice); !errors.Is(err, state.ErrExists) {
		t.Errorf("CreateUser(alice) twice = %v, want ErrExists", err)
	}
	if err := s.CreateUser(ctx, state.User{Name: "bob", PasswordHash: "h", Role: "viewer", CreatedAt: base, UpdatedAt: base}); err != nil {
		t.Fatal(err)
	}
	got, err := s.User(ctx, "alice")
	if err != nil || got.PasswordHash != alice.PasswordHash || got.Role != "admin" || !got.MustChangePassword || !got.CreatedAt.Equal(base) {
		t.Errorf("User(alice) = %+v, %v; want it as stored", got, err)
	}
	alice.PasswordHash, alice.MustChangePassword, alice.UpdatedAt = "$argon2id$y", false, base.Add(time.Hour)
	if err := s.UpdateUser(ctx, alice); err != nil {
		t.Fatal(err)
	}
	if got, _ := s.User(ctx, "alice"); got.PasswordHash != "$argon2id$y" || got.MustChangePassword || !got.UpdatedAt.Equal(base.Add(time.Hour)) {
		t.Errorf("after UpdateUser, User(alice) = %+v", got)
	}
	if err := s.UpdateUser(ctx, state.User{Name: "nobody", UpdatedAt: base}); !errors.Is(err, state.ErrNotFound) {
		t.Errorf("UpdateUser(nobody) = %v, want ErrNotFound", err)
	}
	users, err := s.Users(ctx)
	if err != nil || len(users) != 2 || users[0].Name != "alice" || users[1].Name != "bob" {
		t.Errorf("Users() = %+v, %v; want alice, bob", users, err)
	}
	if err := s.DeleteUser(ctx, "bob"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.User(ctx, "bob"); !errors.Is(err, state.ErrNotFound) {
		t.Errorf("User(deleted) = %v, want ErrNotFound", err)
	}
	if err := s.DeleteUser(ctx, "bob"); !errors.Is(err, state.ErrNotFound) {
		t.Errorf("DeleteUser(deleted) = %v, want ErrNotFound", err)
	}
}

func testTokens(t *testing.T, s state.Store) {
	ctx := context.Background()
	if err := s.CreateUser(ctx, state.User{Name: "alice", PasswordHash: "h", Role: "analyst", CreatedAt: base, UpdatedAt: base}); err != nil {
		t.Fatal(err)
	}
	user := state.Token{ID: "tok_1", Name: "laptop", Hash: "aa", Role: "analyst", User: "alice", CreatedAt: base}
	svc := state.Token{ID: "tok_2", Name: "ci", Hash: "bb", Role: "viewer", CreatedAt: base.Add(time.Minute), ExpiresAt: base.Add(24 * time.Hour)}
	for _, tok := range []state.Token{user, svc} {
		if err := s.CreateToken(ctx, tok); err != nil {
			t.Fatalf("CreateToken(%s) = %v", tok.ID, err)
		}
	}
	if err := s.CreateToken(ctx, state.Token{ID: "tok_3", Name: "dup", Hash: "aa", Role: "viewer", CreatedAt: base}); !errors.Is(err, state.ErrExists) {
		t.Errorf("CreateToken with a used hash = %v, want ErrExists", err)
	}
	got, err := s.TokenByHash(ctx, "bb")
	if err != nil || got.ID != "tok_2" || got.User != "" || !got.ExpiresAt.Equal(base.Add(24*time.Hour)) || !got.LastUsedAt.IsZero() {
		t.Errorf("TokenByHash(bb) = %+v, %v; want tok_2 as stored", got, err)
	}
	if _, err := s.TokenByHash(ctx, "zz"); !errors.Is(err, state.ErrNotFound) {
		t.Errorf("TokenByHash(unknown) = %v, want ErrNotFound", err)
	}
	if err := s.TouchToken(ctx, "tok_1", base.Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	toks, err := s.Tokens(ctx)
	if err != nil || len(toks) != 2 || toks[0].ID != "tok_1" || !toks[0].LastUsedAt.Equal(base.Add(time.Hour)) || toks[0].User != "alice" {
		t.Errorf("Tokens() = %+v, %v; want tok_1 (used), tok_2", toks, err)
	}
	if err := s.DeleteToken(ctx, "tok_2"); err != nil {
		t.Fatal(err)
	}
	if err := s.DeleteToken(ctx, "tok_2"); !errors.Is(err, state.ErrNotFound) {
		t.Errorf("DeleteToken(deleted) = %v, want ErrNotFound", err)
	}
	// Deleting a user revokes their tokens.
	if err := s.DeleteUser(ctx, "alice"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.TokenByHash(ctx, "aa"); !errors.Is(err, state.ErrNotFound) {
		t.Errorf("token of a deleted user: TokenByHash = %v, want ErrNotFound", err)
	}
}

// testScopes checks that the applications of users and tokens round-trip
// in order, that an update replaces them (clearing included), and that
// accounts and tokens stored without any read back as unscoped.
func testScopes(t *testing.T, s state.Store) {
	ctx := context.Background()
	scoped := state.User{Name: "pay", PasswordHash: "h", Role: "analyst", CreatedAt: base, UpdatedAt: base,
		Applications: []string{"checkout", "billing"}}
	for _, u := range []state.User{scoped, {Name: "ops", PasswordHash: "h", Role: "admin", CreatedAt: base, UpdatedAt: base}} {
		if err := s.CreateUser(ctx, u); err != nil {
			t.Fatalf("CreateUser(%s) = %v", u.Name, err)
		}
	}
	if got, err := s.User(ctx, "pay"); err != nil || !slices.Equal(got.Applications, []string{"checkout", "billing"}) {
		t.Errorf("User(pay).Applications = %q, %v; want [checkout billing]", got.Applications, err)
	}
	if got, err := s.User(ctx, "ops"); err != nil || got.Applications != nil {
		t.Errorf("User(ops).Applications = %#v, %v; want nil (every application)", got.Applications, err)
	}
	users, err := s.Users(ctx)
	if err != nil || len(users) != 2 || users[0].Name != "ops" || users[0].Applications != nil ||
		!slices.Equal(users[1].Applications, scoped.Applications) {
		t.Errorf("Users() = %+v, %v; want ops unscoped, pay with [checkout billing]", users, err)
	}

	for _, tc := range []struct {
		name string
		apps []string
	}{
		{"narrowed", []string{"billing"}},
		{"cleared", nil},
		{"cleared with an empty slice", []string{}},
		{"widened again", []string{"search", "checkout"}},
	} {
		scoped.Applications = tc.apps
		if err := s.UpdateUser(ctx, scoped); err != nil {
			t.Fatalf("%s: UpdateUser(pay) = %v", tc.name, err)
		}
		got, err := s.User(ctx, "pay")
		want := tc.apps
		if len(want) == 0 {
			want = nil
		}
		if err != nil || !slices.Equal(got.Applications, want) || (want == nil) != (got.Applications == nil) {
			t.Errorf("%s: User(pay).Applications = %#v, %v; want %#v", tc.name, got.Applications, err, want)
		}
	}

	toks := []state.Token{
		{ID: "tok_s", Name: "pay-laptop", Hash: "s1", Role: "viewer", User: "pay", Applications: []string{"search"}, CreatedAt: base},
		{ID: "tok_u", Name: "pay-ci", Hash: "s2", Role: "viewer", User: "pay", CreatedAt: base.Add(time.Second)},
		{ID: "tok_v", Name: "reports", Hash: "s3", Role: "viewer", Applications: []string{"checkout", "billing"}, CreatedAt: base.Add(2 * time.Second)},
	}
	for _, tok := range toks {
		if err := s.CreateToken(ctx, tok); err != nil {
			t.Fatalf("CreateToken(%s) = %v", tok.ID, err)
		}
	}
	for _, tok := range toks {
		got, err := s.TokenByHash(ctx, tok.Hash)
		if err != nil || got.ID != tok.ID || !slices.Equal(got.Applications, tok.Applications) || (tok.Applications == nil) != (got.Applications == nil) {
			t.Errorf("TokenByHash(%s).Applications = %#v, %v; want %#v", tok.Hash, got.Applications, err, tok.Applications)
		}
	}
	list, err := s.Tokens(ctx)
	if err != nil || len(list) != len(toks) {
		t.Fatalf("Tokens() = %+v, %v; want %d tokens", list, err, len(toks))
	}
	for i, tok := range toks {
		if list[i].ID != tok.ID || !slices.Equal(list[i].Applications, tok.Applications) {
			t.Errorf("Tokens()[%d] = %s with %q, want %s with %q", i, list[i].ID, list[i].Applications, tok.ID, tok.Applications)
		}
	}
	// Touching a token keeps its applications.
	if err := s.TouchToken(ctx, "tok_v", base.Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	if got, err := s.TokenByHash(ctx, "s3"); err != nil || !slices.Equal(got.Applications, []string{"checkout", "billing"}) {
		t.Errorf("after TouchToken, TokenByHash(s3).Applications = %q, %v", got.Applications, err)
	}
}

func testSessions(t *testing.T, s state.Store) {
	ctx := context.Background()
	if err := s.CreateUser(ctx, state.User{Name: "alice", PasswordHash: "h", Role: "viewer", CreatedAt: base, UpdatedAt: base}); err != nil {
		t.Fatal(err)
	}
	for i, exp := range []time.Duration{time.Hour, 12 * time.Hour} {
		se := state.Session{Hash: string(rune('a' + i)), User: "alice", CSRF: "c", CreatedAt: base, ExpiresAt: base.Add(exp)}
		if err := s.CreateSession(ctx, se); err != nil {
			t.Fatal(err)
		}
	}
	got, err := s.SessionByHash(ctx, "a")
	if err != nil || got.User != "alice" || got.CSRF != "c" || !got.ExpiresAt.Equal(base.Add(time.Hour)) {
		t.Errorf("SessionByHash(a) = %+v, %v", got, err)
	}
	if n, err := s.DeleteExpiredSessions(ctx, base.Add(2*time.Hour)); err != nil || n != 1 {
		t.Errorf("DeleteExpiredSessions = %d, %v; want 1", n, err)
	}
	if _, err := s.SessionByHash(ctx, "a"); !errors.Is(err, state.ErrNotFound) {
		t.Errorf("expired session: SessionByHash = %v, want ErrNotFound", err)
	}
	if err := s.DeleteSession(ctx, "b"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.SessionByHash(ctx, "b"); !errors.Is(err, state.ErrNotFound) {
		t.Errorf("deleted session: SessionByHash = %v, want ErrNotFound", err)
	}
}

func testAudit(t *testing.T, s state.Store) {
	ctx := context.Background()
	if got, err := s.Audit(ctx, state.AuditFilter{}); err != nil || got == nil || len(got) != 0 {
		t.Errorf("Audit() on an empty store = %v, %v; want an empty, non-nil slice", got, err)
	}
	entries := []state.AuditEntry{
		{At: base, Actor: "user:alice", Action: "ip.block", Target: "ip:203.0.113.7", After: []byte(`{"status":"blocked"}`)},
		{At: base.Add(time.Minute), Actor: "token:tok_1", Action: "ip.unblock", Target: "ip:203.0.113.7", Before: []byte(`{"status":"blocked"}`)},
		{At: base.Add(2 * time.Minute), Actor: "user:alice", Action: "user.create", Target: "user:bob"},
	}
	var ids []int64
	for _, e := range entries {
		id, err := s.AddAudit(ctx, e)
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, id)
	}
	if !(ids[0] < ids[1] && ids[1] < ids[2]) {
		t.Errorf("AddAudit ids %v, want growing", ids)
	}
	targets := func(f state.AuditFilter) []string {
		got, err := s.Audit(ctx, f)
		if err != nil {
			t.Fatalf("Audit(%+v) = %v", f, err)
		}
		var out []string
		for _, e := range got {
			out = append(out, e.Action)
		}
		return out
	}
	check := func(name string, f state.AuditFilter, want ...string) {
		t.Helper()
		got := targets(f)
		if len(got) != len(want) {
			t.Errorf("Audit(%s) = %v, want %v", name, got, want)
			return
		}
		for i := range got {
			if got[i] != want[i] {
				t.Errorf("Audit(%s) = %v, want %v", name, got, want)
				return
			}
		}
	}
	check("all", state.AuditFilter{}, "user.create", "ip.unblock", "ip.block")
	check("actor", state.AuditFilter{Actor: "user:alice"}, "user.create", "ip.block")
	check("action prefix", state.AuditFilter{Action: "ip."}, "ip.unblock", "ip.block")
	check("exact action", state.AuditFilter{Action: "ip.block"}, "ip.block")
	check("target", state.AuditFilter{Target: "ip:203.0.113.7"}, "ip.unblock", "ip.block")
	check("since", state.AuditFilter{Since: base.Add(time.Minute)}, "user.create", "ip.unblock")
	check("until", state.AuditFilter{Until: base.Add(time.Minute)}, "ip.block")
	check("page", state.AuditFilter{BeforeID: ids[2], Limit: 1}, "ip.unblock")
	got, _ := s.Audit(ctx, state.AuditFilter{Action: "ip.unblock"})
	if len(got) != 1 || string(got[0].Before) != `{"status":"blocked"}` || got[0].After != nil || !got[0].At.Equal(base.Add(time.Minute)) {
		t.Errorf("Audit(ip.unblock) = %+v, want before kept and after empty", got)
	}
}
