package sqlite_test

import (
	"context"
	"database/sql"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"

	"github.com/tracehound/tracehound/state/sqlite"
)

// TestScopesMigrationKeepsAccountsUnscoped upgrades a database written
// before users and tokens had applications: its accounts and tokens must
// come back unscoped (every application), as they were.
func TestScopesMigrationKeepsAccountsUnscoped(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "state.db")
	db, err := sql.Open("sqlite", "file:"+path+"?_pragma=foreign_keys(1)")
	if err != nil {
		t.Fatal(err)
	}
	// The schema as it was: every migration before 0010.
	if _, err := db.ExecContext(ctx, `CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY, applied_at TEXT NOT NULL)`); err != nil {
		t.Fatal(err)
	}
	files, err := filepath.Glob("migrations/*.sql")
	if err != nil || len(files) < 10 {
		t.Fatalf("migration files: %v, %v", files, err)
	}
	sort.Strings(files)
	for _, f := range files {
		version, err := strconv.Atoi(strings.SplitN(filepath.Base(f), "_", 2)[0])
		if err != nil {
			t.Fatal(err)
		}
		if version >= 10 {
			break
		}
		body, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := db.ExecContext(ctx, string(body)); err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		if _, err := db.ExecContext(ctx, `INSERT INTO schema_migrations (version, applied_at) VALUES (?, '2026-01-01T00:00:00Z')`, version); err != nil {
			t.Fatal(err)
		}
	}
	const at = "2026-01-01T00:00:00.000000000Z"
	for _, q := range []string{
		`INSERT INTO users (name, password_hash, role, must_change_password, created_at, updated_at) VALUES ('alice', 'h', 'analyst', 0, '` + at + `', '` + at + `')`,
		`INSERT INTO api_tokens (id, name, hash, role, user_name, created_at) VALUES ('tok_1', 'laptop', 'aa', 'viewer', 'alice', '` + at + `')`,
	} {
		if _, err := db.ExecContext(ctx, q); err != nil {
			t.Fatal(err)
		}
	}
	db.Close()

	s, err := sqlite.Open(ctx, path)
	if err != nil {
		t.Fatalf("Open(old database) = %v", err)
	}
	defer s.Close()
	if u, err := s.User(ctx, "alice"); err != nil || u.Applications != nil {
		t.Errorf("User(alice) after the upgrade = %+v, %v; want no applications (every one)", u, err)
	}
	if tok, err := s.TokenByHash(ctx, "aa"); err != nil || tok.Applications != nil || tok.User != "alice" {
		t.Errorf("TokenByHash(aa) after the upgrade = %+v, %v; want alice's token, no applications", tok, err)
	}
}
