// Package state defines tracehound's state store: everything that is not a
// span (settings, and in later milestones rules, notifications, incidents,
// exclusions, IP records, the endpoint inventory, users and the audit log).
// SQLite backs it on one machine (state/sqlite); PostgreSQL when scaled out.
package state

import (
	"context"
	"errors"
)

// ErrNotFound: the requested record does not exist.
var ErrNotFound = errors.New("not found")

// Store is the state store.
type Store interface {
	MapStore
	AuthStore
	TriageStore
	NotifyLogStore
	IPStore
	RuleStore
	ApplicationStore
	ExclusionStore
	// Setting returns the value stored under key, or ErrNotFound.
	Setting(ctx context.Context, key string) (string, error)
	// SetSetting stores value under key, replacing any previous value.
	SetSetting(ctx context.Context, key, value string) error
	// Close releases the store.
	Close() error
}
