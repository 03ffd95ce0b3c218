package postgres

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"

	"github.com/tracehound/tracehound/state"
)

var _ state.ExclusionStore = (*Store)(nil)

// CreateExclusion implements state.ExclusionStore.
func (s *Store) CreateExclusion(ctx context.Context, r state.ExclusionRecord) error {
	_, err := s.pool.Exec(ctx, `INSERT INTO exclusions
		(id, body, mode, expires_at, shadow_until, created_at, created_by, updated_at, updated_by, hit_count, last_hit)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)`,
		r.ID, r.Body, r.Mode, nullStamp(r.ExpiresAt), nullStamp(r.ShadowUntil), stamp(r.CreatedAt), r.CreatedBy,
		stamp(r.UpdatedAt), r.UpdatedBy, r.HitCount, nullStamp(r.LastHit))
	if isUnique(err) {
		return fmt.Errorf("exclusion %q: %w", r.ID, state.ErrExists)
	}
	if err != nil {
		return fmt.Errorf("create exclusion %q: %w", r.ID, err)
	}
	return nil
}

// UpdateExclusion implements state.ExclusionStore.
func (s *Store) UpdateExclusion(ctx context.Context, r state.ExclusionRecord) error {
	tag, err := s.pool.Exec(ctx, `UPDATE exclusions SET body = $1, mode = $2, expires_at = $3, shadow_until = $4,
		updated_at = $5, updated_by = $6 WHERE id = $7`,
		r.Body, r.Mode, nullStamp(r.ExpiresAt), nullStamp(r.ShadowUntil), stamp(r.UpdatedAt), r.UpdatedBy, r.ID)
	if err != nil {
		return fmt.Errorf("update exclusion %q: %w", r.ID, err)
	}
	return affectedOne(tag, fmt.Sprintf("exclusion %q", r.ID))
}

const exclusionColumns = `e.id, e.body, e.mode, e.expires_at, e.shadow_until, e.created_at, e.created_by, e.updated_at,
	e.updated_by, e.hit_count, e.last_hit,
	(SELECT count(*) FROM exclusion_shadow_suppressions s WHERE s.exclusion_id = e.id)`

func scanExclusion(row pgx.Row) (state.ExclusionRecord, error) {
	var r state.ExclusionRecord
	err := row.Scan(&r.ID, &r.Body, &r.Mode, (*scanStamp)(&r.ExpiresAt), (*scanStamp)(&r.ShadowUntil), (*scanStamp)(&r.CreatedAt),
		&r.CreatedBy, (*scanStamp)(&r.UpdatedAt), &r.UpdatedBy, &r.HitCount, (*scanStamp)(&r.LastHit), &r.ShadowSuppressions)
	return r, err
}

// Exclusion implements state.ExclusionStore.
func (s *Store) Exclusion(ctx context.Context, id string) (state.ExclusionRecord, error) {
	r, err := scanExclusion(s.pool.QueryRow(ctx, `SELECT `+exclusionColumns+` FROM exclusions e WHERE e.id = $1`, id))
	if errors.Is(err, pgx.ErrNoRows) {
		return r, fmt.Errorf("exclusion %q: %w", id, state.ErrNotFound)
	}
	if err != nil {
		return r, fmt.Errorf("exclusion %q: %w", id, err)
	}
	return r, nil
}

// Exclusions implements state.ExclusionStore.
func (s *Store) Exclusions(ctx context.Context, f state.ExclusionFilter) ([]state.ExclusionRecord, error) {
	var w where
	if !f.LiveAt.IsZero() {
		w.add("(e.expires_at IS NULL OR e.expires_at > ?)", stamp(f.LiveAt))
	}
	if !f.ExpiredAt.IsZero() {
		w.add("e.expires_at <= ?", stamp(f.ExpiredAt))
	}
	if f.Mode != "" {
		w.add("e.mode = ?", f.Mode)
	}
	return queryAll(ctx, s.pool, "exclusions", scanExclusion, `SELECT `+exclusionColumns+` FROM exclusions e`+w.clause()+` ORDER BY e.id`, w.args...)
}

// DeleteExclusion implements state.ExclusionStore. Its shadow
// suppressions go with it (ON DELETE CASCADE).
func (s *Store) DeleteExclusion(ctx context.Context, id string) error {
	tag, err := s.pool.Exec(ctx, `DELETE FROM exclusions WHERE id = $1`, id)
	if err != nil {
		return fmt.Errorf("delete exclusion %q: %w", id, err)
	}
	return affectedOne(tag, fmt.Sprintf("delete exclusion %q", id))
}

// AddExclusionHits implements state.ExclusionStore. Each update adds to
// the counter in one statement, so replicas counting at once add up.
func (s *Store) AddExclusionHits(ctx context.Context, hits []state.ExclusionHits) error {
	var batch pgx.Batch
	for _, h := range hits {
		if h.Rows == 0 && h.Last.IsZero() {
			continue
		}
		batch.Queue(`UPDATE exclusions SET hit_count = hit_count + $1, last_hit = greatest(last_hit, $2) WHERE id = $3`,
			h.Rows, nullStamp(h.Last), h.ID)
	}
	if batch.Len() == 0 {
		return nil
	}
	err := s.inTx(ctx, func(tx pgx.Tx) error { return tx.SendBatch(ctx, &batch).Close() })
	if err != nil {
		return fmt.Errorf("add exclusion hits: %w", err)
	}
	return nil
}

// AddShadowSuppression implements state.ExclusionStore.
func (s *Store) AddShadowSuppression(ctx context.Context, sup state.ShadowSuppression) error {
	labels, err := json.Marshal(sup.Labels)
	if err != nil {
		return fmt.Errorf("shadow suppression of %q: %w", sup.ExclusionID, err)
	}
	_, err = s.pool.Exec(ctx, `INSERT INTO exclusion_shadow_suppressions (exclusion_id, rule_id, fingerprint, labels, starts_at, at)
		VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT DO NOTHING`,
		sup.ExclusionID, sup.RuleID, sup.Fingerprint, labels, stamp(sup.StartsAt), stamp(sup.At))
	if pgCode(err) == codeForeignKeyViolation {
		return fmt.Errorf("shadow suppression: exclusion %q: %w", sup.ExclusionID, state.ErrNotFound)
	}
	if err != nil {
		return fmt.Errorf("shadow suppression of %q: %w", sup.ExclusionID, err)
	}
	return nil
}

// ShadowSuppressions implements state.ExclusionStore.
func (s *Store) ShadowSuppressions(ctx context.Context, id string, limit int) ([]state.ShadowSuppression, error) {
	return queryAll(ctx, s.pool, "shadow suppressions", func(row pgx.Row) (state.ShadowSuppression, error) {
		var sup state.ShadowSuppression
		var labels []byte
		if err := row.Scan(&sup.ExclusionID, &sup.RuleID, &sup.Fingerprint, &labels, (*scanStamp)(&sup.StartsAt), (*scanStamp)(&sup.At)); err != nil {
			return sup, err
		}
		return sup, json.Unmarshal(labels, &sup.Labels)
	}, `SELECT exclusion_id, rule_id, fingerprint, labels, starts_at, at FROM exclusion_shadow_suppressions
		WHERE exclusion_id = $1 ORDER BY at DESC, starts_at DESC, rule_id, fingerprint LIMIT $2`, id, limitArg(limit))
}
