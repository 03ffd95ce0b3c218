package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/tracehound/tracehound/state"
)

// isConstraint reports whether err is a uniqueness violation.
func isConstraint(err error) bool {
	return err != nil && strings.Contains(err.Error(), "UNIQUE constraint failed")
}

// CreateUser implements state.AuthStore.
func (s *Store) CreateUser(ctx context.Context, u state.User) error {
	apps, err := encodeApplications(u.Applications)
	if err != nil {
		return err
	}
	_, err = s.db.ExecContext(ctx, `INSERT INTO users (name, password_hash, role, must_change_password, applications, created_at, updated_at)
		VALUES (?, ?, ?, ?, ?, ?, ?)`, u.Name, u.PasswordHash, u.Role, u.MustChangePassword, apps, formatTime(u.CreatedAt), formatTime(u.UpdatedAt))
	if isConstraint(err) {
		return fmt.Errorf("user %q: %w", u.Name, state.ErrExists)
	}
	if err != nil {
		return fmt.Errorf("create user: %w", err)
	}
	return nil
}

// UpdateUser implements state.AuthStore.
func (s *Store) UpdateUser(ctx context.Context, u state.User) error {
	apps, err := encodeApplications(u.Applications)
	if err != nil {
		return err
	}
	res, err := s.db.ExecContext(ctx, `UPDATE users SET password_hash = ?, role = ?, must_change_password = ?, applications = ?, updated_at = ? WHERE name = ?`,
		u.PasswordHash, u.Role, u.MustChangePassword, apps, formatTime(u.UpdatedAt), u.Name)
	if err != nil {
		return fmt.Errorf("update user: %w", err)
	}
	return affectedOne(res, "user "+u.Name)
}

func affectedOne(res sql.Result, what string) error {
	n, err := res.RowsAffected()
	if err != nil {
		return err
	}
	if n == 0 {
		return fmt.Errorf("%s: %w", what, state.ErrNotFound)
	}
	return nil
}

// encodeApplications turns an application list into the JSON array the
// applications columns hold; nil is "[]".
func encodeApplications(apps []string) (string, error) {
	if len(apps) == 0 {
		return "[]", nil
	}
	b, err := json.Marshal(apps)
	if err != nil {
		return "", fmt.Errorf("encode applications: %w", err)
	}
	return string(b), nil
}

// decodeApplications reads an applications column; "[]" is nil.
func decodeApplications(s string) ([]string, error) {
	var apps []string
	if err := json.Unmarshal([]byte(s), &apps); err != nil {
		return nil, fmt.Errorf("decode applications %q: %w", s, err)
	}
	if len(apps) == 0 {
		return nil, nil
	}
	return apps, nil
}

const userColumns = `name, password_hash, role, must_change_password, applications, created_at, updated_at`

func scanUser(row interface{ Scan(...any) error }) (state.User, error) {
	var u state.User
	var apps, created, updated string
	if err := row.Scan(&u.Name, &u.PasswordHash, &u.Role, &u.MustChangePassword, &apps, &created, &updated); err != nil {
		return u, err
	}
	var err error
	if u.Applications, err = decodeApplications(apps); err != nil {
		return u, err
	}
	if u.CreatedAt, err = parseTime(created); err != nil {
		return u, err
	}
	u.UpdatedAt, err = parseTime(updated)
	return u, err
}

// User implements state.AuthStore.
func (s *Store) User(ctx context.Context, name string) (state.User, error) {
	u, err := scanUser(s.db.QueryRowContext(ctx, `SELECT `+userColumns+` FROM users WHERE name = ?`, name))
	if errors.Is(err, sql.ErrNoRows) {
		return u, fmt.Errorf("user %q: %w", name, state.ErrNotFound)
	}
	if err != nil {
		return u, fmt.Errorf("user %q: %w", name, err)
	}
	return u, nil
}

// Users implements state.AuthStore.
func (s *Store) Users(ctx context.Context) ([]state.User, error) {
	return queryAll(ctx, s.db, "users", scanUser, `SELECT `+userColumns+` FROM users ORDER BY name`)
}

