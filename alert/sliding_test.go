package alert

import (
	"context"
	"fmt"
	"math/rand/v2"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/tracehound/tracehound/span"
	"github.com/tracehound/tracehound/sqlguard"
	"github.com/tracehound/tracehound/store"
	"github.com/tracehound/tracehound/store/duckdb"
)

// mixedTraffic writes six hours of uneven traffic from t0: steady and
// bursty callers, auth failures, large and small responses, shared keys.
func mixedTraffic(t testing.TB, s *duckdb.Store) {
	t.Helper()
	rng := rand.New(rand.NewPCG(7, 11))
	paths := []string{"/v1/items/1", "/v1/items/2", "/v1/items/3", "/v1/search", "/v1/admin/users", "/v1/internal/export", "/health"}
	var spans []span.Span
	add := func(ts time.Time, ip, key, path, method string, status uint16, bytes int64) {
		id := fmt.Sprintf("%032x", len(spans)+1)
		route := path
		if strings.HasPrefix(path, "/v1/items/") {
			route = "/v1/items/{id}"
		}
		spans = append(spans, span.Span{Timestamp: ts, TraceID: id, SpanID: id[16:], ServiceName: []string{"vault", "shop"}[len(spans)%2],
			SpanName: method + " " + route, SpanKind: span.KindServer, HTTPMethod: method, HTTPTarget: path, HTTPPath: path,
			HTTPRoute: route, StatusCode: status, PeerIP: ip, APIKeyID: key, ResponseBytes: bytes})
	}
	// Background: 40 callers at random times.
	for range 12000 {
		ip := fmt.Sprintf("198.51.100.%d", rng.IntN(40))
		key := ""
		if rng.IntN(4) > 0 {
			key = fmt.Sprintf("key-%d", rng.IntN(12))
		}
		status := []uint16{200, 200, 200, 201, 404, 500, 401}[rng.IntN(7)]
		add(t0.Add(time.Duration(rng.Int64N(int64(6*time.Hour)))), ip, key, paths[rng.IntN(len(paths))], []string{"GET", "GET", "POST"}[rng.IntN(3)], status, rng.Int64N(200_000))
	}
	// Bursts: a bulk reader, a credential stuffer, a key shared by many
	// addresses, each with on and off periods.
	for i := range 3000 {
		ts := t0.Add(time.Duration(i)*4*time.Second + time.Duration(rng.IntN(3000))*time.Millisecond)
		if (ts.Sub(t0)/(40*time.Minute))%3 != 0 {
			continue
		}
		add(ts, "203.0.113.5", "key-bulk", paths[i%3], "GET", 200, 100_000+rng.Int64N(400_000))
		if i%3 == 0 {
			add(ts.Add(time.Second), "203.0.113.6", fmt.Sprintf("guess-%d", i%50), "/v1/login", "POST", []uint16{401, 403, 200}[rng.IntN(3)], 100)
		}
		if i%5 == 0 {
			add(ts.Add(2*time.Second), fmt.Sprintf("192.0.2.%d", i%9), "key-shared", "/v1/search", "GET", 200, 5000)
		}
	}
	// An error spike on one service.
	for i := range 600 {
		add(t0.Add(3*time.Hour+time.Duration(i)*2*time.Second), fmt.Sprintf("198.51.100.%d", i%40), "", "/v1/search", "GET", 503, 0)
	}
	if err := s.Write(context.Background(), spans); err != nil {
		t.Fatal(err)
	}
}

