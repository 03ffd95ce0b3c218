package alert

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/tracehound/tracehound/span"
	"github.com/tracehound/tracehound/store"
)

// A backtest with a step cache gives what one without gives, computes
// only the steps the cache lacks or whose spans changed, and keys its
// rows by rule and rewrite.
func TestStepCacheMatchesUncached(t *testing.T) {
	traces := openTraces(t)
	mixedTraffic(t, traces)
	ctx := context.Background()
	exclude := func(ip string) Rewriter { return excluding("peer_ip = ?", ip) }
	rules := []Rule{
		{ID: "sliding", SQL: slidingRules[2], Interval: 5 * time.Minute, For: 5 * time.Minute},
		{ID: "semi", SQL: semiRules[1], Interval: 5 * time.Minute},
		// Two windows of different length: replayed in batches of steps.
		{ID: "batched", Interval: 5 * time.Minute, SQL: `SELECT peer_ip, count() AS requests
			FROM traces WHERE timestamp > now() - INTERVAL 10 MINUTE AND timestamp <= now()
			  AND peer_ip IN (SELECT peer_ip FROM traces WHERE timestamp > now() - INTERVAL 1 HOUR AND timestamp <= now() - INTERVAL 10 MINUTE
			                  GROUP BY peer_ip HAVING count() < 5)
			GROUP BY peer_ip HAVING count() >= 3`},
	}
	for i := range rules {
		rules[i].Name, rules[i].Severity = rules[i].ID, "low"
	}
	cache := NewStepCache(traces, 64<<20)
	from, to := t0.Add(time.Hour), t0.Add(5*time.Hour)
	check := func(name string, r Rule, from, to time.Time, rw Rewriter, wantCached int) BacktestResult {
		t.Helper()
		var progress []int
		got, err := Backtest(ctx, traces, r, BacktestOptions{From: from, To: to, Rewrite: rw, Cache: cache,
			Progress: func(done, total int) { progress = append(progress, done, total) }})
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		want, err := Backtest(ctx, traces, r, BacktestOptions{From: from, To: to, Rewrite: rw})
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if !reflect.DeepEqual(got.Firings, want.Firings) || got.Notifications != want.Notifications || !reflect.DeepEqual(got.PerDay, want.PerDay) ||
			got.Evaluations != want.Evaluations || got.MaxRows != want.MaxRows {
			t.Errorf("%s: cached backtest fired %d times (%d notifications), uncached %d (%d)", name, len(got.Firings), got.Notifications, len(want.Firings), want.Notifications)
		}
		if got.CachedSteps != wantCached {
			t.Errorf("%s: %d steps from the cache, want %d", name, got.CachedSteps, wantCached)
		}
		if n := len(progress); n < 2 || progress[n-2] != got.Evaluations || progress[n-1] != got.Evaluations {
			t.Errorf("%s: progress %v does not end at %d of %d", name, progress, got.Evaluations, got.Evaluations)
		}
		if wantCached == got.Evaluations && got.Queries != 0 {
			t.Errorf("%s: %d queries for steps all in the cache", name, got.Queries)
		}
		return got
	}
	steps := int(to.Sub(from)/(5*time.Minute)) + 1
	late := t0.Add(4 * time.Hour)
	for _, r := range rules {
		first := check(r.ID+" cold", r, from, to, nil, 0)
		if len(first.Firings) == 0 {
			t.Errorf("%s: no firing: the comparison compares nothing", r.ID)
		}
		check(r.ID+" again", r, from, to, nil, steps)
		// An hour later: the window's last three hours come from the cache.
		check(r.ID+" an hour later", r, from.Add(time.Hour), to.Add(time.Hour), nil, steps-12)
		// The cache keeps both windows' steps.
		check(r.ID+" back to the first window", r, from, to, nil, steps)
		check(r.ID+" both windows", r, from, to.Add(time.Hour), nil, steps+12)
		// Another rewrite is another replay; the same one is cached.
		check(r.ID+" rewritten", r, from.Add(time.Hour), to.Add(time.Hour), exclude("203.0.113.5"), 0)
		check(r.ID+" rewritten again", r, from.Add(time.Hour), to.Add(time.Hour), exclude("203.0.113.5"), steps)
		check(r.ID+" rewritten otherwise", r, from.Add(time.Hour), to.Add(time.Hour), exclude("203.0.113.6"), 0)
	}

	// Spans that arrive late, for 4:00 on, change the steps from 4:00 on:
	// they are replayed, and the earlier ones taken from the cache.
	if err := traces.Write(ctx, lateSearches(late)); err != nil {
		t.Fatal(err)
	}
	before := int(late.Sub(from.Add(time.Hour)) / (5 * time.Minute))
	for _, r := range rules {
		got := check(r.ID+" after late spans", r, from.Add(time.Hour), to.Add(time.Hour), nil, before)
		if r.ID == "sliding" && !strings.Contains(fmt.Sprint(got.Firings), "key-late") {
			t.Errorf("%s: the late spans' key did not fire: %v", r.ID, got.Firings)
		}
	}

	// A rule that reads spans after now() is not cached.
	unbounded := Rule{ID: "unbounded", Name: "unbounded", Severity: "low", Interval: 5 * time.Minute,
		SQL: `SELECT peer_ip, count() AS n FROM traces WHERE timestamp > now() - INTERVAL 10 MINUTE GROUP BY peer_ip HAVING count() > 30`}
	check("unbounded", unbounded, from, to, nil, 0)
	check("unbounded again", unbounded, from, to, nil, 0)
}

