package exclude

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/tracehound/tracehound/alert"
)

// ErrInvalid is wrapped by every error about an exclusion's definition.
var ErrInvalid = errors.New("invalid exclusion")

func invalidf(format string, args ...any) error {
	return fmt.Errorf("%w: %s", ErrInvalid, fmt.Sprintf(format, args...))
}

// Kind is what a condition compares.
type Kind string

// Kinds of condition.
const (
	// KindPathGlob matches http_path against a glob or an API-map
	// template: * within one segment, ** across segments, {name} one
	// whole segment.
	KindPathGlob Kind = "path_glob"
	// KindIPCIDR matches peer_ip against IPv4 or IPv6 addresses or ranges
	// (one, or several separated by commas).
	KindIPCIDR Kind = "ip_cidr"
	// KindAPIKey matches api_key_id exactly.
	KindAPIKey Kind = "api_key"
	// KindUserAgent matches user_agent exactly, or as a glob when the
	// value holds a * (which matches any text).
	KindUserAgent Kind = "user_agent"
	// KindASN matches the addresses known to belong to an autonomous
	// system ("AS14061" or "14061"), resolved when the exclusion is
	// compiled.
	KindASN Kind = "asn"
	// KindStatus matches status_code: "404", "4xx", "500-599", or a
	// comma-separated list of those.
	KindStatus Kind = "status"
	// KindSQLPredicate is one boolean expression over the columns of
	// traces that the SQL guard accepts, without subqueries.
	KindSQLPredicate Kind = "sql_predicate"
)

// Kinds lists the condition kinds, in documentation order.
var Kinds = []Kind{KindPathGlob, KindIPCIDR, KindAPIKey, KindUserAgent, KindASN, KindStatus, KindSQLPredicate}

// Condition is one test on a span.
type Condition struct {
	Kind  Kind   `json:"kind" yaml:"kind"`
	Value string `json:"value" yaml:"value"`
}

// Match says how an exclusion combines its conditions.
type Match string

// Matches.
const (
	MatchAll Match = "all"
	MatchAny Match = "any"
)

// ScopeKind says which rules an exclusion applies to.
type ScopeKind string

// Scopes.
const (
	// ScopeRule is one rule (RuleIDs holds it).
	ScopeRule ScopeKind = "rule"
	// ScopeRules is the rules listed in RuleIDs.
	ScopeRules ScopeKind = "rules"
	// ScopeExisting is every rule that existed when the exclusion was
	// created: the creator fills RuleIDs with them, and rules added later
	// are not excluded.
	ScopeExisting ScopeKind = "existing"
	// ScopeAny is every rule, including those added later.
	ScopeAny ScopeKind = "any"
)

// Scope is the rules an exclusion applies to.
type Scope struct {
	Kind    ScopeKind `json:"kind" yaml:"kind"`
	RuleIDs []string  `json:"rule_ids,omitempty" yaml:"rule_ids,omitempty"`
}

// Covers reports whether the scope includes ruleID.
func (s Scope) Covers(ruleID string) bool {
	if s.Kind == ScopeAny {
		return true
	}
	return slices.Contains(s.RuleIDs, ruleID)
}

// Mode says whether an exclusion suppresses.
type Mode string

// Modes.
const (
	// ModeActive exclusions filter the rules' rows.
	ModeActive Mode = "active"
	// ModeShadow exclusions filter nothing: they record what they would
	// have suppressed (hits, and the notifications that would not have
	// fired) until ShadowUntil, then wait for someone to activate them.
	ModeShadow Mode = "shadow"
)

// Status is where an exclusion is in its life at a given time.
type Status string

// Statuses.
const (
	StatusActive  Status = "active"
	StatusShadow  Status = "shadow"
	StatusExpired Status = "expired"
	// StatusReview is a shadow exclusion whose shadow period ended: it
	// suppresses nothing and is listed for review until activated,
	// deleted or expired.
	StatusReview Status = "review"
)

