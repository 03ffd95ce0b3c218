package api

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/getkin/kin-openapi/openapi3"

	"github.com/tracehound/tracehound/apimap"
	"github.com/tracehound/tracehound/state"
)

// fakeMap is a MapBackend that records what it was asked.
type fakeMap struct {
	Backend
	query    MapQuery
	window   time.Duration
	reviewID string
	review   ReviewRequest
	upload   SpecUpload
}

var shadowEndpoint = apimap.Endpoint{
	ID: "531b54831292d483", Service: "shop-api", Method: "GET", Template: "/api/admin/dump", Hits: 9,
	Shadow: true, ShadowReason: apimap.ShadowPathUndocumented, Tags: []apimap.Tag{apimap.TagAdmin},
	PathParams: []apimap.PathParam{}, Source: apimap.SourceRoute, Auth: apimap.Auth{State: apimap.AuthEnforced},
	Review: apimap.Review{Status: "unreviewed"}, RiskScore: 90,
}

func (f *fakeMap) Map(_ context.Context, q MapQuery) (*MapResult, error) {
	f.query = q
	return &MapResult{Only: q.Only, Endpoints: []apimap.Endpoint{shadowEndpoint}, Specs: []string{"shop-api"}}, nil
}

func (f *fakeMap) MapTopology(_ context.Context, q MapQuery) (*apimap.TopologyNode, error) {
	f.query = q
	return apimap.Topology([]apimap.Endpoint{shadowEndpoint}), nil
}

func (f *fakeMap) ObservedOpenAPI(_ context.Context, q MapQuery) (*openapi3.T, error) {
	f.query = q
	if q.Service == "" {
		return nil, fmt.Errorf("%w: several services have traffic (a, b); name one", ErrBadRequest)
	}
	return &openapi3.T{OpenAPI: "3.0.3", Info: &openapi3.Info{Title: q.Service + " (observed)", Version: "1"}, Paths: openapi3.NewPaths()}, nil
}

func (f *fakeMap) TakeSnapshot(_ context.Context, window time.Duration) (*SnapshotResult, error) {
	f.window = window
	return &SnapshotResult{Snapshot: SnapshotInfo{ID: 7, NewEndpoints: 1}, New: []EndpointRef{{ID: shadowEndpoint.ID}},
		Events: []EventRef{{Kind: apimap.EventNewShadowEndpoint, EndpointID: shadowEndpoint.ID}}}, nil
}

func (f *fakeMap) Snapshots(context.Context) (*SnapshotList, error) {
	return &SnapshotList{Snapshots: []SnapshotInfo{{ID: 7}, {ID: 6}}}, nil
}

func (f *fakeMap) EndpointReview(_ context.Context, id string) (*ReviewResult, error) {
	f.reviewID = id
	if id != shadowEndpoint.ID {
		return nil, fmt.Errorf("endpoint %q is not on the API map: %w", id, state.ErrNotFound)
	}
	return &ReviewResult{EndpointID: id, Review: apimap.Review{Status: "unreviewed"}, History: []apimap.Review{}}, nil
}

func (f *fakeMap) SetEndpointReview(_ context.Context, id string, r ReviewRequest) (*ReviewResult, error) {
	f.reviewID, f.review = id, r
	if r.Status == "maybe" {
		return nil, fmt.Errorf("%w: review status %q", ErrBadRequest, r.Status)
	}
	rev := apimap.Review{Status: r.Status, Reviewer: r.Reviewer, Note: r.Note}
	return &ReviewResult{EndpointID: id, Review: rev, History: []apimap.Review{rev}}, nil
}

func (f *fakeMap) Specs(context.Context) (*SpecList, error) {
	return &SpecList{Specs: []SpecInfo{{Service: "shop-api", Title: "Shop", Operations: 3}}}, nil
}

func (f *fakeMap) RegisterSpec(_ context.Context, u SpecUpload) (*SpecInfo, error) {
	f.upload = u
	if _, err := apimap.LoadSpec(u.Raw); err != nil {
		return nil, err
	}
	return &SpecInfo{Service: u.Service, Name: u.Name, Bytes: len(u.Raw)}, nil
}

