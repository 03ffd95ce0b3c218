package state

import (
	"context"
	"errors"
	"slices"
	"time"
)

// ErrIPChangeConflict: an IP change was computed from a state that is no
// longer current (another change landed first), or it undoes a change that
// was already undone. The caller re-reads and retries, or gives up.
var ErrIPChangeConflict = errors.New("conflicting IP change")

// ErrBouncerExists: a bouncer with that name is already registered.
var ErrBouncerExists = errors.New("bouncer already exists")

// IPStore keeps the IP records (single addresses and CIDR ranges with their
// containment status), the change log that every status change goes
// through, the decisions derived from the blocked set, and the bouncers that
// pull those decisions.
//
// Values are canonical, as contain.ParsePrefix returns them: a single
// address without a prefix length ("203.0.113.7", "2001:db8::1"), a range as
// its masked prefix ("198.51.100.0/24"). The store does not re-validate
// them beyond what its range columns need. Times are the caller's: the store
// never reads the clock.
type IPStore interface {
	// ApplyIPChange records c and, unless c.Shadow, applies its items, all
	// in one transaction. For every item the record's current state must
	// equal item.Before (nil: no record), else nothing is written and the
	// error wraps ErrIPChangeConflict. item.After nil deletes the record.
	// When c.UndoOf is set, the undone change is marked undone by this one
	// in the same transaction, and ErrIPChangeConflict is returned if it
	// was already undone. It ignores c.ID and c.UndoneBy and returns the
	// new change's ID, which grows with every change.
	ApplyIPChange(ctx context.Context, c IPChange) (int64, error)
	// IPChange returns one change with all its items, or ErrNotFound.
	IPChange(ctx context.Context, id int64) (IPChange, error)
	// IPChanges returns the changes that pass the filter, newest first;
	// empty (not nil) when there is none. With f.Value set, each change
	// carries only the items of that value: the value's history.
	IPChanges(ctx context.Context, f IPChangeFilter) ([]IPChange, error)

	// IP returns the record of one canonical value, or ErrNotFound.
	IP(ctx context.Context, value string) (IPRecord, error)
	// LookupIPs returns the records of the given canonical values that
	// exist, keyed by value.
	LookupIPs(ctx context.Context, values []string) (map[string]IPRecord, error)
	// IPs returns one page of the records that pass the filter, in the
	// filter's order, with the number of records that pass it.
	IPs(ctx context.Context, f IPFilter) (IPPage, error)
	// SetIPEnrichment stores the enrichment blob of a record, or returns
	// ErrNotFound when the value has no record.
	SetIPEnrichment(ctx context.Context, value string, enrichment []byte, at time.Time) error
	// UpdateIPStats folds traffic statistics into existing records: first
	// seen keeps the earliest, last seen the latest, requests and bytes
	// are replaced. Values without a record are skipped; it returns how
	// many records it updated.
	UpdateIPStats(ctx context.Context, stats []IPStats) (int, error)

	// SyncDecisions makes the active decisions equal to want: decisions
	// whose (value, until, scenario) is not wanted any more are deleted at
	// now (at their until, when that is earlier), wanted ones that are not
	// active are created at now. Values must be unique within want. It
	// returns how many it created and deleted.
	SyncDecisions(ctx context.Context, want []Decision, now time.Time) (created, deleted int, err error)
	// ActiveDecisions returns the decisions active at now (not deleted,
	// until after now or permanent), ordered by id; with containing set
	// (a canonical value), only those whose range contains it.
	ActiveDecisions(ctx context.Context, now time.Time, containing string) ([]Decision, error)
	// DecisionChanges returns, for a bouncer that last pulled at since, the
	// decisions created after since and active at now, and the decisions
	// deleted or expired after since and at or before now whose value has
	// no active decision at now. Both are ordered by id.
	DecisionChanges(ctx context.Context, since, now time.Time) (created, deleted []Decision, err error)

	// AddBouncer registers a bouncer by name with the hash of its key; it
	// returns ErrBouncerExists when the name is taken.
	AddBouncer(ctx context.Context, b Bouncer) (Bouncer, error)
	// Bouncers returns every bouncer, ordered by name; empty (not nil) when
	// there is none.
	Bouncers(ctx context.Context) ([]Bouncer, error)
	// BouncerByKeyHash returns the bouncer whose key hashes to keyHash, or
	// ErrNotFound.
	BouncerByKeyHash(ctx context.Context, keyHash string) (Bouncer, error)
	// DeleteBouncer removes a bouncer by name, or returns ErrNotFound.
	DeleteBouncer(ctx context.Context, name string) error
	// SetBouncerPull records a bouncer's last successful pull.
	SetBouncerPull(ctx context.Context, id int64, at time.Time) error
}

