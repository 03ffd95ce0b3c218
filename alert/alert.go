// Package alert runs detection rules: SQL over the traces table on a
// schedule, each result row one alert instance, moved through the
// Prometheus-style states inactive → pending → firing → resolved with
// `for` and `keep_firing_for`, and replayed over history by a backtest.
//
// This file holds the alert as the rest of tracehound sees it: what the
// engine hands to its Sink (notifications, triage) when an instance starts
// firing, keeps firing or resolves.
package alert

import (
	"fmt"
	"time"
)

// Severity orders alerts by how urgently a person should look.
type Severity string

// Severities, least to most severe.
const (
	SeverityInfo     Severity = "info"
	SeverityLow      Severity = "low"
	SeverityMedium   Severity = "medium"
	SeverityHigh     Severity = "high"
	SeverityCritical Severity = "critical"
)

// Rank returns 0 (info) … 4 (critical), or -1 for an unknown severity.
func (s Severity) Rank() int {
	switch s {
	case SeverityInfo:
		return 0
	case SeverityLow:
		return 1
	case SeverityMedium:
		return 2
	case SeverityHigh:
		return 3
	case SeverityCritical:
		return 4
	}
	return -1
}

// ParseSeverity validates s.
func ParseSeverity(s string) (Severity, error) {
	if Severity(s).Rank() < 0 {
		return "", fmt.Errorf("unknown severity %q (want info, low, medium, high or critical)", s)
	}
	return Severity(s), nil
}

// State is where an alert instance is in its life.
type State string

// States of an alert instance. Only firing and resolved instances reach a
// Sink; pending ones stay inside the engine.
const (
	StateInactive State = "inactive"
	StatePending  State = "pending"
	StateFiring   State = "firing"
	StateResolved State = "resolved"
)

// Mode says whether a rule's alerts notify people.
type Mode string

// Modes of a rule.
const (
	// ModeActive alerts notify and reach triage.
	ModeActive Mode = "active"
	// ModeShadow alerts are recorded (and counted, backtested) but notify
	// no one: a rule runs in shadow until it has proved itself.
	ModeShadow Mode = "shadow"
)

// Alert is one alert instance as delivered to a Sink.
type Alert struct {
	// Fingerprint identifies the instance: a stable hash of the rule id
	// and the instance labels. The same row identity on a later evaluation
	// has the same fingerprint.
	Fingerprint string   `json:"fingerprint"`
	RuleID      string   `json:"rule_id"`
	RuleName    string   `json:"rule_name"`
	Severity    Severity `json:"severity"`
	Mode        Mode     `json:"mode"`
	State       State    `json:"state"` // firing or resolved
	// Labels: the rule's labels, then the instance's identity columns
	// (non-numeric result columns or the rule's group_by), then
	// "alertname" (the rule id) and "severity".
	Labels map[string]string `json:"labels"`
	// Annotations are the rule's annotation templates executed over the row.
	Annotations map[string]string `json:"annotations"`
	// Values holds the latest result row, column → value.
	Values map[string]any `json:"values"`
	// ActiveAt is when the instance first matched (start of pending).
	ActiveAt time.Time `json:"active_at"`
	// StartsAt is when it started firing.
	StartsAt time.Time `json:"starts_at"`
	// EndsAt is when it resolved; zero while firing.
	EndsAt time.Time `json:"ends_at,omitzero"`
	// EvaluatedAt is the evaluation time that produced this delivery.
	EvaluatedAt time.Time `json:"evaluated_at"`
}

// Well-known label names. Rules that name their identity columns after
// these let triage group alerts into incidents and enrichment find the
// IPs, keys and endpoints involved.
const (
	LabelAlertName = "alertname"
	LabelSeverity  = "severity"
	LabelIP        = "peer_ip"
	LabelAPIKey    = "api_key_id"
	LabelEndpoint  = "endpoint"
	LabelService   = "service_name"
)
