package contain_test

import (
	"context"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/tracehound/tracehound/contain"
	"github.com/tracehound/tracehound/state/sqlite"
)

// clock is a settable test clock.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// t0 is the fixed start of the tests that use a clock.
var t0 = time.Date(2026, 3, 5, 9, 30, 0, 0, time.UTC)

// newStore opens a real SQLite state store in a temporary directory.
func newStore(t testing.TB) *sqlite.Store {
	t.Helper()
	s, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "state.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// newContainment returns a containment over a fresh store with a test
// clock at t0 (or the real clock when real is set).
func newContainment(t testing.TB, real bool, opts contain.Options) (*contain.Containment, *sqlite.Store, *clock) {
	t.Helper()
	s := newStore(t)
	clk := &clock{t: t0}
	if !real {
		opts.Now = clk.Now
	}
	c := contain.New(s, opts)
	t.Cleanup(func() { c.Close() })
	return c, s, clk
}

func mustSet(t testing.TB, c *contain.Containment, req contain.SetRequest) contain.SetResult {
	t.Helper()
	if req.Actor == "" {
		req.Actor = "alice"
	}
	res, err := c.Set(context.Background(), req)
	if err != nil {
		t.Fatalf("Set(%v, %s) = %v", req.IPs, req.Status, err)
	}
	return res
}
