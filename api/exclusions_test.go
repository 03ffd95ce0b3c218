package api

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/tracehound/tracehound/auth"
	"github.com/tracehound/tracehound/exclude"
	"github.com/tracehound/tracehound/state"
)

// fakeExclusions is an ExclusionsBackend that records what it was asked;
// the HTTP layer under test only moves requests and answers.
type fakeExclusions struct {
	Backend
	query   ExclusionQuery
	added   ExclusionRequest
	dry     DryRunRequest
	sugg    SuggestionQuery
	deleted string
}

var partner = exclude.Exclusion{ID: "partner", Match: exclude.MatchAll, Mode: exclude.ModeActive, Reason: "nightly sync",
	Conditions: []exclude.Condition{{Kind: exclude.KindAPIKey, Value: "dvk_partner"}},
	Scope:      exclude.Scope{Kind: exclude.ScopeAny}, ExpiresAt: exclude.Expiry{Never: true}}

func (f *fakeExclusions) Exclusions(_ context.Context, q ExclusionQuery) (*ExclusionList, error) {
	f.query = q
	return &ExclusionList{Exclusions: []ExclusionInfo{{Exclusion: partner, Status: exclude.StatusActive}}}, nil
}

func (f *fakeExclusions) Exclusion(_ context.Context, id string) (*ExclusionDetail, error) {
	if id != partner.ID {
		return nil, fmt.Errorf("exclusion %q: %w", id, state.ErrNotFound)
	}
	return &ExclusionDetail{ExclusionInfo: ExclusionInfo{Exclusion: partner, Status: exclude.StatusActive}, Suppressed: []state.ShadowSuppression{}}, nil
}

func (f *fakeExclusions) AddExclusion(_ context.Context, req ExclusionRequest) (*ExclusionDetail, error) {
	f.added = req
	if !req.Force {
		return nil, fmt.Errorf("%w: would suppress 1 notification(s) triaged as true positives", ErrBadRequest)
	}
	return &ExclusionDetail{ExclusionInfo: ExclusionInfo{Exclusion: req.Exclusion, Status: exclude.StatusActive}}, nil
}

func (f *fakeExclusions) DeleteExclusion(_ context.Context, id string) error {
	f.deleted = id
	return nil
}

func (f *fakeExclusions) ActivateExclusion(_ context.Context, id string, _ ActivateRequest) (*ExclusionDetail, error) {
	return f.Exclusion(context.Background(), id)
}

func (f *fakeExclusions) DryRunExclusion(_ context.Context, req DryRunRequest) (*exclude.DryRunResult, error) {
	f.dry = req
	if req.ID == "broken" {
		return nil, fmt.Errorf("%w: no such thing", ErrBadRequest)
	}
	for i := 1; req.Progress != nil && i <= 3; i++ {
		req.Progress(exclude.Progress{Phase: "replay", RulesDone: i, RulesTotal: 3})
	}
	return &exclude.DryRunResult{Exclusion: partner, RowsExcluded: 42, SuppressedTruePositives: []exclude.Suppressed{}}, nil
}

func (f *fakeExclusions) ExclusionSuggestions(_ context.Context, q SuggestionQuery) (*SuggestionList, error) {
	f.sugg = q
	return &SuggestionList{Suggestions: []exclude.Suggestion{}}, nil
}

// exclusionServer serves fake through the exclusion routes.
func exclusionServer(t *testing.T, fake *fakeExclusions) (*Server, *httptest.Server) {
	t.Helper()
	s := NewServer(Options{Backend: fake})
	if !slices.ContainsFunc(s.Routes(), func(r Route) bool { return r.Pattern == "POST /api/v1/exclusions/dry-run" }) {
		s.routeExclusions(fake) // until NewServer registers them itself
	}
	srv := httptest.NewServer(s)
	t.Cleanup(srv.Close)
	return s, srv
}

func TestExclusionRoutesRoles(t *testing.T) {
	s, _ := exclusionServer(t, &fakeExclusions{})
	want := map[string]auth.Role{
		"GET /api/v1/exclusions":                auth.RoleViewer,
		"GET /api/v1/exclusions/{id}":           auth.RoleViewer,
		"GET /api/v1/exclusions/suggestions":    auth.RoleViewer,
		"POST /api/v1/exclusions/dry-run":       auth.RoleViewer,
		"POST /api/v1/exclusions":               auth.RoleAnalyst,
		"DELETE /api/v1/exclusions/{id}":        auth.RoleAnalyst,
		"POST /api/v1/exclusions/{id}/activate": auth.RoleAnalyst,
	}
	got := map[string]auth.Role{}
	for _, r := range s.Routes() {
		if strings.Contains(r.Pattern, "/exclusions") {
			got[r.Pattern] = r.Role
		}
	}
	for p, role := range want {
		if got[p] != role {
			t.Errorf("route %s needs %q, want %q", p, got[p], role)
		}
	}
	if len(got) != len(want) {
		t.Errorf("exclusion routes %v, want %v", got, want)
	}
}

