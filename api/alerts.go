package api

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"strconv"

	"github.com/tracehound/tracehound/auth"
	"github.com/tracehound/tracehound/notify"
	"github.com/tracehound/tracehound/triage"
)

// AlertsBackend serves the triage of alert notifications and incidents,
// and the state of the notification receivers. Changes act for the
// principal in the context (auth.FromContext), which the triage trail and
// the audit log record. Lookups of a missing id fail with an error wrapping
// state.ErrNotFound; a refused change (unknown status, a false positive
// without a reason, nothing to change) with one wrapping triage.ErrInvalid.
type AlertsBackend interface {
	// Alerts returns one page of notifications, newest first.
	Alerts(ctx context.Context, q AlertQuery) (*triage.NotificationPage, error)
	// Alert returns one notification with its audit trail, oldest first.
	Alert(ctx context.Context, id int64) (*triage.NotificationDetail, error)
	// UpdateAlerts applies one change to every notification in c.IDs, all
	// or none, and returns them as they are now, in the order of c.IDs.
	UpdateAlerts(ctx context.Context, c AlertChange) (*triage.NotificationPage, error)
	// Incidents returns one page of incidents, newest first, merged ones
	// left out.
	Incidents(ctx context.Context, q IncidentQuery) (*triage.IncidentPage, error)
	// Incident returns one incident with its member notifications (newest
	// first) and its timeline (oldest first).
	Incident(ctx context.Context, id int64) (*triage.IncidentDetail, error)
	// UpdateIncident applies c to one incident and returns it as it is now,
	// with its members and timeline.
	UpdateIncident(ctx context.Context, id int64, c IncidentChange) (*triage.IncidentDetail, error)
	// NotifyStatus describes what each receiver integration last did. It
	// never holds a secret (webhook URLs, tokens, passwords).
	NotifyStatus(ctx context.Context) (*NotifyStatus, error)
}

// AlertQuery selects notifications. Each field is the query parameter of
// GET /api/v1/alerts with the same name, read as
// triage.ParseNotificationFilter reads it; empty fields (and a zero Limit)
// do not filter.
type AlertQuery struct {
	// Status is a comma-separated list of triage statuses.
	Status string
	// Severity is a comma-separated list of severities.
	Severity string
	Rule     string
	IP       string
	APIKey   string
	Endpoint string
	Assignee string
	// Incident is an incident id.
	Incident string
	// AlertState is firing or resolved.
	AlertState string
	// Mode is active (the default), shadow or any.
	Mode string
	// Since and Until are RFC 3339 times or durations back from the
	// server's clock (24h, 7d).
	Since string
	Until string
	// Cursor is the NextCursor of the previous page.
	Cursor string
	Limit  int
}

// Values encodes q as query parameters.
func (q AlertQuery) Values() url.Values {
	v := url.Values{}
	for k, s := range map[string]string{
		"status": q.Status, "severity": q.Severity, "rule": q.Rule, "ip": q.IP, "api_key": q.APIKey,
		"endpoint": q.Endpoint, "assignee": q.Assignee, "incident": q.Incident, "alert_state": q.AlertState,
		"mode": q.Mode, "since": q.Since, "until": q.Until, "cursor": q.Cursor,
	} {
		if s != "" {
			v.Set(k, s)
		}
	}
	if q.Limit != 0 {
		v.Set("limit", strconv.Itoa(q.Limit))
	}
	return v
}

// IncidentQuery selects incidents, as GET /api/v1/incidents reads its
// query parameters (triage.ParseIncidentFilter).
type IncidentQuery struct {
	// Status is a comma-separated list of triage statuses.
	Status string
	// Since is an RFC 3339 time or a duration back from the server's clock.
	Since  string
	Cursor string
	Limit  int
}

// Values encodes q as query parameters.
func (q IncidentQuery) Values() url.Values {
	v := url.Values{}
	for k, s := range map[string]string{"status": q.Status, "since": q.Since, "cursor": q.Cursor} {
		if s != "" {
			v.Set(k, s)
		}
	}
	if q.Limit != 0 {
		v.Set("limit", strconv.Itoa(q.Limit))
	}
	return v
}

// AlertChange is the body of PATCH /api/v1/alerts (IDs names the
// notifications) and of PATCH /api/v1/alerts/{id} (IDs is left out).
// Empty fields are left as they are.
type AlertChange struct {
	IDs []int64 `json:"ids,omitempty"`
	// Status is open, investigating, resolved or false_positive; a
	// false_positive needs a Reason.
	Status string `json:"status,omitempty"`
	Reason string `json:"reason,omitempty"`
	// Assignee, when not nil, is the new assignee ("" unassigns).
	Assignee *string `json:"assignee,omitempty"`
	// Note is added to the trail of every notification changed.
	Note string `json:"note,omitempty"`
}

