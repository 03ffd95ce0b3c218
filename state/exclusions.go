package state

import (
	"context"
	"time"
)

// ExclusionStore keeps exclusions: rule-scoped filters that keep benign
// traffic out of detection rules (package exclude), their hit counters,
// and the notifications shadow exclusions would have suppressed.
//
// It is not part of Store yet, so that every Store implementation need
// not have it at once; the app type-asserts it.
//
// Times are the caller's: the store never reads the clock. It keeps them
// in UTC with nanosecond precision. Lists are empty (not nil) when nothing
// matches; lookups and deletions of a missing id return ErrNotFound.
type ExclusionStore interface {
	// CreateExclusion stores a new exclusion; it returns ErrExists when
	// the id is taken. HitCount and LastHit start as given.
	CreateExclusion(ctx context.Context, rec ExclusionRecord) error
	// UpdateExclusion replaces the definition of an existing exclusion
	// (Body, Mode, ExpiresAt, ShadowUntil, UpdatedAt, UpdatedBy), keeping
	// its creation and hit counters; ErrNotFound when there is none.
	UpdateExclusion(ctx context.Context, rec ExclusionRecord) error
	// Exclusion returns one exclusion, or ErrNotFound.
	Exclusion(ctx context.Context, id string) (ExclusionRecord, error)
	// Exclusions returns the exclusions that pass the filter, ordered by
	// id.
	Exclusions(ctx context.Context, f ExclusionFilter) ([]ExclusionRecord, error)
	// DeleteExclusion removes an exclusion and its shadow suppressions.
	DeleteExclusion(ctx context.Context, id string) error
	// AddExclusionHits adds each entry's Rows to its exclusion's hit count
	// and moves its last hit forward to Last (never back), in one
	// transaction. Entries of missing exclusions are skipped.
	AddExclusionHits(ctx context.Context, hits []ExclusionHits) error
	// AddShadowSuppression records a notification a shadow exclusion
	// would have suppressed; recording the same exclusion, rule,
	// fingerprint and start again changes nothing. ErrNotFound when the
	// exclusion does not exist.
	AddShadowSuppression(ctx context.Context, s ShadowSuppression) error
	// ShadowSuppressions returns an exclusion's recorded suppressions,
	// newest first, at most limit (0: all).
	ShadowSuppressions(ctx context.Context, exclusionID string, limit int) ([]ShadowSuppression, error)
}

// SilenceStore keeps notification silences: label matchers that mute
// alerts for a while, after the rules. Like ExclusionStore it is not part
// of Store yet; the app type-asserts it. Times are the caller's, kept in
// UTC with nanosecond precision.
type SilenceStore interface {
	// CreateSilence stores a new notification silence; it returns
	// ErrExists when the id is taken.
	CreateSilence(ctx context.Context, rec SilenceRecord) error
	// Silences returns the silences that end after endsAfter (zero: all),
	// ordered by start, then id; empty (not nil) when there is none.
	Silences(ctx context.Context, endsAfter time.Time) ([]SilenceRecord, error)
	// DeleteSilence removes a silence, or returns ErrNotFound.
	DeleteSilence(ctx context.Context, id string) error
}

// SilenceRecord is one stored notification silence. Body is its
// definition as the exclude package encodes it (JSON); the times the
// store selects on are copied out.
type SilenceRecord struct {
	ID        string
	Body      []byte
	StartsAt  time.Time
	EndsAt    time.Time
	CreatedAt time.Time
	CreatedBy string
}

// ExclusionRecord is one stored exclusion. Body is its definition as the
// exclude package encodes it (JSON), opaque to the store; the columns the
// store filters on are copied out.
type ExclusionRecord struct {
	ID   string
	Body []byte
	// Mode is "active" or "shadow".
	Mode string
	// ExpiresAt is zero when the exclusion never expires.
	ExpiresAt   time.Time
	ShadowUntil time.Time
	CreatedAt   time.Time
	CreatedBy   string
	UpdatedAt   time.Time
	UpdatedBy   string
	// HitCount and LastHit are the store's counters.
	HitCount int64
	LastHit  time.Time
	// ShadowSuppressions counts the recorded shadow suppressions.
	ShadowSuppressions int
}

// ExclusionFilter selects exclusions; the zero filter selects all.
type ExclusionFilter struct {
	// LiveAt keeps the exclusions that have not expired at LiveAt.
	LiveAt time.Time
	// ExpiredAt keeps the exclusions that have expired at ExpiredAt.
	ExpiredAt time.Time
	// Mode keeps the exclusions of one mode.
	Mode string
}

// ExclusionHits is what one exclusion matched since the last count.
type ExclusionHits struct {
	ID   string
	Rows int64
	Last time.Time
}

// ShadowSuppression is a notification a shadow exclusion would have
// suppressed: its rule's instance was firing, and evaluating the rule
// with the exclusion applied at the same time found no such instance.
type ShadowSuppression struct {
	ExclusionID string            `json:"exclusion_id"`
	RuleID      string            `json:"rule_id"`
	Fingerprint string            `json:"fingerprint"`
	Labels      map[string]string `json:"labels"`
	// StartsAt is when the alert started firing; At when it was checked.
	StartsAt time.Time `json:"starts_at"`
	At       time.Time `json:"at"`
}
