package state

import (
	"context"
	"time"
)

// TriageStore keeps the people's side of alerting: one notification per
// alert instance firing episode, its triage status, assignee and notes,
// the audit trail of every change, and the incidents that group related
// notifications into a campaign.
//
// The alert's own state (firing, resolved) is kept apart from the triage
// status: an alert that resolves on its own is recorded on the
// notification, but it is not a triage decision.
//
// Times are the caller's: the store never reads the clock. It keeps them
// in UTC with nanosecond precision. Lists are empty (not nil) when nothing
// matches; lookups of a missing id return ErrNotFound.
type TriageStore interface {
	// RecordAlert folds one alert delivery into the notifications, in one
	// transaction with its incident linking:
	//   - a firing delivery updates the fingerprint's notification whose
	//     alert is still firing (LastSeen, Count, labels, annotations,
	//     severity), or opens a new notification when there is none, so a
	//     new firing after a resolve is a new notification;
	//   - a resolved delivery marks the firing notification's alert
	//     resolved (AlertState, AlertEndsAt) and leaves its triage status
	//     alone; it is a no-op (Notification.ID 0) when nothing is firing
	//     for the fingerprint.
	// A new active-mode notification joins the open incidents (status open
	// or investigating) that hold a notification sharing its IP, API key or
	// endpoint and seen within link.Window of it; when it links several
	// incidents they merge into the oldest. Without such an incident it
	// opens a new one titled link.Title. Shadow-mode notifications never
	// join incidents.
	RecordAlert(ctx context.Context, rec AlertRecord, link IncidentLink) (RecordResult, error)

	// Notification returns one notification, or ErrNotFound.
	Notification(ctx context.Context, id int64) (Notification, error)
	// Notifications returns the notifications that pass the filter, newest
	// (largest id) first, at most f.Limit of them.
	Notifications(ctx context.Context, f NotificationFilter) ([]Notification, error)
	// CountNotifications counts the notifications that pass the filter,
	// ignoring its BeforeID and Limit.
	CountNotifications(ctx context.Context, f NotificationFilter) (int, error)
	// UpdateNotifications applies u to every notification in ids in one
	// transaction, records an audit event per changed field, and returns
	// the notifications in the order of ids. A missing id fails the whole
	// update with ErrNotFound. Setting a field to its current value
	// changes nothing and records nothing.
	UpdateNotifications(ctx context.Context, ids []int64, u TriageUpdate) ([]Notification, error)

	// Incident returns one incident, with its ips, keys, endpoints and
	// rules, or ErrNotFound. A merged incident is returned with MergedInto
	// set.
	Incident(ctx context.Context, id int64) (Incident, error)
	// Incidents returns the incidents that pass the filter, newest (largest
	// id) first; merged incidents are left out.
	Incidents(ctx context.Context, f IncidentFilter) ([]Incident, error)
	// UpdateIncident applies u to one incident (Reason is stored with a
	// status change, Note is added to the timeline) and records an audit
	// event per changed field.
	UpdateIncident(ctx context.Context, id int64, u TriageUpdate) (Incident, error)

	// TriageEvents returns the audit trail that passes the filter, oldest
	// first: for a notification, its own events; for an incident, its
	// events and those of its member notifications (its timeline).
	TriageEvents(ctx context.Context, f TriageEventFilter) ([]TriageEvent, error)
}

// NotifyLogStore persists the notification log: what each receiver was
// last sent for each alert group, so that a restart does not send again
// what was already sent.
type NotifyLogStore interface {
	// NotifyLogEntry returns the entry of one receiver and group, or
	// ErrNotFound.
	NotifyLogEntry(ctx context.Context, receiver, groupKey string) (NotifyLogEntry, error)
	// PutNotifyLogEntry stores e, replacing the entry of its receiver and
	// group.
	PutNotifyLogEntry(ctx context.Context, e NotifyLogEntry) error
	// DeleteNotifyLogEntries removes the entries that expire before t and
	// returns how many it removed.
	DeleteNotifyLogEntries(ctx context.Context, before time.Time) (int, error)
}

