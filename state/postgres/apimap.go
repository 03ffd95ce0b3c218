package postgres

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/tracehound/tracehound/state"
)

// PutAPISpec implements state.MapStore.
func (s *Store) PutAPISpec(ctx context.Context, spec state.APISpec) error {
	_, err := s.pool.Exec(ctx, `INSERT INTO api_specs (service, name, raw, registered_at) VALUES ($1, $2, $3, $4)
		ON CONFLICT (service) DO UPDATE SET name = excluded.name, raw = excluded.raw, registered_at = excluded.registered_at`,
		spec.Service, spec.Name, spec.Raw, stamp(spec.RegisteredAt))
	if err != nil {
		return fmt.Errorf("put API spec of %q: %w", spec.Service, err)
	}
	return nil
}

func scanAPISpec(row pgx.Row) (state.APISpec, error) {
	var spec state.APISpec
	err := row.Scan(&spec.Service, &spec.Name, &spec.Raw, (*scanStamp)(&spec.RegisteredAt))
	return spec, err
}

// APISpec implements state.MapStore.
func (s *Store) APISpec(ctx context.Context, service string) (state.APISpec, error) {
	spec, err := scanAPISpec(s.pool.QueryRow(ctx, `SELECT service, name, raw, registered_at FROM api_specs WHERE service = $1`, service))
	if errors.Is(err, pgx.ErrNoRows) {
		return state.APISpec{}, fmt.Errorf("API spec of %q: %w", service, state.ErrNotFound)
	}
	if err != nil {
		return state.APISpec{}, fmt.Errorf("API spec of %q: %w", service, err)
	}
	return spec, nil
}

// APISpecs implements state.MapStore.
func (s *Store) APISpecs(ctx context.Context) ([]state.APISpec, error) {
	return queryAll(ctx, s.pool, "API specs", scanAPISpec, `SELECT service, name, raw, registered_at FROM api_specs ORDER BY service`)
}

// AddMapPin implements state.MapStore.
func (s *Store) AddMapPin(ctx context.Context, p state.MapPin) (int64, error) {
	var id int64
	err := s.pool.QueryRow(ctx, `INSERT INTO map_pins (service, kind, path, note, created_by, created_at)
		VALUES ($1, $2, $3, $4, $5, $6) RETURNING id`,
		p.Service, p.Kind, p.Path, p.Note, p.CreatedBy, stamp(p.CreatedAt)).Scan(&id)
	if isUnique(err) {
		return 0, fmt.Errorf("%s %q of service %q: %w", p.Kind, p.Path, p.Service, state.ErrExists)
	}
	if err != nil {
		return 0, fmt.Errorf("add map pin: %w", err)
	}
	return id, nil
}

const mapPinColumns = `id, service, kind, path, note, created_by, created_at`

func scanMapPin(row pgx.Row) (state.MapPin, error) {
	var p state.MapPin
	err := row.Scan(&p.ID, &p.Service, &p.Kind, &p.Path, &p.Note, &p.CreatedBy, (*scanStamp)(&p.CreatedAt))
	return p, err
}

// MapPins implements state.MapStore.
func (s *Store) MapPins(ctx context.Context) ([]state.MapPin, error) {
	return queryAll(ctx, s.pool, "map pins", scanMapPin, `SELECT `+mapPinColumns+` FROM map_pins ORDER BY id`)
}

// DeleteMapPin implements state.MapStore.
func (s *Store) DeleteMapPin(ctx context.Context, id int64) (state.MapPin, error) {
	p, err := scanMapPin(s.pool.QueryRow(ctx, `DELETE FROM map_pins WHERE id = $1 RETURNING `+mapPinColumns, id))
	if errors.Is(err, pgx.ErrNoRows) {
		return p, fmt.Errorf("map pin %d: %w", id, state.ErrNotFound)
	}
	if err != nil {
		return p, fmt.Errorf("delete map pin %d: %w", id, err)
	}
	return p, nil
}

// AddMapSnapshot implements state.MapStore. Snapshots are added under a
// lock, so that their ids commit in order and an endpoint is new in
// exactly one snapshot.
func (s *Store) AddMapSnapshot(ctx context.Context, snap state.MapSnapshot, events []state.Event) (int64, error) {
	var id int64
	err := s.inTx(ctx, func(tx pgx.Tx) error {
		var err error
		id, err = addMapSnapshot(ctx, tx, snap, events)
		return err
	})
	if err != nil {
		return 0, fmt.Errorf("add map snapshot: %w", err)
	}
	return id, nil
}

