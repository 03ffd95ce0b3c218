package triage

import (
	"fmt"
	"net/netip"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/tracehound/tracehound/alert"
	"github.com/tracehound/tracehound/state"
)

// Page sizes.
const (
	DefaultLimit = 50
	MaxLimit     = 1000
)

// ParseNotificationFilter reads a notification filter from query
// parameters, the same for the API (/api/v1/alerts?…) and the CLI flags:
//
//	status=open,investigating   severity=high,critical   rule=RULE_ID
//	ip=ADDR   api_key=ID   endpoint="GET /admin/export"   assignee=NAME
//	incident=ID   alert_state=firing|resolved   mode=active|shadow|any
//	since=2026-03-02T00:00:00Z|24h|7d   until=…   cursor=ID   limit=1…1000
//
// Relative times count back from now. Other parameters are ignored. Errors
// wrap ErrInvalid.
func ParseNotificationFilter(q url.Values, now time.Time) (state.NotificationFilter, error) {
	var f state.NotificationFilter
	var err error
	if f.Statuses, err = statuses(q.Get("status")); err != nil {
		return f, err
	}
	for _, v := range list(q.Get("severity")) {
		sev, err := alert.ParseSeverity(v)
		if err != nil {
			return f, fmt.Errorf("severity: %w: %w", err, ErrInvalid)
		}
		f.Severities = append(f.Severities, string(sev))
	}
	f.RuleID = strings.TrimSpace(q.Get("rule"))
	if ip := strings.TrimSpace(q.Get("ip")); ip != "" {
		addr, err := netip.ParseAddr(ip)
		if err != nil {
			return f, fmt.Errorf("ip %q is not an IP address: %w", ip, ErrInvalid)
		}
		f.IP = addr.Unmap().String()
	}
	f.APIKey = strings.TrimSpace(q.Get("api_key"))
	f.Endpoint = strings.TrimSpace(q.Get("endpoint"))
	f.Assignee = strings.TrimSpace(q.Get("assignee"))
	if f.IncidentID, err = positiveID("incident", q.Get("incident")); err != nil {
		return f, err
	}
	switch v := q.Get("alert_state"); v {
	case "", string(alert.StateFiring), string(alert.StateResolved):
		f.AlertState = v
	default:
		return f, fmt.Errorf("alert_state %q (want firing or resolved): %w", v, ErrInvalid)
	}
	switch v := q.Get("mode"); v {
	case "", string(alert.ModeActive), string(alert.ModeShadow), "any":
		f.Mode = v
	default:
		return f, fmt.Errorf("mode %q (want active, shadow or any): %w", v, ErrInvalid)
	}
	if f.Since, err = parseTime("since", q.Get("since"), now); err != nil {
		return f, err
	}
	if f.Until, err = parseTime("until", q.Get("until"), now); err != nil {
		return f, err
	}
	if !f.Since.IsZero() && !f.Until.IsZero() && !f.Since.Before(f.Until) {
		return f, fmt.Errorf("since must be before until: %w", ErrInvalid)
	}
	if f.BeforeID, err = positiveID("cursor", q.Get("cursor")); err != nil {
		return f, err
	}
	f.Limit, err = limit(q.Get("limit"))
	return f, err
}

// ParseIncidentFilter reads an incident filter from query parameters:
// status, since, cursor and limit as in ParseNotificationFilter.
func ParseIncidentFilter(q url.Values, now time.Time) (state.IncidentFilter, error) {
	var f state.IncidentFilter
	var err error
	if f.Statuses, err = statuses(q.Get("status")); err != nil {
		return f, err
	}
	if f.Since, err = parseTime("since", q.Get("since"), now); err != nil {
		return f, err
	}
	if f.BeforeID, err = positiveID("cursor", q.Get("cursor")); err != nil {
		return f, err
	}
	f.Limit, err = limit(q.Get("limit"))
	return f, err
}

func list(s string) []string {
	var out []string
	for v := range strings.SplitSeq(s, ",") {
		if v = strings.TrimSpace(v); v != "" {
			out = append(out, v)
		}
	}
	return out
}

func statuses(s string) ([]string, error) {
	out := list(s)
	for _, v := range out {
		if !state.ValidTriageStatus(v) {
			return nil, fmt.Errorf("status %q (want open, investigating, resolved or false_positive): %w", v, ErrInvalid)
		}
	}
	return out, nil
}

func positiveID(name, s string) (int64, error) {
	if s == "" {
		return 0, nil
	}
	id, err := strconv.ParseInt(s, 10, 64)
	if err != nil || id <= 0 {
		return 0, fmt.Errorf("%s %q is not a positive id: %w", name, s, ErrInvalid)
	}
	return id, nil
}

func limit(s string) (int, error) {
	if s == "" {
		return DefaultLimit, nil
	}
	n, err := strconv.Atoi(s)
	if err != nil || n < 1 || n > MaxLimit {
		return 0, fmt.Errorf("limit %q (want 1 to %d): %w", s, MaxLimit, ErrInvalid)
	}
	return n, nil
}

// parseTime reads an RFC 3339 time or a duration back from now: Go
// durations plus d (days) and w (weeks), such as 90m, 24h, 7d, 2w.
func parseTime(name, s string, now time.Time) (time.Time, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return time.Time{}, nil
	}
	if t, err := time.Parse(time.RFC3339Nano, s); err == nil {
		return t.UTC(), nil
	}
	d, err := parseAgo(s)
	if err != nil {
		return time.Time{}, fmt.Errorf("%s %q (want RFC 3339 or a duration such as 24h or 7d): %w", name, s, ErrInvalid)
	}
	return now.Add(-d).UTC(), nil
}

// parseAgo parses a positive duration of at most ten years.
func parseAgo(s string) (time.Duration, error) {
	const maxAgo = 10 * 365 * 24 * time.Hour
	unit := time.Duration(0)
	switch {
	case strings.HasSuffix(s, "d"):
		unit = 24 * time.Hour
	case strings.HasSuffix(s, "w"):
		unit = 7 * 24 * time.Hour
	}
	if unit != 0 {
		n, err := strconv.ParseFloat(s[:len(s)-1], 64)
		if err != nil || !(n > 0) || n > float64(maxAgo/unit) {
			return 0, fmt.Errorf("bad duration %q", s)
		}
		return time.Duration(n * float64(unit)), nil
	}
	d, err := time.ParseDuration(s)
	if err != nil {
		return 0, err
	}
	if d <= 0 || d > maxAgo {
		return 0, fmt.Errorf("duration %q out of range", s)
	}
	return d, nil
}
