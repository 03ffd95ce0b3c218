package app

import (
	"bufio"
	"context"
	"errors"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/tracehound/tracehound/alert"
)

// replayFileName is the file, in the data directory, that keeps the
// replay cache across restarts: the server's warm pass, or a dry run on
// the data directory, computes a week of every rule's evaluations once,
// and the next process takes them from the file and replays only what
// the writes since changed (alert.StepCache.Save).
const replayFileName = "replay-cache"

// replayFile loads the replay cache from its file on first use and saves
// it when it has changed.
type replayFile struct {
	path string

	once    sync.Once
	mu      sync.Mutex // serialises saves
	loaded  bool       // under mu: the file was read (or there was none)
	saved   uint64     // under mu: the cache's generation the file holds
	savedAt time.Time  // under mu: when this process last saved it
}

// replaySaveEvery is how often the warm pass saves the replay cache after
// its first save: each pass adds a few minutes of steps, which a restart
// replays in seconds, while a week of a busy store's replays is tens of
// megabytes to write. The process saves it again when it ends.
var replaySaveEvery = time.Hour

// loadReplays reads the replay cache's file once, before the cache's
// first use.
func (a *App) loadReplays(ctx context.Context) {
	rf := a.replayFile
	if rf == nil {
		return
	}
	rf.once.Do(func() {
		rf.mu.Lock()
		defer rf.mu.Unlock()
		rf.loaded = true
		// A process that died while saving left its temporary file.
		stale, _ := filepath.Glob(filepath.Join(filepath.Dir(rf.path), replayFileName+".*.tmp"))
		for _, name := range stale {
			os.Remove(name)
		}
		f, err := os.Open(rf.path)
		if errors.Is(err, os.ErrNotExist) {
			return
		}
		if err != nil {
			a.log.Warn("the replay cache starts empty: its file cannot be read", "file", rf.path, "err", err)
			return
		}
		defer f.Close()
		st, err := f.Stat()
		if err != nil {
			a.log.Warn("the replay cache starts empty: its file cannot be read", "file", rf.path, "err", err)
			return
		}
		start := time.Now()
		n, err := a.replays.Load(ctx, f, st.Size())
		switch {
		case errors.Is(err, alert.ErrOtherStore):
			a.log.Info("the replay cache starts empty: its file was saved from another span store", "file", rf.path)
			return
		case err != nil:
			a.log.Warn("the replay cache starts empty", "file", rf.path, "err", err)
			return
		}
		rf.saved = a.replays.Generation()
		a.log.Debug("replay cache loaded", "file", rf.path, "entries", n, "elapsed", time.Since(start).Round(time.Millisecond))
	})
}

// saveReplays writes the replay cache to its file when it changed since
// it was loaded or last saved, and, unless always, this process has not
// saved it within replaySaveEvery. The file is replaced whole, never left
// half written.
func (a *App) saveReplays(always bool) {
	rf := a.replayFile
	if rf == nil {
		return
	}
	rf.mu.Lock()
	defer rf.mu.Unlock()
	gen := a.replays.Generation()
	if !rf.loaded || gen == rf.saved {
		return // a file not read yet holds what a save would lose
	}
	if !always && !rf.savedAt.IsZero() && time.Since(rf.savedAt) < replaySaveEvery {
		return
	}
	start := time.Now()
	n, size, err := writeReplays(a.replays, rf.path)
	if err != nil {
		a.log.Warn("saving the replay cache; the next start replays the rules again", "file", rf.path, "err", err)
		return
	}
	rf.saved, rf.savedAt = gen, time.Now()
	a.log.Log(context.Background(), slog.LevelDebug, "replay cache saved", "entries", n, "bytes", size, "elapsed", time.Since(start).Round(time.Millisecond))
}

// writeReplays saves c to path through a temporary file, synced, then
// renamed over it.
func writeReplays(c *alert.StepCache, path string) (entries int, size int64, err error) {
	f, err := os.CreateTemp(filepath.Dir(path), replayFileName+".*.tmp")
	if err != nil {
		return 0, 0, err
	}
	defer func() {
		if err != nil {
			f.Close()
			os.Remove(f.Name())
		}
	}()
	w := bufio.NewWriterSize(f, 1<<20)
	if entries, err = c.Save(w); err != nil {
		return 0, 0, err
	}
	if err = w.Flush(); err != nil {
		return 0, 0, err
	}
	if err = f.Sync(); err != nil {
		return 0, 0, err
	}
	st, err := f.Stat()
	if err != nil {
		return 0, 0, err
	}
	if err = f.Close(); err != nil {
		return 0, 0, err
	}
	if err = os.Rename(f.Name(), path); err != nil {
		return 0, 0, err
	}
	return entries, st.Size(), nil
}
