package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/tracehound/tracehound/state"
)

var (
	_ state.TriageStore    = (*Store)(nil)
	_ state.NotifyLogStore = (*Store)(nil)
)

// notificationColumns are the columns scanNotification reads, in order.
const notificationColumns = `id, fingerprint, rule_id, rule_name, severity, mode, labels, annotations, ip, api_key, endpoint,
	alert_state, starts_at, alert_ends_at, status, reason, assignee, first_seen, last_seen, count, incident_id, updated_at`

// querier is what *sql.DB and *sql.Tx have in common.
type querier interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

// inTx runs fn in a transaction, committing when it returns nil.
func (s *Store) inTx(ctx context.Context, fn func(tx *sql.Tx) error) error {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	if err := fn(tx); err != nil {
		tx.Rollback()
		return err
	}
	return tx.Commit()
}

// RecordAlert implements state.TriageStore.
func (s *Store) RecordAlert(ctx context.Context, rec state.AlertRecord, link state.IncidentLink) (state.RecordResult, error) {
	var res state.RecordResult
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		var err error
		res, err = recordAlert(ctx, tx, rec, link)
		return err
	})
	if err != nil {
		return state.RecordResult{}, fmt.Errorf("record alert %s: %w", rec.Fingerprint, err)
	}
	return res, nil
}

func recordAlert(ctx context.Context, tx *sql.Tx, rec state.AlertRecord, link state.IncidentLink) (state.RecordResult, error) {
	var res state.RecordResult
	at := formatTime(rec.At)
	var id int64
	var incident sql.NullInt64
	err := tx.QueryRowContext(ctx, `SELECT id, incident_id FROM notifications WHERE fingerprint = ? AND alert_state = 'firing'`,
		rec.Fingerprint).Scan(&id, &incident)
	found := err == nil
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return res, err
	}
	labels, err := json.Marshal(nonNilMap(rec.Labels))
	if err != nil {
		return res, err
	}
	annotations, err := json.Marshal(nonNilMap(rec.Annotations))
	if err != nil {
		return res, err
	}
	switch rec.State {
	case "firing":
		if found {
			if _, err := tx.ExecContext(ctx, `UPDATE notifications SET last_seen = max(last_seen, ?), count = count + 1,
				rule_name = ?, severity = ?, severity_rank = ?, labels = ?, annotations = ?, updated_at = ? WHERE id = ?`,
				at, rec.RuleName, rec.Severity, rec.SeverityRank, labels, annotations, at, id); err != nil {
				return res, err
			}
			if incident.Valid {
				if _, err := tx.ExecContext(ctx, `UPDATE incidents SET last_seen = max(last_seen, ?),
					severity = CASE WHEN severity_rank < ? THEN ? ELSE severity END,
					severity_rank = max(severity_rank, ?) WHERE id = ?`,
					at, rec.SeverityRank, rec.Severity, rec.SeverityRank, incident.Int64); err != nil {
					return res, err
				}
			}
			break
		}
		r, err := tx.ExecContext(ctx, `INSERT INTO notifications (fingerprint, rule_id, rule_name, severity, severity_rank, mode,
			labels, annotations, ip, api_key, endpoint, alert_state, starts_at, status, first_seen, last_seen, count, updated_at)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 'firing', ?, 'open', ?, ?, 1, ?)`,
			rec.Fingerprint, rec.RuleID, rec.RuleName, rec.Severity, rec.SeverityRank, rec.Mode, labels, annotations,
			rec.IP, rec.APIKey, rec.Endpoint, formatTime(rec.StartsAt), at, at, at)
		if err != nil {
			return res, err
		}
		if id, err = r.LastInsertId(); err != nil {
			return res, err
		}
		res.Created = true
		if err := addEvent(ctx, tx, state.TriageEvent{NotificationID: id, Kind: state.EventOpened, Actor: "tracehound",
			After: state.TriageOpen, At: rec.At}); err != nil {
			return res, err
		}
		if rec.Mode != "shadow" && link.Window > 0 {
			if res.Merged, err = linkIncident(ctx, tx, id, rec, link); err != nil {
				return res, fmt.Errorf("link incident: %w", err)
			}
		}
	case "resolved":
		if !found {
			return res, nil
		}
		ends := rec.EndsAt
		if ends.IsZero() {
			ends = rec.At
		}
		if _, err := tx.ExecContext(ctx, `UPDATE notifications SET alert_state = 'resolved', alert_ends_at = ?,
			last_seen = max(last_seen, ?), updated_at = ? WHERE id = ?`, formatTime(ends), at, at, id); err != nil {
			return res, err
		}
		if incident.Valid {
			if _, err := tx.ExecContext(ctx, `UPDATE incidents SET last_seen = max(last_seen, ?) WHERE id = ?`, at, incident.Int64); err != nil {
				return res, err
			}
		}
		res.Resolved = true
		if err := addEvent(ctx, tx, state.TriageEvent{NotificationID: id, Kind: state.EventAlertResolved, Actor: "tracehound",
			Before: "firing", After: "resolved", At: rec.At}); err != nil {
			return res, err
		}
	default:
		return res, fmt.Errorf("unknown alert state %q", rec.State)
	}
	n, err := notification(ctx, tx, id)
	if err != nil {
		return res, err
	}
	res.Notification = n
	return res, nil
}

