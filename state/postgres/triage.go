package postgres

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/tracehound/tracehound/state"
)

var (
	_ state.TriageStore    = (*Store)(nil)
	_ state.NotifyLogStore = (*Store)(nil)
)

// notificationColumns are the columns scanNotification reads, in order.
const notificationColumns = `id, fingerprint, rule_id, rule_name, severity, mode, labels, annotations, ip, api_key, endpoint,
	alert_state, starts_at, alert_ends_at, status, reason, assignee, first_seen, last_seen, count, incident_id, updated_at`

// RecordAlert implements state.TriageStore. Triage writes (RecordAlert,
// UpdateNotifications, UpdateIncident) hold the triage lock: like
// SQLite's single writer, it makes each one see the others' results, so
// that two replicas delivering the same alert update one notification and
// two related notifications end up in one incident.
func (s *Store) RecordAlert(ctx context.Context, rec state.AlertRecord, link state.IncidentLink) (state.RecordResult, error) {
	var res state.RecordResult
	err := s.inTx(ctx, func(tx pgx.Tx) error {
		if err := lock(ctx, tx, lockTriage); err != nil {
			return err
		}
		var err error
		res, err = recordAlert(ctx, tx, rec, link)
		return err
	})
	if err != nil {
		return state.RecordResult{}, fmt.Errorf("record alert %s: %w", rec.Fingerprint, err)
	}
	return res, nil
}

