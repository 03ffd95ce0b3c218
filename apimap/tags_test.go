package apimap

import (
	"slices"
	"testing"
)

func tagNames(evidence []Evidence) []Tag {
	var out []Tag
	for _, e := range evidence {
		out = append(out, e.Tag)
	}
	return out
}

func TestClassifyEndpoint(t *testing.T) {
	tests := []struct {
		name        string
		facts       EndpointFacts
		functions   []Tag
		sensitivity []Tag
	}{
		{
			name:        "the DataVault export",
			facts:       EndpointFacts{Method: "GET", Template: "/admin/export", QueryParams: []string{"collection_id", "page"}, MeanResponseBytes: 187_000, MaxResponseBytes: 250_000},
			functions:   []Tag{TagAdmin, TagCRUDRead, TagExport},
			sensitivity: []Tag{SensitivityBulk},
		},
		{
			name:        "login",
			facts:       EndpointFacts{Method: "POST", Template: "/api/v2/auth/login"},
			functions:   []Tag{TagAuth, TagCRUDWrite},
			sensitivity: []Tag{SensitivityCredentials},
		},
		{
			name:        "sign-in split by a dash",
			facts:       EndpointFacts{Method: "POST", Template: "/sign-in"},
			functions:   []Tag{TagAuth, TagCRUDWrite},
			sensitivity: []Tag{SensitivityCredentials},
		},
		{
			name:      "health check",
			facts:     EndpointFacts{Method: "GET", Template: "/healthz"},
			functions: []Tag{TagCRUDRead, TagHealth},
		},
		{
			name:      "an object's status is not a health check",
			facts:     EndpointFacts{Method: "GET", Template: "/jobs/{job_id}/status"},
			functions: []Tag{TagCRUDRead},
		},
		{
			name:      "a health word on POST is not a health check",
			facts:     EndpointFacts{Method: "POST", Template: "/ping"},
			functions: []Tag{TagCRUDWrite},
		},
		{
			name:      "search by segment",
			facts:     EndpointFacts{Method: "GET", Template: "/api/v1/products/search"},
			functions: []Tag{TagCRUDRead, TagSearch},
		},
		{
			name:      "search by query parameter",
			facts:     EndpointFacts{Method: "GET", Template: "/products", QueryParams: []string{"q"}},
			functions: []Tag{TagCRUDRead, TagSearch},
		},
		{
			name:        "avatar upload",
			facts:       EndpointFacts{Method: "PUT", Template: "/users/{user_id}/avatar"},
			functions:   []Tag{TagCRUDWrite, TagUpload},
			sensitivity: []Tag{SensitivityPII},
		},
		{
			name:      "graphql",
			facts:     EndpointFacts{Method: "POST", Template: "/graphql"},
			functions: []Tag{TagCRUDWrite, TagGraphQL},
		},
		{
			name:        "a user's settings are not admin",
			facts:       EndpointFacts{Method: "GET", Template: "/users/{user_id}/settings"},
			functions:   []Tag{TagCRUDRead},
			sensitivity: []Tag{SensitivityPII},
		},
		{
			name:      "the system's settings are admin",
			facts:     EndpointFacts{Method: "PATCH", Template: "/settings"},
			functions: []Tag{TagAdmin, TagCRUDWrite},
		},
		{
			name:        "an API key in the query",
			facts:       EndpointFacts{Method: "GET", Template: "/v1/items", QueryParams: []string{"apiKey", "page_token"}},
			functions:   []Tag{TagCRUDRead},
			sensitivity: []Tag{SensitivityCredentials},
		},
		{
			name:      "a page token is not a credential",
			facts:     EndpointFacts{Method: "GET", Template: "/v1/items", QueryParams: []string{"page_token", "nextToken"}},
			functions: []Tag{TagCRUDRead},
		},
		{
			name:        "an e-mail in the path",
			facts:       EndpointFacts{Method: "GET", Template: "/contacts/by-email/{email}", PathSensitive: []SegmentKind{KindEmail}},
			functions:   []Tag{TagCRUDRead},
			sensitivity: []Tag{SensitivityPII},
		},
		{
			name:        "a JWT in the path",
			facts:       EndpointFacts{Method: "GET", Template: "/magic/{jwt}", PathSensitive: []SegmentKind{KindJWT}},
			functions:   []Tag{TagCRUDRead},
			sensitivity: []Tag{SensitivityCredentials},
		},
		{
			name:      "a huge response is an export",
			facts:     EndpointFacts{Method: "GET", Template: "/files/{file_id}", MaxResponseBytes: 2_000_000},
			functions: []Tag{TagCRUDRead, TagExport},
		},
		{
			name:        "all users is a bulk export of personal data",
			facts:       EndpointFacts{Method: "GET", Template: "/users/all"},
			functions:   []Tag{TagCRUDRead, TagExport},
			sensitivity: []Tag{SensitivityBulk, SensitivityPII},
		},
		{
			name:        "large responses of personal data are bulk",
			facts:       EndpointFacts{Method: "GET", Template: "/customers", QueryParams: []string{"email"}, MeanResponseBytes: 150_000},
			functions:   []Tag{TagCRUDRead},
			sensitivity: []Tag{SensitivityBulk, SensitivityPII},
		},
		{
			name:        "a password query parameter",
			facts:       EndpointFacts{Method: "GET", Template: "/legacy/check", QueryParams: []string{"password"}},
			functions:   []Tag{TagAuth, TagCRUDRead},
			sensitivity: []Tag{SensitivityCredentials},
		},
		{
			name:        "delete a customer",
			facts:       EndpointFacts{Method: "DELETE", Template: "/customers/{customer_id}"},
			functions:   []Tag{TagCRUDWrite},
			sensitivity: []Tag{SensitivityPII},
		},
		{
			name:  "OPTIONS has no CRUD tag",
			facts: EndpointFacts{Method: "OPTIONS", Template: "/widgets"},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := ClassifyEndpoint(tc.facts)
			if got := tagNames(c.Functions); !slices.Equal(got, tc.functions) {
				t.Errorf("ClassifyEndpoint(%s %s).Functions = %v, want %v", tc.facts.Method, tc.facts.Template, got, tc.functions)
			}
			if got := tagNames(c.Sensitivity); !slices.Equal(got, tc.sensitivity) {
				t.Errorf("ClassifyEndpoint(%s %s).Sensitivity = %v, want %v", tc.facts.Method, tc.facts.Template, got, tc.sensitivity)
			}
		})
	}
}

