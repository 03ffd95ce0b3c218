package duckdb

import (
	"context"
	"fmt"
)

// scratchDB is the in-memory database that holds Scratch copies, attached
// to the store's instance: every connection of the pool sees it, and it
// goes with the instance.
const scratchDB = "th_scratch"

// Scratch implements store.Scratcher.
func (s *Store) Scratch(ctx context.Context, query string, maxRows int, args ...any) (string, int64, func(), error) {
	if err := s.waitApplied(ctx); err != nil {
		return "", 0, nil, fmt.Errorf("copy: %w", err)
	}
	if err := s.checkOneSelect(ctx, query); err != nil {
		return "", 0, nil, err
	}
	s.scratchOnce.Do(func() {
		_, s.scratchErr = s.db.ExecContext(context.Background(), "ATTACH ':memory:' AS "+scratchDB)
	})
	if s.scratchErr != nil {
		return "", 0, nil, fmt.Errorf("copy: attach the scratch database: %w", s.scratchErr)
	}
	table := fmt.Sprintf("%s.copy_%d", scratchDB, s.scratchSeq.Add(1))
	drop := func() { s.db.ExecContext(context.Background(), "DROP TABLE IF EXISTS "+table) }
	if _, err := s.db.ExecContext(ctx, fmt.Sprintf("CREATE TABLE %s AS SELECT * FROM (%s) LIMIT %d", table, query, maxRows+1), args...); err != nil {
		drop()
		return "", 0, nil, queryError(ctx, err)
	}
	var n int64
	if err := s.db.QueryRowContext(ctx, "SELECT count(*) FROM "+table).Scan(&n); err != nil {
		drop()
		return "", 0, nil, queryError(ctx, err)
	}
	return table, n, drop, nil
}
