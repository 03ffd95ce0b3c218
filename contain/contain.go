package contain

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/netip"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/tracehound/tracehound/state"
)

// ErrTrusted: the request would block an address that a trusted entry
// covers. Trusted always beats blocked; remove the trust first.
var ErrTrusted = errors.New("address is trusted")

// Sources of a status change.
const (
	SourceManual     = "manual"
	SourceDetector   = "detector"
	SourceAutoShadow = "auto-shadow"
	// SourceRulePrefix starts "rule:<id>".
	SourceRulePrefix = "rule:"
)

// systemActor is the actor of changes the containment makes by itself.
const systemActor = "system"

// Options configure a Containment.
type Options struct {
	// Now is the clock; time.Now when nil.
	Now func() time.Time
	// Logger receives webhook failures; slog.Default when nil.
	Logger *slog.Logger
	// Webhooks receive block, unblock and revocation events; nil sends
	// none.
	Webhooks *Webhooks
}

// Containment sets IP statuses, derives the effective blocked set and
// keeps the decisions that bouncers pull in step with it. It is safe for
// concurrent use; changes are serialised within one process, and the
// store's optimistic check guards against other processes.
type Containment struct {
	store state.IPStore
	now   func() time.Time
	log   *slog.Logger
	hooks *Webhooks

	mu      sync.Mutex // serialises changes and decision syncs
	pending sync.WaitGroup
}

// New returns a Containment over store.
func New(store state.IPStore, opts Options) *Containment {
	c := &Containment{store: store, now: opts.Now, log: opts.Logger, hooks: opts.Webhooks}
	if c.now == nil {
		c.now = time.Now
	}
	if c.log == nil {
		c.log = slog.Default()
	}
	c.log = c.log.With("component", "contain")
	return c
}

// Close waits for the webhooks in flight.
func (c *Containment) Close() error {
	c.pending.Wait()
	return nil
}

// SetRequest asks for a status on addresses and ranges.
type SetRequest struct {
	// IPs are addresses or CIDR ranges, in any notation ParsePrefix reads.
	IPs []string
	// Status is one of state.IPMonitoring, IPInvestigating, IPBlocked,
	// IPTrusted.
	Status string
	// Duration is how long the status lasts; 0 means until changed.
	Duration time.Duration
	Reason   string
	Actor    string
	// Source is SourceManual (the default), SourceDetector,
	// SourceAutoShadow or "rule:<id>".
	Source string
	// Shadow records the change as "would have" without applying it: it
	// changes no record and is never exported. SourceAutoShadow implies it.
	Shadow bool
	// Severity (0–100) ranks blocks against a target's capacity; 0 keeps
	// the record's.
	Severity int
	// Tags are added to the records' tags.
	Tags []string
	// IfAbsent creates records only for the values that have none and
	// leaves the others as they are (enrichment's monitoring records must
	// not replace a status set meanwhile).
	IfAbsent bool
}

// SetResult says what a Set did.
type SetResult struct {
	// ChangeID names the change for history and Undo; 0 when nothing
	// changed.
	ChangeID int64
	// Changed are the canonical values whose record changed (or would
	// have, for a shadow change), including blocks that a new trust
	// superseded.
	Changed []string
	// Unchanged are the values that already had the requested state.
	Unchanged []string
	Shadow    bool
}

// validSource reports whether s is a known source.
func validSource(s string) bool {
	switch s {
	case SourceManual, SourceDetector, SourceAutoShadow:
		return true
	}
	id, ok := strings.CutPrefix(s, SourceRulePrefix)
	return ok && id != "" && len(id) <= 128 && !strings.ContainsAny(id, " \t\r\n")
}

// parseAll parses every input, reporting all the bad ones at once, and
// drops duplicates (in canonical form).
func parseAll(ips []string) ([]netip.Prefix, error) {
	var out []netip.Prefix
	var bad []string
	seen := make(map[netip.Prefix]bool, len(ips))
	for _, s := range ips {
		p, err := ParsePrefix(s)
		if err != nil {
			bad = append(bad, strings.TrimPrefix(err.Error(), ErrInvalid.Error()+": "))
			continue
		}
		if !seen[p] {
			seen[p] = true
			out = append(out, p)
		}
	}
	if len(bad) > 0 {
		if len(bad) > 10 {
			bad = append(bad[:10], fmt.Sprintf("and %d more", len(bad)-10))
		}
		return nil, fmt.Errorf("%w: %s", ErrInvalid, strings.Join(bad, "; "))
	}
	return out, nil
}