// lateSearches is 400 searches of key-late from seven addresses, every 2
// seconds from at.
func lateSearches(at time.Time) []span.Span {
	var spans []span.Span
	for i := range 400 {
		id := fmt.Sprintf("%032x", 1_000_000+i)
		spans = append(spans, span.Span{Timestamp: at.Add(time.Duration(i) * 2 * time.Second), TraceID: id, SpanID: id[16:], ServiceName: "vault",
			SpanName: "GET /v1/search", SpanKind: span.KindServer, HTTPMethod: "GET", HTTPPath: "/v1/search", HTTPRoute: "/v1/search",
			StatusCode: 200, PeerIP: fmt.Sprintf("192.0.2.%d", 100+i%7), APIKeyID: "key-late", ResponseBytes: 100})
	}
	return spans
}

// Entries past the cache's size are dropped, least recently used first.
func TestStepCacheEvicts(t *testing.T) {
	traces := openTraces(t)
	mixedTraffic(t, traces)
	ctx := context.Background()
	r := Rule{ID: "r", Name: "r", Severity: "low", Interval: 5 * time.Minute, SQL: slidingRules[2]}
	from, to := t0.Add(time.Hour), t0.Add(5*time.Hour)
	probe := NewStepCache(traces, 1<<30)
	if _, err := Backtest(ctx, traces, r, BacktestOptions{From: from, To: to, Cache: probe}); err != nil {
		t.Fatal(err)
	}
	one := probe.bytes
	if one == 0 {
		t.Fatal("nothing was cached")
	}
	cache := NewStepCache(traces, one*2+one/2) // room for two replays
	var reported []int64
	cache.OnResize(func(n int64) { reported = append(reported, n) })
	run := func(r Rule) int {
		res, err := Backtest(ctx, traces, r, BacktestOptions{From: from, To: to, Cache: cache})
		if err != nil {
			t.Fatal(err)
		}
		// OnResize heard of every change.
		if len(reported) == 0 || reported[len(reported)-1] != cache.bytes {
			t.Fatalf("OnResize reported %v; the cache holds %d bytes", reported, cache.bytes)
		}
		return res.CachedSteps
	}
	a, b, c := r, r, r
	a.ID, b.ID, c.ID = "a", "b", "c"
	run(a)
	run(b)
	run(a) // b is now the least recently used
	run(c)
	if run(b) != 0 {
		t.Error("b was kept past the cache's size")
	}
	if run(c) == 0 {
		t.Error("c, the most recently used, was dropped")
	}
	if cache.bytes > cache.maxBytes {
		t.Errorf("the cache holds %d bytes, more than its %d", cache.bytes, cache.maxBytes)
	}
	// A backtest at steps finer than the rule's interval is kept where it
	// fits, and evicts nothing (4-minute steps: a little more than one
	// replay at the rule's 5).
	fine := func(r Rule) int {
		res, err := Backtest(ctx, traces, r, BacktestOptions{From: from, To: to, Step: 4 * time.Minute, Cache: cache})
		if err != nil {
			t.Fatal(err)
		}
		return res.CachedSteps
	}
	fine(a)
	if fine(a) != 0 {
		t.Error("a backtest at 4-minute steps was kept in a full cache")
	}
	if run(c) == 0 || run(b) == 0 {
		t.Error("a backtest at 4-minute steps evicted the rules' own steps")
	}
	roomy := NewStepCache(traces, 1<<30)
	if _, err := Backtest(ctx, traces, a, BacktestOptions{From: from, To: to, Step: 4 * time.Minute, Cache: roomy}); err != nil {
		t.Fatal(err)
	}
	if res, err := Backtest(ctx, traces, a, BacktestOptions{From: from, To: to, Step: 4 * time.Minute, Cache: roomy}); err != nil || res.CachedSteps == 0 {
		t.Errorf("a backtest at 4-minute steps was not kept in a cache with room (%v)", err)
	}
}

