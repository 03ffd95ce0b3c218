package app

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/tracehound/tracehound/config"
	"github.com/tracehound/tracehound/state"
	"github.com/tracehound/tracehound/state/postgres"
	"github.com/tracehound/tracehound/state/sqlite"
	"github.com/tracehound/tracehound/store"
	"github.com/tracehound/tracehound/store/clickhouse"
	"github.com/tracehound/tracehound/store/duckdb"
)

// openSpans opens the configured span store: DuckDB in the data
// directory, or ClickHouse (store.driver: clickhouse).
func openSpans(ctx context.Context, cfg config.Config, log *slog.Logger, metrics *storeMetrics) (store.Store, error) {
	switch cfg.Store.Driver {
	case "", "duckdb":
		st, err := duckdb.Open(ctx, filepath.Join(cfg.Data, "traces.duckdb"), duckdb.Options{
			MaxQueuedSpans: cfg.Ingest.MaxQueuedSpans,
			Logger:         log,
			Metrics:        metrics,
		})
		if err != nil {
			return nil, err
		}
		return st, nil
	case "clickhouse":
		dsn, err := secretValue(cfg.Store.DSN, cfg.Store.DSNFile, "store.dsn_file")
		if err != nil {
			return nil, err
		}
		if dsn == "" {
			return nil, fmt.Errorf("store.driver clickhouse needs store.dsn, store.dsn_file or TRACEHOUND_STORE_DSN")
		}
		o := clickhouse.Options{DSN: dsn, Mode: clickhouse.Mode(cfg.Store.Mode), Source: cfg.Store.Source, Cluster: cfg.Store.Cluster,
			KeyAttributes: cfg.Ingest.KeyAttributes, MaxQueuedSpans: cfg.Ingest.MaxQueuedSpans, Logger: log}
		if o.Mode == "" || o.Mode == clickhouse.ModeNative {
			o.TTL = time.Duration(cfg.Retention)
		}
		st, err := clickhouse.Open(ctx, o)
		if err != nil {
			return nil, fmt.Errorf("open the ClickHouse span store: %w", err)
		}
		return st, nil
	}
	return nil, fmt.Errorf("store.driver %q: want duckdb or clickhouse", cfg.Store.Driver)
}

// secretValue is a configuration value given inline or in a file (its
// first line).
func secretValue(value, file, what string) (string, error) {
	if v := strings.TrimSpace(value); v != "" || file == "" {
		return v, nil
	}
	b, err := os.ReadFile(file)
	if err != nil {
		return "", fmt.Errorf("%s: %w", what, err)
	}
	v, _, _ := strings.Cut(strings.TrimSpace(string(b)), "\n")
	return strings.TrimSpace(v), nil
}

// openState opens the configured state store: SQLite in the data
// directory, or PostgreSQL (state.driver: postgres), which replicas share.
func openState(ctx context.Context, cfg config.Config, log *slog.Logger) (state.Store, error) {
	switch cfg.State.Driver {
	case "", "sqlite":
		st, err := sqlite.Open(ctx, filepath.Join(cfg.Data, "state.db"))
		if err != nil {
			return nil, err
		}
		return st, nil
	case "postgres", "postgresql":
		dsn, err := secretValue(cfg.State.DSN, cfg.State.DSNFile, "state.dsn_file")
		if err != nil {
			return nil, err
		}
		if dsn == "" {
			return nil, fmt.Errorf("state.driver postgres needs state.dsn, state.dsn_file or TRACEHOUND_STATE_DSN")
		}
		st, err := postgres.Open(ctx, dsn, postgres.Options{Logger: log})
		if err != nil {
			return nil, fmt.Errorf("open the PostgreSQL state store: %w", err)
		}
		return st, nil
	}
	return nil, fmt.Errorf("state.driver %q: want sqlite or postgres", cfg.State.Driver)
}

// Sync returns when every span acknowledged so far is visible to queries
// (after a bulk load; ordinary queries do not wait for a long backlog).
func (a *App) Sync(ctx context.Context) error {
	if s, ok := a.store.(interface{ Sync(context.Context) error }); ok {
		return s.Sync(ctx)
	}
	return nil
}
