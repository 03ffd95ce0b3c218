// Package triage turns alerts into work for people: one notification per
// alert instance firing episode, moved open → investigating → resolved or
// false_positive (with a reason) by an analyst, with an assignee, notes and
// an audit trail of every change; and incidents that group the
// notifications of one campaign (sharing an IP, API key or endpoint within
// a time window).
//
// The alert's own state (firing, resolved) is recorded on the notification
// but is not a triage decision: an alert that clears on its own leaves the
// notification open until someone looks at it.
package triage

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/tracehound/tracehound/alert"
	"github.com/tracehound/tracehound/state"
)

// ErrInvalid marks a request the service refuses: an unknown status, a
// false positive without a reason, a change without an actor, a bad
// filter. The API maps it to 400.
var ErrInvalid = errors.New("invalid request")

// DefaultIncidentWindow is how far apart two notifications sharing an IP,
// API key or endpoint may be and still join one incident.
const DefaultIncidentWindow = 24 * time.Hour

// Options configure a Service.
type Options struct {
	// IncidentWindow defaults to DefaultIncidentWindow; negative disables
	// incidents.
	IncidentWindow time.Duration
	// Logger defaults to slog.Default().
	Logger *slog.Logger
	// Now defaults to time.Now.
	Now func() time.Time
}

// Service is the triage workflow over a state.TriageStore. It is safe for
// concurrent use.
type Service struct {
	store  state.TriageStore
	window time.Duration
	log    *slog.Logger
	now    func() time.Time
	// recordMu serialises Record, so that incident linking sees the
	// notifications recorded before it.
	recordMu sync.Mutex
}

// New returns a Service over store.
func New(store state.TriageStore, opts Options) *Service {
	s := &Service{store: store, window: opts.IncidentWindow, log: opts.Logger, now: opts.Now}
	if s.window == 0 {
		s.window = DefaultIncidentWindow
	}
	if s.window < 0 {
		s.window = 0
	}
	if s.log == nil {
		s.log = slog.Default()
	}
	s.log = s.log.With("component", "triage")
	if s.now == nil {
		s.now = time.Now
	}
	return s
}

// Record folds alert deliveries from the engine into notifications and
// incidents. Shadow-mode alerts are recorded with mode shadow (hidden from
// default lists, never in incidents). It records every alert it can and
// returns the errors of the others joined.
func (s *Service) Record(ctx context.Context, alerts []alert.Alert) error {
	s.recordMu.Lock()
	defer s.recordMu.Unlock()
	var errs []error
	for _, a := range alerts {
		if a.State != alert.StateFiring && a.State != alert.StateResolved {
			errs = append(errs, fmt.Errorf("record alert %s: state %q: %w", a.Fingerprint, a.State, ErrInvalid))
			continue
		}
		rec := recordOf(a, s.now())
		res, err := s.store.RecordAlert(ctx, rec, state.IncidentLink{Window: s.window, Title: incidentTitle(rec)})
		if err != nil {
			errs = append(errs, err)
			continue
		}
		if res.Created {
			level := slog.LevelInfo
			if a.Mode == alert.ModeShadow {
				level = slog.LevelDebug // shadow rules are being tuned: recorded, not announced
			}
			s.log.Log(ctx, level, "notification opened", "notification", res.Notification.ID, "rule", a.RuleID,
				"severity", a.Severity, "mode", a.Mode, "incident", res.Notification.IncidentID)
		}
		for _, m := range res.Merged {
			s.log.Info("incidents merged", "incident", m, "into", res.Notification.IncidentID)
		}
	}
	return errors.Join(errs...)
}

func recordOf(a alert.Alert, now time.Time) state.AlertRecord {
	mode := a.Mode
	if mode == "" {
		mode = alert.ModeActive
	}
	at := a.EvaluatedAt
	if at.IsZero() {
		at = now
	}
	rank := max(a.Severity.Rank(), 0)
	return state.AlertRecord{
		Fingerprint: a.Fingerprint, RuleID: a.RuleID, RuleName: a.RuleName,
		Severity: string(a.Severity), SeverityRank: rank, Mode: string(mode), State: string(a.State),
		Labels: a.Labels, Annotations: a.Annotations,
		IP: a.Labels[alert.LabelIP], APIKey: a.Labels[alert.LabelAPIKey], Endpoint: a.Labels[alert.LabelEndpoint],
		StartsAt: a.StartsAt, EndsAt: a.EndsAt, At: at,
	}
}

