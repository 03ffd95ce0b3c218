package statetest

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/tracehound/tracehound/state"
)

// RunTriageStore runs the state.TriageStore suite against stores made by
// newStore; the factory arranges for the store to be closed (t.Cleanup).
func RunTriageStore(t *testing.T, newStore func(t *testing.T) state.TriageStore) {
	tests := []struct {
		name string
		fn   func(*testing.T, state.TriageStore)
	}{
		{"Episodes", testTriageEpisodes},
		{"Updates", testTriageUpdates},
		{"FiltersAndPaging", testTriageFilters},
		{"Incidents", testTriageIncidents},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) { tc.fn(t, newStore(t)) })
	}
}

// RunNotifyLogStore runs the state.NotifyLogStore suite against stores
// made by newStore; the factory arranges for the store to be closed.
func RunNotifyLogStore(t *testing.T, newStore func(t *testing.T) state.NotifyLogStore) {
	s := newStore(t)
	ctx := context.Background()
	if _, err := s.NotifyLogEntry(ctx, "slack", "{}:{}"); !errors.Is(err, state.ErrNotFound) {
		t.Errorf("NotifyLogEntry on an empty store = %v, want ErrNotFound", err)
	}
	e := state.NotifyLogEntry{Receiver: "slack", GroupKey: `{}:{alertname="bola"}`, Firing: []string{"b", "a"},
		Resolved: []string{}, SentAt: base, ExpiresAt: base.Add(time.Hour)}
	if err := s.PutNotifyLogEntry(ctx, e); err != nil {
		t.Fatalf("PutNotifyLogEntry = %v", err)
	}
	other := state.NotifyLogEntry{Receiver: "webhook", GroupKey: e.GroupKey, Firing: []string{"c"}, SentAt: base,
		ExpiresAt: base.Add(10 * time.Hour)}
	if err := s.PutNotifyLogEntry(ctx, other); err != nil {
		t.Fatalf("PutNotifyLogEntry = %v", err)
	}
	got, err := s.NotifyLogEntry(ctx, "slack", e.GroupKey)
	if err != nil || !slices.Equal(got.Firing, []string{"a", "b"}) || len(got.Resolved) != 0 ||
		!got.SentAt.Equal(base) || !got.ExpiresAt.Equal(e.ExpiresAt) {
		t.Errorf("NotifyLogEntry = %+v, %v; want %+v with sorted firing", got, err, e)
	}
	e.Firing, e.Resolved, e.SentAt = []string{"b"}, []string{"a"}, base.Add(time.Minute)
	if err := s.PutNotifyLogEntry(ctx, e); err != nil {
		t.Fatalf("PutNotifyLogEntry(replace) = %v", err)
	}
	got, err = s.NotifyLogEntry(ctx, "slack", e.GroupKey)
	if err != nil || !slices.Equal(got.Firing, []string{"b"}) || !slices.Equal(got.Resolved, []string{"a"}) || !got.SentAt.Equal(e.SentAt) {
		t.Errorf("NotifyLogEntry after replace = %+v, %v; want %+v", got, err, e)
	}
	n, err := s.DeleteNotifyLogEntries(ctx, base.Add(2*time.Hour))
	if err != nil || n != 1 {
		t.Errorf("DeleteNotifyLogEntries = %d, %v; want 1 (the slack entry)", n, err)
	}
	if _, err := s.NotifyLogEntry(ctx, "slack", e.GroupKey); !errors.Is(err, state.ErrNotFound) {
		t.Errorf("NotifyLogEntry after expiry = %v, want ErrNotFound", err)
	}
	if _, err := s.NotifyLogEntry(ctx, "webhook", e.GroupKey); err != nil {
		t.Errorf("NotifyLogEntry(webhook) = %v, want the unexpired entry", err)
	}
}

var severityRank = map[string]int{"info": 0, "low": 1, "medium": 2, "high": 3, "critical": 4}