func TestExclusionClientRoundTrip(t *testing.T) {
	fake := &fakeExclusions{}
	_, srv := exclusionServer(t, fake)
	c, err := NewClient(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	list, err := c.Exclusions(ctx, ExclusionQuery{Expired: true})
	if err != nil || len(list.Exclusions) != 1 || list.Exclusions[0].ID != "partner" || list.Exclusions[0].Status != exclude.StatusActive || !fake.query.Expired {
		t.Errorf("Exclusions = %+v, %v (query %+v)", list, err, fake.query)
	}
	if list.Exclusions[0].ExpiresAt.String() != "never" || list.Exclusions[0].Conditions[0].Value != "dvk_partner" {
		t.Errorf("the exclusion did not survive JSON: %+v", list.Exclusions[0])
	}
	if _, err := c.Exclusion(ctx, "nope"); !errors.Is(err, state.ErrNotFound) && !strings.Contains(err.Error(), "not found") {
		t.Errorf("Exclusion(nope) = %v, want not found", err)
	}
	draft := partner
	draft.ExpiresAt = exclude.Expiry{In: 30 * 24 * time.Hour}
	if _, err := c.AddExclusion(ctx, ExclusionRequest{Exclusion: draft}); !errors.Is(err, ErrBadRequest) || !strings.Contains(err.Error(), "true positives") {
		t.Errorf("AddExclusion without force = %v, want a bad request about true positives", err)
	}
	d, err := c.AddExclusion(ctx, ExclusionRequest{Exclusion: draft, Force: true, ForceReason: "decommissioned"})
	if err != nil || d.ID != "partner" || fake.added.ForceReason != "decommissioned" || fake.added.Exclusion.ExpiresAt.In != 30*24*time.Hour {
		t.Errorf("AddExclusion(force) = %+v, %v; the server got %+v", d, err, fake.added)
	}
	if err := c.DeleteExclusion(ctx, "a/b"); err != nil || fake.deleted != "a/b" {
		t.Errorf("DeleteExclusion(a/b) = %v; the server deleted %q", err, fake.deleted)
	}
	until := time.Date(2026, 3, 8, 0, 0, 0, 0, time.UTC)
	if _, err := c.ExclusionSuggestions(ctx, SuggestionQuery{Since: "14d", Until: until, Max: 3}); err != nil ||
		fake.sugg.Since != "14d" || !fake.sugg.Until.Equal(until) || fake.sugg.Max != 3 {
		t.Errorf("ExclusionSuggestions = %v; the server got %+v", err, fake.sugg)
	}
	res, err := c.DryRunExclusion(ctx, DryRunRequest{ID: "partner", Since: "7d"})
	if err != nil || res.RowsExcluded != 42 || fake.dry.ID != "partner" || fake.dry.Progress != nil {
		t.Errorf("DryRunExclusion = %+v, %v; the server got %+v", res, err, fake.dry)
	}
}

// TestDryRunStreamsProgress: with a progress callback the client asks for
// the streamed answer and sees every progress line, then the result; an
// error in the stream keeps its kind.
func TestDryRunStreamsProgress(t *testing.T) {
	fake := &fakeExclusions{}
	_, srv := exclusionServer(t, fake)
	c, _ := NewClient(srv.URL)
	var seen []int
	res, err := c.DryRunExclusion(context.Background(), DryRunRequest{ID: "partner", Progress: func(p exclude.Progress) { seen = append(seen, p.RulesDone) }})
	if err != nil || res.RowsExcluded != 42 || !slices.Equal(seen, []int{1, 2, 3}) {
		t.Errorf("streamed DryRunExclusion = %+v, %v with progress %v; want the result after progress 1, 2, 3", res, err, seen)
	}
	_, err = c.DryRunExclusion(context.Background(), DryRunRequest{ID: "broken", Progress: func(exclude.Progress) {}})
	if !errors.Is(err, ErrBadRequest) {
		t.Errorf("streamed DryRunExclusion(broken) = %v, want a bad request", err)
	}
	resp, err := http.Post(srv.URL+"/api/v1/exclusions/dry-run?stream=true", "application/json", strings.NewReader(`{"id":"partner"}`))
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	lines := strings.Split(strings.TrimSpace(string(body)), "\n")
	if ct := resp.Header.Get("Content-Type"); ct != "application/x-ndjson" || len(lines) != 4 ||
		!strings.HasPrefix(lines[0], `{"progress":`) || !strings.HasPrefix(lines[3], `{"result":`) {
		t.Errorf("stream = %s %q, want three progress lines and a result", ct, lines)
	}
	resp, err = http.Post(srv.URL+"/api/v1/exclusions/dry-run", "application/json", strings.NewReader(`{"id":"partner","bogus":1}`))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusBadRequest {
		t.Errorf("a dry run with an unknown field answered %d, want 400", resp.StatusCode)
	}
}