// Set gives the status to every address and range of req in one change.
// Blocking anything that a trusted entry covers is refused with ErrTrusted
// (a block on a range that merely contains trusted addresses is allowed:
// they are carved out of it). Trusting a range moves the blocked records
// inside it to monitoring in the same change, so that undoing the trust
// restores them.
func (c *Containment) Set(ctx context.Context, req SetRequest) (SetResult, error) {
	if !state.ValidIPStatus(req.Status) {
		return SetResult{}, fmt.Errorf("%w: unknown status %q (want monitoring, investigating, blocked or trusted)", ErrInvalid, req.Status)
	}
	if req.Source == "" {
		req.Source = SourceManual
	}
	if !validSource(req.Source) {
		return SetResult{}, fmt.Errorf("%w: unknown source %q (want manual, detector, auto-shadow or rule:<id>)", ErrInvalid, req.Source)
	}
	if req.Source == SourceAutoShadow {
		req.Shadow = true
	}
	if req.Duration < 0 {
		return SetResult{}, fmt.Errorf("%w: negative duration %s", ErrInvalid, req.Duration)
	}
	if req.Severity < 0 || req.Severity > 100 {
		return SetResult{}, fmt.Errorf("%w: severity %d is outside 0–100", ErrInvalid, req.Severity)
	}
	if strings.TrimSpace(req.Actor) == "" {
		return SetResult{}, fmt.Errorf("%w: no actor", ErrInvalid)
	}
	prefixes, err := parseAll(req.IPs)
	if err != nil {
		return SetResult{}, err
	}
	if len(prefixes) == 0 {
		return SetResult{}, fmt.Errorf("%w: no address given", ErrInvalid)
	}
	for _, p := range prefixes {
		if p.Bits() == 0 {
			return SetResult{}, fmt.Errorf("%w: %s is the whole address space", ErrInvalid, p)
		}
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	var res SetResult
	var change state.IPChange
	for attempt := 0; ; attempt++ {
		change, res, err = c.planSet(ctx, req, prefixes)
		if err != nil {
			return SetResult{}, err
		}
		if len(change.Items) == 0 {
			return res, nil
		}
		res.ChangeID, err = c.store.ApplyIPChange(ctx, change)
		if errors.Is(err, state.ErrIPChangeConflict) && attempt < 2 {
			continue // another process changed a record: plan again
		}
		if err != nil {
			return SetResult{}, fmt.Errorf("set %s: %w", req.Status, err)
		}
		break
	}
	change.ID = res.ChangeID
	if !change.Shadow {
		if err := c.syncDecisions(ctx); err != nil {
			return res, err
		}
		c.notifyChange(change)
	}
	return res, nil
}

// planSet computes the change that Set applies.
func (c *Containment) planSet(ctx context.Context, req SetRequest, prefixes []netip.Prefix) (state.IPChange, SetResult, error) {
	now := c.now()
	res := SetResult{Shadow: req.Shadow}
	change := state.IPChange{At: now, Actor: req.Actor, Reason: req.Reason, Action: state.IPActionSet,
		Source: req.Source, Shadow: req.Shadow}
	if req.Status == state.IPBlocked {
		trusted, err := c.activeTrusted(ctx, now)
		if err != nil {
			return change, res, err
		}
		var refused []string
		for _, p := range prefixes {
			if t, ok := trusted.covering(p); ok {
				refused = append(refused, fmt.Sprintf("%s (trusted entry %s)", Value(p), Value(t)))
			}
		}
		if len(refused) > 0 {
			return change, res, fmt.Errorf("%w: refusing to block %s; remove the trust first", ErrTrusted, strings.Join(refused, ", "))
		}
	}
	values := make([]string, len(prefixes))
	for i, p := range prefixes {
		values[i] = Value(p)
	}
	current, err := c.store.LookupIPs(ctx, values)
	if err != nil {
		return change, res, err
	}
	var expires time.Time
	if req.Duration > 0 {
		expires = now.Add(req.Duration)
	}
	for _, v := range values {
		var before *state.IPState
		after := state.IPState{Source: req.Source}
		if r, ok := current[v]; ok {
			if req.IfAbsent {
				res.Unchanged = append(res.Unchanged, v)
				continue
			}
			b := r.IPState
			before = &b
			after = b
			after.Tags = slices.Clone(b.Tags)
		}
		after.Status, after.Reason, after.Source, after.ExpiresAt = req.Status, req.Reason, req.Source, expires
		if req.Severity != 0 {
			after.Severity = req.Severity
		}
		after.Tags = state.NormalizeTags(append(after.Tags, req.Tags...))
		if before.Equal(&after) {
			res.Unchanged = append(res.Unchanged, v)
			continue
		}
		change.Items = append(change.Items, state.IPChangeItem{Value: v, Before: before, After: &after})
		res.Changed = append(res.Changed, v)
	}
	if req.Status == state.IPTrusted {
		superseded, err := c.blockedInside(ctx, prefixes, values, now)
		if err != nil {
			return change, res, err
		}
		for _, r := range superseded {
			b := r.IPState
			after := b
			after.Tags = slices.Clone(b.Tags)
			after.Status, after.ExpiresAt = state.IPMonitoring, time.Time{}
			after.Reason = "block superseded by trust: " + req.Reason
			change.Items = append(change.Items, state.IPChangeItem{Value: r.Value, Before: &b, After: &after})
			res.Changed = append(res.Changed, r.Value)
		}
	}
	return change, res, nil
}

// blockedInside returns the blocked records strictly inside any of the
// prefixes, other than the given values themselves.
func (c *Containment) blockedInside(ctx context.Context, prefixes []netip.Prefix, values []string, now time.Time) ([]state.IPRecord, error) {
	skip := make(map[string]bool, len(values))
	for _, v := range values {
		skip[v] = true
	}
	var out []state.IPRecord
	for _, p := range prefixes {
		if p.IsSingleIP() {
			continue
		}
		page, err := c.store.IPs(ctx, state.IPFilter{Statuses: []string{state.IPBlocked}, Within: Value(p)})
		if err != nil {
			return nil, err
		}
		for _, r := range page.Records {
			if !skip[r.Value] {
				skip[r.Value] = true
				out = append(out, r)
			}
		}
	}
	return out, nil
}

// activeTrusted returns the trusted entries in force at now.
func (c *Containment) activeTrusted(ctx context.Context, now time.Time) (prefixSet, error) {
	page, err := c.store.IPs(ctx, state.IPFilter{Statuses: []string{state.IPTrusted}, ActiveAt: now})
	if err != nil {
		return prefixSet{}, err
	}
	ps := make([]netip.Prefix, 0, len(page.Records))
	for _, r := range page.Records {
		p, err := ParsePrefix(r.Value)
		if err != nil {
			return prefixSet{}, fmt.Errorf("stored trusted value %q: %w", r.Value, err)
		}
		ps = append(ps, p)
	}
	return newPrefixSet(ps), nil
}

// Undo reverts a change in one new change, which it returns. The records
// must still be as the change left them (else state.ErrIPChangeConflict);
// a change can be undone once; a shadow change changed nothing and cannot
// be undone. Undoing an undo redoes.
func (c *Containment) Undo(ctx context.Context, changeID int64, actor string) (int64, error) {
	if strings.TrimSpace(actor) == "" {
		return 0, fmt.Errorf("%w: no actor", ErrInvalid)
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	orig, err := c.store.IPChange(ctx, changeID)
	if err != nil {
		return 0, err
	}
	if orig.Shadow {
		return 0, fmt.Errorf("%w: change %d is a shadow change; it changed nothing to undo", ErrInvalid, changeID)
	}
	if orig.UndoneBy != 0 {
		return 0, fmt.Errorf("change %d was already undone by change %d: %w", changeID, orig.UndoneBy, state.ErrIPChangeConflict)
	}
	undo := state.IPChange{At: c.now(), Actor: actor, Reason: fmt.Sprintf("undo of change %d", changeID), Action: state.IPActionUndo,
		Source: SourceManual, Subject: orig.Subject, UndoOf: changeID}
	for _, it := range orig.Items {
		undo.Items = append(undo.Items, state.IPChangeItem{Value: it.Value, Before: it.After, After: it.Before})
	}
	if undo.ID, err = c.store.ApplyIPChange(ctx, undo); err != nil {
		return 0, fmt.Errorf("undo change %d: %w", changeID, err)
	}
	if err := c.syncDecisions(ctx); err != nil {
		return undo.ID, err
	}
	if orig.Action == state.IPActionRevokeAPIKey {
		c.notify(Event{Type: EventAPIKeyRevocationUndone, ChangeID: undo.ID, At: undo.At, Actor: actor, Reason: undo.Reason, APIKeyID: orig.Subject})
	}
	c.notifyChange(undo)
	return undo.ID, nil
}

// SweepResult says what a sweep expired.
type SweepResult struct {
	// ChangeID is the expiry change; 0 when nothing expired.
	ChangeID int64
	// Expired are the records as they were before they expired.
	Expired []state.IPRecord
}

// Sweep ends every status whose expiry has passed: the record returns to
// monitoring in one change by "system", and the decisions bouncers pull
// are synced, so expired blocks are deleted there. Run it periodically;
// until it runs, expired entries are already left out of Effective and of
// the decisions stream.
func (c *Containment) Sweep(ctx context.Context) (SweepResult, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	now := c.now()
	page, err := c.store.IPs(ctx, state.IPFilter{ExpiresBefore: now.Add(time.Nanosecond)})
	if err != nil {
		return SweepResult{}, fmt.Errorf("sweep: %w", err)
	}
	res := SweepResult{Expired: page.Records}
	if len(page.Records) > 0 {
		change := state.IPChange{At: now, Actor: systemActor, Reason: "expired", Action: state.IPActionExpire, Source: SourceManual}
		for _, r := range page.Records {
			b := r.IPState
			after := b
			after.Tags = slices.Clone(b.Tags)
			after.Status, after.ExpiresAt = state.IPMonitoring, time.Time{}
			change.Items = append(change.Items, state.IPChangeItem{Value: r.Value, Before: &b, After: &after})
		}
		if change.ID, err = c.store.ApplyIPChange(ctx, change); err != nil {
			return SweepResult{}, fmt.Errorf("sweep: %w", err)
		}
		res.ChangeID = change.ID
		c.notifyChange(change)
	}
	if err := c.syncDecisions(ctx); err != nil {
		return res, err
	}
	return res, nil
}

// RevokeAPIKey records, by hand, that an API key was revoked; see Revoke.
func (c *Containment) RevokeAPIKey(ctx context.Context, keyID, reason, actor string) (int64, error) {
	return c.Revoke(ctx, RevokeRequest{KeyID: keyID, Reason: reason, Actor: actor})
}

// Entry is one prefix of the effective blocked set.
type Entry struct {
	Prefix netip.Prefix
	// Record is the value of the blocked record the entry comes from; it
	// differs from Value(Prefix) when trusted addresses were carved out.
	Record    string
	Reason    string
	Source    string
	Severity  int
	ExpiresAt time.Time
	// UpdatedAt is when the block was last set: the recency that ranks
	// entries against a target's capacity.
	UpdatedAt time.Time
}

// Blocklist is the effective blocked set at one time.
type Blocklist struct {
	At time.Time
	// Entries are disjoint, in address order (IPv4 first).
	Entries []Entry
	// Trusted are the trusted entries in force, which no exported prefix
	// may overlap.
	Trusted []netip.Prefix
}

// Effective computes the blocked set at now: blocked records that have not
// expired, without the addresses that trusted entries cover, and without
// entries that another entry already covers. Shadow changes never reach
// it.
func (c *Containment) Effective(ctx context.Context, now time.Time) (Blocklist, error) {
	trusted, err := c.activeTrusted(ctx, now)
	if err != nil {
		return Blocklist{}, fmt.Errorf("effective blocklist: %w", err)
	}
	page, err := c.store.IPs(ctx, state.IPFilter{Statuses: []string{state.IPBlocked}, ActiveAt: now})
	if err != nil {
		return Blocklist{}, fmt.Errorf("effective blocklist: %w", err)
	}
	var entries []Entry
	for _, r := range page.Records {
		p, err := ParsePrefix(r.Value)
		if err != nil {
			return Blocklist{}, fmt.Errorf("stored blocked value %q: %w", r.Value, err)
		}
		if _, ok := trusted.covering(p); ok {
			continue
		}
		for _, part := range subtract(p, trusted.inside(p)) {
			entries = append(entries, Entry{Prefix: part, Record: r.Value, Reason: r.Reason, Source: r.Source,
				Severity: r.Severity, ExpiresAt: r.ExpiresAt, UpdatedAt: r.UpdatedAt})
		}
	}
	slices.SortFunc(entries, func(a, b Entry) int { return comparePrefix(a.Prefix, b.Prefix) })
	out := Blocklist{At: now, Trusted: trusted.sorted, Entries: entries[:0]}
	for _, e := range entries {
		if n := len(out.Entries); n > 0 && out.Entries[n-1].Prefix.Contains(e.Prefix.Addr()) {
			continue // covered by the previous entry: prefixes nest or are disjoint
		}
		out.Entries = append(out.Entries, e)
	}
	return out, nil
}

// permanentDuration is how long a block without expiry lasts for a
// bouncer, which needs a duration.
const permanentDuration = 10 * 365 * 24 * time.Hour

// defaultScenario names a decision whose block has no reason.
const defaultScenario = "tracehound/manual-block"

// syncDecisions makes the stored decisions match the effective set.
func (c *Containment) syncDecisions(ctx context.Context) error {
	now := c.now()
	bl, err := c.Effective(ctx, now)
	if err != nil {
		return err
	}
	want := make([]state.Decision, len(bl.Entries))
	for i, e := range bl.Entries {
		want[i] = state.Decision{Value: Value(e.Prefix), Scenario: scenarioOf(e.Reason), Until: e.ExpiresAt}
	}
	if _, _, err := c.store.SyncDecisions(ctx, want, now); err != nil {
		return fmt.Errorf("sync decisions: %w", err)
	}
	return nil
}

func scenarioOf(reason string) string {
	if strings.TrimSpace(reason) == "" {
		return defaultScenario
	}
	return reason
}

// SyncDecisions brings the decisions bouncers pull in step with the
// effective set; Set, Undo and Sweep already do it, this is for start-up.
func (c *Containment) SyncDecisions(ctx context.Context) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.syncDecisions(ctx)
}

// notifyChange posts ip.blocked for the values a change blocked and
// ip.unblocked for those it unblocked.
func (c *Containment) notifyChange(ch state.IPChange) {
	if c.hooks == nil {
		return
	}
	var blocked, unblocked []string
	var expires time.Time
	for _, it := range ch.Items {
		was := it.Before != nil && it.Before.Status == state.IPBlocked
		is := it.After != nil && it.After.Status == state.IPBlocked
		switch {
		case is && (!was || !it.Before.ExpiresAt.Equal(it.After.ExpiresAt)):
			blocked = append(blocked, it.Value)
			expires = it.After.ExpiresAt
		case was && !is:
			unblocked = append(unblocked, it.Value)
		}
	}
	base := Event{ChangeID: ch.ID, At: ch.At, Actor: ch.Actor, Reason: ch.Reason, Source: ch.Source}
	if len(blocked) > 0 {
		ev := base
		ev.Type, ev.IPs = EventIPBlocked, blocked
		if !expires.IsZero() {
			ev.ExpiresAt = &expires
		}
		c.notify(ev)
	}
	if len(unblocked) > 0 {
		ev := base
		ev.Type, ev.IPs = EventIPUnblocked, unblocked
		c.notify(ev)
	}
}

// notify posts ev in the background; Close waits for it.
func (c *Containment) notify(ev Event) {
	if c.hooks == nil {
		return
	}
	c.pending.Go(func() {
		if err := c.hooks.Send(context.Background(), ev); err != nil {
			c.log.Warn("response webhook failed", "event", ev.Type, "change", ev.ChangeID, "err", err)
		}
	})
}
