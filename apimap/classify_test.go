package apimap

import "testing"

func TestClassifySegment(t *testing.T) {
	tests := []struct {
		seg  string
		want SegmentKind
	}{
		// Never parameters: reserved segments and dictionary words.
		{"api", KindLiteral},
		{"API", KindLiteral},
		{"v1", KindLiteral},
		{"V12", KindLiteral},
		{"2.0", KindLiteral},
		{"10.15", KindLiteral},
		{"users", KindLiteral},
		{"payment-methods", KindLiteral},
		{"onboardingStatus", KindLiteral},
		{"line_items", KindLiteral},
		{"conversations.history", KindLiteral},
		{"oauth2", KindLiteral},
		{"2fa", KindLiteral},
		{"page2", KindLiteral},
		{"api-v2", KindLiteral},
		{"shipped", KindLiteral},
		{"categories", KindLiteral},
		{"HTTPServer", KindLiteral},
		{"1", KindLiteral}, // single digits need peer evidence
		// Undecided slugs: literal until the trie decides.
		{"octocat", KindLiteral},
		{"report.pdf", KindLiteral},
		{"dQw4w9WgXcQ", KindLiteral},
		{"my-first-blog-post", KindLiteral},
		{"Zürich", KindLiteral},
		// Numbers and dates.
		{"42", KindInt},
		{"0012", KindInt},
		{"1460323737035677698", KindInt},
		{"1700000000", KindDate},
		{"1700000000123", KindDate},
		{"2024-01-15", KindDate},
		{"2024-01-15T10:00:00Z", KindDate},
		{"2024-13-15", KindAlnumID}, // no month 13: a digit group
		{"4155551234", KindInt},     // bare digits are ids, not phones
		// Structured ids.
		{"550e8400-e29b-41d4-a716-446655440000", KindUUID},
		{"550E8400E29B41D4A716446655440000", KindUUID},
		{"507f1f77bcf86cd799439011", KindObjectID},
		{"01ARZ3NDEKTSV4RRFFQ69G5FAV", KindULID},
		{"da39a3ee5e6b4b0d3255bfef95601890afd80709", KindHex},
		{"abc123", KindHex},
		{"a1b2-c3d4", KindHex},
		{"deadbeef", KindLiteral}, // hex letters without a digit are not an id
		{"cus_NffrFeUfNV2Hib", KindAlnumID},
		{"user123", KindAlnumID},
		{"INV-2024-0001", KindAlnumID},
		{"123-456", KindAlnumID},
		{"1.2.3", KindAlnumID},
		{"sha256", KindLiteral},
		// Tokens.
		{"how-to-train-your-dragon", KindToken},
		{"11dFghVXANMlKmJXsNCbNl", KindToken},
		{"sha256:abcdef", KindToken},
		{"a b", KindToken},
		{"x%zz", KindToken},
		{"{id}", KindToken},
		{"a?b", KindToken},
		{"\xff\xfe", KindToken},
		// Sensitive values.
		{"john.doe@example.com", KindEmail},
		{"a@b", KindToken},
		{"192.168.1.10", KindIP},
		{"2001:db8::1", KindIP},
		{"256.1.1.1", KindAlnumID}, // not an address: a digit group
		{"eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.c2ln", KindJWT},
		{"eyJub3QiOiJhIGp3dCJ9.eyJzdWIiOiIxIn0.c2ln", KindAlnumID}, // header without "alg"
		{"+14155551234", KindPhone},
		{"415-555-1234", KindPhone},
		{"(415) 555-1234", KindPhone},
		{"123-45-6789", KindSSN},
		{"4111111111111111", KindCard},
		{"4111-1111-1111-1111", KindCard},
		{"4111111111111112", KindInt}, // fails Luhn
		{"378282246310005", KindCard},
	}
	for _, tc := range tests {
		if got := ClassifySegment(tc.seg); got != tc.want {
			t.Errorf("ClassifySegment(%q) = %v, want %v", tc.seg, got, tc.want)
		}
	}
}

func TestSegmentKindSensitive(t *testing.T) {
	sensitive := map[SegmentKind]bool{KindEmail: true, KindIP: true, KindJWT: true, KindPhone: true, KindSSN: true, KindCard: true}
	for k := KindLiteral; k < kindCount; k++ {
		if got := k.Sensitive(); got != sensitive[k] {
			t.Errorf("%v.Sensitive() = %v, want %v", k, got, sensitive[k])
		}
	}
}

func TestSegmentKindString(t *testing.T) {
	seen := make(map[string]SegmentKind)
	for k := KindLiteral; k < kindCount; k++ {
		name := k.String()
		if name == "" || name == "unknown" {
			t.Errorf("SegmentKind(%d).String() = %q", k, name)
		}
		if other, dup := seen[name]; dup {
			t.Errorf("SegmentKind(%d) and SegmentKind(%d) are both %q", k, other, name)
		}
		seen[name] = k
	}
	if got := kindCount.String(); got != "unknown" {
		t.Errorf("SegmentKind(%d).String() = %q, want %q", kindCount, got, "unknown")
	}
}

func TestIsDictionarySegment(t *testing.T) {
	tests := []struct {
		seg  string
		want bool
	}{
		{"users", true},
		{"userPreferences", true},
		{"order-items", true},
		{"get-user-preferences", true},
		{"get-all-user-preferences", false}, // four words: a content slug
		{"archived", true},
		{"shopping", true},
		{"uploader", true},
		{"leaves", true},
		{"companies", true},
		{"v2", true},
		{"api-v2", true},
		{"top-10", true},
		{"top-100", false},
		{"report.pdf", false},
		{"openapi.json", false},
		{"octocat", false},
		{"x", false},
		{"", false},
		{"123", false},
	}
	for _, tc := range tests {
		if got := isDictionarySegment(tc.seg); got != tc.want {
			t.Errorf("isDictionarySegment(%q) = %v, want %v", tc.seg, got, tc.want)
		}
	}
}

func TestForEachToken(t *testing.T) {
	tests := []struct {
		in   string
		want []string
	}{
		{"onboardingStatus", []string{"onboarding", "Status"}},
		{"HTTPServer", []string{"HTTP", "Server"}},
		{"payment_methods.v2", []string{"payment", "methods", "v2"}},
		{"oauth2Callback", []string{"oauth2", "Callback"}},
		{"--a--", []string{"a"}},
		{"", nil},
	}
	for _, tc := range tests {
		var got []string
		forEachToken(tc.in, func(tok string) bool {
			got = append(got, tok)
			return true
		})
		if !equalStrings(got, tc.want) {
			t.Errorf("forEachToken(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

func TestSingular(t *testing.T) {
	tests := []struct{ in, want string }{
		{"documents", "document"},
		{"categories", "category"},
		{"addresses", "address"},
		{"boxes", "box"},
		{"branches", "branch"},
		{"people", "person"},
		{"status", "status"},
		{"statuses", "status"},
		{"ids", "id"},
		{"js", "js"},
		{"dns", "dns"},
		{"data", "data"},
		{"user", "user"},
	}
	for _, tc := range tests {
		if got := singular(tc.in); got != tc.want {
			t.Errorf("singular(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

func equalStrings(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func BenchmarkClassifySegment(b *testing.B) {
	segs := []string{"users", "550e8400-e29b-41d4-a716-446655440000", "12345", "payment-methods", "octocat", "cus_NffrFeUfNV2Hib"}
	b.ReportAllocs()
	for b.Loop() {
		for _, s := range segs {
			ClassifySegment(s)
		}
	}
}
