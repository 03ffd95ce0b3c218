package statetest

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/tracehound/tracehound/state"
)

// SeedIPs writes n IP records through the IPStore (IPv4 and IPv6
// addresses and ranges, mixed statuses, tags, severities, expiries and
// traffic) in changes of 5,000.
func SeedIPs(tb testing.TB, s state.IPStore, n int) {
	tb.Helper()
	ctx := context.Background()
	base := time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)
	statuses := []string{state.IPMonitoring, state.IPMonitoring, state.IPInvestigating, state.IPBlocked, state.IPBlocked, state.IPTrusted}
	const batch = 5000
	var stats []state.IPStats
	for start := 0; start < n; start += batch {
		c := state.IPChange{At: base.Add(time.Duration(start) * time.Second), Actor: "seed", Action: state.IPActionSet, Source: "manual"}
		for i := start; i < min(start+batch, n); i++ {
			var v string
			switch i % 10 {
			case 0:
				v = fmt.Sprintf("2001:db8:%x::%x", i/65536, i%65536)
			case 1:
				v = fmt.Sprintf("100.%d.%d.0/24", (i/256)%256, i%256)
			default:
				v = fmt.Sprintf("10.%d.%d.%d", i/65536, (i/256)%256, i%256)
			}
			st := &state.IPState{Status: statuses[i%len(statuses)], Reason: fmt.Sprintf("reason %d", i%97), Source: "manual",
				Severity: i % 101, Tags: []string{fmt.Sprintf("tag%d", i%50), "seed"}, Notes: fmt.Sprintf("note %d about asn%d", i, i%400)}
			if i%3 == 0 {
				st.ExpiresAt = base.Add(time.Duration(i%1000) * time.Hour)
			}
			c.Items = append(c.Items, state.IPChangeItem{Value: v, After: st})
			stats = append(stats, state.IPStats{Value: v, FirstSeen: base.Add(time.Duration(i) * time.Second), LastSeen: base.Add(time.Duration(2*i) * time.Second),
				RequestCount: int64(i * 7 % 10007), ByteCount: int64(i * 131 % 1000003)})
		}
		if _, err := s.ApplyIPChange(ctx, c); err != nil {
			tb.Fatal(err)
		}
	}
	if _, err := s.UpdateIPStats(ctx, stats); err != nil {
		tb.Fatal(err)
	}
}

// RunIPsPageBenchmark measures one page (50 records, with its total) of the
// IP list for each filter and sort the UI offers, over what SeedIPs
// wrote. The contract is at most 100 ms a page over 100,000 records.
func RunIPsPageBenchmark(b *testing.B, s state.IPStore) {
	at := time.Date(2026, 3, 10, 0, 0, 0, 0, time.UTC)
	cases := []struct {
		name string
		f    state.IPFilter
	}{
		{"all/value", state.IPFilter{}},
		{"all/value/deep-offset", state.IPFilter{Offset: 90_000}},
		{"all/last_seen-desc", state.IPFilter{Sort: state.IPSortLastSeen, Desc: true}},
		{"all/requests-desc", state.IPFilter{Sort: state.IPSortRequests, Desc: true}},
		{"blocked/severity-desc", state.IPFilter{Statuses: []string{state.IPBlocked}, Sort: state.IPSortSeverity, Desc: true}},
		{"blocked/updated_at", state.IPFilter{Statuses: []string{state.IPBlocked}, Sort: state.IPSortUpdatedAt}},
		{"tag/value", state.IPFilter{Tag: "tag7"}},
		{"tag/bytes-desc", state.IPFilter{Tag: "tag7", Sort: state.IPSortBytes, Desc: true}},
		{"within/value", state.IPFilter{Within: "10.0.0.0/8"}},
		{"containing", state.IPFilter{Containing: "100.12.34.5"}},
		{"text", state.IPFilter{Text: "asn123"}},
		{"text/expires", state.IPFilter{Text: "asn123", Sort: state.IPSortExpiresAt}},
		{"expires-before/expires", state.IPFilter{ExpiresBefore: at, Sort: state.IPSortExpiresAt}},
		{"blocked-active/first_seen", state.IPFilter{Statuses: []string{state.IPBlocked}, ActiveAt: at, Sort: state.IPSortFirstSeen}},
	}
	ctx := context.Background()
	for _, tc := range cases {
		tc.f.Limit = 50
		b.Run(tc.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := s.IPs(ctx, tc.f); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