// still is a store to which nothing is written.
type still struct{}

func (still) Mark(context.Context) (uint64, error) { return 1, nil }
func (still) ChangedSince(uint64) store.Changes    { return store.Changes{} }

// changed is a store whose every mark has seen the same changes.
type changed store.Changes

func (changed) Mark(context.Context) (uint64, error) { return 1, nil }
func (c changed) ChangedSince(uint64) store.Changes  { return store.Changes(c) }

// A deletion voids an entry only when its steps read spans it deleted;
// spans written since void the steps from the earliest's time on.
func TestStepCacheValid(t *testing.T) {
	e := &stepEntry{first: t0.Add(time.Hour), step: time.Minute, steps: make([][]int32, 10), lookback: 30 * time.Minute}
	for _, tc := range []struct {
		name string
		ch   store.Changes
		want int
	}{
		{"nothing", store.Changes{}, 10},
		{"deleted before the reads", store.Changes{DeletedBefore: t0.Add(30 * time.Minute)}, 10},
		{"deleted what the first step read", store.Changes{DeletedBefore: t0.Add(31 * time.Minute)}, 0},
		{"written from the fourth step", store.Changes{Written: true, WrittenFrom: t0.Add(time.Hour + 3*time.Minute)}, 3},
		{"written within the third step", store.Changes{Written: true, WrittenFrom: t0.Add(time.Hour + 2*time.Minute + time.Second)}, 3},
		{"both", store.Changes{Written: true, WrittenFrom: t0.Add(time.Hour + 5*time.Minute), DeletedBefore: t0}, 5},
		{"unknown", store.Changes{Unknown: true}, 0},
	} {
		c := NewStepCache(changed(tc.ch), 1<<20)
		if got := c.valid(e); got != tc.want {
			t.Errorf("%s: %d steps valid, want %d", tc.name, got, tc.want)
		}
	}
}

