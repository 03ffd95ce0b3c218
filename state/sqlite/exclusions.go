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

var (
	_ state.ExclusionStore = (*Store)(nil)
	_ state.SilenceStore   = (*Store)(nil)
)

// CreateExclusion implements state.ExclusionStore.
func (s *Store) CreateExclusion(ctx context.Context, r state.ExclusionRecord) error {
	_, err := s.db.ExecContext(ctx, `INSERT INTO exclusions
		(id, body, mode, expires_at, shadow_until, created_at, created_by, updated_at, updated_by, hit_count, last_hit)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		r.ID, r.Body, r.Mode, nullTime(r.ExpiresAt), nullTime(r.ShadowUntil), formatTime(r.CreatedAt), r.CreatedBy,
		formatTime(r.UpdatedAt), r.UpdatedBy, r.HitCount, nullTime(r.LastHit))
	if isConstraint(err) {
		return fmt.Errorf("exclusion %q: %w", r.ID, state.ErrExists)
	}
	if err != nil {
		return fmt.Errorf("create exclusion %q: %w", r.ID, err)
	}
	return nil
}

// UpdateExclusion implements state.ExclusionStore.
func (s *Store) UpdateExclusion(ctx context.Context, r state.ExclusionRecord) error {
	res, err := s.db.ExecContext(ctx, `UPDATE exclusions SET body = ?, mode = ?, expires_at = ?, shadow_until = ?,
		updated_at = ?, updated_by = ? WHERE id = ?`,
		r.Body, r.Mode, nullTime(r.ExpiresAt), nullTime(r.ShadowUntil), formatTime(r.UpdatedAt), r.UpdatedBy, r.ID)
	if err != nil {
		return fmt.Errorf("update exclusion %q: %w", r.ID, err)
	}
	if n, err := res.RowsAffected(); err != nil {
		return fmt.Errorf("update exclusion %q: %w", r.ID, err)
	} else if n == 0 {
		return fmt.Errorf("exclusion %q: %w", r.ID, state.ErrNotFound)
	}
	return nil
}

const exclusionColumns = `e.id, e.body, e.mode, e.expires_at, e.shadow_until, e.created_at, e.created_by, e.updated_at,
	e.updated_by, e.hit_count, e.last_hit,
	(SELECT count(*) FROM exclusion_shadow_suppressions s WHERE s.exclusion_id = e.id)`

func scanExclusion(row interface{ Scan(...any) error }) (state.ExclusionRecord, error) {
	var r state.ExclusionRecord
	var expires, shadow, last sql.NullString
	var created, updated string
	if err := row.Scan(&r.ID, &r.Body, &r.Mode, &expires, &shadow, &created, &r.CreatedBy, &updated, &r.UpdatedBy,
		&r.HitCount, &last, &r.ShadowSuppressions); err != nil {
		return r, err
	}
	var err error
	for _, f := range []struct {
		dst *sqlTime
		src sql.NullString
	}{{(*sqlTime)(&r.ExpiresAt), expires}, {(*sqlTime)(&r.ShadowUntil), shadow}, {(*sqlTime)(&r.LastHit), last},
		{(*sqlTime)(&r.CreatedAt), sql.NullString{String: created, Valid: true}}, {(*sqlTime)(&r.UpdatedAt), sql.NullString{String: updated, Valid: true}}} {
		if err = f.dst.set(f.src); err != nil {
			return r, err
		}
	}
	return r, nil
}

// Exclusion implements state.ExclusionStore.
func (s *Store) Exclusion(ctx context.Context, id string) (state.ExclusionRecord, error) {
	r, err := scanExclusion(s.db.QueryRowContext(ctx, `SELECT `+exclusionColumns+` FROM exclusions e WHERE e.id = ?`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return r, fmt.Errorf("exclusion %q: %w", id, state.ErrNotFound)
	}
	if err != nil {
		return r, fmt.Errorf("exclusion %q: %w", id, err)
	}
	return r, nil
}

// Exclusions implements state.ExclusionStore.
func (s *Store) Exclusions(ctx context.Context, f state.ExclusionFilter) ([]state.ExclusionRecord, error) {
	where, args := "WHERE 1 = 1", []any{}
	if !f.LiveAt.IsZero() {
		where += " AND (e.expires_at IS NULL OR e.expires_at > ?)"
		args = append(args, formatTime(f.LiveAt))
	}
	if !f.ExpiredAt.IsZero() {
		where += " AND e.expires_at IS NOT NULL AND e.expires_at <= ?"
		args = append(args, formatTime(f.ExpiredAt))
	}
	if f.Mode != "" {
		where += " AND e.mode = ?"
		args = append(args, f.Mode)
	}
	return queryAll(ctx, s.db, "exclusions", scanExclusion, `SELECT `+exclusionColumns+` FROM exclusions e `+where+` ORDER BY e.id`, args...)
}

// DeleteExclusion implements state.ExclusionStore.
func (s *Store) DeleteExclusion(ctx context.Context, id string) error {
	res, err := s.db.ExecContext(ctx, `DELETE FROM exclusions WHERE id = ?`, id)
	if err != nil {
		return fmt.Errorf("delete exclusion %q: %w", id, err)
	}
	if n, err := res.RowsAffected(); err != nil {
		return fmt.Errorf("delete exclusion %q: %w", id, err)
	} else if n == 0 {
		return fmt.Errorf("delete exclusion %q: %w", id, state.ErrNotFound)
	}
	return nil
}

// AddExclusionHits implements state.ExclusionStore.
func (s *Store) AddExclusionHits(ctx context.Context, hits []state.ExclusionHits) (err error) {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("add exclusion hits: %w", err)
	}
	defer func() {
		if err != nil {
			tx.Rollback()
			err = fmt.Errorf("add exclusion hits: %w", err)
		}
	}()
	for _, h := range hits {
		if h.Rows == 0 && h.Last.IsZero() {
			continue
		}
		if _, err := tx.ExecContext(ctx, `UPDATE exclusions SET hit_count = hit_count + ?,
			last_hit = CASE WHEN ? IS NOT NULL AND (last_hit IS NULL OR last_hit < ?) THEN ? ELSE last_hit END
			WHERE id = ?`, h.Rows, nullTime(h.Last), nullTime(h.Last), nullTime(h.Last), h.ID); err != nil {
			return err
		}
	}
	return tx.Commit()
}

// AddShadowSuppression implements state.ExclusionStore.
func (s *Store) AddShadowSuppression(ctx context.Context, sup state.ShadowSuppression) error {
	labels, err := json.Marshal(sup.Labels)
	if err != nil {
		return fmt.Errorf("shadow suppression of %q: %w", sup.ExclusionID, err)
	}
	_, err = s.db.ExecContext(ctx, `INSERT INTO exclusion_shadow_suppressions (exclusion_id, rule_id, fingerprint, labels, starts_at, at)
		VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING`,
		sup.ExclusionID, sup.RuleID, sup.Fingerprint, string(labels), formatTime(sup.StartsAt), formatTime(sup.At))
	if err != nil && strings.Contains(err.Error(), "FOREIGN KEY constraint failed") {
		return fmt.Errorf("shadow suppression: exclusion %q: %w", sup.ExclusionID, state.ErrNotFound)
	}
	if err != nil {
		return fmt.Errorf("shadow suppression of %q: %w", sup.ExclusionID, err)
	}
	return nil
}

// ShadowSuppressions implements state.ExclusionStore.
func (s *Store) ShadowSuppressions(ctx context.Context, id string, limit int) ([]state.ShadowSuppression, error) {
	q := `SELECT exclusion_id, rule_id, fingerprint, labels, starts_at, at FROM exclusion_shadow_suppressions
		WHERE exclusion_id = ? ORDER BY at DESC, starts_at DESC, rule_id, fingerprint`
	args := []any{id}
	if limit > 0 {
		q += " LIMIT ?"
		args = append(args, limit)
	}
	return queryAll(ctx, s.db, "shadow suppressions", func(row interface{ Scan(...any) error }) (state.ShadowSuppression, error) {
		var sup state.ShadowSuppression
		var labels, starts, at string
		if err := row.Scan(&sup.ExclusionID, &sup.RuleID, &sup.Fingerprint, &labels, &starts, &at); err != nil {
			return sup, err
		}
		if err := json.Unmarshal([]byte(labels), &sup.Labels); err != nil {
			return sup, err
		}
		var err error
		if sup.StartsAt, err = parseTime(starts); err != nil {
			return sup, err
		}
		sup.At, err = parseTime(at)
		return sup, err
	}, q, args...)
}

// sqlTime reads a nullable stored time.
type sqlTime time.Time

func (t *sqlTime) set(s sql.NullString) error {
	v, err := parseNullTime(s)
	*t = sqlTime(v)
	return err
}

// CreateSilence implements state.SilenceStore.
func (s *Store) CreateSilence(ctx context.Context, r state.SilenceRecord) error {
	_, err := s.db.ExecContext(ctx, `INSERT INTO silences (id, body, starts_at, ends_at, created_at, created_by) VALUES (?, ?, ?, ?, ?, ?)`,
		r.ID, r.Body, formatTime(r.StartsAt), formatTime(r.EndsAt), formatTime(r.CreatedAt), r.CreatedBy)
	if isConstraint(err) {
		return fmt.Errorf("silence %q: %w", r.ID, state.ErrExists)
	}
	if err != nil {
		return fmt.Errorf("create silence %q: %w", r.ID, err)
	}
	return nil
}

// Silences implements state.SilenceStore.
func (s *Store) Silences(ctx context.Context, endsAfter time.Time) ([]state.SilenceRecord, error) {
	where, args := "", []any{}
	if !endsAfter.IsZero() {
		where, args = "WHERE ends_at > ?", []any{formatTime(endsAfter)}
	}
	return queryAll(ctx, s.db, "silences", func(row interface{ Scan(...any) error }) (state.SilenceRecord, error) {
		var r state.SilenceRecord
		var starts, ends, created string
		if err := row.Scan(&r.ID, &r.Body, &starts, &ends, &created, &r.CreatedBy); err != nil {
			return r, err
		}
		var err error
		if r.StartsAt, err = parseTime(starts); err != nil {
			return r, err
		}
		if r.EndsAt, err = parseTime(ends); err != nil {
			return r, err
		}
		r.CreatedAt, err = parseTime(created)
		return r, err
	}, `SELECT id, body, starts_at, ends_at, created_at, created_by FROM silences `+where+` ORDER BY starts_at, id`, args...)
}

// DeleteSilence implements state.SilenceStore.
func (s *Store) DeleteSilence(ctx context.Context, id string) error {
	res, err := s.db.ExecContext(ctx, `DELETE FROM silences WHERE id = ?`, id)
	if err != nil {
		return fmt.Errorf("delete silence %q: %w", id, err)
	}
	if n, err := res.RowsAffected(); err != nil {
		return fmt.Errorf("delete silence %q: %w", id, err)
	} else if n == 0 {
		return fmt.Errorf("delete silence %q: %w", id, state.ErrNotFound)
	}
	return nil
}