// Expiry is when an exclusion stops applying. Every exclusion has one:
// Never must be chosen explicitly. In JSON and YAML it reads "never", an
// RFC 3339 time, or a duration from creation ("30d", "12h"), which Resolve
// turns into a time.
type Expiry struct {
	Never bool
	At    time.Time
	// In is a duration from creation, before Resolve.
	In time.Duration
}

// Set reports whether an expiry was given.
func (e Expiry) Set() bool { return e.Never || !e.At.IsZero() || e.In > 0 }

// Resolve turns a relative expiry into a time.
func (e Expiry) Resolve(now time.Time) Expiry {
	if e.In > 0 {
		return Expiry{At: now.Add(e.In).UTC()}
	}
	return e
}

// Expired reports whether the expiry has passed at t.
func (e Expiry) Expired(t time.Time) bool { return !e.Never && !e.At.IsZero() && !t.Before(e.At) }

// String renders the expiry as its JSON form does.
func (e Expiry) String() string {
	switch {
	case e.Never:
		return "never"
	case e.In > 0:
		return formatDuration(e.In)
	case e.At.IsZero():
		return ""
	}
	return e.At.UTC().Format(time.RFC3339)
}

// ParseExpiry reads "never", an RFC 3339 time or a duration.
func ParseExpiry(s string) (Expiry, error) {
	s = strings.TrimSpace(s)
	switch {
	case s == "":
		return Expiry{}, nil
	case strings.EqualFold(s, "never"):
		return Expiry{Never: true}, nil
	}
	if t, err := time.Parse(time.RFC3339, s); err == nil {
		return Expiry{At: t.UTC()}, nil
	}
	if d, err := alert.ParseDuration(s); err == nil && d > 0 {
		return Expiry{In: d}, nil
	}
	return Expiry{}, invalidf("expires_at %q: want never, an RFC 3339 time or a duration such as 30d", clip(s))
}

// MarshalText implements encoding.TextMarshaler.
func (e Expiry) MarshalText() ([]byte, error) { return []byte(e.String()), nil }

// UnmarshalText implements encoding.TextUnmarshaler.
func (e *Expiry) UnmarshalText(b []byte) error {
	v, err := ParseExpiry(string(b))
	if err != nil {
		return err
	}
	*e = v
	return nil
}

// Exclusion keeps rows out of rules (data exclusion): its conditions are
// compiled into a predicate that removes matching spans from the traces a
// rule reads, before the rule aggregates and compares with its threshold.
type Exclusion struct {
	ID         string      `json:"id" yaml:"id"`
	Conditions []Condition `json:"conditions" yaml:"conditions"`
	// Match is all (the default) or any.
	Match Match `json:"match" yaml:"match"`
	Scope Scope `json:"scope" yaml:"scope"`
	// Applications limits the exclusion to the spans of these
	// applications; empty: every application's. An exclusion made by a
	// principal scoped to applications is limited to them, so one team
	// cannot mute another's traffic.
	Applications []string `json:"applications,omitempty" yaml:"applications,omitempty"`
	// Reason says why the traffic is benign; it is required.
	Reason    string    `json:"reason" yaml:"reason"`
	CreatedBy string    `json:"created_by,omitempty" yaml:"created_by,omitempty"`
	CreatedAt time.Time `json:"created_at,omitzero" yaml:"created_at,omitempty"`
	// ExpiresAt is required; "never" must be explicit.
	ExpiresAt Expiry `json:"expires_at" yaml:"expires_at"`
	// Mode is active (the default) or shadow; a shadow exclusion shadows
	// until ShadowUntil (zero: until it expires).
	Mode        Mode      `json:"mode" yaml:"mode"`
	ShadowUntil time.Time `json:"shadow_until,omitzero" yaml:"shadow_until,omitempty"`
	// HitCount counts the server requests the exclusion matched while it
	// applied (or would have, in shadow); LastHit is the latest one. They
	// are kept by the store, and ignored when an exclusion is created.
	HitCount int64     `json:"hit_count" yaml:"hit_count,omitempty"`
	LastHit  time.Time `json:"last_hit,omitzero" yaml:"last_hit,omitempty"`
	// ForceReason is why the exclusion was applied although it suppresses
	// notifications triaged as true positives.
	ForceReason string `json:"force_reason,omitempty" yaml:"force_reason,omitempty"`
}

