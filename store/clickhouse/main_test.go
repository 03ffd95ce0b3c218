package clickhouse

import (
	"os"
	"testing"

	"github.com/tracehound/tracehound/store/clickhouse/chtest"
)

func TestMain(m *testing.M) {
	code := m.Run()
	for i := len(afterAll) - 1; i >= 0; i-- {
		afterAll[i]()
	}
	chtest.StopShared()
	os.Exit(code)
}
