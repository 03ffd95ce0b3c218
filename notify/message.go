// Package notify sends alerts to people and systems, Alertmanager style:
// a routing tree picks receivers by label matchers; alerts are grouped by
// labels, held for group_wait, updated every group_interval and repeated
// every repeat_interval; a notification log (persisted in state) keeps a
// restart from sending twice. Receivers are Slack incoming webhooks (Block
// Kit), generic webhooks (the Alertmanager v4 payload, so existing
// consumers work) and e-mail over SMTP.
//
// Shadow-mode alerts never notify. Secrets (webhook URLs, tokens,
// passwords) never reach logs, errors or metrics.
package notify

import (
	"maps"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/tracehound/tracehound/alert"
)

// Message is one notification of one group to one receiver.
type Message struct {
	Receiver string
	GroupKey string
	// Status is "firing" when any alert fires, else "resolved".
	Status            string
	GroupLabels       map[string]string
	CommonLabels      map[string]string
	CommonAnnotations map[string]string
	// Alerts are firing first, then by severity (most severe first), then
	// by start time and fingerprint.
	Alerts      []alert.Alert
	ExternalURL string
}

func newMessage(receiver, groupKey string, groupLabels map[string]string, alerts []alert.Alert, external string) *Message {
	m := &Message{Receiver: receiver, GroupKey: groupKey, Status: "resolved", GroupLabels: maps.Clone(groupLabels),
		Alerts: alerts, ExternalURL: external}
	for _, a := range alerts {
		if a.State == alert.StateFiring {
			m.Status = "firing"
		}
	}
	m.CommonLabels = common(alerts, func(a alert.Alert) map[string]string { return a.Labels })
	m.CommonAnnotations = common(alerts, func(a alert.Alert) map[string]string { return a.Annotations })
	return m
}

// common returns the pairs every alert has.
func common(alerts []alert.Alert, get func(alert.Alert) map[string]string) map[string]string {
	out := map[string]string{}
	if len(alerts) == 0 {
		return out
	}
	maps.Copy(out, get(alerts[0]))
	for _, a := range alerts[1:] {
		m := get(a)
		for k, v := range out {
			if m[k] != v {
				delete(out, k)
			}
		}
	}
	return out
}

func sortAlerts(alerts []alert.Alert) {
	slices.SortFunc(alerts, func(a, b alert.Alert) int {
		if fa, fb := a.State == alert.StateFiring, b.State == alert.StateFiring; fa != fb {
			if fa {
				return -1
			}
			return 1
		}
		if ra, rb := a.Severity.Rank(), b.Severity.Rank(); ra != rb {
			return rb - ra
		}
		if c := a.StartsAt.Compare(b.StartsAt); c != 0 {
			return c
		}
		return strings.Compare(a.Fingerprint, b.Fingerprint)
	})
}

// firingCount counts the firing alerts.
func (m *Message) firingCount() int {
	n := 0
	for _, a := range m.Alerts {
		if a.State == alert.StateFiring {
			n++
		}
	}
	return n
}

// AlertURL links to an alert in the UI; empty without an external URL.
func (m *Message) AlertURL(a alert.Alert) string {
	if m.ExternalURL == "" {
		return ""
	}
	return m.ExternalURL + "/alerts/" + url.PathEscape(a.Fingerprint)
}

// Title is the one-line summary: [FIRING:2] group label values, or the
// rule name when the group has no labels.
func (m *Message) Title() string {
	var b strings.Builder
	b.WriteString("[" + strings.ToUpper(m.Status))
	if m.Status == "firing" {
		b.WriteString(":" + strconv.Itoa(m.firingCount()))
	}
	b.WriteString("] ")
	var vals []string
	for _, k := range slices.Sorted(maps.Keys(m.GroupLabels)) {
		vals = append(vals, m.GroupLabels[k])
	}
	if len(vals) == 0 && len(m.Alerts) > 0 {
		vals = append(vals, ruleName(m.Alerts[0]))
	}
	b.WriteString(strings.Join(vals, " "))
	return b.String()
}

func ruleName(a alert.Alert) string {
	if a.RuleName != "" {
		return a.RuleName
	}
	return a.RuleID
}

// WebhookPayload is the Alertmanager v4 webhook payload.
type WebhookPayload struct {
	Version           string            `json:"version"`
	GroupKey          string            `json:"groupKey"`
	TruncatedAlerts   uint64            `json:"truncatedAlerts"`
	Status            string            `json:"status"`
	Receiver          string            `json:"receiver"`
	GroupLabels       map[string]string `json:"groupLabels"`
	CommonLabels      map[string]string `json:"commonLabels"`
	CommonAnnotations map[string]string `json:"commonAnnotations"`
	ExternalURL       string            `json:"externalURL"`
	Alerts            []WebhookAlert    `json:"alerts"`
}

// WebhookAlert is one alert of a WebhookPayload.
type WebhookAlert struct {
	Status       string            `json:"status"`
	Labels       map[string]string `json:"labels"`
	Annotations  map[string]string `json:"annotations"`
	StartsAt     time.Time         `json:"startsAt"`
	EndsAt       time.Time         `json:"endsAt"`
	GeneratorURL string            `json:"generatorURL"`
	Fingerprint  string            `json:"fingerprint"`
}

// webhookPayload renders m, keeping at most maxAlerts alerts (0: all).
func webhookPayload(m *Message, maxAlerts int) WebhookPayload {
	alerts := m.Alerts
	var truncated uint64
	if maxAlerts > 0 && len(alerts) > maxAlerts {
		truncated = uint64(len(alerts) - maxAlerts)
		alerts = alerts[:maxAlerts]
	}
	p := WebhookPayload{Version: "4", GroupKey: m.GroupKey, TruncatedAlerts: truncated, Status: m.Status,
		Receiver: m.Receiver, GroupLabels: nonNil(m.GroupLabels), CommonLabels: nonNil(m.CommonLabels),
		CommonAnnotations: nonNil(m.CommonAnnotations), ExternalURL: m.ExternalURL, Alerts: []WebhookAlert{}}
	for _, a := range alerts {
		p.Alerts = append(p.Alerts, WebhookAlert{Status: string(a.State), Labels: nonNil(a.Labels),
			Annotations: nonNil(a.Annotations), StartsAt: a.StartsAt.UTC(), EndsAt: a.EndsAt.UTC(),
			GeneratorURL: m.AlertURL(a), Fingerprint: a.Fingerprint})
	}
	return p
}

func nonNil(m map[string]string) map[string]string {
	if m == nil {
		return map[string]string{}
	}
	return m
}
