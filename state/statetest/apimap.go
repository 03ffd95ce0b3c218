package statetest

import (
	"bytes"
	"context"
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/tracehound/tracehound/state"
)

// base is the fixed time the API map tests are placed around; its
// nanoseconds check that times keep their precision.
var base = time.Date(2026, 3, 2, 2, 17, 0, 123456789, time.UTC)

func runMapStore(t *testing.T, newStore Factory) {
	tests := []struct {
		name string
		fn   func(*testing.T, state.Store)
	}{
		{"APISpecs", testAPISpecs},
		{"MapPins", testMapPins},
		{"MapSnapshots", testMapSnapshots},
		{"EndpointReviews", testEndpointReviews},
		{"Events", testEvents},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := newStore(t)
			defer s.Close()
			tc.fn(t, s)
		})
	}
}

func testAPISpecs(t *testing.T, s state.Store) {
	ctx := context.Background()
	if _, err := s.APISpec(ctx, "billing"); !errors.Is(err, state.ErrNotFound) {
		t.Errorf("APISpec(billing) on an empty store = %v, want ErrNotFound", err)
	}
	if specs, err := s.APISpecs(ctx); err != nil || specs == nil || len(specs) != 0 {
		t.Errorf("APISpecs() on an empty store = %v, %v; want an empty, non-nil slice", specs, err)
	}
	put := []state.APISpec{
		{Service: "orders", Name: "orders.yaml", Raw: []byte("openapi: 3.0.3\n"), RegisteredAt: base},
		{Service: "billing", Name: "billing.json", Raw: []byte(`{"openapi":"3.1.0"}`), RegisteredAt: base.Add(time.Minute)},
		{Service: "orders", Name: "orders-v2.yaml", Raw: []byte("openapi: 3.1.0\n"), RegisteredAt: base.Add(time.Hour)},
	}
	for _, spec := range put {
		if err := s.PutAPISpec(ctx, spec); err != nil {
			t.Fatalf("PutAPISpec(%s) = %v", spec.Service, err)
		}
	}
	got, err := s.APISpec(ctx, "orders")
	if err != nil || !sameSpec(got, put[2]) {
		t.Errorf("APISpec(orders) = %+v, %v; want the replacement %+v", got, err, put[2])
	}
	specs, err := s.APISpecs(ctx)
	if err != nil {
		t.Fatalf("APISpecs() = %v", err)
	}
	if len(specs) != 2 || !sameSpec(specs[0], put[1]) || !sameSpec(specs[1], put[2]) {
		t.Errorf("APISpecs() = %+v, want billing then the replaced orders", specs)
	}
}

func sameSpec(a, b state.APISpec) bool {
	return a.Service == b.Service && a.Name == b.Name && bytes.Equal(a.Raw, b.Raw) && a.RegisteredAt.Equal(b.RegisteredAt)
}

