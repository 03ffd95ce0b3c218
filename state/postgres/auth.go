package postgres

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/tracehound/tracehound/state"
)

// affectedOne turns "no row changed" into ErrNotFound.
func affectedOne(tag pgconn.CommandTag, what string) error {
	if tag.RowsAffected() == 0 {
		return fmt.Errorf("%s: %w", what, state.ErrNotFound)
	}
	return nil
}

// CreateUser implements state.AuthStore.
func (s *Store) CreateUser(ctx context.Context, u state.User) error {
	_, err := s.pool.Exec(ctx, `INSERT INTO users (name, password_hash, role, must_change_password, applications, created_at, updated_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7)`, u.Name, u.PasswordHash, u.Role, u.MustChangePassword, applicationsArg(u.Applications), stamp(u.CreatedAt), stamp(u.UpdatedAt))
	if isUnique(err) {
		return fmt.Errorf("user %q: %w", u.Name, state.ErrExists)
	}
	if err != nil {
		return fmt.Errorf("create user: %w", err)
	}
	return nil
}

// UpdateUser implements state.AuthStore.
func (s *Store) UpdateUser(ctx context.Context, u state.User) error {
	tag, err := s.pool.Exec(ctx, `UPDATE users SET password_hash = $1, role = $2, must_change_password = $3, applications = $4, updated_at = $5 WHERE name = $6`,
		u.PasswordHash, u.Role, u.MustChangePassword, applicationsArg(u.Applications), stamp(u.UpdatedAt), u.Name)
	if err != nil {
		return fmt.Errorf("update user: %w", err)
	}
	return affectedOne(tag, "user "+u.Name)
}

// applicationsArg is an application list as the text[] columns take it:
// a nil slice would be NULL, which they refuse.
func applicationsArg(apps []string) []string {
	if apps == nil {
		return []string{}
	}
	return apps
}

// noApplications turns the empty list read back into nil, as the
// state.AuthStore promises.
func noApplications(apps []string) []string {
	if len(apps) == 0 {
		return nil
	}
	return apps
}

const userColumns = `name, password_hash, role, must_change_password, applications, created_at, updated_at`

func scanUser(row pgx.Row) (state.User, error) {
	var u state.User
	err := row.Scan(&u.Name, &u.PasswordHash, &u.Role, &u.MustChangePassword, &u.Applications, (*scanStamp)(&u.CreatedAt), (*scanStamp)(&u.UpdatedAt))
	u.Applications = noApplications(u.Applications)
	return u, err
}

// User implements state.AuthStore.
func (s *Store) User(ctx context.Context, name string) (state.User, error) {
	u, err := scanUser(s.pool.QueryRow(ctx, `SELECT `+userColumns+` FROM users WHERE name = $1`, name))
	if errors.Is(err, pgx.ErrNoRows) {
		return u, fmt.Errorf("user %q: %w", name, state.ErrNotFound)
	}
	if err != nil {
		return u, fmt.Errorf("user %q: %w", name, err)
	}
	return u, nil
}

// Users implements state.AuthStore.
func (s *Store) Users(ctx context.Context) ([]state.User, error) {
	return queryAll(ctx, s.pool, "users", scanUser, `SELECT `+userColumns+` FROM users ORDER BY name`)
}

// DeleteUser implements state.AuthStore. The user's tokens and sessions
// go with it (ON DELETE CASCADE).
func (s *Store) DeleteUser(ctx context.Context, name string) error {
	tag, err := s.pool.Exec(ctx, `DELETE FROM users WHERE name = $1`, name)
	if err != nil {
		return fmt.Errorf("delete user: %w", err)
	}
	return affectedOne(tag, "user "+name)
}

// CreateToken implements state.AuthStore.
func (s *Store) CreateToken(ctx context.Context, t state.Token) error {
	var user *string
	if t.User != "" {
		user = &t.User
	}
	_, err := s.pool.Exec(ctx, `INSERT INTO api_tokens (id, name, hash, role, user_name, application, applications, created_at, expires_at, last_used_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)`, t.ID, t.Name, t.Hash, t.Role, user, t.Application, applicationsArg(t.Applications),
		stamp(t.CreatedAt), nullStamp(t.ExpiresAt), nullStamp(t.LastUsedAt))
	if isUnique(err) {
		return fmt.Errorf("token %q: %w", t.ID, state.ErrExists)
	}
	if err != nil {
		return fmt.Errorf("create token: %w", err)
	}
	return nil
}

const tokenColumns = `id, name, hash, role, coalesce(user_name, ''), application, applications, created_at, expires_at, last_used_at`

func scanToken(row pgx.Row) (state.Token, error) {
	var t state.Token
	err := row.Scan(&t.ID, &t.Name, &t.Hash, &t.Role, &t.User, &t.Application, &t.Applications, (*scanStamp)(&t.CreatedAt), (*scanStamp)(&t.ExpiresAt), (*scanStamp)(&t.LastUsedAt))
	t.Applications = noApplications(t.Applications)
	return t, err
}

// TokenByHash implements state.AuthStore.
func (s *Store) TokenByHash(ctx context.Context, hash string) (state.Token, error) {
	t, err := scanToken(s.pool.QueryRow(ctx, `SELECT `+tokenColumns+` FROM api_tokens WHERE hash = $1`, hash))
	if errors.Is(err, pgx.ErrNoRows) {
		return t, fmt.Errorf("token: %w", state.ErrNotFound)
	}
	if err != nil {
		return t, fmt.Errorf("token: %w", err)
	}
	return t, nil
}

