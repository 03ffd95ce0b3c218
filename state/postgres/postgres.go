package postgres

import (
	"context"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"math"
	"math/rand/v2"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgtype"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/tracehound/tracehound/state"
)

//go:embed migrations/*.sql
var migrations embed.FS

var _ state.Store = (*Store)(nil)

// Advisory lock keys (pg_advisory_xact_lock), one per kind of write that
// reads before it writes. Keys 0x7468_0000_0000_0000 to
// 0x7468_0000_0000_ffff ("th") are tracehound's; new users of advisory
// locks (leader election) take theirs from that block.
const (
	lockMigrate   int64 = 0x7468_0000_0000_0001
	lockSnapshots int64 = 0x7468_0000_0000_0002
	lockTriage    int64 = 0x7468_0000_0000_0003
	lockIPChanges int64 = 0x7468_0000_0000_0004
	lockDecisions int64 = 0x7468_0000_0000_0005
)

// Store is a PostgreSQL state store. It is safe for concurrent use, and
// several Stores (replicas) may share one database.
type Store struct {
	pool *pgxpool.Pool
	log  *slog.Logger
}

// Options tunes Open; the zero Options is ready to use.
type Options struct {
	// MaxConns caps the connection pool; 0 keeps pgx's default (the
	// greater of 4 and the number of CPUs). A pool_max_conns in the DSN
	// applies when MaxConns is 0.
	MaxConns int32
	// Logger receives the migrations applied; nil discards.
	Logger *slog.Logger
}

// Open connects to the database that dsn names (a postgres:// URL or
// keyword/value pairs, as libpq takes them) and applies pending
// migrations. Errors name the host and database, never the password.
func Open(ctx context.Context, dsn string, opts Options) (*Store, error) {
	cfg, err := pgxpool.ParseConfig(dsn)
	if err != nil {
		return nil, fmt.Errorf("open postgres: %w", err)
	}
	if opts.MaxConns > 0 {
		cfg.MaxConns = opts.MaxConns
	}
	where := fmt.Sprintf("%s:%d/%s", cfg.ConnConfig.Host, cfg.ConnConfig.Port, cfg.ConnConfig.Database)
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("open postgres %s: %w", where, err)
	}
	if err := pool.Ping(ctx); err != nil {
		pool.Close()
		return nil, fmt.Errorf("open postgres %s: %w", where, err)
	}
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	s := &Store{pool: pool, log: log.With("component", "state", "driver", "postgres")}
	if err := s.migrate(ctx); err != nil {
		pool.Close()
		return nil, fmt.Errorf("migrate postgres %s: %w", where, err)
	}
	return s, nil
}

// migration is one embedded migration file.
type migration struct {
	version int
	name    string
	body    string
}

func loadMigrations() ([]migration, error) {
	names, err := fs.Glob(migrations, "migrations/*.sql")
	if err != nil {
		return nil, err
	}
	sort.Strings(names)
	out := make([]migration, 0, len(names))
	for _, name := range names {
		base := strings.TrimPrefix(name, "migrations/")
		version, err := strconv.Atoi(strings.SplitN(base, "_", 2)[0])
		if err != nil {
			return nil, fmt.Errorf("migration %s: name must start with a number", base)
		}
		body, err := migrations.ReadFile(name)
		if err != nil {
			return nil, err
		}
		out = append(out, migration{version: version, name: base, body: string(body)})
	}
	return out, nil
}

// migrate applies the pending migrations in one transaction that holds
// the migration lock: of several replicas starting at once, the first
// applies them and the others, once they get the lock, find nothing left
// to do.
func (s *Store) migrate(ctx context.Context) error {
	all, err := loadMigrations()
	if err != nil {
		return err
	}
	return s.inTx(ctx, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock($1)`, lockMigrate); err != nil {
			return fmt.Errorf("take the migration lock: %w", err)
		}
		if _, err := tx.Exec(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (
			version    integer PRIMARY KEY,
			applied_at timestamptz NOT NULL DEFAULT now())`); err != nil {
			return err
		}
		rows, err := tx.Query(ctx, `SELECT version FROM schema_migrations`)
		if err != nil {
			return err
		}
		applied, err := pgx.CollectRows(rows, pgx.RowTo[int])
		if err != nil {
			return err
		}
		for _, m := range all {
			if slices.Contains(applied, m.version) {
				continue
			}
			// Without arguments pgx uses the simple protocol, which runs a
			// file of several statements.
			if _, err := tx.Exec(ctx, m.body); err != nil {
				return fmt.Errorf("migration %s: %w", m.name, err)
			}
			if _, err := tx.Exec(ctx, `INSERT INTO schema_migrations (version) VALUES ($1)`, m.version); err != nil {
				return fmt.Errorf("migration %s: %w", m.name, err)
			}
			s.log.Info("applied migration", "migration", m.name)
		}
		return nil
	})
}

// Setting implements state.Store.
func (s *Store) Setting(ctx context.Context, key string) (string, error) {
	var v string
	err := s.pool.QueryRow(ctx, `SELECT value FROM settings WHERE key = $1`, key).Scan(&v)
	if errors.Is(err, pgx.ErrNoRows) {
		return "", fmt.Errorf("setting %q: %w", key, state.ErrNotFound)
	}
	if err != nil {
		return "", fmt.Errorf("setting %q: %w", key, err)
	}
	return v, nil
}