// incidentTitle names the incident a notification opens: its rule and
// what it is about.
func incidentTitle(r state.AlertRecord) string {
	name := r.RuleName
	if name == "" {
		name = r.RuleID
	}
	var about []string
	for _, v := range []string{r.Endpoint, r.IP, r.APIKey} {
		if v != "" {
			about = append(about, v)
		}
	}
	if len(about) == 0 {
		return name
	}
	return name + ": " + strings.Join(about, ", ")
}

// Change is what an analyst asks to change on notifications or an
// incident; empty fields are left as they are.
type Change struct {
	// Status is open, investigating, resolved or false_positive; a
	// false_positive needs a Reason.
	Status string `json:"status,omitempty"`
	Reason string `json:"reason,omitempty"`
	// Assignee, when set, is the new assignee ("" unassigns).
	Assignee *string `json:"assignee,omitempty"`
	Note     string  `json:"note,omitempty"`
	// Title renames an incident; notifications have no title.
	Title string `json:"title,omitempty"`
}

func (s *Service) update(actor string, c Change) (state.TriageUpdate, error) {
	if strings.TrimSpace(actor) == "" {
		return state.TriageUpdate{}, fmt.Errorf("a change needs an actor: %w", ErrInvalid)
	}
	if c.Status != "" && !state.ValidTriageStatus(c.Status) {
		return state.TriageUpdate{}, fmt.Errorf("unknown status %q (want open, investigating, resolved or false_positive): %w", c.Status, ErrInvalid)
	}
	if c.Status == state.TriageFalsePositive && strings.TrimSpace(c.Reason) == "" {
		return state.TriageUpdate{}, fmt.Errorf("a false positive needs a reason: %w", ErrInvalid)
	}
	if c.Status == "" && c.Assignee == nil && c.Note == "" && c.Title == "" {
		return state.TriageUpdate{}, fmt.Errorf("nothing to change: %w", ErrInvalid)
	}
	return state.TriageUpdate{Actor: actor, At: s.now(), Status: c.Status, Reason: c.Reason,
		Assignee: c.Assignee, Note: c.Note, Title: c.Title}, nil
}

// Update applies c to the notifications ids (a bulk action when there are
// several), all or none, on behalf of actor. It returns the notifications
// as they are now, in the order of ids.
func (s *Service) Update(ctx context.Context, ids []int64, actor string, c Change) ([]state.Notification, error) {
	if len(ids) == 0 {
		return nil, fmt.Errorf("no notification ids: %w", ErrInvalid)
	}
	if c.Title != "" {
		return nil, fmt.Errorf("notifications have no title: %w", ErrInvalid)
	}
	u, err := s.update(actor, c)
	if err != nil {
		return nil, err
	}
	ns, err := s.store.UpdateNotifications(ctx, ids, u)
	if err != nil {
		return nil, err
	}
	s.log.Info("notifications updated", "ids", ids, "actor", actor, "status", c.Status)
	return ns, nil
}

// NotificationPage is one page of notifications, served as
// {"alerts": [...]}.
type NotificationPage struct {
	Alerts []state.Notification `json:"alerts"`
	// Total counts every notification that passes the filter.
	Total int `json:"total"`
	// NextCursor, when not empty, is the cursor of the next page.
	NextCursor string `json:"next_cursor,omitempty"`
}

// Notifications returns one page of notifications, newest first.
func (s *Service) Notifications(ctx context.Context, f state.NotificationFilter) (NotificationPage, error) {
	if f.Limit <= 0 {
		f.Limit = DefaultLimit
	}
	ns, err := s.store.Notifications(ctx, f)
	if err != nil {
		return NotificationPage{}, err
	}
	total, err := s.store.CountNotifications(ctx, f)
	if err != nil {
		return NotificationPage{}, err
	}
	p := NotificationPage{Alerts: ns, Total: total}
	if len(ns) == f.Limit {
		p.NextCursor = fmt.Sprint(ns[len(ns)-1].ID)
	}
	return p, nil
}