func testMapPins(t *testing.T, s state.Store) {
	ctx := context.Background()
	if pins, err := s.MapPins(ctx); err != nil || pins == nil || len(pins) != 0 {
		t.Errorf("MapPins() on an empty store = %v, %v; want an empty, non-nil slice", pins, err)
	}
	if _, err := s.DeleteMapPin(ctx, 1); !errors.Is(err, state.ErrNotFound) {
		t.Errorf("DeleteMapPin(1) on an empty store = %v, want ErrNotFound", err)
	}
	add := []state.MapPin{
		{Service: "", Kind: state.MapPinTemplate, Path: "/files/{name}", Note: "one endpoint", CreatedBy: "user:ana", CreatedAt: base},
		{Service: "billing", Kind: state.MapPinLiteral, Path: "/reports/daily", CreatedBy: "local", CreatedAt: base.Add(time.Minute)},
		// The same path under another service, of another kind, or in
		// another case is another pin.
		{Service: "billing", Kind: state.MapPinTemplate, Path: "/files/{name}", CreatedBy: "local", CreatedAt: base.Add(2 * time.Minute)},
		{Service: "billing", Kind: state.MapPinTemplate, Path: "/reports/daily", CreatedBy: "local", CreatedAt: base.Add(3 * time.Minute)},
		{Service: "", Kind: state.MapPinTemplate, Path: "/Files/{name}", CreatedBy: "local", CreatedAt: base.Add(4 * time.Minute)},
	}
	var last int64
	for i := range add {
		add[i].ID = 99 // ignored
		id, err := s.AddMapPin(ctx, add[i])
		if err != nil {
			t.Fatalf("AddMapPin(%+v) = %v", add[i], err)
		}
		if id <= last {
			t.Errorf("AddMapPin(%s %s) = id %d after id %d, want ids that grow", add[i].Service, add[i].Path, id, last)
		}
		add[i].ID, last = id, id
	}
	dup := add[0]
	dup.Note, dup.CreatedAt = "again", base.Add(time.Hour)
	if _, err := s.AddMapPin(ctx, dup); !errors.Is(err, state.ErrExists) {
		t.Errorf("AddMapPin(a stored pin again) = %v, want ErrExists", err)
	}
	if _, err := s.AddMapPin(ctx, state.MapPin{Kind: "maybe", Path: "/x", CreatedAt: base}); err == nil || errors.Is(err, state.ErrExists) {
		t.Errorf("AddMapPin(kind maybe) = %v, want an error other than ErrExists", err)
	}
	pins, err := s.MapPins(ctx)
	if err != nil {
		t.Fatalf("MapPins() = %v", err)
	}
	if !slices.EqualFunc(pins, add, sameMapPin) {
		t.Errorf("MapPins() = %+v, want %+v in id order", pins, add)
	}

	got, err := s.DeleteMapPin(ctx, add[1].ID)
	if err != nil || !sameMapPin(got, add[1]) {
		t.Errorf("DeleteMapPin(%d) = %+v, %v; want the deleted pin %+v", add[1].ID, got, err, add[1])
	}
	if _, err := s.DeleteMapPin(ctx, add[1].ID); !errors.Is(err, state.ErrNotFound) {
		t.Errorf("DeleteMapPin(%d) twice = %v, want ErrNotFound", add[1].ID, err)
	}
	// A deleted pin can be added again, under a new id.
	id, err := s.AddMapPin(ctx, add[1])
	if err != nil || id <= last {
		t.Errorf("AddMapPin(the deleted pin) = %d, %v; want a new id above %d", id, err, last)
	}
	pins, err = s.MapPins(ctx)
	if err != nil || len(pins) != len(add) || pins[0].ID != add[0].ID || pins[len(pins)-1].ID != id || pins[len(pins)-1].Path != "/reports/daily" {
		t.Errorf("MapPins() after a delete and an add = %+v, %v; want the re-added pin last", pins, err)
	}
}

func sameMapPin(a, b state.MapPin) bool {
	return a.ID == b.ID && a.Service == b.Service && a.Kind == b.Kind && a.Path == b.Path && a.Note == b.Note &&
		a.CreatedBy == b.CreatedBy && a.CreatedAt.Equal(b.CreatedAt)
}