// SetSetting implements state.Store.
func (s *Store) SetSetting(ctx context.Context, key, value string) error {
	_, err := s.pool.Exec(ctx, `INSERT INTO settings (key, value, updated_at) VALUES ($1, $2, $3)
		ON CONFLICT (key) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at`, key, value, stamp(time.Now()))
	if err != nil {
		return fmt.Errorf("set setting %q: %w", key, err)
	}
	return nil
}

// Close implements state.Store. It waits for connections in use to be
// released.
func (s *Store) Close() error {
	s.pool.Close()
	return nil
}

// querier is what the pool and a transaction have in common.
type querier interface {
	Exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error)
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
}

// maxTxAttempts bounds the retries of a transaction that PostgreSQL
// aborted for a deadlock or a serialization failure.
const maxTxAttempts = 5

// inTx runs fn in a read-committed transaction and commits it. When
// PostgreSQL aborts it for a deadlock or a serialization failure, it runs
// fn again in a new transaction, so fn must set its results afresh on
// every call.
func (s *Store) inTx(ctx context.Context, fn func(tx pgx.Tx) error) error {
	for attempt := 1; ; attempt++ {
		err := s.tryTx(ctx, fn)
		if err == nil || attempt == maxTxAttempts || !retryable(err) {
			return err
		}
		backoff := time.Duration(attempt*attempt)*5*time.Millisecond + rand.N(5*time.Millisecond)
		select {
		case <-ctx.Done():
			return err
		case <-time.After(backoff):
		}
	}
}

func (s *Store) tryTx(ctx context.Context, fn func(tx pgx.Tx) error) error {
	tx, err := s.pool.Begin(ctx)
	if err != nil {
		return err
	}
	if err := fn(tx); err != nil {
		// The rollback must reach the server even when ctx is done, or
		// the connection goes back to the pool mid-transaction.
		rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
		defer cancel()
		tx.Rollback(rctx)
		return err
	}
	return tx.Commit(ctx)
}

// SQLSTATE codes the store reacts to.
const (
	codeUniqueViolation      = "23505"
	codeForeignKeyViolation  = "23503"
	codeSerializationFailure = "40001"
	codeDeadlockDetected     = "40P01"
)

func pgCode(err error) string {
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) {
		return pgErr.Code
	}
	return ""
}

func retryable(err error) bool {
	c := pgCode(err)
	return c == codeSerializationFailure || c == codeDeadlockDetected
}

// isUnique reports whether err is a uniqueness violation.
func isUnique(err error) bool { return pgCode(err) == codeUniqueViolation }

// lock takes a transaction-level advisory lock: it is released at commit
// or rollback.
func lock(ctx context.Context, tx pgx.Tx, key int64) error {
	if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock($1)`, key); err != nil {
		return fmt.Errorf("take advisory lock: %w", err)
	}
	return nil
}

// queryAll runs q and scans every row with scan; what names the query in
// errors. The result is empty, not nil, when no row matches.
func queryAll[T any](ctx context.Context, q querier, what string, scan func(pgx.Row) (T, error), sql string, args ...any) ([]T, error) {
	rows, err := q.Query(ctx, sql, args...)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", what, err)
	}
	out, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (T, error) { return scan(row) })
	if err != nil {
		return nil, fmt.Errorf("%s: %w", what, err)
	}
	return out, nil
}

// Times are stored as Unix nanoseconds. The zero time, outside that
// range, is math.MinInt64 in NOT NULL columns (it sorts before every
// other time, as it does in SQLite) and NULL in nullable ones.
const zeroNanos = math.MinInt64

var (
	minTime = time.Unix(0, math.MinInt64+1).UTC()
	maxTime = time.Unix(0, math.MaxInt64).UTC()
)

func nanos(t time.Time) (int64, error) {
	if t.IsZero() {
		return zeroNanos, nil
	}
	if t.Before(minTime) || t.After(maxTime) {
		return 0, fmt.Errorf("time %s is outside what the store keeps (%s to %s)",
			t.UTC().Format(time.RFC3339), minTime.Format(time.RFC3339), maxTime.Format(time.RFC3339))
	}
	return t.UnixNano(), nil
}

// stamp is a time argument for a NOT NULL time column.
type stamp time.Time

// Int64Value implements pgtype.Int64Valuer.
func (t stamp) Int64Value() (pgtype.Int8, error) {
	n, err := nanos(time.Time(t))
	return pgtype.Int8{Int64: n, Valid: err == nil}, err
}

// nullStamp is a time argument for a nullable time column: the zero time
// is NULL.
type nullStamp time.Time

// Int64Value implements pgtype.Int64Valuer.
func (t nullStamp) Int64Value() (pgtype.Int8, error) {
	if time.Time(t).IsZero() {
		return pgtype.Int8{}, nil
	}
	return stamp(t).Int64Value()
}

// scanStamp scans a time column: NULL and the zero sentinel read as the
// zero time, anything else as a UTC time.
type scanStamp time.Time

// ScanInt64 implements pgtype.Int64Scanner.
func (t *scanStamp) ScanInt64(v pgtype.Int8) error {
	if !v.Valid || v.Int64 == zeroNanos {
		*t = scanStamp(time.Time{})
		return nil
	}
	*t = scanStamp(time.Unix(0, v.Int64).UTC())
	return nil
}

// limitArg turns a "0 means no cap" limit into a LIMIT argument: NULL is
// no limit in PostgreSQL.
func limitArg(limit int) *int64 {
	if limit <= 0 {
		return nil
	}
	l := int64(limit)
	return &l
}
