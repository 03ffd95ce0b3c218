package forensics_test

import (
	"context"
	"net/netip"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/tracehound/tracehound/forensics"
	"github.com/tracehound/tracehound/sqlguard"
	"github.com/tracehound/tracehound/store"
)

// ipv6Inside returns the peer_ip texts of ipv6Clients inside prefix, as
// net/netip reads them (zone ignored), and their requests in the last day
// and in the last 7 days.
func ipv6Inside(t *testing.T, prefix string) (texts []string, lastDay, week int) {
	t.Helper()
	p := netip.MustParsePrefix(prefix)
	for _, c := range ipv6Clients {
		a, err := netip.ParseAddr(c.peer)
		if err != nil {
			t.Fatalf("fixture address %q: %v", c.peer, err)
		}
		if a.Is6() && p.Contains(a.WithZone("")) {
			texts = append(texts, c.peer)
			lastDay += c.lastDay
			week += c.lastDay + c.earlier
		}
	}
	return texts, lastDay, week
}

// TestIPv6Questions asks questions with IPv6 prefixes and addresses of the
// seeded store. Each answer must equal the figures of the IPv6 traffic
// written into it (net/netip deciding which addresses are inside), and the
// pattern the question compiles to without the store (Prepare) must give
// the same answer as the resolved question (Ask).
func TestIPv6Questions(t *testing.T) {
	f := seeded(t)
	ctx := context.Background()
	_, in48Day, in48Week := ipv6Inside(t, "2001:db8:42::/48")
	_, in32Day, _ := ipv6Inside(t, "2a03:b0c0::/32")
	all, allDay, _ := ipv6Inside(t, "::/0")
	if in48Day != 12 || in48Week != 17 || in32Day != 8 || allDay != 32 || len(all) != len(ipv6Clients) {
		t.Fatalf("the fixture's IPv6 traffic changed: %d %d %d %d %d", in48Day, in48Week, in32Day, allDay, len(all))
	}
	tests := []struct {
		q, ir string
		want  string // the single cell of the answer
		note  string // a fragment of a note
	}{
		{"how many requests from 2001:db8:42::/48 in the last day", "count | ip cidr 2001:db8:42::/48 | last 1d", "12",
			"5 IPv6 addresses seen in the window are inside 2001:db8:42::/48"},
		{"how many requests from 2001:db8:42::/48 in the last 7 days", "count | ip cidr 2001:db8:42::/48 | last 7d", "17", ""},
		{"count requests from 2001:db8:42::1/80 in the last day", "count | ip cidr 2001:db8:42::/80 | last 1d", "8", // host bits masked: ::1, ::7 and ::9
			"3 IPv6 addresses"},
		{"count requests from 2a03:b0c0::/32 in the last day", "count | ip cidr 2a03:b0c0::/32 | last 1d", "8", "2 IPv6 addresses"},
		{"count requests from ::/0 in the last day", "count | ip cidr ::/0 | last 1d", "32", "12 IPv6 addresses"},
		{"count requests from 2001:db8:42::1/128 in the last 7 days", "count | ip cidr 2001:db8:42::1/128 | last 7d", "9", "1 IPv6 address seen"},
		{"count requests from 2001:db8:42::7 in the last day", "count | ip = 2001:db8:42::7 | last 1d", "2", ""},    // stored upper case
		{"count requests from 2001:db8:42::9 in the last 7 days", "count | ip = 2001:db8:42::9 | last 7d", "2", ""}, // stored uncompressed
		{"count requests from 2001:db8:99::/48 in the last day", "count | ip cidr 2001:db8:99::/48 | last 1d", "0",
			"no IPv6 address seen in the window is inside 2001:db8:99::/48"},
		{"count requests from 2001:db8:42::/48 yesterday", "count | ip cidr 2001:db8:42::/48 | yesterday", "0", "no IPv6 address seen"},
		{"count requests from ::ffff:0:0/96 in the last day", "count | ip cidr ::ffff:0.0.0.0/96 | last 1d", "2", "1 IPv6 address"},
		{"count requests from ::ffff:192.0.2.0/120 in the last day", "count | ip cidr ::ffff:192.0.2.0/120 | last 1d", "2", ""},
		{"count requests from 192.0.2.0/24 in the last day", "count | ip cidr 192.0.2.0/24 | last 1d", "0", ""}, // IPv4 prefixes match dotted text only
		{"count requests from fe80::/10 in the last day", "count | ip cidr fe80::/10 | last 1d", "1", ""},       // the zone is ignored
		{"count requests from 2001:db8::/32 excluding 2001:db8:42::/48 in the last day", "count | ip cidr 2001:db8::/32; not ip cidr 2001:db8:42::/48 | last 1d", "6", ""},
		{"count requests to /v1/users/me from 2a03:b0c0::/32 in the last day", "count | endpoint template /v1/users/me; ip cidr 2a03:b0c0::/32 | last 1d", "2", ""},
	}
	guard := sqlguard.New()
	for _, tc := range tests {
		t.Run(tc.q, func(t *testing.T) {
			a, err := forensics.Ask(ctx, f.store, f.catalog, tc.q, fixtureNow)
			if err != nil {
				t.Fatalf("Ask: %v", err)
			}
			if a.IR != tc.ir {
				t.Errorf("IR = %s, want %s", a.IR, tc.ir)
			}
			if err := guard.Check(a.SQL); err != nil {
				t.Errorf("the guard refuses %v\n%s", err, a.SQL)
			}
			if got := project(t, a.Columns, a.Rows, nil); len(got) != 1 || len(got[0]) != 1 || got[0][0] != tc.want {
				t.Errorf("Ask = %v, want %s\n%s %v", got, tc.want, a.SQL, a.Args)
			}
			if tc.note != "" && !slices.ContainsFunc(a.Notes, func(n string) bool { return strings.Contains(n, tc.note) }) {
				t.Errorf("notes %q, want one containing %q", a.Notes, tc.note)
			}
			if a.Timeline == nil {
				t.Fatal("no timeline")
			}
			var sum int64
			for _, r := range a.Timeline.Rows {
				n, _ := store.AsInt64(r[len(r)-1])
				sum += n
			}
			if strconv.FormatInt(sum, 10) != tc.want {
				t.Errorf("the timeline sums to %d, want %s", sum, tc.want)
			}
			p, err := forensics.Prepare(tc.q, f.catalog, fixtureNow, forensics.CompileOptions{})
			if err != nil {
				t.Fatalf("Prepare: %v", err)
			}
			if !strings.Contains(tc.ir, "192.0.2.0/24") && !strings.Contains(p.SQL, "match(peer_ip, ?)") {
				t.Errorf("Prepare compiles to %s, want a pattern", p.SQL)
			}
			res, err := f.store.Query(ctx, p.SQL, store.QueryOptions{}, p.Args...)
			if err != nil {
				t.Fatalf("the prepared SQL: %v\n%s", err, p.SQL)
			}
			if got := project(t, res.Columns, res.Rows, nil); len(got) != 1 || got[0][0] != tc.want {
				t.Errorf("the prepared SQL (a pattern) answers %v, want %s like the resolved one", got, tc.want)
			}
		})
	}
}