func testMapSnapshots(t *testing.T, s state.Store) {
	ctx := context.Background()
	if _, err := s.MapSnapshot(ctx, 0); !errors.Is(err, state.ErrNotFound) {
		t.Errorf("MapSnapshot(0) on an empty store = %v, want ErrNotFound", err)
	}
	if snaps, err := s.MapSnapshots(ctx, 0); err != nil || snaps == nil || len(snaps) != 0 {
		t.Errorf("MapSnapshots(0) on an empty store = %v, %v; want an empty, non-nil slice", snaps, err)
	}
	ep := func(id string, hits int64, first time.Time, shadow, sensitive bool) state.SnapshotEndpoint {
		e := state.SnapshotEndpoint{EndpointID: id, Service: "api", Method: "GET", Template: "/" + id, Hits: hits,
			Shadow: shadow, Sensitive: sensitive, RiskScore: int(hits % 100), Data: []byte(`{"id":"` + id + `"}`)}
		if hits > 0 {
			e.FirstSeen, e.LastSeen = first, first.Add(time.Hour)
		}
		return e
	}
	t1, t2 := base.Add(24*time.Hour), base.Add(25*time.Hour)
	first := state.MapSnapshot{TakenAt: t1, Window: 7 * 24 * time.Hour, Endpoints: []state.SnapshotEndpoint{
		ep("b", 20, base.Add(2*time.Hour), false, true),
		ep("a", 10, base.Add(3*time.Hour), true, false),
		ep("z", 0, time.Time{}, false, false), // a zombie: documented, no traffic
	}}
	id1, err := s.AddMapSnapshot(ctx, first, []state.Event{{Kind: "apimap.new_shadow_endpoint", CreatedAt: t1, Payload: []byte(`{"id":"a"}`)}})
	if err != nil {
		t.Fatalf("AddMapSnapshot(first) = %v", err)
	}
	second := state.MapSnapshot{TakenAt: t2, Window: time.Hour, Endpoints: []state.SnapshotEndpoint{
		ep("a", 12, base.Add(time.Hour), false, true),  // seen earlier than the first snapshot knew
		ep("b", 3, base.Add(5*time.Hour), false, true), // its early requests left the window
		ep("c", 5, base.Add(20*time.Hour), true, true),
	}}
	id2, err := s.AddMapSnapshot(ctx, second, nil)
	if err != nil {
		t.Fatalf("AddMapSnapshot(second) = %v", err)
	}
	if id2 <= id1 {
		t.Errorf("AddMapSnapshot ids %d then %d, want growing ids", id1, id2)
	}

	snaps, err := s.MapSnapshots(ctx, 0)
	if err != nil {
		t.Fatalf("MapSnapshots(0) = %v", err)
	}
	type summary struct {
		id            int64
		taken         time.Time
		window        time.Duration
		endpoints, nu int
	}
	var got []summary
	for _, sn := range snaps {
		if sn.Endpoints != nil {
			t.Errorf("MapSnapshots returned the endpoints of snapshot %d, want none", sn.ID)
		}
		got = append(got, summary{sn.ID, sn.TakenAt, sn.Window, sn.EndpointCount, sn.NewEndpoints})
	}
	want := []summary{{id2, t2, time.Hour, 3, 1}, {id1, t1, 7 * 24 * time.Hour, 3, 2}}
	if !slices.EqualFunc(got, want, func(a, b summary) bool {
		return a.id == b.id && a.taken.Equal(b.taken) && a.window == b.window && a.endpoints == b.endpoints && a.nu == b.nu
	}) {
		t.Errorf("MapSnapshots(0) = %+v, want %+v", got, want)
	}
	if snaps, err := s.MapSnapshots(ctx, 1); err != nil || len(snaps) != 1 || snaps[0].ID != id2 {
		t.Errorf("MapSnapshots(1) = %+v, %v; want the latest only", snaps, err)
	}

	latest, err := s.MapSnapshot(ctx, 0)
	if err != nil || latest.ID != id2 {
		t.Fatalf("MapSnapshot(0) = %d, %v; want the latest, %d", latest.ID, err, id2)
	}
	old, err := s.MapSnapshot(ctx, id1)
	if err != nil {
		t.Fatalf("MapSnapshot(%d) = %v", id1, err)
	}
	var ids []string
	for _, e := range old.Endpoints {
		ids = append(ids, e.EndpointID)
	}
	if !slices.Equal(ids, []string{"a", "b", "z"}) {
		t.Errorf("MapSnapshot(%d) endpoints %v, want a, b, z (ordered by id)", id1, ids)
	}
	if a := old.Endpoints[0]; a.Hits != 10 || !a.Shadow || a.Sensitive || a.RiskScore != 10 || string(a.Data) != `{"id":"a"}` ||
		!a.FirstSeen.Equal(base.Add(3*time.Hour)) || !a.LastSeen.Equal(base.Add(4*time.Hour)) {
		t.Errorf("MapSnapshot(%d) endpoint a = %+v, want it as stored", id1, a)
	}
	if z := old.Endpoints[2]; !z.FirstSeen.IsZero() || !z.LastSeen.IsZero() {
		t.Errorf("endpoint z without traffic has first/last seen %v/%v, want zero", z.FirstSeen, z.LastSeen)
	}
	if _, err := s.MapSnapshot(ctx, id2+100); !errors.Is(err, state.ErrNotFound) {
		t.Errorf("MapSnapshot(missing) = %v, want ErrNotFound", err)
	}

	known, err := s.KnownEndpoints(ctx, state.KnownEndpointFilter{})
	if err != nil {
		t.Fatalf("KnownEndpoints() = %v", err)
	}
	byID := map[string]state.KnownEndpoint{}
	for _, k := range known {
		byID[k.EndpointID] = k
	}
	if len(known) != 3 || known[0].EndpointID != "a" || known[2].EndpointID != "c" {
		t.Fatalf("KnownEndpoints() = %+v, want a, b, c (the endpoints with traffic, by id)", known)
	}
	a := byID["a"]
	if !a.FirstSeen.Equal(base.Add(time.Hour)) || !a.LastSeen.Equal(base.Add(4*time.Hour)) {
		t.Errorf("known a seen %v to %v, want the earliest first seen and the latest last seen of both snapshots", a.FirstSeen, a.LastSeen)
	}
	if a.FirstSnapshotID != id1 || a.LastSnapshotID != id2 || !a.ShadowSince.Equal(t1) || !a.SensitiveSince.Equal(t2) {
		t.Errorf("known a = %+v, want first snapshot %d, last %d, shadow since %v, sensitive since %v", a, id1, id2, t1, t2)
	}
	if b := byID["b"]; !b.ShadowSince.IsZero() || !b.SensitiveSince.Equal(t1) || b.Service != "api" || b.Method != "GET" || b.Template != "/b" {
		t.Errorf("known b = %+v, want never shadow, sensitive since %v", b, t1)
	}
	if b := byID["b"]; !b.FirstSeen.Equal(base.Add(2*time.Hour)) || !b.LastSeen.Equal(base.Add(6*time.Hour)) || b.LastSnapshotID != id2 {
		t.Errorf("known b seen %v to %v (last snapshot %d), want the first snapshot's first seen and the second's last seen", b.FirstSeen, b.LastSeen, b.LastSnapshotID)
	}

	filters := []struct {
		name string
		f    state.KnownEndpointFilter
		want []string
	}{
		{"one endpoint", state.KnownEndpointFilter{EndpointID: "b"}, []string{"b"}},
		{"new since the previous snapshot", state.KnownEndpointFilter{FirstSnapshotID: id2}, []string{"c"}},
		{"first seen since", state.KnownEndpointFilter{FirstSeenSince: base.Add(2 * time.Hour)}, []string{"b", "c"}},
		{"both", state.KnownEndpointFilter{FirstSeenSince: base.Add(2 * time.Hour), FirstSnapshotID: id1}, []string{"b"}},
		{"none", state.KnownEndpointFilter{FirstSeenSince: base.Add(48 * time.Hour)}, []string{}},
	}
	for _, tc := range filters {
		got, err := s.KnownEndpoints(ctx, tc.f)
		if err != nil {
			t.Errorf("KnownEndpoints(%s) = %v", tc.name, err)
			continue
		}
		ids := []string{}
		for _, k := range got {
			ids = append(ids, k.EndpointID)
		}
		if !slices.Equal(ids, tc.want) {
			t.Errorf("KnownEndpoints(%s) = %v, want %v", tc.name, ids, tc.want)
		}
	}

	// Pruning keeps the latest snapshot whatever its age, and what the
	// pruned snapshots taught about the endpoints.
	if n, err := s.PruneMapSnapshots(ctx, t1); err != nil || n != 0 {
		t.Errorf("PruneMapSnapshots(before the first) = %d, %v; want 0", n, err)
	}
	if n, err := s.PruneMapSnapshots(ctx, t2.Add(time.Hour)); err != nil || n != 1 {
		t.Errorf("PruneMapSnapshots(after both) = %d, %v; want 1 (the latest stays)", n, err)
	}
	if _, err := s.MapSnapshot(ctx, id1); !errors.Is(err, state.ErrNotFound) {
		t.Errorf("pruned snapshot %d: MapSnapshot = %v, want ErrNotFound", id1, err)
	}
	if latest, err := s.MapSnapshot(ctx, 0); err != nil || latest.ID != id2 || len(latest.Endpoints) != 3 {
		t.Errorf("after pruning, MapSnapshot(0) = %d with %d endpoints, %v; want %d with 3", latest.ID, len(latest.Endpoints), err, id2)
	}
	if known, err := s.KnownEndpoints(ctx, state.KnownEndpointFilter{}); err != nil || len(known) != 3 || !known[0].ShadowSince.Equal(t1) {
		t.Errorf("after pruning, KnownEndpoints = %+v, %v; want a, b, c as before", known, err)
	}
}

