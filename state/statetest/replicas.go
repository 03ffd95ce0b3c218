package statetest

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tracehound/tracehound/state"
)

// replicaWorkers is how many goroutines write at once, spread over two
// stores open on the same data.
const replicaWorkers = 8

// RunReplicas runs the tests of what several replicas writing at once
// must not lose: each test opens two stores on the same, new data (with
// an Opener from newOpener) and has goroutines on both contend for the
// same records through the promises of state.Store (an event consumed
// once, an alert counted once per delivery, a conflicting IP change
// refused...).
func RunReplicas(t *testing.T, newOpener func(t *testing.T) Opener) {
	tests := []struct {
		name string
		fn   func(t *testing.T, replica func(worker int) state.Store)
	}{
		{"ConsumeEventOnce", testReplicasConsumeEvent},
		{"RecordAlertSameFingerprint", testReplicasRecordAlert},
		{"RecordAlertOneIncident", testReplicasIncident},
		{"TriageUpdatesNoLostEvents", testReplicasTriageUpdates},
		{"CreateOnce", testReplicasCreateOnce},
		{"IPChangesNoLostUpdates", testReplicasIPChanges},
		{"IPStatsKeepExtremes", testReplicasIPStats},
		{"SyncDecisionsOnce", testReplicasSyncDecisions},
		{"SaveRuleStateWhole", testReplicasRuleState},
		{"SnapshotEndpointNewOnce", testReplicasSnapshots},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			open := newOpener(t)
			a, b := open(t), open(t)
			defer a.Close()
			defer b.Close()
			tc.fn(t, func(worker int) state.Store {
				if worker%2 == 0 {
					return a
				}
				return b
			})
		})
	}
}

// concurrently runs fn for every worker at once and waits for them.
func concurrently(fn func(worker int)) {
	var wg sync.WaitGroup
	start := make(chan struct{})
	for w := range replicaWorkers {
		wg.Go(func() {
			<-start
			fn(w)
		})
	}
	close(start)
	wg.Wait()
}

func testReplicasConsumeEvent(t *testing.T, replica func(int) state.Store) {
	ctx := context.Background()
	var events []state.Event
	for i := range 20 {
		events = append(events, state.Event{Kind: "k", CreatedAt: base, Payload: fmt.Appendf(nil, `{"n":%d}`, i)})
	}
	if _, err := replica(0).AddMapSnapshot(ctx, state.MapSnapshot{TakenAt: base}, events); err != nil {
		t.Fatal(err)
	}
	all, err := replica(1).Events(ctx, state.EventFilter{})
	if err != nil || len(all) != len(events) {
		t.Fatalf("Events() = %d, %v; want %d", len(all), err, len(events))
	}
	var consumed atomic.Int64
	concurrently(func(w int) {
		for _, ev := range all {
			ok, err := replica(w).ConsumeEvent(ctx, ev.ID, base.Add(time.Duration(w)*time.Second))
			if err != nil {
				t.Errorf("ConsumeEvent(%d) = %v", ev.ID, err)
			}
			if ok {
				consumed.Add(1)
			}
		}
	})
	if n := consumed.Load(); n != int64(len(events)) {
		t.Errorf("ConsumeEvent reported %d consumptions of %d events, want each consumed exactly once", n, len(events))
	}
}

func testReplicasRecordAlert(t *testing.T, replica func(int) state.Store) {
	ctx := context.Background()
	const deliveries = 10
	var created atomic.Int64
	concurrently(func(w int) {
		for i := range deliveries {
			r := rec("a1", "firing", base, "10.0.0.1", "", "", "high")
			r.At = base.Add(time.Duration(w*deliveries+i) * time.Second)
			res, err := replica(w).RecordAlert(ctx, r, state.IncidentLink{})
			if err != nil {
				t.Errorf("RecordAlert = %v", err)
				continue
			}
			if res.Created {
				created.Add(1)
			}
		}
	})
	ns, err := replica(0).Notifications(ctx, state.NotificationFilter{})
	if err != nil {
		t.Fatal(err)
	}
	if len(ns) != 1 || ns[0].Count != replicaWorkers*deliveries || created.Load() != 1 {
		t.Errorf("after %d concurrent deliveries: %d notifications (first %+v), %d created; want one notification counting all, created once",
			replicaWorkers*deliveries, len(ns), ns, created.Load())
	}
	if len(ns) == 1 && !ns[0].LastSeen.Equal(base.Add(time.Duration(replicaWorkers*deliveries-1)*time.Second)) {
		t.Errorf("LastSeen = %v, want the latest delivery", ns[0].LastSeen)
	}
}

