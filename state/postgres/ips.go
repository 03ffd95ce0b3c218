package postgres

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/netip"
	"slices"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgtype"

	"github.com/tracehound/tracehound/state"
)

var _ state.IPStore = (*Store)(nil)

// prefixOf returns the cidr of a canonical value: an address (as a
// full-length prefix), or a prefix that it masks.
func prefixOf(value string) (netip.Prefix, error) {
	if strings.Contains(value, "/") {
		p, err := netip.ParsePrefix(value)
		if err != nil {
			return netip.Prefix{}, fmt.Errorf("value %q: %w", value, err)
		}
		return p.Masked(), nil
	}
	a, err := netip.ParseAddr(value)
	if err != nil {
		return netip.Prefix{}, fmt.Errorf("value %q: %w", value, err)
	}
	if a.Zone() != "" {
		return netip.Prefix{}, fmt.Errorf("value %q: zones are not allowed", value)
	}
	return netip.PrefixFrom(a, a.BitLen()), nil
}

// stateJSON is how change items store an IPState.
type stateJSON struct {
	Status    string   `json:"status"`
	Reason    string   `json:"reason"`
	Source    string   `json:"source"`
	Severity  int      `json:"severity"`
	Tags      []string `json:"tags"`
	Notes     string   `json:"notes"`
	ExpiresAt string   `json:"expires_at,omitempty"`
}

// jsonTimeLayout keeps a time in a change item to the nanosecond.
const jsonTimeLayout = "2006-01-02T15:04:05.000000000Z"

func encodeState(s *state.IPState) ([]byte, error) {
	if s == nil {
		return nil, nil
	}
	j := stateJSON{Status: s.Status, Reason: s.Reason, Source: s.Source, Severity: s.Severity,
		Tags: state.NormalizeTags(s.Tags), Notes: s.Notes}
	if !s.ExpiresAt.IsZero() {
		j.ExpiresAt = s.ExpiresAt.UTC().Format(jsonTimeLayout)
	}
	return json.Marshal(j)
}

func decodeState(b []byte) (*state.IPState, error) {
	if b == nil {
		return nil, nil
	}
	var j stateJSON
	if err := json.Unmarshal(b, &j); err != nil {
		return nil, fmt.Errorf("stored IP state: %w", err)
	}
	out := &state.IPState{Status: j.Status, Reason: j.Reason, Source: j.Source, Severity: j.Severity,
		Tags: state.NormalizeTags(j.Tags), Notes: j.Notes}
	if j.ExpiresAt != "" {
		t, err := time.Parse(jsonTimeLayout, j.ExpiresAt)
		if err != nil {
			return nil, fmt.Errorf("stored IP state: %w", err)
		}
		out.ExpiresAt = t
	}
	return out, nil
}

// ApplyIPChange implements state.IPStore. Changes are applied under the IP
// change lock: each one compares its items' Before with the records as the
// previous change left them, as on SQLite.
func (s *Store) ApplyIPChange(ctx context.Context, c state.IPChange) (int64, error) {
	if c.Action == "" {
		return 0, errors.New("apply IP change: no action")
	}
	var id int64
	err := s.inTx(ctx, func(tx pgx.Tx) error {
		var err error
		id, err = applyIPChange(ctx, tx, c)
		return err
	})
	if err != nil {
		return 0, fmt.Errorf("apply IP change: %w", err)
	}
	return id, nil
}

