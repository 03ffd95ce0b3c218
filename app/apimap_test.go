package app_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"go.opentelemetry.io/collector/pdata/ptrace"
	"go.opentelemetry.io/collector/pdata/ptrace/ptraceotlp"

	"github.com/tracehound/tracehound/api"
	"github.com/tracehound/tracehound/apimap"
	"github.com/tracehound/tracehound/scenario"
	"github.com/tracehound/tracehound/state"
)

// shopRequest is one request of the API map tests' shop service.
type shopRequest struct {
	ago                        time.Duration
	method, path, query, route string
	status                     int64
	ip, key                    string
}

// sendShop posts the requests as OTLP server spans of shop-api.
func sendShop(t *testing.T, s *server, reqs []shopRequest) {
	t.Helper()
	td := ptrace.NewTraces()
	rs := td.ResourceSpans().AppendEmpty()
	rs.Resource().Attributes().PutStr("service.name", "shop-api")
	ss := rs.ScopeSpans().AppendEmpty()
	now := time.Now()
	for i, r := range reqs {
		sp := ss.Spans().AppendEmpty()
		var tid [16]byte
		var sid [8]byte
		copy(tid[:], fmt.Sprintf("shop%012d", i))
		copy(sid[:], fmt.Sprintf("s%07d", i))
		sp.SetTraceID(tid)
		sp.SetSpanID(sid)
		sp.SetKind(ptrace.SpanKindServer)
		sp.SetName(r.method + " " + r.route)
		sp.SetStartTimestamp(pcommonTime(now.Add(-r.ago)))
		sp.SetEndTimestamp(pcommonTime(now.Add(-r.ago + 5*time.Millisecond)))
		a := sp.Attributes()
		a.PutStr("http.request.method", r.method)
		a.PutStr("url.path", r.path)
		if r.query != "" {
			a.PutStr("url.query", r.query)
		}
		if r.route != "" {
			a.PutStr("http.route", r.route)
		}
		a.PutInt("http.response.status_code", r.status)
		a.PutStr("client.address", r.ip)
		if r.key != "" {
			a.PutStr("app.api_key_id", r.key)
		}
	}
	body, err := ptraceotlp.NewExportRequestFromTraces(td).MarshalProto()
	if err != nil {
		t.Fatal(err)
	}
	if resp, msg := post(t, "http://"+s.OTLPHTTPAddr()+"/v1/traces", "application/x-protobuf", "", body); resp.StatusCode != http.StatusOK {
		t.Fatalf("export: %s %s", resp.Status, msg)
	}
}

const shopSpecV1 = `openapi: 3.0.3
info: {title: Shop, version: "1"}
servers: [{url: "https://shop.example/api"}]
paths:
  /health: {get: {responses: {"200": {description: up}}}}
  /orders/{order_id}: {get: {responses: {"200": {description: an order}}}}
  /admin/dump: {get: {responses: {"200": {description: a dump}}}}
`

// shopSpecV2 forgets the admin dump.
const shopSpecV2 = `openapi: 3.0.3
info: {title: Shop, version: "2"}
servers: [{url: "https://shop.example/api"}]
paths:
  /health: {get: {responses: {"200": {description: up}}}}
  /orders/{order_id}: {get: {responses: {"200": {description: an order}}}}
`

