package sqlite

import (
	"context"
	"database/sql"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/tracehound/tracehound/state"
	"github.com/tracehound/tracehound/state/statetest"
)

func openTemp(t testing.TB) *Store {
	t.Helper()
	s, err := Open(context.Background(), filepath.Join(t.TempDir(), "state.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func TestTriageStoreConformance(t *testing.T) {
	statetest.RunTriageStore(t, func(t *testing.T) state.TriageStore { return openTemp(t) })
}

func TestNotifyLogStoreConformance(t *testing.T) {
	statetest.RunNotifyLogStore(t, func(t *testing.T) state.NotifyLogStore { return openTemp(t) })
}

// BenchmarkTriageNotifications pages and filters over 100k notifications:
// the lists the UI and the API serve must stay fast at that size.
func BenchmarkTriageNotifications(b *testing.B) {
	s := openTemp(b)
	ctx := context.Background()
	base := time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)
	const n = 100_000
	statuses := []string{state.TriageOpen, state.TriageInvestigating, state.TriageResolved}
	sevs := []string{"info", "low", "medium", "high", "critical"}
	if err := seedNotifications(ctx, s, n, func(i int) (state.AlertRecord, string) {
		at := base.Add(time.Duration(i) * 10 * time.Second)
		r := state.AlertRecord{Fingerprint: fmt.Sprintf("fp%d", i), RuleID: fmt.Sprintf("rule-%d", i%20), RuleName: "rule",
			Severity: sevs[i%5], SeverityRank: i % 5, Mode: "active", State: "firing", IP: fmt.Sprintf("10.%d.%d.%d", i%3, (i/3)%250, i%200),
			APIKey: fmt.Sprintf("key-%d", i%500), Endpoint: fmt.Sprintf("GET /e%d", i%300), StartsAt: at, At: at}
		if i%10 == 0 {
			r.Mode = "shadow"
		}
		return r, statuses[i%3]
	}); err != nil {
		b.Fatal(err)
	}
	filters := []struct {
		name string
		f    state.NotificationFilter
	}{
		{"default", state.NotificationFilter{Limit: 50}},
		{"status", state.NotificationFilter{Statuses: []string{state.TriageInvestigating}, Limit: 50}},
		{"severity", state.NotificationFilter{Severities: []string{"critical"}, Limit: 50}},
		{"rule", state.NotificationFilter{RuleID: "rule-7", Limit: 50}},
		{"ip", state.NotificationFilter{IP: "10.1.10.31", Limit: 50}},
		{"api_key", state.NotificationFilter{APIKey: "key-42", Limit: 50}},
		{"endpoint", state.NotificationFilter{Endpoint: "GET /e17", Limit: 50}},
		{"time_range", state.NotificationFilter{Since: base.Add(100 * time.Hour), Until: base.Add(101 * time.Hour), Limit: 50}},
		{"deep_page", state.NotificationFilter{BeforeID: 1000, Limit: 50}},
		{"status_and_severity", state.NotificationFilter{Statuses: []string{state.TriageOpen}, Severities: []string{"high"}, Limit: 50}},
	}
	for _, tc := range filters {
		b.Run(tc.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := s.Notifications(ctx, tc.f); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// seedNotifications inserts n notifications in one transaction, made by
// gen with their triage status; RecordAlert would take a transaction each.
func seedNotifications(ctx context.Context, s *Store, n int, gen func(i int) (state.AlertRecord, string)) error {
	return s.inTx(ctx, func(tx *sql.Tx) error {
		stmt, err := tx.PrepareContext(ctx, `INSERT INTO notifications (fingerprint, rule_id, rule_name, severity, severity_rank, mode,
			labels, annotations, ip, api_key, endpoint, alert_state, starts_at, status, first_seen, last_seen, count, updated_at)
			VALUES (?, ?, ?, ?, ?, ?, '{}', '{}', ?, ?, ?, 'resolved', ?, ?, ?, ?, 1, ?)`)
		if err != nil {
			return err
		}
		defer stmt.Close()
		for i := range n {
			r, status := gen(i)
			at := formatTime(r.At)
			if _, err := stmt.ExecContext(ctx, r.Fingerprint, r.RuleID, r.RuleName, r.Severity, r.SeverityRank, r.Mode,
				r.IP, r.APIKey, r.Endpoint, formatTime(r.StartsAt), status, at, at, at); err != nil {
				return err
			}
		}
		return nil
	})
}