// Triage statuses of a notification or an incident.
const (
	TriageOpen          = "open"
	TriageInvestigating = "investigating"
	TriageResolved      = "resolved"
	TriageFalsePositive = "false_positive"
)

// ValidTriageStatus reports whether s is one of the triage statuses.
func ValidTriageStatus(s string) bool {
	switch s {
	case TriageOpen, TriageInvestigating, TriageResolved, TriageFalsePositive:
		return true
	}
	return false
}

// AlertRecord is one alert delivery as the triage store keeps it. IP,
// APIKey and Endpoint are the well-known labels, copied out so that they
// can be filtered and linked on.
type AlertRecord struct {
	Fingerprint string
	RuleID      string
	RuleName    string
	Severity    string
	// SeverityRank orders severities (0 info … 4 critical) so that an
	// incident keeps the most severe of its members.
	SeverityRank int
	Mode         string // active or shadow
	State        string // firing or resolved
	Labels       map[string]string
	Annotations  map[string]string
	IP           string
	APIKey       string
	Endpoint     string
	StartsAt     time.Time
	EndsAt       time.Time
	// At is when the delivery happened (the evaluation time).
	At time.Time
}

// IncidentLink says how a new notification joins incidents.
type IncidentLink struct {
	// Window is how far apart in time two notifications sharing an IP, API
	// key or endpoint may be and still belong to one incident; zero
	// disables incidents.
	Window time.Duration
	// Title names an incident the notification opens.
	Title string
}

// RecordResult says what RecordAlert did.
type RecordResult struct {
	Notification Notification
	// Created is true when the delivery opened a new notification.
	Created bool
	// Resolved is true when the delivery resolved the alert.
	Resolved bool
	// Merged lists incidents merged into Notification.IncidentID.
	Merged []int64
}

// Notification is one firing episode of one alert instance, with its
// triage.
type Notification struct {
	ID          int64             `json:"id"`
	Fingerprint string            `json:"fingerprint"`
	RuleID      string            `json:"rule_id"`
	RuleName    string            `json:"rule_name"`
	Severity    string            `json:"severity"`
	Mode        string            `json:"mode"`
	Labels      map[string]string `json:"labels"`
	Annotations map[string]string `json:"annotations"`
	IP          string            `json:"ip,omitempty"`
	APIKey      string            `json:"api_key_id,omitempty"`
	Endpoint    string            `json:"endpoint,omitempty"`
	// AlertState is the machine's view: firing, or resolved once the alert
	// cleared (AlertEndsAt).
	AlertState  string    `json:"alert_state"`
	StartsAt    time.Time `json:"starts_at"`
	AlertEndsAt time.Time `json:"alert_ends_at,omitzero"`
	// Status is the people's view, one of the Triage* statuses; Reason
	// explains the latest resolved or false_positive decision.
	Status   string `json:"status"`
	Reason   string `json:"reason,omitempty"`
	Assignee string `json:"assignee,omitempty"`
	// FirstSeen is the first delivery, LastSeen the latest; Count counts
	// the firing deliveries.
	FirstSeen  time.Time `json:"first_seen"`
	LastSeen   time.Time `json:"last_seen"`
	Count      int       `json:"count"`
	IncidentID int64     `json:"incident_id,omitempty"`
	UpdatedAt  time.Time `json:"updated_at"`
}

// NotificationFilter selects notifications. The zero filter selects the
// active-mode ones.
type NotificationFilter struct {
	// Statuses keeps notifications in any of these triage statuses.
	Statuses []string
	// Severities keeps notifications of any of these severities.
	Severities []string
	RuleID     string
	IP         string
	APIKey     string
	Endpoint   string
	Assignee   string
	IncidentID int64
	// AlertState keeps firing or resolved alerts.
	AlertState string
	// Mode is "" or "active" for active-mode notifications, "shadow" for
	// shadow-mode ones and "any" for both.
	Mode string
	// Since and Until keep notifications opened (first seen) in
	// [Since, Until).
	Since time.Time
	Until time.Time
	// BeforeID keeps notifications with a smaller id: the cursor of the
	// next page.
	BeforeID int64
	// Limit caps the notifications returned; 0 means no cap.
	Limit int
}