// linkIncident puts the new notification id into an incident: the open
// incidents it links are merged into the oldest, which it joins; without
// one it opens its own.
func linkIncident(ctx context.Context, tx *sql.Tx, id int64, rec state.AlertRecord, link state.IncidentLink) ([]int64, error) {
	var keys []string
	var args []any
	for _, k := range []struct{ col, val string }{{"ip", rec.IP}, {"api_key", rec.APIKey}, {"endpoint", rec.Endpoint}} {
		if k.val != "" {
			keys = append(keys, "n."+k.col+" = ?")
			args = append(args, k.val)
		}
	}
	var candidates []int64
	if len(keys) > 0 {
		since := formatTime(rec.At.Add(-link.Window))
		rows, err := tx.QueryContext(ctx, `SELECT DISTINCT n.incident_id FROM notifications n JOIN incidents i ON i.id = n.incident_id
			WHERE (`+strings.Join(keys, " OR ")+`) AND n.last_seen >= ? AND n.id <> ? AND n.mode = 'active'
			AND i.merged_into IS NULL AND i.status IN ('open', 'investigating')
			ORDER BY n.incident_id`, append(args, since, id)...)
		if err != nil {
			return nil, err
		}
		for rows.Next() {
			var c int64
			if err := rows.Scan(&c); err != nil {
				rows.Close()
				return nil, err
			}
			candidates = append(candidates, c)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return nil, err
		}
	}
	at := formatTime(rec.At)
	var target int64
	if len(candidates) == 0 {
		r, err := tx.ExecContext(ctx, `INSERT INTO incidents (title, severity, severity_rank, status, first_seen, last_seen, created_at, updated_at)
			VALUES (?, ?, ?, 'open', ?, ?, ?, ?)`, link.Title, rec.Severity, rec.SeverityRank, at, at, at, at)
		if err != nil {
			return nil, err
		}
		if target, err = r.LastInsertId(); err != nil {
			return nil, err
		}
		if err := addEvent(ctx, tx, state.TriageEvent{IncidentID: target, Kind: state.EventOpened, Actor: "tracehound",
			After: link.Title, At: rec.At}); err != nil {
			return nil, err
		}
	} else {
		target = candidates[0]
	}
	merged := candidates[min(1, len(candidates)):]
	for _, m := range merged {
		for _, q := range []string{
			`UPDATE notifications SET incident_id = ? WHERE incident_id = ?`,
			`UPDATE incidents SET merged_into = ? WHERE merged_into = ?`,
		} {
			if _, err := tx.ExecContext(ctx, q, target, m); err != nil {
				return nil, err
			}
		}
		if _, err := tx.ExecContext(ctx, `UPDATE incidents SET merged_into = ?, updated_at = ? WHERE id = ?`, target, at, m); err != nil {
			return nil, err
		}
		if err := addEvent(ctx, tx, state.TriageEvent{IncidentID: target, Kind: state.EventMerged, Actor: "tracehound",
			Before: fmt.Sprint(m), After: fmt.Sprint(target), At: rec.At}); err != nil {
			return nil, err
		}
	}
	if _, err := tx.ExecContext(ctx, `UPDATE notifications SET incident_id = ? WHERE id = ?`, target, id); err != nil {
		return nil, err
	}
	if err := addEvent(ctx, tx, state.TriageEvent{NotificationID: id, IncidentID: target, Kind: state.EventJoined,
		Actor: "tracehound", After: fmt.Sprint(target), At: rec.At}); err != nil {
		return nil, err
	}
	// Recompute what the members together say.
	if _, err := tx.ExecContext(ctx, `UPDATE incidents SET
		first_seen = (SELECT min(first_seen) FROM notifications WHERE incident_id = ?1),
		last_seen = (SELECT max(last_seen) FROM notifications WHERE incident_id = ?1),
		severity = (SELECT severity FROM notifications WHERE incident_id = ?1 ORDER BY severity_rank DESC, id LIMIT 1),
		severity_rank = (SELECT max(severity_rank) FROM notifications WHERE incident_id = ?1),
		updated_at = ?2
		WHERE id = ?1`, target, at); err != nil {
		return nil, err
	}
	return slices.Clone(merged), nil
}