func TestStepCacheMerge(t *testing.T) {
	c := NewStepCache(still{}, 1<<30)
	entry := func(first time.Time, n int, tag string) *stepEntry {
		steps := make([][]Row, n)
		for i := range steps {
			steps[i] = []Row{{Labels: map[string]string{"tag": tag}, Values: map[string]any{"n": int64(i)}, Columns: map[string]any{"tag": tag, "n": int64(i)}}}
		}
		e, ok := encodeSteps(steps)
		if !ok {
			t.Fatal("encodeSteps refused rows it builds")
		}
		e.first, e.step, e.perStep, e.mark = first, time.Minute, time.Second, 1
		return e
	}
	tags := func(e *stepEntry) string {
		var b strings.Builder
		for _, idx := range e.steps {
			b.WriteString(e.shape.row(e.vals.row(int(idx[0]))).Labels["tag"])
		}
		return b.String()
	}
	for _, tc := range []struct {
		name      string
		old, new  *stepEntry
		wantFirst time.Time
		want      string
	}{
		{"overlap", entry(t0, 4, "o"), entry(t0.Add(2*time.Minute), 4, "n"), t0, "oonnnn"},
		{"meet", entry(t0.Add(4*time.Minute), 2, "o"), entry(t0, 4, "n"), t0, "nnnnoo"},
		{"inside", entry(t0, 6, "o"), entry(t0.Add(2*time.Minute), 2, "n"), t0, "oonnoo"},
		{"apart", entry(t0, 2, "o"), entry(t0.Add(3*time.Minute), 2, "n"), t0.Add(3 * time.Minute), "nn"},
		{"off the grid", entry(t0.Add(30*time.Second), 4, "o"), entry(t0, 4, "n"), t0, "nnnn"},
	} {
		got := c.merge(tc.old, tc.new)
		if !got.first.Equal(tc.wantFirst) || tags(got) != tc.want {
			t.Errorf("%s: merged from %v: %s; want from %v: %s", tc.name, got.first, tags(got), tc.wantFirst, tc.want)
		}
	}
	// A merge keeps at most a week of steps, dropping the oldest.
	got := c.merge(entry(t0, maxEntrySteps, "o"), entry(t0.Add(maxEntrySteps*time.Minute), 3, "n"))
	if len(got.steps) != maxEntrySteps || !got.first.Equal(t0.Add(3*time.Minute)) || !strings.HasSuffix(tags(got), "onnn") {
		t.Errorf("a merge past a week holds %d steps from %v", len(got.steps), got.first)
	}
	// A replay longer than a week, inside a longer old entry: its steps
	// all stay, and the old ones after them up to the limit.
	got = c.merge(entry(t0, maxEntrySteps+10, "o"), entry(t0.Add(2*time.Minute), maxEntrySteps+1, "n"))
	if len(got.steps) != maxEntrySteps+1 || !got.first.Equal(t0.Add(2*time.Minute)) || strings.Contains(tags(got), "o") {
		t.Errorf("a merge around a replay longer than a week holds %d steps from %v", len(got.steps), got.first)
	}
	got = c.merge(entry(t0, maxEntrySteps+10, "o"), entry(t0.Add(2*time.Minute), maxEntrySteps-4, "n"))
	if len(got.steps) != maxEntrySteps || !got.first.Equal(t0.Add(2*time.Minute)) || !strings.HasSuffix(tags(got), "nnoooo") {
		t.Errorf("a merge around a replay inside an old entry holds %d steps from %v", len(got.steps), got.first)
	}
}