func testEndpointReviews(t *testing.T, s state.Store) {
	ctx := context.Background()
	if h, err := s.EndpointReviews(ctx, "a"); err != nil || h == nil || len(h) != 0 {
		t.Errorf("EndpointReviews(a) before any review = %v, %v; want an empty, non-nil slice", h, err)
	}
	reviews := []state.EndpointReview{
		{EndpointID: "a", Status: state.ReviewApproved, Reviewer: "alice", Note: "partner sync", At: base},
		{EndpointID: "b", Status: state.ReviewFlagged, Reviewer: "bob", At: base.Add(time.Minute)},
		{EndpointID: "a", Status: state.ReviewFlagged, Reviewer: "carol", Note: "bulk export, no owner", At: base.Add(time.Hour)},
	}
	for _, r := range reviews {
		if err := s.AddEndpointReview(ctx, r); err != nil {
			t.Fatalf("AddEndpointReview(%+v) = %v", r, err)
		}
	}
	if err := s.AddEndpointReview(ctx, state.EndpointReview{EndpointID: "a", Status: "ignored", At: base}); err == nil {
		t.Errorf("AddEndpointReview(status ignored) = nil, want an error")
	}
	history, err := s.EndpointReviews(ctx, "a")
	if err != nil {
		t.Fatalf("EndpointReviews(a) = %v", err)
	}
	if len(history) != 2 || !sameReview(history[0], reviews[0]) || !sameReview(history[1], reviews[2]) {
		t.Errorf("EndpointReviews(a) = %+v, want both decisions, oldest first", history)
	}
	latest, err := s.LatestEndpointReviews(ctx)
	if err != nil {
		t.Fatalf("LatestEndpointReviews() = %v", err)
	}
	if len(latest) != 2 || !sameReview(latest["a"], reviews[2]) || !sameReview(latest["b"], reviews[1]) {
		t.Errorf("LatestEndpointReviews() = %+v, want the latest decision of a and b", latest)
	}
}