// TestIPv6AgainstIndependentSQL compares answers that mix the IPv6 traffic
// with the scenario's with SQL written independently: the addresses
// inside, listed from ipv6Clients.
func TestIPv6AgainstIndependentSQL(t *testing.T) {
	f := seeded(t)
	ctx := context.Background()
	in := func(prefix string) string {
		texts, _, _ := ipv6Inside(t, prefix)
		qs := make([]string, len(texts))
		for i, s := range texts {
			qs[i] = "'" + s + "'"
		}
		return "(" + strings.Join(qs, ", ") + ")"
	}
	for _, tc := range []struct {
		q, sql  string
		ordered bool
	}{
		{"count requests excluding 2001:db8::/32 in the last day", `SELECT count(*) FROM traces
			WHERE span_kind = 'Server' AND peer_ip NOT IN ` + in("2001:db8::/32") + `
			AND timestamp >= now() - INTERVAL 1 DAY AND timestamp < now()`, false},
		{"count requests to /v1/users/me excluding 2a03:b0c0::/32 in the last day", `SELECT count(*) FROM traces
			WHERE span_kind = 'Server' AND http_path = '/v1/users/me' AND peer_ip NOT IN ` + in("2a03:b0c0::/32") + `
			AND timestamp >= now() - INTERVAL 1 DAY AND timestamp < now()`, false},
		{"top paths from 2a03:b0c0::/32", `SELECT http_method, http_route, count(*) AS n FROM traces
			WHERE span_kind = 'Server' AND peer_ip IN ` + in("2a03:b0c0::/32") + `
			AND timestamp >= now() - INTERVAL 24 HOUR AND timestamp < now()
			GROUP BY ALL ORDER BY n DESC, http_method, http_route`, true},
		{"top 5 IPs from 2001:db8::/32 in the last 7 days", `SELECT peer_ip, count(*) AS n FROM traces
			WHERE span_kind = 'Server' AND peer_ip IN ` + in("2001:db8::/32") + `
			AND timestamp >= now() - INTERVAL 7 DAY AND timestamp < now()
			GROUP BY peer_ip ORDER BY n DESC, peer_ip LIMIT 5`, true},
		{"requests from 2001:db8:42::/48 in the last day", `SELECT trace_id FROM traces
			WHERE span_kind = 'Server' AND peer_ip IN ` + in("2001:db8:42::/48") + `
			AND timestamp >= now() - INTERVAL 1 DAY AND timestamp < now()
			ORDER BY timestamp DESC`, true},
	} {
		t.Run(tc.q, func(t *testing.T) {
			a, err := forensics.Ask(ctx, f.store, f.catalog, tc.q, fixtureNow)
			if err != nil {
				t.Fatalf("Ask: %v", err)
			}
			got := project(t, a.Columns, a.Rows, nil)
			if strings.HasPrefix(tc.q, "requests from") {
				got = project(t, a.Columns, a.Rows, []string{"trace_id"})
			}
			want := runExpected(t, f.store, tc.sql)
			if len(want) == 0 || want[0][len(want[0])-1] == "0" {
				t.Fatalf("the expected SQL finds nothing: %v", want)
			}
			compareRows(t, tc.q, got, want, tc.ordered)
		})
	}
}