// Status returns the exclusion's status at t.
func (e *Exclusion) Status(t time.Time) Status {
	switch {
	case e.ExpiresAt.Expired(t):
		return StatusExpired
	case e.Mode == ModeShadow && !e.ShadowUntil.IsZero() && !t.Before(e.ShadowUntil):
		return StatusReview
	case e.Mode == ModeShadow:
		return StatusShadow
	}
	return StatusActive
}

// Applies reports whether the exclusion filters ruleID's rows at t.
func (e *Exclusion) Applies(ruleID string, t time.Time) bool {
	return e.Status(t) == StatusActive && e.Scope.Covers(ruleID)
}

// Shadows reports whether the exclusion records, without filtering, what
// it would suppress in ruleID at t.
func (e *Exclusion) Shadows(ruleID string, t time.Time) bool {
	return e.Status(t) == StatusShadow && e.Scope.Covers(ruleID)
}

// Limits of a definition.
const (
	MaxConditions  = 20
	MaxValueBytes  = 4096
	MaxReasonBytes = 2000
	MaxScopeRules  = 500
)

var idPattern = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_.:-]{0,63}$`)

// Normalize fills the defaults of the optional fields: match all, mode
// active, sorted and unique scope rule ids.
func (e *Exclusion) Normalize() {
	if e.Match == "" {
		e.Match = MatchAll
	}
	if e.Mode == "" {
		e.Mode = ModeActive
	}
	if e.Scope.Kind == "" && len(e.Scope.RuleIDs) == 1 {
		e.Scope.Kind = ScopeRule
	} else if e.Scope.Kind == "" && len(e.Scope.RuleIDs) > 1 {
		e.Scope.Kind = ScopeRules
	}
	if e.Conditions == nil {
		e.Conditions = []Condition{}
	}
	ids := slices.Clone(e.Scope.RuleIDs)
	slices.Sort(ids)
	e.Scope.RuleIDs = slices.Compact(ids)
	for i := range e.Conditions {
		e.Conditions[i].Value = strings.TrimSpace(e.Conditions[i].Value)
	}
	e.Reason = strings.TrimSpace(e.Reason)
}

// Validate checks the definition: the id, every condition (each is
// compiled to find errors, except that asn is only parsed), match,
// scope, a reason, an expiry and the mode. It does not resolve relative
// expiries nor check that they are in the future; see Exclusion.Check.
func (e *Exclusion) Validate() error {
	var errs []error
	fail := func(format string, args ...any) { errs = append(errs, invalidf(format, args...)) }
	if !idPattern.MatchString(e.ID) {
		fail("id %q: want letters, digits, '_', '.', ':' or '-', at most 64, starting with a letter or digit", clip(e.ID))
	}
	switch n := len(e.Conditions); {
	case n == 0:
		fail("no conditions: an exclusion needs at least one (path_glob, ip_cidr, api_key, user_agent, asn, status or sql_predicate)")
	case n > MaxConditions:
		fail("%d conditions: at most %d", n, MaxConditions)
	}
	for i, c := range e.Conditions {
		if err := c.Validate(); err != nil {
			errs = append(errs, fmt.Errorf("condition %d: %w", i+1, err))
		}
	}
	switch e.Match {
	case MatchAll, MatchAny:
	default:
		fail("match %q: want all or any", clip(string(e.Match)))
	}
	switch e.Scope.Kind {
	case ScopeRule:
		if len(e.Scope.RuleIDs) != 1 {
			fail("scope rule names exactly one rule in rule_ids (got %d)", len(e.Scope.RuleIDs))
		}
	case ScopeRules:
		if len(e.Scope.RuleIDs) == 0 {
			fail("scope rules needs the rule ids in rule_ids")
		}
	case ScopeExisting:
	case ScopeAny:
		if len(e.Scope.RuleIDs) > 0 {
			fail("scope any applies to every rule; leave rule_ids out")
		}
	case "":
		fail("no scope: want rule, rules, existing or any")
	default:
		fail("scope %q: want rule, rules, existing or any", clip(string(e.Scope.Kind)))
	}
	if len(e.Scope.RuleIDs) > MaxScopeRules {
		fail("scope names %d rules; at most %d", len(e.Scope.RuleIDs), MaxScopeRules)
	}
	for _, id := range e.Scope.RuleIDs {
		if strings.TrimSpace(id) == "" {
			fail("scope has an empty rule id")
		}
	}
	if strings.TrimSpace(e.Reason) == "" {
		fail("no reason: say why this traffic is benign")
	} else if len(e.Reason) > MaxReasonBytes {
		fail("reason is %d bytes; at most %d", len(e.Reason), MaxReasonBytes)
	}
	if !e.ExpiresAt.Set() {
		fail(`no expires_at: give a time, a duration such as 30d, or "never" explicitly`)
	}
	switch e.Mode {
	case ModeActive:
		if !e.ShadowUntil.IsZero() {
			fail("shadow_until goes with mode shadow")
		}
	case ModeShadow:
	default:
		fail("mode %q: want active or shadow", clip(string(e.Mode)))
	}
	return errors.Join(errs...)
}

// Check validates e as a new exclusion at now: Validate, plus an expiry
// and a shadow period in the future.
func (e *Exclusion) Check(now time.Time) error {
	if err := e.Validate(); err != nil {
		return err
	}
	if !e.ExpiresAt.Never && e.ExpiresAt.In == 0 && !e.ExpiresAt.At.After(now) {
		return invalidf("expires_at %s is in the past", e.ExpiresAt)
	}
	if e.Mode == ModeShadow && !e.ShadowUntil.IsZero() && !e.ShadowUntil.After(now) {
		return invalidf("shadow_until %s is in the past", e.ShadowUntil.UTC().Format(time.RFC3339))
	}
	return nil
}

// Validate checks one condition's value by compiling it (asn values are
// only parsed: their addresses are resolved when the exclusion is
// compiled).
func (c Condition) Validate() error {
	if len(c.Value) > MaxValueBytes {
		return invalidf("%s value is %d bytes; at most %d", c.Kind, len(c.Value), MaxValueBytes)
	}
	if strings.TrimSpace(c.Value) == "" {
		return invalidf("%s has no value", c.Kind)
	}
	switch c.Kind {
	case KindASN:
		_, err := ParseASN(c.Value)
		return err
	case KindPathGlob, KindIPCIDR, KindAPIKey, KindUserAgent, KindStatus, KindSQLPredicate:
		_, err := compileCondition(context.Background(), c, CompileOptions{})
		return err
	}
	return invalidf("unknown condition kind %q (want %s)", clip(string(c.Kind)), kindList())
}

func kindList() string {
	s := make([]string, len(Kinds))
	for i, k := range Kinds {
		s[i] = string(k)
	}
	return strings.Join(s, ", ")
}

// clip shortens user text quoted in a message.
func clip(s string) string {
	const max = 60
	if len(s) <= max {
		return s
	}
	cut := max
	for cut > 0 && s[cut]&0xC0 == 0x80 {
		cut--
	}
	return s[:cut] + "…"
}

func formatDuration(d time.Duration) string {
	day := 24 * time.Hour
	if d%day == 0 {
		return fmt.Sprintf("%dd", d/day)
	}
	return d.String()
}
