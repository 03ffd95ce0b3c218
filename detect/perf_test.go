package detect_test

import (
	"context"
	"fmt"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tracehound/tracehound/detect"
	"github.com/tracehound/tracehound/store"
	"github.com/tracehound/tracehound/store/duckdb"
)

// timedQuerier logs how long each query takes, by its first comment line.
type timedQuerier struct {
	q  store.Querier
	mu sync.Mutex
	t  *testing.T
}

func (tq *timedQuerier) Query(ctx context.Context, q string, opts store.QueryOptions, args ...any) (*store.Result, error) {
	began := time.Now()
	res, err := tq.q.Query(ctx, q, opts, args...)
	name := strings.TrimSpace(strings.SplitN(strings.TrimSpace(q), "\n", 2)[0])
	if len(name) > 70 {
		name = name[:70]
	}
	rows := 0
	if res != nil {
		rows = len(res.Rows)
	}
	tq.mu.Lock()
	tq.t.Logf("  %7.0f ms  %6d rows  %s", float64(time.Since(began).Microseconds())/1000, rows, name)
	tq.mu.Unlock()
	return res, err
}

// TestLargeStoreInvestigations times investigations on a large store: the
// three addresses of storetest.SyntheticSpansSQL's export campaign over 7
// days (≤ 3 s), and a batch of 1,000 addresses (≤ 60 s). It runs only
// when DETECT_LARGE_STORE names a DuckDB file built by
// forensics.TestLargeStoreTimes (84 M spans is a week of a 12 M/day
// stream) that no other process has open. It compacts the store first, as
// the server does in the background.
func TestLargeStoreInvestigations(t *testing.T) {
	path := os.Getenv("DETECT_LARGE_STORE")
	if path == "" {
		t.Skip("set DETECT_LARGE_STORE to a DuckDB file of synthetic spans to time investigations on it")
	}
	ctx := context.Background()
	st, err := duckdb.Open(ctx, path, duckdb.Options{MemoryLimit: "1GB"})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	res, err := st.Query(ctx, "SELECT max(timestamp), count() FROM traces", store.QueryOptions{})
	if err != nil {
		t.Fatal(err)
	}
	until := res.Rows[0][0].(time.Time).Add(time.Minute)
	t.Logf("%v spans, until %s", res.Rows[0][1], until.Format(time.RFC3339))
	// As the server would have by then.
	cs, err := st.Compact(ctx, duckdb.CompactOptions{Now: until})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("compaction: %d periods, %d spans in %v", cs.Periods, cs.Spans, cs.Elapsed.Round(time.Second))
	q := &timedQuerier{q: st, t: t}

	attackers := []string{"104.248.73.0", "104.248.73.1", "104.248.73.2"}
	began := time.Now()
	rep, err := detect.Investigate(ctx, q, detect.Options{Callers: attackers, Until: until})
	if err != nil {
		t.Fatal(err)
	}
	took := time.Since(began)
	for _, c := range rep.Callers {
		t.Logf("%s: %s (risk %d)", c.Caller.Value, c.Verdict, c.RiskScore)
	}
	t.Logf("3 addresses: %v in %d queries", took.Round(time.Millisecond), rep.Queries)
	if took > 3*time.Second {
		t.Errorf("investigating 3 addresses took %v, want ≤ 3s", took)
	}
	if rep.Callers[0].Severity != detect.Malicious {
		t.Errorf("%s: %s, want Malicious", attackers[0], rep.Callers[0].Verdict)
	}

	batch := append([]string{}, attackers...)
	for i := 0; len(batch) < 1000; i++ {
		// Addresses of the synthetic background traffic: 10.a.b.1 with
		// a*256+b below 50,000.
		n := i * 47 % 50000
		batch = append(batch, fmt.Sprintf("10.%d.%d.1", n/256, n%256))
	}
	began = time.Now()
	done := 0
	rep, err = detect.Investigate(ctx, q, detect.Options{Callers: batch, Until: until, Progress: func(d, total int) { done = d }})
	if err != nil {
		t.Fatal(err)
	}
	took = time.Since(began)
	flagged := 0
	for _, c := range rep.Callers {
		if c.Severity == detect.Malicious || c.Severity == detect.Suspicious {
			flagged++
		}
	}
	t.Logf("1,000 addresses: %v in %d queries, %d flagged, progress reached %d", took.Round(time.Millisecond), rep.Queries, flagged, done)
	if took > 60*time.Second {
		t.Errorf("investigating 1,000 addresses took %v, want ≤ 60s", took)
	}
}
