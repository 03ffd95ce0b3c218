package app

import (
	"context"
	"encoding/json"
	"path/filepath"
	"testing"
	"time"

	"github.com/tracehound/tracehound/apimap"
	"github.com/tracehound/tracehound/config"
	"github.com/tracehound/tracehound/state"
	"github.com/tracehound/tracehound/state/sqlite"
)

// An endpoint's auth state in the investigation's facts is judged over
// the snapshots of the map's window, as the map judges it, not over the
// latest snapshot's traffic alone: an hour in which every caller carried
// a credential does not make an enforcing endpoint "unknown".
func TestFactsJudgeAuthOverTheMapWindow(t *testing.T) {
	ctx := context.Background()
	st, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "state.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	cfg := config.Default()
	a := &App{cfg: cfg, state: st}
	now := time.Now().UTC().Truncate(time.Second)
	window := time.Duration(cfg.APIMap.Window)
	add := func(at time.Time, auth map[string][2]int64) {
		t.Helper()
		snap := state.MapSnapshot{TakenAt: at, Window: time.Hour}
		for _, tmpl := range []string{"/v1/admin/export", "/v1/search", "/v1/documents"} {
			served, denied := auth[tmpl][0], auth[tmpl][1]
			e := apimap.Endpoint{ID: tmpl, Service: "vault", Method: "GET", Template: tmpl, Hits: 10,
				Auth: apimap.Auth{State: apimap.AuthStateOf(served, denied), Unauthenticated2xx: served, UnauthenticatedDenied: denied}}
			data, err := json.Marshal(e)
			if err != nil {
				t.Fatal(err)
			}
			snap.Endpoints = append(snap.Endpoints, state.SnapshotEndpoint{EndpointID: e.ID, Service: e.Service, Method: e.Method,
				Template: e.Template, Hits: e.Hits, Data: data})
		}
		if _, err := st.AddMapSnapshot(ctx, snap, nil); err != nil {
			t.Fatal(err)
		}
	}
	// Outside the window: a public search, which no longer counts.
	add(now.Add(-window-time.Hour), map[string][2]int64{"/v1/search": {4, 0}})
	// Inside it: the export refused requests without a credential.
	add(now.Add(-2*time.Hour), map[string][2]int64{"/v1/admin/export": {0, 3}})
	// The latest hour: documents served one without.
	add(now, map[string][2]int64{"/v1/documents": {1, 0}})
	facts, err := a.loadFacts(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for tmpl, want := range map[string]apimap.AuthState{
		"/v1/admin/export": apimap.AuthEnforced, "/v1/search": apimap.AuthUnknown, "/v1/documents": apimap.AuthPublic,
	} {
		if got := facts["vault GET "+tmpl].Auth; got != string(want) {
			t.Errorf("%s: auth %q, want %q", tmpl, got, want)
		}
	}
	// A new snapshot replaces the cached facts.
	add(now.Add(time.Minute), map[string][2]int64{"/v1/admin/export": {2, 0}})
	if facts, err = a.loadFacts(ctx); err != nil {
		t.Fatal(err)
	}
	if got := facts["vault GET /v1/admin/export"].Auth; got != string(apimap.AuthMixed) {
		t.Errorf("after a snapshot that served one without a credential: auth %q, want mixed", got)
	}
}
