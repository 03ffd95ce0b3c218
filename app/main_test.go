package app_test

import (
	"testing"

	"github.com/tracehound/tracehound/state/postgres/pgtest"
)

// TestMain stops the PostgreSQL cluster the replica tests start, if any.
func TestMain(m *testing.M) { pgtest.Main(m) }