// DeleteUser implements state.AuthStore.
func (s *Store) DeleteUser(ctx context.Context, name string) error {
	res, err := s.db.ExecContext(ctx, `DELETE FROM users WHERE name = ?`, name)
	if err != nil {
		return fmt.Errorf("delete user: %w", err)
	}
	return affectedOne(res, "user "+name)
}

// CreateToken implements state.AuthStore.
func (s *Store) CreateToken(ctx context.Context, t state.Token) error {
	var user sql.NullString
	if t.User != "" {
		user = sql.NullString{String: t.User, Valid: true}
	}
	apps, err := encodeApplications(t.Applications)
	if err != nil {
		return err
	}
	_, err = s.db.ExecContext(ctx, `INSERT INTO api_tokens (id, name, hash, role, user_name, application, applications, created_at, expires_at, last_used_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`, t.ID, t.Name, t.Hash, t.Role, user, t.Application, apps, formatTime(t.CreatedAt), nullTime(t.ExpiresAt), nullTime(t.LastUsedAt))
	if isConstraint(err) {
		return fmt.Errorf("token %q: %w", t.ID, state.ErrExists)
	}
	if err != nil {
		return fmt.Errorf("create token: %w", err)
	}
	return nil
}

const tokenColumns = `id, name, hash, role, coalesce(user_name, ''), application, applications, created_at, expires_at, last_used_at`

func scanToken(row interface{ Scan(...any) error }) (state.Token, error) {
	var t state.Token
	var apps, created string
	var expires, used sql.NullString
	if err := row.Scan(&t.ID, &t.Name, &t.Hash, &t.Role, &t.User, &t.Application, &apps, &created, &expires, &used); err != nil {
		return t, err
	}
	var err error
	if t.Applications, err = decodeApplications(apps); err != nil {
		return t, err
	}
	if t.CreatedAt, err = parseTime(created); err != nil {
		return t, err
	}
	if t.ExpiresAt, err = parseNullTime(expires); err != nil {
		return t, err
	}
	t.LastUsedAt, err = parseNullTime(used)
	return t, err
}

// TokenByHash implements state.AuthStore.
func (s *Store) TokenByHash(ctx context.Context, hash string) (state.Token, error) {
	t, err := scanToken(s.db.QueryRowContext(ctx, `SELECT `+tokenColumns+` FROM api_tokens WHERE hash = ?`, hash))
	if errors.Is(err, sql.ErrNoRows) {
		return t, fmt.Errorf("token: %w", state.ErrNotFound)
	}
	if err != nil {
		return t, fmt.Errorf("token: %w", err)
	}
	return t, nil
}

// Tokens implements state.AuthStore.
func (s *Store) Tokens(ctx context.Context) ([]state.Token, error) {
	return queryAll(ctx, s.db, "tokens", scanToken, `SELECT `+tokenColumns+` FROM api_tokens ORDER BY created_at, id`)
}

// DeleteToken implements state.AuthStore.
func (s *Store) DeleteToken(ctx context.Context, id string) error {
	res, err := s.db.ExecContext(ctx, `DELETE FROM api_tokens WHERE id = ?`, id)
	if err != nil {
		return fmt.Errorf("delete token: %w", err)
	}
	return affectedOne(res, "token "+id)
}

// TouchToken implements state.AuthStore.
func (s *Store) TouchToken(ctx context.Context, id string, t time.Time) error {
	if _, err := s.db.ExecContext(ctx, `UPDATE api_tokens SET last_used_at = ? WHERE id = ?`, formatTime(t), id); err != nil {
		return fmt.Errorf("touch token: %w", err)
	}
	return nil
}

// CreateSession implements state.AuthStore.
func (s *Store) CreateSession(ctx context.Context, se state.Session) error {
	_, err := s.db.ExecContext(ctx, `INSERT INTO sessions (hash, user_name, csrf, created_at, expires_at) VALUES (?, ?, ?, ?, ?)`,
		se.Hash, se.User, se.CSRF, formatTime(se.CreatedAt), formatTime(se.ExpiresAt))
	if err != nil {
		return fmt.Errorf("create session: %w", err)
	}
	return nil
}

