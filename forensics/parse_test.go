package forensics

import (
	"errors"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/tracehound/tracehound/sqlguard"
)

// testCatalog mirrors part of the DataVault API map.
var testCatalog = StaticCatalog{
	{Service: "datavault-api", Method: "GET", Template: "/v1/admin/export", QueryParams: []string{"collection_id", "limit", "page"}},
	{Service: "datavault-api", Method: "GET", Template: "/v1/admin/users", QueryParams: []string{"limit", "page"}},
	{Service: "datavault-api", Method: "GET", Template: "/v1/documents", QueryParams: []string{"limit", "page"}},
	{Service: "datavault-api", Method: "GET", Template: "/v1/documents/{id}"},
	{Service: "datavault-api", Method: "GET", Template: "/v1/search", QueryParams: []string{"limit", "page", "q"}},
	{Service: "datavault-api", Method: "GET", Template: "/v1/collections/{id}/documents", QueryParams: []string{"limit", "page"}},
	{Service: "datavault-api", Method: "POST", Template: "/v1/auth/login"},
	{Service: "billing", Method: "GET", Template: "/api/accounts/{id}/invoices", QueryParams: []string{"accountId", "invoice-ids"}},
}

var testNow = time.Date(2026, 3, 8, 23, 30, 0, 0, time.UTC)

func TestParseResolvesParameters(t *testing.T) {
	tests := []struct {
		q, want string
	}{
		{"count unique collection IDs on /admin/export", "count_distinct param:collection_id"},
		{"count distinct collections on /admin/export", "count_distinct param:collection_id"},
		{"how many distinct page numbers on /admin/export", "count_distinct param:page"},
		{"how many different pages on /v1/documents", "count_distinct param:page"},
		{"count distinct account ids on /invoices", "count_distinct param:accountId"},
		{"count distinct invoice ids on /invoices", "count_distinct param:invoice-ids"},
		{"count distinct query parameter q on /search", "count_distinct param:q"},
	}
	for _, tc := range tests {
		ir, err := Parse(tc.q, testCatalog)
		if err != nil {
			t.Errorf("Parse(%q): %v", tc.q, err)
			continue
		}
		if got := ir.String(); !strings.HasPrefix(got, tc.want+" ") {
			t.Errorf("Parse(%q) = %s, want prefix %s", tc.q, got, tc.want)
		}
	}
}

func TestParseEndpoints(t *testing.T) {
	tests := []struct {
		q, want string
	}{
		{"requests to /admin/export", "endpoint template /v1/admin/export"},
		{"requests to /v1/admin/export/", "endpoint template /v1/admin/export"},
		{"requests to /documents", "endpoint template /v1/documents"},
		{"requests to /documents/{doc}", "endpoint template /v1/documents/{id}"},
		{"requests to /admin/*", "endpoint glob /admin/*"},
		{"requests to /v1/documents/42", "endpoint suffix /v1/documents/42"},
		{"requests to /nowhere", "endpoint suffix /nowhere"},
	}
	for _, tc := range tests {
		ir, err := Parse(tc.q, testCatalog)
		if err != nil {
			t.Errorf("Parse(%q): %v", tc.q, err)
			continue
		}
		if got := ir.String(); !strings.Contains(got, tc.want) {
			t.Errorf("Parse(%q) = %s, want it to contain %s", tc.q, got, tc.want)
		}
	}
}

func TestParseRefusesWithSuggestions(t *testing.T) {
	tests := []struct {
		q, want string
	}{
		{"top 10 IPs by bytez", `did you mean "bytes"`},
		{"count distinct colection ids on /admin/export", `"collection_id"`},
		{"show requets from 1.2.3.4", `did you mean "requests"`},
		{"how many distinct widgets on /admin/export", "observed: collection_id, limit, page"},
		{"requests in the last 3 eons", "last 7 days"},
		{"", "empty"},
		{strings.Repeat("requests ", 400), "too long"},
	}
	for _, tc := range tests {
		_, err := Parse(tc.q, testCatalog)
		var pe *ParseError
		if !errors.As(err, &pe) || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("Parse(%q) error = %v, want a ParseError containing %q", truncate(tc.q, 40), err, tc.want)
		}
	}
}

