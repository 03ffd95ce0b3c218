package app

import (
	"context"
	"log/slog"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/tracehound/tracehound/alert"
	"github.com/tracehound/tracehound/span"
	"github.com/tracehound/tracehound/store/duckdb"
	"github.com/tracehound/tracehound/store/storetest"
)

// The replay cache is saved when it changed: by the warm pass once, then
// at most every replaySaveEvery, and always when the process ends; the
// next process loads what was saved.
func TestReplayFileSaves(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	st, err := duckdb.Open(ctx, filepath.Join(dir, "traces.duckdb"), duckdb.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	var spans []span.Span
	for i := range 600 {
		spans = append(spans, storetest.ServerSpan(i, storetest.Base.Add(time.Duration(i)*5*time.Second)))
	}
	if err := st.Write(ctx, spans); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, replayFileName)
	open := func() *App {
		return &App{log: slog.New(slog.DiscardHandler), replays: alert.NewStepCache(st, 64<<20), replayFile: &replayFile{path: path}}
	}
	backtest := func(a *App, id string) {
		t.Helper()
		r := alert.Rule{ID: id, Name: id, Severity: "low", Interval: 5 * time.Minute,
			SQL: `SELECT peer_ip, count() AS n FROM traces WHERE timestamp > now() - INTERVAL 10 MINUTE AND timestamp <= now() GROUP BY peer_ip`}
		if _, err := alert.Backtest(ctx, st, r, alert.BacktestOptions{From: storetest.Base, To: storetest.Base.Add(time.Hour), Cache: a.replayCache(ctx)}); err != nil {
			t.Fatal(err)
		}
	}
	saved := func() int {
		t.Helper()
		f, err := os.Open(path)
		if os.IsNotExist(err) {
			return 0
		}
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		fi, err := f.Stat()
		if err != nil {
			t.Fatal(err)
		}
		n, err := alert.NewStepCache(st, 64<<20).Load(ctx, f, fi.Size())
		if err != nil {
			t.Fatal(err)
		}
		return n
	}

	// A process that died while saving left a temporary file: the next
	// one removes it.
	stale := filepath.Join(dir, replayFileName+".123.tmp")
	if err := os.WriteFile(stale, []byte("half written"), 0o600); err != nil {
		t.Fatal(err)
	}
	a := open()
	a.saveReplays(true)
	if n := saved(); n != 0 {
		t.Fatalf("a cache not yet used saved %d entries", n)
	}
	backtest(a, "one")
	if _, err := os.Stat(stale); !os.IsNotExist(err) {
		t.Errorf("the stale temporary file is still there (%v)", err)
	}
	a.saveReplays(false)
	if n := saved(); n != 1 {
		t.Fatalf("the first warm save wrote %d entries, want 1", n)
	}
	backtest(a, "two")
	a.saveReplays(false)
	if n := saved(); n != 1 {
		t.Errorf("a warm save within %v of the last wrote %d entries, want the file left as it was", replaySaveEvery, n)
	}
	a.saveReplays(true)
	if n := saved(); n != 2 {
		t.Errorf("the save at the end wrote %d entries, want 2", n)
	}

	// The next process takes both from the file.
	b := open()
	if c := b.replayCache(ctx); c == nil || c.Generation() != 2 {
		t.Fatalf("the next process's cache holds %v entries, want 2 from the file", c.Generation())
	}
	// A damaged file is set aside: the cache starts empty and works.
	if err := os.WriteFile(path, []byte("damaged"), 0o600); err != nil {
		t.Fatal(err)
	}
	c := open()
	if g := c.replayCache(ctx).Generation(); g != 0 {
		t.Errorf("a damaged file loaded %d entries", g)
	}
	backtest(c, "three")
	c.saveReplays(true)
	if n := saved(); n != 1 {
		t.Errorf("after a damaged file, the save wrote %d entries, want 1", n)
	}
}