// Tokens implements state.AuthStore.
func (s *Store) Tokens(ctx context.Context) ([]state.Token, error) {
	return queryAll(ctx, s.pool, "tokens", scanToken, `SELECT `+tokenColumns+` FROM api_tokens ORDER BY created_at, id`)
}

// DeleteToken implements state.AuthStore.
func (s *Store) DeleteToken(ctx context.Context, id string) error {
	tag, err := s.pool.Exec(ctx, `DELETE FROM api_tokens WHERE id = $1`, id)
	if err != nil {
		return fmt.Errorf("delete token: %w", err)
	}
	return affectedOne(tag, "token "+id)
}

// TouchToken implements state.AuthStore.
func (s *Store) TouchToken(ctx context.Context, id string, t time.Time) error {
	if _, err := s.pool.Exec(ctx, `UPDATE api_tokens SET last_used_at = $1 WHERE id = $2`, stamp(t), id); err != nil {
		return fmt.Errorf("touch token: %w", err)
	}
	return nil
}

// CreateSession implements state.AuthStore.
func (s *Store) CreateSession(ctx context.Context, se state.Session) error {
	_, err := s.pool.Exec(ctx, `INSERT INTO sessions (hash, user_name, csrf, created_at, expires_at) VALUES ($1, $2, $3, $4, $5)`,
		se.Hash, se.User, se.CSRF, stamp(se.CreatedAt), stamp(se.ExpiresAt))
	if err != nil {
		return fmt.Errorf("create session: %w", err)
	}
	return nil
}

// SessionByHash implements state.AuthStore.
func (s *Store) SessionByHash(ctx context.Context, hash string) (state.Session, error) {
	var se state.Session
	err := s.pool.QueryRow(ctx, `SELECT hash, user_name, csrf, created_at, expires_at FROM sessions WHERE hash = $1`, hash).
		Scan(&se.Hash, &se.User, &se.CSRF, (*scanStamp)(&se.CreatedAt), (*scanStamp)(&se.ExpiresAt))
	if errors.Is(err, pgx.ErrNoRows) {
		return se, fmt.Errorf("session: %w", state.ErrNotFound)
	}
	if err != nil {
		return se, fmt.Errorf("session: %w", err)
	}
	return se, nil
}

// DeleteSession implements state.AuthStore.
func (s *Store) DeleteSession(ctx context.Context, hash string) error {
	if _, err := s.pool.Exec(ctx, `DELETE FROM sessions WHERE hash = $1`, hash); err != nil {
		return fmt.Errorf("delete session: %w", err)
	}
	return nil
}

// DeleteExpiredSessions implements state.AuthStore.
func (s *Store) DeleteExpiredSessions(ctx context.Context, t time.Time) (int64, error) {
	tag, err := s.pool.Exec(ctx, `DELETE FROM sessions WHERE expires_at < $1`, stamp(t))
	if err != nil {
		return 0, fmt.Errorf("delete expired sessions: %w", err)
	}
	return tag.RowsAffected(), nil
}

// AddAudit implements state.AuthStore.
func (s *Store) AddAudit(ctx context.Context, e state.AuditEntry) (int64, error) {
	var id int64
	err := s.pool.QueryRow(ctx, `INSERT INTO audit_log (at, actor, action, target, before, after) VALUES ($1, $2, $3, $4, $5, $6) RETURNING id`,
		stamp(e.At), e.Actor, e.Action, e.Target, e.Before, e.After).Scan(&id)
	if err != nil {
		return 0, fmt.Errorf("add audit entry: %w", err)
	}
	return id, nil
}

// likeEscaper escapes LIKE wildcards with a backslash, LIKE's default
// escape character in PostgreSQL.
var likeEscaper = strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`)

// Audit implements state.AuthStore.
func (s *Store) Audit(ctx context.Context, f state.AuditFilter) ([]state.AuditEntry, error) {
	var w where
	if f.Actor != "" {
		w.add("actor = ?", f.Actor)
	}
	if f.Action != "" {
		if strings.HasSuffix(f.Action, ".") {
			w.add("action LIKE ?", likeEscaper.Replace(f.Action)+"%")
		} else {
			w.add("action = ?", f.Action)
		}
	}
	if f.Target != "" {
		w.add("target = ?", f.Target)
	}
	if !f.Since.IsZero() {
		w.add("at >= ?", stamp(f.Since))
	}
	if !f.Until.IsZero() {
		w.add("at < ?", stamp(f.Until))
	}
	if f.BeforeID > 0 {
		w.add("id < ?", f.BeforeID)
	}
	limit := f.Limit
	if limit <= 0 {
		limit = 100
	}
	return queryAll(ctx, s.pool, "audit", func(row pgx.Row) (state.AuditEntry, error) {
		var e state.AuditEntry
		err := row.Scan(&e.ID, (*scanStamp)(&e.At), &e.Actor, &e.Action, &e.Target, &e.Before, &e.After)
		return e, err
	}, `SELECT id, at, actor, action, target, before, after FROM audit_log`+w.clause()+` ORDER BY id DESC LIMIT `+w.arg(limit), w.args...)
}
