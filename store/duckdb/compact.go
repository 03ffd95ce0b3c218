package duckdb

import (
	"context"
	"database/sql"
	"fmt"
	"slices"
	"strings"
	"time"
)

// Spans arrive in time order, so every row group of the table holds a
// little of every caller: a question about one client address or one
// endpoint decompresses the whole table. Compact rewrites each closed
// period (an hour of today, then each whole day once it is over) ordered
// by compactOrder, after which DuckDB's per-row-group statistics skip all
// but the few row groups that hold the address or route asked about. A
// week of a 12 M/day stream is rewritten at about a minute per day on two
// cores; an investigation of three addresses then reads a few million
// rows instead of 84 million.
//
// The rewrite is one transaction per period: it appends the period's
// spans in the new order and deletes the rows it copied (those whose
// rowid existed when it began), so spans that arrive meanwhile, late ones
// included, are neither lost nor copied twice. Queries read a consistent
// snapshot throughout.

// compactOrder is the order a compacted period's spans are stored in:
// service and route group an endpoint's requests; the client address
// then groups a caller's; time orders each caller's requests. The spans
// inside a request (no route, no client address: keyless) are copied as
// they are, in time order, before the others: sorting them would cost
// most of the rewrite and skip nothing more.
const (
	compactOrder = "service_name, http_route, peer_ip, timestamp"
	keyless      = "http_route = '' AND peer_ip = ''"
	inPeriod     = "timestamp >= ? AND timestamp < ?" // from, to
)

// compactChunkRows bounds the rows one statement of a rewrite sorts. A
// busy day's spans are wide: sorted at once they exceed DuckDB's default
// memory limit, so a period's rows are sorted in ranges of compactOrder,
// one after the other, which stores them in the same order.
var compactChunkRows int64 = 1_000_000

const hourUS = int64(time.Hour / time.Microsecond)

// CompactOptions bound one Compact pass.
type CompactOptions struct {
	// Now is the current time; default time.Now.
	Now time.Time
	// Grace is how long after a period ends it is still left alone, for
	// late spans; default 10 minutes.
	Grace time.Duration
	// MaxSpans: a period holding more spans is left as it is (its rewrite
	// would take too long); default 50 million.
	MaxSpans int64
	// Budget: no period is started once the pass has run this long; zero
	// means no bound.
	Budget time.Duration
}

// CompactStats reports a Compact pass.
type CompactStats struct {
	// Periods and Spans count what was rewritten.
	Periods int
	Spans   int64
	// Pending counts the closed periods still to rewrite (skipped for
	// size or left for the next pass by the budget).
	Pending int
	Elapsed time.Duration
}

// period is a span of whole hours, counted from the Unix epoch.
type period struct {
	start, hours int64
	spans        int64
}

// Compact rewrites the closed periods that are not yet in compactOrder:
// each whole day before today's, and each hour of today. A period
// compacted before is rewritten again only when late spans have grown it
// by more than 1%. It is safe to run while spans are written and read.
func (s *Store) Compact(ctx context.Context, o CompactOptions) (CompactStats, error) {
	began := time.Now()
	var st CompactStats
	if o.Now.IsZero() {
		o.Now = time.Now()
	}
	if o.Grace <= 0 {
		o.Grace = 10 * time.Minute
	}
	if o.MaxSpans <= 0 {
		o.MaxSpans = 50_000_000
	}
	s.maintMu.Lock()
	defer s.maintMu.Unlock()
	plan, err := s.compactPlan(ctx, o)
	if err != nil {
		return st, err
	}
	for i, p := range plan {
		if o.Budget > 0 && time.Since(began) > o.Budget {
			st.Pending += len(plan) - i
			break
		}
		if p.spans > o.MaxSpans {
			st.Pending++
			s.log.Warn("period too large to compact", "start", hourTime(p.start), "hours", p.hours, "spans", p.spans, "max", o.MaxSpans)
			continue
		}
		t0 := time.Now()
		n, err := s.compactPeriod(ctx, p)
		if err != nil {
			st.Pending += len(plan) - i
			st.Elapsed = time.Since(began)
			return st, err
		}
		st.Periods++
		st.Spans += n
		s.log.Info("compacted spans", "start", hourTime(p.start).Format(time.RFC3339), "hours", p.hours, "spans", n, "took", time.Since(t0).Round(time.Millisecond))
	}
	if st.Periods > 0 {
		// Reclaim the space of the rows rewritten (if spans are being
		// committed meanwhile, a later checkpoint does).
		if _, err := s.db.ExecContext(ctx, "CHECKPOINT"); err != nil && ctx.Err() == nil && !checkpointBusy(err) {
			s.log.Warn("checkpoint after compaction", "err", err)
		}
	}
	st.Elapsed = time.Since(began)
	return st, nil
}