func TestClassifyEndpointEvidence(t *testing.T) {
	c := ClassifyEndpoint(EndpointFacts{Method: "GET", Template: "/admin/export", MeanResponseBytes: 187_000})
	want := map[Tag][]string{
		TagAdmin:        {`path segment "admin"`},
		TagExport:       {`path segment "export"`},
		TagCRUDRead:     {"GET on a collection (list)"},
		SensitivityBulk: {"export responses of 187 KB on average"},
	}
	for _, e := range slices.Concat(c.Functions, c.Sensitivity) {
		if !slices.Equal(e.Reasons, want[e.Tag]) {
			t.Errorf("ClassifyEndpoint(GET /admin/export) %s reasons = %q, want %q", e.Tag, e.Reasons, want[e.Tag])
		}
	}
	if !c.Has(TagAdmin) || !c.Has(SensitivityBulk) || c.Has(TagAuth) {
		t.Errorf("ClassifyEndpoint(GET /admin/export).Has: admin %v bulk %v auth %v, want true true false", c.Has(TagAdmin), c.Has(SensitivityBulk), c.Has(TagAuth))
	}
}

func TestIsCredentialParam(t *testing.T) {
	tests := []struct {
		name string
		want bool
	}{
		{"api_key", true},
		{"apiKey", true},
		{"key", true},
		{"access_token", true},
		{"client_secret", true},
		{"sessionid", true},
		{"user_password", true},
		{"page_token", false},
		{"nextToken", false},
		{"keyword", false},
		{"page", false},
	}
	for _, tc := range tests {
		if got := isCredentialParam(tc.name); got != tc.want {
			t.Errorf("isCredentialParam(%q) = %v, want %v", tc.name, got, tc.want)
		}
	}
}

func TestFormatBytes(t *testing.T) {
	tests := []struct {
		n    int64
		want string
	}{{512, "512 B"}, {187_000, "187 KB"}, {2_100_000, "2.1 MB"}}
	for _, tc := range tests {
		if got := formatBytes(tc.n); got != tc.want {
			t.Errorf("formatBytes(%d) = %q, want %q", tc.n, got, tc.want)
		}
	}
}