// slidingRules are rules of the single-window shape with every aggregate
// and HAVING form the sliding replay combines or prunes on.
var slidingRules = []string{
	// Pruned on an alias threshold; distinct counts, averages.
	`SELECT peer_ip,
	        countIf(status_code >= 200 AND status_code < 300) AS successes,
	        sum(response_bytes) AS bytes_read,
	        avg(response_bytes) AS avg_response_bytes,
	        uniqExact(http_path) AS paths,
	        uniqExact(if(http_route != '', http_route, http_path)) AS endpoints
	 FROM traces
	 WHERE span_kind = 'Server' AND timestamp > now() - INTERVAL 1 HOUR AND timestamp <= now()
	   AND http_method = 'GET' AND peer_ip != ''
	 GROUP BY peer_ip
	 HAVING successes >= 100 AND bytes_read >= 100000000 AND avg_response_bytes >= 65536`,
	// Ratios, IN lists, a distinct count of keys.
	`SELECT peer_ip, countIf(status_code IN (401, 403)) AS failures, count() AS requests,
	        countIf(status_code IN (401, 403)) / count() AS failure_ratio, uniqExact(api_key_id) AS api_keys
	 FROM traces
	 WHERE span_kind = 'Server' AND timestamp > now() - INTERVAL 5 MINUTE AND timestamp <= now() AND peer_ip != ''
	 GROUP BY peer_ip
	 HAVING failures >= 5 AND failure_ratio >= 0.5`,
	// Pruned on a distinct count in HAVING.
	`SELECT api_key_id, uniqExact(peer_ip) AS ips, count() AS requests, sum(response_bytes) AS bytes_read
	 FROM traces
	 WHERE timestamp > now() - INTERVAL 30 MINUTE AND timestamp <= now() AND api_key_id != ''
	 GROUP BY api_key_id
	 HAVING uniqExact(peer_ip) >= 3`,
	// No HAVING; a computed key, a key selected after the aggregates,
	// every other aggregate,
	// a window closed at its start and open at its end.
	`SELECT http_method || ' ' || http_path AS endpoint, min(response_bytes) AS smallest, max(response_bytes) AS largest,
	        minIf(response_bytes, status_code = 200) AS smallest_ok, maxIf(response_bytes, status_code = 200) AS largest_ok,
	        sumIf(response_bytes, status_code >= 500) AS error_bytes, count(api_key_id) AS with_key,
	        uniqExactIf(peer_ip, status_code = 401) AS unauthorised, uniqExact(peer_ip, api_key_id) AS callers,
	        count(DISTINCT api_key_id) AS keys, service_name
	 FROM traces
	 WHERE timestamp >= now() - INTERVAL 15 MINUTE AND timestamp < now() AND status_code BETWEEN 200 AND 599
	 GROUP BY endpoint, service_name`,
	// A strict count threshold, an hour's window at five-minute steps.
	`SELECT peer_ip, service_name, count() AS requests
	 FROM traces
	 WHERE timestamp > now() - INTERVAL 1 HOUR AND timestamp <= now()
	 GROUP BY peer_ip, service_name
	 HAVING count() > 150 AND service_name = 'vault'`,
	// Aggregates over part of the window: the last five minutes against
	// the hour before.
	`SELECT service_name,
	        countIf(timestamp > now() - INTERVAL 5 MINUTE) AS requests,
	        countIf(timestamp > now() - INTERVAL 5 MINUTE AND status_code >= 500) AS errors,
	        countIf(timestamp > now() - INTERVAL 5 MINUTE AND status_code >= 500)
	          / greatest(countIf(timestamp > now() - INTERVAL 5 MINUTE), 1) AS error_rate,
	        countIf(timestamp <= now() - INTERVAL 5 MINUTE AND status_code >= 500)
	          / greatest(countIf(timestamp <= now() - INTERVAL 5 MINUTE), 1) AS baseline_rate
	 FROM traces
	 WHERE span_kind = 'Server' AND timestamp > now() - INTERVAL 65 MINUTE AND timestamp <= now()
	 GROUP BY service_name
	 HAVING errors >= 20 AND error_rate >= 0.05 AND error_rate >= 3 * baseline_rate`,
	// Both bounds in one condition, a window closed at its start.
	`SELECT peer_ip,
	        sumIf(response_bytes, timestamp >= now() - INTERVAL 10 MINUTE AND timestamp < now() - INTERVAL 5 MINUTE) AS middle_bytes,
	        uniqExactIf(http_path, timestamp >= now() - INTERVAL 5 MINUTE) AS recent_paths,
	        uniqExactIf(api_key_id, timestamp < now() - INTERVAL 5 MINUTE AND api_key_id != '') AS older_keys,
	        countIf(timestamp < now() - INTERVAL 10 MINUTE AND status_code = 200) AS early_ok,
	        count() AS requests
	 FROM traces
	 WHERE timestamp >= now() - INTERVAL 15 MINUTE AND timestamp < now()
	 GROUP BY peer_ip
	 HAVING requests >= 20 AND middle_bytes >= 100000`,
	// now() outside the aggregates: a key's last 15 minutes against
	// its own rate since its first request, and how long it has been
	// idle.
	`SELECT api_key_id,
	        countIf(timestamp > now() - INTERVAL 15 MINUTE) AS recent,
	        countIf(timestamp <= now() - INTERVAL 15 MINUTE)
	          / greatest(dateDiff('minute', min(timestamp), now() - INTERVAL 15 MINUTE) / 15.0, 1.0) AS baseline,
	        dateDiff('second', max(timestamp), now()) AS idle_seconds
	 FROM traces
	 WHERE span_kind = 'Server' AND timestamp > now() - INTERVAL 2 HOUR AND timestamp <= now() AND api_key_id != ''
	 GROUP BY api_key_id
	 HAVING recent >= 40 AND recent > 2 * baseline`,
	// One distinct count beside every other aggregate: the rows are
	// grouped by its value too, and the others add up from those.
	`SELECT service_name, uniqExact(peer_ip) AS callers, min(response_bytes) AS smallest, max(response_bytes) AS largest,
	        minIf(response_bytes, status_code = 200) AS smallest_ok, maxIf(response_bytes, status_code = 200) AS largest_ok,
	        sumIf(response_bytes, status_code >= 500) AS error_bytes, sum(response_bytes) AS bytes, count(api_key_id) AS with_key,
	        avg(response_bytes) AS mean_bytes, countIf(status_code = 401) AS unauthorised, count() AS requests
	 FROM traces
	 WHERE timestamp > now() - INTERVAL 10 MINUTE AND timestamp <= now()
	 GROUP BY service_name`,
}