// IncidentChange is the body of PATCH /api/v1/incidents/{id}. Empty fields
// are left as they are.
type IncidentChange struct {
	Status string `json:"status,omitempty"`
	Reason string `json:"reason,omitempty"`
	// Title renames the incident.
	Title    string  `json:"title,omitempty"`
	Assignee *string `json:"assignee,omitempty"`
	Note     string  `json:"note,omitempty"`
	// Cascade applies a status change (and its reason) to the incident's
	// member notifications too.
	Cascade bool `json:"cascade,omitempty"`
}

// NotifyStatus answers GET /api/v1/notify/status: one entry per receiver
// integration, ordered by receiver and integration; empty when no
// receiver is configured.
type NotifyStatus struct {
	Receivers []notify.ReceiverStatus `json:"receivers"`
}

func (s *Server) routeAlerts(b AlertsBackend) {
	h := &alertHandlers{b: b, log: s.log}
	s.handle("GET /api/v1/alerts", auth.RoleViewer, h.alerts)
	s.handle("GET /api/v1/alerts/{id}", auth.RoleViewer, h.alert)
	s.handle("PATCH /api/v1/alerts", auth.RoleAnalyst, h.updateAlerts)
	s.handle("PATCH /api/v1/alerts/{id}", auth.RoleAnalyst, h.updateAlert)
	s.handle("GET /api/v1/incidents", auth.RoleViewer, h.incidents)
	s.handle("GET /api/v1/incidents/{id}", auth.RoleViewer, h.incident)
	s.handle("PATCH /api/v1/incidents/{id}", auth.RoleAnalyst, h.updateIncident)
	s.handle("GET /api/v1/notify/status", auth.RoleViewer, h.notifyStatus)
}

type alertHandlers struct {
	b   AlertsBackend
	log *slog.Logger
}

// pathID reads the {id} of the request's path.
func pathID(r *http.Request) (int64, error) {
	s := r.PathValue("id")
	id, err := strconv.ParseInt(s, 10, 64)
	if err != nil || id <= 0 {
		return 0, fmt.Errorf("%w: id %q: want a positive number", ErrBadRequest, s)
	}
	return id, nil
}

// queryLimit reads the limit parameter; the backend checks its range.
func queryLimit(v url.Values) (int, error) {
	s := v.Get("limit")
	if s == "" {
		return 0, nil
	}
	n, err := strconv.Atoi(s)
	if err != nil {
		return 0, fmt.Errorf("%w: limit=%q: want a number", ErrBadRequest, s)
	}
	return n, nil
}

func (h *alertHandlers) alerts(w http.ResponseWriter, r *http.Request) {
	v := r.URL.Query()
	limit, err := queryLimit(v)
	if err != nil {
		writeError(w, h.log, err)
		return
	}
	q := AlertQuery{
		Status: v.Get("status"), Severity: v.Get("severity"), Rule: v.Get("rule"), IP: v.Get("ip"),
		APIKey: v.Get("api_key"), Endpoint: v.Get("endpoint"), Assignee: v.Get("assignee"),
		Incident: v.Get("incident"), AlertState: v.Get("alert_state"), Mode: v.Get("mode"),
		Since: v.Get("since"), Until: v.Get("until"), Cursor: v.Get("cursor"), Limit: limit,
	}
	res, err := h.b.Alerts(r.Context(), q)
	reply(w, h.log, res, err)
}

func (h *alertHandlers) alert(w http.ResponseWriter, r *http.Request) {
	id, err := pathID(r)
	if err != nil {
		writeError(w, h.log, err)
		return
	}
	res, err := h.b.Alert(r.Context(), id)
	reply(w, h.log, res, err)
}

func (h *alertHandlers) updateAlerts(w http.ResponseWriter, r *http.Request) {
	var c AlertChange
	if err := decodeJSON(w, r, &c); err != nil {
		writeError(w, h.log, err)
		return
	}
	if len(c.IDs) == 0 {
		writeError(w, h.log, fmt.Errorf("%w: the ids field is empty", ErrBadRequest))
		return
	}
	res, err := h.b.UpdateAlerts(r.Context(), c)
	reply(w, h.log, res, err)
}

