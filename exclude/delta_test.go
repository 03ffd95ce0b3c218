package exclude

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"reflect"
	"testing"
	"time"

	"github.com/tracehound/tracehound/alert"
	"github.com/tracehound/tracehound/span"
)

// deltaSpans: six hours of mixed traffic from 40 addresses in three
// ranges, with eight API keys, bursts at random times, errors and admin
// calls, from a seeded generator.
func deltaSpans() []span.Span {
	rng := rand.New(rand.NewPCG(7, 11))
	var out []span.Span
	paths := []string{"/v1/items/1", "/v1/items/2", "/v1/orders", "/admin/users", "/admin/export", "/healthz"}
	add := func(at time.Time, ip, key, path, ua string, status uint16, bytes int64) {
		id := fmt.Sprintf("%032x", len(out)+1)
		svc := "shop"
		if len(path) > 6 && path[:6] == "/admin" {
			svc = "backoffice"
		}
		out = append(out, span.Span{Timestamp: at, TraceID: id, SpanID: id[16:], ServiceName: svc, SpanName: "GET " + path,
			SpanKind: span.KindServer, HTTPMethod: "GET", HTTPTarget: path, HTTPPath: path, StatusCode: status, PeerIP: ip,
			UserAgent: ua, APIKeyID: key, ResponseBytes: bytes})
	}
	ips := make([]string, 40)
	for i := range ips {
		ips[i] = fmt.Sprintf("%s.%d", []string{"198.51.100", "203.0.113", "192.0.2"}[i%3], 10+i)
	}
	for m := 0; m < 360; m++ {
		at := testT0.Add(time.Duration(m) * time.Minute)
		for range 1 + rng.IntN(6) {
			ip := ips[rng.IntN(len(ips))]
			key := fmt.Sprintf("key-%d", rng.IntN(8))
			path := paths[rng.IntN(len(paths))]
			status := uint16(200)
			if rng.IntN(6) == 0 {
				status = 500
			}
			ua := "client/1.0"
			if path == "/healthz" {
				ua = "kube-probe/1.29"
			}
			add(at.Add(time.Duration(rng.IntN(60))*time.Second), ip, key, path, ua, status, int64(rng.IntN(50_000)))
		}
		if rng.IntN(20) == 0 { // a burst from one address with one key
			ip, key, path := ips[rng.IntN(len(ips))], fmt.Sprintf("key-%d", rng.IntN(8)), paths[rng.IntN(len(paths))]
			for i := range 20 + rng.IntN(30) {
				add(at.Add(time.Duration(i)*3*time.Second), ip, key, path, "curl/8.5", 200, 200_000)
			}
		}
	}
	return out
}