func TestSlidingMatchesStepByStep(t *testing.T) {
	traces := openTraces(t)
	mixedTraffic(t, traces)
	from, to := t0.Add(20*time.Minute), t0.Add(4*time.Hour+10*time.Minute)
	// Exclusions replay rules over a filtered copy of traces with
	// positional arguments.
	exclude := func(r *Rule) (string, []any, error) {
		return strings.Replace(r.SQL, "FROM traces", "FROM (SELECT * FROM traces WHERE NOT coalesce((peer_ip = ? OR api_key_id = ?), false)) AS traces", 1),
			[]any{"198.51.100.7", "key-3"}, nil
	}
	for i, sql := range slidingRules {
		for _, tc := range []struct {
			step    time.Duration
			rewrite Rewriter
		}{{time.Minute, nil}, {5 * time.Minute, nil}, {time.Minute, exclude}} {
			r := Rule{ID: fmt.Sprintf("r%d", i), Name: "sliding", Interval: tc.step, Severity: "low", SQL: sql, For: tc.step}
			if i == 4 && tc.step == time.Minute {
				continue
			}
			name := fmt.Sprintf("%s/%v/rewrite=%v", r.ID, tc.step, tc.rewrite != nil)
			slidesLikeSteps(t, name, traces, r, BacktestOptions{From: from, To: to, Step: tc.step, Rewrite: tc.rewrite, Method: "sliding"})
		}
	}
}

// memoryBound fails, as the store does when it runs out of memory, the
// sliding replays of more than max steps.
type memoryBound struct {
	store.Querier
	max    int
	failed int
}

var paneRange = regexp.MustCompile(`__th_pane BETWEEN (\d+) AND (\d+)`)

func (m *memoryBound) Query(ctx context.Context, q string, opts store.QueryOptions, args ...any) (*store.Result, error) {
	if r := paneRange.FindStringSubmatch(q); r != nil {
		first, _ := strconv.Atoi(r[1])
		last, _ := strconv.Atoi(r[2])
		if last-first+1 > m.max {
			m.failed++
			return nil, fmt.Errorf("%w: Out of Memory Error: could not allocate block of size 256.0 KiB", store.ErrQuery)
		}
	}
	return m.Querier.Query(ctx, q, opts, args...)
}