func newMapServer(t *testing.T) (*fakeMap, *httptest.Server) {
	t.Helper()
	f := &fakeMap{}
	srv := httptest.NewServer(NewServer(Options{Backend: f}))
	t.Cleanup(srv.Close)
	return f, srv
}

func TestMapRoutes(t *testing.T) {
	const spec = "openapi: 3.0.3\ninfo: {title: Shop, version: '1'}\npaths: {}\n"
	tests := []struct {
		name, method, path, body string
		status                   int
		want                     []string // substrings of the body
	}{
		{"map", "GET", "/api/v1/map?service=shop-api&since=7d&only=shadow", "", 200,
			[]string{`"endpoints":[{"id":"531b54831292d483","service":"shop-api","method":"GET","template":"/api/admin/dump"`, `"shadow":true`, `"risk_score":90`}},
		{"bad only", "GET", "/api/v1/map?only=ghosts", "", 400, []string{`"code":"bad_request"`, `unknown subset \"ghosts\"`}},
		{"bad since", "GET", "/api/v1/map?since=-1h", "", 400, []string{`since=\"-1h\": want a positive duration`}},
		{"topology", "GET", "/api/v1/map/topology", "", 200, []string{`"kind":"root"`, `"kind":"endpoint"`, `"id":"531b54831292d483"`}},
		{"openapi json", "GET", "/api/v1/map/openapi?service=shop-api", "", 200, []string{`"openapi":"3.0.3"`, `"title":"shop-api (observed)"`}},
		{"openapi yaml", "GET", "/api/v1/map/openapi?service=shop-api&format=yaml", "", 200, []string{"openapi: 3.0.3\n", "title: shop-api (observed)"}},
		{"openapi ambiguous", "GET", "/api/v1/map/openapi", "", 400, []string{"several services"}},
		{"openapi bad format", "GET", "/api/v1/map/openapi?format=xml", "", 400, []string{`format=\"xml\"`}},
		{"take snapshot", "POST", "/api/v1/map/snapshots?since=24h", "", 201, []string{`"snapshot":{"id":7`, `"kind":"apimap.new_shadow_endpoint"`}},
		{"snapshots", "GET", "/api/v1/map/snapshots", "", 200, []string{`{"snapshots":[{"id":7`}},
		{"review", "GET", "/api/v1/map/endpoints/531b54831292d483/review", "", 200, []string{`"review":{"status":"unreviewed"}`}},
		{"review unknown", "GET", "/api/v1/map/endpoints/0000000000000000/review", "", 404, []string{`"code":"not_found"`, "not on the API map"}},
		{"set review", "PUT", "/api/v1/map/endpoints/531b54831292d483/review", `{"status":"flagged","note":"no owner","reviewer":"alice"}`, 200,
			[]string{`"review":{"status":"flagged","reviewer":"alice","note":"no owner"}`}},
		{"set review bad status", "PUT", "/api/v1/map/endpoints/531b54831292d483/review", `{"status":"maybe"}`, 400, []string{`"code":"bad_request"`}},
		{"set review bad json", "PUT", "/api/v1/map/endpoints/531b54831292d483/review", `{"state":"approved"}`, 400, []string{`unknown field`}},
		{"specs", "GET", "/api/v1/specs", "", 200, []string{`{"specs":[{"service":"shop-api"`}},
		{"register spec", "POST", "/api/v1/specs?service=shop-api&name=shop.yaml", spec, 201, []string{`"service":"shop-api"`, `"name":"shop.yaml"`}},
		{"register invalid spec", "POST", "/api/v1/specs?service=shop-api", "paths: 42\n", 400, []string{`"code":"bad_request"`, "invalid OpenAPI document"}},
		{"register empty spec", "POST", "/api/v1/specs?service=shop-api", "", 400, []string{"must be an OpenAPI document"}},
		{"wrong method", "DELETE", "/api/v1/map", "", 404, []string{"no API route DELETE /api/v1/map"}},
	}
	_, srv := newMapServer(t)
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			req, err := http.NewRequest(tc.method, srv.URL+tc.path, strings.NewReader(tc.body))
			if err != nil {
				t.Fatal(err)
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != tc.status {
				t.Errorf("%s %s = %d %s, want %d", tc.method, tc.path, resp.StatusCode, b, tc.status)
			}
			for _, w := range tc.want {
				if !strings.Contains(string(b), w) {
					t.Errorf("%s %s body %s\nwant it to contain %s", tc.method, tc.path, b, w)
				}
			}
		})
	}
}

