package postgres

import (
	"context"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"

	"github.com/tracehound/tracehound/state"
)

// CreateApplication implements state.ApplicationStore.
func (s *Store) CreateApplication(ctx context.Context, a state.Application) error {
	_, err := s.pool.Exec(ctx, `INSERT INTO applications (name, environment, team, description, created_at, created_by) VALUES ($1, $2, $3, $4, $5, $6)`,
		a.Name, a.Environment, a.Team, a.Description, stamp(a.CreatedAt), a.CreatedBy)
	if isUnique(err) {
		return fmt.Errorf("application %q: %w", a.Name, state.ErrExists)
	}
	if err != nil {
		return fmt.Errorf("create application: %w", err)
	}
	return nil
}

const applicationColumns = `name, environment, team, description, created_at, created_by`

func scanApplication(row pgx.Row) (state.Application, error) {
	var a state.Application
	err := row.Scan(&a.Name, &a.Environment, &a.Team, &a.Description, (*scanStamp)(&a.CreatedAt), &a.CreatedBy)
	return a, err
}

// Applications implements state.ApplicationStore.
func (s *Store) Applications(ctx context.Context) ([]state.Application, error) {
	return queryAll(ctx, s.pool, "applications", scanApplication, `SELECT `+applicationColumns+` FROM applications ORDER BY name`)
}

// Application implements state.ApplicationStore.
func (s *Store) Application(ctx context.Context, name string) (state.Application, error) {
	a, err := scanApplication(s.pool.QueryRow(ctx, `SELECT `+applicationColumns+` FROM applications WHERE name = $1`, name))
	if errors.Is(err, pgx.ErrNoRows) {
		return a, fmt.Errorf("application %q: %w", name, state.ErrNotFound)
	}
	if err != nil {
		return a, fmt.Errorf("read application: %w", err)
	}
	return a, nil
}

// DeleteApplication implements state.ApplicationStore: the application and
// its ingest keys go in one transaction.
func (s *Store) DeleteApplication(ctx context.Context, name string) error {
	return s.inTx(ctx, func(tx pgx.Tx) error {
		tag, err := tx.Exec(ctx, `DELETE FROM applications WHERE name = $1`, name)
		if err != nil {
			return fmt.Errorf("delete application: %w", err)
		}
		if err := affectedOne(tag, "application "+name); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `DELETE FROM api_tokens WHERE application = $1`, name); err != nil {
			return fmt.Errorf("revoke the application's keys: %w", err)
		}
		return nil
	})
}
