package duckdb

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
)

// The write-ahead log makes a Write durable before DuckDB has it: a Write
// is acknowledged once its record is fsynced here, and DuckDB then takes
// the spans in large, efficient commits. Each DuckDB commit records the
// highest record it holds (wal_state.applied_seq) in the same transaction,
// so recovery replays exactly the records that DuckDB lacks.
//
// Files are segments named after their first record's sequence number. A
// frame is [length uint32][crc32c uint32][seq uint64][record]; a torn frame
// at the end of the last segment (a crash mid-write) is cut off at open.

const (
	walFrameHeader  = 16
	walMaxRecord    = 1 << 30
	walSegmentBytes = 64 << 20
)

var crcTable = crc32.MakeTable(crc32.Castagnoli)

type wal struct {
	dir string
	log *slog.Logger

	mu       sync.Mutex // guards segments and f
	segments []uint64   // first seq of each segment, ascending
	f        *os.File
	size     int64
	nextSeq  uint64
	buf      []byte
}

// openWAL opens the log in dir, cutting a torn tail, and calls replay for
// every record with seq > after, in order.
func openWAL(dir string, after uint64, log *slog.Logger, replay func(seq uint64, rec []byte) error) (*wal, error) {
	if err := os.MkdirAll(dir, 0o750); err != nil {
		return nil, err
	}
	w := &wal{dir: dir, log: log, nextSeq: after + 1}
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	for _, e := range entries {
		name, ok := strings.CutSuffix(e.Name(), ".wal")
		if !ok {
			continue
		}
		first, err := strconv.ParseUint(name, 16, 64)
		if err != nil {
			continue
		}
		w.segments = append(w.segments, first)
	}
	sort.Slice(w.segments, func(i, j int) bool { return w.segments[i] < w.segments[j] })
	for i, first := range w.segments {
		last := i == len(w.segments)-1
		end, lastSeq, err := w.replaySegment(first, after, last, replay)
		if err != nil {
			return nil, err
		}
		if lastSeq >= w.nextSeq {
			w.nextSeq = lastSeq + 1
		}
		if last {
			f, err := os.OpenFile(w.path(first), os.O_RDWR, 0o640)
			if err != nil {
				return nil, err
			}
			if err := f.Truncate(end); err != nil {
				f.Close()
				return nil, err
			}
			if _, err := f.Seek(end, io.SeekStart); err != nil {
				f.Close()
				return nil, err
			}
			w.f, w.size = f, end
		}
	}
	if w.f == nil {
		if err := w.rotate(); err != nil {
			return nil, err
		}
	}
	return w, nil
}

func (w *wal) path(first uint64) string {
	return filepath.Join(w.dir, fmt.Sprintf("%016x.wal", first))
}

// replaySegment reads one segment, calling replay for records after
// `after`. It returns the offset where valid frames end and the last seq.
// A bad frame ends the last segment (torn write); elsewhere it is an error.
func (w *wal) replaySegment(first, after uint64, last bool, replay func(uint64, []byte) error) (int64, uint64, error) {
	f, err := os.Open(w.path(first))
	if err != nil {
		return 0, 0, err
	}
	defer f.Close()
	r := bufio.NewReaderSize(f, 1<<20)
	var off int64
	var lastSeq uint64
	hdr := make([]byte, walFrameHeader)
	var rec []byte
	for {
		if _, err := io.ReadFull(r, hdr); err != nil {
			if err == io.EOF {
				return off, lastSeq, nil
			}
			return w.torn(first, off, lastSeq, last, err)
		}
		n := binary.LittleEndian.Uint32(hdr[0:4])
		sum := binary.LittleEndian.Uint32(hdr[4:8])
		seq := binary.LittleEndian.Uint64(hdr[8:16])
		if n > walMaxRecord {
			return w.torn(first, off, lastSeq, last, fmt.Errorf("frame of %d bytes", n))
		}
		if cap(rec) < int(n) {
			rec = make([]byte, n)
		}
		rec = rec[:n]
		if _, err := io.ReadFull(r, rec); err != nil {
			return w.torn(first, off, lastSeq, last, err)
		}
		if crc32.Checksum(rec, crcTable) != sum || (lastSeq != 0 && seq != lastSeq+1) {
			return w.torn(first, off, lastSeq, last, errors.New("checksum or sequence mismatch"))
		}
		if seq > after {
			if err := replay(seq, rec); err != nil {
				if err == errStopRead {
					return off, lastSeq, err
				}
				return 0, 0, fmt.Errorf("replay record %d: %w", seq, err)
			}
		}
		lastSeq = seq
		off += walFrameHeader + int64(n)
	}
}

// errStopRead ends readRange's walk over a segment.
var errStopRead = errors.New("stop")