func addEvent(ctx context.Context, q querier, ev state.TriageEvent) error {
	_, err := q.ExecContext(ctx, `INSERT INTO triage_events (notification_id, incident_id, kind, actor, before, after, note, at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?)`, nullID(ev.NotificationID), nullID(ev.IncidentID), ev.Kind, ev.Actor,
		ev.Before, ev.After, ev.Note, formatTime(ev.At))
	return err
}

func nullID(id int64) sql.NullInt64 { return sql.NullInt64{Int64: id, Valid: id != 0} }

func nonNilMap(m map[string]string) map[string]string {
	if m == nil {
		return map[string]string{}
	}
	return m
}

// Notification implements state.TriageStore.
func (s *Store) Notification(ctx context.Context, id int64) (state.Notification, error) {
	n, err := notification(ctx, s.db, id)
	if err != nil {
		return n, fmt.Errorf("notification %d: %w", id, err)
	}
	return n, nil
}

func notification(ctx context.Context, q querier, id int64) (state.Notification, error) {
	n, err := scanNotification(q.QueryRowContext(ctx, `SELECT `+notificationColumns+` FROM notifications WHERE id = ?`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return n, state.ErrNotFound
	}
	return n, err
}

func scanNotification(row interface{ Scan(...any) error }) (state.Notification, error) {
	var n state.Notification
	var labels, annotations, starts, first, last, updated string
	var ends sql.NullString
	var incident sql.NullInt64
	if err := row.Scan(&n.ID, &n.Fingerprint, &n.RuleID, &n.RuleName, &n.Severity, &n.Mode, &labels, &annotations,
		&n.IP, &n.APIKey, &n.Endpoint, &n.AlertState, &starts, &ends, &n.Status, &n.Reason, &n.Assignee,
		&first, &last, &n.Count, &incident, &updated); err != nil {
		return n, err
	}
	n.IncidentID = incident.Int64
	if err := json.Unmarshal([]byte(labels), &n.Labels); err != nil {
		return n, fmt.Errorf("labels: %w", err)
	}
	if err := json.Unmarshal([]byte(annotations), &n.Annotations); err != nil {
		return n, fmt.Errorf("annotations: %w", err)
	}
	var err error
	for _, t := range []struct {
		dst *time.Time
		src string
	}{{&n.StartsAt, starts}, {&n.FirstSeen, first}, {&n.LastSeen, last}, {&n.UpdatedAt, updated}} {
		if *t.dst, err = parseTime(t.src); err != nil {
			return n, err
		}
	}
	n.AlertEndsAt, err = parseNullTime(ends)
	return n, err
}

// notificationWhere turns a filter into a WHERE clause and its arguments.
func notificationWhere(f state.NotificationFilter, paged bool) (string, []any) {
	var where []string
	var args []any
	switch f.Mode {
	case "", "active":
		where = append(where, "mode = 'active'")
	case "any":
	default:
		where = append(where, "mode = ?")
		args = append(args, f.Mode)
	}
	in := func(col string, vals []string) {
		if len(vals) == 0 {
			return
		}
		where = append(where, col+" IN ("+strings.TrimSuffix(strings.Repeat("?, ", len(vals)), ", ")+")")
		for _, v := range vals {
			args = append(args, v)
		}
	}
	in("status", f.Statuses)
	in("severity", f.Severities)
	eq := func(col string, v any, set bool) {
		if set {
			where = append(where, col+" = ?")
			args = append(args, v)
		}
	}
	eq("rule_id", f.RuleID, f.RuleID != "")
	eq("ip", f.IP, f.IP != "")
	eq("api_key", f.APIKey, f.APIKey != "")
	eq("endpoint", f.Endpoint, f.Endpoint != "")
	eq("assignee", f.Assignee, f.Assignee != "")
	eq("incident_id", f.IncidentID, f.IncidentID != 0)
	eq("alert_state", f.AlertState, f.AlertState != "")
	if !f.Since.IsZero() {
		where = append(where, "first_seen >= ?")
		args = append(args, formatTime(f.Since))
	}
	if !f.Until.IsZero() {
		where = append(where, "first_seen < ?")
		args = append(args, formatTime(f.Until))
	}
	if paged && f.BeforeID > 0 {
		where = append(where, "id < ?")
		args = append(args, f.BeforeID)
	}
	if len(where) == 0 {
		return "", args
	}
	return " WHERE " + strings.Join(where, " AND "), args
}

// Notifications implements state.TriageStore.
func (s *Store) Notifications(ctx context.Context, f state.NotificationFilter) ([]state.Notification, error) {
	where, args := notificationWhere(f, true)
	limit := f.Limit
	if limit <= 0 {
		limit = -1
	}
	rows, err := s.db.QueryContext(ctx, `SELECT `+notificationColumns+` FROM notifications`+where+` ORDER BY id DESC LIMIT ?`,
		append(args, limit)...)
	if err != nil {
		return nil, fmt.Errorf("notifications: %w", err)
	}
	defer rows.Close()
	out := []state.Notification{}
	for rows.Next() {
		n, err := scanNotification(rows)
		if err != nil {
			return nil, fmt.Errorf("notifications: %w", err)
		}
		out = append(out, n)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("notifications: %w", err)
	}
	return out, nil
}

// CountNotifications implements state.TriageStore.
func (s *Store) CountNotifications(ctx context.Context, f state.NotificationFilter) (int, error) {
	where, args := notificationWhere(f, false)
	var n int
	if err := s.db.QueryRowContext(ctx, `SELECT count(*) FROM notifications`+where, args...).Scan(&n); err != nil {
		return 0, fmt.Errorf("count notifications: %w", err)
	}
	return n, nil
}

// UpdateNotifications implements state.TriageStore.
func (s *Store) UpdateNotifications(ctx context.Context, ids []int64, u state.TriageUpdate) ([]state.Notification, error) {
	if err := checkUpdate(u); err != nil {
		return nil, fmt.Errorf("update notifications: %w", err)
	}
	out := make([]state.Notification, 0, len(ids))
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		for _, id := range ids {
			n, err := notification(ctx, tx, id)
			if err != nil {
				return fmt.Errorf("notification %d: %w", id, err)
			}
			changed, err := applyUpdate(ctx, tx, "notifications", state.TriageEvent{NotificationID: id, IncidentID: n.IncidentID},
				current{n.Status, n.Reason, n.Assignee, ""}, u)
			if err != nil {
				return fmt.Errorf("notification %d: %w", id, err)
			}
			if changed {
				if n, err = notification(ctx, tx, id); err != nil {
					return err
				}
			}
			out = append(out, n)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("update notifications: %w", err)
	}
	return out, nil
}

func checkUpdate(u state.TriageUpdate) error {
	if u.Status != "" && !state.ValidTriageStatus(u.Status) {
		return fmt.Errorf("unknown triage status %q", u.Status)
	}
	if u.Status == state.TriageFalsePositive && strings.TrimSpace(u.Reason) == "" {
		return errors.New("a false positive needs a reason")
	}
	return nil
}

// current is what an update may change.
type current struct{ status, reason, assignee, title string }

// applyUpdate changes one row of table (notifications or incidents) and
// records an event per changed field. The event template carries the ids.
func applyUpdate(ctx context.Context, tx *sql.Tx, table string, ev state.TriageEvent, cur current, u state.TriageUpdate) (bool, error) {
	id := ev.NotificationID
	if table == "incidents" {
		id = ev.IncidentID
	}
	ev.Actor, ev.At = u.Actor, u.At
	changed := false
	set := func(col, val string) error {
		changed = true
		_, err := tx.ExecContext(ctx, `UPDATE `+table+` SET `+col+` = ?, updated_at = ? WHERE id = ?`, val, formatTime(u.At), id)
		return err
	}
	record := func(kind, before, after, note string) error {
		e := ev
		e.Kind, e.Before, e.After, e.Note = kind, before, after, note
		return addEvent(ctx, tx, e)
	}
	if u.Status != "" && u.Status != cur.status {
		if err := set("status", u.Status); err != nil {
			return false, err
		}
		if err := set("reason", u.Reason); err != nil {
			return false, err
		}
		if err := record(state.EventStatus, cur.status, u.Status, u.Reason); err != nil {
			return false, err
		}
	}
	if u.Assignee != nil && *u.Assignee != cur.assignee {
		if err := set("assignee", *u.Assignee); err != nil {
			return false, err
		}
		if err := record(state.EventAssignee, cur.assignee, *u.Assignee, ""); err != nil {
			return false, err
		}
	}
	if table == "incidents" && u.Title != "" && u.Title != cur.title {
		if err := set("title", u.Title); err != nil {
			return false, err
		}
		if err := record(state.EventTitle, cur.title, u.Title, ""); err != nil {
			return false, err
		}
	}
	if u.Note != "" {
		changed = true
		if _, err := tx.ExecContext(ctx, `UPDATE `+table+` SET updated_at = ? WHERE id = ?`, formatTime(u.At), id); err != nil {
			return false, err
		}
		if err := record(state.EventNote, "", "", u.Note); err != nil {
			return false, err
		}
	}
	return changed, nil
}

// Incident implements state.TriageStore.
func (s *Store) Incident(ctx context.Context, id int64) (state.Incident, error) {
	inc, err := incident(ctx, s.db, id)
	if err != nil {
		return inc, fmt.Errorf("incident %d: %w", id, err)
	}
	return inc, nil
}

const incidentColumns = `id, title, severity, status, reason, assignee, first_seen, last_seen, merged_into, created_at, updated_at`

func incident(ctx context.Context, q querier, id int64) (state.Incident, error) {
	inc, err := scanIncident(q.QueryRowContext(ctx, `SELECT `+incidentColumns+` FROM incidents WHERE id = ?`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return inc, state.ErrNotFound
	}
	if err != nil {
		return inc, err
	}
	return inc, incidentMembers(ctx, q, &inc)
}

func scanIncident(row interface{ Scan(...any) error }) (state.Incident, error) {
	var inc state.Incident
	var first, last, created, updated string
	var merged sql.NullInt64
	if err := row.Scan(&inc.ID, &inc.Title, &inc.Severity, &inc.Status, &inc.Reason, &inc.Assignee,
		&first, &last, &merged, &created, &updated); err != nil {
		return inc, err
	}
	inc.MergedInto = merged.Int64
	var err error
	for _, t := range []struct {
		dst *time.Time
		src string
	}{{&inc.FirstSeen, first}, {&inc.LastSeen, last}, {&inc.CreatedAt, created}, {&inc.UpdatedAt, updated}} {
		if *t.dst, err = parseTime(t.src); err != nil {
			return inc, err
		}
	}
	return inc, nil
}

// incidentMembers fills in what the incident's notifications share.
func incidentMembers(ctx context.Context, q querier, inc *state.Incident) error {
	rows, err := q.QueryContext(ctx, `SELECT ip, api_key, endpoint, rule_id FROM notifications WHERE incident_id = ?`, inc.ID)
	if err != nil {
		return err
	}
	defer rows.Close()
	sets := [4]map[string]bool{{}, {}, {}, {}}
	inc.NotificationCount = 0
	for rows.Next() {
		var vals [4]string
		if err := rows.Scan(&vals[0], &vals[1], &vals[2], &vals[3]); err != nil {
			return err
		}
		inc.NotificationCount++
		for i, v := range vals {
			if v != "" {
				sets[i][v] = true
			}
		}
	}
	if err := rows.Err(); err != nil {
		return err
	}
	sorted := func(m map[string]bool) []string {
		out := make([]string, 0, len(m))
		for k := range m {
			out = append(out, k)
		}
		slices.Sort(out)
		return out
	}
	inc.IPs, inc.APIKeys, inc.Endpoints, inc.RuleIDs = sorted(sets[0]), sorted(sets[1]), sorted(sets[2]), sorted(sets[3])
	return nil
}

// Incidents implements state.TriageStore.
func (s *Store) Incidents(ctx context.Context, f state.IncidentFilter) ([]state.Incident, error) {
	where := []string{"merged_into IS NULL"}
	var args []any
	if len(f.Statuses) > 0 {
		where = append(where, "status IN ("+strings.TrimSuffix(strings.Repeat("?, ", len(f.Statuses)), ", ")+")")
		for _, st := range f.Statuses {
			args = append(args, st)
		}
	}
	if !f.Since.IsZero() {
		where = append(where, "last_seen >= ?")
		args = append(args, formatTime(f.Since))
	}
	if f.BeforeID > 0 {
		where = append(where, "id < ?")
		args = append(args, f.BeforeID)
	}
	limit := f.Limit
	if limit <= 0 {
		limit = -1
	}
	rows, err := s.db.QueryContext(ctx, `SELECT `+incidentColumns+` FROM incidents WHERE `+strings.Join(where, " AND ")+
		` ORDER BY id DESC LIMIT ?`, append(args, limit)...)
	if err != nil {
		return nil, fmt.Errorf("incidents: %w", err)
	}
	out := []state.Incident{}
	for rows.Next() {
		inc, err := scanIncident(rows)
		if err != nil {
			rows.Close()
			return nil, fmt.Errorf("incidents: %w", err)
		}
		out = append(out, inc)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("incidents: %w", err)
	}
	for i := range out {
		if err := incidentMembers(ctx, s.db, &out[i]); err != nil {
			return nil, fmt.Errorf("incidents: %w", err)
		}
	}
	return out, nil
}

// UpdateIncident implements state.TriageStore.
func (s *Store) UpdateIncident(ctx context.Context, id int64, u state.TriageUpdate) (state.Incident, error) {
	if err := checkUpdate(u); err != nil {
		return state.Incident{}, fmt.Errorf("update incident %d: %w", id, err)
	}
	var inc state.Incident
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		cur, err := incident(ctx, tx, id)
		if err != nil {
			return err
		}
		if _, err := applyUpdate(ctx, tx, "incidents", state.TriageEvent{IncidentID: id},
			current{cur.Status, cur.Reason, cur.Assignee, cur.Title}, u); err != nil {
			return err
		}
		inc, err = incident(ctx, tx, id)
		return err
	})
	if err != nil {
		return state.Incident{}, fmt.Errorf("update incident %d: %w", id, err)
	}
	return inc, nil
}