var deltaRules = []alert.Rule{
	{ID: "ip_burst", Severity: alert.SeverityLow, Interval: 5 * time.Minute, For: 5 * time.Minute, KeepFiringFor: 10 * time.Minute,
		SQL: `SELECT peer_ip, count() AS n FROM traces WHERE span_kind = 'Server'
		AND timestamp > now() - INTERVAL 10 MINUTE AND timestamp <= now() GROUP BY peer_ip HAVING count() >= 25`},
	{ID: "key_many_ips", Severity: alert.SeverityMedium, Interval: 5 * time.Minute,
		SQL: `SELECT api_key_id, uniqExact(peer_ip) AS ips, count() AS n FROM traces WHERE api_key_id != ''
		AND timestamp > now() - INTERVAL 30 MINUTE AND timestamp <= now() GROUP BY api_key_id HAVING uniqExact(peer_ip) >= 9`},
	{ID: "ip_path", Severity: alert.SeverityLow, Interval: 5 * time.Minute,
		SQL: `SELECT peer_ip, http_path, count() AS n FROM traces WHERE status_code < 400
		AND timestamp >= now() - INTERVAL 15 MINUTE AND timestamp < now() GROUP BY peer_ip, http_path HAVING count() >= 12`},
	{ID: "bulk_bytes", Severity: alert.SeverityHigh, Interval: 5 * time.Minute,
		SQL: `SELECT peer_ip, sum(response_bytes) AS bytes FROM traces WHERE span_kind = 'Server'
		AND timestamp > now() - INTERVAL 1 HOUR AND timestamp <= now() GROUP BY peer_ip HAVING sum(response_bytes) >= 6000000`},
	{ID: "error_ratio", Severity: alert.SeverityHigh, Interval: 5 * time.Minute,
		SQL: `SELECT service_name, countIf(status_code >= 500) AS errors, count() AS n FROM traces
		WHERE span_kind = 'Server' AND timestamp > now() - INTERVAL 15 MINUTE AND timestamp <= now()
		GROUP BY service_name HAVING countIf(status_code >= 500) * 4 > count()`},
	// Removing an address's failed calls can make it fire: every
	// touched group is replayed, not only those that fired.
	{ID: "clean_caller", Severity: alert.SeverityLow, Interval: 5 * time.Minute,
		SQL: `SELECT peer_ip, count() AS n, countIf(status_code >= 500) AS errors FROM traces WHERE span_kind = 'Server'
		AND timestamp > now() - INTERVAL 10 MINUTE AND timestamp <= now() GROUP BY peer_ip HAVING n >= 4 AND errors = 0`},
	// Not of the single-window shape, and its reads share conditions:
	// left as its baseline when a candidate removes none of its rows.
	{ID: "new_ok_caller", Severity: alert.SeverityLow, Interval: 5 * time.Minute,
		SQL: `SELECT peer_ip, count() AS n FROM traces WHERE span_kind = 'Server' AND status_code < 400
		AND timestamp > now() - INTERVAL 10 MINUTE AND timestamp <= now()
		AND peer_ip NOT IN (SELECT peer_ip FROM traces WHERE span_kind = 'Server' AND status_code < 400
		                    AND timestamp > now() - INTERVAL 1 HOUR AND timestamp <= now() - INTERVAL 10 MINUTE)
		GROUP BY peer_ip HAVING count() >= 3`},
	// Its subquery decides for every caller of a path at once: the
	// groups split by path, not by caller and path.
	{ID: "rare_path_caller", Severity: alert.SeverityMedium, Interval: 5 * time.Minute,
		SQL: `SELECT peer_ip, lower(http_path) AS path, count() AS n FROM traces WHERE span_kind = 'Server'
		AND timestamp > now() - INTERVAL 30 MINUTE AND timestamp <= now()
		AND lower(http_path) NOT IN (SELECT lower(http_path) FROM traces WHERE span_kind = 'Server'
		                             AND timestamp > now() - INTERVAL 30 MINUTE AND timestamp <= now()
		                             GROUP BY lower(http_path) HAVING uniqExact(peer_ip) > 10)
		GROUP BY peer_ip, path HAVING count() >= 2`},
	// Its subquery's key is not a group key: replayed whole.
	{ID: "key_not_seen", Severity: alert.SeverityLow, Interval: 5 * time.Minute,
		SQL: `SELECT peer_ip, count() AS n FROM traces WHERE span_kind = 'Server'
		AND timestamp > now() - INTERVAL 10 MINUTE AND timestamp <= now()
		AND api_key_id NOT IN (SELECT api_key_id FROM traces WHERE span_kind = 'Server'
		                       AND timestamp > now() - INTERVAL 1 HOUR AND timestamp <= now() - INTERVAL 10 MINUTE)
		GROUP BY peer_ip HAVING count() >= 3`},
	// Not of the single-window shape: always replayed whole.
	{ID: "new_busy_ip", Severity: alert.SeverityLow, Interval: 5 * time.Minute,
		SQL: `SELECT peer_ip, count() AS n FROM traces WHERE span_kind = 'Server'
		AND timestamp > now() - INTERVAL 10 MINUTE AND timestamp <= now()
		AND peer_ip NOT IN (SELECT peer_ip FROM traces WHERE timestamp > now() - INTERVAL 1 HOUR AND timestamp <= now() - INTERVAL 10 MINUTE)
		GROUP BY peer_ip HAVING count() >= 3`},
}