// TestSlidingInPartsMatchesStepByStep checks the replay in parts that
// follows one that ran out of memory.
func TestSlidingInPartsMatchesStepByStep(t *testing.T) {
	traces := openTraces(t)
	mixedTraffic(t, traces)
	from, to := t0.Add(20*time.Minute), t0.Add(4*time.Hour+10*time.Minute)
	for i, sql := range slidingRules {
		q := &memoryBound{Querier: traces, max: 70}
		r := Rule{ID: fmt.Sprintf("r%d", i), Name: "parts", Interval: time.Minute, Severity: "low", SQL: sql, For: time.Minute}
		res := slidesLikeSteps(t, r.ID, q, r, BacktestOptions{From: from, To: to, Step: time.Minute, Method: "sliding"})
		// 231 steps: whole, then in 4 parts of 58.
		if q.failed != 1 || res.Queries < 8 {
			t.Errorf("%s: %d replays ran out of memory, %d queries; want the whole one, then 4 parts", r.ID, q.failed, res.Queries)
		}
	}
	// A quarter is still too much: the whole replay and the first
	// quarter fail, the rest runs in sixteenths.
	q := &memoryBound{Querier: traces, max: 30}
	r := Rule{ID: "r0", Name: "parts", Interval: time.Minute, Severity: "low", SQL: slidingRules[0], For: time.Minute}
	slidesLikeSteps(t, "sixteenths", q, r, BacktestOptions{From: from, To: to, Step: time.Minute, Method: "sliding"})
	if q.failed != 2 {
		t.Errorf("%d replays ran out of memory; want the whole one and the first quarter", q.failed)
	}
}

// A replay of a distinct count starts in parts when samples say its rows
// would pass partRows; one of counts only does not sample.
func TestSlidingPartsFromSamples(t *testing.T) {
	traces := openTraces(t)
	mixedTraffic(t, traces)
	defer func(n float64) { partRows = n }(partRows)
	partRows = 1
	from, to := t0.Add(20*time.Minute), t0.Add(4*time.Hour+10*time.Minute)
	for _, tc := range []struct {
		sql     string
		queries func(int) bool
		want    string
	}{
		// 231 steps in parts of an hour's 60: a sample, then 4 parts of
		// two queries each.
		{slidingRules[2], func(n int) bool { return n >= 9 }, "a sample and 4 parts"},
		{slidingRules[5], func(n int) bool { return n <= 3 }, "one replay"},
	} {
		q := &memoryBound{Querier: traces, max: 1000}
		r := Rule{ID: "parts", Name: "parts", Interval: time.Minute, Severity: "low", SQL: tc.sql, For: time.Minute}
		res := slidesLikeSteps(t, r.ID, q, r, BacktestOptions{From: from, To: to, Step: time.Minute, Method: "sliding"})
		if q.failed != 0 || !tc.queries(res.Queries) {
			t.Errorf("%.40s…: %d queries, %d out of memory; want %s", tc.sql, res.Queries, q.failed, tc.want)
		}
	}
}

// failsAfter fails, as a query error, the sliding replay's queries after
// the first ok.
type failsAfter struct {
	store.Querier
	ok int
}

func (f *failsAfter) Query(ctx context.Context, q string, opts store.QueryOptions, args ...any) (*store.Result, error) {
	if paneRange.MatchString(q) {
		if f.ok == 0 {
			return nil, fmt.Errorf("%w: Binder Error: injected", store.ErrQuery)
		}
		f.ok--
	}
	return f.Querier.Query(ctx, q, opts, args...)
}

