package clickhouse

import (
	"context"
	"testing"

	"github.com/tracehound/tracehound/store"
	"github.com/tracehound/tracehound/store/clickhouse/chtest"
	"github.com/tracehound/tracehound/store/storetest"
)

// legacyServer returns the shared ClickHouse 18.16 server and a database
// of the test's own on it.
func legacyServer(t testing.TB) (*chtest.Server, string) {
	t.Helper()
	srv := chtest.Legacy(t)
	return srv, srv.NewDatabase(t)
}

// openLegacy opens a native-mode store in the legacy rendering on the
// shared ClickHouse 18.16 server, in a database of its own.
func openLegacy(t testing.TB, o Options) (*Store, *chtest.Server, string) {
	t.Helper()
	srv, db := legacyServer(t)
	o.DSN, o.Database, o.legacy = srv.DSN(""), db, true
	s, err := Open(context.Background(), o)
	if err != nil {
		t.Fatalf("Open on ClickHouse %s: %v", srv.Version, err)
	}
	return s, srv, db
}

// legacySkips are the conformance tests ClickHouse 18.16 cannot pass, and why.
var legacySkips = map[string]string{}

// TestLegacyConformance runs the store conformance suite against
// ClickHouse 18.16 with the legacy schema: the real write path (batched
// native inserts), query runner, Trace, DeleteBefore (partition drops and
// a mutation) and Stats on a real engine.
func TestLegacyConformance(t *testing.T) {
	storetest.Run(t, func(t *testing.T) store.Store {
		for name, why := range legacySkips {
			if t.Name() == "TestLegacyConformance/"+name {
				t.Skipf("ClickHouse 18.16: %s", why)
			}
		}
		s, _, _ := openLegacy(t, Options{})
		return s
	})
}
