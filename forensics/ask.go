package forensics

import (
	"context"
	"time"

	"github.com/tracehound/tracehound/store"
)

// DefaultTimeout bounds each query of Ask.
const DefaultTimeout = 30 * time.Second

// Answer is a question answered: what it was read as, the SQL that ran and
// its rows, and a timeline.
type Answer struct {
	Question string `json:"question"`
	// IR is the compact form of the parsed question (IR.String).
	IR string `json:"ir"`
	// Interpretation is the question as understood, in plain words.
	Interpretation string `json:"interpretation"`
	// SQL is the query that ran, with now() bound to the evaluation time;
	// Args are its positional arguments.
	SQL       string   `json:"sql"`
	Args      []any    `json:"args,omitempty"`
	Columns   []string `json:"columns"`
	Rows      [][]any  `json:"rows"`
	Truncated bool     `json:"truncated"`
	// Timeline counts the same requests per hour or day (list and count
	// questions); nil otherwise, and nil for Prepare.
	Timeline *Timeline `json:"timeline,omitempty"`
	Notes    []string  `json:"notes,omitempty"`
	// ElapsedMS is the time both queries took.
	ElapsedMS float64 `json:"elapsed_ms"`

	parsed   *IR
	compiled *Compiled
}

// Timeline is a per-bucket count.
type Timeline struct {
	Bucket  string   `json:"bucket"` // "hour" or "day"
	SQL     string   `json:"sql"`
	Args    []any    `json:"args,omitempty"`
	Columns []string `json:"columns"`
	Rows    [][]any  `json:"rows"`
}

// Parsed returns the IR of the question.
func (a *Answer) Parsed() *IR { return a.parsed }

// Prepare parses and compiles a question without running it (`tracehound
// ask --sql-only`): the Answer has the interpretation, SQL (bound to now)
// and arguments, and for list and count questions a Timeline with its SQL
// but no rows. Without the store, IPv6 prefixes and addresses are matched
// by a pattern on the address text rather than resolved (see addr.go).
func Prepare(question string, cat Catalog, now time.Time, opts CompileOptions) (*Answer, error) {
	ir, err := Parse(question, cat)
	if err != nil {
		return nil, err
	}
	return prepareIR(question, ir, now, opts)
}

// Ask answers a question over q: it parses the question against cat,
// resolves its IPv6 prefixes and addresses against the addresses seen in
// its window, compiles it, binds now() to now and runs the query and its
// timeline with a row cap and DefaultTimeout. Parse errors are
// *ParseError.
func Ask(ctx context.Context, q store.Querier, cat Catalog, question string, now time.Time) (*Answer, error) {
	return AskWithOptions(ctx, q, cat, question, now, CompileOptions{})
}

// AskWithOptions is Ask with compile options (IP enrichment lookups).
func AskWithOptions(ctx context.Context, q store.Querier, cat Catalog, question string, now time.Time, opts CompileOptions) (*Answer, error) {
	a, err := prepareLLM(ctx, question, cat, now, nil, opts, q)
	if err != nil {
		return nil, err
	}
	if err := a.run(ctx, q); err != nil {
		return nil, err
	}
	return a, nil
}
