package apimap

import (
	"cmp"
	"context"
	"fmt"
	"maps"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/tracehound/tracehound/span"
	"github.com/tracehound/tracehound/store"
	"github.com/tracehound/tracehound/store/duckdb"
)

// inventoryBase is day 1 of the inventory tests' traffic.
var inventoryBase = time.Date(2026, 3, 2, 0, 0, 0, 0, time.UTC)

// openStore opens an empty DuckDB span store in a temporary directory.
func openStore(t testing.TB) *duckdb.Store {
	t.Helper()
	s, err := duckdb.Open(context.Background(), filepath.Join(t.TempDir(), "traces.duckdb"), duckdb.Options{})
	if err != nil {
		t.Fatalf("open duckdb: %v", err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// req describes one HTTP server span.
type req struct {
	at                         time.Time
	service, host              string
	method, path, query, route string
	status                     uint16
	ip, key                    string
	respBytes                  int64
	dur                        time.Duration
}

func (r req) span(i int) span.Span {
	target := r.path
	if r.query != "" {
		target += "?" + r.query
	}
	return span.Span{
		Timestamp: r.at, TraceID: fmt.Sprintf("%032x", i+1), SpanID: fmt.Sprintf("%016x", i+1),
		ServiceName: cmp.Or(r.service, "shop-api"), SpanName: r.method + " " + cmp.Or(r.route, r.path), SpanKind: span.KindServer,
		DurationNS: uint64(cmp.Or(r.dur, time.Millisecond)), OtelStatus: "Unset",
		HTTPMethod: r.method, HTTPTarget: target, HTTPPath: r.path, HTTPQuery: r.query, HTTPRoute: r.route,
		StatusCode: r.status, PeerIP: r.ip, ServerAddress: cmp.Or(r.host, "shop.example"),
		ResponseBytes: r.respBytes, APIKeyID: r.key,
	}
}

func writeRequests(t testing.TB, s store.Writer, reqs []req) {
	t.Helper()
	spans := make([]span.Span, len(reqs))
	for i, r := range reqs {
		spans[i] = r.span(i)
	}
	if err := s.Write(context.Background(), spans); err != nil {
		t.Fatalf("write %d spans: %v", len(spans), err)
	}
}

// shopTraffic is the inventory tests' traffic: a documented shop API with a
// few undocumented endpoints, a scanner, and a second service without spec.
func shopTraffic() []req {
	b := inventoryBase
	var reqs []req
	for i := range 50 {
		r := req{at: b.Add(time.Duration(i) * time.Minute), method: "GET", path: fmt.Sprintf("/api/orders/%d", 101+i),
			status: 200, ip: fmt.Sprintf("198.51.100.%d", i%4+1), key: "key_a", respBytes: 1000, dur: time.Duration(i+1) * time.Millisecond}
		if i%2 == 0 {
			r.route = "/api/orders/{order_id}"
		}
		if i%10 == 0 {
			r.status = 404
		}
		if i >= 30 {
			r.key = "key_b"
		}
		if i%5 == 0 {
			r.host = "shop.internal"
		}
		reqs = append(reqs, r)
	}
	for i := range 6 {
		reqs = append(reqs, req{at: b.Add(time.Hour + time.Duration(i)*time.Minute), method: "GET", path: "/api/orders",
			query: fmt.Sprintf("page=%d", i%3+1), status: 200, ip: "198.51.100.1", key: "key_a", respBytes: 5000})
	}
	// A probe the service refused does not make page a string.
	reqs = append(reqs, req{at: b.Add(time.Hour + 10*time.Minute), method: "GET", path: "/api/orders", query: "page=abc", status: 400, ip: "192.0.2.10", key: "key_a"})
	for i := range 10 {
		reqs = append(reqs, req{at: b.Add(time.Duration(i) * time.Hour), method: "GET", path: "/api/health", status: 200, ip: "10.0.0.1", respBytes: 20})
	}
	reqs = append(reqs, req{at: b.Add(3 * time.Hour), method: "GET", path: "/api/admin/dump", query: "format=csv", status: 401, ip: "203.0.113.9"})
	for i := range 8 {
		reqs = append(reqs, req{at: b.Add(3*time.Hour + time.Duration(i+1)*time.Minute), method: "GET", path: "/api/admin/dump",
			query: fmt.Sprintf("format=csv&since=2026-03-0%d", i%3+1), status: 200, ip: "203.0.113.9", key: "key_c", respBytes: 250_000})
	}
	for i := range 2 {
		reqs = append(reqs, req{at: b.Add(20*time.Minute + time.Duration(i)*time.Minute), method: "GET", path: "/api/legacy/report", status: 200, ip: "198.51.100.2", key: "key_a", respBytes: 3000})
	}
	for i := range 6 {
		reqs = append(reqs, req{at: b.Add(5*time.Hour + time.Duration(i)*time.Minute), method: "DELETE", path: fmt.Sprintf("/api/orders/%d", 201+i),
			route: "/api/orders/{order_id}", status: 204, ip: "198.51.100.1", key: "key_a"})
	}
	for i := range 5 {
		r := req{at: b.Add(6*time.Hour + time.Duration(i)*time.Minute), method: "GET", path: "/api/search", query: "q=shoes", status: 200, ip: "192.0.2.10", respBytes: 800}
		if i >= 3 {
			r.status = 401
		}
		reqs = append(reqs, r)
	}
	for i := range 6 {
		reqs = append(reqs, req{at: b.Add(7*time.Hour + time.Duration(i)*time.Second), method: "GET", path: "/wp-login.php", status: 404, ip: "192.0.2.66"})
	}
	reqs = append(reqs, req{at: b.Add(-10 * 24 * time.Hour), method: "GET", path: "/api/ancient", status: 200, ip: "192.0.2.1"})
	uuids := []string{"5f3c9a1e-8b2d-4c7e-9f10-2a3b4c5d6e7f", "0b1c2d3e-4f50-4617-8293-a4b5c6d7e8f9", "9e8d7c6b-5a49-4837-a625-1403f2e1d0c9"}
	for i, u := range uuids {
		reqs = append(reqs, req{at: b.Add(time.Duration(i) * time.Minute), service: "billing", host: "billing.internal", method: "GET",
			path: "/v1/invoices/" + u, status: 200, ip: "10.0.0.7", key: "key_z", respBytes: 700})
	}
	return reqs
}

func buildShop(t *testing.T, opts BuildOptions) *Inventory {
	t.Helper()
	s := openStore(t)
	reqs := shopTraffic()
	spans := make([]span.Span, 0, len(reqs)+1)
	for i, r := range reqs {
		spans = append(spans, r.span(i))
	}
	client := reqs[0].span(len(reqs)) // a client span is no request to this service
	client.SpanKind = span.KindClient
	spans = append(spans, client)
	if err := s.Write(context.Background(), spans); err != nil {
		t.Fatal(err)
	}
	if opts.Now.IsZero() {
		opts.Now = inventoryBase.Add(48 * time.Hour)
	}
	if opts.Specs == nil {
		opts.Specs = map[string]*Spec{"shop-api": loadSpecFile(t, "testdata/spec/shop.yaml")}
	}
	inv, err := Build(context.Background(), s, opts)
	if err != nil {
		t.Fatalf("Build: %v", err)
	}
	return inv
}

func findEndpoint(inv *Inventory, method, template string) *Endpoint {
	for i := range inv.Endpoints {
		if e := &inv.Endpoints[i]; e.Method == method && e.Template == template {
			return e
		}
	}
	return nil
}

func TestBuildInventory(t *testing.T) {
	known := EndpointID("shop-api", "GET", "/api/orders/{order_id}")
	inv := buildShop(t, BuildOptions{KnownFirstSeen: map[string]time.Time{known: inventoryBase.Add(-30 * time.Minute)}})

	var got []string
	for _, e := range inv.Endpoints {
		got = append(got, e.Service+" "+e.Method+" "+e.Template)
	}
	want := []string{
		"billing GET /v1/invoices/{invoice_id}",
		"shop-api GET /api/admin/dump",
		"shop-api GET /api/coupons/{code}",
		"shop-api GET /api/health",
		"shop-api GET /api/legacy/report",
		"shop-api GET /api/orders",
		"shop-api DELETE /api/orders/{order_id}",
		"shop-api GET /api/orders/{order_id}",
		"shop-api GET /api/search",
	}
	if !slices.Equal(got, want) {
		t.Fatalf("Build endpoints:\n%q\nwant\n%q", got, want)
	}
	if inv.Unrouted != (Unrouted{Endpoints: 1, Requests: 6}) {
		t.Errorf("Build Unrouted = %+v, want the scanner's 1 endpoint and 6 requests", inv.Unrouted)
	}
	if !inv.Since.Equal(inventoryBase.Add(-5*24*time.Hour)) || !inv.Until.Equal(inventoryBase.Add(48*time.Hour)) {
		t.Errorf("Build window %v to %v, want the 7 days up to Now", inv.Since, inv.Until)
	}

	type flags struct {
		hits                            int64
		documented, shadow, zombie, new bool
		shadowReason                    ShadowReason
		zombieKind                      ZombieKind
		auth                            AuthState
		tags, sensitivity               []Tag
	}
	tests := []struct {
		method, template string
		want             flags
	}{
		{"GET", "/api/orders/{order_id}", flags{hits: 50, documented: true, auth: AuthUnknown, tags: []Tag{TagCRUDRead}, sensitivity: []Tag{}}},
		{"GET", "/api/orders", flags{hits: 7, documented: true, new: true, auth: AuthUnknown, tags: []Tag{TagCRUDRead}, sensitivity: []Tag{}}},
		{"GET", "/api/health", flags{hits: 10, documented: true, auth: AuthPublic, tags: []Tag{TagCRUDRead, TagHealth}, sensitivity: []Tag{}}},
		{"GET", "/api/admin/dump", flags{hits: 9, shadow: true, new: true, shadowReason: ShadowPathUndocumented, auth: AuthEnforced,
			tags: []Tag{TagAdmin, TagCRUDRead, TagExport}, sensitivity: []Tag{SensitivityBulk}}},
		{"GET", "/api/legacy/report", flags{hits: 2, documented: true, zombie: true, zombieKind: ZombieDeprecatedLive, auth: AuthUnknown,
			tags: []Tag{TagCRUDRead, TagExport}, sensitivity: []Tag{}}},
		{"DELETE", "/api/orders/{order_id}", flags{hits: 6, shadow: true, new: true, shadowReason: ShadowMethodUndocumented, auth: AuthUnknown,
			tags: []Tag{TagCRUDWrite}, sensitivity: []Tag{}}},
		{"GET", "/api/search", flags{hits: 5, shadow: true, new: true, shadowReason: ShadowPathUndocumented, auth: AuthMixed,
			tags: []Tag{TagCRUDRead, TagSearch}, sensitivity: []Tag{}}},
		{"GET", "/api/coupons/{code}", flags{documented: true, zombie: true, zombieKind: ZombieUnused, auth: AuthUnknown,
			tags: []Tag{TagCRUDRead}, sensitivity: []Tag{}}},
		{"GET", "/v1/invoices/{invoice_id}", flags{hits: 3, auth: AuthUnknown, tags: []Tag{TagCRUDRead}, sensitivity: []Tag{}}},
	}
	for _, tc := range tests {
		t.Run(tc.method+" "+tc.template, func(t *testing.T) {
			e := findEndpoint(inv, tc.method, tc.template)
			got := flags{e.Hits, e.Documented, e.Shadow, e.Zombie, e.New, e.ShadowReason, e.ZombieKind, e.Auth.State, e.Tags, e.Sensitivity}
			if fmt.Sprint(got) != fmt.Sprint(tc.want) {
				t.Errorf("endpoint %s %s = %+v\nwant %+v", tc.method, tc.template, got, tc.want)
			}
			if e.ID != EndpointID(e.Service, e.Method, e.Template) {
				t.Errorf("endpoint %s %s has id %s, want EndpointID of its service, method and template", tc.method, tc.template, e.ID)
			}
		})
	}

	orders := findEndpoint(inv, "GET", "/api/orders/{order_id}")
	if orders.Source != SourceRoute {
		t.Errorf("orders source = %v, want route: half its spans carry http.route, which wins over the classifier", orders.Source)
	}
	if !slices.Equal(orders.Hosts, []string{"shop.example", "shop.internal"}) {
		t.Errorf("orders hosts = %v, want both", orders.Hosts)
	}
	if want := (StatusMix{Class2xx: 45, Class4xx: 5, Codes: map[int]int64{200: 45, 404: 5}}); fmt.Sprint(orders.Status) != fmt.Sprint(want) {
		t.Errorf("orders status = %+v, want %+v", orders.Status, want)
	}
	wantCallers := Callers{IPs: 4, APIKeys: 2,
		TopIPs:     []Caller{{"198.51.100.1", 13}, {"198.51.100.2", 13}, {"198.51.100.3", 12}, {"198.51.100.4", 12}},
		TopAPIKeys: []Caller{{"key_a", 30}, {"key_b", 20}}}
	if fmt.Sprint(orders.Callers) != fmt.Sprint(wantCallers) {
		t.Errorf("orders callers = %+v\nwant %+v", orders.Callers, wantCallers)
	}
	if !orders.FirstSeen.Equal(inventoryBase.Add(-30*time.Minute)) || !orders.LastSeen.Equal(inventoryBase.Add(49*time.Minute)) {
		t.Errorf("orders seen %v to %v, want first seen from the known snapshots and last seen in the window", orders.FirstSeen, orders.LastSeen)
	}
	if orders.Latency.P50 != 25.5 || orders.Latency.P99 < 49 || orders.Latency.P99 > 50 {
		t.Errorf("orders latency = %+v, want p50 25.5 ms and p99 between 49 and 50 ms", orders.Latency)
	}
	if orders.Bytes != (Bytes{Out: 50_000, AvgResponse: 1000, MaxResponse: 1000}) {
		t.Errorf("orders bytes = %+v", orders.Bytes)
	}
	if !slices.Equal(orders.PathParams, []PathParam{{Name: "order_id", Kind: KindInt}}) {
		t.Errorf("orders path params = %+v, want order_id int", orders.PathParams)
	}

	dump := findEndpoint(inv, "GET", "/api/admin/dump")
	if want := []QueryParam{{Name: "format", Hits: 9, Type: "string"}, {Name: "since", Hits: 8, Type: "string"}}; !slices.Equal(dump.QueryParams, want) {
		t.Errorf("dump query params = %+v, want %+v", dump.QueryParams, want)
	}
	if dump.Auth != (Auth{State: AuthEnforced, Unauthenticated: 1, UnauthenticatedDenied: 1}) {
		t.Errorf("dump auth = %+v, want enforced by one 401", dump.Auth)
	}
	if fmt.Sprint(dump.Callers.TopIPs) != "[{203.0.113.9 9}]" || fmt.Sprint(dump.Callers.TopAPIKeys) != "[{key_c 8}]" {
		t.Errorf("dump callers = %+v", dump.Callers)
	}
	if dump.RiskScore != 100 || !slices.ContainsFunc(dump.RiskFactors, func(f RiskFactor) bool { return f.Factor == "shadow" }) {
		t.Errorf("dump risk = %d %+v, want 100 with a shadow factor", dump.RiskScore, dump.RiskFactors)
	}
	if len(dump.Evidence[TagAdmin]) == 0 || len(dump.Evidence[SensitivityBulk]) == 0 {
		t.Errorf("dump evidence = %v, want reasons for admin and bulk", dump.Evidence)
	}
	pages := findEndpoint(inv, "GET", "/api/orders")
	if want := []QueryParam{{Name: "page", Hits: 7, Type: "integer"}}; !slices.Equal(pages.QueryParams, want) {
		t.Errorf("orders list query params = %+v, want %+v", pages.QueryParams, want)
	}
	del := findEndpoint(inv, "DELETE", "/api/orders/{order_id}")
	if want := []DriftItem{{Kind: DriftMethod, SpecPath: "/api/orders/{order_id}", Values: []string{"DELETE"}}}; fmt.Sprint(del.Drift) != fmt.Sprint(want) {
		t.Errorf("DELETE orders drift = %+v, want %+v", del.Drift, want)
	}
	coupons := findEndpoint(inv, "GET", "/api/coupons/{code}")
	if !coupons.FirstSeen.IsZero() || !slices.Equal(coupons.PathParams, []PathParam{{Name: "code", Kind: KindString}}) {
		t.Errorf("unused coupons endpoint = %+v, want no first seen and its documented parameter", coupons)
	}
	invoices := findEndpoint(inv, "GET", "/v1/invoices/{invoice_id}")
	if !slices.Equal(invoices.PathParams, []PathParam{{Name: "invoice_id", Kind: KindUUID}}) || !slices.Equal(invoices.Hosts, []string{"billing.internal"}) {
		t.Errorf("invoices = %+v, want a uuid parameter on billing.internal", invoices)
	}
}

func TestBuildInventoryOptions(t *testing.T) {
	tests := []struct {
		name string
		opts BuildOptions
		want []string
	}{
		{"one service", BuildOptions{Service: "billing"}, []string{"GET /v1/invoices/{invoice_id}"}},
		{"short window", BuildOptions{Window: 2 * time.Hour, Now: inventoryBase.Add(7 * time.Hour)},
			// The dump is outside the window; the documented endpoints
			// outside it are zombies.
			[]string{"GET /api/coupons/{code}", "GET /api/health", "GET /api/legacy/report", "GET /api/orders",
				"DELETE /api/orders/{order_id}", "GET /api/orders/{order_id}", "GET /api/search"}},
		{"no spec", BuildOptions{Service: "shop-api", Specs: map[string]*Spec{}},
			[]string{"GET /api/admin/dump", "GET /api/health", "GET /api/legacy/report", "GET /api/orders",
				"DELETE /api/orders/{order_id}", "GET /api/orders/{order_id}", "GET /api/search"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			inv := buildShop(t, tc.opts)
			var got []string
			for _, e := range inv.Endpoints {
				got = append(got, e.Method+" "+e.Template)
				if tc.opts.Specs != nil && (e.Documented || e.Shadow || e.Zombie) {
					t.Errorf("%s %s is documented/shadow/zombie without a spec", e.Method, e.Template)
				}
			}
			if !slices.Equal(got, tc.want) {
				t.Errorf("Build(%s) endpoints:\n%q\nwant\n%q", tc.name, got, tc.want)
			}
		})
	}
}

func TestBuildInventoryShortWindowZombies(t *testing.T) {
	inv := buildShop(t, BuildOptions{Window: 2 * time.Hour, Now: inventoryBase.Add(7 * time.Hour)})
	for _, tc := range []struct {
		method, template string
		zombie           bool
	}{
		{"GET", "/api/health", false}, // called at 05:00 and 06:00
		{"GET", "/api/orders/{order_id}", true},
		{"GET", "/api/orders", true},
		{"DELETE", "/api/orders/{order_id}", false},
	} {
		if e := findEndpoint(inv, tc.method, tc.template); e == nil || e.Zombie != tc.zombie {
			t.Errorf("endpoint %s %s in a 2-hour window = %+v, want zombie %v", tc.method, tc.template, e, tc.zombie)
		}
	}
}

func TestBuildInventoryEmpty(t *testing.T) {
	inv, err := Build(context.Background(), openStore(t), BuildOptions{Now: inventoryBase})
	if err != nil {
		t.Fatalf("Build on an empty store: %v", err)
	}
	if inv.Endpoints == nil || len(inv.Endpoints) != 0 {
		t.Errorf("Build on an empty store = %v endpoints, want an empty, non-nil list", inv.Endpoints)
	}
	if _, err := Build(context.Background(), openStore(t), BuildOptions{}); err == nil {
		t.Errorf("Build without Now = nil error, want one")
	}
}

func TestServices(t *testing.T) {
	s := openStore(t)
	writeRequests(t, s, shopTraffic())
	got, err := Services(context.Background(), s)
	if err != nil || !slices.Equal(got, []string{"billing", "shop-api"}) {
		t.Errorf("Services = %v, %v; want billing, shop-api", got, err)
	}
}

// TestBuildInventoryCorrections checks that Build templates with the pins
// and do-not-merge paths it is given: a pin turns literal paths into one
// endpoint, and a do-not-merge path stays out of a trie collapse.
func TestBuildInventoryCorrections(t *testing.T) {
	s := openStore(t)
	names := slugs(t, 12)
	var reqs []req
	for i, n := range names {
		reqs = append(reqs, req{at: inventoryBase.Add(time.Duration(i) * time.Minute), service: "docs", method: "GET", path: "/reports/" + n, status: 200, ip: "10.0.0.1"})
	}
	for i, f := range []string{"readme", "invoice", "contract"} {
		reqs = append(reqs, req{at: inventoryBase.Add(time.Duration(i) * time.Minute), service: "docs", method: "GET", path: "/files/" + f, status: 200, ip: "10.0.0.2"})
	}
	writeRequests(t, s, reqs)
	build := func(opts BuildOptions) map[string]*Endpoint {
		t.Helper()
		opts.Now = inventoryBase.Add(time.Hour)
		inv, err := Build(context.Background(), s, opts)
		if err != nil {
			t.Fatalf("Build: %v", err)
		}
		out := map[string]*Endpoint{}
		for i := range inv.Endpoints {
			out[inv.Endpoints[i].Template] = &inv.Endpoints[i]
		}
		return out
	}
	templates := func(m map[string]*Endpoint) []string {
		return slices.Sorted(maps.Keys(m))
	}

	plain := build(BuildOptions{})
	if want := []string{"/files/contract", "/files/invoice", "/files/readme", "/reports/{report_id}"}; !slices.Equal(templates(plain), want) {
		t.Fatalf("Build without corrections = %q, want %q", templates(plain), want)
	}

	corrected := build(BuildOptions{
		Pins:       []ServicePath{{Path: "/files/{name}"}, {Service: "other", Path: "/reports/{report}"}},
		DoNotMerge: []ServicePath{{Service: "docs", Path: "/reports/" + names[0]}},
	})
	if want := []string{"/files/{name}", "/reports/" + names[0], "/reports/{report_id}"}; !slices.Equal(templates(corrected), want) {
		t.Fatalf("Build with corrections = %q, want %q", templates(corrected), want)
	}
	if e := corrected["/files/{name}"]; e.Hits != 3 || e.Source != SourcePin {
		t.Errorf("pinned endpoint = %d hits from %v, want 3 from the pin", e.Hits, e.Source)
	}
	if e := corrected["/reports/"+names[0]]; e.Hits != 1 {
		t.Errorf("do-not-merge endpoint = %d hits, want 1", e.Hits)
	}
	if e := corrected["/reports/{report_id}"]; e.Hits != 11 || e.Source != SourceTrie {
		t.Errorf("collapsed endpoint = %d hits from %v, want the other 11 from the trie", e.Hits, e.Source)
	}

	if _, err := Build(context.Background(), s, BuildOptions{Now: inventoryBase, Pins: []ServicePath{{Path: "files/{name}"}}}); err == nil {
		t.Errorf("Build with an invalid pin = nil error, want one")
	}
}

func TestCheckCorrections(t *testing.T) {
	tests := []struct {
		name             string
		pins, doNotMerge []ServicePath
		want             string // a part of the error; empty for none
	}{
		{"valid", []ServicePath{{Path: "/files/{name}"}, {Service: "s", Path: "/v2/reports/{year}-{month}"}},
			[]ServicePath{{Path: "/reports/daily"}, {Path: "/products/1234567890123"}}, ""},
		{"pin without slash", []ServicePath{{Path: "files/{name}"}}, nil, `does not start with "/"`},
		{"pin with open brace", []ServicePath{{Path: "/files/{name"}}, nil, `unmatched "{"`},
		{"pin with a grouped integer", []ServicePath{{Path: "/reports/2024/{month}"}}, nil, `segment "2024" is an integer`},
		{"literal with a parameter", nil, []ServicePath{{Path: "/reports/{id}"}}, "want a literal path"},
		{"literal with a grouped integer", nil, []ServicePath{{Service: "s", Path: "/orders/12345"}}, `"/orders/12345" for service "s": segment "12345" is an integer`},
		{"literal with a UUID", nil, []ServicePath{{Path: "/u/5f3c9a1e-8b2d-4c7e-9f10-2a3b4c5d6e7f"}}, "is a UUID"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := CheckCorrections(tc.pins, tc.doNotMerge)
			switch {
			case tc.want == "" && err != nil:
				t.Errorf("CheckCorrections(%v, %v) = %v, want nil", tc.pins, tc.doNotMerge, err)
			case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)):
				t.Errorf("CheckCorrections(%v, %v) = %v, want an error with %q", tc.pins, tc.doNotMerge, err, tc.want)
			}
		})
	}
}
