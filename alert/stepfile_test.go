package alert

import (
	"bytes"
	"context"
	"errors"
	"path/filepath"
	"reflect"
	"testing"
	"time"

	"github.com/tracehound/tracehound/alert/stepfile"
	"github.com/tracehound/tracehound/sqlguard"
	"github.com/tracehound/tracehound/store/duckdb"
)

// A saved cache, loaded once the store is open again, gives what the
// cache gave before the restart, without a query, and replays only the
// steps whose spans changed since.
func TestStepCacheSurvivesRestart(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "traces.duckdb")
	traces, err := duckdb.Open(ctx, path, duckdb.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer func() { traces.Close() }()
	mixedTraffic(t, traces)
	rules := []Rule{
		{ID: "sliding", Name: "sliding", Severity: "low", SQL: slidingRules[2], Interval: 5 * time.Minute, For: 5 * time.Minute},
		{ID: "semi", Name: "semi", Severity: "low", SQL: semiRules[1], Interval: 5 * time.Minute},
	}
	from, to := t0.Add(time.Hour), t0.Add(5*time.Hour)
	steps := int(to.Sub(from)/(5*time.Minute)) + 1
	before := NewStepCache(traces, 64<<20)
	for _, r := range rules {
		if _, err := Backtest(ctx, traces, r, BacktestOptions{From: from, To: to, Cache: before}); err != nil {
			t.Fatal(err)
		}
	}
	var file bytes.Buffer
	saved, err := before.Save(&file)
	if err != nil || saved != len(rules) {
		t.Fatalf("Save() = %d, %v; want %d entries", saved, err, len(rules))
	}
	saveFile := file.Bytes()

	if err := traces.Close(); err != nil {
		t.Fatal(err)
	}
	if traces, err = duckdb.Open(ctx, path, duckdb.Options{}); err != nil {
		t.Fatal(err)
	}
	check := func(name string, cache *StepCache, wantCached int) {
		t.Helper()
		for _, r := range rules {
			got, err := Backtest(ctx, traces, r, BacktestOptions{From: from, To: to, Cache: cache})
			if err != nil {
				t.Fatal(err)
			}
			want, err := Backtest(ctx, traces, r, BacktestOptions{From: from, To: to})
			if err != nil {
				t.Fatal(err)
			}
			if len(want.Firings) == 0 {
				t.Fatalf("%s: %s fired nothing: the comparison compares nothing", name, r.ID)
			}
			if !reflect.DeepEqual(got.Firings, want.Firings) || got.Notifications != want.Notifications || got.MaxRows != want.MaxRows {
				t.Errorf("%s: %s from the loaded cache fired %d times, replayed %d", name, r.ID, len(got.Firings), len(want.Firings))
			}
			if got.CachedSteps != wantCached {
				t.Errorf("%s: %s took %d steps from the loaded cache, want %d", name, r.ID, got.CachedSteps, wantCached)
			}
			if wantCached == steps && got.Queries != 0 {
				t.Errorf("%s: %s ran %d queries with every step loaded", name, r.ID, got.Queries)
			}
		}
	}
	load := func(name string) *StepCache {
		t.Helper()
		c := NewStepCache(traces, 64<<20)
		n, err := c.Load(ctx, bytes.NewReader(saveFile), int64(len(saveFile)))
		if err != nil || n != len(rules) {
			t.Fatalf("%s: Load() = %d, %v; want %d entries", name, n, err, len(rules))
		}
		return c
	}
	check("after a restart", load("after a restart"), steps)

	// Spans written after the save, from 4:00 on, change those steps.
	late := t0.Add(4 * time.Hour)
	if err := traces.Write(ctx, lateSearches(late)); err != nil {
		t.Fatal(err)
	}
	if err := traces.Close(); err != nil {
		t.Fatal(err)
	}
	if traces, err = duckdb.Open(ctx, path, duckdb.Options{}); err != nil {
		t.Fatal(err)
	}
	check("after late spans and a restart", load("after late spans"), int(late.Sub(from)/(5*time.Minute)))

	// Another store's file.
	other := openTraces(t)
	if n, err := NewStepCache(other, 64<<20).Load(ctx, bytes.NewReader(saveFile), int64(len(saveFile))); !errors.Is(err, ErrOtherStore) || n != 0 {
		t.Errorf("Load() of another store's file = %d, %v; want ErrOtherStore", n, err)
	}
	// Not a cache file, or a cut one: an error, and the cache as it was.
	for _, bad := range [][]byte{nil, []byte("not a cache"), saveFile[:len(saveFile)/2]} {
		c := load("before a bad file")
		held := c.bytes
		if n, err := c.Load(ctx, bytes.NewReader(bad), int64(len(bad))); err == nil || n != 0 {
			t.Errorf("Load(%d bytes of a bad file) = %d, %v; want an error", len(bad), n, err)
		}
		if c.bytes != held || len(c.entries) != len(rules) {
			t.Errorf("a bad file changed the cache: %d bytes, %d entries", c.bytes, len(c.entries))
		}
	}
	// Retention: the entries whose steps read no deleted span hold.
	cutoff := t0.Add(10 * time.Minute)
	survive, earliestRead := 0, to
	for _, r := range rules {
		lookback, _ := sqlguard.Bounded(r.SQL)
		if !from.Add(-lookback).Before(cutoff) {
			survive++
		}
		if from.Add(-lookback).Before(earliestRead) {
			earliestRead = from.Add(-lookback)
		}
	}
	if survive == 0 {
		t.Fatal("no rule's steps read only spans after the cutoff: the check checks nothing")
	}
	for _, del := range []struct {
		before time.Time
		want   int
	}{{cutoff, survive}, {earliestRead.Add(time.Minute), 0}} {
		if n, err := traces.DeleteBefore(ctx, del.before); err != nil || n == 0 {
			t.Fatalf("DeleteBefore(%v) = %d, %v: the check checks nothing", del.before, n, err)
		}
		c := NewStepCache(traces, 64<<20)
		if n, err := c.Load(ctx, bytes.NewReader(saveFile), int64(len(saveFile))); err != nil || n != del.want {
			t.Errorf("Load() after a deletion before %v = %d, %v; want %d entries", del.before, n, err, del.want)
		}
	}
}