func sameReview(a, b state.EndpointReview) bool {
	return a.EndpointID == b.EndpointID && a.Status == b.Status && a.Reviewer == b.Reviewer && a.Note == b.Note && a.At.Equal(b.At)
}

func testEvents(t *testing.T, s state.Store) {
	ctx := context.Background()
	events := []state.Event{
		{Kind: "apimap.new_shadow_endpoint", CreatedAt: base, Payload: []byte(`{"n":1}`)},
		{Kind: "apimap.new_sensitive_endpoint", CreatedAt: base, Payload: []byte(`{"n":2}`)},
		{Kind: "apimap.new_shadow_endpoint", CreatedAt: base, Payload: []byte(`{"n":3}`)},
	}
	if _, err := s.AddMapSnapshot(ctx, state.MapSnapshot{TakenAt: base, Window: time.Hour}, events); err != nil {
		t.Fatalf("AddMapSnapshot with events = %v", err)
	}
	all, err := s.Events(ctx, state.EventFilter{})
	if err != nil || len(all) != 3 {
		t.Fatalf("Events() = %+v, %v; want 3 events", all, err)
	}
	for i, ev := range all {
		if ev.Kind != events[i].Kind || !bytes.Equal(ev.Payload, events[i].Payload) || !ev.CreatedAt.Equal(base) || !ev.ConsumedAt.IsZero() {
			t.Errorf("Events()[%d] = %+v, want %+v, unconsumed", i, ev, events[i])
		}
	}
	if ok, err := s.ConsumeEvent(ctx, all[0].ID, base.Add(time.Minute)); !ok || err != nil {
		t.Errorf("ConsumeEvent(first) = %v, %v; want true", ok, err)
	}
	if ok, err := s.ConsumeEvent(ctx, all[0].ID, base.Add(time.Hour)); ok || err != nil {
		t.Errorf("ConsumeEvent(first) again = %v, %v; want false, nil", ok, err)
	}
	if _, err := s.ConsumeEvent(ctx, all[2].ID+100, base); !errors.Is(err, state.ErrNotFound) {
		t.Errorf("ConsumeEvent(missing) = %v, want ErrNotFound", err)
	}
	filters := []struct {
		name string
		f    state.EventFilter
		want []string // payloads
	}{
		{"unconsumed", state.EventFilter{Unconsumed: true}, []string{`{"n":2}`, `{"n":3}`}},
		{"kind", state.EventFilter{Kind: "apimap.new_shadow_endpoint"}, []string{`{"n":1}`, `{"n":3}`}},
		{"kind unconsumed", state.EventFilter{Kind: "apimap.new_shadow_endpoint", Unconsumed: true}, []string{`{"n":3}`}},
		{"after id", state.EventFilter{AfterID: all[0].ID}, []string{`{"n":2}`, `{"n":3}`}},
		{"limit", state.EventFilter{Limit: 1}, []string{`{"n":1}`}},
	}
	for _, tc := range filters {
		got, err := s.Events(ctx, tc.f)
		if err != nil {
			t.Errorf("Events(%s) = %v", tc.name, err)
			continue
		}
		var payloads []string
		for _, ev := range got {
			payloads = append(payloads, string(ev.Payload))
		}
		if !slices.Equal(payloads, tc.want) {
			t.Errorf("Events(%s) = %v, want %v", tc.name, payloads, tc.want)
		}
	}
	consumed, err := s.Events(ctx, state.EventFilter{Limit: 1})
	if err != nil || len(consumed) != 1 || !consumed[0].ConsumedAt.Equal(base.Add(time.Minute)) {
		t.Errorf("Events() after consuming: first event %+v, %v; want consumed at %v (the first consumption)", consumed, err, base.Add(time.Minute))
	}
}