// SessionByHash implements state.AuthStore.
func (s *Store) SessionByHash(ctx context.Context, hash string) (state.Session, error) {
	var se state.Session
	var created, expires string
	err := s.db.QueryRowContext(ctx, `SELECT hash, user_name, csrf, created_at, expires_at FROM sessions WHERE hash = ?`, hash).
		Scan(&se.Hash, &se.User, &se.CSRF, &created, &expires)
	if errors.Is(err, sql.ErrNoRows) {
		return se, fmt.Errorf("session: %w", state.ErrNotFound)
	}
	if err != nil {
		return se, fmt.Errorf("session: %w", err)
	}
	if se.CreatedAt, err = parseTime(created); err != nil {
		return se, err
	}
	se.ExpiresAt, err = parseTime(expires)
	return se, err
}

// DeleteSession implements state.AuthStore.
func (s *Store) DeleteSession(ctx context.Context, hash string) error {
	if _, err := s.db.ExecContext(ctx, `DELETE FROM sessions WHERE hash = ?`, hash); err != nil {
		return fmt.Errorf("delete session: %w", err)
	}
	return nil
}

// DeleteExpiredSessions implements state.AuthStore.
func (s *Store) DeleteExpiredSessions(ctx context.Context, t time.Time) (int64, error) {
	res, err := s.db.ExecContext(ctx, `DELETE FROM sessions WHERE expires_at < ?`, formatTime(t))
	if err != nil {
		return 0, fmt.Errorf("delete expired sessions: %w", err)
	}
	return res.RowsAffected()
}

// AddAudit implements state.AuthStore.
func (s *Store) AddAudit(ctx context.Context, e state.AuditEntry) (int64, error) {
	res, err := s.db.ExecContext(ctx, `INSERT INTO audit_log (at, actor, action, target, before, after) VALUES (?, ?, ?, ?, ?, ?)`,
		formatTime(e.At), e.Actor, e.Action, e.Target, e.Before, e.After)
	if err != nil {
		return 0, fmt.Errorf("add audit entry: %w", err)
	}
	return res.LastInsertId()
}

// Audit implements state.AuthStore.
func (s *Store) Audit(ctx context.Context, f state.AuditFilter) ([]state.AuditEntry, error) {
	var where []string
	var args []any
	if f.Actor != "" {
		where = append(where, "actor = ?")
		args = append(args, f.Actor)
	}
	if f.Action != "" {
		if strings.HasSuffix(f.Action, ".") {
			where = append(where, "substr(action, 1, ?) = ?")
			args = append(args, len(f.Action), f.Action)
		} else {
			where = append(where, "action = ?")
			args = append(args, f.Action)
		}
	}
	if f.Target != "" {
		where = append(where, "target = ?")
		args = append(args, f.Target)
	}
	if !f.Since.IsZero() {
		where = append(where, "at >= ?")
		args = append(args, formatTime(f.Since))
	}
	if !f.Until.IsZero() {
		where = append(where, "at < ?")
		args = append(args, formatTime(f.Until))
	}
	if f.BeforeID > 0 {
		where = append(where, "id < ?")
		args = append(args, f.BeforeID)
	}
	limit := f.Limit
	if limit <= 0 {
		limit = 100
	}
	q := `SELECT id, at, actor, action, target, before, after FROM audit_log`
	if len(where) > 0 {
		q += " WHERE " + strings.Join(where, " AND ")
	}
	q += " ORDER BY id DESC LIMIT ?"
	args = append(args, limit)
	return queryAll(ctx, s.db, "audit", scanAudit, q, args...)
}

func scanAudit(row interface{ Scan(...any) error }) (state.AuditEntry, error) {
	var e state.AuditEntry
	var at string
	if err := row.Scan(&e.ID, &at, &e.Actor, &e.Action, &e.Target, &e.Before, &e.After); err != nil {
		return e, err
	}
	var err error
	e.At, err = parseTime(at)
	return e, err
}