func recordAlert(ctx context.Context, tx pgx.Tx, rec state.AlertRecord, link state.IncidentLink) (state.RecordResult, error) {
	var res state.RecordResult
	if rec.State != "firing" && rec.State != "resolved" {
		return res, fmt.Errorf("unknown alert state %q", rec.State)
	}
	var id int64
	var incident *int64
	err := tx.QueryRow(ctx, `SELECT id, incident_id FROM notifications WHERE fingerprint = $1 AND alert_state = 'firing'`,
		rec.Fingerprint).Scan(&id, &incident)
	found := err == nil
	if err != nil && !errors.Is(err, pgx.ErrNoRows) {
		return res, err
	}
	at := stamp(rec.At)
	switch rec.State {
	case "firing":
		if found {
			if _, err := tx.Exec(ctx, `UPDATE notifications SET last_seen = greatest(last_seen, $1), count = count + 1,
				rule_name = $2, severity = $3, severity_rank = $4, labels = $5, annotations = $6, updated_at = $1 WHERE id = $7`,
				at, rec.RuleName, rec.Severity, rec.SeverityRank, nonNilMap(rec.Labels), nonNilMap(rec.Annotations), id); err != nil {
				return res, err
			}
			if incident != nil {
				if _, err := tx.Exec(ctx, `UPDATE incidents SET last_seen = greatest(last_seen, $1),
					severity = CASE WHEN severity_rank < $2 THEN $3 ELSE severity END,
					severity_rank = greatest(severity_rank, $2) WHERE id = $4`,
					at, rec.SeverityRank, rec.Severity, *incident); err != nil {
					return res, err
				}
			}
			break
		}
		if err := tx.QueryRow(ctx, `INSERT INTO notifications (fingerprint, rule_id, rule_name, severity, severity_rank, mode,
			labels, annotations, ip, api_key, endpoint, alert_state, starts_at, status, first_seen, last_seen, count, updated_at)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, 'firing', $12, 'open', $13, $13, 1, $13) RETURNING id`,
			rec.Fingerprint, rec.RuleID, rec.RuleName, rec.Severity, rec.SeverityRank, rec.Mode, nonNilMap(rec.Labels),
			nonNilMap(rec.Annotations), rec.IP, rec.APIKey, rec.Endpoint, stamp(rec.StartsAt), at).Scan(&id); err != nil {
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
		if _, err := tx.Exec(ctx, `UPDATE notifications SET alert_state = 'resolved', alert_ends_at = $1,
			last_seen = greatest(last_seen, $2), updated_at = $2 WHERE id = $3`, stamp(ends), at, id); err != nil {
			return res, err
		}
		if incident != nil {
			if _, err := tx.Exec(ctx, `UPDATE incidents SET last_seen = greatest(last_seen, $1) WHERE id = $2`, at, *incident); err != nil {
				return res, err
			}
		}
		res.Resolved = true
		if err := addEvent(ctx, tx, state.TriageEvent{NotificationID: id, Kind: state.EventAlertResolved, Actor: "tracehound",
			Before: "firing", After: "resolved", At: rec.At}); err != nil {
			return res, err
		}
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
func linkIncident(ctx context.Context, tx pgx.Tx, id int64, rec state.AlertRecord, link state.IncidentLink) ([]int64, error) {
	var keys []string
	var w where
	for _, k := range []struct{ col, val string }{{"ip", rec.IP}, {"api_key", rec.APIKey}, {"endpoint", rec.Endpoint}} {
		if k.val != "" {
			keys = append(keys, "n."+k.col+" = "+w.arg(k.val))
		}
	}
	var candidates []int64
	if len(keys) > 0 {
		rows, err := tx.Query(ctx, `SELECT DISTINCT n.incident_id FROM notifications n JOIN incidents i ON i.id = n.incident_id
			WHERE (`+strings.Join(keys, " OR ")+`) AND n.last_seen >= `+w.arg(stamp(rec.At.Add(-link.Window)))+`
			AND n.id <> `+w.arg(id)+` AND n.mode = 'active'
			AND i.merged_into IS NULL AND i.status IN ('open', 'investigating')
			ORDER BY n.incident_id`, w.args...)
		if err != nil {
			return nil, err
		}
		if candidates, err = pgx.CollectRows(rows, pgx.RowTo[int64]); err != nil {
			return nil, err
		}
	}
	at := stamp(rec.At)
	var target int64
	if len(candidates) == 0 {
		if err := tx.QueryRow(ctx, `INSERT INTO incidents (title, severity, severity_rank, status, first_seen, last_seen, created_at, updated_at)
			VALUES ($1, $2, $3, 'open', $4, $4, $4, $4) RETURNING id`, link.Title, rec.Severity, rec.SeverityRank, at).Scan(&target); err != nil {
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
			`UPDATE notifications SET incident_id = $1 WHERE incident_id = $2`,
			`UPDATE incidents SET merged_into = $1 WHERE merged_into = $2`,
		} {
			if _, err := tx.Exec(ctx, q, target, m); err != nil {
				return nil, err
			}
		}
		if _, err := tx.Exec(ctx, `UPDATE incidents SET merged_into = $1, updated_at = $2 WHERE id = $3`, target, at, m); err != nil {
			return nil, err
		}
		if err := addEvent(ctx, tx, state.TriageEvent{IncidentID: target, Kind: state.EventMerged, Actor: "tracehound",
			Before: strconv.FormatInt(m, 10), After: strconv.FormatInt(target, 10), At: rec.At}); err != nil {
			return nil, err
		}
	}
	if _, err := tx.Exec(ctx, `UPDATE notifications SET incident_id = $1 WHERE id = $2`, target, id); err != nil {
		return nil, err
	}
	if err := addEvent(ctx, tx, state.TriageEvent{NotificationID: id, IncidentID: target, Kind: state.EventJoined,
		Actor: "tracehound", After: strconv.FormatInt(target, 10), At: rec.At}); err != nil {
		return nil, err
	}
	// Recompute what the members together say.
	if _, err := tx.Exec(ctx, `UPDATE incidents SET
		first_seen = (SELECT min(first_seen) FROM notifications WHERE incident_id = $1),
		last_seen = (SELECT max(last_seen) FROM notifications WHERE incident_id = $1),
		severity = (SELECT severity FROM notifications WHERE incident_id = $1 ORDER BY severity_rank DESC, id LIMIT 1),
		severity_rank = (SELECT max(severity_rank) FROM notifications WHERE incident_id = $1),
		updated_at = $2
		WHERE id = $1`, target, at); err != nil {
		return nil, err
	}
	return slices.Clone(merged), nil
}

func addEvent(ctx context.Context, q querier, ev state.TriageEvent) error {
	_, err := q.Exec(ctx, `INSERT INTO triage_events (notification_id, incident_id, kind, actor, before, after, note, at)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`, nullID(ev.NotificationID), nullID(ev.IncidentID), ev.Kind, ev.Actor,
		ev.Before, ev.After, ev.Note, stamp(ev.At))
	return err
}

// nullID stores id 0 as NULL.
func nullID(id int64) *int64 {
	if id == 0 {
		return nil
	}
	return &id
}

func nonNilMap(m map[string]string) map[string]string {
	if m == nil {
		return map[string]string{}
	}
	return m
}

// Notification implements state.TriageStore.
func (s *Store) Notification(ctx context.Context, id int64) (state.Notification, error) {
	n, err := notification(ctx, s.pool, id)
	if err != nil {
		return n, fmt.Errorf("notification %d: %w", id, err)
	}
	return n, nil
}

func notification(ctx context.Context, q querier, id int64) (state.Notification, error) {
	n, err := scanNotification(q.QueryRow(ctx, `SELECT `+notificationColumns+` FROM notifications WHERE id = $1`, id))
	if errors.Is(err, pgx.ErrNoRows) {
		return n, state.ErrNotFound
	}
	return n, err
}

func scanNotification(row pgx.Row) (state.Notification, error) {
	var n state.Notification
	var incident *int64
	if err := row.Scan(&n.ID, &n.Fingerprint, &n.RuleID, &n.RuleName, &n.Severity, &n.Mode, &n.Labels, &n.Annotations,
		&n.IP, &n.APIKey, &n.Endpoint, &n.AlertState, (*scanStamp)(&n.StartsAt), (*scanStamp)(&n.AlertEndsAt), &n.Status,
		&n.Reason, &n.Assignee, (*scanStamp)(&n.FirstSeen), (*scanStamp)(&n.LastSeen), &n.Count, &incident,
		(*scanStamp)(&n.UpdatedAt)); err != nil {
		return n, err
	}
	if incident != nil {
		n.IncidentID = *incident
	}
	return n, nil
}

// notificationWhere turns a filter into a WHERE clause and its arguments.
func notificationWhere(f state.NotificationFilter, paged bool) where {
	var w where
	switch f.Mode {
	case "", "active":
		w.add("mode = 'active'")
	case "any":
	default:
		w.add("mode = ?", f.Mode)
	}
	if len(f.Statuses) > 0 {
		w.add("status = ANY(?)", f.Statuses)
	}
	if len(f.Severities) > 0 {
		w.add("severity = ANY(?)", f.Severities)
	}
	for _, eq := range []struct {
		col string
		val any
		set bool
	}{
		{"rule_id", f.RuleID, f.RuleID != ""},
		{"ip", f.IP, f.IP != ""},
		{"api_key", f.APIKey, f.APIKey != ""},
		{"endpoint", f.Endpoint, f.Endpoint != ""},
		{"assignee", f.Assignee, f.Assignee != ""},
		{"incident_id", f.IncidentID, f.IncidentID != 0},
		{"alert_state", f.AlertState, f.AlertState != ""},
	} {
		if eq.set {
			w.add(eq.col+" = ?", eq.val)
		}
	}
	if !f.Since.IsZero() {
		w.add("first_seen >= ?", stamp(f.Since))
	}
	if !f.Until.IsZero() {
		w.add("first_seen < ?", stamp(f.Until))
	}
	if paged && f.BeforeID > 0 {
		w.add("id < ?", f.BeforeID)
	}
	return w
}

// Notifications implements state.TriageStore.
func (s *Store) Notifications(ctx context.Context, f state.NotificationFilter) ([]state.Notification, error) {
	w := notificationWhere(f, true)
	return queryAll(ctx, s.pool, "notifications", scanNotification,
		`SELECT `+notificationColumns+` FROM notifications`+w.clause()+` ORDER BY id DESC LIMIT `+w.arg(limitArg(f.Limit)), w.args...)
}

// CountNotifications implements state.TriageStore.
func (s *Store) CountNotifications(ctx context.Context, f state.NotificationFilter) (int, error) {
	w := notificationWhere(f, false)
	var n int
	if err := s.pool.QueryRow(ctx, `SELECT count(*) FROM notifications`+w.clause(), w.args...).Scan(&n); err != nil {
		return 0, fmt.Errorf("count notifications: %w", err)
	}
	return n, nil
}

// UpdateNotifications implements state.TriageStore.
func (s *Store) UpdateNotifications(ctx context.Context, ids []int64, u state.TriageUpdate) ([]state.Notification, error) {
	if err := checkUpdate(u); err != nil {
		return nil, fmt.Errorf("update notifications: %w", err)
	}
	var out []state.Notification
	err := s.inTx(ctx, func(tx pgx.Tx) error {
		if err := lock(ctx, tx, lockTriage); err != nil {
			return err
		}
		out = make([]state.Notification, 0, len(ids))
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
func applyUpdate(ctx context.Context, tx pgx.Tx, table string, ev state.TriageEvent, cur current, u state.TriageUpdate) (bool, error) {
	id := ev.NotificationID
	if table == "incidents" {
		id = ev.IncidentID
	}
	ev.Actor, ev.At = u.Actor, u.At
	changed := false
	set := func(col, val string) error {
		changed = true
		_, err := tx.Exec(ctx, `UPDATE `+table+` SET `+col+` = $1, updated_at = $2 WHERE id = $3`, val, stamp(u.At), id)
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
		if _, err := tx.Exec(ctx, `UPDATE `+table+` SET updated_at = $1 WHERE id = $2`, stamp(u.At), id); err != nil {
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
	inc, err := incident(ctx, s.pool, id)
	if err != nil {
		return inc, fmt.Errorf("incident %d: %w", id, err)
	}
	return inc, nil
}

const incidentColumns = `id, title, severity, status, reason, assignee, first_seen, last_seen, merged_into, created_at, updated_at`

func incident(ctx context.Context, q querier, id int64) (state.Incident, error) {
	inc, err := scanIncident(q.QueryRow(ctx, `SELECT `+incidentColumns+` FROM incidents WHERE id = $1`, id))
	if errors.Is(err, pgx.ErrNoRows) {
		return inc, state.ErrNotFound
	}
	if err != nil {
		return inc, err
	}
	return inc, incidentMembers(ctx, q, &inc)
}

func scanIncident(row pgx.Row) (state.Incident, error) {
	var inc state.Incident
	var merged *int64
	if err := row.Scan(&inc.ID, &inc.Title, &inc.Severity, &inc.Status, &inc.Reason, &inc.Assignee,
		(*scanStamp)(&inc.FirstSeen), (*scanStamp)(&inc.LastSeen), &merged, (*scanStamp)(&inc.CreatedAt), (*scanStamp)(&inc.UpdatedAt)); err != nil {
		return inc, err
	}
	if merged != nil {
		inc.MergedInto = *merged
	}
	return inc, nil
}

// incidentMembers fills in what the incident's notifications share.
func incidentMembers(ctx context.Context, q querier, inc *state.Incident) error {
	rows, err := q.Query(ctx, `SELECT ip, api_key, endpoint, rule_id FROM notifications WHERE incident_id = $1`, inc.ID)
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
	var w where
	w.add("merged_into IS NULL")
	if len(f.Statuses) > 0 {
		w.add("status = ANY(?)", f.Statuses)
	}
	if !f.Since.IsZero() {
		w.add("last_seen >= ?", stamp(f.Since))
	}
	if f.BeforeID > 0 {
		w.add("id < ?", f.BeforeID)
	}
	out, err := queryAll(ctx, s.pool, "incidents", scanIncident,
		`SELECT `+incidentColumns+` FROM incidents`+w.clause()+` ORDER BY id DESC LIMIT `+w.arg(limitArg(f.Limit)), w.args...)
	if err != nil {
		return nil, err
	}
	for i := range out {
		if err := incidentMembers(ctx, s.pool, &out[i]); err != nil {
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
	err := s.inTx(ctx, func(tx pgx.Tx) error {
		if err := lock(ctx, tx, lockTriage); err != nil {
			return err
		}
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
		q, args = `WHERE notification_id = $1`, []any{f.NotificationID}
	case f.IncidentID != 0 && f.NotificationID == 0:
		// The incident's own events, those of incidents merged into it,
		// and those of its members.
		q = `WHERE incident_id IN (SELECT id FROM incidents WHERE id = $1 OR merged_into = $1)
			OR notification_id IN (SELECT id FROM notifications WHERE incident_id = $1)`
		args = []any{f.IncidentID}
	default:
		return nil, errors.New("triage events: set exactly one of notification and incident id")
	}
	return queryAll(ctx, s.pool, "triage events", func(row pgx.Row) (state.TriageEvent, error) {
		var ev state.TriageEvent
		var nid, iid *int64
		err := row.Scan(&ev.ID, &nid, &iid, &ev.Kind, &ev.Actor, &ev.Before, &ev.After, &ev.Note, (*scanStamp)(&ev.At))
		if nid != nil {
			ev.NotificationID = *nid
		}
		if iid != nil {
			ev.IncidentID = *iid
		}
		return ev, err
	}, `SELECT id, notification_id, incident_id, kind, actor, before, after, note, at FROM triage_events `+q+` ORDER BY at, id`, args...)
}

// NotifyLogEntry implements state.NotifyLogStore.
func (s *Store) NotifyLogEntry(ctx context.Context, receiver, groupKey string) (state.NotifyLogEntry, error) {
	e := state.NotifyLogEntry{Receiver: receiver, GroupKey: groupKey}
	err := s.pool.QueryRow(ctx, `SELECT firing, resolved, sent_at, expires_at FROM notify_log WHERE receiver = $1 AND group_key = $2`,
		receiver, groupKey).Scan(&e.Firing, &e.Resolved, (*scanStamp)(&e.SentAt), (*scanStamp)(&e.ExpiresAt))
	if errors.Is(err, pgx.ErrNoRows) {
		return e, fmt.Errorf("notify log of %s %s: %w", receiver, groupKey, state.ErrNotFound)
	}
	if err != nil {
		return e, fmt.Errorf("notify log of %s %s: %w", receiver, groupKey, err)
	}
	return e, nil
}

// PutNotifyLogEntry implements state.NotifyLogStore.
func (s *Store) PutNotifyLogEntry(ctx context.Context, e state.NotifyLogEntry) error {
	_, err := s.pool.Exec(ctx, `INSERT INTO notify_log (receiver, group_key, firing, resolved, sent_at, expires_at)
		VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (receiver, group_key) DO UPDATE SET
		firing = excluded.firing, resolved = excluded.resolved, sent_at = excluded.sent_at, expires_at = excluded.expires_at`,
		e.Receiver, e.GroupKey, sortedCopy(e.Firing), sortedCopy(e.Resolved), stamp(e.SentAt), stamp(e.ExpiresAt))
	if err != nil {
		return fmt.Errorf("put notify log of %s %s: %w", e.Receiver, e.GroupKey, err)
	}
	return nil
}

// sortedCopy returns a sorted copy of s, never nil (NULL is not an empty
// array).
func sortedCopy(s []string) []string {
	out := append([]string{}, s...)
	slices.Sort(out)
	return out
}

// DeleteNotifyLogEntries implements state.NotifyLogStore.
func (s *Store) DeleteNotifyLogEntries(ctx context.Context, before time.Time) (int, error) {
	tag, err := s.pool.Exec(ctx, `DELETE FROM notify_log WHERE expires_at < $1`, stamp(before))
	if err != nil {
		return 0, fmt.Errorf("delete notify log entries: %w", err)
	}
	return int(tag.RowsAffected()), nil
}
