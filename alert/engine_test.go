package alert

import (
	"context"
	"encoding/json"
	"path/filepath"
	"slices"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/tracehound/tracehound/apimap"
	"github.com/tracehound/tracehound/state"
	"github.com/tracehound/tracehound/state/sqlite"
	"github.com/tracehound/tracehound/store/duckdb"
)

// t0 is where a synctest bubble's clock starts.
var t0 = time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC)

func openTraces(t testing.TB) *duckdb.Store {
	t.Helper()
	s, err := duckdb.Open(context.Background(), filepath.Join(t.TempDir(), "traces.duckdb"), duckdb.Options{})
	if err != nil {
		t.Fatalf("duckdb.Open() = %v", err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func openState(t testing.TB, path string) *sqlite.Store {
	t.Helper()
	s, err := sqlite.Open(context.Background(), path)
	if err != nil {
		t.Fatalf("sqlite.Open() = %v", err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// requests writes n GET requests from ip to path, every `every` from at.
func requests(t testing.TB, s *duckdb.Store, at time.Time, n int, every time.Duration, ip, path string) {
	t.Helper()
	spans, err := fixtureSpans(at, []fixtureRow{{Path: path, PeerIP: ip, Repeat: n, Interval: every.String(), Service: "vault",
		Method: "GET", Offset: "0s", APIKeyID: "k-" + ip}})
	if err != nil {
		t.Fatal(err)
	}
	for i := range spans {
		spans[i].TraceID = spans[i].TraceID[:24] + ip[len(ip)-2:] + spans[i].TraceID[26:]
	}
	if err := s.Write(context.Background(), spans); err != nil {
		t.Fatalf("Write() = %v", err)
	}
}

// sink records deliveries; fail makes Deliver fail.
type sink struct {
	mu        sync.Mutex
	delivered [][]Alert
	fail      bool
}

func (s *sink) Deliver(_ context.Context, alerts []Alert) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.fail {
		return context.DeadlineExceeded
	}
	s.delivered = append(s.delivered, append([]Alert(nil), alerts...))
	return nil
}

// alerts returns every delivered alert of rule, in delivery order.
func (s *sink) alerts(rule string) []Alert {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []Alert
	for _, d := range s.delivered {
		for _, a := range d {
			if a.RuleID == rule {
				out = append(out, a)
			}
		}
	}
	return out
}

func mustRule(t testing.TB, src string) Rule {
	t.Helper()
	rules, err := ParseRules("test.yaml", []byte(src))
	if err != nil {
		t.Fatal(err)
	}
	return rules[0]
}

const perIPRule = `rules:
  - id: per_ip
    interval: 1m
    for: %s
    severity: high
    annotations: {summary: "{{.peer_ip}}: {{.n}}"}
    sql: SELECT peer_ip, count() AS n FROM traces WHERE timestamp > now() - INTERVAL 2 MINUTE AND timestamp <= now() GROUP BY peer_ip
`

func perIP(t testing.TB, forDur string) Rule {
	return mustRule(t, sprintf(perIPRule, forDur))
}

func sprintf(format string, args ...any) string { return fmtSprintf(format, args...) }

// runEngine runs an engine with rules for d, then calls each of while
// with it before stopping it.
func runEngine(t *testing.T, opts Options, rules []Rule, d time.Duration, while ...func(*Engine)) *Engine {
	t.Helper()
	e, err := NewEngine(opts)
	if err != nil {
		t.Fatal(err)
	}
	if err := e.SetRules(rules); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		e.Run(ctx)
	}()
	time.Sleep(d)
	synctest.Wait()
	for _, f := range while {
		f(e)
	}
	cancel()
	<-done
	return e
}

func TestEngineSchedulesFiresAndResolves(t *testing.T) {
	traces := openTraces(t)
	requests(t, traces, t0.Add(3*time.Minute), 60, 5*time.Second, "203.0.113.7", "/v1/things")
	reg := prometheus.NewRegistry()
	synctest.Test(t, func(t *testing.T) {
		s := &sink{}
		r := perIP(t, "2m")
		e := runEngine(t, Options{Querier: traces, Sink: s, Registerer: reg, QueryOffset: -1}, []Rule{r}, 20*time.Minute)
		got := s.alerts("per_ip")
		if len(got) == 0 {
			t.Fatal("no alert delivered")
		}
		off := slotOffset(&r)
		var firing []Alert
		var resolved []Alert
		for _, a := range got {
			if a.EvaluatedAt.Sub(t0)%time.Minute != off {
				t.Errorf("evaluated at %v, want slots at offset %v in each minute (jitter of the rule id)", a.EvaluatedAt, off)
			}
			switch a.State {
			case StateFiring:
				firing = append(firing, a)
			case StateResolved:
				resolved = append(resolved, a)
			}
		}
		// Traffic from 3m to 7m55s; windows of 2m; for 2m. The first
		// evaluation to see it is the first slot after 3m.
		firstSeen := t0.Add(3 * time.Minute).Truncate(time.Minute).Add(off)
		if firstSeen.Before(t0.Add(3 * time.Minute)) {
			firstSeen = firstSeen.Add(time.Minute)
		}
		if len(firing) == 0 || !firing[0].ActiveAt.Equal(firstSeen) || !firing[0].StartsAt.Equal(firstSeen.Add(2*time.Minute)) {
			t.Fatalf("first firing = %+v, want active at %v and firing 2m later", firing, firstSeen)
		}
		for _, a := range firing {
			if !a.StartsAt.Equal(firing[0].StartsAt) || a.Labels["peer_ip"] != "203.0.113.7" || a.Annotations["summary"] == "" {
				t.Errorf("re-sent firing alert %+v differs from the first", a)
			}
		}
		if len(firing) < 3 {
			t.Errorf("got %d firing deliveries, want one per evaluation while it fires", len(firing))
		}
		if len(resolved) != 1 || resolved[0].EndsAt.IsZero() {
			t.Errorf("resolved deliveries = %+v, want exactly one with EndsAt", resolved)
		}
		st := e.Status()
		if len(st) != 1 || st[0].Health != HealthOK || st[0].LastEval.IsZero() {
			t.Errorf("Status() = %+v, want one healthy rule", st)
		}
		if n := gathered(t, reg, "tracehound_rule_evaluations_total", "per_ip"); n < 18 || n > 21 {
			t.Errorf("tracehound_rule_evaluations_total = %v, want about 20 (one a minute)", n)
		}
	})
}

func TestEngineRestartKeepsPendingTimeAndStart(t *testing.T) {
	traces := openTraces(t)
	requests(t, traces, t0, 3*3600, time.Second, "203.0.113.8", "/v1/things")
	statePath := filepath.Join(t.TempDir(), "state.db")
	rs := openState(t, statePath)
	synctest.Test(t, func(t *testing.T) {
		r := perIP(t, "5m")
		s1 := &sink{}
		runEngine(t, Options{Querier: traces, RuleStore: rs, Sink: s1, QueryOffset: -1}, []Rule{r}, 3*time.Minute+30*time.Second)
		if got := s1.alerts("per_ip"); len(got) != 0 {
			t.Fatalf("delivered %+v while pending, want nothing", got)
		}
		st, err := rs.RuleState(context.Background(), "per_ip")
		if err != nil || len(st.Instances) != 1 || st.Instances[0].State != "pending" {
			t.Fatalf("saved state = %+v, %v; want one pending instance", st, err)
		}
		activeAt := st.Instances[0].ActiveAt
		// Down for two minutes: the new engine follows on from the last
		// evaluation and keeps the pending time.
		time.Sleep(2 * time.Minute)
		s2 := &sink{}
		e2 := runEngine(t, Options{Querier: traces, RuleStore: rs, Sink: s2, QueryOffset: -1}, []Rule{r}, 4*time.Minute)
		got := s2.alerts("per_ip")
		if len(got) == 0 {
			t.Fatal("no alert after the restart")
		}
		if !got[0].ActiveAt.Equal(activeAt) || !got[0].StartsAt.Equal(activeAt.Add(5*time.Minute)) {
			t.Errorf("after restart: active %v, starts %v; want active %v (kept) and firing 5m later", got[0].ActiveAt, got[0].StartsAt, activeAt)
		}
		if m := e2.Status()[0].Missed; m != 0 {
			t.Errorf("missed = %d after a 2m gap, want 0 (caught up)", m)
		}
		startsAt := got[0].StartsAt
		// Down for an hour: still firing after, with the same StartsAt; the
		// missed evaluations beyond the catch-up cap are counted.
		time.Sleep(time.Hour)
		s3 := &sink{}
		e3 := runEngine(t, Options{Querier: traces, RuleStore: rs, Sink: s3, QueryOffset: -1, MaxCatchUp: 2}, []Rule{r}, 90*time.Second)
		got = s3.alerts("per_ip")
		if len(got) == 0 || !got[0].StartsAt.Equal(startsAt) || got[0].State != StateFiring {
			t.Errorf("after a long restart = %+v, want still firing since %v", got, startsAt)
		}
		if m := e3.Status()[0].Missed; m < 55 || m > 62 {
			t.Errorf("missed = %d after an hour down, want about 58 (60 slots less the catch-up cap)", m)
		}
	})
}

func TestEngineFailingRuleIsUnhealthyAndKeepsInstances(t *testing.T) {
	traces := openTraces(t)
	requests(t, traces, t0, 3600, time.Second, "203.0.113.9", "/v1/things")
	rs := openState(t, filepath.Join(t.TempDir(), "state.db"))
	synctest.Test(t, func(t *testing.T) {
		good := perIP(t, "0s")
		broken := good
		broken.SQL = "SELECT peer_ip, count(no_such_column) AS n FROM traces GROUP BY peer_ip"
		s := &sink{}
		e, err := NewEngine(Options{Querier: traces, RuleStore: rs, Sink: s, QueryOffset: -1})
		if err != nil {
			t.Fatal(err)
		}
		e.SetRules([]Rule{good})
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan struct{})
		go func() { defer close(done); e.Run(ctx) }()
		time.Sleep(3 * time.Minute)
		synctest.Wait()
		if st := e.Status()[0]; st.Health != HealthOK || len(st.Instances) != 1 || st.Instances[0].State != StateFiring {
			t.Fatalf("Status() = %+v, want a healthy rule with one firing instance", st)
		}
		e.SetRules([]Rule{broken})
		time.Sleep(3 * time.Minute)
		synctest.Wait()
		st := e.Status()[0]
		if st.Health != HealthUnhealthy || st.LastError == "" {
			t.Errorf("Status() = %+v, want unhealthy with the error", st)
		}
		if len(st.Instances) != 1 || st.Instances[0].State != StateFiring {
			t.Errorf("instances of the failing rule = %+v, want still firing (a failure never resolves)", st.Instances)
		}
		health := s.alerts(RuleHealthID)
		if len(health) < 2 || health[0].Labels["rule"] != "per_ip" || health[0].Severity != SeverityMedium || health[0].State != StateFiring {
			t.Errorf("health alerts = %+v, want firing ones for rule per_ip", health)
		}
		for _, a := range s.alerts("per_ip") {
			if a.State == StateResolved {
				t.Errorf("per_ip resolved while failing: %+v", a)
			}
		}
		e.SetRules([]Rule{good})
		time.Sleep(2 * time.Minute)
		synctest.Wait()
		health = s.alerts(RuleHealthID)
		if last := health[len(health)-1]; last.State != StateResolved {
			t.Errorf("last health alert = %+v, want resolved once the rule works again", last)
		}
		cancel()
		<-done
	})
}

func TestEngineAPIMapEvents(t *testing.T) {
	traces := openTraces(t)
	ms := openState(t, filepath.Join(t.TempDir(), "state.db"))
	ep := apimap.Endpoint{ID: "e1", Service: "vault", Method: "GET", Template: "/v1/ops/dump", Hits: 12, Shadow: true,
		FirstSeen: t0.Add(-time.Hour), LastSeen: t0, RiskScore: 80}
	payload, _ := json.Marshal(apimap.EventPayload{SnapshotTakenAt: t0, Endpoint: ep})
	if _, err := ms.AddMapSnapshot(context.Background(), state.MapSnapshot{TakenAt: t0, Window: time.Hour},
		[]state.Event{{Kind: apimap.EventNewShadowEndpoint, CreatedAt: t0, Payload: payload}}); err != nil {
		t.Fatal(err)
	}
	var rule Rule
	for _, r := range Builtin() {
		if r.ID == "new_shadow_endpoint" {
			rule = r
		}
	}
	synctest.Test(t, func(t *testing.T) {
		s := &sink{}
		runEngine(t, Options{Querier: traces, MapStore: ms, RuleStore: ms, Sink: s}, []Rule{rule}, 5*time.Minute)
		got := s.alerts("new_shadow_endpoint")
		if len(got) < 4 || got[0].Labels[LabelEndpoint] != "GET /v1/ops/dump" || got[0].Labels[LabelService] != "vault" || got[0].State != StateFiring {
			t.Fatalf("alerts = %+v, want the new shadow endpoint firing (kept by keep_firing_for)", got)
		}
		if want := "New undocumented endpoint GET /v1/ops/dump on vault (12 requests, risk 80)"; got[0].Annotations["summary"] != want {
			t.Errorf("summary = %q, want %q", got[0].Annotations["summary"], want)
		}
		evs, _ := ms.Events(context.Background(), state.EventFilter{Unconsumed: true})
		if len(evs) != 0 {
			t.Errorf("unconsumed events after evaluation = %d, want 0", len(evs))
		}
	})
}

// gathered reads a counter of one rule from reg.
func gathered(t *testing.T, reg *prometheus.Registry, name, ruleID string) float64 {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
		for _, m := range mf.GetMetric() {
			for _, l := range m.GetLabel() {
				if l.GetName() == "rule_id" && l.GetValue() == ruleID {
					return m.GetCounter().GetValue()
				}
			}
		}
	}
	t.Fatalf("metric %s{rule_id=%q} not registered", name, ruleID)
	return 0
}

// The engine evaluates a rule that looks back hours at a 1-minute
// interval from a copy of the rows it reads, and drops the copy with the
// rule.
func TestEngineReadsLongWindowsFromCopies(t *testing.T) {
	traces := openTraces(t)
	requests(t, traces, t0.Add(-2*time.Hour), 50, time.Minute, "198.51.100.4", "/v1/admin/users")
	requests(t, traces, t0.Add(3*time.Minute), 5, 30*time.Second, "203.0.113.7", "/v1/admin/users")
	synctest.Test(t, func(t *testing.T) {
		s := &sink{}
		r := mustRule(t, `rules:
  - id: admin_callers
    interval: 1m
    severity: high
    sql: |
      SELECT peer_ip, count() AS n FROM traces
      WHERE span_kind = 'Server' AND http_path LIKE '/v1/admin/%'
        AND timestamp > now() - INTERVAL 4 HOUR AND timestamp <= now()
      GROUP BY peer_ip HAVING count() >= 3 AND countIf(timestamp <= now() - INTERVAL 1 HOUR) = 0
`)
		runEngine(t, Options{Querier: traces, Sink: s, QueryOffset: -1}, []Rule{r}, 10*time.Minute, func(e *Engine) {
			if held := e.reads.held(); held < 50 {
				t.Errorf("the copy holds %d rows, want the admin requests of the last 4 hours", held)
			}
			if err := e.SetRules(nil); err != nil {
				t.Fatal(err)
			}
			if e.reads.held() != 0 {
				t.Errorf("%d rows still copied after the rule went", e.reads.held())
			}
		})
		var fired []string
		for _, a := range s.alerts("admin_callers") {
			if a.State == StateFiring {
				fired = append(fired, a.Labels["peer_ip"])
			}
		}
		if len(fired) == 0 || slices.ContainsFunc(fired, func(ip string) bool { return ip != "203.0.113.7" }) {
			t.Errorf("fired for %v, want the new caller 203.0.113.7 only", fired)
		}
	})
}