// TestDeltaDryRunMatchesWholeReplay checks that replaying only the groups
// a candidate touches gives what replaying every group does: the same
// notifications, per-day counts, removed and added firings and flags.
func TestDeltaDryRunMatchesWholeReplay(t *testing.T) {
	if testing.Short() {
		t.Skip("opens a DuckDB store")
	}
	defer func(d time.Duration, s float64) { deltaMinReplay, copyShare = d, s }(deltaMinReplay, copyShare)
	deltaMinReplay = 0
	ctx := context.Background()
	st := openStore(t, deltaSpans())
	from, to := testT0.Add(5*time.Minute), testT0.Add(6*time.Hour)
	never := Expiry{Never: true}
	health := Exclusion{ID: "health", Conditions: []Condition{{KindPathGlob, "/health*"}}, Scope: Scope{Kind: ScopeAny}, Reason: "probes", ExpiresAt: never}
	candidates := []Exclusion{
		{ID: "admin", Conditions: []Condition{{KindPathGlob, "/admin/*"}}, Scope: Scope{Kind: ScopeAny}, Reason: "r", ExpiresAt: never},
		{ID: "range", Conditions: []Condition{{KindIPCIDR, "203.0.113.0/24"}}, Scope: Scope{Kind: ScopeAny}, Reason: "r", ExpiresAt: never},
		{ID: "curl_items", Conditions: []Condition{{KindUserAgent, "curl/*"}, {KindPathGlob, "/v1/items/*"}}, Scope: Scope{Kind: ScopeAny}, Reason: "r", ExpiresAt: never},
		{ID: "errors", Conditions: []Condition{{KindStatus, "500"}}, Scope: Scope{Kind: ScopeAny}, Reason: "r", ExpiresAt: never},
		{ID: "key", Conditions: []Condition{{KindAPIKey, "key-3"}}, Scope: Scope{Kind: ScopeAny}, Reason: "r", ExpiresAt: never},
	}
	// The group-wise dry runs share a step cache: the touched groups'
	// rows without the candidate come from the baseline's.
	cache := alert.NewStepCache(st, 256<<20)
	run := func(c Exclusion, delta bool) *DryRunResult {
		t.Helper()
		deltaReplays = delta
		defer func() { deltaReplays = true }()
		var steps *alert.StepCache
		if delta {
			steps = cache
		}
		// Known alerts: the baseline's first firing of every rule.
		res, err := DryRun(ctx, DryRunOptions{Querier: st, Rules: deltaRules, Active: []Exclusion{health}, Candidate: c, From: from, To: to,
			IsMalicious: func(ip string) bool { return ip == "203.0.113.13" }, Steps: steps})
		if err != nil {
			t.Fatalf("DryRun(%s, delta %v) = %v", c.ID, delta, err)
		}
		return res
	}
	copyReads.Store(0)
	partialCopies.Store(0)
	prunedReplays.Store(0)
	grouped, removed, fromCache := 0, 0, 0
	replayedAlone := map[string]bool{}
	// Every rule's touched groups copied (the fixture is small), then
	// those of the rules whose groups hold few rows only: the others
	// read traces.
	for _, share := range []float64{1, 0.5} {
		copyShare = share
		for _, c := range candidates {
			whole, delta := run(c, false), run(c, true)
			for i, e := range delta.Rules {
				grouped += e.GroupsReplayed
				removed += e.FiringsRemoved
				if e.GroupsReplayed > 0 && e.StepsCached == e.Steps {
					fromCache++
				}
				w := whole.Rules[i]
				if e.RuleID != w.RuleID || e.NotificationsBefore != w.NotificationsBefore || e.NotificationsAfter != w.NotificationsAfter ||
					e.FiringsRemoved != w.FiringsRemoved || e.FiringsAdded != w.FiringsAdded || e.Skipped != w.Skipped {
					t.Errorf("%s (copy share %v): rule effect %+v, whole replay %+v", c.ID, share, e, w)
				}
				if (e.RuleID == "new_busy_ip" || e.RuleID == "key_not_seen") && e.GroupsReplayed != 0 {
					t.Errorf("%s: %s replayed %d groups alone", c.ID, e.RuleID, e.GroupsReplayed)
				}
				if e.GroupsReplayed > 0 {
					replayedAlone[e.RuleID] = true
				}
			}
			for name, pair := range map[string][2]any{
				"removed": {delta.Removed, whole.Removed}, "added": {delta.Added, whole.Added}, "per day": {delta.PerDay, whole.PerDay},
				"flags":         {delta.SuppressedTruePositives, whole.SuppressedTruePositives},
				"notifications": {[2]int{delta.NotificationsBefore, delta.NotificationsAfter}, [2]int{whole.NotificationsBefore, whole.NotificationsAfter}},
				"rows":          {[2]int64{delta.RowsExcluded, delta.RowsTotal}, [2]int64{whole.RowsExcluded, whole.RowsTotal}},
				"top keys":      {delta.TopKeys, whole.TopKeys},
			} {
				if !reflect.DeepEqual(pair[0], pair[1]) {
					t.Errorf("%s (copy share %v): %s\n group-wise %+v\n whole      %+v", c.ID, share, name, pair[0], pair[1])
				}
			}
		}
	}
	t.Logf("grouped %d removed %d, %d replays read the touched groups' copy", grouped, removed, copyReads.Load())
	if copyReads.Load() == 0 || partialCopies.Load() == 0 {
		t.Errorf("%d group-wise replays read the copy of the touched groups' rows, %d copies left a rule out; want some of each",
			copyReads.Load(), partialCopies.Load())
	}
	if prunedReplays.Load() == 0 {
		t.Error("no group-wise replay kept only the touched groups that fired")
	}
	for _, id := range []string{"new_ok_caller", "rare_path_caller"} {
		if !replayedAlone[id] {
			t.Errorf("%s, whose subquery keeps its groups apart, was never replayed group-wise", id)
		}
	}
	if grouped == 0 || removed == 0 || fromCache == 0 {
		t.Errorf("%d groups replayed alone, %d firings removed, %d rules' touched groups taken from the cached baseline: the candidates test nothing",
			grouped, removed, fromCache)
	}
}