// TriageUpdate is a change made by a person (or an automation acting for
// one). Empty fields are left unchanged.
type TriageUpdate struct {
	// Actor is who made the change; At is when.
	Actor string
	At    time.Time
	// Status is the new triage status. A false_positive status needs a
	// Reason; Reason is stored with any status change.
	Status string
	Reason string
	// Assignee, when not nil, is the new assignee ("" unassigns).
	Assignee *string
	// Note is added to the audit trail.
	Note string
	// Title, when not empty, renames an incident.
	Title string
}

// Incident groups related notifications into one campaign.
type Incident struct {
	ID       int64  `json:"id"`
	Title    string `json:"title"`
	Severity string `json:"severity"`
	Status   string `json:"status"`
	Reason   string `json:"reason,omitempty"`
	Assignee string `json:"assignee,omitempty"`
	// FirstSeen and LastSeen bound the member notifications.
	FirstSeen time.Time `json:"first_seen"`
	LastSeen  time.Time `json:"last_seen"`
	// NotificationCount counts the member notifications; IPs, APIKeys,
	// Endpoints and RuleIDs are what they share, sorted.
	NotificationCount int      `json:"notification_count"`
	IPs               []string `json:"ips"`
	APIKeys           []string `json:"api_key_ids"`
	Endpoints         []string `json:"endpoints"`
	RuleIDs           []string `json:"rule_ids"`
	// MergedInto is the incident this one was merged into; 0 while it
	// stands on its own.
	MergedInto int64     `json:"merged_into,omitempty"`
	CreatedAt  time.Time `json:"created_at"`
	UpdatedAt  time.Time `json:"updated_at"`
}

// IncidentFilter selects incidents; the zero filter selects all that were
// not merged.
type IncidentFilter struct {
	Statuses []string
	// Since keeps incidents seen at or after it.
	Since time.Time
	// BeforeID and Limit page as in NotificationFilter.
	BeforeID int64
	Limit    int
}

// Kinds of triage events.
const (
	EventOpened        = "opened"         // a notification (or incident) was opened
	EventAlertResolved = "alert_resolved" // the alert cleared on its own
	EventStatus        = "status"         // the triage status changed
	EventAssignee      = "assignee"       // the assignee changed
	EventNote          = "note"           // a note was added
	EventTitle         = "title"          // an incident was renamed
	EventJoined        = "joined"         // a notification joined an incident
	EventMerged        = "merged"         // an incident was merged into another
)

// TriageEvent is one entry of the audit trail: who changed what, from
// what to what, and when.
type TriageEvent struct {
	ID             int64     `json:"id"`
	NotificationID int64     `json:"notification_id,omitempty"`
	IncidentID     int64     `json:"incident_id,omitempty"`
	Kind           string    `json:"kind"`
	Actor          string    `json:"actor"`
	Before         string    `json:"before,omitempty"`
	After          string    `json:"after,omitempty"`
	Note           string    `json:"note,omitempty"`
	At             time.Time `json:"at"`
}

// TriageEventFilter selects the trail of one notification or one
// incident; exactly one of the ids is set.
type TriageEventFilter struct {
	NotificationID int64
	IncidentID     int64
}

// NotifyLogEntry records what one receiver was last sent for one group.
type NotifyLogEntry struct {
	Receiver string
	GroupKey string
	// Firing and Resolved are the fingerprints of the alerts sent as
	// firing and as resolved, sorted.
	Firing   []string
	Resolved []string
	SentAt   time.Time
	// ExpiresAt is when the entry may be forgotten.
	ExpiresAt time.Time
}
