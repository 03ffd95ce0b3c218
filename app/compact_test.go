package app_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/tracehound/tracehound/app"
	"github.com/tracehound/tracehound/span"
	"github.com/tracehound/tracehound/store/duckdb"
	"github.com/tracehound/tracehound/store/storetest"
)

// TestCompactionLoop: the server rewrites closed days of the DuckDB store
// in the background; not when store.compact is off, nor while spans
// arrive faster than the busy rate (here any rate: "busy").
func TestCompactionLoop(t *testing.T) {
	for _, mode := range []string{"on", "off", "busy"} {
		t.Run(mode, func(t *testing.T) {
			rate := 20_000.0
			if mode == "busy" {
				rate = -1
			}
			defer app.SetCompactTiming(50*time.Millisecond, time.Hour, rate)()
			dir := t.TempDir()
			path := filepath.Join(dir, "traces.duckdb")
			ctx := context.Background()
			st, err := duckdb.Open(ctx, path, duckdb.Options{})
			if err != nil {
				t.Fatal(err)
			}
			day := time.Now().UTC().Truncate(24 * time.Hour).Add(-72 * time.Hour)
			var spans []span.Span
			for i := range 3000 {
				s := storetest.ServerSpan(i, day.Add(time.Duration(i)*48*time.Hour/3000))
				s.PeerIP = fmt.Sprintf("192.0.2.%d", i%50)
				spans = append(spans, s)
			}
			if err := st.Write(ctx, spans); err != nil {
				t.Fatal(err)
			}
			if err := st.Close(); err != nil {
				t.Fatal(err)
			}

			c := testConfig(t, dir)
			if mode == "off" {
				c.Store.Compact = mode
			}
			s := start(t, c)
			deadline := time.Now().Add(20 * time.Second)
			for mode == "on" && compactions(t, s.App) < 2 && time.Now().Before(deadline) {
				time.Sleep(50 * time.Millisecond)
			}
			if mode != "on" {
				time.Sleep(500 * time.Millisecond)
			}
			got := compactions(t, s.App)
			if want := map[string]int64{"on": 2, "off": 0, "busy": 0}[mode]; got != want {
				t.Errorf("store.compact %s: %d periods compacted, want %d", mode, got, want)
			}
			if n := count(t, s.App, "1 = 1"); n != 3000 {
				t.Errorf("%d spans after compaction, want 3000", n)
			}
			if mode == "on" {
				// The pass records its figures once it is over.
				var body []byte
				for {
					resp, err := http.Get("http://" + s.Addr() + "/metrics")
					if err != nil {
						t.Fatal(err)
					}
					body, _ = io.ReadAll(resp.Body)
					resp.Body.Close()
					if strings.Contains(string(body), "tracehound_store_compacted_spans_total 3000") || time.Now().After(deadline) {
						break
					}
					time.Sleep(50 * time.Millisecond)
				}
				if !strings.Contains(string(body), "tracehound_store_compacted_spans_total 3000") {
					t.Errorf("/metrics does not count the 3,000 compacted spans:\n%s", grepLines(string(body), "compact"))
				}
			}
		})
	}
}

// grepLines returns the lines of s that contain sub.
func grepLines(s, sub string) string {
	var out []string
	for _, l := range strings.Split(s, "\n") {
		if strings.Contains(l, sub) {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}

// compactions counts the periods the store has compacted.
func compactions(t *testing.T, a *app.App) int64 {
	t.Helper()
	st, ok := a.SpanStore().(*duckdb.Store)
	if !ok {
		t.Fatalf("span store is %T, want DuckDB", a.SpanStore())
	}
	var n int64
	if err := st.DB().QueryRow("SELECT count(*) FROM compactions").Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}