// compactPlan lists the closed periods to rewrite, oldest first.
func (s *Store) compactPlan(ctx context.Context, o CompactOptions) ([]period, error) {
	done := map[int64]period{}
	rows, err := s.db.QueryContext(ctx, "SELECT start_hour, hours, spans FROM compactions")
	if err != nil {
		return nil, fmt.Errorf("read compactions: %w", err)
	}
	for rows.Next() {
		var p period
		if err := rows.Scan(&p.start, &p.hours, &p.spans); err != nil {
			rows.Close()
			return nil, fmt.Errorf("read compactions: %w", err)
		}
		done[p.start] = p
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("read compactions: %w", err)
	}
	// Spans per hour: one scan of the timestamp column.
	counts := map[int64]int64{}
	rows, err = s.db.QueryContext(ctx, "SELECT epoch_us(timestamp) // ? AS h, count(*) FROM spans GROUP BY h", hourUS)
	if err != nil {
		return nil, fmt.Errorf("count spans per hour: %w", err)
	}
	for rows.Next() {
		var h, n int64
		if err := rows.Scan(&h, &n); err != nil {
			rows.Close()
			return nil, fmt.Errorf("count spans per hour: %w", err)
		}
		counts[h] = n
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("count spans per hour: %w", err)
	}
	closedBefore := o.Now.Add(-o.Grace).UnixMicro() // a period ending by then is closed
	today := o.Now.UTC().Truncate(24*time.Hour).UnixMicro() / hourUS
	fresh := func(p period) bool { // not compacted, or grown since by late spans
		d, ok := done[p.start]
		return !ok || d.hours != p.hours || p.spans-d.spans > d.spans/100
	}
	days := map[int64]int64{}
	var plan []period
	for h, n := range counts {
		if (h+1)*hourUS > closedBefore {
			continue
		}
		if d := h - h%24; d < today && (d+24)*hourUS <= closedBefore {
			days[d] += n
			continue
		}
		if p := (period{start: h, hours: 1, spans: n}); fresh(p) {
			plan = append(plan, p)
		}
	}
	for d, n := range days {
		if p := (period{start: d, hours: 24, spans: n}); fresh(p) {
			plan = append(plan, p)
		}
	}
	slices.SortFunc(plan, func(a, b period) int { return int(a.start - b.start) })
	return plan, nil
}

// compactPeriod rewrites one period in compactOrder and records it.
func (s *Store) compactPeriod(ctx context.Context, p period) (int64, error) {
	from, to := hourTime(p.start), hourTime(p.start+p.hours)
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return 0, fmt.Errorf("compact %s: %w", from.Format(time.RFC3339), err)
	}
	defer tx.Rollback()
	// Rows appended by this transaction have rowids above every committed
	// one until it commits, so "rowid ≤ last" is exactly the rows copied.
	var last sql.NullInt64
	if err := tx.QueryRowContext(ctx, "SELECT max(rowid) FROM spans").Scan(&last); err != nil {
		return 0, fmt.Errorf("compact %s: %w", from.Format(time.RFC3339), err)
	}
	res, err := tx.ExecContext(ctx, "INSERT INTO spans SELECT * FROM spans WHERE "+inPeriod+" AND "+keyless, from, to)
	if err != nil {
		return 0, fmt.Errorf("compact %s: copy: %w", from.Format(time.RFC3339), err)
	}
	copied, _ := res.RowsAffected()
	bounds, err := compactBounds(ctx, tx, from, to)
	if err != nil {
		return 0, fmt.Errorf("compact %s: %w", from.Format(time.RFC3339), err)
	}
	for i := range len(bounds) + 1 {
		where, args := inPeriod+" AND NOT ("+keyless+")", []any{from, to}
		if i > 0 {
			w, a := bounds[i-1].after()
			where, args = where+" AND "+w, append(args, a...)
		}
		if i < len(bounds) {
			w, a := bounds[i].after()
			where, args = where+" AND NOT "+w, append(args, a...)
		}
		res, err := tx.ExecContext(ctx, "INSERT INTO spans SELECT * FROM spans WHERE "+where+" ORDER BY "+compactOrder, args...)
		if err != nil {
			return 0, fmt.Errorf("compact %s: copy: %w", from.Format(time.RFC3339), err)
		}
		n, _ := res.RowsAffected()
		copied += n
	}
	res, err = tx.ExecContext(ctx, "DELETE FROM spans WHERE "+inPeriod+" AND rowid <= ?", from, to, last.Int64)
	if err != nil {
		return 0, fmt.Errorf("compact %s: delete: %w", from.Format(time.RFC3339), err)
	}
	if deleted, _ := res.RowsAffected(); deleted != copied {
		return 0, fmt.Errorf("compact %s: copied %d spans but would delete %d; left as it was", from.Format(time.RFC3339), copied, deleted)
	}
	if _, err := tx.ExecContext(ctx, "DELETE FROM compactions WHERE start_hour >= ? AND start_hour < ?", p.start, p.start+p.hours); err != nil {
		return 0, fmt.Errorf("compact %s: %w", from.Format(time.RFC3339), err)
	}
	if _, err := tx.ExecContext(ctx, "INSERT INTO compactions VALUES (?, ?, ?, now())", p.start, p.hours, copied); err != nil {
		return 0, fmt.Errorf("compact %s: %w", from.Format(time.RFC3339), err)
	}
	if err := tx.Commit(); err != nil {
		return 0, fmt.Errorf("compact %s: commit: %w", from.Format(time.RFC3339), err)
	}
	return copied, nil
}

