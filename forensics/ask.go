package forensics

import (
	"context"
	"fmt"
	"time"

	"github.com/tracehound/tracehound/sqlguard"
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
// but no rows.
func Prepare(question string, cat Catalog, now time.Time, opts CompileOptions) (*Answer, error) {
	ir, err := Parse(question, cat)
	if err != nil {
		return nil, err
	}
	opts.Now = now
	c, err := Compile(ir, opts)
	if err != nil {
		return nil, err
	}
	a := &Answer{Question: question, IR: ir.String(), Interpretation: c.Interpretation, Args: c.Main.Args, Notes: c.Notes, parsed: ir, compiled: c}
	if a.SQL, err = sqlguard.BindNow(c.Main.SQL, now); err != nil {
		return nil, fmt.Errorf("bind now: %w", err)
	}
	if c.Timeline != nil {
		tl := &Timeline{Bucket: c.Bucket, Args: c.Timeline.Args}
		if tl.SQL, err = sqlguard.BindNow(c.Timeline.SQL, now); err != nil {
			return nil, fmt.Errorf("bind now: %w", err)
		}
		a.Timeline = tl
	}
	return a, nil
}

// Ask answers a question over q: it parses the question against cat,
// compiles it, binds now() to now and runs the query and its timeline with
// a row cap and DefaultTimeout. Parse errors are *ParseError.
func Ask(ctx context.Context, q store.Querier, cat Catalog, question string, now time.Time) (*Answer, error) {
	return AskWithOptions(ctx, q, cat, question, now, CompileOptions{})
}

// AskWithOptions is Ask with compile options (IP enrichment lookups).
func AskWithOptions(ctx context.Context, q store.Querier, cat Catalog, question string, now time.Time, opts CompileOptions) (*Answer, error) {
	a, err := Prepare(question, cat, now, opts)
	if err != nil {
		return nil, err
	}
	start := time.Now()
	res, err := q.Query(ctx, a.SQL, store.QueryOptions{MaxRows: a.compiled.MaxRows, Timeout: DefaultTimeout}, a.Args...)
	if err != nil {
		return nil, fmt.Errorf("run %q: %w", question, err)
	}
	a.Columns, a.Rows, a.Truncated = res.Columns, res.Rows, res.Truncated
	if a.Timeline != nil {
		res, err := q.Query(ctx, a.Timeline.SQL, store.QueryOptions{MaxRows: 10_000, Timeout: DefaultTimeout}, a.Timeline.Args...)
		if err != nil {
			return nil, fmt.Errorf("run the timeline of %q: %w", question, err)
		}
		a.Timeline.Columns, a.Timeline.Rows = res.Columns, res.Rows
	}
	a.ElapsedMS = float64(time.Since(start).Microseconds()) / 1000
	return a, nil
}
