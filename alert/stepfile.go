package alert

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"slices"

	"github.com/tracehound/tracehound/alert/stepfile"
	"github.com/tracehound/tracehound/store"
)

// A StepCache over a store whose marks hold across restarts
// (store.DurableMarks) can be saved to a file (package stepfile) and
// loaded again once the store is open again: each entry's mark then
// still tells which of its steps the writes since changed, and a dry run
// after a restart replays those steps rather than a week of every rule.
// The backtests an entry keeps are not saved: the state machine runs
// again over the rows.

// ErrOtherStore: the file holds evaluations of another store's spans.
var ErrOtherStore = errors.New("the replay cache file is of another span store")

// Save writes c's entries to w, most recently used first, and returns
// how many. Entries holding values other than numbers, strings, booleans
// and times (lists, maps) are left out.
func (c *StepCache) Save(w io.Writer) (int, error) {
	dm, ok := c.changes.(store.DurableMarks)
	if !ok {
		return 0, errors.New("save the replay cache: the span store's marks do not outlive it")
	}
	c.mu.Lock()
	entries := make([]*stepEntry, 0, len(c.entries))
	for _, e := range c.entries {
		entries = append(entries, e)
	}
	c.mu.Unlock()
	// An entry is not changed once in the cache (a merge makes a new
	// one); only its backtests are, and they are not saved.
	slices.SortFunc(entries, func(a, b *stepEntry) int { return cmp.Compare(b.used, a.used) })
	saved := make([]stepfile.Entry, 0, len(entries))
	for _, e := range entries {
		if s, ok := saveEntry(e); ok {
			saved = append(saved, s)
		}
	}
	if err := stepfile.Write(w, dm.StoreID(), saved); err != nil {
		return 0, fmt.Errorf("save the replay cache: %w", err)
	}
	return len(saved), nil
}

// saveEntry returns e as saved; ok is false when it holds a value the
// file cannot.
func saveEntry(e *stepEntry) (stepfile.Entry, bool) {
	s := stepfile.Entry{Key: e.key, First: e.first, Step: e.step, Columns: e.shape.columns, Label: e.shape.label,
		Rows: e.vals.n, Steps: e.steps, PerStep: e.perStep, Lookback: e.lookback, Method: e.method, Mark: e.mark}
	for _, c := range e.vals.cols {
		sc := stepfile.Column{Null: c.null}
		switch {
		case c.anys != nil:
			for _, v := range c.anys {
				if !stepfile.Savable(v) {
					return stepfile.Entry{}, false
				}
			}
			sc.Kind, sc.Anys, sc.Null = stepfile.Anys, c.anys, nil
		case c.ints != nil:
			sc.Kind, sc.Ints = stepfile.Ints, c.ints
		case c.flts != nil:
			sc.Kind, sc.Flts = stepfile.Floats, c.flts
		default:
			sc.Kind, sc.Strs = stepfile.Strings, c.strs
		}
		s.Cols = append(s.Cols, sc)
	}
	return s, true
}

// loadEntry returns the stepEntry s was saved from.
func loadEntry(s stepfile.Entry) *stepEntry {
	e := &stepEntry{first: s.First, step: s.Step, shape: rowShape{columns: s.Columns, label: s.Label},
		steps: s.Steps, perStep: s.PerStep, lookback: s.Lookback, method: s.Method, mark: s.Mark, key: s.Key}
	e.vals = table{n: s.Rows, cols: make([]valueColumn, len(s.Cols))}
	for i, sc := range s.Cols {
		e.vals.cols[i] = valueColumn{ints: sc.Ints, flts: sc.Flts, strs: sc.Strs, null: sc.Null, anys: sc.Anys}
	}
	return e
}

// Load reads into c the entries r, a file of size bytes written by
// Save, holds that still hold some steps for the store, as many as fit,
// and returns how many it kept. A file of another store (ErrOtherStore), or one that is not
// such a file, is an error, and c is left as it was.
func (c *StepCache) Load(ctx context.Context, r io.Reader, size int64) (int, error) {
	dm, ok := c.changes.(store.DurableMarks)
	if !ok {
		return 0, errors.New("load the replay cache: the span store's marks do not outlive it")
	}
	id, saved, err := stepfile.Read(r, size)
	if err != nil {
		return 0, fmt.Errorf("load the replay cache: %w", err)
	}
	if id != dm.StoreID() {
		return 0, ErrOtherStore
	}
	if _, err := c.changes.Mark(ctx); err != nil { // the writes acknowledged so far are the store's
		return 0, fmt.Errorf("load the replay cache: %w", err)
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	n := 0
	for i := len(saved) - 1; i >= 0; i-- { // least recently used first
		e := loadEntry(saved[i])
		if _, held := c.entries[e.key]; held || c.valid(e) == 0 {
			continue
		}
		e.bytes = e.size()
		if c.bytes+e.bytes > c.maxBytes {
			continue
		}
		c.tick++
		e.used = c.tick
		c.entries[e.key] = e
		c.bytes += e.bytes
		c.gen++
		n++
	}
	c.resized()
	return n, nil
}