// Entries come back as they were; an entry holding values the file
// cannot keep (lists, maps) is not saved.
func TestSaveEntry(t *testing.T) {
	at := time.Date(2026, 11, 30, 7, 0, 0, 123000, time.UTC)
	rows := func(v any) [][]Row {
		return [][]Row{{{Labels: map[string]string{"ip": "192.0.2.1"}, Values: map[string]any{"n": v},
			Columns: map[string]any{"ip": "192.0.2.1", "n": v}}}, nil, {{Labels: map[string]string{"ip": "192.0.2.2"},
			Values: map[string]any{"n": "x"}, Columns: map[string]any{"ip": "192.0.2.2", "n": "x"}}}}
	}
	for _, v := range []any{int32(3), at, int64(4), nil} {
		e, ok := encodeSteps(rows(v))
		if !ok {
			t.Fatal("encodeSteps refused rows it builds")
		}
		e.key, e.step = "k", time.Minute
		s, ok := saveEntry(e)
		if !ok {
			t.Errorf("saveEntry(an entry of a %T) refused it", v)
			continue
		}
		var file bytes.Buffer
		if err := stepfile.Write(&file, "id", []stepfile.Entry{s}); err != nil {
			t.Fatal(err)
		}
		_, back, err := stepfile.Read(&file, int64(file.Len()))
		if err != nil || len(back) != 1 {
			t.Fatalf("Read() of a saved %T = %d entries, %v", v, len(back), err)
		}
		got := loadEntry(back[0])
		if !reflect.DeepEqual(got.vals, e.vals) || !reflect.DeepEqual(got.shape, e.shape) || !reflect.DeepEqual(got.steps, e.steps) {
			t.Errorf("an entry of a %T came back as %+v, want %+v", v, got.vals, e.vals)
		}
	}
	e, _ := encodeSteps(rows([]any{1, 2}))
	e.key, e.step = "k", time.Minute
	if _, saved := saveEntry(e); saved {
		t.Error("saveEntry saved an entry holding a list")
	}
}