// rec builds an alert record; the labels hold the keys as the engine sets them.
func rec(fp, st string, at time.Time, ip, key, endpoint, severity string) state.AlertRecord {
	labels := map[string]string{"alertname": "rule-" + fp[:1], "severity": severity}
	for k, v := range map[string]string{"peer_ip": ip, "api_key_id": key, "endpoint": endpoint} {
		if v != "" {
			labels[k] = v
		}
	}
	r := stateRecord(fp, st, at, severity)
	r.Labels, r.IP, r.APIKey, r.Endpoint = labels, ip, key, endpoint
	return r
}

func stateRecord(fp, st string, at time.Time, severity string) state.AlertRecord {
	return state.AlertRecord{Fingerprint: fp, RuleID: "rule-" + fp[:1], RuleName: "Rule " + fp[:1], Severity: severity,
		SeverityRank: severityRank[severity], Mode: "active", State: st, StartsAt: at, At: at,
		Annotations: map[string]string{"summary": "about " + fp}}
}

func mustRecord(t *testing.T, s state.TriageStore, r state.AlertRecord, link state.IncidentLink) state.RecordResult {
	t.Helper()
	res, err := s.RecordAlert(context.Background(), r, link)
	if err != nil {
		t.Fatalf("RecordAlert(%s %s) = %v", r.Fingerprint, r.State, err)
	}
	return res
}

func eventKinds(t *testing.T, s state.TriageStore, f state.TriageEventFilter) []string {
	t.Helper()
	evs, err := s.TriageEvents(context.Background(), f)
	if err != nil {
		t.Fatalf("TriageEvents(%+v) = %v", f, err)
	}
	var kinds []string
	for i, ev := range evs {
		if i > 0 && ev.At.Before(evs[i-1].At) {
			t.Errorf("TriageEvents(%+v) out of time order at %d", f, i)
		}
		kinds = append(kinds, ev.Kind)
	}
	return kinds
}

func testTriageEpisodes(t *testing.T, s state.TriageStore) {
	ctx := context.Background()
	if _, err := s.Notification(ctx, 1); !errors.Is(err, state.ErrNotFound) {
		t.Errorf("Notification(1) on an empty store = %v, want ErrNotFound", err)
	}
	if ns, err := s.Notifications(ctx, state.NotificationFilter{}); err != nil || ns == nil || len(ns) != 0 {
		t.Errorf("Notifications on an empty store = %v, %v; want empty, non-nil", ns, err)
	}
	first := mustRecord(t, s, rec("a1", "firing", base, "10.0.0.1", "k1", "GET /admin/export", "high"), state.IncidentLink{})
	if !first.Created || first.Notification.ID == 0 || first.Notification.Status != state.TriageOpen ||
		first.Notification.AlertState != "firing" || first.Notification.Count != 1 {
		t.Fatalf("first firing = %+v, want a new open firing notification", first)
	}
	n := first.Notification
	if n.IP != "10.0.0.1" || n.APIKey != "k1" || n.Endpoint != "GET /admin/export" || n.Labels["peer_ip"] != "10.0.0.1" ||
		n.Annotations["summary"] != "about a1" || !n.StartsAt.Equal(base) || !n.FirstSeen.Equal(base) {
		t.Errorf("first firing stored %+v, want the record's fields", n)
	}
	again := rec("a1", "firing", base, "10.0.0.1", "k1", "GET /admin/export", "critical")
	again.At = base.Add(time.Minute)
	res := mustRecord(t, s, again, state.IncidentLink{})
	if res.Created || res.Notification.ID != n.ID || res.Notification.Count != 2 ||
		!res.Notification.LastSeen.Equal(again.At) || res.Notification.Severity != "critical" {
		t.Errorf("re-send = %+v, want the same notification with count 2, last_seen %v, severity critical", res, again.At)
	}
	resolved := rec("a1", "resolved", base, "10.0.0.1", "k1", "GET /admin/export", "critical")
	resolved.At, resolved.EndsAt = base.Add(2*time.Minute), base.Add(2*time.Minute)
	res = mustRecord(t, s, resolved, state.IncidentLink{})
	if !res.Resolved || res.Notification.ID != n.ID || res.Notification.AlertState != "resolved" ||
		!res.Notification.AlertEndsAt.Equal(resolved.EndsAt) || res.Notification.Status != state.TriageOpen {
		t.Errorf("resolve = %+v, want alert resolved and triage status still open", res)
	}
	if res := mustRecord(t, s, resolved, state.IncidentLink{}); res.Resolved || res.Notification.ID != 0 {
		t.Errorf("second resolve = %+v, want a no-op", res)
	}
	refire := rec("a1", "firing", base.Add(time.Hour), "10.0.0.1", "k1", "GET /admin/export", "high")
	res = mustRecord(t, s, refire, state.IncidentLink{})
	if !res.Created || res.Notification.ID == n.ID || res.Notification.Count != 1 {
		t.Errorf("firing after resolve = %+v, want a new notification", res)
	}
	if got := eventKinds(t, s, state.TriageEventFilter{NotificationID: n.ID}); !slices.Equal(got, []string{state.EventOpened, state.EventAlertResolved}) {
		t.Errorf("audit trail of the first episode = %v, want opened, alert_resolved", got)
	}
	if _, err := s.RecordAlert(ctx, stateRecord("z1", "pending", base, "low"), state.IncidentLink{}); err == nil {
		t.Errorf("RecordAlert(state pending) succeeded, want an error")
	}
}