func applyIPChange(ctx context.Context, tx pgx.Tx, c state.IPChange) (int64, error) {
	if err := lock(ctx, tx, lockIPChanges); err != nil {
		return 0, err
	}
	var id int64
	if err := tx.QueryRow(ctx, `INSERT INTO ip_changes (at, actor, reason, action, source, shadow, subject, undo_of)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING id`,
		stamp(c.At), c.Actor, c.Reason, c.Action, c.Source, c.Shadow, c.Subject, nullID(c.UndoOf)).Scan(&id); err != nil {
		return 0, err
	}
	if c.UndoOf != 0 {
		tag, err := tx.Exec(ctx, `UPDATE ip_changes SET undone_by = $1 WHERE id = $2 AND undone_by IS NULL`, id, c.UndoOf)
		if err != nil {
			return 0, err
		}
		if tag.RowsAffected() == 0 {
			var exists bool
			if err := tx.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM ip_changes WHERE id = $1)`, c.UndoOf).Scan(&exists); err != nil {
				return 0, err
			}
			if !exists {
				return 0, fmt.Errorf("change %d: %w", c.UndoOf, state.ErrNotFound)
			}
			return 0, fmt.Errorf("change %d was already undone: %w", c.UndoOf, state.ErrIPChangeConflict)
		}
	}
	if len(c.Items) == 0 {
		return id, nil
	}
	items := make([][]any, len(c.Items))
	values := make([]string, len(c.Items))
	for i, it := range c.Items {
		before, err := encodeState(it.Before)
		if err != nil {
			return 0, err
		}
		after, err := encodeState(it.After)
		if err != nil {
			return 0, err
		}
		items[i] = []any{id, it.Value, before, after}
		values[i] = it.Value
	}
	if _, err := tx.CopyFrom(ctx, pgx.Identifier{"ip_change_items"}, []string{"change_id", "value", "before", "after"},
		pgx.CopyFromRows(items)); err != nil {
		return 0, fmt.Errorf("items: %w", err)
	}
	if c.Shadow {
		return id, nil
	}
	return id, applyItems(ctx, tx, c, values)
}

// applyItems writes the items of c to ip_records after checking that
// every record is in its item's Before state. It reads the records in one
// query and writes them in one batch; the IP change lock keeps other
// changes out in between.
func applyItems(ctx context.Context, tx pgx.Tx, c state.IPChange, values []string) error {
	type currentRecord struct {
		id int64
		st state.IPState
	}
	rows, err := tx.Query(ctx, `SELECT id, value, status, reason, source, severity, tags, notes, expires_at
		FROM ip_records WHERE value = ANY($1)`, values)
	if err != nil {
		return err
	}
	current := make(map[string]currentRecord, len(values))
	for rows.Next() {
		var r currentRecord
		var value string
		if err := rows.Scan(&r.id, &value, &r.st.Status, &r.st.Reason, &r.st.Source, &r.st.Severity, &r.st.Tags, &r.st.Notes,
			(*scanStamp)(&r.st.ExpiresAt)); err != nil {
			rows.Close()
			return err
		}
		current[value] = r
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return err
	}
	var batch pgx.Batch
	for _, it := range c.Items {
		var cur *state.IPState
		rec, exists := current[it.Value]
		if exists {
			cur = &rec.st
		}
		if !cur.Equal(it.Before) {
			return fmt.Errorf("item %s: record changed since it was read: %w", it.Value, state.ErrIPChangeConflict)
		}
		a := it.After
		switch {
		case a == nil && cur == nil:
		case a == nil:
			batch.Queue(`DELETE FROM ip_records WHERE id = $1`, rec.id)
		case !state.ValidIPStatus(a.Status):
			return fmt.Errorf("item %s: unknown status %q", it.Value, a.Status)
		case cur == nil:
			p, err := prefixOf(it.Value)
			if err != nil {
				return fmt.Errorf("item %s: %w", it.Value, err)
			}
			tags := state.NormalizeTags(a.Tags)
			batch.Queue(`INSERT INTO ip_records (value, net, status, reason, source, severity, tags, notes, search,
				expires_at, created_by, updated_by, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $11, $12, $12)`,
				it.Value, p, a.Status, a.Reason, a.Source, a.Severity, tags, a.Notes, searchBody(it.Value, a.Notes, a.Reason, tags),
				nullStamp(a.ExpiresAt), c.Actor, stamp(c.At))
		default:
			tags := state.NormalizeTags(a.Tags)
			batch.Queue(`UPDATE ip_records SET status = $1, reason = $2, source = $3, severity = $4, tags = $5, notes = $6,
				search = $7, expires_at = $8, updated_by = $9, updated_at = $10 WHERE id = $11`,
				a.Status, a.Reason, a.Source, a.Severity, tags, a.Notes, searchBody(it.Value, a.Notes, a.Reason, tags),
				nullStamp(a.ExpiresAt), c.Actor, stamp(c.At), rec.id)
		}
	}
	if batch.Len() == 0 {
		return nil
	}
	return tx.SendBatch(ctx, &batch).Close()
}

// searchBody is what text search matches for a record.
func searchBody(value, notes, reason string, tags []string) string {
	return strings.Join(append([]string{value, notes, reason}, tags...), " ")
}

// IPChange implements state.IPStore.
func (s *Store) IPChange(ctx context.Context, id int64) (state.IPChange, error) {
	changes, err := s.ipChanges(ctx, where{conds: []string{"id = $1"}, args: []any{id}}, "", "")
	if err != nil {
		return state.IPChange{}, fmt.Errorf("IP change %d: %w", id, err)
	}
	if len(changes) == 0 {
		return state.IPChange{}, fmt.Errorf("IP change %d: %w", id, state.ErrNotFound)
	}
	return changes[0], nil
}

// IPChanges implements state.IPStore.
func (s *Store) IPChanges(ctx context.Context, f state.IPChangeFilter) ([]state.IPChange, error) {
	var w where
	if f.Value != "" {
		w.add("id IN (SELECT change_id FROM ip_change_items WHERE value = ?)", f.Value)
	}
	if f.Action != "" {
		w.add("action = ?", f.Action)
	}
	if f.Shadow != nil {
		w.add("shadow = ?", *f.Shadow)
	}
	if f.BeforeID != 0 {
		w.add("id < ?", f.BeforeID)
	}
	changes, err := s.ipChanges(ctx, w, " ORDER BY id DESC LIMIT "+w.arg(limitArg(f.Limit)), f.Value)
	if err != nil {
		return nil, fmt.Errorf("IP changes: %w", err)
	}
	return changes, nil
}

// ipChanges loads the changes that pass w, then their items (only
// onlyValue's when set) in one query.
func (s *Store) ipChanges(ctx context.Context, w where, order, onlyValue string) ([]state.IPChange, error) {
	out, err := queryAll(ctx, s.pool, "changes", func(row pgx.Row) (state.IPChange, error) {
		var c state.IPChange
		var undoOf, undoneBy *int64
		err := row.Scan(&c.ID, (*scanStamp)(&c.At), &c.Actor, &c.Reason, &c.Action, &c.Source, &c.Shadow, &c.Subject, &undoOf, &undoneBy)
		if undoOf != nil {
			c.UndoOf = *undoOf
		}
		if undoneBy != nil {
			c.UndoneBy = *undoneBy
		}
		c.Items = []state.IPChangeItem{}
		return c, err
	}, `SELECT id, at, actor, reason, action, source, shadow, subject, undo_of, undone_by FROM ip_changes`+w.clause()+order, w.args...)
	if err != nil || len(out) == 0 {
		return out, err
	}
	ids := make([]int64, len(out))
	index := make(map[int64]int, len(out))
	for i, c := range out {
		ids[i] = c.ID
		index[c.ID] = i
	}
	var iw where
	iw.add("change_id = ANY(?)", ids)
	if onlyValue != "" {
		iw.add("value = ?", onlyValue)
	}
	rows, err := s.pool.Query(ctx, `SELECT change_id, value, before, after FROM ip_change_items`+iw.clause()+` ORDER BY change_id, value`, iw.args...)
	if err != nil {
		return nil, fmt.Errorf("items: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var changeID int64
		var it state.IPChangeItem
		var before, after []byte
		if err := rows.Scan(&changeID, &it.Value, &before, &after); err != nil {
			return nil, fmt.Errorf("items: %w", err)
		}
		if it.Before, err = decodeState(before); err != nil {
			return nil, err
		}
		if it.After, err = decodeState(after); err != nil {
			return nil, err
		}
		i := index[changeID]
		out[i].Items = append(out[i].Items, it)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("items: %w", err)
	}
	return out, nil
}

const recordColumns = `id, value, status, reason, source, severity, tags, notes, expires_at, created_by, updated_by,
	created_at, updated_at, enrichment, enriched_at, first_seen, last_seen, requests, bytes`

func scanRecord(row pgx.Row) (state.IPRecord, error) {
	var r state.IPRecord
	err := row.Scan(&r.ID, &r.Value, &r.Status, &r.Reason, &r.Source, &r.Severity, &r.Tags, &r.Notes, (*scanStamp)(&r.ExpiresAt),
		&r.CreatedBy, &r.UpdatedBy, (*scanStamp)(&r.CreatedAt), (*scanStamp)(&r.UpdatedAt), &r.Enrichment, (*scanStamp)(&r.EnrichedAt),
		(*scanStamp)(&r.FirstSeen), (*scanStamp)(&r.LastSeen), &r.RequestCount, &r.ByteCount)
	r.Tags = state.NormalizeTags(r.Tags)
	return r, err
}

// IP implements state.IPStore.
func (s *Store) IP(ctx context.Context, value string) (state.IPRecord, error) {
	r, err := scanRecord(s.pool.QueryRow(ctx, `SELECT `+recordColumns+` FROM ip_records WHERE value = $1`, value))
	if errors.Is(err, pgx.ErrNoRows) {
		return r, fmt.Errorf("IP %s: %w", value, state.ErrNotFound)
	}
	if err != nil {
		return r, fmt.Errorf("IP %s: %w", value, err)
	}
	return r, nil
}

// LookupIPs implements state.IPStore.
func (s *Store) LookupIPs(ctx context.Context, values []string) (map[string]state.IPRecord, error) {
	records, err := queryAll(ctx, s.pool, "look up IPs", scanRecord, `SELECT `+recordColumns+` FROM ip_records WHERE value = ANY($1)`, values)
	if err != nil {
		return nil, err
	}
	out := make(map[string]state.IPRecord, len(records))
	for _, r := range records {
		out[r.Value] = r
	}
	return out, nil
}

// sortColumns maps sort keys to their column and whether it is nullable;
// every one is indexed together with the value order.
var sortColumns = map[string]struct {
	col      string
	nullable bool
}{
	state.IPSortStatus: {"status", false}, state.IPSortSeverity: {"severity", false}, state.IPSortSource: {"source", false},
	state.IPSortCreatedAt: {"created_at", false}, state.IPSortUpdatedAt: {"updated_at", false}, state.IPSortExpiresAt: {"expires_at", true},
	state.IPSortFirstSeen: {"first_seen", true}, state.IPSortLastSeen: {"last_seen", true}, state.IPSortRequests: {"requests", false},
	state.IPSortBytes: {"bytes", false},
}

// IPs implements state.IPStore. NULLs sort first ascending and last
// descending, as in SQLite; ties go by the value order (net).
func (s *Store) IPs(ctx context.Context, f state.IPFilter) (state.IPPage, error) {
	var w where
	if len(f.Statuses) > 0 {
		w.add("status = ANY(?)", f.Statuses)
	}
	if f.Tag != "" {
		w.add("tags @> ARRAY[?]::text[]", f.Tag)
	}
	if f.Source != "" {
		w.add("source = ?", f.Source)
	}
	if f.Within != "" {
		p, err := prefixOf(f.Within)
		if err != nil {
			return state.IPPage{}, fmt.Errorf("IPs within: %w", err)
		}
		w.add("net <<= ?", p)
	}
	if f.Containing != "" {
		p, err := prefixOf(f.Containing)
		if err != nil {
			return state.IPPage{}, fmt.Errorf("IPs containing: %w", err)
		}
		w.add("net >>= ?", p)
	}
	if f.Text != "" {
		w.add("search ILIKE ?", "%"+likeEscaper.Replace(f.Text)+"%")
	}
	if !f.ExpiresBefore.IsZero() {
		w.add("expires_at < ?", stamp(f.ExpiresBefore))
	}
	if !f.ExpiresAfter.IsZero() {
		w.add("expires_at > ?", stamp(f.ExpiresAfter))
	}
	if !f.ActiveAt.IsZero() {
		w.add("(expires_at IS NULL OR expires_at > ?)", stamp(f.ActiveAt))
	}
	dir, nulls := " ASC", " NULLS FIRST"
	if f.Desc {
		dir, nulls = " DESC", " NULLS LAST"
	}
	order := "net" + dir
	if f.Sort != "" && f.Sort != state.IPSortValue {
		sc, ok := sortColumns[f.Sort]
		if !ok {
			return state.IPPage{}, fmt.Errorf("IPs: unknown sort key %q", f.Sort)
		}
		col := sc.col + dir
		if sc.nullable {
			col += nulls
		}
		order = col + ", " + order
	}
	page := state.IPPage{Records: []state.IPRecord{}}
	// The count and the page read one snapshot.
	err := pgx.BeginTxFunc(ctx, s.pool, pgx.TxOptions{IsoLevel: pgx.RepeatableRead, AccessMode: pgx.ReadOnly}, func(tx pgx.Tx) error {
		if err := tx.QueryRow(ctx, `SELECT count(*) FROM ip_records`+w.clause(), w.args...).Scan(&page.Total); err != nil {
			return err
		}
		pw := w
		pw.args = slices.Clone(w.args)
		records, err := queryAll(ctx, tx, "page", scanRecord, `SELECT `+recordColumns+` FROM ip_records`+pw.clause()+
			` ORDER BY `+order+` LIMIT `+pw.arg(limitArg(f.Limit))+` OFFSET `+pw.arg(max(f.Offset, 0)), pw.args...)
		page.Records = records
		return err
	})
	if err != nil {
		return state.IPPage{}, fmt.Errorf("IPs: %w", err)
	}
	return page, nil
}

// SetIPEnrichment implements state.IPStore.
func (s *Store) SetIPEnrichment(ctx context.Context, value string, enrichment []byte, at time.Time) error {
	tag, err := s.pool.Exec(ctx, `UPDATE ip_records SET enrichment = $1, enriched_at = $2 WHERE value = $3`, enrichment, stamp(at), value)
	if err != nil {
		return fmt.Errorf("enrich IP %s: %w", value, err)
	}
	return affectedOne(tag, "enrich IP "+value)
}

// UpdateIPStats implements state.IPStore. It is one statement: a
// concurrent update of the same records waits for it, then folds its own
// values into the result, so neither loses the earliest first seen nor
// the latest last seen. Repeated values are folded first, as applying
// them in turn would (the last counts win); each counts as an update.
func (s *Store) UpdateIPStats(ctx context.Context, stats []state.IPStats) (int, error) {
	type folded struct {
		state.IPStats
		times int
	}
	byValue := make(map[string]*folded, len(stats))
	var order []*folded
	for _, st := range stats {
		f, ok := byValue[st.Value]
		if !ok {
			f = &folded{IPStats: st}
			byValue[st.Value] = f
			order = append(order, f)
		} else {
			if !st.FirstSeen.IsZero() && (f.FirstSeen.IsZero() || st.FirstSeen.Before(f.FirstSeen)) {
				f.FirstSeen = st.FirstSeen
			}
			if st.LastSeen.After(f.LastSeen) {
				f.LastSeen = st.LastSeen
			}
			f.RequestCount, f.ByteCount = st.RequestCount, st.ByteCount
		}
		f.times++
	}
	if len(order) == 0 {
		return 0, nil
	}
	values := make([]string, len(order))
	first := make([]pgtype.Int8, len(order))
	last := make([]pgtype.Int8, len(order))
	requests := make([]int64, len(order))
	bytes := make([]int64, len(order))
	for i, f := range order {
		var err error
		if first[i], err = nullStamp(f.FirstSeen).Int64Value(); err != nil {
			return 0, fmt.Errorf("update IP stats: %s: %w", f.Value, err)
		}
		if last[i], err = nullStamp(f.LastSeen).Int64Value(); err != nil {
			return 0, fmt.Errorf("update IP stats: %s: %w", f.Value, err)
		}
		values[i], requests[i], bytes[i] = f.Value, f.RequestCount, f.ByteCount
	}
	// Two updates locking shared records in different orders deadlock;
	// inTx runs the loser again.
	var updated []string
	err := s.inTx(ctx, func(tx pgx.Tx) error {
		rows, err := tx.Query(ctx, `UPDATE ip_records r SET
				first_seen = CASE WHEN s.first_seen IS NULL THEN r.first_seen ELSE least(r.first_seen, s.first_seen) END,
				last_seen = CASE WHEN s.last_seen IS NULL THEN r.last_seen ELSE greatest(r.last_seen, s.last_seen) END,
				requests = s.requests, bytes = s.bytes
			FROM unnest($1::text[], $2::bigint[], $3::bigint[], $4::bigint[], $5::bigint[]) AS s (value, first_seen, last_seen, requests, bytes)
			WHERE r.value = s.value
			RETURNING r.value`, values, first, last, requests, bytes)
		if err != nil {
			return err
		}
		updated, err = pgx.CollectRows(rows, pgx.RowTo[string])
		return err
	})
	if err != nil {
		return 0, fmt.Errorf("update IP stats: %w", err)
	}
	n := 0
	for _, v := range updated {
		n += byValue[v].times
	}
	return n, nil
}

const decisionColumns = `id, value, scenario, until, created_at, deleted_at`

func scanDecision(row pgx.Row) (state.Decision, error) {
	var d state.Decision
	err := row.Scan(&d.ID, &d.Value, &d.Scenario, (*scanStamp)(&d.Until), (*scanStamp)(&d.CreatedAt), (*scanStamp)(&d.DeletedAt))
	return d, err
}

// SyncDecisions implements state.IPStore. Syncs hold the decisions lock,
// so two replicas syncing at once neither both create a value's decision
// nor both delete one.
func (s *Store) SyncDecisions(ctx context.Context, want []state.Decision, now time.Time) (created, deleted int, err error) {
	err = s.inTx(ctx, func(tx pgx.Tx) error {
		var err error
		created, deleted, err = syncDecisions(ctx, tx, want, now)
		return err
	})
	if err != nil {
		return 0, 0, fmt.Errorf("sync decisions: %w", err)
	}
	return created, deleted, nil
}

func syncDecisions(ctx context.Context, tx pgx.Tx, want []state.Decision, now time.Time) (created, deleted int, err error) {
	if err := lock(ctx, tx, lockDecisions); err != nil {
		return 0, 0, err
	}
	active, err := queryAll(ctx, tx, "active decisions", scanDecision, `SELECT `+decisionColumns+` FROM decisions WHERE deleted_at IS NULL`)
	if err != nil {
		return 0, 0, err
	}
	type key struct {
		value, scenario string
		until           int64
	}
	keyOf := func(d state.Decision) key {
		u, _ := nanos(d.Until)
		return key{d.Value, d.Scenario, u}
	}
	wanted := make(map[key]bool, len(want))
	for _, d := range want {
		wanted[keyOf(d)] = true
	}
	kept := make(map[key]bool, len(active))
	var batch pgx.Batch
	for _, d := range active {
		k := keyOf(d)
		if wanted[k] && (d.Until.IsZero() || d.Until.After(now)) {
			kept[k] = true
			continue
		}
		at := now
		if !d.Until.IsZero() && d.Until.Before(now) {
			at = d.Until
		}
		batch.Queue(`UPDATE decisions SET deleted_at = $1 WHERE id = $2`, stamp(at), d.ID)
		deleted++
	}
	for _, d := range want {
		if kept[keyOf(d)] {
			continue
		}
		p, err := prefixOf(d.Value)
		if err != nil {
			return 0, 0, err
		}
		batch.Queue(`INSERT INTO decisions (value, net, scenario, until, created_at) VALUES ($1, $2, $3, $4, $5)`,
			d.Value, p, d.Scenario, nullStamp(d.Until), stamp(now))
		created++
	}
	if batch.Len() == 0 {
		return 0, 0, nil
	}
	if err := tx.SendBatch(ctx, &batch).Close(); err != nil {
		return 0, 0, err
	}
	return created, deleted, nil
}

// ActiveDecisions implements state.IPStore.
func (s *Store) ActiveDecisions(ctx context.Context, now time.Time, containing string) ([]state.Decision, error) {
	var w where
	w.add("deleted_at IS NULL")
	w.add("(until IS NULL OR until > ?)", stamp(now))
	if containing != "" {
		p, err := prefixOf(containing)
		if err != nil {
			return nil, fmt.Errorf("active decisions: %w", err)
		}
		w.add("net >>= ?", p)
	}
	return queryAll(ctx, s.pool, "active decisions", scanDecision, `SELECT `+decisionColumns+` FROM decisions`+w.clause()+` ORDER BY id`, w.args...)
}

// DecisionChanges implements state.IPStore.
func (s *Store) DecisionChanges(ctx context.Context, since, now time.Time) (created, deleted []state.Decision, err error) {
	err = pgx.BeginTxFunc(ctx, s.pool, pgx.TxOptions{IsoLevel: pgx.RepeatableRead, AccessMode: pgx.ReadOnly}, func(tx pgx.Tx) error {
		var err error
		created, err = queryAll(ctx, tx, "created", scanDecision, `SELECT `+decisionColumns+` FROM decisions
			WHERE created_at > $1 AND deleted_at IS NULL AND (until IS NULL OR until > $2) ORDER BY id`, stamp(since), stamp(now))
		if err != nil {
			return err
		}
		// One deletion per value: the latest.
		deleted, err = queryAll(ctx, tx, "deleted", scanDecision, `SELECT `+decisionColumns+` FROM (
				SELECT DISTINCT ON (value) * FROM decisions d
				WHERE ((deleted_at > $1 AND deleted_at <= $2) OR (deleted_at IS NULL AND until > $1 AND until <= $2))
				AND NOT EXISTS (SELECT 1 FROM decisions a WHERE a.value = d.value AND a.deleted_at IS NULL AND (a.until IS NULL OR a.until > $2))
				ORDER BY value, id DESC
			) latest ORDER BY id`, stamp(since), stamp(now))
		return err
	})
	if err != nil {
		return nil, nil, fmt.Errorf("decision changes: %w", err)
	}
	return created, deleted, nil
}

// AddBouncer implements state.IPStore.
func (s *Store) AddBouncer(ctx context.Context, b state.Bouncer) (state.Bouncer, error) {
	err := s.pool.QueryRow(ctx, `INSERT INTO bouncers (name, key_hash, created_at) VALUES ($1, $2, $3)
		ON CONFLICT (name) DO NOTHING RETURNING id`, b.Name, b.KeyHash, stamp(b.CreatedAt)).Scan(&b.ID)
	if errors.Is(err, pgx.ErrNoRows) {
		return b, fmt.Errorf("add bouncer %q: %w", b.Name, state.ErrBouncerExists)
	}
	if err != nil {
		return b, fmt.Errorf("add bouncer %q: %w", b.Name, err)
	}
	b.LastPull = time.Time{}
	return b, nil
}

func scanBouncer(row pgx.Row) (state.Bouncer, error) {
	var b state.Bouncer
	err := row.Scan(&b.ID, &b.Name, &b.KeyHash, (*scanStamp)(&b.CreatedAt), (*scanStamp)(&b.LastPull))
	return b, err
}

// Bouncers implements state.IPStore.
func (s *Store) Bouncers(ctx context.Context) ([]state.Bouncer, error) {
	return queryAll(ctx, s.pool, "bouncers", scanBouncer, `SELECT id, name, key_hash, created_at, last_pull FROM bouncers ORDER BY name`)
}

// BouncerByKeyHash implements state.IPStore.
func (s *Store) BouncerByKeyHash(ctx context.Context, keyHash string) (state.Bouncer, error) {
	b, err := scanBouncer(s.pool.QueryRow(ctx, `SELECT id, name, key_hash, created_at, last_pull FROM bouncers WHERE key_hash = $1`, keyHash))
	if errors.Is(err, pgx.ErrNoRows) {
		return state.Bouncer{}, fmt.Errorf("bouncer by key: %w", state.ErrNotFound)
	}
	if err != nil {
		return state.Bouncer{}, fmt.Errorf("bouncer by key: %w", err)
	}
	return b, nil
}

// DeleteBouncer implements state.IPStore.
func (s *Store) DeleteBouncer(ctx context.Context, name string) error {
	tag, err := s.pool.Exec(ctx, `DELETE FROM bouncers WHERE name = $1`, name)
	if err != nil {
		return fmt.Errorf("delete bouncer %q: %w", name, err)
	}
	return affectedOne(tag, fmt.Sprintf("bouncer %q", name))
}

// SetBouncerPull implements state.IPStore.
func (s *Store) SetBouncerPull(ctx context.Context, id int64, at time.Time) error {
	tag, err := s.pool.Exec(ctx, `UPDATE bouncers SET last_pull = $1 WHERE id = $2`, stamp(at), id)
	if err != nil {
		return fmt.Errorf("bouncer %d pull: %w", id, err)
	}
	return affectedOne(tag, fmt.Sprintf("bouncer %d", id))
}