// CachedOnly evaluates nothing: it fails until the cache holds every step.
func TestStepCacheCachedOnly(t *testing.T) {
	traces := openTraces(t)
	mixedTraffic(t, traces)
	ctx := context.Background()
	r := Rule{ID: "r", Name: "r", Severity: "low", Interval: 5 * time.Minute, SQL: slidingRules[2]}
	cache := NewStepCache(traces, 64<<20)
	opts := BacktestOptions{From: t0.Add(time.Hour), To: t0.Add(3 * time.Hour), Cache: cache, CachedOnly: true}
	if _, err := Backtest(ctx, traces, r, opts); !errors.Is(err, ErrNotCached) {
		t.Fatalf("Backtest(CachedOnly) on an empty cache = %v, want ErrNotCached", err)
	}
	opts.CachedOnly = false
	full, err := Backtest(ctx, traces, r, opts)
	if err != nil {
		t.Fatal(err)
	}
	opts.CachedOnly = true
	opts.KeepValues = map[string]map[string]bool{"api_key_id": {"key-shared": true}}
	one, err := Backtest(ctx, traces, r, opts)
	if err != nil || one.Queries != 0 {
		t.Fatalf("Backtest(CachedOnly) on a full cache = %d queries, %v", one.Queries, err)
	}
	want := 0
	for _, f := range full.Firings {
		if f.Labels["api_key_id"] == "key-shared" {
			want++
		}
	}
	if want == 0 || len(one.Firings) != want {
		t.Errorf("kept %d firings of key-shared, want %d", len(one.Firings), want)
	}
	opts.To = opts.To.Add(time.Hour)
	if _, err := Backtest(ctx, traces, r, opts); !errors.Is(err, ErrNotCached) {
		t.Errorf("Backtest(CachedOnly) past the cached steps = %v, want ErrNotCached", err)
	}
	// Kept rows evaluate the steps the cache lacks, but are not cached:
	// a later whole backtest still gives every group's firings.
	opts.CachedOnly = false
	if _, err := Backtest(ctx, traces, r, opts); err != nil {
		t.Fatal(err)
	}
	whole, err := Backtest(ctx, traces, r, BacktestOptions{From: opts.From, To: opts.To, Cache: cache})
	if err != nil {
		t.Fatal(err)
	}
	uncached, err := Backtest(ctx, traces, r, BacktestOptions{From: opts.From, To: opts.To})
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(whole.Firings, uncached.Firings) {
		t.Errorf("after a backtest of kept rows, the cache gave %d firings, want %d", len(whole.Firings), len(uncached.Firings))
	}
}

// encodeSteps keeps each distinct row once and rebuilds rows as they
// were; rows it could not rebuild are refused.
func TestEncodeSteps(t *testing.T) {
	a := Row{Labels: map[string]string{"ip": "192.0.2.1", "ok": "true"}, Values: map[string]any{"n": int64(3)},
		Columns: map[string]any{"ip": "192.0.2.1", "ok": true, "n": int64(3)}, memo: &rowMemo{}}
	b := Row{Labels: map[string]string{"ip": "192.0.2.2", "ok": "false"}, Values: map[string]any{"n": nil},
		Columns: map[string]any{"ip": "192.0.2.2", "ok": false, "n": nil}}
	bAgain := Row{Labels: map[string]string{"ip": "192.0.2.2", "ok": "false"}, Values: map[string]any{"n": nil},
		Columns: map[string]any{"ip": "192.0.2.2", "ok": false, "n": nil}}
	steps := [][]Row{{a}, nil, {a, b}, {bAgain}}
	e, ok := encodeSteps(steps)
	if !ok {
		t.Fatal("encodeSteps refused rows of one shape")
	}
	if e.vals.n != 2 {
		t.Errorf("%d distinct rows kept, want 2", e.vals.n)
	}
	for i, rows := range steps {
		if len(e.steps[i]) != len(rows) {
			t.Fatalf("step %d: %d rows, want %d", i, len(e.steps[i]), len(rows))
		}
		for j, r := range rows {
			got := e.shape.row(e.vals.row(int(e.steps[i][j])))
			if !reflect.DeepEqual(got.Labels, r.Labels) || !reflect.DeepEqual(got.Values, r.Values) || !reflect.DeepEqual(got.Columns, r.Columns) {
				t.Errorf("step %d row %d rebuilt as %+v, want %+v", i, j, got, r)
			}
		}
	}
	odd := Row{Labels: map[string]string{"ip": "something else", "ok": "true"}, Values: map[string]any{"n": int64(1)},
		Columns: map[string]any{"ip": "192.0.2.9", "ok": true, "n": int64(1)}}
	if _, ok := encodeSteps([][]Row{{a}, {odd}}); ok {
		t.Error("encodeSteps took a row whose label is not its value")
	}
	other := Row{Labels: map[string]string{"key": "k"}, Values: map[string]any{}, Columns: map[string]any{"key": "k"}}
	if _, ok := encodeSteps([][]Row{{a}, {other}}); ok {
		t.Error("encodeSteps took rows of other columns")
	}
}