// readRange calls fn, in order, for the records with after < seq <= upTo
// while the log is in use: records up to upTo are complete and synced, so
// a bad frame before upTo is corruption.
func (w *wal) readRange(after, upTo uint64, fn func(seq uint64, rec []byte) error) error {
	w.mu.Lock()
	segments := append([]uint64(nil), w.segments...)
	w.mu.Unlock()
	for i, first := range segments {
		if first > upTo {
			break
		}
		if i+1 < len(segments) && segments[i+1] <= after+1 {
			continue
		}
		_, lastSeq, err := w.replaySegment(first, after, false, func(seq uint64, rec []byte) error {
			if seq > upTo {
				return errStopRead
			}
			return fn(seq, rec)
		})
		if errors.Is(err, errStopRead) || err == nil && lastSeq >= upTo {
			return nil
		}
		if err != nil {
			return err
		}
	}
	return nil
}

func (w *wal) torn(first uint64, off int64, lastSeq uint64, last bool, cause error) (int64, uint64, error) {
	if !last {
		return 0, 0, fmt.Errorf("write-ahead log segment %s is corrupt at offset %d: %v", w.path(first), off, cause)
	}
	w.log.Warn("write-ahead log: discarding a torn write at the end of the log (unacknowledged data)", "segment", w.path(first), "offset", off, "cause", cause)
	return off, lastSeq, nil
}

// rotate starts a new segment at nextSeq. The caller holds mu or owns w.
func (w *wal) rotate() error {
	if w.f != nil {
		if err := w.f.Close(); err != nil {
			return err
		}
	}
	f, err := os.OpenFile(w.path(w.nextSeq), os.O_CREATE|os.O_RDWR|os.O_TRUNC, 0o640)
	if err != nil {
		return err
	}
	if err := syncDir(w.dir); err != nil {
		f.Close()
		return err
	}
	w.f, w.size = f, 0
	w.segments = append(w.segments, w.nextSeq)
	return nil
}

// appendRecords writes records as consecutive frames, fsyncs once, and
// returns the seq of the first. Only the WAL goroutine calls it.
func (w *wal) appendRecords(recs [][]byte) (uint64, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.size >= walSegmentBytes {
		if err := w.rotate(); err != nil {
			return 0, err
		}
	}
	first := w.nextSeq
	w.buf = w.buf[:0]
	for i, rec := range recs {
		var hdr [walFrameHeader]byte
		binary.LittleEndian.PutUint32(hdr[0:4], uint32(len(rec)))
		binary.LittleEndian.PutUint32(hdr[4:8], crc32.Checksum(rec, crcTable))
		binary.LittleEndian.PutUint64(hdr[8:16], first+uint64(i))
		w.buf = append(w.buf, hdr[:]...)
		w.buf = append(w.buf, rec...)
	}
	if _, err := w.f.Write(w.buf); err != nil {
		// Cut what may have been written so the log stays well formed.
		w.f.Truncate(w.size)
		w.f.Seek(w.size, io.SeekStart)
		return 0, fmt.Errorf("write-ahead log: %w", err)
	}
	if err := w.f.Sync(); err != nil {
		return 0, fmt.Errorf("write-ahead log sync: %w", err)
	}
	w.size += int64(len(w.buf))
	w.nextSeq += uint64(len(recs))
	if cap(w.buf) > 64<<20 {
		w.buf = nil
	}
	return first, nil
}

// releasable reports whether release(applied) would delete a segment.
func (w *wal) releasable(applied uint64) bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	return len(w.segments) > 1 && w.segments[1] <= applied+1
}

// release deletes the segments whose records are all at or below applied.
// The caller makes sure those records are checkpointed into the database
// file first: DuckDB's own log is not trusted with them on a full disk.
func (w *wal) release(applied uint64) {
	w.mu.Lock()
	defer w.mu.Unlock()
	for len(w.segments) > 1 && w.segments[1] <= applied+1 {
		if err := os.Remove(w.path(w.segments[0])); err != nil && !os.IsNotExist(err) {
			w.log.Warn("write-ahead log: remove applied segment", "err", err)
			return
		}
		w.segments = w.segments[1:]
	}
}

func (w *wal) close() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.f == nil {
		return nil
	}
	err := w.f.Close()
	w.f = nil
	return err
}

// closeApplied closes the log after a clean shutdown. When DuckDB holds
// every record (applied is the last seq), the segments are deleted: the
// next open continues numbering from wal_state.applied_seq.
func (w *wal) closeApplied(applied uint64) error {
	if err := w.close(); err != nil {
		return err
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	if applied+1 != w.nextSeq {
		return nil
	}
	for _, first := range w.segments {
		if err := os.Remove(w.path(first)); err != nil && !os.IsNotExist(err) {
			return err
		}
	}
	w.segments = nil
	return nil
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}

// lastSeq returns the seq of the newest record appended.
func (w *wal) lastSeq() uint64 {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.nextSeq - 1
}
