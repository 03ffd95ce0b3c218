package contain

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/tracehound/tracehound/state"
)

// EventRateLimitAdvised is the response webhook event of a rate-limit
// advice: the client address and the advised limit, for a gateway to apply.
const EventRateLimitAdvised = "ip.rate_limit_advised"

// RevokeRequest records the revocation of an API key.
type RevokeRequest struct {
	KeyID, Reason, Actor string
	// Source is SourceManual (the default), SourceDetector or
	// "rule:<id>".
	Source string
	// Shadow records the revocation as "would have" without telling the
	// webhooks.
	Shadow bool
}

// Revoke records that an API key is revoked (the revocation itself
// happens where the key lives: the webhook tells it) and posts the event.
// It returns the change, which Undo reverts.
func (c *Containment) Revoke(ctx context.Context, req RevokeRequest) (int64, error) {
	if strings.TrimSpace(req.KeyID) == "" || len(req.KeyID) > 256 {
		return 0, fmt.Errorf("%w: API key id must be 1–256 characters", ErrInvalid)
	}
	if strings.TrimSpace(req.Actor) == "" {
		return 0, fmt.Errorf("%w: no actor", ErrInvalid)
	}
	if req.Source == "" {
		req.Source = SourceManual
	}
	if !validSource(req.Source) {
		return 0, fmt.Errorf("%w: unknown source %q", ErrInvalid, req.Source)
	}
	change := state.IPChange{At: c.now(), Actor: req.Actor, Reason: req.Reason, Action: state.IPActionRevokeAPIKey,
		Source: req.Source, Subject: req.KeyID, Shadow: req.Shadow || req.Source == SourceAutoShadow}
	id, err := c.store.ApplyIPChange(ctx, change)
	if err != nil {
		return 0, fmt.Errorf("revoke API key %q: %w", req.KeyID, err)
	}
	if !change.Shadow {
		c.notify(Event{Type: EventAPIKeyRevoked, ChangeID: id, At: change.At, Actor: req.Actor, Reason: req.Reason,
			Source: req.Source, APIKeyID: req.KeyID})
	}
	return id, nil
}

// AdviseRateLimit posts a rate-limit advice for an address to the response
// webhooks: tracehound does not enforce rate limits itself, the gateway
// that receives the event does.
func (c *Containment) AdviseRateLimit(ip, limit, reason, actor, source string) error {
	p, err := ParsePrefix(ip)
	if err != nil {
		return err
	}
	if limit == "" {
		return fmt.Errorf("%w: no rate limit", ErrInvalid)
	}
	c.notify(Event{Type: EventRateLimitAdvised, At: c.now(), Actor: actor, Reason: reason, Source: source,
		IPs: []string{Value(p)}, RateLimit: limit})
	return nil
}

// TagRequest sets the tags of addresses without touching their status.
type TagRequest struct {
	IPs []string
	// Add are added; tags starting with ReplacePrefix are removed first,
	// so a new verdict replaces the last one.
	Add           []string
	ReplacePrefix string
	Reason, Actor string
	Source        string
}

// Tag changes the tags of the addresses in one change (an address without
// a record gets one, monitoring) and returns it, or 0 when no tag changed.
// It never changes a status, so it is never exported to a bouncer.
func (c *Containment) Tag(ctx context.Context, req TagRequest) (int64, error) {
	if strings.TrimSpace(req.Actor) == "" {
		return 0, fmt.Errorf("%w: no actor", ErrInvalid)
	}
	if req.Source == "" {
		req.Source = SourceManual
	}
	if !validSource(req.Source) {
		return 0, fmt.Errorf("%w: unknown source %q", ErrInvalid, req.Source)
	}
	prefixes, err := parseAll(req.IPs)
	if err != nil {
		return 0, err
	}
	values := make([]string, len(prefixes))
	for i, p := range prefixes {
		values[i] = Value(p)
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	for attempt := 0; ; attempt++ {
		current, err := c.store.LookupIPs(ctx, values)
		if err != nil {
			return 0, err
		}
		change := state.IPChange{At: c.now(), Actor: req.Actor, Reason: req.Reason, Action: state.IPActionSet, Source: req.Source}
		for _, v := range values {
			var before *state.IPState
			after := state.IPState{Status: state.IPMonitoring, Source: req.Source, Reason: req.Reason}
			if r, ok := current[v]; ok {
				b := r.IPState
				before, after = &b, b
			}
			tags := slices.DeleteFunc(slices.Clone(after.Tags), func(t string) bool {
				return req.ReplacePrefix != "" && strings.HasPrefix(t, req.ReplacePrefix)
			})
			after.Tags = state.NormalizeTags(append(tags, req.Add...))
			if before != nil && slices.Equal(state.NormalizeTags(before.Tags), after.Tags) {
				continue
			}
			change.Items = append(change.Items, state.IPChangeItem{Value: v, Before: before, After: &after})
		}
		if len(change.Items) == 0 {
			return 0, nil
		}
		id, err := c.store.ApplyIPChange(ctx, change)
		if errors.Is(err, state.ErrIPChangeConflict) && attempt < 2 {
			continue
		}
		if err != nil {
			return 0, fmt.Errorf("tag: %w", err)
		}
		return id, nil
	}
}
