package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/tracehound/tracehound/state"
)

// timeLayout stores times in UTC with a fixed width, so that they compare
// as strings in SQL.
const timeLayout = "2006-01-02T15:04:05.000000000Z"

func formatTime(t time.Time) string { return t.UTC().Format(timeLayout) }

// nullTime stores the zero time as NULL.
func nullTime(t time.Time) sql.NullString {
	if t.IsZero() {
		return sql.NullString{}
	}
	return sql.NullString{String: formatTime(t), Valid: true}
}

func parseTime(s string) (time.Time, error) {
	t, err := time.Parse(timeLayout, s)
	if err != nil {
		return time.Time{}, fmt.Errorf("stored time %q: %w", s, err)
	}
	return t, nil
}

// parseNullTime reads a NULL as the zero time.
func parseNullTime(s sql.NullString) (time.Time, error) {
	if !s.Valid {
		return time.Time{}, nil
	}
	return parseTime(s.String)
}

// PutAPISpec implements state.MapStore.
func (s *Store) PutAPISpec(ctx context.Context, spec state.APISpec) error {
	_, err := s.db.ExecContext(ctx, `INSERT INTO api_specs (service, name, raw, registered_at) VALUES (?, ?, ?, ?)
		ON CONFLICT (service) DO UPDATE SET name = excluded.name, raw = excluded.raw, registered_at = excluded.registered_at`,
		spec.Service, spec.Name, spec.Raw, formatTime(spec.RegisteredAt))
	if err != nil {
		return fmt.Errorf("put API spec of %q: %w", spec.Service, err)
	}
	return nil
}

// APISpec implements state.MapStore.
func (s *Store) APISpec(ctx context.Context, service string) (state.APISpec, error) {
	specs, err := s.apiSpecs(ctx, `WHERE service = ?`, service)
	if err != nil {
		return state.APISpec{}, fmt.Errorf("API spec of %q: %w", service, err)
	}
	if len(specs) == 0 {
		return state.APISpec{}, fmt.Errorf("API spec of %q: %w", service, state.ErrNotFound)
	}
	return specs[0], nil
}

// APISpecs implements state.MapStore.
func (s *Store) APISpecs(ctx context.Context) ([]state.APISpec, error) {
	specs, err := s.apiSpecs(ctx, `ORDER BY service`)
	if err != nil {
		return nil, fmt.Errorf("API specs: %w", err)
	}
	return specs, nil
}