func TestAPIMapSnapshotsAndReviews(t *testing.T) {
	s := start(t, testConfig(t, t.TempDir()))
	ctx := context.Background()
	var reqs []shopRequest
	for i := range 10 {
		reqs = append(reqs, shopRequest{ago: 3*time.Hour - time.Duration(i)*time.Minute, method: "GET", path: fmt.Sprintf("/api/orders/%d", 101+i),
			route: "/api/orders/{order_id}", status: 200, ip: "198.51.100.1", key: "key_a"})
	}
	reqs = append(reqs,
		shopRequest{ago: 3 * time.Hour, method: "GET", path: "/api/health", route: "/api/health", status: 200, ip: "10.0.0.1"},
		shopRequest{ago: time.Hour, method: "GET", path: "/api/admin/dump", query: "format=csv", route: "/api/admin/dump", status: 200, ip: "203.0.113.9", key: "key_c"},
	)
	sendShop(t, s, reqs)
	dump := apimap.EndpointID("shop-api", "GET", "/api/admin/dump")

	if info, err := s.RegisterSpec(ctx, api.SpecUpload{Raw: []byte(shopSpecV1)}); err != nil || info.Service != "shop-api" || info.Operations != 3 {
		t.Fatalf("RegisterSpec(v1) without a service = %+v, %v; want it registered for the only service, shop-api", info, err)
	}
	first, err := s.TakeSnapshot(ctx, 0)
	if err != nil {
		t.Fatalf("TakeSnapshot = %v", err)
	}
	if first.Snapshot.Endpoints != 3 || first.Snapshot.NewEndpoints != 3 || len(first.New) != 3 || len(first.Events) != 0 {
		t.Errorf("first snapshot = %+v, want 3 new endpoints and no event (nothing shadow or sensitive)", first)
	}
	if _, err := s.SetEndpointReview(ctx, dump, api.ReviewRequest{Status: state.ReviewApproved, Reviewer: "alice"}); err != nil {
		t.Fatalf("SetEndpointReview(approved) = %v", err)
	}

	// The new spec no longer documents the dump: it is a shadow now, which
	// raises an event and puts it back in the review queue.
	if _, err := s.RegisterSpec(ctx, api.SpecUpload{Service: "shop-api", Raw: []byte(shopSpecV2)}); err != nil {
		t.Fatalf("RegisterSpec(v2) = %v", err)
	}
	second, err := s.TakeSnapshot(ctx, 0)
	if err != nil {
		t.Fatalf("TakeSnapshot = %v", err)
	}
	want := []api.EventRef{{Kind: apimap.EventNewShadowEndpoint, EndpointID: dump}}
	if !slices.Equal(second.Events, want) || second.Snapshot.NewEndpoints != 0 || second.Snapshot.ID <= first.Snapshot.ID {
		t.Errorf("second snapshot = %+v, want no new endpoint and the event %v", second, want)
	}
	rev, err := s.EndpointReview(ctx, dump)
	if err != nil {
		t.Fatalf("EndpointReview = %v", err)
	}
	if rev.Review.Status != state.ReviewUnreviewed || rev.Review.Reviewer != "tracehound" || len(rev.History) != 2 || rev.History[0].Reviewer != "alice" {
		t.Errorf("review after the dump became a shadow = %+v, want unreviewed by tracehound after alice's approval", rev)
	}
	third, err := s.TakeSnapshot(ctx, 0)
	if err != nil || len(third.Events) != 0 {
		t.Errorf("third snapshot = %+v, %v; want no event: the dump was a shadow already", third, err)
	}
	list, err := s.Snapshots(ctx)
	if err != nil || len(list.Snapshots) != 3 || list.Snapshots[0].ID != third.Snapshot.ID {
		t.Errorf("Snapshots = %+v, %v; want the three, newest first", list, err)
	}

	// The HTTP API serves the same map.
	c := s.client(t)
	res, err := c.Map(ctx, api.MapQuery{Only: apimap.OnlyShadow})
	if err != nil {
		t.Fatalf("GET /api/v1/map?only=shadow: %v", err)
	}
	if len(res.Endpoints) != 1 || res.Endpoints[0].ID != dump || res.Endpoints[0].Review.Status != state.ReviewUnreviewed {
		t.Errorf("GET /api/v1/map?only=shadow = %+v, want the dump, unreviewed", res.Endpoints)
	}
	if !slices.Equal(res.Specs, []string{"shop-api"}) {
		t.Errorf("map specs = %v, want shop-api", res.Specs)
	}

	errs := []struct {
		name string
		err  error
		want error
	}{
		{"invalid spec", second2(s.RegisterSpec(ctx, api.SpecUpload{Service: "shop-api", Raw: []byte("paths: 42")})), apimap.ErrInvalidSpec},
		{"unknown endpoint", second2(s.SetEndpointReview(ctx, "0000000000000000", api.ReviewRequest{Status: state.ReviewFlagged})), state.ErrNotFound},
		{"bad status", second2(s.SetEndpointReview(ctx, dump, api.ReviewRequest{Status: "maybe"})), api.ErrBadRequest},
	}
	for _, tc := range errs {
		if !errors.Is(tc.err, tc.want) {
			t.Errorf("%s: error %v, want %v", tc.name, tc.err, tc.want)
		}
	}
}