func TestMapRoutesNeedAMapBackend(t *testing.T) {
	srv := httptest.NewServer(NewServer(Options{Backend: struct{ Backend }{}}))
	defer srv.Close()
	resp, err := http.Get(srv.URL + "/api/v1/map")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusNotFound {
		t.Errorf("GET /api/v1/map on a backend without the API map = %d, want 404", resp.StatusCode)
	}
}

func TestMapClient(t *testing.T) {
	f, srv := newMapServer(t)
	c, err := NewClient(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()

	res, err := c.Map(ctx, MapQuery{Service: "shop-api", Window: 36 * time.Hour, Only: apimap.OnlyShadow})
	if err != nil {
		t.Fatalf("Map = %v", err)
	}
	if f.query != (MapQuery{Service: "shop-api", Window: 36 * time.Hour, Only: apimap.OnlyShadow}) {
		t.Errorf("server got query %+v, want the client's", f.query)
	}
	got := res.Endpoints[0]
	if got.ID != shadowEndpoint.ID || got.Source != apimap.SourceRoute || got.ShadowReason != apimap.ShadowPathUndocumented || got.Auth.State != apimap.AuthEnforced {
		t.Errorf("Map endpoint = %+v, want the server's, enumerations included", got)
	}

	doc, err := c.ObservedOpenAPI(ctx, MapQuery{Service: "shop-api"})
	if err != nil || doc.Info.Title != "shop-api (observed)" {
		t.Errorf("ObservedOpenAPI = %+v, %v", doc, err)
	}
	if _, err := c.ObservedOpenAPI(ctx, MapQuery{}); !errors.Is(err, ErrBadRequest) {
		t.Errorf("ObservedOpenAPI without a service = %v, want ErrBadRequest", err)
	}

	snap, err := c.TakeSnapshot(ctx, 90*time.Minute)
	if err != nil || snap.Snapshot.ID != 7 || f.window != 90*time.Minute {
		t.Errorf("TakeSnapshot = %+v, %v (server window %v), want snapshot 7 of a 90m window", snap, err, f.window)
	}

	rev, err := c.SetEndpointReview(ctx, shadowEndpoint.ID, ReviewRequest{Status: "approved", Reviewer: "bob"})
	if err != nil || rev.Review.Status != "approved" || f.review.Reviewer != "bob" || f.reviewID != shadowEndpoint.ID {
		t.Errorf("SetEndpointReview = %+v, %v", rev, err)
	}
	if _, err := c.EndpointReview(ctx, "0000000000000000"); err == nil || !strings.Contains(err.Error(), "not on the API map") {
		t.Errorf("EndpointReview(unknown) = %v, want a not-found error", err)
	}

	raw := []byte("openapi: 3.0.3\ninfo: {title: Shop, version: '1'}\npaths: {}\n")
	info, err := c.RegisterSpec(ctx, SpecUpload{Service: "shop-api", Name: "shop.yaml", Raw: raw})
	if err != nil || info.Bytes != len(raw) || string(f.upload.Raw) != string(raw) || f.upload.Name != "shop.yaml" {
		t.Errorf("RegisterSpec = %+v, %v; server got %+v", info, err, f.upload)
	}
	if _, err := c.RegisterSpec(ctx, SpecUpload{Service: "shop-api", Raw: []byte("paths: 42")}); !errors.Is(err, ErrBadRequest) {
		t.Errorf("RegisterSpec(invalid) = %v, want ErrBadRequest", err)
	}

	if list, err := c.Snapshots(ctx); err != nil || len(list.Snapshots) != 2 {
		t.Errorf("Snapshots = %+v, %v", list, err)
	}
	if specs, err := c.Specs(ctx); err != nil || len(specs.Specs) != 1 {
		t.Errorf("Specs = %+v, %v", specs, err)
	}
	if top, err := c.MapTopology(ctx, MapQuery{}); err != nil || top.Kind != apimap.NodeRoot || len(top.Children) != 1 {
		t.Errorf("MapTopology = %+v, %v", top, err)
	}
}