// TestSlidingGivesUpMidway checks a sliding replay whose third part
// fails: the state machine has taken the first two parts' steps, and the
// batched replay goes on from the third's first step, firing as step by
// step does.
func TestSlidingGivesUpMidway(t *testing.T) {
	traces := openTraces(t)
	mixedTraffic(t, traces)
	defer func(n float64) { partRows = n }(partRows)
	partRows = 1
	ctx := context.Background()
	from, to := t0.Add(20*time.Minute), t0.Add(4*time.Hour+10*time.Minute)
	r := Rule{ID: "midway", Name: "midway", Interval: time.Minute, Severity: "low", SQL: slidingRules[2], For: time.Minute}
	opts := BacktestOptions{From: from, To: to, Step: time.Minute, Method: "per-step"}
	single, err := Backtest(ctx, traces, r, opts)
	if err != nil {
		t.Fatal(err)
	}
	var seen []int
	opts.Method = ""
	opts.Progress = func(done, total int) {
		if total != single.Evaluations || len(seen) > 0 && done < seen[len(seen)-1] {
			t.Errorf("progress %d of %d after %v; want it rising, of %d", done, total, seen, single.Evaluations)
		}
		seen = append(seen, done)
	}
	res, err := Backtest(ctx, &failsAfter{Querier: traces, ok: 2}, r, opts)
	if err != nil {
		t.Fatal(err)
	}
	if res.Method == "sliding" || !strings.Contains(res.FallbackReason, "injected") || res.Evaluations != single.Evaluations {
		t.Errorf("method %s (%q), %d evaluations; want a fallback after the injected error, %d evaluations", res.Method, res.FallbackReason, res.Evaluations, single.Evaluations)
	}
	if len(single.Firings) < 2 {
		t.Errorf("%d firings step by step; the comparison must compare something", len(single.Firings))
	}
	if a, b := firingsText(single.Firings), firingsText(res.Firings); a != b || single.Notifications != res.Notifications {
		t.Errorf("step by step (%d notifications):\n%s\nsliding, then batched (%d notifications):\n%s", single.Notifications, a, res.Notifications, b)
	}
	if !slices.Contains(seen, 120) {
		t.Errorf("progress %v; want the two parts' 120 steps reported", seen)
	}
}

// slidesLikeSteps replays r step by step and with opts (whose Method is
// "sliding", or empty for the fastest), checks that the second replay
// slid and fired as the first did, and returns it.
func slidesLikeSteps(t *testing.T, name string, traces store.Querier, r Rule, opts BacktestOptions) BacktestResult {
	t.Helper()
	ctx := context.Background()
	method := opts.Method
	opts.Method = "per-step"
	single, err := Backtest(ctx, traces, r, opts)
	if err != nil {
		t.Fatalf("%s: per step: %v", name, err)
	}
	opts.Method = method
	sliding, err := Backtest(ctx, traces, r, opts)
	if err != nil {
		t.Fatalf("%s: sliding: %v", name, err)
	}
	if sliding.Method != "sliding" || sliding.Evaluations != single.Evaluations {
		t.Errorf("%s: method %s, %d evaluations; want sliding, %d", name, sliding.Method, sliding.Evaluations, single.Evaluations)
	}
	if len(single.Firings) < 2 {
		t.Errorf("%s: %d firings step by step; the comparison must compare something", name, len(single.Firings))
	}
	if a, b := firingsText(single.Firings), firingsText(sliding.Firings); a != b || single.Notifications != sliding.Notifications {
		t.Errorf("%s: step by step (%d notifications):\n%s\nsliding (%d notifications):\n%s", name, single.Notifications, a, sliding.Notifications, b)
	}
	return sliding
}

// firingsText is a comparable rendering of firings: floats to nine
// significant digits, since a window's average combined from its panes
// may differ from a direct one in the last bits.
func firingsText(fs []Firing) string {
	var lines []string
	for _, f := range fs {
		var vals []string
		for k, v := range f.Values {
			if x, ok := v.(float64); ok {
				v = fmt.Sprintf("%.9g", x)
			}
			vals = append(vals, fmt.Sprintf("%s=%v", k, v))
		}
		sort.Strings(vals)
		lines = append(lines, fmt.Sprintf("%v %s %s %s %s %v", f.Labels, f.ActiveAt.Format(time.TimeOnly), f.StartedAt.Format(time.TimeOnly),
			f.ResolvedAt.Format(time.TimeOnly), strings.Join(vals, " "), f.Annotations))
	}
	sort.Strings(lines)
	return strings.Join(lines, "\n")
}

