package postgres_test

import (
	"context"
	"log/slog"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/tracehound/tracehound/state"
	"github.com/tracehound/tracehound/state/postgres"
	"github.com/tracehound/tracehound/state/postgres/pgtest"
	"github.com/tracehound/tracehound/state/statetest"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

func open(t testing.TB, dsn string) *postgres.Store {
	t.Helper()
	s, err := postgres.Open(context.Background(), dsn, postgres.Options{})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// The tests run in parallel with each other: each has databases of its
// own, and most of their time is the server creating them.

func TestConformance(t *testing.T) {
	t.Parallel()
	statetest.Run(t, func(t *testing.T) state.Store { return open(t, pgtest.DSN(t)) })
}

// opener opens stores on one new database.
func opener(t *testing.T) statetest.Opener {
	dsn := pgtest.DSN(t)
	return func(t *testing.T) state.Store { return open(t, dsn) }
}

func TestReopen(t *testing.T) {
	t.Parallel()
	statetest.RunReopen(t, opener)
}

func TestReplicas(t *testing.T) {
	t.Parallel()
	statetest.RunReplicas(t, opener)
}

// countingHandler counts the "applied migration" records.
type countingHandler struct {
	slog.Handler
	applied *atomic.Int64
}

func (h countingHandler) Handle(ctx context.Context, r slog.Record) error {
	if r.Message == "applied migration" {
		h.applied.Add(1)
	}
	return nil
}

func (h countingHandler) Enabled(context.Context, slog.Level) bool { return true }

func (h countingHandler) WithAttrs([]slog.Attr) slog.Handler { return h }

// TestMigrationsOnceAcrossReplicas opens several stores on one new
// database at once: all must open, and each migration must be applied
// exactly once between them.
func TestMigrationsOnceAcrossReplicas(t *testing.T) {
	t.Parallel()
	dsn := pgtest.DSN(t)
	ctx := context.Background()
	var applied atomic.Int64
	log := slog.New(countingHandler{slog.DiscardHandler, &applied})
	const replicas = 6
	var wg sync.WaitGroup
	stores := make([]*postgres.Store, replicas)
	start := make(chan struct{})
	for i := range replicas {
		wg.Go(func() {
			<-start
			s, err := postgres.Open(ctx, dsn, postgres.Options{Logger: log, MaxConns: 2})
			if err != nil {
				t.Errorf("replica %d: Open = %v", i, err)
				return
			}
			stores[i] = s
		})
	}
	close(start)
	wg.Wait()
	for _, s := range stores {
		if s != nil {
			defer s.Close()
		}
	}
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	var versions, distinct int
	if err := conn.QueryRow(ctx, `SELECT count(*), count(DISTINCT version) FROM schema_migrations`).Scan(&versions, &distinct); err != nil {
		t.Fatal(err)
	}
	files, err := filepath.Glob("migrations/*.sql")
	if err != nil || len(files) == 0 {
		t.Fatalf("migration files: %v, %v", files, err)
	}
	if want := len(files); versions != want || distinct != want || applied.Load() != int64(want) {
		t.Errorf("after %d replicas opened at once: schema_migrations has %d rows (%d versions), %d applications logged; want %d of each",
			replicas, versions, distinct, applied.Load(), want)
	}
	if stores[0] != nil {
		if err := stores[0].SetSetting(ctx, "k", "v"); err != nil {
			t.Errorf("SetSetting on a migrated replica = %v", err)
		}
	}
}

func TestOpenErrorHidesPassword(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	// Nothing listens on port 1.
	_, err := postgres.Open(ctx, "postgres://tracehound:s3cret-pw@127.0.0.1:1/state?connect_timeout=2", postgres.Options{})
	if err == nil {
		t.Fatal("Open(unreachable) succeeded")
	}
	if strings.Contains(err.Error(), "s3cret-pw") || !strings.Contains(err.Error(), "127.0.0.1:1/state") {
		t.Errorf("Open(unreachable) = %q; want the host and database named, not the password", err)
	}
}

// TestTimesOutsideTheStoredRange checks that a time the store cannot keep
// (nanoseconds since 1970 in 64 bits: 1677 to 2262) is refused, not
// silently changed.
func TestTimesOutsideTheStoredRange(t *testing.T) {
	t.Parallel()
	s := open(t, pgtest.DSN(t))
	defer s.Close()
	ctx := context.Background()
	far := time.Date(2300, 1, 1, 0, 0, 0, 0, time.UTC)
	if err := s.PutRuleDef(ctx, state.RuleDef{ID: "r", Body: []byte("x"), UpdatedAt: far}); err == nil || !strings.Contains(err.Error(), "outside") {
		t.Errorf("PutRuleDef(updated in 2300) = %v, want an out-of-range error", err)
	}
	edge := time.Date(2262, 4, 11, 0, 0, 0, 0, time.UTC)
	if err := s.PutRuleDef(ctx, state.RuleDef{ID: "r", Body: []byte("x"), UpdatedAt: edge}); err != nil {
		t.Fatalf("PutRuleDef(updated in 2262) = %v", err)
	}
	if d, err := s.RuleDef(ctx, "r"); err != nil || !d.UpdatedAt.Equal(edge) {
		t.Errorf("RuleDef(r).UpdatedAt = %v, %v; want %v", d.UpdatedAt, err, edge)
	}
}

// TestContextBoundsQueries checks that a cancelled context stops a call
// and leaves the pool usable.
func TestContextBoundsQueries(t *testing.T) {
	t.Parallel()
	s := open(t, pgtest.DSN(t))
	defer s.Close()
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := s.RecordAlert(ctx, state.AlertRecord{Fingerprint: "f", State: "firing", Mode: "active"}, state.IncidentLink{}); err == nil {
		t.Error("RecordAlert with a cancelled context succeeded")
	}
	if err := s.SetSetting(context.Background(), "k", "v"); err != nil {
		t.Errorf("SetSetting after a cancelled call = %v", err)
	}
}

func TestExclusionStoreConformance(t *testing.T) {
	t.Parallel()
	statetest.RunExclusionStore(t, func(t *testing.T) state.ExclusionStore {
		s := open(t, pgtest.DSN(t))
		t.Cleanup(func() { s.Close() })
		return s
	})
}
