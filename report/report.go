// Package report renders incident reports: what happened, how, to what
// effect, why it was possible, how long it took to notice, and what was
// done — as Markdown for tickets and as a self-contained HTML page with a
// timeline chart. Every figure comes from the investigation and the state
// store; the renderers only lay it out.
package report

import (
	"time"

	"github.com/tracehound/tracehound/detect"
)

// Incident is everything an incident report says.
type Incident struct {
	ID          int64     `json:"id"`
	Title       string    `json:"title"`
	Severity    string    `json:"severity"`
	Status      string    `json:"status"`
	GeneratedAt time.Time `json:"generated_at"`

	// Verdict is the investigation's overall verdict; Campaign the
	// campaign its callers form, if any.
	Verdict   string           `json:"verdict"`
	Certainty string           `json:"certainty"`
	RiskScore int              `json:"risk_score"`
	Summary   string           `json:"summary"`
	Vector    string           `json:"attack_vector"`
	Campaign  *detect.Campaign `json:"campaign,omitempty"`

	// FirstActivity and LastActivity bound the callers' traffic.
	FirstActivity time.Time `json:"first_activity"`
	LastActivity  time.Time `json:"last_activity"`

	Infrastructure []Host    `json:"infrastructure"`
	Exposure       Exposure  `json:"exposure"`
	RootCause      RootCause `json:"root_cause"`
	Detection      Detection `json:"detection"`

	Techniques []detect.Technique     `json:"attack_techniques"`
	OWASP      []detect.OWASPCategory `json:"owasp"`
	Findings   []string               `json:"findings"`
	// Remediation are the recommended next steps.
	Remediation []string `json:"remediation"`
	// Actions are what people and tracehound did, oldest first.
	Actions []Action `json:"actions"`
	// Hourly counts the callers' requests per hour.
	Hourly []Bucket `json:"hourly"`
	// Evidence are the queries that reproduce the figures.
	Evidence []string `json:"evidence"`
}

// Host is one address involved.
type Host struct {
	IP         string `json:"ip"`
	Verdict    string `json:"verdict"`
	Requests   int64  `json:"requests"`
	Country    string `json:"country,omitempty"`
	ASN        uint32 `json:"asn,omitempty"`
	ASOrg      string `json:"as_org,omitempty"`
	DataCenter bool   `json:"data_center"`
	// Status is what enforcement does with it now (blocked, trusted, none).
	Status string `json:"status,omitempty"`
}

// Exposure is what the attack got.
type Exposure struct {
	Requests      int64    `json:"requests"`
	Successes     int64    `json:"successes"`
	Bytes         int64    `json:"bytes"`
	UniqueObjects int64    `json:"unique_objects"`
	ObjectSource  string   `json:"object_source,omitempty"`
	Target        string   `json:"target,omitempty"`
	APIKeys       []string `json:"api_keys,omitempty"`
}

// RootCause is what the API map knows of the target endpoint.
type RootCause struct {
	Endpoint    string   `json:"endpoint,omitempty"`
	Known       bool     `json:"known"`
	Documented  bool     `json:"documented"`
	Shadow      bool     `json:"shadow"`
	Auth        string   `json:"auth,omitempty"`
	Tags        []string `json:"tags,omitempty"`
	Sensitivity []string `json:"sensitivity,omitempty"`
	// RateLimited is whether any request to it was answered 429.
	RateLimited bool     `json:"rate_limited"`
	Notes       []string `json:"notes"`
}

// Detection is the detection gap: from the first malicious request to the
// first notification.
type Detection struct {
	FirstMalicious    time.Time     `json:"first_malicious,omitzero"`
	FirstNotification time.Time     `json:"first_notification,omitzero"`
	Gap               time.Duration `json:"gap_ns"`
	Rules             []string      `json:"rules"`
	Notifications     int           `json:"notifications"`
}

// Action is one thing done about the incident.
type Action struct {
	At     time.Time `json:"at"`
	Actor  string    `json:"actor"`
	What   string    `json:"what"`
	Detail string    `json:"detail,omitempty"`
}

// Bucket is a count over one interval.
type Bucket struct {
	Start time.Time `json:"start"`
	Count int64     `json:"count"`
}

// Duration is the span of the callers' activity.
func (r *Incident) Duration() time.Duration {
	if r.FirstActivity.IsZero() || r.LastActivity.IsZero() {
		return 0
	}
	return r.LastActivity.Sub(r.FirstActivity)
}
