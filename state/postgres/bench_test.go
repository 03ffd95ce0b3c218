package postgres_test

import (
	"context"
	"fmt"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/tracehound/tracehound/state"
	"github.com/tracehound/tracehound/state/postgres/pgtest"
	"github.com/tracehound/tracehound/state/sqlite"
	"github.com/tracehound/tracehound/state/statetest"
)

// BenchmarkHotWrites measures the state writes made on every alert
// evaluation and trace scan, on PostgreSQL and, for comparison, on
// SQLite: recording an alert delivery (a new notification with incident
// linking, and a re-send of a firing one), folding traffic statistics into
// IP records, and one IP change. Each reports its p99 latency as well.
func BenchmarkHotWrites(b *testing.B) {
	drivers := []struct {
		name string
		open func(b *testing.B) state.Store
	}{
		{"postgres", func(b *testing.B) state.Store { return open(b, pgtest.DSN(b)) }},
		{"sqlite", func(b *testing.B) state.Store {
			s, err := sqlite.Open(context.Background(), filepath.Join(b.TempDir(), "state.db"))
			if err != nil {
				b.Fatal(err)
			}
			return s
		}},
	}
	for _, d := range drivers {
		b.Run(d.name, func(b *testing.B) {
			b.Run("RecordAlert/new", func(b *testing.B) {
				s := d.open(b)
				defer s.Close()
				benchRecordAlert(b, s, func(i int) string { return fmt.Sprint("fp", i) })
			})
			b.Run("RecordAlert/resend", func(b *testing.B) {
				s := d.open(b)
				defer s.Close()
				benchRecordAlert(b, s, func(i int) string { return fmt.Sprint("fp", i%100) })
			})
			b.Run("UpdateIPStats/100", func(b *testing.B) {
				s := d.open(b)
				defer s.Close()
				benchUpdateIPStats(b, s)
			})
			b.Run("ApplyIPChange/1", func(b *testing.B) {
				s := d.open(b)
				defer s.Close()
				benchApplyIPChange(b, s)
			})
		})
	}
}

// latencies records the duration of each operation and reports the p99.
type latencies []time.Duration

func (l *latencies) time(fn func()) {
	start := time.Now()
	fn()
	*l = append(*l, time.Since(start))
}

func (l latencies) report(b *testing.B) {
	if len(l) == 0 {
		return
	}
	slices.Sort(l)
	b.ReportMetric(float64(l[len(l)*99/100].Microseconds()), "p99-µs")
}

func benchRecordAlert(b *testing.B, s state.Store, fingerprint func(i int) string) {
	ctx := context.Background()
	base := time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)
	link := state.IncidentLink{Window: time.Hour, Title: "campaign"}
	var lat latencies
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		at := base.Add(time.Duration(i) * time.Second)
		r := state.AlertRecord{Fingerprint: fingerprint(i), RuleID: fmt.Sprint("rule-", i%20), RuleName: "rule", Severity: "high",
			SeverityRank: 3, Mode: "active", State: "firing", IP: fmt.Sprintf("10.0.%d.%d", i%7, i%50), APIKey: fmt.Sprint("key-", i%30),
			Endpoint: fmt.Sprint("GET /e", i%40), Labels: map[string]string{"alertname": "rule", "peer_ip": "10.0.0.1"},
			Annotations: map[string]string{"summary": "bulk export"}, StartsAt: at, At: at}
		var err error
		lat.time(func() { _, err = s.RecordAlert(ctx, r, link) })
		if err != nil {
			b.Fatal(err)
		}
		i++
	}
	lat.report(b)
}

func benchUpdateIPStats(b *testing.B, s state.Store) {
	ctx := context.Background()
	base := time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)
	const records = 1000
	c := state.IPChange{At: base, Actor: "seed", Action: state.IPActionSet}
	for i := range records {
		c.Items = append(c.Items, state.IPChangeItem{Value: fmt.Sprintf("10.1.%d.%d", i/256, i%256),
			After: &state.IPState{Status: state.IPMonitoring, Source: "detector"}})
	}
	if _, err := s.ApplyIPChange(ctx, c); err != nil {
		b.Fatal(err)
	}
	var lat latencies
	b.ReportAllocs()
	n := 0
	for b.Loop() {
		stats := make([]state.IPStats, 100)
		for j := range stats {
			k := (n*100 + j) % records
			stats[j] = state.IPStats{Value: fmt.Sprintf("10.1.%d.%d", k/256, k%256), FirstSeen: base.Add(-time.Duration(n) * time.Second),
				LastSeen: base.Add(time.Duration(n) * time.Second), RequestCount: int64(n), ByteCount: int64(n * 100)}
		}
		var err error
		lat.time(func() { _, err = s.UpdateIPStats(ctx, stats) })
		if err != nil {
			b.Fatal(err)
		}
		n++
	}
	lat.report(b)
}

func benchApplyIPChange(b *testing.B, s state.Store) {
	ctx := context.Background()
	var lat latencies
	b.ReportAllocs()
	n := 0
	for b.Loop() {
		c := state.IPChange{At: time.Now(), Actor: "rule:r1", Action: state.IPActionSet, Source: "rule:r1",
			Items: []state.IPChangeItem{{Value: fmt.Sprintf("10.%d.%d.%d", n/65536%256, n/256%256, n%256),
				After: &state.IPState{Status: state.IPBlocked, Source: "rule:r1", Severity: 70, Tags: []string{"auto"}, ExpiresAt: time.Now().Add(time.Hour)}}}}
		var err error
		lat.time(func() { _, err = s.ApplyIPChange(ctx, c) })
		if err != nil {
			b.Fatal(err)
		}
		n++
	}
	lat.report(b)
}

// BenchmarkIPsPage100k measures a page of the IP list over 100,000
// records for each filter and sort the UI offers; the contract is at most
// 100 ms a page. The table is vacuumed and analysed after the load, as
// autovacuum would do.
func BenchmarkIPsPage100k(b *testing.B) {
	dsn := pgtest.DSN(b)
	s := open(b, dsn)
	defer s.Close()
	start := time.Now()
	statetest.SeedIPs(b, s, 100_000)
	b.Logf("seeded 100,000 records in %v", time.Since(start))
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		b.Fatal(err)
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, "VACUUM ANALYZE"); err != nil {
		b.Fatal(err)
	}
	statetest.RunIPsPageBenchmark(b, s)
}