func testReplicasIncident(t *testing.T, replica func(int) state.Store) {
	ctx := context.Background()
	link := state.IncidentLink{Window: time.Hour, Title: "campaign"}
	concurrently(func(w int) {
		r := rec(fmt.Sprintf("%c%d", 'a'+w, w), "firing", base.Add(time.Duration(w)*time.Second), "203.0.113.9", "", "", "medium")
		if _, err := replica(w).RecordAlert(ctx, r, link); err != nil {
			t.Errorf("RecordAlert = %v", err)
		}
	})
	incs, err := replica(1).Incidents(ctx, state.IncidentFilter{})
	if err != nil {
		t.Fatal(err)
	}
	if len(incs) != 1 || incs[0].NotificationCount != replicaWorkers {
		t.Errorf("Incidents() = %+v; want one incident holding the %d notifications that share an IP", incs, replicaWorkers)
	}
}

func testReplicasTriageUpdates(t *testing.T, replica func(int) state.Store) {
	ctx := context.Background()
	n := mustRecord(t, replica(0), rec("a1", "firing", base, "10.0.0.1", "", "", "high"), state.IncidentLink{}).Notification
	const updates = 5
	statuses := []string{state.TriageInvestigating, state.TriageOpen, state.TriageResolved}
	concurrently(func(w int) {
		for i := range updates {
			u := state.TriageUpdate{Actor: fmt.Sprint("w", w), At: base.Add(time.Minute), Status: statuses[(w+i)%len(statuses)],
				Note: fmt.Sprintf("w%d-%d", w, i)}
			if _, err := replica(w).UpdateNotifications(ctx, []int64{n.ID}, u); err != nil {
				t.Errorf("UpdateNotifications = %v", err)
			}
		}
	})
	evs, err := replica(1).TriageEvents(ctx, state.TriageEventFilter{NotificationID: n.ID})
	if err != nil {
		t.Fatal(err)
	}
	notes, last := 0, state.TriageOpen
	for _, ev := range evs {
		switch ev.Kind {
		case state.EventNote:
			notes++
		case state.EventStatus:
			if ev.Before != last {
				t.Errorf("status event %d goes %s → %s, but the status was %s: an update was computed from a stale read", ev.ID, ev.Before, ev.After, last)
			}
			last = ev.After
		}
	}
	if notes != replicaWorkers*updates {
		t.Errorf("%d note events, want %d (one per update)", notes, replicaWorkers*updates)
	}
	if got, err := replica(0).Notification(ctx, n.ID); err != nil || got.Status != last {
		t.Errorf("Notification status = %q, %v; want %q, the last status event's", got.Status, err, last)
	}
}

func testReplicasCreateOnce(t *testing.T, replica func(int) state.Store) {
	ctx := context.Background()
	var users, tokens, bouncers atomic.Int64
	concurrently(func(w int) {
		switch err := replica(w).CreateUser(ctx, state.User{Name: "alice", PasswordHash: "h", Role: "admin", CreatedAt: base, UpdatedAt: base}); {
		case err == nil:
			users.Add(1)
		case !errors.Is(err, state.ErrExists):
			t.Errorf("CreateUser(alice) = %v, want nil or ErrExists", err)
		}
		switch err := replica(w).CreateToken(ctx, state.Token{ID: "tok", Name: "t", Hash: fmt.Sprint("hash", w), Role: "viewer", CreatedAt: base}); {
		case err == nil:
			tokens.Add(1)
		case !errors.Is(err, state.ErrExists):
			t.Errorf("CreateToken(tok) = %v, want nil or ErrExists", err)
		}
		switch _, err := replica(w).AddBouncer(ctx, state.Bouncer{Name: "fw", KeyHash: fmt.Sprint("key", w), CreatedAt: base}); {
		case err == nil:
			bouncers.Add(1)
		case !errors.Is(err, state.ErrBouncerExists):
			t.Errorf("AddBouncer(fw) = %v, want nil or ErrBouncerExists", err)
		}
	})
	if users.Load() != 1 || tokens.Load() != 1 || bouncers.Load() != 1 {
		t.Errorf("concurrent creations of one name succeeded %d (user), %d (token), %d (bouncer) times; want once each",
			users.Load(), tokens.Load(), bouncers.Load())
	}
}