func testTriageUpdates(t *testing.T, s state.TriageStore) {
	ctx := context.Background()
	a := mustRecord(t, s, rec("a1", "firing", base, "10.0.0.1", "", "", "high"), state.IncidentLink{}).Notification
	b := mustRecord(t, s, rec("b1", "firing", base, "10.0.0.2", "", "", "low"), state.IncidentLink{}).Notification
	at := base.Add(time.Hour)

	got, err := s.UpdateNotifications(ctx, []int64{a.ID}, state.TriageUpdate{Actor: "ana", At: at, Status: state.TriageInvestigating})
	if err != nil || len(got) != 1 || got[0].Status != state.TriageInvestigating || !got[0].UpdatedAt.Equal(at) {
		t.Fatalf("UpdateNotifications(investigating) = %+v, %v", got, err)
	}
	if _, err := s.UpdateNotifications(ctx, []int64{a.ID}, state.TriageUpdate{Actor: "ana", At: at, Status: state.TriageFalsePositive}); err == nil {
		t.Errorf("false_positive without a reason succeeded, want an error")
	}
	if _, err := s.UpdateNotifications(ctx, []int64{a.ID}, state.TriageUpdate{Actor: "ana", At: at, Status: "closed"}); err == nil {
		t.Errorf("unknown status succeeded, want an error")
	}
	// A missing id fails the whole bulk update.
	if _, err := s.UpdateNotifications(ctx, []int64{b.ID, 999999}, state.TriageUpdate{Actor: "ana", At: at, Status: state.TriageResolved}); !errors.Is(err, state.ErrNotFound) {
		t.Errorf("bulk update with a missing id = %v, want ErrNotFound", err)
	}
	if n, _ := s.Notification(ctx, b.ID); n.Status != state.TriageOpen {
		t.Errorf("after the failed bulk update b is %q, want open (nothing applied)", n.Status)
	}
	ana := "ana"
	got, err = s.UpdateNotifications(ctx, []int64{a.ID, b.ID}, state.TriageUpdate{Actor: "bob", At: at.Add(time.Minute),
		Status: state.TriageFalsePositive, Reason: "partner crawler", Assignee: &ana, Note: "checked the key owner"})
	if err != nil || len(got) != 2 || got[0].ID != a.ID || got[1].ID != b.ID {
		t.Fatalf("bulk UpdateNotifications = %+v, %v", got, err)
	}
	for _, n := range got {
		if n.Status != state.TriageFalsePositive || n.Reason != "partner crawler" || n.Assignee != "ana" {
			t.Errorf("after bulk update %d = %+v, want false_positive, reason, assignee ana", n.ID, n)
		}
	}
	// Same values again: nothing changes, nothing is recorded.
	before := eventKinds(t, s, state.TriageEventFilter{NotificationID: a.ID})
	if _, err := s.UpdateNotifications(ctx, []int64{a.ID}, state.TriageUpdate{Actor: "bob", At: at.Add(2 * time.Minute),
		Status: state.TriageFalsePositive, Reason: "partner crawler", Assignee: &ana}); err != nil {
		t.Fatal(err)
	}
	if after := eventKinds(t, s, state.TriageEventFilter{NotificationID: a.ID}); !slices.Equal(before, after) {
		t.Errorf("a no-op update recorded events: %v then %v", before, after)
	}
	// Reopen.
	got, err = s.UpdateNotifications(ctx, []int64{a.ID}, state.TriageUpdate{Actor: "carol", At: at.Add(3 * time.Minute), Status: state.TriageOpen})
	if err != nil || got[0].Status != state.TriageOpen || got[0].Reason != "" {
		t.Errorf("reopen = %+v, %v; want open with no reason", got, err)
	}
	evs, err := s.TriageEvents(ctx, state.TriageEventFilter{NotificationID: a.ID})
	if err != nil {
		t.Fatal(err)
	}
	type change struct{ kind, actor, before, after, note string }
	var changes []change
	for _, ev := range evs {
		changes = append(changes, change{ev.Kind, ev.Actor, ev.Before, ev.After, ev.Note})
	}
	want := []change{
		{state.EventOpened, "tracehound", "", state.TriageOpen, ""},
		{state.EventStatus, "ana", state.TriageOpen, state.TriageInvestigating, ""},
		{state.EventStatus, "bob", state.TriageInvestigating, state.TriageFalsePositive, "partner crawler"},
		{state.EventAssignee, "bob", "", "ana", ""},
		{state.EventNote, "bob", "", "", "checked the key owner"},
		{state.EventStatus, "carol", state.TriageFalsePositive, state.TriageOpen, ""},
	}
	if !slices.Equal(changes, want) {
		t.Errorf("audit trail = %+v\nwant %+v", changes, want)
	}
	if _, err := s.TriageEvents(ctx, state.TriageEventFilter{}); err == nil {
		t.Errorf("TriageEvents with no id succeeded, want an error")
	}
}