func (s *Store) apiSpecs(ctx context.Context, where string, args ...any) ([]state.APISpec, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT service, name, raw, registered_at FROM api_specs `+where, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	specs := []state.APISpec{}
	for rows.Next() {
		var spec state.APISpec
		var at string
		if err := rows.Scan(&spec.Service, &spec.Name, &spec.Raw, &at); err != nil {
			return nil, err
		}
		if spec.RegisteredAt, err = parseTime(at); err != nil {
			return nil, err
		}
		specs = append(specs, spec)
	}
	return specs, rows.Err()
}

// AddMapPin implements state.MapStore.
func (s *Store) AddMapPin(ctx context.Context, p state.MapPin) (int64, error) {
	res, err := s.db.ExecContext(ctx, `INSERT INTO map_pins (service, kind, path, note, created_by, created_at) VALUES (?, ?, ?, ?, ?, ?)`,
		p.Service, p.Kind, p.Path, p.Note, p.CreatedBy, formatTime(p.CreatedAt))
	if isConstraint(err) {
		return 0, fmt.Errorf("%s %q of service %q: %w", p.Kind, p.Path, p.Service, state.ErrExists)
	}
	if err != nil {
		return 0, fmt.Errorf("add map pin: %w", err)
	}
	id, err := res.LastInsertId()
	if err != nil {
		return 0, fmt.Errorf("add map pin: %w", err)
	}
	return id, nil
}

const mapPinColumns = `id, service, kind, path, note, created_by, created_at`

func scanMapPin(row interface{ Scan(...any) error }) (state.MapPin, error) {
	var p state.MapPin
	var at string
	if err := row.Scan(&p.ID, &p.Service, &p.Kind, &p.Path, &p.Note, &p.CreatedBy, &at); err != nil {
		return p, err
	}
	var err error
	p.CreatedAt, err = parseTime(at)
	return p, err
}

// MapPins implements state.MapStore.
func (s *Store) MapPins(ctx context.Context) ([]state.MapPin, error) {
	return queryAll(ctx, s.db, "map pins", scanMapPin, `SELECT `+mapPinColumns+` FROM map_pins ORDER BY id`)
}

// DeleteMapPin implements state.MapStore.
func (s *Store) DeleteMapPin(ctx context.Context, id int64) (state.MapPin, error) {
	p, err := scanMapPin(s.db.QueryRowContext(ctx, `DELETE FROM map_pins WHERE id = ? RETURNING `+mapPinColumns, id))
	if errors.Is(err, sql.ErrNoRows) {
		return p, fmt.Errorf("map pin %d: %w", id, state.ErrNotFound)
	}
	if err != nil {
		return p, fmt.Errorf("delete map pin %d: %w", id, err)
	}
	return p, nil
}

// AddMapSnapshot implements state.MapStore.
func (s *Store) AddMapSnapshot(ctx context.Context, snap state.MapSnapshot, events []state.Event) (id int64, err error) {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return 0, fmt.Errorf("add map snapshot: %w", err)
	}
	defer func() {
		if err != nil {
			tx.Rollback()
			err = fmt.Errorf("add map snapshot: %w", err)
		}
	}()
	res, err := tx.ExecContext(ctx, `INSERT INTO map_snapshots (taken_at, window_seconds, endpoints, new_endpoints) VALUES (?, ?, ?, 0)`,
		formatTime(snap.TakenAt), int64(snap.Window/time.Second), len(snap.Endpoints))
	if err != nil {
		return 0, err
	}
	if id, err = res.LastInsertId(); err != nil {
		return 0, err
	}
	insertEndpoint, err := tx.PrepareContext(ctx, `INSERT INTO map_snapshot_endpoints
		(snapshot_id, endpoint_id, service, method, template, hits, first_seen, last_seen, shadow, sensitive, risk_score, data)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`)
	if err != nil {
		return 0, err
	}
	defer insertEndpoint.Close()
	// The upsert returns the endpoint's first snapshot, which is this one
	// exactly when no earlier snapshot saw it.
	upsertKnown, err := tx.PrepareContext(ctx, `INSERT INTO map_endpoints
		(endpoint_id, service, method, template, first_seen, last_seen, first_snapshot_id, last_snapshot_id, shadow_since, sensitive_since)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
		ON CONFLICT (endpoint_id) DO UPDATE SET
			first_seen = min(first_seen, excluded.first_seen),
			last_seen = max(last_seen, excluded.last_seen),
			last_snapshot_id = excluded.last_snapshot_id,
			shadow_since = coalesce(shadow_since, excluded.shadow_since),
			sensitive_since = coalesce(sensitive_since, excluded.sensitive_since)
		RETURNING first_snapshot_id`)
	if err != nil {
		return 0, err
	}
	defer upsertKnown.Close()
	taken := formatTime(snap.TakenAt)
	newEndpoints := 0
	for _, ep := range snap.Endpoints {
		if _, err := insertEndpoint.ExecContext(ctx, id, ep.EndpointID, ep.Service, ep.Method, ep.Template, ep.Hits,
			nullTime(ep.FirstSeen), nullTime(ep.LastSeen), ep.Shadow, ep.Sensitive, ep.RiskScore, ep.Data); err != nil {
			return 0, fmt.Errorf("endpoint %s: %w", ep.EndpointID, err)
		}
		if ep.Hits <= 0 || ep.FirstSeen.IsZero() {
			continue
		}
		var shadowSince, sensitiveSince sql.NullString
		if ep.Shadow {
			shadowSince = sql.NullString{String: taken, Valid: true}
		}
		if ep.Sensitive {
			sensitiveSince = sql.NullString{String: taken, Valid: true}
		}
		var first int64
		if err := upsertKnown.QueryRowContext(ctx, ep.EndpointID, ep.Service, ep.Method, ep.Template,
			formatTime(ep.FirstSeen), formatTime(ep.LastSeen), id, id, shadowSince, sensitiveSince).Scan(&first); err != nil {
			return 0, fmt.Errorf("known endpoint %s: %w", ep.EndpointID, err)
		}
		if first == id {
			newEndpoints++
		}
	}
	if _, err := tx.ExecContext(ctx, `UPDATE map_snapshots SET new_endpoints = ? WHERE id = ?`, newEndpoints, id); err != nil {
		return 0, err
	}
	for _, ev := range events {
		if _, err := tx.ExecContext(ctx, `INSERT INTO events (kind, created_at, payload) VALUES (?, ?, ?)`,
			ev.Kind, formatTime(ev.CreatedAt), ev.Payload); err != nil {
			return 0, fmt.Errorf("event %s: %w", ev.Kind, err)
		}
	}
	if err := tx.Commit(); err != nil {
		return 0, err
	}
	return id, nil
}

// PruneMapSnapshots implements state.MapStore.
func (s *Store) PruneMapSnapshots(ctx context.Context, t time.Time) (int64, error) {
	res, err := s.db.ExecContext(ctx, `DELETE FROM map_snapshots
		WHERE taken_at < ? AND id <> (SELECT max(id) FROM map_snapshots)`, formatTime(t))
	if err != nil {
		return 0, fmt.Errorf("prune map snapshots: %w", err)
	}
	return res.RowsAffected()
}

// MapSnapshots implements state.MapStore.
func (s *Store) MapSnapshots(ctx context.Context, limit int) ([]state.MapSnapshot, error) {
	if limit <= 0 {
		limit = -1 // SQLite: no limit
	}
	return queryAll(ctx, s.db, "map snapshots", scanSnapshot, `SELECT id, taken_at, window_seconds, endpoints, new_endpoints
		FROM map_snapshots ORDER BY id DESC LIMIT ?`, limit)
}

func scanSnapshot(row interface{ Scan(...any) error }) (state.MapSnapshot, error) {
	var snap state.MapSnapshot
	var taken string
	var window int64
	if err := row.Scan(&snap.ID, &taken, &window, &snap.EndpointCount, &snap.NewEndpoints); err != nil {
		return snap, err
	}
	snap.Window = time.Duration(window) * time.Second
	var err error
	snap.TakenAt, err = parseTime(taken)
	return snap, err
}

// MapSnapshot implements state.MapStore.
func (s *Store) MapSnapshot(ctx context.Context, id int64) (state.MapSnapshot, error) {
	q := `SELECT id, taken_at, window_seconds, endpoints, new_endpoints FROM map_snapshots WHERE id = ?`
	args := []any{id}
	if id == 0 {
		q, args = `SELECT id, taken_at, window_seconds, endpoints, new_endpoints FROM map_snapshots ORDER BY id DESC LIMIT 1`, nil
	}
	snap, err := scanSnapshot(s.db.QueryRowContext(ctx, q, args...))
	if errors.Is(err, sql.ErrNoRows) {
		return snap, fmt.Errorf("map snapshot %d: %w", id, state.ErrNotFound)
	}
	if err != nil {
		return snap, fmt.Errorf("map snapshot %d: %w", id, err)
	}
	rows, err := s.db.QueryContext(ctx, `SELECT endpoint_id, service, method, template, hits, first_seen, last_seen, shadow, sensitive, risk_score, data
		FROM map_snapshot_endpoints WHERE snapshot_id = ? ORDER BY endpoint_id`, snap.ID)
	if err != nil {
		return snap, fmt.Errorf("map snapshot %d: %w", snap.ID, err)
	}
	defer rows.Close()
	snap.Endpoints = []state.SnapshotEndpoint{}
	for rows.Next() {
		var ep state.SnapshotEndpoint
		var first, last sql.NullString
		if err := rows.Scan(&ep.EndpointID, &ep.Service, &ep.Method, &ep.Template, &ep.Hits, &first, &last,
			&ep.Shadow, &ep.Sensitive, &ep.RiskScore, &ep.Data); err != nil {
			return snap, fmt.Errorf("map snapshot %d: %w", snap.ID, err)
		}
		if ep.FirstSeen, err = parseNullTime(first); err != nil {
			return snap, err
		}
		if ep.LastSeen, err = parseNullTime(last); err != nil {
			return snap, err
		}
		snap.Endpoints = append(snap.Endpoints, ep)
	}
	if err := rows.Err(); err != nil {
		return snap, fmt.Errorf("map snapshot %d: %w", snap.ID, err)
	}
	return snap, nil
}

// KnownEndpoints implements state.MapStore.
func (s *Store) KnownEndpoints(ctx context.Context, f state.KnownEndpointFilter) ([]state.KnownEndpoint, error) {
	var where []string
	var args []any
	if f.EndpointID != "" {
		where = append(where, "endpoint_id = ?")
		args = append(args, f.EndpointID)
	}
	if !f.FirstSeenSince.IsZero() {
		where = append(where, "first_seen >= ?")
		args = append(args, formatTime(f.FirstSeenSince))
	}
	if f.FirstSnapshotID != 0 {
		where = append(where, "first_snapshot_id = ?")
		args = append(args, f.FirstSnapshotID)
	}
	q := `SELECT endpoint_id, service, method, template, first_seen, last_seen, first_snapshot_id, last_snapshot_id, shadow_since, sensitive_since
		FROM map_endpoints`
	if len(where) > 0 {
		q += " WHERE " + strings.Join(where, " AND ")
	}
	rows, err := s.db.QueryContext(ctx, q+" ORDER BY endpoint_id", args...)
	if err != nil {
		return nil, fmt.Errorf("known endpoints: %w", err)
	}
	defer rows.Close()
	out := []state.KnownEndpoint{}
	for rows.Next() {
		var k state.KnownEndpoint
		var first, last string
		var shadow, sensitive sql.NullString
		if err := rows.Scan(&k.EndpointID, &k.Service, &k.Method, &k.Template, &first, &last,
			&k.FirstSnapshotID, &k.LastSnapshotID, &shadow, &sensitive); err != nil {
			return nil, fmt.Errorf("known endpoints: %w", err)
		}
		if k.FirstSeen, err = parseTime(first); err != nil {
			return nil, fmt.Errorf("known endpoints: %w", err)
		}
		if k.LastSeen, err = parseTime(last); err != nil {
			return nil, fmt.Errorf("known endpoints: %w", err)
		}
		if k.ShadowSince, err = parseNullTime(shadow); err != nil {
			return nil, fmt.Errorf("known endpoints: %w", err)
		}
		if k.SensitiveSince, err = parseNullTime(sensitive); err != nil {
			return nil, fmt.Errorf("known endpoints: %w", err)
		}
		out = append(out, k)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("known endpoints: %w", err)
	}
	return out, nil
}

// AddEndpointReview implements state.MapStore.
func (s *Store) AddEndpointReview(ctx context.Context, r state.EndpointReview) error {
	switch r.Status {
	case state.ReviewUnreviewed, state.ReviewApproved, state.ReviewFlagged:
	default:
		return fmt.Errorf("review of endpoint %s: unknown status %q", r.EndpointID, r.Status)
	}
	_, err := s.db.ExecContext(ctx, `INSERT INTO endpoint_reviews (endpoint_id, status, reviewer, note, created_at) VALUES (?, ?, ?, ?, ?)`,
		r.EndpointID, r.Status, r.Reviewer, r.Note, formatTime(r.At))
	if err != nil {
		return fmt.Errorf("review of endpoint %s: %w", r.EndpointID, err)
	}
	return nil
}

// EndpointReviews implements state.MapStore.
func (s *Store) EndpointReviews(ctx context.Context, endpointID string) ([]state.EndpointReview, error) {
	reviews, err := s.reviews(ctx, `SELECT endpoint_id, status, reviewer, note, created_at FROM endpoint_reviews WHERE endpoint_id = ? ORDER BY id`, endpointID)
	if err != nil {
		return nil, fmt.Errorf("reviews of endpoint %s: %w", endpointID, err)
	}
	return reviews, nil
}

// LatestEndpointReviews implements state.MapStore.
func (s *Store) LatestEndpointReviews(ctx context.Context) (map[string]state.EndpointReview, error) {
	reviews, err := s.reviews(ctx, `SELECT r.endpoint_id, r.status, r.reviewer, r.note, r.created_at FROM endpoint_reviews r
		JOIN (SELECT max(id) AS id FROM endpoint_reviews GROUP BY endpoint_id) latest ON r.id = latest.id`)
	if err != nil {
		return nil, fmt.Errorf("latest endpoint reviews: %w", err)
	}
	out := make(map[string]state.EndpointReview, len(reviews))
	for _, r := range reviews {
		out[r.EndpointID] = r
	}
	return out, nil
}

func (s *Store) reviews(ctx context.Context, q string, args ...any) ([]state.EndpointReview, error) {
	rows, err := s.db.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := []state.EndpointReview{}
	for rows.Next() {
		var r state.EndpointReview
		var at string
		if err := rows.Scan(&r.EndpointID, &r.Status, &r.Reviewer, &r.Note, &at); err != nil {
			return nil, err
		}
		if r.At, err = parseTime(at); err != nil {
			return nil, err
		}
		out = append(out, r)
	}
	return out, rows.Err()
}

// Events implements state.MapStore.
func (s *Store) Events(ctx context.Context, f state.EventFilter) ([]state.Event, error) {
	where := []string{"id > ?"}
	args := []any{f.AfterID}
	if f.Kind != "" {
		where = append(where, "kind = ?")
		args = append(args, f.Kind)
	}
	if f.Unconsumed {
		where = append(where, "consumed_at IS NULL")
	}
	limit := f.Limit
	if limit <= 0 {
		limit = -1
	}
	rows, err := s.db.QueryContext(ctx, `SELECT id, kind, created_at, payload, consumed_at FROM events WHERE `+
		strings.Join(where, " AND ")+` ORDER BY id LIMIT ?`, append(args, limit)...)
	if err != nil {
		return nil, fmt.Errorf("events: %w", err)
	}
	defer rows.Close()
	out := []state.Event{}
	for rows.Next() {
		var ev state.Event
		var created string
		var consumed sql.NullString
		if err := rows.Scan(&ev.ID, &ev.Kind, &created, &ev.Payload, &consumed); err != nil {
			return nil, fmt.Errorf("events: %w", err)
		}
		if ev.CreatedAt, err = parseTime(created); err != nil {
			return nil, fmt.Errorf("events: %w", err)
		}
		if ev.ConsumedAt, err = parseNullTime(consumed); err != nil {
			return nil, fmt.Errorf("events: %w", err)
		}
		out = append(out, ev)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("events: %w", err)
	}
	return out, nil
}

// ConsumeEvent implements state.MapStore.
func (s *Store) ConsumeEvent(ctx context.Context, id int64, at time.Time) (bool, error) {
	res, err := s.db.ExecContext(ctx, `UPDATE events SET consumed_at = ? WHERE id = ? AND consumed_at IS NULL`, formatTime(at), id)
	if err != nil {
		return false, fmt.Errorf("consume event %d: %w", id, err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return false, fmt.Errorf("consume event %d: %w", id, err)
	}
	if n == 1 {
		return true, nil
	}
	var exists int
	if err := s.db.QueryRowContext(ctx, `SELECT count(*) FROM events WHERE id = ?`, id).Scan(&exists); err != nil {
		return false, fmt.Errorf("consume event %d: %w", id, err)
	}
	if exists == 0 {
		return false, fmt.Errorf("event %d: %w", id, state.ErrNotFound)
	}
	return false, nil
}