// TestIPv6LLM has the LLM write an IPv6 prefix (host bits set): it is
// masked and resolved against the store like a parsed one.
func TestIPv6LLM(t *testing.T) {
	fx := seeded(t)
	ir := `{"unanswerable":"","intent":"count","measure":"requests","distinct_of":{"kind":"","param":""},"rate":{"op":"","value":""},
		"filters":[{"field":"ip","op":"cidr","value":"2001:db8:42::1/48","param":"","negate":false}],
		"window":{"kind":"last","n":1,"unit":"day","from":"","to":""},"group_by":[],"order":{"by":"","desc":false},"limit":0}`
	a, err := forensics.AskLLM(context.Background(), fx.store, fx.catalog, unparseable, fixtureNow, answering(t, ir).client, forensics.CompileOptions{})
	if err != nil {
		t.Fatal(err)
	}
	_, want, _ := ipv6Inside(t, "2001:db8:42::/48")
	if got := project(t, a.Columns, a.Rows, nil); len(got) != 1 || got[0][0] != strconv.Itoa(want) {
		t.Errorf("AskLLM = %v, want %d", got, want)
	}
	if a.IR != "count | ip cidr 2001:db8:42::/48 | last 1d" || !strings.Contains(a.SQL, "peer_ip IN (") ||
		!slices.Contains(a.Notes, "5 IPv6 addresses seen in the window are inside 2001:db8:42::/48") || !strings.Contains(a.Notes[0], "interpreted by the LLM") {
		t.Errorf("AskLLM: IR %s, notes %q\n%s", a.IR, a.Notes, a.SQL)
	}
	p, err := forensics.PrepareLLM(context.Background(), unparseable, fx.catalog, fixtureNow, answering(t, ir).client, forensics.CompileOptions{})
	if err != nil || !strings.Contains(p.SQL, "match(peer_ip, ?)") {
		t.Errorf("PrepareLLM = %v, %v; want the pattern", p, err)
	}
}

// TestIPv6TooManyAddresses bounds the addresses read from the window below
// what the fixture holds: the question is still answered exactly, by the
// pattern, and a note says why.
func TestIPv6TooManyAddresses(t *testing.T) {
	f := seeded(t)
	defer forensics.SetMaxObservedAddresses(3)()
	q := "count requests from 2001:db8:42::/48 in the last day"
	a, err := forensics.Ask(context.Background(), f.store, f.catalog, q, fixtureNow)
	if err != nil {
		t.Fatal(err)
	}
	if got := project(t, a.Columns, a.Rows, nil); len(got) != 1 || got[0][0] != "12" || !strings.Contains(a.SQL, "match(peer_ip, ?)") ||
		!slices.ContainsFunc(a.Notes, func(n string) bool {
			return strings.HasPrefix(n, "more than 3 distinct IPv6 addresses were seen in the window")
		}) {
		t.Errorf("Ask(%q) = %v, notes %q\n%s; want 12 by the pattern, with a note", q, got, a.Notes, a.SQL)
	}
}
