package state

import (
	"context"
	"time"
)

// RuleStore keeps the alert engine's state: the rules people create and
// edit through the API, and, per rule, the time of its last evaluation and
// its alert instances, so that a restart neither re-fires an alert nor
// loses the time an instance has been pending.
//
// Times are the caller's: the store never reads the clock. It keeps them
// in UTC with nanosecond precision.
type RuleStore interface {
	// PutRuleDef creates or replaces the rule definition with def.ID.
	PutRuleDef(ctx context.Context, def RuleDef) error
	// RuleDef returns one rule definition, or ErrNotFound.
	RuleDef(ctx context.Context, id string) (RuleDef, error)
	// RuleDefs returns every rule definition ordered by id; empty (not
	// nil) when there is none.
	RuleDefs(ctx context.Context) ([]RuleDef, error)
	// DeleteRuleDef removes a rule definition; it returns ErrNotFound when
	// none has that id. The rule's evaluation state is kept.
	DeleteRuleDef(ctx context.Context, id string) error

	// SaveRuleState replaces, in one transaction, the evaluation state of
	// st.RuleID with st: its last evaluation and its instances (instances
	// not in st are removed).
	SaveRuleState(ctx context.Context, st RuleState) error
	// RuleState returns the evaluation state of one rule with its
	// instances ordered by fingerprint, or ErrNotFound when it was never
	// saved.
	RuleState(ctx context.Context, ruleID string) (RuleState, error)
	// RuleStates returns the evaluation state of every rule ordered by rule
	// id, with their instances; empty (not nil) when there is none.
	RuleStates(ctx context.Context) ([]RuleState, error)
	// DeleteRuleState forgets a rule's evaluation state and instances; it
	// is not an error when there is none.
	DeleteRuleState(ctx context.Context, ruleID string) error
}

// RuleDef is a rule created or edited through the API: its YAML body (one
// rule, in the alert package's rule format) and who changed it last.
type RuleDef struct {
	ID        string
	Body      []byte
	Enabled   bool
	UpdatedAt time.Time
	UpdatedBy string
}

// RuleState is what the engine must remember about one rule across
// restarts.
type RuleState struct {
	RuleID string
	// LastEval is the evaluation time of the last evaluation (the
	// scheduler's slot, not the wall clock when it ran); the next
	// evaluation follows on from it.
	LastEval time.Time
	// Instances are the rule's pending, firing and recently resolved
	// alert instances.
	Instances []RuleInstance
}

// RuleInstance is one alert instance of a rule.
type RuleInstance struct {
	// Fingerprint identifies the instance within its rule.
	Fingerprint string
	// State is "pending", "firing" or "resolved".
	State string
	// ActiveAt is when the instance first matched, FiredAt when it started
	// firing, ResolvedAt when it resolved, LastMatchAt the last evaluation
	// its row was in the result; zero when not applicable.
	ActiveAt    time.Time
	FiredAt     time.Time
	ResolvedAt  time.Time
	LastMatchAt time.Time
	// Data is opaque to the store (JSON, as the engine writes it: labels,
	// annotations, values and delivery bookkeeping).
	Data []byte
}