func testReplicasIPChanges(t *testing.T, replica func(int) state.Store) {
	ctx := context.Background()
	const value = "192.0.2.1"
	if _, err := replica(0).ApplyIPChange(ctx, state.IPChange{At: base, Actor: "seed", Action: state.IPActionSet,
		Items: []state.IPChangeItem{{Value: value, After: &state.IPState{Status: state.IPMonitoring, Source: "manual"}}}}); err != nil {
		t.Fatal(err)
	}
	// Every worker raises the severity by one, several times, re-reading
	// and retrying when its change conflicts: no increment may be lost.
	const increments = 5
	var conflicts atomic.Int64
	concurrently(func(w int) {
		s := replica(w)
		for range increments {
			for attempt := 0; ; attempt++ {
				if attempt == 1000 {
					t.Errorf("worker %d: no change went through in 1000 attempts", w)
					return
				}
				r, err := s.IP(ctx, value)
				if err != nil {
					t.Errorf("IP = %v", err)
					return
				}
				before, after := r.IPState, r.IPState
				after.Severity++
				_, err = s.ApplyIPChange(ctx, state.IPChange{At: base, Actor: fmt.Sprint("w", w), Action: state.IPActionSet,
					Items: []state.IPChangeItem{{Value: value, Before: &before, After: &after}}})
				if errors.Is(err, state.ErrIPChangeConflict) {
					conflicts.Add(1)
					continue
				}
				if err != nil {
					t.Errorf("ApplyIPChange = %v", err)
					return
				}
				break
			}
		}
	})
	r, err := replica(1).IP(ctx, value)
	if err != nil || r.Severity != replicaWorkers*increments {
		t.Errorf("severity after %d increments = %d, %v (with %d conflicts retried); want %d",
			replicaWorkers*increments, r.Severity, err, conflicts.Load(), replicaWorkers*increments)
	}
	hist, err := replica(0).IPChanges(ctx, state.IPChangeFilter{Value: value})
	if err != nil || len(hist) != 1+replicaWorkers*increments {
		t.Errorf("IPChanges(value) = %d, %v; want the seed and one change per increment (%d)", len(hist), err, 1+replicaWorkers*increments)
	}
}

func testReplicasIPStats(t *testing.T, replica func(int) state.Store) {
	ctx := context.Background()
	const value = "192.0.2.1"
	if _, err := replica(0).ApplyIPChange(ctx, state.IPChange{At: base, Actor: "seed", Action: state.IPActionSet,
		Items: []state.IPChangeItem{{Value: value, After: &state.IPState{Status: state.IPMonitoring}}}}); err != nil {
		t.Fatal(err)
	}
	concurrently(func(w int) {
		for i := range 5 {
			d := time.Duration(w*5+i) * time.Minute
			if _, err := replica(w).UpdateIPStats(ctx, []state.IPStats{{Value: value, FirstSeen: base.Add(time.Hour - d),
				LastSeen: base.Add(time.Hour + d), RequestCount: 1}}); err != nil {
				t.Errorf("UpdateIPStats = %v", err)
			}
		}
	})
	last := time.Duration(replicaWorkers*5-1) * time.Minute
	r, err := replica(1).IP(ctx, value)
	if err != nil || !r.FirstSeen.Equal(base.Add(time.Hour-last)) || !r.LastSeen.Equal(base.Add(time.Hour+last)) {
		t.Errorf("IP seen %v to %v, %v; want the earliest %v and the latest %v of all updates",
			r.FirstSeen, r.LastSeen, err, base.Add(time.Hour-last), base.Add(time.Hour+last))
	}
}