// second2 keeps the error of a two-result call.
func second2[T any](_ T, err error) error { return err }

// TestAPIMapDataVault seeds four days of the reference scenario at a small
// scale and checks the map a security engineer would see with the
// service's OpenAPI spec registered: the one shadow endpoint is the
// undocumented admin export, found on day 1 with its parameters and tags,
// and documented routes are templated, not exploded into one endpoint per
// id.
func TestAPIMapDataVault(t *testing.T) {
	if testing.Short() {
		t.Skip("seeds a scenario")
	}
	s := start(t, testConfig(t, t.TempDir()))
	ctx := context.Background()
	const days = 4
	day1 := scenario.DefaultStart(time.Now(), days)
	if _, err := scenario.Backfill(ctx, scenario.Options{
		Scenario: scenario.DefaultScenario, Start: day1, Days: days, Scale: 0.002, Seed: 11,
		Endpoint: "http://" + s.OTLPHTTPAddr(), Protocol: scenario.ProtocolHTTP,
	}); err != nil {
		t.Fatalf("Backfill: %v", err)
	}
	if err := s.Sync(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := s.RegisterSpec(ctx, api.SpecUpload{Service: scenario.ServiceName, Raw: scenario.DataVaultSpec()}); err != nil {
		t.Fatalf("RegisterSpec(DataVault) = %v", err)
	}

	shadow, err := s.Map(ctx, api.MapQuery{Only: apimap.OnlyShadow})
	if err != nil {
		t.Fatalf("Map(only shadow) = %v", err)
	}
	var got []string
	for _, e := range shadow.Endpoints {
		got = append(got, e.Method+" "+e.Template)
	}
	if !slices.Equal(got, []string{"GET /v1/admin/export"}) {
		t.Fatalf("shadow endpoints = %q, want exactly GET /v1/admin/export", got)
	}
	export := shadow.Endpoints[0]
	var params []string
	for _, p := range export.QueryParams {
		params = append(params, p.Name)
	}
	for _, p := range []string{"collection_id", "page"} {
		if !slices.Contains(params, p) {
			t.Errorf("export query parameters %v lack %s", params, p)
		}
	}
	for _, tag := range []apimap.Tag{apimap.TagAdmin, apimap.TagExport} {
		if !export.HasTag(tag) {
			t.Errorf("export tags %v, sensitivity %v: want %s", export.Tags, export.Sensitivity, tag)
		}
	}
	if export.FirstSeen.Before(day1) || !export.FirstSeen.Before(day1.Add(24*time.Hour)) {
		t.Errorf("export first seen %v, want on day 1 (%v)", export.FirstSeen, day1.Format(time.DateOnly))
	}
	if export.Documented || export.Callers.IPs != int64(len(scenario.ExfilIPs)) {
		t.Errorf("export documented %v, %d caller addresses; want undocumented, called from the %d exfiltration addresses",
			export.Documented, export.Callers.IPs, len(scenario.ExfilIPs))
	}

	all, err := s.Map(ctx, api.MapQuery{})
	if err != nil {
		t.Fatalf("Map = %v", err)
	}
	idSegment := regexp.MustCompile(`/[0-9]{2,}(/|$)`)
	var documents *apimap.Endpoint
	for i, e := range all.Endpoints {
		if idSegment.MatchString(e.Template) {
			t.Errorf("endpoint %s %s keeps an id in its template", e.Method, e.Template)
		}
		if e.Hits > 0 && !e.Documented && e.ID != export.ID && e.Method != http.MethodOptions {
			t.Errorf("endpoint %s %s (%d hits) is not documented, yet the spec has every route but the export", e.Method, e.Template, e.Hits)
		}
		if e.Method == "GET" && strings.HasPrefix(e.Template, "/v1/documents/{") && !strings.Contains(e.Template[len("/v1/documents/{"):], "/") {
			documents = &all.Endpoints[i]
		}
	}
	if documents == nil || documents.Hits < 100 || !documents.Documented {
		t.Errorf("GET /v1/documents/{id} = %+v, want one documented endpoint with the traffic of every document", documents)
	}
	if len(all.Endpoints) > 40 {
		t.Errorf("the map has %d endpoints, want about the spec's operations", len(all.Endpoints))
	}
}
