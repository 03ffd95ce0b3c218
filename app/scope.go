package app

import (
	"context"
	"fmt"
	"slices"

	"github.com/tracehound/tracehound/alert"
	"github.com/tracehound/tracehound/api"
	"github.com/tracehound/tracehound/auth"
	"github.com/tracehound/tracehound/exclude"
	"github.com/tracehound/tracehound/span"
	"github.com/tracehound/tracehound/store"
)

// Application scoping: a user or token scoped to applications reads, through
// every path (SQL, forensics, the map, traces, investigations), only the
// spans of those applications, and the rules and exclusions it defines are
// limited to them. The store the App queries is wrapped once, so no read
// path can forget the filter.

// scopedStore is the span store as the principal of a request sees it.
type scopedStore struct {
	store.Store
}

// Query implements store.Querier: for a scoped principal, every read of
// traces in q reads only its applications' spans.
func (s scopedStore) Query(ctx context.Context, q string, opts store.QueryOptions, args ...any) (*store.Result, error) {
	p := auth.FromContext(ctx)
	if !p.Scoped() {
		return s.Store.Query(ctx, q, opts, args...)
	}
	in, err := exclude.InApplications(p.Applications)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", store.ErrQuery, err)
	}
	scoped, _, err := exclude.Keep(q, in)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", store.ErrQuery, err)
	}
	return s.Store.Query(ctx, scoped, opts, args...)
}

// Trace implements store.TraceReader: a scoped principal gets the spans of
// its applications; a trace with none of them is not found.
func (s scopedStore) Trace(ctx context.Context, traceID string) ([]span.Span, error) {
	spans, err := s.Store.Trace(ctx, traceID)
	p := auth.FromContext(ctx)
	if err != nil || !p.Scoped() {
		return spans, err
	}
	kept := spans[:0]
	for _, sp := range spans {
		if p.SeesApplication(applicationOf(sp)) {
			kept = append(kept, sp)
		}
	}
	if len(kept) == 0 {
		return nil, store.ErrNotFound
	}
	return kept, nil
}

// Sync passes through to the store, for bulk loads.
func (s scopedStore) Sync(ctx context.Context) error {
	if sy, ok := s.Store.(interface{ Sync(context.Context) error }); ok {
		return sy.Sync(ctx)
	}
	return nil
}

// errScopedCopy refuses a copy to a scoped principal: queries of the copy
// would not be limited to its applications.
var errScopedCopy = fmt.Errorf("%w: copies of spans are not kept for a principal limited to applications", store.ErrQuery)

// Scratch passes through to the store (store.Scratcher) for a principal
// that sees every application.
func (s scopedStore) Scratch(ctx context.Context, query string, maxRows int, args ...any) (string, int64, func(), error) {
	sc, ok := s.Store.(store.Scratcher)
	if !ok {
		return "", 0, nil, fmt.Errorf("%w: the store keeps no copies", store.ErrQuery)
	}
	if auth.FromContext(ctx).Scoped() {
		return "", 0, nil, errScopedCopy
	}
	return sc.Scratch(ctx, query, maxRows, args...)
}

// Saturated passes through to the store, for the OTLP receiver.
func (s scopedStore) Saturated() bool {
	sat, ok := s.Store.(interface{ Saturated() bool })
	return ok && sat.Saturated()
}

// applicationOf is the application a span was sent by.
func applicationOf(sp span.Span) string {
	for _, a := range sp.ResourceAttributes {
		if a.Key == exclude.ApplicationAttribute {
			return a.Value
		}
	}
	return ""
}

// scopeExclusion limits an exclusion made by a scoped principal to its
// applications: it may name some of them, and gets all of them when it
// names none.
func scopeExclusion(ctx context.Context, e *exclude.Exclusion) error {
	if err := exclude.CheckApplications(e.Applications); err != nil {
		return fmt.Errorf("%w: %w", api.ErrBadRequest, err)
	}
	p := auth.FromContext(ctx)
	if !p.Scoped() {
		return nil
	}
	if len(e.Applications) == 0 {
		e.Applications = slices.Clone(p.Applications)
		return nil
	}
	for _, name := range e.Applications {
		if !p.SeesApplication(name) {
			return fmt.Errorf("%w: exclusion for application %q: you see only %v", auth.ErrForbidden, name, p.Applications)
		}
	}
	return nil
}

// checkRuleScope refuses, from a scoped principal, a rule that would read
// spans beyond its applications.
func checkRuleScope(ctx context.Context, r alert.Rule) error {
	p := auth.FromContext(ctx)
	if !p.Scoped() {
		return nil
	}
	if len(r.Applications) == 0 {
		return fmt.Errorf("%w: your account sees the applications %v only; give the rule `applications:` with some of them", auth.ErrForbidden, p.Applications)
	}
	for _, name := range r.Applications {
		if !p.SeesApplication(name) {
			return fmt.Errorf("%w: rule for application %q: you see only %v", auth.ErrForbidden, name, p.Applications)
		}
	}
	return nil
}

// The dry runs of exclusions copy the spans they read most (exclude).
var _ store.Scratcher = scopedStore{}
