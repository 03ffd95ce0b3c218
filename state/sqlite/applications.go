package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"github.com/tracehound/tracehound/state"
)

// CreateApplication implements state.ApplicationStore.
func (s *Store) CreateApplication(ctx context.Context, a state.Application) error {
	_, err := s.db.ExecContext(ctx, `INSERT INTO applications (name, environment, team, description, created_at, created_by) VALUES (?, ?, ?, ?, ?, ?)`,
		a.Name, a.Environment, a.Team, a.Description, formatTime(a.CreatedAt), a.CreatedBy)
	if isConstraint(err) {
		return fmt.Errorf("application %q: %w", a.Name, state.ErrExists)
	}
	if err != nil {
		return fmt.Errorf("create application: %w", err)
	}
	return nil
}

const applicationColumns = `name, environment, team, description, created_at, created_by`

func scanApplication(row interface{ Scan(...any) error }) (state.Application, error) {
	var a state.Application
	var created string
	if err := row.Scan(&a.Name, &a.Environment, &a.Team, &a.Description, &created, &a.CreatedBy); err != nil {
		return a, err
	}
	var err error
	a.CreatedAt, err = parseTime(created)
	return a, err
}

// Applications implements state.ApplicationStore.
func (s *Store) Applications(ctx context.Context) ([]state.Application, error) {
	return queryAll(ctx, s.db, "applications", scanApplication, `SELECT `+applicationColumns+` FROM applications ORDER BY name`)
}

// Application implements state.ApplicationStore.
func (s *Store) Application(ctx context.Context, name string) (state.Application, error) {
	a, err := scanApplication(s.db.QueryRowContext(ctx, `SELECT `+applicationColumns+` FROM applications WHERE name = ?`, name))
	if errors.Is(err, sql.ErrNoRows) {
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
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("delete application: %w", err)
	}
	defer tx.Rollback()
	res, err := tx.ExecContext(ctx, `DELETE FROM applications WHERE name = ?`, name)
	if err != nil {
		return fmt.Errorf("delete application: %w", err)
	}
	if err := affectedOne(res, "application "+name); err != nil {
		return err
	}
	if _, err := tx.ExecContext(ctx, `DELETE FROM api_tokens WHERE application = ?`, name); err != nil {
		return fmt.Errorf("revoke the application's keys: %w", err)
	}
	return tx.Commit()
}