func addMapSnapshot(ctx context.Context, tx pgx.Tx, snap state.MapSnapshot, events []state.Event) (int64, error) {
	if err := lock(ctx, tx, lockSnapshots); err != nil {
		return 0, err
	}
	var id int64
	if err := tx.QueryRow(ctx, `INSERT INTO map_snapshots (taken_at, window_seconds, endpoints, new_endpoints)
		VALUES ($1, $2, $3, 0) RETURNING id`, stamp(snap.TakenAt), int64(snap.Window/time.Second), len(snap.Endpoints)).Scan(&id); err != nil {
		return 0, err
	}
	// The endpoints go in with one COPY; the known endpoints with one
	// upsert each, which returns the endpoint's first snapshot: this one
	// exactly when no earlier snapshot saw it.
	rows := make([][]any, len(snap.Endpoints))
	for i, ep := range snap.Endpoints {
		first, err := nullStamp(ep.FirstSeen).Int64Value()
		if err != nil {
			return 0, fmt.Errorf("endpoint %s: %w", ep.EndpointID, err)
		}
		last, err := nullStamp(ep.LastSeen).Int64Value()
		if err != nil {
			return 0, fmt.Errorf("endpoint %s: %w", ep.EndpointID, err)
		}
		rows[i] = []any{id, ep.EndpointID, ep.Service, ep.Method, ep.Template, ep.Hits, first, last,
			ep.Shadow, ep.Sensitive, int32(ep.RiskScore), ep.Data}
	}
	if _, err := tx.CopyFrom(ctx, pgx.Identifier{"map_snapshot_endpoints"},
		[]string{"snapshot_id", "endpoint_id", "service", "method", "template", "hits", "first_seen", "last_seen",
			"shadow", "sensitive", "risk_score", "data"}, pgx.CopyFromRows(rows)); err != nil {
		return 0, fmt.Errorf("endpoints: %w", err)
	}
	var batch pgx.Batch
	known := 0
	for _, ep := range snap.Endpoints {
		if ep.Hits <= 0 || ep.FirstSeen.IsZero() {
			continue
		}
		var shadowSince, sensitiveSince time.Time
		if ep.Shadow {
			shadowSince = snap.TakenAt
		}
		if ep.Sensitive {
			sensitiveSince = snap.TakenAt
		}
		batch.Queue(`INSERT INTO map_endpoints
			(endpoint_id, service, method, template, first_seen, last_seen, first_snapshot_id, last_snapshot_id, shadow_since, sensitive_since)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $7, $8, $9)
			ON CONFLICT (endpoint_id) DO UPDATE SET
				first_seen = least(map_endpoints.first_seen, excluded.first_seen),
				last_seen = greatest(map_endpoints.last_seen, excluded.last_seen),
				last_snapshot_id = excluded.last_snapshot_id,
				shadow_since = coalesce(map_endpoints.shadow_since, excluded.shadow_since),
				sensitive_since = coalesce(map_endpoints.sensitive_since, excluded.sensitive_since)
			RETURNING first_snapshot_id`,
			ep.EndpointID, ep.Service, ep.Method, ep.Template, stamp(ep.FirstSeen), stamp(ep.LastSeen), id,
			nullStamp(shadowSince), nullStamp(sensitiveSince))
		known++
	}
	newEndpoints := 0
	if known > 0 {
		results := tx.SendBatch(ctx, &batch)
		for range known {
			var first int64
			if err := results.QueryRow().Scan(&first); err != nil {
				results.Close()
				return 0, fmt.Errorf("known endpoints: %w", err)
			}
			if first == id {
				newEndpoints++
			}
		}
		if err := results.Close(); err != nil {
			return 0, fmt.Errorf("known endpoints: %w", err)
		}
	}
	if _, err := tx.Exec(ctx, `UPDATE map_snapshots SET new_endpoints = $1 WHERE id = $2`, newEndpoints, id); err != nil {
		return 0, err
	}
	for _, ev := range events {
		if _, err := tx.Exec(ctx, `INSERT INTO events (kind, created_at, payload) VALUES ($1, $2, $3)`,
			ev.Kind, stamp(ev.CreatedAt), ev.Payload); err != nil {
			return 0, fmt.Errorf("event %s: %w", ev.Kind, err)
		}
	}
	return id, nil
}

