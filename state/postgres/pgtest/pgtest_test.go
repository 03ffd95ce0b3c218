package pgtest_test

import (
	"context"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/tracehound/tracehound/state/postgres/pgtest"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

func TestDatabasesAreIsolated(t *testing.T) {
	ctx := context.Background()
	a, b := pgtest.DSN(t), pgtest.DSN(t)
	if a == b {
		t.Fatalf("DSN() twice = %q, want two databases", a)
	}
	connA, err := pgx.Connect(ctx, a)
	if err != nil {
		t.Fatal(err)
	}
	defer connA.Close(ctx)
	if _, err := connA.Exec(ctx, `CREATE TABLE only_in_a (x int)`); err != nil {
		t.Fatal(err)
	}
	connB, err := pgx.Connect(ctx, b)
	if err != nil {
		t.Fatal(err)
	}
	defer connB.Close(ctx)
	var n int
	if err := connB.QueryRow(ctx, `SELECT count(*) FROM pg_tables WHERE tablename = 'only_in_a'`).Scan(&n); err != nil || n != 0 {
		t.Errorf("table of database a seen in database b: count %d, %v", n, err)
	}
}

func TestWithDatabase(t *testing.T) {
	tests := []struct{ dsn, want string }{
		{"postgres://u:p@h:5433/old?sslmode=disable", "postgres://u:p@h:5433/new?sslmode=disable"},
		{"postgresql://h/", "postgresql://h/new"},
		{"host=h user=u dbname=old", "host=h user=u dbname=old dbname=new"},
	}
	for _, tc := range tests {
		got, err := pgtest.WithDatabase(tc.dsn, "new")
		if err != nil || got != tc.want {
			t.Errorf("WithDatabase(%q) = %q, %v; want %q", tc.dsn, got, err, tc.want)
		}
	}
	// The keyword form relies on the last setting winning: check it with
	// the parser the store uses.
	cfg, err := pgx.ParseConfig("host=h user=u dbname=old dbname=new")
	if err != nil || cfg.Database != "new" {
		t.Errorf("ParseConfig(dbname twice) database = %v, %v; want new", cfg, err)
	}
}