func TestSlidingPlanPrunesOnThresholds(t *testing.T) {
	steps := stepTimes(t0, t0.Add(time.Hour), time.Minute)
	cols := map[string]bool{"peer_ip": true, "timestamp": true, "status_code": true, "api_key_id": true, "service_name": true, "http_path": true}
	for _, tc := range []struct {
		sql   string
		prune []string
	}{
		{slidingRules[0], []string{">= 100"}},
		{slidingRules[2], []string{">= 3", "count(DISTINCT CASE WHEN (peer_ip) IS NOT NULL THEN peer_ip END)"}},
		{slidingRules[4], []string{">= 151"}},
		{slidingRules[3], nil},
		{slidingRules[7], []string{">= 40"}},
		// A sum prunes on its positive values; an OR cannot prune.
		{`SELECT peer_ip, sum(response_bytes) AS b FROM traces WHERE timestamp > now() - INTERVAL 5 MINUTE AND timestamp <= now() GROUP BY peer_ip HAVING b >= 100`,
			[]string{"sum(CASE WHEN (response_bytes) > 0 THEN greatest(response_bytes, 0) END)", "__thm0 >= 50", ">= 100"}},
		{`SELECT peer_ip, sum(response_bytes) AS b FROM traces WHERE timestamp > now() - INTERVAL 5 MINUTE AND timestamp <= now() GROUP BY peer_ip HAVING b >= 1`, nil},
		{`SELECT peer_ip, count() AS n FROM traces WHERE timestamp > now() - INTERVAL 5 MINUTE AND timestamp <= now() GROUP BY peer_ip HAVING n >= 100 OR peer_ip = 'x'`, nil},
	} {
		r := Rule{ID: "r", SQL: tc.sql}
		plan, err := planSliding(&r, steps, time.Minute, cols, nil)
		if err != nil {
			t.Fatalf("planSliding(%s) = %v", tc.sql, err)
		}
		for _, p := range tc.prune {
			if !strings.Contains(plan.sql, p) || !strings.Contains(plan.sql, "__th_need") {
				t.Errorf("plan of %s does not prune on %q:\n%s", tc.sql, p, plan.sql)
			}
		}
		if len(tc.prune) == 0 && strings.Contains(plan.sql, "__th_need") {
			t.Errorf("plan of %s prunes:\n%s", tc.sql, plan.sql)
		}
		if wantFroms := 1 + min(len(tc.prune), 1); plan.froms != wantFroms {
			t.Errorf("plan of %s reads traces %d times, want %d", tc.sql, plan.froms, wantFroms)
		}
	}
	// With now() outside the aggregates, only the change points that pass
	// the HAVING terms that do not depend on the time are spread over
	// their steps.
	r := Rule{ID: "r", SQL: slidingRules[7]}
	plan, err := planSliding(&r, steps, time.Minute, cols, nil)
	if err != nil {
		t.Fatal(err)
	}
	expand := plan.sql[strings.Index(plan.sql, "__th_q AS"):strings.Index(plan.sql, "__th_x AS")]
	if !strings.Contains(expand, "FROM __th_r\n    WHERE (recent >= 40)") || strings.Contains(expand, "baseline") {
		t.Errorf("plan of %s does not filter the change points on recent alone:\n%s", r.SQL, plan.sql)
	}
	// A window that is not a whole number of steps is refused.
	r = Rule{ID: "r", SQL: slidingRules[1]}
	if _, err := planSliding(&r, stepTimes(t0, t0.Add(time.Hour), 2*time.Minute), 2*time.Minute, cols, nil); err == nil {
		t.Errorf("planSliding with a 5-minute window at 2-minute steps = nil error")
	}
}

// TestSlidingPrunesOnShortFrames replays a rule whose threshold bounds
// its window's last 15 minutes, where the steps that can pass are told
// apart by hour: a key's quiet requests hours before its burst still
// count in the burst's baseline.
func TestSlidingPrunesOnShortFrames(t *testing.T) {
	traces := openTraces(t)
	var spans []span.Span
	add := func(ts time.Time, key string) {
		id := fmt.Sprintf("%032x", len(spans)+1)
		spans = append(spans, span.Span{Timestamp: ts, TraceID: id, SpanID: id[16:], ServiceName: "vault", SpanName: "GET /v1/items",
			SpanKind: span.KindServer, HTTPMethod: "GET", HTTPTarget: "/v1/items", HTTPPath: "/v1/items", HTTPRoute: "/v1/items",
			StatusCode: 200, PeerIP: "198.51.100.1", APIKeyID: key})
	}
	// Each key: a few quiet requests, then nothing for over two hours,
	// then a burst.
	for k, quiet := range []time.Duration{0, time.Hour} {
		key := fmt.Sprintf("key-%d", k)
		for i := range 30 {
			add(t0.Add(quiet+time.Duration(i)*20*time.Second), key)
		}
		for i := range 60 {
			add(t0.Add(quiet+150*time.Minute+time.Duration(i)*5*time.Second), key)
		}
	}
	if err := traces.Write(context.Background(), spans); err != nil {
		t.Fatal(err)
	}
	sql := strings.Replace(slidingRules[7], "INTERVAL 2 HOUR", "INTERVAL 3 HOUR", 1)
	for _, step := range []time.Duration{time.Minute, 5 * time.Minute} {
		r := Rule{ID: "r", Name: "sliding", Interval: step, Severity: "low", SQL: sql}
		plan, err := planSliding(&r, stepTimes(t0, t0.Add(time.Hour), step), step, nil, nil)
		if err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(plan.sql, "range(0, 4)") {
			t.Errorf("plan at %v steps does not keep the 3 hour-long buckets before a step's:\n%s", step, plan.sql)
		}
		slidesLikeSteps(t, fmt.Sprintf("%v", step), traces, r, BacktestOptions{From: t0.Add(20 * time.Minute), To: t0.Add(5 * time.Hour), Step: step, Method: "sliding"})
	}
}

