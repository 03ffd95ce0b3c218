package apimap

import (
	"context"
	"strings"
	"testing"

	"github.com/tracehound/tracehound/store"
)

func TestInventorySQL(t *testing.T) {
	for name, q := range map[string]string{
		"observations": observationsSQL, "stats": statsSQL, "breakdown": breakdownSQL, "params": paramsSQL, "services": servicesSQL,
	} {
		if strings.Contains(q, "/*path_key*/") {
			t.Errorf("%s.sql still has a /*path_key*/ placeholder", name)
		}
		golden(t, "testdata/sql/"+name+".golden.sql", []byte(q))
	}
}

func TestPathKeySQL(t *testing.T) {
	s := openStore(t)
	const uuid = "5f3c9a1e-8b2d-4c7e-9f10-2a3b4c5d6e7f"
	const zeroUUID = "00000000-0000-0000-0000-000000000000"
	tests := []struct{ path, route, want string }{
		{"/v1/documents/123", "", "/v1/documents/0000000000"},
		{"/v1/documents/123/content", "", "/v1/documents/0000000000/content"},
		{"/a/12/34/56/b", "", "/a/0000000000/0000000000/0000000000/b"},
		{"/v1/shares/" + uuid, "", "/v1/shares/" + zeroUUID},
		{"/v1/shares/" + strings.ToUpper(uuid) + "/12", "", "/v1/shares/" + zeroUUID + "/0000000000"},
		{"/v1/documents", "", "/v1/documents"},
		{"/v2/page/7", "", "/v2/page/7"},                                // one digit: the Templater decides
		{"/events/1712345678", "", "/events/1712345678"},                // an epoch date keeps its kind
		{"/cards/4111111111111111", "", "/cards/4111111111111111"},      // so does a card number
		{"/a//12/", "", "/a//0000000000/"},                              // empty segments are the Templater's
		{"/items/12abc", "", "/items/12abc"},                            // not an integer
		{"/v1/documents/123", "/v1/documents/{id}", ""},                 // the route names it
		{"/v1/health", "/v1/health", ""},                                // a literal route too
		{"/static/123/app.js", "/static/", "/static/0000000000/app.js"}, // a prefix route does not
	}
	for _, tc := range tests {
		res, err := s.Query(context.Background(), "SELECT "+pathKeySQL+" AS k FROM (SELECT CAST(? AS VARCHAR) AS http_path, CAST(? AS VARCHAR) AS http_route)",
			store.QueryOptions{}, tc.path, tc.route)
		if err != nil {
			t.Fatalf("path key of %q: %v", tc.path, err)
		}
		if got := res.Rows[0][0]; got != tc.want {
			t.Errorf("path key of %q (route %q) = %q, want %q", tc.path, tc.route, got, tc.want)
		}
	}
}