func testReplicasSyncDecisions(t *testing.T, replica func(int) state.Store) {
	ctx := context.Background()
	want := []state.Decision{
		{Value: "203.0.113.7", Scenario: "exfil", Until: base.Add(time.Hour)},
		{Value: "198.51.100.0/24", Scenario: "scan"},
		{Value: "2001:db8::/48", Scenario: "v6"},
	}
	var created atomic.Int64
	concurrently(func(w int) {
		c, _, err := replica(w).SyncDecisions(ctx, want, base.Add(time.Minute))
		if err != nil {
			t.Errorf("SyncDecisions = %v", err)
		}
		created.Add(int64(c))
	})
	active, err := replica(0).ActiveDecisions(ctx, base.Add(time.Minute), "")
	if err != nil || len(active) != len(want) || created.Load() != int64(len(want)) {
		t.Errorf("after concurrent syncs: %d active decisions, %d created, %v; want %d of each", len(active), created.Load(), err, len(want))
	}
}

func testReplicasRuleState(t *testing.T, replica func(int) state.Store) {
	ctx := context.Background()
	concurrently(func(w int) {
		st := state.RuleState{RuleID: "r", LastEval: base.Add(time.Duration(w) * time.Second)}
		for i := range 5 {
			st.Instances = append(st.Instances, state.RuleInstance{Fingerprint: fmt.Sprintf("w%d-%d", w, i), State: "firing", Data: []byte("{}")})
		}
		for range 5 {
			if err := replica(w).SaveRuleState(ctx, st); err != nil {
				t.Errorf("SaveRuleState = %v", err)
			}
		}
	})
	st, err := replica(1).RuleState(ctx, "r")
	if err != nil || len(st.Instances) != 5 {
		t.Fatalf("RuleState(r) = %+v, %v; want the 5 instances of one save", st, err)
	}
	w := int(st.LastEval.Sub(base) / time.Second)
	for i, in := range st.Instances {
		if want := fmt.Sprintf("w%d-%d", w, i); in.Fingerprint != want {
			t.Errorf("RuleState(r) instance %d = %s with the last evaluation of worker %d, want %s: two saves mixed", i, in.Fingerprint, w, want)
		}
	}
}

func testReplicasSnapshots(t *testing.T, replica func(int) state.Store) {
	ctx := context.Background()
	var ids sync.Map
	concurrently(func(w int) {
		snap := state.MapSnapshot{TakenAt: base.Add(time.Duration(w) * time.Minute), Window: time.Hour}
		for i := range 5 {
			snap.Endpoints = append(snap.Endpoints, state.SnapshotEndpoint{EndpointID: fmt.Sprint("e", i), Service: "api", Method: "GET",
				Template: fmt.Sprint("/e", i), Hits: 1, FirstSeen: base, LastSeen: base, Data: []byte("{}")})
		}
		id, err := replica(w).AddMapSnapshot(ctx, snap, nil)
		if err != nil {
			t.Errorf("AddMapSnapshot = %v", err)
			return
		}
		if _, dup := ids.LoadOrStore(id, w); dup {
			t.Errorf("snapshot id %d returned twice", id)
		}
	})
	snaps, err := replica(0).MapSnapshots(ctx, 0)
	if err != nil {
		t.Fatal(err)
	}
	newTotal := 0
	var got []int64
	for _, sn := range snaps {
		newTotal += sn.NewEndpoints
		got = append(got, sn.ID)
	}
	if len(snaps) != replicaWorkers || newTotal != 5 {
		t.Errorf("%d snapshots counting %d new endpoints in all; want %d snapshots and each of the 5 endpoints new once", len(snaps), newTotal, replicaWorkers)
	}
	if !slices.IsSortedFunc(got, func(a, b int64) int { return int(b - a) }) {
		t.Errorf("MapSnapshots ids %v, want newest first", got)
	}
}
