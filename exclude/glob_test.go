package exclude

import (
	"regexp"
	"strings"
	"testing"
)

func TestGlobMatch(t *testing.T) {
	tests := []struct {
		pattern, path string
		want          bool
	}{
		{"/health", "/health", true},
		{"/health", "/healthz", false},
		{"/health", "/Health", false},
		{"/health*", "/healthz", true},
		{"/health*", "/health", true},
		{"/health*", "/health/live", false},
		{"/api/*/status", "/api/v1/status", true},
		{"/api/*/status", "/api/status", false},
		{"/api/*/status", "/api/v1/v2/status", false},
		{"/api/*/status", "/api//status", true},
		{"/admin/*", "/admin/users", true},
		{"/admin/*", "/admin/users/5", false},
		{"/admin/*", "/admin", false},
		{"/admin/**", "/admin/users/5", true},
		{"/admin/**", "/admin/", true},
		{"/admin/**", "/admin", false},
		{"/admin/**", "/administrator", false},
		{"/api/**/status", "/api/status", true},
		{"/api/**/status", "/api/a/b/c/status", true},
		{"/api/**/status", "/api/a/statusx", false},
		{"**", "/anything/at/all", true},
		{"**", "", true},
		{"*", "/x", false},
		{"/v1/users/{id}", "/v1/users/42", true},
		{"/v1/users/{id}", "/v1/users/", false},
		{"/v1/users/{id}", "/v1/users/42/keys", false},
		{"/v1/users/{id}/keys/{key_id}", "/v1/users/42/keys/k-1", true},
		{"/files/*.csv", "/files/report.csv", true},
		{"/files/*.csv", "/files/reportXcsv", false},
		{"/a+b/(c)", "/a+b/(c)", true},
		{"/a+b/(c)", "/aab/c", false},
		{"/a.b", "/aXb", false},
		{"/v1/*/export", "/v1/admin/export", true},
	}
	for _, tc := range tests {
		t.Run(tc.pattern+" "+tc.path, func(t *testing.T) {
			g, err := ParseGlob(tc.pattern)
			if err != nil {
				t.Fatalf("ParseGlob(%q) = %v", tc.pattern, err)
			}
			if got := g.Match(tc.path); got != tc.want {
				t.Errorf("ParseGlob(%q).Match(%q) = %v, want %v (regexp %s)", tc.pattern, tc.path, got, tc.want, g.Regexp())
			}
		})
	}
}

func TestParseGlobRefuses(t *testing.T) {
	tests := []struct{ pattern, want string }{
		{"", "empty"},
		{"health", "starts with /"},
		{"/v1/users/{id", "never closed"},
		{"/v1/users/id}", "closes nothing"},
		{"/v1/users/{}", "a name such as {id}"},
		{"/v1/users/{a b}", "a name such as {id}"},
		{"/v1/users/x{id}", "whole path segment"},
		{"/v1/\x00", "control character"},
		{"/v1/\u202e", "control character"},
		{"/" + strings.Repeat("*/", 40), "more than 32 wildcards"},
	}
	for _, tc := range tests {
		_, err := ParseGlob(tc.pattern)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("ParseGlob(%q) = %v, want an error containing %q", tc.pattern, err, tc.want)
		}
	}
}

func TestTextGlob(t *testing.T) {
	tests := []struct {
		pattern, ua string
		want        bool
	}{
		{"kube-probe/1.29", "kube-probe/1.29", true},
		{"kube-probe/1.29", "kube-probe/1.30", false},
		{"kube-probe/*", "kube-probe/1.30", true},
		{"*Pingdom*", "Mozilla/5.0 (compatible; Pingdom.com_bot_version_1.4)", true},
		{"*Pingdom*", "Mozilla/5.0", false},
		{"a.c", "abc", false},
	}
	for _, tc := range tests {
		g, err := ParseTextGlob(tc.pattern)
		if err != nil {
			t.Fatalf("ParseTextGlob(%q) = %v", tc.pattern, err)
		}
		if got := g.Match(tc.ua); got != tc.want {
			t.Errorf("ParseTextGlob(%q).Match(%q) = %v, want %v", tc.pattern, tc.ua, got, tc.want)
		}
	}
}

// FuzzParseGlob checks that any pattern either is refused or compiles to
// an anchored expression that matches a literal pattern exactly, and that
// a wildcard never lets a match run across a segment it may not cross.
func FuzzParseGlob(f *testing.F) {
	for _, s := range []string{"/health*", "/api/*/status", "**", "/v1/users/{id}", "/api/**/x", "/a+b", "/{", "/}", "/x/{id}/**"} {
		f.Add(s, "/api/v1/status")
	}
	f.Fuzz(func(t *testing.T, pattern, path string) {
		g, err := ParseGlob(pattern)
		if err != nil {
			return
		}
		re := g.Regexp()
		if !strings.HasPrefix(re, "^") || !strings.HasSuffix(re, "$") {
			t.Fatalf("ParseGlob(%q).Regexp() = %q, want an anchored expression", pattern, re)
		}
		if _, err := regexp.Compile(re); err != nil {
			t.Fatalf("ParseGlob(%q).Regexp() = %q does not compile: %v", pattern, re, err)
		}
		if !strings.ContainsAny(pattern, "*{") {
			if !g.Match(pattern) {
				t.Errorf("literal pattern %q does not match itself", pattern)
			}
			if path != pattern && g.Match(path) {
				t.Errorf("literal pattern %q matches %q", pattern, path)
			}
		}
		if !strings.Contains(pattern, "**") && g.Match(path) && strings.Count(path, "/") != strings.Count(pattern, "/") {
			t.Errorf("pattern %q without ** matches %q, which has another number of segments", pattern, path)
		}
	})
}

func FuzzParseTextGlob(f *testing.F) {
	for _, s := range []string{"kube-probe/*", "*Pingdom*", "a.c", "***"} {
		f.Add(s, "kube-probe/1.29")
	}
	f.Fuzz(func(t *testing.T, pattern, ua string) {
		g, err := ParseTextGlob(pattern)
		if err != nil {
			return
		}
		if !strings.Contains(pattern, "*") && g.Match(ua) != (ua == pattern) {
			t.Errorf("literal user agent %q: Match(%q) = %v", pattern, ua, g.Match(ua))
		}
		if strings.Contains(pattern, "*") && checkText(ua) == nil && g.Match(ua) {
			for _, part := range strings.Split(pattern, "*") {
				if !strings.Contains(ua, part) {
					t.Errorf("pattern %q matches %q, which lacks %q", pattern, ua, part)
				}
			}
		}
	})
}
