package apimap

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"
)

func TestDiffSpec(t *testing.T) {
	spec := loadSpecFile(t, "testdata/spec/datavault.yaml")
	now := time.Date(2024, 6, 30, 0, 0, 0, 0, time.UTC)
	recent := now.Add(-time.Hour)
	ep := func(method, template string, hits int64, lastSeen time.Time, codes map[int]int64, query ...string) InventoryEndpoint {
		return InventoryEndpoint{Service: "datavault", Method: method, Template: template, Hits: hits, LastSeen: lastSeen, StatusCodes: codes, QueryParams: query}
	}
	endpoints := []InventoryEndpoint{
		ep("GET", "/v1/documents/{documentId}", 100, recent, map[int]int64{200: 90, 206: 2, 404: 5, 429: 3, 500: 5, 503: 1}, "fields"),
		ep("GET", "/v1/documents", 50, recent, map[int]int64{200: 50}, "page", "limit", "sort", "sort"),
		ep("PATCH", "/v1/documents/{documentId}", 3, recent, map[int]int64{200: 3}),
		ep("PUT", "/v1/documents/{documentId}", 2, recent, map[int]int64{405: 2}),
		ep("OPTIONS", "/v1/documents", 10, recent, map[int]int64{204: 10}),
		ep("HEAD", "/v1/documents/{documentId}", 1, recent, map[int]int64{200: 1}),
		ep("GET", "/admin/export", 14603, recent, map[int]int64{200: 14603}, "collection_id", "page"),
		ep("GET", "/wp-login.php", 3, recent, map[int]int64{404: 3}),
		ep("GET", "/v1/internal/debug", 7, recent, map[int]int64{404: 7}),
		ep("GET", "/v1/legacy/export", 4, now.Add(-48*time.Hour), map[int]int64{200: 4}),
		ep("GET", "/v1/documents/search", 5, now.Add(-40*24*time.Hour), map[int]int64{200: 5}, "q"),
		ep("GET", "/v1/collections/{collectionId}/documents", 1, time.Time{}, map[int]int64{503: 1}),
		ep("GET", "/v1/files/{name}.{ext}", 0, recent, nil),
	}
	d := DiffSpec(spec, endpoints, DiffOptions{Now: now})

	var shadow, zombies, drift []string
	for _, s := range d.Shadow {
		shadow = append(shadow, fmt.Sprintf("%s %s %v", s.Endpoint.Method, s.Endpoint.Template, s.Reason))
	}
	for _, z := range d.Zombies {
		zombies = append(zombies, fmt.Sprintf("%s %s %v hits=%d seen=%v", z.Operation.Method, z.Operation.Path, z.Kind, z.Hits, !z.LastSeen.IsZero()))
	}
	for _, dr := range d.Drift {
		drift = append(drift, fmt.Sprintf("%s %s %v %s %s", dr.Endpoint.Method, dr.Endpoint.Template, dr.Kind, dr.SpecPath, strings.Join(dr.Values, ",")))
	}
	check := func(what string, got, want []string) {
		t.Helper()
		if !slices.Equal(got, want) {
			t.Errorf("DiffSpec %s:\n%s\nwant\n%s", what, strings.Join(got, "\n"), strings.Join(want, "\n"))
		}
	}
	check("shadow", shadow, []string{
		"GET /admin/export path_undocumented",
		"PATCH /v1/documents/{documentId} method_undocumented",
		"GET /v1/internal/debug path_undocumented",
	})
	check("zombies", zombies, []string{
		"GET /status unused hits=0 seen=false",
		"POST /v1/documents unused hits=0 seen=false",
		"GET /v1/documents/search unused hits=0 seen=true",
		"DELETE /v1/documents/{documentId} unused hits=0 seen=false",
		"GET /v1/files/{name}.{ext} unused hits=0 seen=false",
		"GET /v1/legacy/export deprecated_live hits=4 seen=true",
	})
	check("drift", drift, []string{
		"GET /v1/documents query_param /v1/documents sort",
		"GET /v1/documents/{documentId} status /v1/documents/{documentId} 206",
		"GET /v1/documents/{documentId} query_param /v1/documents/{documentId} fields",
		"PATCH /v1/documents/{documentId} method /v1/documents/{documentId} PATCH",
		"PUT /v1/documents/{documentId} method /v1/documents/{documentId} PUT",
	})
}

func TestDiffSpecWindow(t *testing.T) {
	spec := loadSpecFile(t, "testdata/spec/minimal.json")
	now := time.Date(2024, 6, 30, 0, 0, 0, 0, time.UTC)
	endpoints := []InventoryEndpoint{{Method: "GET", Template: "/users/me", Hits: 9, LastSeen: now.Add(-10 * 24 * time.Hour)}}
	tests := []struct {
		window     time.Duration
		wantZombie bool
	}{
		{0, false}, // the 30-day default
		{7 * 24 * time.Hour, true},
		{11 * 24 * time.Hour, false},
	}
	for _, tc := range tests {
		d := DiffSpec(spec, endpoints, DiffOptions{Now: now, Window: tc.window})
		zombie := slices.ContainsFunc(d.Zombies, func(z Zombie) bool { return z.Operation.OperationID == "me" })
		if zombie != tc.wantZombie {
			t.Errorf("DiffSpec(window %v): /users/me zombie = %v, want %v", tc.window, zombie, tc.wantZombie)
		}
	}
}

func TestHasRealTraffic(t *testing.T) {
	tests := []struct {
		hits  int64
		codes map[int]int64
		want  bool
	}{
		{1, map[int]int64{200: 1}, true},
		{1, map[int]int64{302: 1}, true},
		{2, map[int]int64{503: 2}, true},
		{4, map[int]int64{404: 3, 401: 1}, false},
		{5, map[int]int64{404: 5}, true},
		{4, nil, false},
		{4, map[int]int64{200: 0, 404: 4}, false},
	}
	for _, tc := range tests {
		if got := hasRealTraffic(InventoryEndpoint{Hits: tc.hits, StatusCodes: tc.codes}); got != tc.want {
			t.Errorf("hasRealTraffic(hits %d, codes %v) = %v, want %v", tc.hits, tc.codes, got, tc.want)
		}
	}
}