// Rows read from an entry keep their index in it: a few new steps'
// rows are appended to its values, not every row encoded again.
func TestEncodeStepsOntoEntry(t *testing.T) {
	row := func(ip string, n any) Row {
		return Row{Labels: map[string]string{"ip": ip}, Values: map[string]any{"n": n}, Columns: map[string]any{"ip": ip, "n": n}, memo: &rowMemo{}}
	}
	base, ok := encodeSteps([][]Row{{row("192.0.2.1", int64(1))}, {row("192.0.2.1", int64(1)), row("192.0.2.2", int64(2))}, {row("192.0.2.3", int64(3))}})
	if !ok || base.vals.n != 3 {
		t.Fatalf("base entry: %d rows, %v", base.vals.n, ok)
	}
	// Rows as lookup rebuilds them, and new steps' rows: one with a NULL
	// where the base had only ints, one equal to a base row.
	read := func(k int32) Row {
		r := base.shape.row(base.vals.row(int(k)))
		r.memo.from, r.memo.idx = base, k
		return r
	}
	fresh := row("192.0.2.4", nil)
	steps := [][]Row{{read(0), read(1)}, {read(2)}, {fresh, row("192.0.2.1", int64(1))}}
	e, ok := encodeSteps(steps)
	if !ok {
		t.Fatal("encodeSteps refused rows read from an entry")
	}
	if e.vals.n != base.vals.n+2 {
		t.Errorf("%d rows kept, want the base's %d and 2 appended", e.vals.n, base.vals.n)
	}
	for i, rows := range steps {
		for j, r := range rows {
			got := e.shape.row(e.vals.row(int(e.steps[i][j])))
			if !reflect.DeepEqual(got.Columns, r.Columns) || !reflect.DeepEqual(got.Labels, r.Labels) || !reflect.DeepEqual(got.Values, r.Values) {
				t.Errorf("step %d row %d rebuilt as %v, want %v", i, j, got.Columns, r.Columns)
			}
		}
	}
	if base.vals.n != 3 || base.vals.cols[1].null != nil {
		t.Errorf("the base entry's values changed: %d rows, nulls %v", base.vals.n, base.vals.cols[1].null)
	}
	// A value of another type than its column's: encoded in full.
	odd := row("192.0.2.5", "many")
	e, ok = encodeSteps([][]Row{{read(0), read(1), read(2)}, {odd}})
	if !ok || e.vals.n != 4 {
		t.Fatalf("rows with a string among ints: %d rows, %v", e.vals.n, ok)
	}
	if got := e.shape.row(e.vals.row(int(e.steps[1][0]))); got.Columns["n"] != "many" {
		t.Errorf("the odd row rebuilt as %v", got.Columns)
	}
	// Fewer than half of the base's rows still used: encoded in full,
	// without the others.
	e, ok = encodeSteps([][]Row{{read(2)}, {row("192.0.2.6", int64(6))}})
	if !ok || e.vals.n != 2 {
		t.Errorf("one base row of three used: %d rows kept, want 2", e.vals.n)
	}
}

// row rebuilds a row from its values, as rowsFromResult builds it.
func (s rowShape) row(vals []any) Row {
	r := Row{Labels: map[string]string{}, Values: map[string]any{}, Columns: make(map[string]any, len(vals)), memo: &rowMemo{}}
	for i, c := range s.columns {
		r.Columns[c] = vals[i]
		if s.label[i] {
			r.Labels[c] = LabelValue(vals[i])
		} else {
			r.Values[c] = vals[i]
		}
	}
	return r
}