func TestUnknownPathNotes(t *testing.T) {
	ir, err := Parse("requests to /admin/exprot", testCatalog)
	if err != nil {
		t.Fatal(err)
	}
	if len(ir.Notes) != 1 || !strings.Contains(ir.Notes[0], "/v1/admin/export") {
		t.Errorf("Parse(/admin/exprot).Notes = %q, want a suggestion of /v1/admin/export", ir.Notes)
	}
}

// TestCompileKeepsValuesOutOfSQL checks that user text reaches the SQL only
// as arguments, and in literal mode only quoted.
func TestCompileKeepsValuesOutOfSQL(t *testing.T) {
	q := `requests with user agent "x') OR 1=1 --" from 1.2.3.4 using key "k'; DROP TABLE traces" in the last 2 hours`
	a, err := Prepare(q, testCatalog, testNow, CompileOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(a.SQL, "OR 1=1") || strings.Contains(a.SQL, "DROP") {
		t.Errorf("Prepare(%q).SQL holds user text:\n%s", q, a.SQL)
	}
	if err := sqlguard.New().Check(a.SQL); err != nil {
		t.Errorf("guard refused the compiled SQL: %v", err)
	}
	ir, err := Parse(q, testCatalog)
	if err != nil {
		t.Fatal(err)
	}
	r, err := ToRule(ir, RuleOptions{Window: 10 * time.Minute, Threshold: 5})
	if err != nil {
		t.Fatal(err)
	}
	if err := sqlguard.New().Check(r.SQL); err != nil {
		t.Errorf("guard refused the rule SQL: %v\n%s", err, r.SQL)
	}
	if !strings.Contains(r.SQL, "'k''; DROP TABLE traces'") {
		t.Errorf("ToRule SQL does not quote the key as a literal:\n%s", r.SQL)
	}
}

func TestCompileWindows(t *testing.T) {
	tests := []struct {
		q, want, bucket string
	}{
		{"requests in the last 7 days", "timestamp >= now() - INTERVAL 7 DAY AND timestamp < now()", "day"},
		{"requests in the last 24h", "timestamp >= now() - INTERVAL 24 HOUR AND timestamp < now()", "hour"},
		{"requests", "timestamp >= now() - INTERVAL 24 HOUR AND timestamp < now()", "hour"},
		{"requests yesterday", "timestamp >= toStartOfDay(now()) - INTERVAL 1 DAY AND timestamp < toStartOfDay(now())", "hour"},
		{"requests this week", "timestamp >= toStartOfInterval(now(), INTERVAL 1 WEEK) AND timestamp < now()", "day"},
		{"requests since 2026-03-07", "timestamp >= toDateTime64('2026-03-07 00:00:00', 6, 'UTC') AND timestamp < now()", "hour"},
		{"requests between 2026-03-01 and 2026-03-02", "timestamp < toDateTime64('2026-03-03 00:00:00', 6, 'UTC')", "hour"},
	}
	for _, tc := range tests {
		ir, err := Parse(tc.q, nil)
		if err != nil {
			t.Fatalf("Parse(%q): %v", tc.q, err)
		}
		c, err := Compile(ir, CompileOptions{Now: testNow})
		if err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(c.Main.SQL, tc.want) || c.Timeline == nil || c.Bucket != tc.bucket || !strings.Contains(c.Main.SQL, "LIMIT 1000") {
			t.Errorf("Compile(%q) = %s (bucket %s), want %q, bucket %s and LIMIT 1000", tc.q, c.Main.SQL, c.Bucket, tc.want, tc.bucket)
		}
	}
}

func TestToRule(t *testing.T) {
	ir, err := Parse("requests to /admin/export", testCatalog)
	if err != nil {
		t.Fatal(err)
	}
	r, err := ToRule(ir, RuleOptions{Window: time.Hour, Threshold: 20, Interval: time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	want := "SELECT peer_ip AS ip, count() AS value, count() AS requests\nFROM traces\nWHERE span_kind = 'Server'\n  AND timestamp >= now() - INTERVAL 60 MINUTE AND timestamp < now()\n  AND http_path = '/v1/admin/export'\nGROUP BY ip\nHAVING value > 20"
	if r.SQL != want {
		t.Errorf("ToRule SQL =\n%s\nwant\n%s", r.SQL, want)
	}
	if r.Name != "forensics-count-v1-admin-export" || r.Interval != time.Minute || len(r.GroupBy) != 1 || r.GroupBy[0] != "ip" {
		t.Errorf("ToRule = %+v", r)
	}
}

func TestCIDR(t *testing.T) {
	c := &compiler{ir: &IR{}, opts: CompileOptions{}}
	for _, tc := range []struct{ cidr, want string }{
		{"10.40.0.0/16", "^(10[.]40[.])"},
		{"10.0.0.0/7", "^(10[.]|11[.])"},
		{"1.2.3.4/32", "^(1[.]2[.]3[.]4)$"},
	} {
		c.args = nil
		if _, err := c.cidr(tc.cidr); err != nil || c.args[0] != tc.want {
			t.Errorf("cidr(%s) = %v, %v; want %s", tc.cidr, c.args, err, tc.want)
		}
	}
}

func TestParseAddresses(t *testing.T) {
	tests := []struct {
		q, want string
	}{
		{"requests from 2001:db8:42::/48 in the last day", "list | ip cidr 2001:db8:42::/48 | last 1d"},
		{"requests from 2001:DB8:42::1/48", "ip cidr 2001:db8:42::/48 |"}, // masked, canonical
		{"top paths from 2a03:b0c0::/32", "top | ip cidr 2a03:b0c0::/32 | last 24h | by endpoint"},
		{"requests from 2001:db8::1/128", "ip cidr 2001:db8::1/128 |"},
		{"requests from ::/0", "ip cidr ::/0 |"},
		{"requests from 2001:db8::", "ip = 2001:db8:: |"},                    // an address ending in ::
		{"requests from 2001:db8::.", "ip = 2001:db8:: |"},                   // and a full stop
		{"requests from 2001:0DB8:0:0::1:", "ip = 2001:db8::1 |"},            // canonical, the colon dropped
		{"requests from ::ffff:1.2.3.4", "ip = 1.2.3.4 |"},                   // an IPv4-mapped address is the IPv4 one
		{"requests from ::ffff:1.2.3.0/120", "ip cidr ::ffff:1.2.3.0/120 |"}, // a prefix stays IPv6
		{"requests excluding 2001:db8::/32.", "not ip cidr 2001:db8::/32 |"},
		{"requests by 2001:db8::/32", "ip cidr 2001:db8::/32 |"},
		{"requests from 10.1.2.3/8", "ip cidr 10.0.0.0/8 |"},
	}
	for _, tc := range tests {
		ir, err := Parse(tc.q, testCatalog)
		if err != nil {
			t.Errorf("Parse(%q): %v", tc.q, err)
			continue
		}
		if got := ir.String(); !strings.Contains(got, tc.want) {
			t.Errorf("Parse(%q) = %s, want it to contain %s", tc.q, got, tc.want)
		}
	}
}

// TestCompileArgsInOrder checks that positional arguments follow their
// placeholders when the conditions are not in the order of the filters
// (exclusions come first, then filters grouped by field).
func TestCompileArgsInOrder(t *testing.T) {
	// A parameter name that is not a plain identifier is an argument too,
	// in the SELECT list.
	cat := append(StaticCatalog{{Service: "odata", Method: "GET", Template: "/odata/items", QueryParams: []string{"$top"}}}, testCatalog...)
	tests := []struct {
		q              string
		want, timeline []any
	}{
		{"requests to /admin/export excluding 1.2.3.4", []any{"1.2.3.4", "/v1/admin/export"}, nil},
		{"requests from 1.2.3.4 to /admin/export from 5.6.7.8 excluding key k1", []any{"k1", "1.2.3.4", "5.6.7.8", "/v1/admin/export"}, nil},
		{"count distinct query parameter $top on /odata/items excluding 1.2.3.4",
			[]any{"$top", "1.2.3.4", "/odata/items", "$top"}, []any{"$top", "1.2.3.4", "/odata/items", "$top"}},
		{"requests per query parameter $top on /odata/items excluding 1.2.3.4",
			[]any{"$top", "1.2.3.4", "/odata/items"}, []any{}},
	}
	for _, tc := range tests {
		a, err := Prepare(tc.q, cat, testNow, CompileOptions{})
		if err != nil {
			t.Fatalf("Prepare(%q): %v", tc.q, err)
		}
		if !slices.Equal(a.Args, tc.want) {
			t.Errorf("Prepare(%q).Args = %v, want %v for\n%s", tc.q, a.Args, tc.want, a.SQL)
		}
		if tc.timeline == nil {
			tc.timeline = tc.want
		}
		if len(tc.timeline) > 0 && (a.Timeline == nil || !slices.Equal(a.Timeline.Args, tc.timeline)) {
			t.Errorf("Prepare(%q).Timeline = %+v, want args %v", tc.q, a.Timeline, tc.timeline)
		}
		if n := strings.Count(a.SQL, "?"); n != len(a.Args) {
			t.Errorf("Prepare(%q): %d placeholders, %d arguments", tc.q, n, len(a.Args))
		}
	}
}

func FuzzParse(f *testing.F) {
	for _, q := range append(Examples,
		"requests from 10.0.0.0/8 between 2026-03-01 and 2026-03-02 to /admin/export?collection_id=5&page=2",
		"top paths from 2a03:b0c0::/32 excluding 2001:DB8:42::7 by day",
		"count requests from 2001:db8:42::/48 or ::ffff:192.0.2.0/120 or fe80::1%eth0 in the last day",
		"requests from 2001:db8:: excluding ::/0.",
		`top 5 user agents with user agent "python" by bytes uploaded since 2026-01-01`,
		"count distinct collection ids per IP excluding 1.2.3.4 status 4xx last 90 minutes",
		"page > 10 and limit of 500 on /collections/{id}/documents this week",
	) {
		f.Add(q)
	}
	guard := sqlguard.New()
	f.Fuzz(func(t *testing.T, q string) {
		ir, err := Parse(q, testCatalog)
		if err != nil {
			var pe *ParseError
			if !errors.As(err, &pe) {
				t.Fatalf("Parse(%q) error %v is not a ParseError", q, err)
			}
			return
		}
		for _, f := range ir.Filters {
			if p, ok := ipv6Prefix(f); ok {
				// The pattern compiles and matches the prefix's own address.
				if re, err := regexp.Compile(ipv6Pattern(p)); err != nil || !re.MatchString(p.Addr().String()) {
					t.Fatalf("Parse(%q): the pattern of %s is %v, %v", q, p, re, err)
				}
			}
		}
		c, err := Compile(ir, CompileOptions{Now: testNow})
		if err != nil {
			return
		}
		if !strings.Contains(c.Main.SQL, "timestamp >= ") || !strings.Contains(c.Main.SQL, "timestamp < ") {
			t.Fatalf("Compile(%q) is not time-bounded:\n%s", q, c.Main.SQL)
		}
		if err := guard.Check(c.Main.SQL); err != nil {
			t.Fatalf("Compile(%q) refused by the guard: %v\n%s", q, err, c.Main.SQL)
		}
		// Values are arguments, never SQL text: every ? is a placeholder.
		if n := strings.Count(c.Main.SQL, "?"); n != len(c.Main.Args) {
			t.Fatalf("Compile(%q) has %d placeholders and %d arguments:\n%s", q, n, len(c.Main.Args), c.Main.SQL)
		}
		if c.Timeline != nil && strings.Count(c.Timeline.SQL, "?") != len(c.Timeline.Args) {
			t.Fatalf("Compile(%q).Timeline has %d arguments:\n%s", q, len(c.Timeline.Args), c.Timeline.SQL)
		}
		if _, err := sqlguard.BindNow(c.Main.SQL, testNow); err != nil {
			t.Fatalf("BindNow(Compile(%q)): %v", q, err)
		}
		if _, err := ToRule(ir, RuleOptions{}); err != nil && !errors.Is(err, ErrUnsupported) && !errors.Is(err, ErrNeedsEnrichment) {
			t.Fatalf("ToRule(%q): %v", q, err)
		}
	})
}

func BenchmarkParseCompile(b *testing.B) {
	qs := Examples
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		ir, err := Parse(qs[i%len(qs)], testCatalog)
		if err != nil {
			b.Fatal(err)
		}
		if _, err := Compile(ir, CompileOptions{Now: testNow}); err != nil {
			b.Fatal(err)
		}
	}
}