// TestSplice checks the arithmetic of a spliced replay.
func TestSplice(t *testing.T) {
	at := func(m int) time.Time { return testT0.Add(time.Duration(m) * time.Minute) }
	f := func(fp string, m int) alert.Firing { return alert.Firing{Fingerprint: fp, StartedAt: at(m)} }
	day := testT0.Format("2006-01-02")
	full := alert.BacktestResult{Firings: []alert.Firing{f("a", 5), f("b", 5), f("c", 10)}, Notifications: 5, MaxRows: 3,
		PerDay: []alert.DayCount{{Day: day, Firings: 3, Notifications: 5}}}
	before := alert.BacktestResult{Firings: []alert.Firing{f("b", 5)}, Notifications: 2, MaxRows: 1,
		PerDay: []alert.DayCount{{Day: day, Firings: 1, Notifications: 2}}}
	after := alert.BacktestResult{Firings: []alert.Firing{f("d", 1), f("b", 15)}, Notifications: 3, MaxRows: 2,
		PerDay: []alert.DayCount{{Day: day, Firings: 2, Notifications: 3}}}
	got := splice(full, before, after)
	want := []alert.Firing{f("d", 1), f("a", 5), f("c", 10), f("b", 15)}
	if !reflect.DeepEqual(got.Firings, want) {
		t.Errorf("firings %v, want %v", got.Firings, want)
	}
	if got.Notifications != 6 || !got.FirstFiring.Equal(at(1)) || got.MaxRows != 5 ||
		!reflect.DeepEqual(got.PerDay, []alert.DayCount{{Day: day, Firings: 4, Notifications: 6}}) {
		t.Errorf("notifications %d, first %v, max rows %d, per day %+v", got.Notifications, got.FirstFiring, got.MaxRows, got.PerDay)
	}
}

// Dry runs that share a step cache give what uncached ones give, and
// evaluate each rule's baseline once: later candidates, and a window an
// hour later, take its steps from the cache.
func TestDryRunStepCache(t *testing.T) {
	if testing.Short() {
		t.Skip("opens a DuckDB store")
	}
	ctx := context.Background()
	st := openStore(t, deltaSpans())
	cache := alert.NewStepCache(st, 256<<20)
	never := Expiry{Never: true}
	health := Exclusion{ID: "health", Conditions: []Condition{{KindPathGlob, "/health*"}}, Scope: Scope{Kind: ScopeAny}, Reason: "probes", ExpiresAt: never}
	candidates := []Exclusion{
		{ID: "admin", Conditions: []Condition{{KindPathGlob, "/admin/*"}}, Scope: Scope{Kind: ScopeAny}, Reason: "r", ExpiresAt: never},
		{ID: "range", Conditions: []Condition{{KindIPCIDR, "203.0.113.0/24"}}, Scope: Scope{Kind: ScopeAny}, Reason: "r", ExpiresAt: never},
		{ID: "key", Conditions: []Condition{{KindAPIKey, "key-3"}}, Scope: Scope{Kind: ScopeAny}, Reason: "r", ExpiresAt: never},
	}
	run := func(c Exclusion, from, to time.Time, steps *alert.StepCache) *DryRunResult {
		t.Helper()
		res, err := DryRun(ctx, DryRunOptions{Querier: st, Rules: deltaRules, Active: []Exclusion{health}, Candidate: c, From: from, To: to, Steps: steps})
		if err != nil {
			t.Fatalf("DryRun(%s) = %v", c.ID, err)
		}
		return res
	}
	from, to := testT0.Add(time.Hour), testT0.Add(5*time.Hour)
	cached := 0
	for _, shift := range []time.Duration{0, time.Hour} {
		for i, c := range candidates {
			got, want := run(c, from.Add(shift), to.Add(shift), cache), run(c, from.Add(shift), to.Add(shift), nil)
			for j, e := range got.Rules {
				w := want.Rules[j]
				if e.NotificationsBefore != w.NotificationsBefore || e.NotificationsAfter != w.NotificationsAfter ||
					e.FiringsRemoved != w.FiringsRemoved || e.FiringsAdded != w.FiringsAdded || e.Skipped != w.Skipped {
					t.Errorf("%s +%v: rule effect with the cache %+v, without %+v", c.ID, shift, e, w)
				}
				if e.Skipped != "" {
					continue
				}
				if w.StepsCached != 0 {
					t.Errorf("%s +%v: %s took %d steps from no cache", c.ID, shift, e.RuleID, w.StepsCached)
				}
				// The first candidate fills the cache; an hour later the
				// window's last hour is new to the first.
				switch {
				case i == 0 && shift == 0 && e.StepsCached != 0:
					t.Errorf("%s: %s took %d steps from an empty cache", c.ID, e.RuleID, e.StepsCached)
				case i == 0 && shift > 0 && e.StepsCached != e.Steps-int(time.Hour/ruleStep(deltaRules, e.RuleID)):
					t.Errorf("%s +1h: %s took %d of %d steps from the cache, want all but the last hour's", c.ID, e.RuleID, e.StepsCached, e.Steps)
				case i > 0 && e.StepsCached != e.Steps:
					t.Errorf("%s +%v: %s took %d of %d steps from the cache, want all", c.ID, shift, e.RuleID, e.StepsCached, e.Steps)
				}
				cached += e.StepsCached
			}
			for name, pair := range map[string][2]any{
				"removed": {got.Removed, want.Removed}, "added": {got.Added, want.Added}, "per day": {got.PerDay, want.PerDay},
			} {
				if !reflect.DeepEqual(pair[0], pair[1]) {
					t.Errorf("%s +%v: %s\n cached   %+v\n uncached %+v", c.ID, shift, name, pair[0], pair[1])
				}
			}
		}
	}
	if cached == 0 {
		t.Error("no step came from the cache")
	}
}