// orderKey is a row's place in compactOrder.
type orderKey struct {
	service, route, peer string
	at                   time.Time
}

// after is the condition that a row comes after k in compactOrder.
func (k orderKey) after() (string, []any) {
	return "(service_name > ? OR (service_name = ? AND (http_route > ? OR (http_route = ? AND (peer_ip > ? OR (peer_ip = ? AND timestamp > ?))))))",
		[]any{k.service, k.service, k.route, k.route, k.peer, k.peer, k.at}
}

// same reports whether k and o are the same place in compactOrder.
func (k orderKey) same(o orderKey) bool {
	return k.service == o.service && k.route == o.route && k.peer == o.peer && k.at.Equal(o.at)
}

// compactBounds splits the keyed rows of [from, to) into ranges of
// compactOrder of about compactChunkRows rows each, taking the bounds
// from an ordered sample of the rows; it returns no bound when they fit
// one sort.
func compactBounds(ctx context.Context, tx *sql.Tx, from, to time.Time) ([]orderKey, error) {
	var n int64
	if err := tx.QueryRowContext(ctx, "SELECT count(*) FROM spans WHERE "+inPeriod+" AND NOT ("+keyless+")", from, to).Scan(&n); err != nil {
		return nil, fmt.Errorf("count spans: %w", err)
	}
	chunks := (n + compactChunkRows - 1) / compactChunkRows
	if chunks <= 1 {
		return nil, nil
	}
	const perChunk = 64 // sampled rows per chunk
	rows, err := tx.QueryContext(ctx, fmt.Sprintf(`SELECT service_name, http_route, peer_ip, timestamp FROM (
		SELECT service_name, http_route, peer_ip, timestamp FROM spans WHERE %s AND NOT (%s)
	) USING SAMPLE reservoir(%d ROWS) REPEATABLE (1) ORDER BY %s`, inPeriod, keyless, chunks*perChunk, compactOrder), from, to)
	if err != nil {
		return nil, fmt.Errorf("sample spans: %w", err)
	}
	defer rows.Close()
	var sample []orderKey
	for rows.Next() {
		var k orderKey
		if err := rows.Scan(&k.service, &k.route, &k.peer, &k.at); err != nil {
			return nil, fmt.Errorf("sample spans: %w", err)
		}
		sample = append(sample, k)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("sample spans: %w", err)
	}
	if len(sample) == 0 {
		return nil, nil
	}
	var bounds []orderKey
	for c := int64(1); c < chunks; c++ {
		b := sample[c*int64(len(sample))/chunks]
		if len(bounds) == 0 || !b.same(bounds[len(bounds)-1]) {
			bounds = append(bounds, b)
		}
	}
	return bounds, nil
}

// checkpointBusy reports whether a checkpoint failed only because another
// write transaction (an ingest commit, a compaction) was running; a later
// one, DuckDB's automatic checkpoints included, does the work.
func checkpointBusy(err error) bool {
	return strings.Contains(err.Error(), "other write transactions")
}

// CommittedSpans counts the spans committed since Open, for callers that
// pace background work by the ingest rate.
func (s *Store) CommittedSpans() int64 { return s.committed.Load() }

func hourTime(h int64) time.Time { return time.UnixMicro(h * hourUS).UTC() }