// IP statuses.
const (
	IPMonitoring    = "monitoring"
	IPInvestigating = "investigating"
	IPBlocked       = "blocked"
	IPTrusted       = "trusted"
)

// ValidIPStatus reports whether s is one of the IP statuses.
func ValidIPStatus(s string) bool {
	switch s {
	case IPMonitoring, IPInvestigating, IPBlocked, IPTrusted:
		return true
	}
	return false
}

// IP change actions.
const (
	IPActionSet          = "set"
	IPActionExpire       = "expire"
	IPActionUndo         = "undo"
	IPActionRevokeAPIKey = "revoke_api_key"
)

// IPState is the part of an IP record that changes go through and that
// Undo restores.
type IPState struct {
	// Status is one of IPMonitoring, IPInvestigating, IPBlocked, IPTrusted.
	Status string
	Reason string
	// Source is "manual", "rule:<id>", "detector" or "auto-shadow".
	Source string
	// Severity (0–100) ranks blocks when a target's capacity is exceeded.
	Severity int
	// Tags are kept sorted and unique by the store.
	Tags  []string
	Notes string
	// ExpiresAt is zero for a status without expiry.
	ExpiresAt time.Time
}

// Equal reports whether two states are the same; nil equals only nil.
func (s *IPState) Equal(o *IPState) bool {
	if s == nil || o == nil {
		return s == o
	}
	return s.Status == o.Status && s.Reason == o.Reason && s.Source == o.Source && s.Severity == o.Severity &&
		s.Notes == o.Notes && s.ExpiresAt.Equal(o.ExpiresAt) && slices.Equal(NormalizeTags(s.Tags), NormalizeTags(o.Tags))
}

// NormalizeTags returns tags sorted, without duplicates or empty strings;
// never nil.
func NormalizeTags(tags []string) []string {
	out := make([]string, 0, len(tags))
	for _, t := range tags {
		if t != "" {
			out = append(out, t)
		}
	}
	slices.Sort(out)
	return slices.Compact(out)
}

// IPRecord is one monitored address or range.
type IPRecord struct {
	ID int64
	// Value is the canonical address or range.
	Value string
	IPState
	CreatedBy string
	UpdatedBy string
	CreatedAt time.Time
	UpdatedAt time.Time
	// Enrichment is opaque to the store (JSON, as ipintel writes it); nil
	// when not enriched.
	Enrichment   []byte
	EnrichedAt   time.Time
	FirstSeen    time.Time
	LastSeen     time.Time
	RequestCount int64
	ByteCount    int64
}

// IPStats is the traffic of one value as the trace store saw it.
type IPStats struct {
	Value        string
	FirstSeen    time.Time
	LastSeen     time.Time
	RequestCount int64
	ByteCount    int64
}

// IP record sort keys for IPFilter.Sort.
const (
	IPSortValue     = "value"
	IPSortStatus    = "status"
	IPSortSeverity  = "severity"
	IPSortSource    = "source"
	IPSortCreatedAt = "created_at"
	IPSortUpdatedAt = "updated_at"
	IPSortExpiresAt = "expires_at"
	IPSortFirstSeen = "first_seen"
	IPSortLastSeen  = "last_seen"
	IPSortRequests  = "requests"
	IPSortBytes     = "bytes"
)