// NotificationDetail is one notification with its audit trail.
type NotificationDetail struct {
	state.Notification
	Audit []state.TriageEvent `json:"audit"`
}

// Notification returns one notification with its audit trail, or an
// error wrapping state.ErrNotFound.
func (s *Service) Notification(ctx context.Context, id int64) (NotificationDetail, error) {
	n, err := s.store.Notification(ctx, id)
	if err != nil {
		return NotificationDetail{}, err
	}
	audit, err := s.store.TriageEvents(ctx, state.TriageEventFilter{NotificationID: id})
	if err != nil {
		return NotificationDetail{}, err
	}
	return NotificationDetail{Notification: n, Audit: audit}, nil
}

// IncidentPage is one page of incidents, served as {"incidents": [...]}.
type IncidentPage struct {
	Incidents  []state.Incident `json:"incidents"`
	NextCursor string           `json:"next_cursor,omitempty"`
}

// Incidents returns one page of incidents, newest first, merged ones left
// out.
func (s *Service) Incidents(ctx context.Context, f state.IncidentFilter) (IncidentPage, error) {
	if f.Limit <= 0 {
		f.Limit = DefaultLimit
	}
	incs, err := s.store.Incidents(ctx, f)
	if err != nil {
		return IncidentPage{}, err
	}
	p := IncidentPage{Incidents: incs}
	if len(incs) == f.Limit {
		p.NextCursor = fmt.Sprint(incs[len(incs)-1].ID)
	}
	return p, nil
}

// IncidentDetail is an incident with its member notifications (newest
// first) and its timeline (oldest first).
type IncidentDetail struct {
	state.Incident
	Notifications []state.Notification `json:"notifications"`
	Timeline      []state.TriageEvent  `json:"timeline"`
}

// Incident returns one incident with its members and timeline, or an error
// wrapping state.ErrNotFound. A merged incident comes back with
// merged_into set and no members.
func (s *Service) Incident(ctx context.Context, id int64) (IncidentDetail, error) {
	inc, err := s.store.Incident(ctx, id)
	if err != nil {
		return IncidentDetail{}, err
	}
	members, err := s.store.Notifications(ctx, state.NotificationFilter{IncidentID: id, Mode: "any"})
	if err != nil {
		return IncidentDetail{}, err
	}
	timeline, err := s.store.TriageEvents(ctx, state.TriageEventFilter{IncidentID: id})
	if err != nil {
		return IncidentDetail{}, err
	}
	return IncidentDetail{Incident: inc, Notifications: members, Timeline: timeline}, nil
}

// UpdateIncident applies c to one incident on behalf of actor. With
// cascade, a status change (and its reason) is applied to the incident's
// member notifications too.
func (s *Service) UpdateIncident(ctx context.Context, id int64, actor string, c Change, cascade bool) (state.Incident, error) {
	u, err := s.update(actor, c)
	if err != nil {
		return state.Incident{}, err
	}
	inc, err := s.store.UpdateIncident(ctx, id, u)
	if err != nil {
		return state.Incident{}, err
	}
	if cascade && c.Status != "" {
		members, err := s.store.Notifications(ctx, state.NotificationFilter{IncidentID: id, Mode: "any"})
		if err != nil {
			return inc, err
		}
		ids := make([]int64, len(members))
		for i, n := range members {
			ids[i] = n.ID
		}
		if len(ids) > 0 {
			if _, err := s.store.UpdateNotifications(ctx, ids, state.TriageUpdate{Actor: actor, At: u.At,
				Status: c.Status, Reason: c.Reason}); err != nil {
				return inc, err
			}
		}
	}
	s.log.Info("incident updated", "incident", id, "actor", actor, "status", c.Status, "cascade", cascade)
	return inc, nil
}