// TriageEvents implements state.TriageStore.
func (s *Store) TriageEvents(ctx context.Context, f state.TriageEventFilter) ([]state.TriageEvent, error) {
	var q string
	var args []any
	switch {
	case f.NotificationID != 0 && f.IncidentID == 0:
		q, args = `WHERE notification_id = ?`, []any{f.NotificationID}
	case f.IncidentID != 0 && f.NotificationID == 0:
		// The incident's own events, those of incidents merged into it,
		// and those of its members.
		q = `WHERE incident_id IN (SELECT id FROM incidents WHERE id = ?1 OR merged_into = ?1)
			OR notification_id IN (SELECT id FROM notifications WHERE incident_id = ?1)`
		args = []any{f.IncidentID}
	default:
		return nil, errors.New("triage events: set exactly one of notification and incident id")
	}
	rows, err := s.db.QueryContext(ctx, `SELECT id, notification_id, incident_id, kind, actor, before, after, note, at
		FROM triage_events `+q+` ORDER BY at, id`, args...)
	if err != nil {
		return nil, fmt.Errorf("triage events: %w", err)
	}
	defer rows.Close()
	out := []state.TriageEvent{}
	for rows.Next() {
		var ev state.TriageEvent
		var nid, iid sql.NullInt64
		var at string
		if err := rows.Scan(&ev.ID, &nid, &iid, &ev.Kind, &ev.Actor, &ev.Before, &ev.After, &ev.Note, &at); err != nil {
			return nil, fmt.Errorf("triage events: %w", err)
		}
		ev.NotificationID, ev.IncidentID = nid.Int64, iid.Int64
		if ev.At, err = parseTime(at); err != nil {
			return nil, fmt.Errorf("triage events: %w", err)
		}
		out = append(out, ev)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("triage events: %w", err)
	}
	return out, nil
}