func ruleStep(rules []alert.Rule, id string) time.Duration {
	for _, r := range rules {
		if r.ID == id {
			return r.Interval
		}
	}
	return 0
}

// After WarmBaselines, a dry run of any candidate takes every rule's
// baseline from the cache.
func TestWarmBaselines(t *testing.T) {
	if testing.Short() {
		t.Skip("opens a DuckDB store")
	}
	ctx := context.Background()
	st := openStore(t, deltaSpans())
	never := Expiry{Never: true}
	health := Exclusion{ID: "health", Conditions: []Condition{{KindPathGlob, "/health*"}}, Scope: Scope{Kind: ScopeAny}, Reason: "probes", ExpiresAt: never}
	opts := DryRunOptions{Querier: st, Rules: deltaRules, Active: []Exclusion{health}, From: testT0.Add(time.Hour), To: testT0.Add(5 * time.Hour),
		Steps: alert.NewStepCache(st, 256<<20)}
	steps, cached, err := WarmBaselines(ctx, opts)
	if err != nil || steps != len(deltaRules)*49 || cached != 0 {
		t.Fatalf("WarmBaselines() = %d steps, %d cached, %v; want %d steps evaluated", steps, cached, err, len(deltaRules)*49)
	}
	opts.Candidate = Exclusion{ID: "range", Conditions: []Condition{{KindIPCIDR, "203.0.113.0/24"}}, Scope: Scope{Kind: ScopeAny}, Reason: "r", ExpiresAt: never}
	res, err := DryRun(ctx, opts)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range res.Rules {
		if e.Skipped == "" && (e.Steps == 0 || e.StepsCached != e.Steps) {
			t.Errorf("%s: %d of %d baseline steps from the cache, want all", e.RuleID, e.StepsCached, e.Steps)
		}
	}
	if steps, cached, err = WarmBaselines(ctx, opts); err != nil || cached != steps {
		t.Errorf("WarmBaselines() again = %d steps, %d cached, %v; want all cached", steps, cached, err)
	}

	// Pause runs before each rule; its error stops the warming there.
	stop := errors.New("a dry run is waiting")
	pauses := 0
	opts.Pause = func(context.Context) error {
		if pauses++; pauses == 2 {
			return stop
		}
		return nil
	}
	opts.To = opts.To.Add(30 * time.Minute)
	if steps, _, err = WarmBaselines(ctx, opts); !errors.Is(err, stop) || pauses != 2 || steps != 55 {
		t.Errorf("WarmBaselines() with a pause that stops at the second rule = %d steps, %v after %d pauses; want the first rule's 55 steps, the pause's error", steps, err, pauses)
	}
}