// PruneMapSnapshots implements state.MapStore.
func (s *Store) PruneMapSnapshots(ctx context.Context, t time.Time) (int64, error) {
	tag, err := s.pool.Exec(ctx, `DELETE FROM map_snapshots
		WHERE taken_at < $1 AND id <> (SELECT max(id) FROM map_snapshots)`, stamp(t))
	if err != nil {
		return 0, fmt.Errorf("prune map snapshots: %w", err)
	}
	return tag.RowsAffected(), nil
}

const snapshotColumns = `id, taken_at, window_seconds, endpoints, new_endpoints`

func scanSnapshot(row pgx.Row) (state.MapSnapshot, error) {
	var snap state.MapSnapshot
	var window int64
	err := row.Scan(&snap.ID, (*scanStamp)(&snap.TakenAt), &window, &snap.EndpointCount, &snap.NewEndpoints)
	snap.Window = time.Duration(window) * time.Second
	return snap, err
}

// MapSnapshots implements state.MapStore.
func (s *Store) MapSnapshots(ctx context.Context, limit int) ([]state.MapSnapshot, error) {
	return queryAll(ctx, s.pool, "map snapshots", scanSnapshot,
		`SELECT `+snapshotColumns+` FROM map_snapshots ORDER BY id DESC LIMIT $1`, limitArg(limit))
}

// MapSnapshot implements state.MapStore.
func (s *Store) MapSnapshot(ctx context.Context, id int64) (state.MapSnapshot, error) {
	q, args := `SELECT `+snapshotColumns+` FROM map_snapshots WHERE id = $1`, []any{id}
	if id == 0 {
		q, args = `SELECT `+snapshotColumns+` FROM map_snapshots ORDER BY id DESC LIMIT 1`, nil
	}
	snap, err := scanSnapshot(s.pool.QueryRow(ctx, q, args...))
	if errors.Is(err, pgx.ErrNoRows) {
		return snap, fmt.Errorf("map snapshot %d: %w", id, state.ErrNotFound)
	}
	if err != nil {
		return snap, fmt.Errorf("map snapshot %d: %w", id, err)
	}
	snap.Endpoints, err = queryAll(ctx, s.pool, "map snapshot "+strconv.FormatInt(snap.ID, 10), func(row pgx.Row) (state.SnapshotEndpoint, error) {
		var ep state.SnapshotEndpoint
		err := row.Scan(&ep.EndpointID, &ep.Service, &ep.Method, &ep.Template, &ep.Hits, (*scanStamp)(&ep.FirstSeen),
			(*scanStamp)(&ep.LastSeen), &ep.Shadow, &ep.Sensitive, &ep.RiskScore, &ep.Data)
		return ep, err
	}, `SELECT endpoint_id, service, method, template, hits, first_seen, last_seen, shadow, sensitive, risk_score, data
		FROM map_snapshot_endpoints WHERE snapshot_id = $1 ORDER BY endpoint_id`, snap.ID)
	return snap, err
}

// KnownEndpoints implements state.MapStore.
func (s *Store) KnownEndpoints(ctx context.Context, f state.KnownEndpointFilter) ([]state.KnownEndpoint, error) {
	var w where
	if f.EndpointID != "" {
		w.add("endpoint_id = ?", f.EndpointID)
	}
	if !f.FirstSeenSince.IsZero() {
		w.add("first_seen >= ?", stamp(f.FirstSeenSince))
	}
	if f.FirstSnapshotID != 0 {
		w.add("first_snapshot_id = ?", f.FirstSnapshotID)
	}
	return queryAll(ctx, s.pool, "known endpoints", func(row pgx.Row) (state.KnownEndpoint, error) {
		var k state.KnownEndpoint
		err := row.Scan(&k.EndpointID, &k.Service, &k.Method, &k.Template, (*scanStamp)(&k.FirstSeen), (*scanStamp)(&k.LastSeen),
			&k.FirstSnapshotID, &k.LastSnapshotID, (*scanStamp)(&k.ShadowSince), (*scanStamp)(&k.SensitiveSince))
		return k, err
	}, `SELECT endpoint_id, service, method, template, first_seen, last_seen, first_snapshot_id, last_snapshot_id, shadow_since, sensitive_since
		FROM map_endpoints`+w.clause()+` ORDER BY endpoint_id`, w.args...)
}