func testTriageFilters(t *testing.T, s state.TriageStore) {
	ctx := context.Background()
	severities := []string{"info", "low", "medium", "high", "critical"}
	var all []state.Notification
	for i := range 60 {
		r := rec(fmt.Sprintf("%c%d", 'a'+i%3, i), "firing", base.Add(time.Duration(i)*time.Minute),
			fmt.Sprintf("10.0.0.%d", i%7), fmt.Sprintf("k%d", i%4), fmt.Sprintf("GET /e%d", i%5), severities[i%5])
		if i%10 == 9 {
			r.Mode = "shadow"
		}
		n := mustRecord(t, s, r, state.IncidentLink{}).Notification
		if i%6 == 0 {
			ns, err := s.UpdateNotifications(ctx, []int64{n.ID}, state.TriageUpdate{Actor: "ana", At: r.At, Status: state.TriageInvestigating})
			if err != nil {
				t.Fatal(err)
			}
			n = ns[0]
		}
		all = append(all, n)
	}
	slices.Reverse(all) // newest first
	match := func(f state.NotificationFilter, n state.Notification) bool {
		switch f.Mode {
		case "", "active":
			if n.Mode != "active" {
				return false
			}
		case "any":
		default:
			if n.Mode != f.Mode {
				return false
			}
		}
		return (len(f.Statuses) == 0 || slices.Contains(f.Statuses, n.Status)) &&
			(len(f.Severities) == 0 || slices.Contains(f.Severities, n.Severity)) &&
			(f.RuleID == "" || n.RuleID == f.RuleID) && (f.IP == "" || n.IP == f.IP) &&
			(f.APIKey == "" || n.APIKey == f.APIKey) && (f.Endpoint == "" || n.Endpoint == f.Endpoint) &&
			(f.Since.IsZero() || !n.FirstSeen.Before(f.Since)) && (f.Until.IsZero() || n.FirstSeen.Before(f.Until))
	}
	filters := []struct {
		name string
		f    state.NotificationFilter
	}{
		{"default hides shadow", state.NotificationFilter{}},
		{"shadow", state.NotificationFilter{Mode: "shadow"}},
		{"any mode", state.NotificationFilter{Mode: "any"}},
		{"status", state.NotificationFilter{Statuses: []string{state.TriageInvestigating}}},
		{"severities", state.NotificationFilter{Severities: []string{"high", "critical"}}},
		{"rule", state.NotificationFilter{RuleID: "rule-b"}},
		{"ip", state.NotificationFilter{IP: "10.0.0.3"}},
		{"key and endpoint", state.NotificationFilter{APIKey: "k1", Endpoint: "GET /e0", Mode: "any"}},
		{"time range", state.NotificationFilter{Since: base.Add(10 * time.Minute), Until: base.Add(20 * time.Minute)}},
	}
	for _, tc := range filters {
		t.Run(tc.name, func(t *testing.T) {
			var want []int64
			for _, n := range all {
				if match(tc.f, n) {
					want = append(want, n.ID)
				}
			}
			if len(want) == 0 {
				t.Fatalf("filter %+v matches nothing in the fixture; the test would prove nothing", tc.f)
			}
			// Page through three at a time.
			var got []int64
			f := tc.f
			f.Limit = 3
			for range 100 {
				page, err := s.Notifications(ctx, f)
				if err != nil {
					t.Fatalf("Notifications(%+v) = %v", f, err)
				}
				for _, n := range page {
					got = append(got, n.ID)
				}
				if len(page) < f.Limit {
					break
				}
				f.BeforeID = page[len(page)-1].ID
			}
			if !slices.Equal(got, want) {
				t.Errorf("Notifications(%+v) paged = %v, want %v", tc.f, got, want)
			}
			if n, err := s.CountNotifications(ctx, f); err != nil || n != len(want) {
				t.Errorf("CountNotifications(%+v) = %d, %v; want %d", tc.f, n, err, len(want))
			}
		})
	}
}