// IPSortKeys lists the keys IPFilter.Sort accepts.
var IPSortKeys = []string{IPSortValue, IPSortStatus, IPSortSeverity, IPSortSource, IPSortCreatedAt, IPSortUpdatedAt,
	IPSortExpiresAt, IPSortFirstSeen, IPSortLastSeen, IPSortRequests, IPSortBytes}

// IPFilter selects and orders IP records; the zero filter selects all,
// ordered by value.
type IPFilter struct {
	// Statuses keeps records with one of these statuses.
	Statuses []string
	// Tag keeps records carrying this tag.
	Tag string
	// Source keeps records with this source.
	Source string
	// Within keeps records inside this canonical range (or equal to it).
	Within string
	// Containing keeps records whose range contains this canonical value.
	Containing string
	// Text keeps records whose value, notes, reason or tags contain it
	// (case-insensitive).
	Text string
	// ExpiresBefore keeps records with an expiry before it; ExpiresAfter
	// records with an expiry after it.
	ExpiresBefore time.Time
	ExpiresAfter  time.Time
	// ActiveAt, when set, drops records whose expiry is at or before it.
	ActiveAt time.Time
	// Sort is one of IPSortKeys (default IPSortValue); Desc reverses it.
	// Ties are broken by value.
	Sort string
	Desc bool
	// Limit caps the page (0: no cap); Offset skips records.
	Limit  int
	Offset int
}

// IPPage is one page of IP records.
type IPPage struct {
	// Records is empty (not nil) when no record passes.
	Records []IPRecord
	// Total is the number of records that pass the filter.
	Total int
}

// IPChange is one change to any number of IP records, made by one actor
// for one reason: the unit of history and of undo.
type IPChange struct {
	ID     int64
	At     time.Time
	Actor  string
	Reason string
	// Action is one of the IPAction constants.
	Action string
	// Source is where the change came from: "manual", "rule:<id>"...
	Source string
	// Shadow marks a change that was only recorded ("would have"), never
	// applied.
	Shadow bool
	// Subject names what a change without items acts on, such as the API
	// key id of IPActionRevokeAPIKey.
	Subject string
	// UndoOf is the change this one undoes; UndoneBy the change that
	// undid this one (0: none).
	UndoOf   int64
	UndoneBy int64
	Items    []IPChangeItem
}

// IPChangeItem is one record's before and after in a change.
type IPChangeItem struct {
	Value string
	// Before is nil when the record did not exist; After is nil when the
	// change deletes it.
	Before *IPState
	After  *IPState
}

// IPChangeFilter selects changes; the zero filter selects all.
type IPChangeFilter struct {
	// Value keeps the changes with an item for it.
	Value string
	// Action keeps the changes of that action.
	Action string
	// Shadow, when set, keeps the shadow changes (true) or the applied
	// ones (false).
	Shadow *bool
	// BeforeID keeps changes with a smaller id, for paging.
	BeforeID int64
	// Limit caps the changes returned; 0 means no cap.
	Limit int
}

// Decision is one entry of the blocked set as distributed to bouncers.
type Decision struct {
	ID int64
	// Value is a canonical address or range.
	Value    string
	Scenario string
	// Until is zero for a permanent decision.
	Until     time.Time
	CreatedAt time.Time
	// DeletedAt is zero while the decision has not been deleted.
	DeletedAt time.Time
}

// Bouncer is a client that pulls decisions with an API key.
type Bouncer struct {
	ID   int64
	Name string
	// KeyHash is the hash of the key; the key itself is never stored.
	KeyHash   string
	CreatedAt time.Time
	// LastPull is zero until the first successful pull.
	LastPull time.Time
}
