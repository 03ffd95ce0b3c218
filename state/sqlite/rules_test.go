package sqlite_test

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/tracehound/tracehound/state"
	"github.com/tracehound/tracehound/state/sqlite"
	"github.com/tracehound/tracehound/state/statetest"
)

func TestRuleStoreConformance(t *testing.T) {
	statetest.RunRuleStore(t, func(t *testing.T) state.RuleStore {
		s, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "state.db"))
		if err != nil {
			t.Fatal(err)
		}
		return s
	})
}