// AddEndpointReview implements state.MapStore.
func (s *Store) AddEndpointReview(ctx context.Context, r state.EndpointReview) error {
	switch r.Status {
	case state.ReviewUnreviewed, state.ReviewApproved, state.ReviewFlagged:
	default:
		return fmt.Errorf("review of endpoint %s: unknown status %q", r.EndpointID, r.Status)
	}
	_, err := s.pool.Exec(ctx, `INSERT INTO endpoint_reviews (endpoint_id, status, reviewer, note, created_at) VALUES ($1, $2, $3, $4, $5)`,
		r.EndpointID, r.Status, r.Reviewer, r.Note, stamp(r.At))
	if err != nil {
		return fmt.Errorf("review of endpoint %s: %w", r.EndpointID, err)
	}
	return nil
}

func scanReview(row pgx.Row) (state.EndpointReview, error) {
	var r state.EndpointReview
	err := row.Scan(&r.EndpointID, &r.Status, &r.Reviewer, &r.Note, (*scanStamp)(&r.At))
	return r, err
}

// EndpointReviews implements state.MapStore.
func (s *Store) EndpointReviews(ctx context.Context, endpointID string) ([]state.EndpointReview, error) {
	return queryAll(ctx, s.pool, "reviews of endpoint "+endpointID, scanReview,
		`SELECT endpoint_id, status, reviewer, note, created_at FROM endpoint_reviews WHERE endpoint_id = $1 ORDER BY id`, endpointID)
}

// LatestEndpointReviews implements state.MapStore.
func (s *Store) LatestEndpointReviews(ctx context.Context) (map[string]state.EndpointReview, error) {
	reviews, err := queryAll(ctx, s.pool, "latest endpoint reviews", scanReview,
		`SELECT DISTINCT ON (endpoint_id) endpoint_id, status, reviewer, note, created_at FROM endpoint_reviews
		ORDER BY endpoint_id, id DESC`)
	if err != nil {
		return nil, err
	}
	out := make(map[string]state.EndpointReview, len(reviews))
	for _, r := range reviews {
		out[r.EndpointID] = r
	}
	return out, nil
}

// Events implements state.MapStore.
func (s *Store) Events(ctx context.Context, f state.EventFilter) ([]state.Event, error) {
	var w where
	w.add("id > ?", f.AfterID)
	if f.Kind != "" {
		w.add("kind = ?", f.Kind)
	}
	if f.Unconsumed {
		w.add("consumed_at IS NULL")
	}
	return queryAll(ctx, s.pool, "events", func(row pgx.Row) (state.Event, error) {
		var ev state.Event
		err := row.Scan(&ev.ID, &ev.Kind, (*scanStamp)(&ev.CreatedAt), &ev.Payload, (*scanStamp)(&ev.ConsumedAt))
		return ev, err
	}, `SELECT id, kind, created_at, payload, consumed_at FROM events`+w.clause()+` ORDER BY id LIMIT `+w.arg(limitArg(f.Limit)), w.args...)
}

// ConsumeEvent implements state.MapStore. Under read committed, a second
// consumer blocks on the first one's row lock and then finds the event
// consumed, so exactly one call reports true.
func (s *Store) ConsumeEvent(ctx context.Context, id int64, at time.Time) (bool, error) {
	tag, err := s.pool.Exec(ctx, `UPDATE events SET consumed_at = $1 WHERE id = $2 AND consumed_at IS NULL`, stamp(at), id)
	if err != nil {
		return false, fmt.Errorf("consume event %d: %w", id, err)
	}
	if tag.RowsAffected() == 1 {
		return true, nil
	}
	var exists bool
	if err := s.pool.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM events WHERE id = $1)`, id).Scan(&exists); err != nil {
		return false, fmt.Errorf("consume event %d: %w", id, err)
	}
	if !exists {
		return false, fmt.Errorf("event %d: %w", id, state.ErrNotFound)
	}
	return false, nil
}

// where builds a WHERE clause whose conditions write their arguments as
// "?", numbered $1, $2... in order.
type where struct {
	conds []string
	args  []any
}

// add appends a condition with one argument per "?" in cond.
func (w *where) add(cond string, args ...any) {
	for _, a := range args {
		cond = strings.Replace(cond, "?", w.arg(a), 1)
	}
	w.conds = append(w.conds, cond)
}

// arg appends an argument and returns its placeholder.
func (w *where) arg(a any) string {
	w.args = append(w.args, a)
	return "$" + strconv.Itoa(len(w.args))
}

// clause is " WHERE ..." or "" without conditions.
func (w *where) clause() string {
	if len(w.conds) == 0 {
		return ""
	}
	return " WHERE " + strings.Join(w.conds, " AND ")
}