// NotifyLogEntry implements state.NotifyLogStore.
func (s *Store) NotifyLogEntry(ctx context.Context, receiver, groupKey string) (state.NotifyLogEntry, error) {
	e := state.NotifyLogEntry{Receiver: receiver, GroupKey: groupKey}
	var firing, resolved, sent, expires string
	err := s.db.QueryRowContext(ctx, `SELECT firing, resolved, sent_at, expires_at FROM notify_log WHERE receiver = ? AND group_key = ?`,
		receiver, groupKey).Scan(&firing, &resolved, &sent, &expires)
	if errors.Is(err, sql.ErrNoRows) {
		return e, fmt.Errorf("notify log of %s %s: %w", receiver, groupKey, state.ErrNotFound)
	}
	if err == nil {
		err = json.Unmarshal([]byte(firing), &e.Firing)
	}
	if err == nil {
		err = json.Unmarshal([]byte(resolved), &e.Resolved)
	}
	if err == nil {
		e.SentAt, err = parseTime(sent)
	}
	if err == nil {
		e.ExpiresAt, err = parseTime(expires)
	}
	if err != nil {
		return e, fmt.Errorf("notify log of %s %s: %w", receiver, groupKey, err)
	}
	return e, nil
}

// PutNotifyLogEntry implements state.NotifyLogStore.
func (s *Store) PutNotifyLogEntry(ctx context.Context, e state.NotifyLogEntry) error {
	firing, err := json.Marshal(sortedCopy(e.Firing))
	if err != nil {
		return err
	}
	resolved, err := json.Marshal(sortedCopy(e.Resolved))
	if err != nil {
		return err
	}
	_, err = s.db.ExecContext(ctx, `INSERT INTO notify_log (receiver, group_key, firing, resolved, sent_at, expires_at)
		VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (receiver, group_key) DO UPDATE SET
		firing = excluded.firing, resolved = excluded.resolved, sent_at = excluded.sent_at, expires_at = excluded.expires_at`,
		e.Receiver, e.GroupKey, firing, resolved, formatTime(e.SentAt), formatTime(e.ExpiresAt))
	if err != nil {
		return fmt.Errorf("put notify log of %s %s: %w", e.Receiver, e.GroupKey, err)
	}
	return nil
}

func sortedCopy(s []string) []string {
	out := append([]string{}, s...)
	slices.Sort(out)
	return out
}

// DeleteNotifyLogEntries implements state.NotifyLogStore.
func (s *Store) DeleteNotifyLogEntries(ctx context.Context, before time.Time) (int, error) {
	r, err := s.db.ExecContext(ctx, `DELETE FROM notify_log WHERE expires_at < ?`, formatTime(before))
	if err != nil {
		return 0, fmt.Errorf("delete notify log entries: %w", err)
	}
	n, err := r.RowsAffected()
	if err != nil {
		return 0, fmt.Errorf("delete notify log entries: %w", err)
	}
	return int(n), nil
}
