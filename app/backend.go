package app

import (
	"context"
	"time"

	"github.com/tracehound/tracehound/api"
	"github.com/tracehound/tracehound/store"
)

// Limits of ad-hoc SQL (the console and `tracehound sql`).
const (
	sqlMaxRows = 10_000
	sqlTimeout = 60 * time.Second
)

// SQL implements api.Backend: the query passes the read-only guard, then
// runs with a row cap and a timeout.
func (a *App) SQL(ctx context.Context, q string) (*api.QueryResult, error) {
	if err := a.guard.Check(q); err != nil {
		return nil, err
	}
	start := time.Now()
	res, err := a.store.Query(ctx, q, store.QueryOptions{MaxRows: sqlMaxRows, Timeout: sqlTimeout})
	if err != nil {
		return nil, err
	}
	return &api.QueryResult{
		SQL:       q,
		Columns:   api.UniqueColumns(res.Columns),
		Types:     res.Types,
		Rows:      res.Rows,
		Truncated: res.Truncated,
		ElapsedMS: float64(time.Since(start).Microseconds()) / 1000,
	}, nil
}

// Status implements api.Backend.
func (a *App) Status(ctx context.Context) (*api.Status, error) {
	st, err := a.store.Stats(ctx)
	if err != nil {
		return nil, err
	}
	return &api.Status{
		Version:       Version,
		Spans:         st.Spans,
		Oldest:        st.Oldest,
		Newest:        st.Newest,
		DiskBytes:     st.DiskSize,
		Data:          a.cfg.Data,
		RetentionDays: time.Duration(a.cfg.Retention).Hours() / 24,
	}, nil
}
