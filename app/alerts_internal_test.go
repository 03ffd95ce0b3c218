package app

import (
	"context"
	"slices"
	"testing"

	"github.com/tracehound/tracehound/alert"
)

// RecordAlerts hands alerts to triage as the alert engine's sink will, so
// that the external tests (alerts_test.go) can seed notifications.
func (a *App) RecordAlerts(ctx context.Context, alerts []alert.Alert) error {
	return a.triage.Record(ctx, alerts)
}

func TestAlertIDsUnique(t *testing.T) {
	tests := []struct {
		name string
		in   []int64
		want []int64
	}{
		{"empty", nil, []int64{}},
		{"distinct ids keep their order", []int64{3, 1, 2}, []int64{3, 1, 2}},
		{"repeats keep the first", []int64{2, 1, 2, 1, 3}, []int64{2, 1, 3}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := uniqueIDs(tc.in); !slices.Equal(got, tc.want) {
				t.Errorf("uniqueIDs(%v) = %v, want %v", tc.in, got, tc.want)
			}
		})
	}
}