func testTriageIncidents(t *testing.T, s state.TriageStore) {
	ctx := context.Background()
	link := func(title string) state.IncidentLink { return state.IncidentLink{Window: time.Hour, Title: title} }
	at := func(m int) time.Time { return base.Add(time.Duration(m) * time.Minute) }
	a := mustRecord(t, s, rec("a1", "firing", at(0), "104.248.73.19", "trial", "", "medium"), link("A")).Notification
	b := mustRecord(t, s, rec("b1", "firing", at(5), "167.71.205.88", "other", "", "low"), link("B")).Notification
	if a.IncidentID == 0 || b.IncidentID == 0 || a.IncidentID == b.IncidentID {
		t.Fatalf("unrelated notifications got incidents %d and %d, want two distinct ones", a.IncidentID, b.IncidentID)
	}
	c := mustRecord(t, s, rec("c1", "firing", at(10), "178.128.44.156", "trial", "", "high"), link("C")).Notification
	if c.IncidentID != a.IncidentID {
		t.Errorf("notification sharing the API key joined incident %d, want %d", c.IncidentID, a.IncidentID)
	}
	// d shares the IP of b and the key of a: the incidents merge into the oldest.
	res := mustRecord(t, s, rec("d1", "firing", at(20), "167.71.205.88", "trial", "", "critical"), link("D"))
	if res.Notification.IncidentID != a.IncidentID || !slices.Equal(res.Merged, []int64{b.IncidentID}) {
		t.Errorf("linking notification: incident %d merged %v, want %d merged [%d]", res.Notification.IncidentID, res.Merged, a.IncidentID, b.IncidentID)
	}
	inc, err := s.Incident(ctx, a.IncidentID)
	if err != nil {
		t.Fatal(err)
	}
	if inc.Title != "A" || inc.Severity != "critical" || inc.NotificationCount != 4 || inc.Status != state.TriageOpen ||
		!slices.Equal(inc.IPs, []string{"104.248.73.19", "167.71.205.88", "178.128.44.156"}) ||
		!slices.Equal(inc.APIKeys, []string{"other", "trial"}) || !slices.Equal(inc.RuleIDs, []string{"rule-a", "rule-b", "rule-c", "rule-d"}) ||
		!inc.FirstSeen.Equal(at(0)) || !inc.LastSeen.Equal(at(20)) {
		t.Errorf("merged incident = %+v", inc)
	}
	if merged, err := s.Incident(ctx, b.IncidentID); err != nil || merged.MergedInto != a.IncidentID || merged.NotificationCount != 0 {
		t.Errorf("Incident(merged) = %+v, %v; want merged_into %d and no members", merged, err, a.IncidentID)
	}
	if got := eventKinds(t, s, state.TriageEventFilter{IncidentID: a.IncidentID}); len(got) != 11 ||
		got[0] != state.EventOpened || !slices.Contains(got, state.EventMerged) {
		// 2 incidents opened, 4 notifications opened and joined, 1 merge.
		t.Errorf("timeline = %v, want 11 events starting with opened and holding the merge", got)
	}

	// Outside the window: a new incident.
	e := mustRecord(t, s, rec("e1", "firing", at(200), "104.248.73.19", "", "", "low"), link("E")).Notification
	if e.IncidentID == a.IncidentID || e.IncidentID == 0 {
		t.Errorf("notification outside the window joined incident %d, want a new one", e.IncidentID)
	}
	// A resolved incident takes no new members.
	if _, err := s.UpdateIncident(ctx, e.IncidentID, state.TriageUpdate{Actor: "ana", At: at(201), Status: state.TriageFalsePositive}); err == nil {
		t.Errorf("UpdateIncident(false_positive, no reason) succeeded, want an error")
	}
	ana := "ana"
	upd, err := s.UpdateIncident(ctx, e.IncidentID, state.TriageUpdate{Actor: "ana", At: at(201), Status: state.TriageResolved,
		Reason: "blocked", Assignee: &ana, Note: "blocked at the edge", Title: "Probe from DO"})
	if err != nil || upd.Status != state.TriageResolved || upd.Reason != "blocked" || upd.Assignee != "ana" || upd.Title != "Probe from DO" {
		t.Errorf("UpdateIncident = %+v, %v", upd, err)
	}
	f := mustRecord(t, s, rec("f1", "firing", at(202), "104.248.73.19", "", "", "low"), link("F")).Notification
	if f.IncidentID == e.IncidentID || f.IncidentID == a.IncidentID {
		t.Errorf("notification after the incident was resolved joined %d, want a new incident", f.IncidentID)
	}
	// Shadow-mode notifications stay out of incidents.
	sh := rec("g1", "firing", at(203), "104.248.73.19", "", "", "high")
	sh.Mode = "shadow"
	if g := mustRecord(t, s, sh, link("G")).Notification; g.IncidentID != 0 {
		t.Errorf("shadow notification joined incident %d, want none", g.IncidentID)
	}

	list, err := s.Incidents(ctx, state.IncidentFilter{})
	if err != nil {
		t.Fatal(err)
	}
	var ids []int64
	for _, inc := range list {
		ids = append(ids, inc.ID)
	}
	if !slices.Equal(ids, []int64{f.IncidentID, e.IncidentID, a.IncidentID}) {
		t.Errorf("Incidents() = %v, want %v (newest first, merged left out)", ids, []int64{f.IncidentID, e.IncidentID, a.IncidentID})
	}
	open, err := s.Incidents(ctx, state.IncidentFilter{Statuses: []string{state.TriageOpen}, Limit: 1})
	if err != nil || len(open) != 1 || open[0].ID != f.IncidentID {
		t.Errorf("Incidents(open, limit 1) = %+v, %v; want incident %d", open, err, f.IncidentID)
	}
	members, err := s.Notifications(ctx, state.NotificationFilter{IncidentID: a.IncidentID})
	if err != nil || len(members) != 4 {
		t.Errorf("Notifications(incident %d) = %d, %v; want 4", a.IncidentID, len(members), err)
	}
	if _, err := s.Incident(ctx, 424242); !errors.Is(err, state.ErrNotFound) {
		t.Errorf("Incident(missing) = %v, want ErrNotFound", err)
	}
}