// TestSlidingCopyMatchesStepByStep replays the rules whose WHERE filters
// from a materialized copy of the rows it keeps, as it does for rules
// that keep few rows.
func TestSlidingCopyMatchesStepByStep(t *testing.T) {
	traces := openTraces(t)
	mixedTraffic(t, traces)
	ctx := context.Background()
	defer func(s float64) { selectiveShare = s }(selectiveShare)
	selectiveShare = 1
	from, to := t0.Add(20*time.Minute), t0.Add(4*time.Hour+10*time.Minute)
	copied := 0
	for i, sql := range append(append([]string(nil), slidingRules...), semiRules...) {
		r := Rule{ID: fmt.Sprintf("r%d", i), Name: "copy", Interval: time.Minute, Severity: "low", SQL: sql, For: time.Minute}
		if rest, _, ok := sqlguard.SplitSemiJoins(sql); ok {
			sql = rest
		}
		w, err := sqlguard.ParseWindowed(sql)
		if err != nil {
			t.Fatal(err)
		}
		keep, err := keptColumns(ctx, traces, sql, w, stepTimes(from, to, time.Minute), map[string]bool{"timestamp": true, "peer_ip": true}, nil)
		if err != nil {
			t.Fatal(err)
		}
		if len(w.Where) == 0 {
			if keep != nil {
				t.Errorf("%s: copies %v without a WHERE", r.ID, keep)
			}
			continue
		}
		if len(keep) == 0 || keep[len(keep)-1] != "timestamp" && !slices.Contains(keep, `"timestamp"`) {
			t.Errorf("%s: copies %v", r.ID, keep)
		}
		sliding := slidesLikeSteps(t, r.ID, traces, r, BacktestOptions{From: from, To: to, Step: time.Minute})
		// The sample, then one query over the copy.
		if sliding.Queries >= 3 {
			copied++
		}
	}
	if copied < 3 {
		t.Errorf("only %d rules read a copy", copied)
	}
}

// TestSlidingAnnotationsMatchStepByStep checks the annotations a sliding
// replay records, which it expands once per change point unless they
// show the evaluation time.
func TestSlidingAnnotationsMatchStepByStep(t *testing.T) {
	traces := openTraces(t)
	mixedTraffic(t, traces)
	from, to := t0.Add(20*time.Minute), t0.Add(4*time.Hour+10*time.Minute)
	for _, ann := range []map[string]string{
		{"summary": "{{.api_key_id}}: {{.ips}} addresses, {{.requests}} requests, {{humanizeBytes .bytes_read}}"},
		{"summary": "{{.ips}} addresses", "when": "{{.EvalTime.Format \"15:04\"}}"},
	} {
		r := Rule{ID: "ann", Name: "annotations", Interval: time.Minute, Severity: "low", SQL: slidingRules[2], For: 3 * time.Minute, Annotations: ann}
		res := slidesLikeSteps(t, fmt.Sprint(ann), traces, r, BacktestOptions{From: from, To: to, Step: time.Minute, Method: "sliding"})
		for _, f := range res.Firings {
			if f.Annotations["summary"] == "" || ann["when"] != "" && f.Annotations["when"] != f.StartedAt.Format("15:04") {
				t.Fatalf("%v: firing at %s has annotations %v", ann, f.StartedAt.Format(time.TimeOnly), f.Annotations)
			}
		}
	}
}