// updateAlert changes one notification and answers it alone.
func (h *alertHandlers) updateAlert(w http.ResponseWriter, r *http.Request) {
	id, err := pathID(r)
	if err != nil {
		writeError(w, h.log, err)
		return
	}
	var c AlertChange
	if err := decodeJSON(w, r, &c); err != nil {
		writeError(w, h.log, err)
		return
	}
	if len(c.IDs) > 0 {
		writeError(w, h.log, fmt.Errorf("%w: ids belongs in PATCH /api/v1/alerts, not in the body of one alert's change", ErrBadRequest))
		return
	}
	c.IDs = []int64{id}
	res, err := h.b.UpdateAlerts(r.Context(), c)
	if err == nil && len(res.Alerts) != 1 {
		err = fmt.Errorf("update alert %d: %d notifications came back", id, len(res.Alerts))
	}
	if err != nil {
		writeError(w, h.log, err)
		return
	}
	writeJSON(w, http.StatusOK, res.Alerts[0])
}

func (h *alertHandlers) incidents(w http.ResponseWriter, r *http.Request) {
	v := r.URL.Query()
	limit, err := queryLimit(v)
	if err != nil {
		writeError(w, h.log, err)
		return
	}
	res, err := h.b.Incidents(r.Context(), IncidentQuery{Status: v.Get("status"), Since: v.Get("since"), Cursor: v.Get("cursor"), Limit: limit})
	reply(w, h.log, res, err)
}

func (h *alertHandlers) incident(w http.ResponseWriter, r *http.Request) {
	id, err := pathID(r)
	if err != nil {
		writeError(w, h.log, err)
		return
	}
	res, err := h.b.Incident(r.Context(), id)
	reply(w, h.log, res, err)
}

func (h *alertHandlers) updateIncident(w http.ResponseWriter, r *http.Request) {
	id, err := pathID(r)
	if err != nil {
		writeError(w, h.log, err)
		return
	}
	var c IncidentChange
	if err := decodeJSON(w, r, &c); err != nil {
		writeError(w, h.log, err)
		return
	}
	res, err := h.b.UpdateIncident(r.Context(), id, c)
	reply(w, h.log, res, err)
}

func (h *alertHandlers) notifyStatus(w http.ResponseWriter, r *http.Request) {
	res, err := h.b.NotifyStatus(r.Context())
	reply(w, h.log, res, err)
}

var _ AlertsBackend = (*Client)(nil)

// Alerts implements AlertsBackend.
func (c *Client) Alerts(ctx context.Context, q AlertQuery) (*triage.NotificationPage, error) {
	path := "/api/v1/alerts"
	if v := q.Values(); len(v) > 0 {
		path += "?" + v.Encode()
	}
	var res triage.NotificationPage
	if err := c.do(ctx, http.MethodGet, path, nil, &res); err != nil {
		return nil, err
	}
	return &res, nil
}

// Alert implements AlertsBackend.
func (c *Client) Alert(ctx context.Context, id int64) (*triage.NotificationDetail, error) {
	var res triage.NotificationDetail
	if err := c.do(ctx, http.MethodGet, "/api/v1/alerts/"+strconv.FormatInt(id, 10), nil, &res); err != nil {
		return nil, err
	}
	return &res, nil
}

// UpdateAlerts implements AlertsBackend.
func (c *Client) UpdateAlerts(ctx context.Context, ch AlertChange) (*triage.NotificationPage, error) {
	var res triage.NotificationPage
	if err := c.do(ctx, http.MethodPatch, "/api/v1/alerts", ch, &res); err != nil {
		return nil, err
	}
	return &res, nil
}

// Incidents implements AlertsBackend.
func (c *Client) Incidents(ctx context.Context, q IncidentQuery) (*triage.IncidentPage, error) {
	path := "/api/v1/incidents"
	if v := q.Values(); len(v) > 0 {
		path += "?" + v.Encode()
	}
	var res triage.IncidentPage
	if err := c.do(ctx, http.MethodGet, path, nil, &res); err != nil {
		return nil, err
	}
	return &res, nil
}

// Incident implements AlertsBackend.
func (c *Client) Incident(ctx context.Context, id int64) (*triage.IncidentDetail, error) {
	var res triage.IncidentDetail
	if err := c.do(ctx, http.MethodGet, "/api/v1/incidents/"+strconv.FormatInt(id, 10), nil, &res); err != nil {
		return nil, err
	}
	return &res, nil
}

// UpdateIncident implements AlertsBackend.
func (c *Client) UpdateIncident(ctx context.Context, id int64, ch IncidentChange) (*triage.IncidentDetail, error) {
	var res triage.IncidentDetail
	if err := c.do(ctx, http.MethodPatch, "/api/v1/incidents/"+strconv.FormatInt(id, 10), ch, &res); err != nil {
		return nil, err
	}
	return &res, nil
}

// NotifyStatus implements AlertsBackend.
func (c *Client) NotifyStatus(ctx context.Context) (*NotifyStatus, error) {
	var res NotifyStatus
	if err := c.do(ctx, http.MethodGet, "/api/v1/notify/status", nil, &res); err != nil {
		return nil, err
	}
	return &res, nil
}
