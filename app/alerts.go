package app

import (
	"context"
	"errors"
	"fmt"
	"strconv"

	"github.com/tracehound/tracehound/api"
	"github.com/tracehound/tracehound/auth"
	"github.com/tracehound/tracehound/state"
	"github.com/tracehound/tracehound/triage"
)

var _ api.AlertsBackend = (*App)(nil)

// Alerts implements api.AlertsBackend.
func (a *App) Alerts(ctx context.Context, q api.AlertQuery) (*triage.NotificationPage, error) {
	f, err := triage.ParseNotificationFilter(q.Values(), a.now())
	if err != nil {
		return nil, err
	}
	p, err := a.triage.Notifications(ctx, f)
	if err != nil {
		return nil, err
	}
	return &p, nil
}

// Alert implements api.AlertsBackend.
func (a *App) Alert(ctx context.Context, id int64) (*triage.NotificationDetail, error) {
	d, err := a.triage.Notification(ctx, id)
	if err != nil {
		return nil, err
	}
	return &d, nil
}

// UpdateAlerts implements api.AlertsBackend. Besides the triage trail, it
// writes an audit entry per notification and changed field (alert.status,
// alert.assignee, alert.note) for the context's principal.
func (a *App) UpdateAlerts(ctx context.Context, c api.AlertChange) (*triage.NotificationPage, error) {
	ids := uniqueIDs(c.IDs)
	if len(ids) == 0 {
		return nil, fmt.Errorf("no alert ids: %w", triage.ErrInvalid)
	}
	if len(ids) > triage.MaxLimit {
		return nil, fmt.Errorf("%d alert ids: at most %d in one change: %w", len(ids), triage.MaxLimit, triage.ErrInvalid)
	}
	before := make([]state.Notification, len(ids))
	for i, id := range ids {
		n, err := a.state.Notification(ctx, id)
		if err != nil {
			return nil, err
		}
		before[i] = n
	}
	ch := triage.Change{Status: c.Status, Reason: c.Reason, Assignee: c.Assignee, Note: c.Note}
	after, err := a.triage.Update(ctx, ids, auth.FromContext(ctx).Actor(), ch)
	if err != nil {
		return nil, err
	}
	var errs []error
	for i, n := range after {
		errs = append(errs, a.auditNotification(ctx, before[i], n, c.Note))
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	return &triage.NotificationPage{Alerts: after, Total: len(after)}, nil
}

// uniqueIDs drops repeated ids, keeping the first of each.
func uniqueIDs(ids []int64) []int64 {
	seen := make(map[int64]bool, len(ids))
	out := make([]int64, 0, len(ids))
	for _, id := range ids {
		if !seen[id] {
			seen[id] = true
			out = append(out, id)
		}
	}
	return out
}

// auditNotification records what a change did to one notification.
func (a *App) auditNotification(ctx context.Context, before, after state.Notification, note string) error {
	target := "alert:" + strconv.FormatInt(after.ID, 10)
	var errs []error
	if before.Status != after.Status {
		errs = append(errs, a.audit(ctx, "alert.status", target,
			statusValue{before.Status, before.Reason}, statusValue{after.Status, after.Reason}))
	}
	if before.Assignee != after.Assignee {
		errs = append(errs, a.audit(ctx, "alert.assignee", target, assigneeValue{before.Assignee}, assigneeValue{after.Assignee}))
	}
	if note != "" {
		errs = append(errs, a.audit(ctx, "alert.note", target, nil, noteValue{note}))
	}
	return errors.Join(errs...)
}

// The audit log's before and after values of triage changes.
type (
	statusValue struct {
		Status string `json:"status"`
		Reason string `json:"reason,omitempty"`
	}
	assigneeValue struct {
		Assignee string `json:"assignee"`
	}
	noteValue struct {
		Note string `json:"note"`
	}
	titleValue struct {
		Title string `json:"title"`
	}
)

// Incidents implements api.AlertsBackend.
func (a *App) Incidents(ctx context.Context, q api.IncidentQuery) (*triage.IncidentPage, error) {
	f, err := triage.ParseIncidentFilter(q.Values(), a.now())
	if err != nil {
		return nil, err
	}
	p, err := a.triage.Incidents(ctx, f)
	if err != nil {
		return nil, err
	}
	return &p, nil
}

// Incident implements api.AlertsBackend.
func (a *App) Incident(ctx context.Context, id int64) (*triage.IncidentDetail, error) {
	d, err := a.triage.Incident(ctx, id)
	if err != nil {
		return nil, err
	}
	return &d, nil
}

// UpdateIncident implements api.AlertsBackend. Besides the triage
// timeline, it writes an audit entry per changed field (incident.status,
// incident.assignee, incident.title, incident.note) and, with a cascade,
// an alert.status entry per member notification whose status changed.
func (a *App) UpdateIncident(ctx context.Context, id int64, c api.IncidentChange) (*triage.IncidentDetail, error) {
	before, err := a.Incident(ctx, id)
	if err != nil {
		return nil, err
	}
	ch := triage.Change{Status: c.Status, Reason: c.Reason, Assignee: c.Assignee, Note: c.Note, Title: c.Title}
	inc, updErr := a.triage.UpdateIncident(ctx, id, auth.FromContext(ctx).Actor(), ch, c.Cascade)
	if updErr != nil && inc.ID == 0 {
		return nil, updErr
	}
	// The incident changed, though a cascade may have failed: audit what
	// did change before answering.
	after, err := a.Incident(ctx, id)
	if err != nil {
		return nil, errors.Join(updErr, err)
	}
	errs := []error{updErr, a.auditIncident(ctx, before.Incident, after.Incident, c.Note)}
	members := make(map[int64]state.Notification, len(before.Notifications))
	for _, n := range before.Notifications {
		members[n.ID] = n
	}
	for _, n := range after.Notifications {
		if b, ok := members[n.ID]; ok && b.Status != n.Status {
			errs = append(errs, a.auditNotification(ctx, b, n, ""))
		}
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	return after, nil
}

// auditIncident records what a change did to one incident.
func (a *App) auditIncident(ctx context.Context, before, after state.Incident, note string) error {
	target := "incident:" + strconv.FormatInt(after.ID, 10)
	var errs []error
	if before.Status != after.Status {
		errs = append(errs, a.audit(ctx, "incident.status", target,
			statusValue{before.Status, before.Reason}, statusValue{after.Status, after.Reason}))
	}
	if before.Assignee != after.Assignee {
		errs = append(errs, a.audit(ctx, "incident.assignee", target, assigneeValue{before.Assignee}, assigneeValue{after.Assignee}))
	}
	if before.Title != after.Title {
		errs = append(errs, a.audit(ctx, "incident.title", target, titleValue{before.Title}, titleValue{after.Title}))
	}
	if note != "" {
		errs = append(errs, a.audit(ctx, "incident.note", target, nil, noteValue{note}))
	}
	return errors.Join(errs...)
}

// NotifyStatus implements api.AlertsBackend.
func (a *App) NotifyStatus(context.Context) (*api.NotifyStatus, error) {
	return &api.NotifyStatus{Receivers: a.notifier.Status()}, nil
}
