package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"net/netip"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/tracehound/tracehound/state"
)

var _ state.IPStore = (*Store)(nil)

// ipRange is a value's range columns.
type ipRange struct {
	family     int
	start, end []byte
	bits       int
	prefix     netip.Prefix
}

// rangeOf computes the range columns of a canonical value: an address, or
// a prefix that it masks.
func rangeOf(value string) (ipRange, error) {
	var p netip.Prefix
	if strings.Contains(value, "/") {
		var err error
		if p, err = netip.ParsePrefix(value); err != nil {
			return ipRange{}, fmt.Errorf("value %q: %w", value, err)
		}
	} else {
		a, err := netip.ParseAddr(value)
		if err != nil {
			return ipRange{}, fmt.Errorf("value %q: %w", value, err)
		}
		if a.Zone() != "" {
			return ipRange{}, fmt.Errorf("value %q: zones are not allowed", value)
		}
		p = netip.PrefixFrom(a, a.BitLen())
	}
	p = p.Masked()
	r := ipRange{family: 6, bits: p.Bits(), start: p.Addr().AsSlice(), prefix: p}
	if p.Addr().Is4() {
		r.family = 4
	}
	r.end = make([]byte, len(r.start))
	copy(r.end, r.start)
	for i := r.bits; i < len(r.end)*8; i++ {
		r.end[i/8] |= 0x80 >> (i % 8)
	}
	return r, nil
}

// maskedStarts returns the start of every prefix of r's length or
// shorter that contains r: the only starts a range containing r can have.
func (r ipRange) maskedStarts() [][]byte {
	var out [][]byte
	for bits := 0; bits <= r.bits; bits++ {
		p := netip.PrefixFrom(r.prefix.Addr(), bits).Masked()
		out = append(out, p.Addr().AsSlice())
	}
	return out
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

func encodeState(s *state.IPState) (sql.NullString, error) {
	if s == nil {
		return sql.NullString{}, nil
	}
	j := stateJSON{Status: s.Status, Reason: s.Reason, Source: s.Source, Severity: s.Severity,
		Tags: state.NormalizeTags(s.Tags), Notes: s.Notes}
	if !s.ExpiresAt.IsZero() {
		j.ExpiresAt = formatTime(s.ExpiresAt)
	}
	b, err := json.Marshal(j)
	if err != nil {
		return sql.NullString{}, err
	}
	return sql.NullString{String: string(b), Valid: true}, nil
}

func decodeState(s sql.NullString) (*state.IPState, error) {
	if !s.Valid {
		return nil, nil
	}
	var j stateJSON
	if err := json.Unmarshal([]byte(s.String), &j); err != nil {
		return nil, fmt.Errorf("stored IP state: %w", err)
	}
	out := &state.IPState{Status: j.Status, Reason: j.Reason, Source: j.Source, Severity: j.Severity,
		Tags: state.NormalizeTags(j.Tags), Notes: j.Notes}
	if j.ExpiresAt != "" {
		t, err := parseTime(j.ExpiresAt)
		if err != nil {
			return nil, err
		}
		out.ExpiresAt = t
	}
	return out, nil
}

func encodeTags(tags []string) string {
	b, _ := json.Marshal(state.NormalizeTags(tags))
	return string(b)
}

func decodeTags(s string) ([]string, error) {
	var tags []string
	if err := json.Unmarshal([]byte(s), &tags); err != nil {
		return nil, fmt.Errorf("stored tags %q: %w", s, err)
	}
	return state.NormalizeTags(tags), nil
}

// ApplyIPChange implements state.IPStore.
func (s *Store) ApplyIPChange(ctx context.Context, c state.IPChange) (id int64, err error) {
	if c.Action == "" {
		return 0, errors.New("apply IP change: no action")
	}
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return 0, fmt.Errorf("apply IP change: %w", err)
	}
	defer func() {
		if err != nil {
			tx.Rollback()
			err = fmt.Errorf("apply IP change: %w", err)
		}
	}()
	var undoOf sql.NullInt64
	if c.UndoOf != 0 {
		undoOf = sql.NullInt64{Int64: c.UndoOf, Valid: true}
	}
	res, err := tx.ExecContext(ctx, `INSERT INTO ip_changes (at, actor, reason, action, source, shadow, subject, undo_of)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?)`, formatTime(c.At), c.Actor, c.Reason, c.Action, c.Source, c.Shadow, c.Subject, undoOf)
	if err != nil {
		return 0, err
	}
	if id, err = res.LastInsertId(); err != nil {
		return 0, err
	}
	if c.UndoOf != 0 {
		res, err := tx.ExecContext(ctx, `UPDATE ip_changes SET undone_by = ? WHERE id = ? AND undone_by IS NULL`, id, c.UndoOf)
		if err != nil {
			return 0, err
		}
		if n, err := res.RowsAffected(); err != nil {
			return 0, err
		} else if n == 0 {
			var exists int
			if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM ip_changes WHERE id = ?`, c.UndoOf).Scan(&exists); err != nil {
				return 0, err
			}
			if exists == 0 {
				return 0, fmt.Errorf("change %d: %w", c.UndoOf, state.ErrNotFound)
			}
			return 0, fmt.Errorf("change %d was already undone: %w", c.UndoOf, state.ErrIPChangeConflict)
		}
	}
	insertItem, err := tx.PrepareContext(ctx, `INSERT INTO ip_change_items (change_id, value, before, after) VALUES (?, ?, ?, ?)`)
	if err != nil {
		return 0, err
	}
	defer insertItem.Close()
	w, err := prepareRecordWriter(ctx, tx)
	if err != nil {
		return 0, err
	}
	defer w.close()
	for _, it := range c.Items {
		before, err := encodeState(it.Before)
		if err != nil {
			return 0, err
		}
		after, err := encodeState(it.After)
		if err != nil {
			return 0, err
		}
		if _, err := insertItem.ExecContext(ctx, id, it.Value, before, after); err != nil {
			return 0, fmt.Errorf("item %s: %w", it.Value, err)
		}
		if c.Shadow {
			continue
		}
		if err := w.apply(ctx, it, c); err != nil {
			return 0, fmt.Errorf("item %s: %w", it.Value, err)
		}
	}
	if err := tx.Commit(); err != nil {
		return 0, err
	}
	return id, nil
}

// recordWriter applies change items to ip_records within a transaction.
type recordWriter struct {
	current, insert, update, del, delTags, addTag, delSearch, addSearch *sql.Stmt
}

// searchBody is what text search matches for a record.
func searchBody(value string, s *state.IPState) string {
	return strings.Join(append([]string{value, s.Notes, s.Reason}, state.NormalizeTags(s.Tags)...), " ")
}

func prepareRecordWriter(ctx context.Context, tx *sql.Tx) (*recordWriter, error) {
	w := &recordWriter{}
	for _, p := range []struct {
		stmt **sql.Stmt
		q    string
	}{
		{&w.current, `SELECT id, status, reason, source, severity, tags, notes, expires_at FROM ip_records WHERE value = ?`},
		{&w.insert, `INSERT INTO ip_records (value, family, start_ip, end_ip, prefix_len, status, reason, source, severity, tags, notes,
			expires_at, created_by, updated_by, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`},
		{&w.update, `UPDATE ip_records SET status = ?, reason = ?, source = ?, severity = ?, tags = ?, notes = ?, expires_at = ?,
			updated_by = ?, updated_at = ? WHERE id = ?`},
		{&w.del, `DELETE FROM ip_records WHERE id = ?`},
		{&w.delTags, `DELETE FROM ip_tags WHERE record_id = ?`},
		{&w.addTag, `INSERT INTO ip_tags (tag, record_id) VALUES (?, ?)`},
		{&w.delSearch, `DELETE FROM ip_search WHERE rowid = ?`},
		{&w.addSearch, `INSERT INTO ip_search (rowid, body) VALUES (?, ?)`},
	} {
		stmt, err := tx.PrepareContext(ctx, p.q)
		if err != nil {
			w.close()
			return nil, err
		}
		*p.stmt = stmt
	}
	return w, nil
}

func (w *recordWriter) close() {
	for _, s := range []*sql.Stmt{w.current, w.insert, w.update, w.del, w.delTags, w.addTag, w.delSearch, w.addSearch} {
		if s != nil {
			s.Close()
		}
	}
}

func (w *recordWriter) apply(ctx context.Context, it state.IPChangeItem, c state.IPChange) error {
	var recordID int64
	var cur *state.IPState
	var st state.IPState
	var tags string
	var expires sql.NullString
	err := w.current.QueryRowContext(ctx, it.Value).Scan(&recordID, &st.Status, &st.Reason, &st.Source, &st.Severity, &tags, &st.Notes, &expires)
	switch {
	case errors.Is(err, sql.ErrNoRows):
	case err != nil:
		return err
	default:
		if st.Tags, err = decodeTags(tags); err != nil {
			return err
		}
		if st.ExpiresAt, err = parseNullTime(expires); err != nil {
			return err
		}
		cur = &st
	}
	if !cur.Equal(it.Before) {
		return fmt.Errorf("record changed since it was read: %w", state.ErrIPChangeConflict)
	}
	a := it.After
	switch {
	case a == nil && cur == nil:
		return nil
	case a == nil:
		if _, err := w.delSearch.ExecContext(ctx, recordID); err != nil {
			return err
		}
		_, err := w.del.ExecContext(ctx, recordID)
		return err
	case !state.ValidIPStatus(a.Status):
		return fmt.Errorf("unknown status %q", a.Status)
	case cur == nil:
		r, err := rangeOf(it.Value)
		if err != nil {
			return err
		}
		at := formatTime(c.At)
		res, err := w.insert.ExecContext(ctx, it.Value, r.family, r.start, r.end, r.bits, a.Status, a.Reason, a.Source, a.Severity,
			encodeTags(a.Tags), a.Notes, nullTime(a.ExpiresAt), c.Actor, c.Actor, at, at)
		if err != nil {
			return err
		}
		if recordID, err = res.LastInsertId(); err != nil {
			return err
		}
	default:
		if _, err := w.update.ExecContext(ctx, a.Status, a.Reason, a.Source, a.Severity, encodeTags(a.Tags), a.Notes,
			nullTime(a.ExpiresAt), c.Actor, formatTime(c.At), recordID); err != nil {
			return err
		}
		if _, err := w.delTags.ExecContext(ctx, recordID); err != nil {
			return err
		}
		if _, err := w.delSearch.ExecContext(ctx, recordID); err != nil {
			return err
		}
	}
	if _, err := w.addSearch.ExecContext(ctx, recordID, searchBody(it.Value, a)); err != nil {
		return err
	}
	for _, tag := range state.NormalizeTags(a.Tags) {
		if _, err := w.addTag.ExecContext(ctx, tag, recordID); err != nil {
			return err
		}
	}
	return nil
}

// IPChange implements state.IPStore.
func (s *Store) IPChange(ctx context.Context, id int64) (state.IPChange, error) {
	changes, err := s.ipChanges(ctx, `WHERE id = ?`, []any{id}, "")
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
	var where []string
	var args []any
	if f.Value != "" {
		where = append(where, "id IN (SELECT change_id FROM ip_change_items WHERE value = ?)")
		args = append(args, f.Value)
	}
	if f.Action != "" {
		where = append(where, "action = ?")
		args = append(args, f.Action)
	}
	if f.Shadow != nil {
		where = append(where, "shadow = ?")
		args = append(args, *f.Shadow)
	}
	if f.BeforeID != 0 {
		where = append(where, "id < ?")
		args = append(args, f.BeforeID)
	}
	q := ""
	if len(where) > 0 {
		q = "WHERE " + strings.Join(where, " AND ")
	}
	limit := f.Limit
	if limit <= 0 {
		limit = -1
	}
	q += " ORDER BY id DESC LIMIT ?"
	changes, err := s.ipChanges(ctx, q, append(args, limit), f.Value)
	if err != nil {
		return nil, fmt.Errorf("IP changes: %w", err)
	}
	return changes, nil
}

// ipChanges loads changes and their items (only onlyValue's when set).
func (s *Store) ipChanges(ctx context.Context, where string, args []any, onlyValue string) ([]state.IPChange, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT id, at, actor, reason, action, source, shadow, subject, undo_of, undone_by
		FROM ip_changes `+where, args...)
	if err != nil {
		return nil, err
	}
	out := []state.IPChange{}
	for rows.Next() {
		var c state.IPChange
		var at string
		var undoOf, undoneBy sql.NullInt64
		if err := rows.Scan(&c.ID, &at, &c.Actor, &c.Reason, &c.Action, &c.Source, &c.Shadow, &c.Subject, &undoOf, &undoneBy); err != nil {
			rows.Close()
			return nil, err
		}
		if c.At, err = parseTime(at); err != nil {
			rows.Close()
			return nil, err
		}
		c.UndoOf, c.UndoneBy = undoOf.Int64, undoneBy.Int64
		out = append(out, c)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, err
	}
	for i := range out {
		q := `SELECT value, before, after FROM ip_change_items WHERE change_id = ?`
		itemArgs := []any{out[i].ID}
		if onlyValue != "" {
			q += ` AND value = ?`
			itemArgs = append(itemArgs, onlyValue)
		}
		items, err := s.db.QueryContext(ctx, q+` ORDER BY value`, itemArgs...)
		if err != nil {
			return nil, err
		}
		out[i].Items = []state.IPChangeItem{}
		for items.Next() {
			var it state.IPChangeItem
			var before, after sql.NullString
			if err := items.Scan(&it.Value, &before, &after); err != nil {
				items.Close()
				return nil, err
			}
			if it.Before, err = decodeState(before); err != nil {
				items.Close()
				return nil, err
			}
			if it.After, err = decodeState(after); err != nil {
				items.Close()
				return nil, err
			}
			out[i].Items = append(out[i].Items, it)
		}
		items.Close()
		if err := items.Err(); err != nil {
			return nil, err
		}
	}
	return out, nil
}

const recordColumns = `id, value, status, reason, source, severity, tags, notes, expires_at, created_by, updated_by,
	created_at, updated_at, enrichment, enriched_at, first_seen, last_seen, requests, bytes`

func scanRecord(row interface{ Scan(...any) error }) (state.IPRecord, error) {
	var r state.IPRecord
	var tags, created, updated string
	var expires, enriched, first, last sql.NullString
	if err := row.Scan(&r.ID, &r.Value, &r.Status, &r.Reason, &r.Source, &r.Severity, &tags, &r.Notes, &expires,
		&r.CreatedBy, &r.UpdatedBy, &created, &updated, &r.Enrichment, &enriched, &first, &last, &r.RequestCount, &r.ByteCount); err != nil {
		return r, err
	}
	var err error
	if r.Tags, err = decodeTags(tags); err != nil {
		return r, err
	}
	for _, t := range []struct {
		dst *time.Time
		src sql.NullString
	}{{&r.ExpiresAt, expires}, {&r.EnrichedAt, enriched}, {&r.FirstSeen, first}, {&r.LastSeen, last},
		{&r.CreatedAt, sql.NullString{String: created, Valid: true}}, {&r.UpdatedAt, sql.NullString{String: updated, Valid: true}}} {
		if *t.dst, err = parseNullTime(t.src); err != nil {
			return r, err
		}
	}
	return r, nil
}

// IP implements state.IPStore.
func (s *Store) IP(ctx context.Context, value string) (state.IPRecord, error) {
	r, err := scanRecord(s.db.QueryRowContext(ctx, `SELECT `+recordColumns+` FROM ip_records WHERE value = ?`, value))
	if errors.Is(err, sql.ErrNoRows) {
		return r, fmt.Errorf("IP %s: %w", value, state.ErrNotFound)
	}
	if err != nil {
		return r, fmt.Errorf("IP %s: %w", value, err)
	}
	return r, nil
}

// lookupChunk bounds the values bound in one IN list.
const lookupChunk = 500

// LookupIPs implements state.IPStore.
func (s *Store) LookupIPs(ctx context.Context, values []string) (map[string]state.IPRecord, error) {
	out := make(map[string]state.IPRecord, len(values))
	for start := 0; start < len(values); start += lookupChunk {
		chunk := values[start:min(start+lookupChunk, len(values))]
		args := make([]any, len(chunk))
		for i, v := range chunk {
			args[i] = v
		}
		rows, err := s.db.QueryContext(ctx, `SELECT `+recordColumns+` FROM ip_records WHERE value IN (?`+
			strings.Repeat(", ?", len(chunk)-1)+`)`, args...)
		if err != nil {
			return nil, fmt.Errorf("look up IPs: %w", err)
		}
		for rows.Next() {
			r, err := scanRecord(rows)
			if err != nil {
				rows.Close()
				return nil, fmt.Errorf("look up IPs: %w", err)
			}
			out[r.Value] = r
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return nil, fmt.Errorf("look up IPs: %w", err)
		}
	}
	return out, nil
}

// sortColumns maps sort keys to their column; every one is indexed
// together with the value order.
var sortColumns = map[string]string{
	state.IPSortStatus: "status", state.IPSortSeverity: "severity", state.IPSortSource: "source",
	state.IPSortCreatedAt: "created_at", state.IPSortUpdatedAt: "updated_at", state.IPSortExpiresAt: "expires_at",
	state.IPSortFirstSeen: "first_seen", state.IPSortLastSeen: "last_seen", state.IPSortRequests: "requests",
	state.IPSortBytes: "bytes",
}

// likeEscaper escapes LIKE wildcards with a backslash.
var likeEscaper = strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`)

// minSearchRunes is the shortest text the trigram index can match; shorter
// text falls back to scanning.
const minSearchRunes = 3

// IPs implements state.IPStore.
//
// The count uses every index it can; the page query walks the sort's
// index and, unless a selective filter (tag, range, text) drives it,
// checks the coarse filters (status, source, expiry) row by row, marked
// with a unary + so that SQLite does not sort all the matches first. A
// single status uses the (status, sort column) indexes.
func (s *Store) IPs(ctx context.Context, f state.IPFilter) (state.IPPage, error) {
	var where, pageWhere []string
	var args []any
	selective := f.Tag != "" || f.Within != "" || f.Containing != "" || f.Text != ""
	coarse := func(col string) string {
		if selective || (col == "status" && len(f.Statuses) == 1) || (col == "expires_at" && f.Sort == state.IPSortExpiresAt) {
			return col
		}
		return "+" + col
	}
	add := func(cond, pageCond string, a ...any) {
		where = append(where, cond)
		pageWhere = append(pageWhere, pageCond)
		args = append(args, a...)
	}
	if len(f.Statuses) > 0 {
		in := " IN (?" + strings.Repeat(", ?", len(f.Statuses)-1) + ")"
		var a []any
		for _, st := range f.Statuses {
			a = append(a, st)
		}
		add("status"+in, coarse("status")+in, a...)
	}
	if f.Tag != "" {
		c := "id IN (SELECT record_id FROM ip_tags WHERE tag = ?)"
		add(c, c, f.Tag)
	}
	if f.Source != "" {
		add("source = ?", coarse("source")+" = ?", f.Source)
	}
	if f.Within != "" {
		r, err := rangeOf(f.Within)
		if err != nil {
			return state.IPPage{}, fmt.Errorf("IPs within: %w", err)
		}
		// Prefixes nest or are disjoint: one that starts inside the range
		// and is no shorter lies inside it.
		c := "family = ? AND start_ip >= ? AND start_ip <= ? AND prefix_len >= ?"
		add(c, c, r.family, r.start, r.end, r.bits)
	}
	if f.Containing != "" {
		r, err := rangeOf(f.Containing)
		if err != nil {
			return state.IPPage{}, fmt.Errorf("IPs containing: %w", err)
		}
		starts := r.maskedStarts()
		c := "family = ? AND start_ip IN (?" + strings.Repeat(", ?", len(starts)-1) + ") AND end_ip >= ?"
		a := []any{r.family}
		for _, st := range starts {
			a = append(a, st)
		}
		add(c, c, append(a, r.end)...)
	}
	if f.Text != "" {
		if utf8.RuneCountInString(f.Text) >= minSearchRunes {
			c := "id IN (SELECT rowid FROM ip_search WHERE ip_search MATCH ?)"
			add(c, c, `"`+strings.ReplaceAll(f.Text, `"`, `""`)+`"`)
		} else {
			pat := "%" + likeEscaper.Replace(f.Text) + "%"
			c := `(value LIKE ? ESCAPE '\' OR notes LIKE ? ESCAPE '\' OR reason LIKE ? ESCAPE '\' OR tags LIKE ? ESCAPE '\')`
			add(c, c, pat, pat, pat, pat)
		}
	}
	if !f.ExpiresBefore.IsZero() {
		add("expires_at < ?", coarse("expires_at")+" < ?", formatTime(f.ExpiresBefore))
	}
	if !f.ExpiresAfter.IsZero() {
		add("expires_at > ?", coarse("expires_at")+" > ?", formatTime(f.ExpiresAfter))
	}
	if !f.ActiveAt.IsZero() {
		add("(expires_at IS NULL OR expires_at > ?)", "("+coarse("expires_at")+" IS NULL OR "+coarse("expires_at")+" > ?)", formatTime(f.ActiveAt))
	}
	cond, pageCond := "", ""
	if len(where) > 0 {
		cond = " WHERE " + strings.Join(where, " AND ")
		pageCond = " WHERE " + strings.Join(pageWhere, " AND ")
	}
	dir := ""
	if f.Desc {
		dir = " DESC"
	}
	order := "family" + dir + ", start_ip" + dir + ", prefix_len" + dir
	if f.Sort != "" && f.Sort != state.IPSortValue {
		col, ok := sortColumns[f.Sort]
		if !ok {
			return state.IPPage{}, fmt.Errorf("IPs: unknown sort key %q", f.Sort)
		}
		order = col + dir + ", " + order
	}
	limit := f.Limit
	if limit <= 0 {
		limit = -1
	}
	page := state.IPPage{Records: []state.IPRecord{}}
	if err := s.db.QueryRowContext(ctx, `SELECT count(*) FROM ip_records`+cond, args...).Scan(&page.Total); err != nil {
		return state.IPPage{}, fmt.Errorf("IPs: %w", err)
	}
	rows, err := s.db.QueryContext(ctx, `SELECT `+recordColumns+` FROM ip_records`+pageCond+` ORDER BY `+order+` LIMIT ? OFFSET ?`,
		append(args, limit, max(f.Offset, 0))...)
	if err != nil {
		return state.IPPage{}, fmt.Errorf("IPs: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		r, err := scanRecord(rows)
		if err != nil {
			return state.IPPage{}, fmt.Errorf("IPs: %w", err)
		}
		page.Records = append(page.Records, r)
	}
	if err := rows.Err(); err != nil {
		return state.IPPage{}, fmt.Errorf("IPs: %w", err)
	}
	return page, nil
}

// SetIPEnrichment implements state.IPStore.
func (s *Store) SetIPEnrichment(ctx context.Context, value string, enrichment []byte, at time.Time) error {
	res, err := s.db.ExecContext(ctx, `UPDATE ip_records SET enrichment = ?, enriched_at = ? WHERE value = ?`, enrichment, formatTime(at), value)
	if err != nil {
		return fmt.Errorf("enrich IP %s: %w", value, err)
	}
	if n, err := res.RowsAffected(); err != nil {
		return fmt.Errorf("enrich IP %s: %w", value, err)
	} else if n == 0 {
		return fmt.Errorf("enrich IP %s: %w", value, state.ErrNotFound)
	}
	return nil
}

// UpdateIPStats implements state.IPStore.
func (s *Store) UpdateIPStats(ctx context.Context, stats []state.IPStats) (n int, err error) {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return 0, fmt.Errorf("update IP stats: %w", err)
	}
	defer func() {
		if err != nil {
			tx.Rollback()
			err = fmt.Errorf("update IP stats: %w", err)
		}
	}()
	stmt, err := tx.PrepareContext(ctx, `UPDATE ip_records SET
		first_seen = CASE WHEN ?1 IS NULL THEN first_seen WHEN first_seen IS NULL OR ?1 < first_seen THEN ?1 ELSE first_seen END,
		last_seen = CASE WHEN ?2 IS NULL THEN last_seen WHEN last_seen IS NULL OR ?2 > last_seen THEN ?2 ELSE last_seen END,
		requests = ?3, bytes = ?4
		WHERE value = ?5`)
	if err != nil {
		return 0, err
	}
	defer stmt.Close()
	for _, st := range stats {
		res, err := stmt.ExecContext(ctx, nullTime(st.FirstSeen), nullTime(st.LastSeen), st.RequestCount, st.ByteCount, st.Value)
		if err != nil {
			return 0, fmt.Errorf("%s: %w", st.Value, err)
		}
		k, err := res.RowsAffected()
		if err != nil {
			return 0, err
		}
		n += int(k)
	}
	if err := tx.Commit(); err != nil {
		return 0, err
	}
	return n, nil
}

const decisionColumns = `id, value, scenario, until, created_at, deleted_at`

func scanDecisions(rows *sql.Rows) ([]state.Decision, error) {
	defer rows.Close()
	out := []state.Decision{}
	for rows.Next() {
		var d state.Decision
		var created string
		var until, deleted sql.NullString
		if err := rows.Scan(&d.ID, &d.Value, &d.Scenario, &until, &created, &deleted); err != nil {
			return nil, err
		}
		var err error
		if d.Until, err = parseNullTime(until); err != nil {
			return nil, err
		}
		if d.CreatedAt, err = parseTime(created); err != nil {
			return nil, err
		}
		if d.DeletedAt, err = parseNullTime(deleted); err != nil {
			return nil, err
		}
		out = append(out, d)
	}
	return out, rows.Err()
}

// SyncDecisions implements state.IPStore.
func (s *Store) SyncDecisions(ctx context.Context, want []state.Decision, now time.Time) (created, deleted int, err error) {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return 0, 0, fmt.Errorf("sync decisions: %w", err)
	}
	defer func() {
		if err != nil {
			tx.Rollback()
			err = fmt.Errorf("sync decisions: %w", err)
		}
	}()
	rows, err := tx.QueryContext(ctx, `SELECT `+decisionColumns+` FROM decisions WHERE deleted_at IS NULL`)
	if err != nil {
		return 0, 0, err
	}
	active, err := scanDecisions(rows)
	if err != nil {
		return 0, 0, err
	}
	type key struct{ value, scenario, until string }
	keyOf := func(d state.Decision) key { return key{d.Value, d.Scenario, nullTime(d.Until).String} }
	wanted := make(map[key]bool, len(want))
	for _, d := range want {
		wanted[keyOf(d)] = true
	}
	kept := make(map[key]bool, len(active))
	del, err := tx.PrepareContext(ctx, `UPDATE decisions SET deleted_at = ? WHERE id = ?`)
	if err != nil {
		return 0, 0, err
	}
	defer del.Close()
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
		if _, err := del.ExecContext(ctx, formatTime(at), d.ID); err != nil {
			return 0, 0, err
		}
		deleted++
	}
	ins, err := tx.PrepareContext(ctx, `INSERT INTO decisions (value, family, start_ip, end_ip, prefix_len, scenario, until, created_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?)`)
	if err != nil {
		return 0, 0, err
	}
	defer ins.Close()
	for _, d := range want {
		if kept[keyOf(d)] {
			continue
		}
		r, err := rangeOf(d.Value)
		if err != nil {
			return 0, 0, err
		}
		if _, err := ins.ExecContext(ctx, d.Value, r.family, r.start, r.end, r.bits, d.Scenario, nullTime(d.Until), formatTime(now)); err != nil {
			return 0, 0, fmt.Errorf("decision %s: %w", d.Value, err)
		}
		created++
	}
	if err := tx.Commit(); err != nil {
		return 0, 0, err
	}
	return created, deleted, nil
}

// ActiveDecisions implements state.IPStore.
func (s *Store) ActiveDecisions(ctx context.Context, now time.Time, containing string) ([]state.Decision, error) {
	q := `SELECT ` + decisionColumns + ` FROM decisions WHERE deleted_at IS NULL AND (until IS NULL OR until > ?)`
	args := []any{formatTime(now)}
	if containing != "" {
		r, err := rangeOf(containing)
		if err != nil {
			return nil, fmt.Errorf("active decisions: %w", err)
		}
		starts := r.maskedStarts()
		q += ` AND family = ? AND start_ip IN (?` + strings.Repeat(", ?", len(starts)-1) + `) AND end_ip >= ?`
		args = append(args, r.family)
		for _, st := range starts {
			args = append(args, st)
		}
		args = append(args, r.end)
	}
	rows, err := s.db.QueryContext(ctx, q+` ORDER BY id`, args...)
	if err != nil {
		return nil, fmt.Errorf("active decisions: %w", err)
	}
	out, err := scanDecisions(rows)
	if err != nil {
		return nil, fmt.Errorf("active decisions: %w", err)
	}
	return out, nil
}

// DecisionChanges implements state.IPStore.
func (s *Store) DecisionChanges(ctx context.Context, since, now time.Time) (created, deleted []state.Decision, err error) {
	sinceS, nowS := formatTime(since), formatTime(now)
	rows, err := s.db.QueryContext(ctx, `SELECT `+decisionColumns+` FROM decisions
		WHERE created_at > ? AND deleted_at IS NULL AND (until IS NULL OR until > ?) ORDER BY id`, sinceS, nowS)
	if err != nil {
		return nil, nil, fmt.Errorf("decision changes: %w", err)
	}
	if created, err = scanDecisions(rows); err != nil {
		return nil, nil, fmt.Errorf("decision changes: %w", err)
	}
	rows, err = s.db.QueryContext(ctx, `SELECT `+decisionColumns+` FROM decisions d
		WHERE ((deleted_at > ?1 AND deleted_at <= ?2) OR (deleted_at IS NULL AND until > ?1 AND until <= ?2))
		AND NOT EXISTS (SELECT 1 FROM decisions a WHERE a.value = d.value AND a.deleted_at IS NULL AND (a.until IS NULL OR a.until > ?2))
		ORDER BY id`, sinceS, nowS)
	if err != nil {
		return nil, nil, fmt.Errorf("decision changes: %w", err)
	}
	all, err := scanDecisions(rows)
	if err != nil {
		return nil, nil, fmt.Errorf("decision changes: %w", err)
	}
	// One deletion per value: the latest.
	last := make(map[string]int, len(all))
	for i, d := range all {
		last[d.Value] = i
	}
	deleted = []state.Decision{}
	for i, d := range all {
		if last[d.Value] == i {
			deleted = append(deleted, d)
		}
	}
	return created, deleted, nil
}

// AddBouncer implements state.IPStore.
func (s *Store) AddBouncer(ctx context.Context, b state.Bouncer) (state.Bouncer, error) {
	res, err := s.db.ExecContext(ctx, `INSERT INTO bouncers (name, key_hash, created_at) VALUES (?, ?, ?) ON CONFLICT (name) DO NOTHING`,
		b.Name, b.KeyHash, formatTime(b.CreatedAt))
	if err != nil {
		return b, fmt.Errorf("add bouncer %q: %w", b.Name, err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return b, fmt.Errorf("add bouncer %q: %w", b.Name, err)
	}
	if n == 0 {
		return b, fmt.Errorf("add bouncer %q: %w", b.Name, state.ErrBouncerExists)
	}
	if b.ID, err = res.LastInsertId(); err != nil {
		return b, fmt.Errorf("add bouncer %q: %w", b.Name, err)
	}
	b.LastPull = time.Time{}
	return b, nil
}

func (s *Store) bouncers(ctx context.Context, where string, args ...any) ([]state.Bouncer, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT id, name, key_hash, created_at, last_pull FROM bouncers `+where, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := []state.Bouncer{}
	for rows.Next() {
		var b state.Bouncer
		var created string
		var pull sql.NullString
		if err := rows.Scan(&b.ID, &b.Name, &b.KeyHash, &created, &pull); err != nil {
			return nil, err
		}
		if b.CreatedAt, err = parseTime(created); err != nil {
			return nil, err
		}
		if b.LastPull, err = parseNullTime(pull); err != nil {
			return nil, err
		}
		out = append(out, b)
	}
	return out, rows.Err()
}

// Bouncers implements state.IPStore.
func (s *Store) Bouncers(ctx context.Context) ([]state.Bouncer, error) {
	out, err := s.bouncers(ctx, `ORDER BY name`)
	if err != nil {
		return nil, fmt.Errorf("bouncers: %w", err)
	}
	return out, nil
}

// BouncerByKeyHash implements state.IPStore.
func (s *Store) BouncerByKeyHash(ctx context.Context, keyHash string) (state.Bouncer, error) {
	out, err := s.bouncers(ctx, `WHERE key_hash = ?`, keyHash)
	if err != nil {
		return state.Bouncer{}, fmt.Errorf("bouncer by key: %w", err)
	}
	if len(out) == 0 {
		return state.Bouncer{}, fmt.Errorf("bouncer by key: %w", state.ErrNotFound)
	}
	return out[0], nil
}

// DeleteBouncer implements state.IPStore.
func (s *Store) DeleteBouncer(ctx context.Context, name string) error {
	res, err := s.db.ExecContext(ctx, `DELETE FROM bouncers WHERE name = ?`, name)
	if err != nil {
		return fmt.Errorf("delete bouncer %q: %w", name, err)
	}
	if n, err := res.RowsAffected(); err != nil {
		return fmt.Errorf("delete bouncer %q: %w", name, err)
	} else if n == 0 {
		return fmt.Errorf("bouncer %q: %w", name, state.ErrNotFound)
	}
	return nil
}

// SetBouncerPull implements state.IPStore.
func (s *Store) SetBouncerPull(ctx context.Context, id int64, at time.Time) error {
	res, err := s.db.ExecContext(ctx, `UPDATE bouncers SET last_pull = ? WHERE id = ?`, formatTime(at), id)
	if err != nil {
		return fmt.Errorf("bouncer %d pull: %w", id, err)
	}
	if n, err := res.RowsAffected(); err != nil {
		return fmt.Errorf("bouncer %d pull: %w", id, err)
	} else if n == 0 {
		return fmt.Errorf("bouncer %d: %w", id, state.ErrNotFound)
	}
	return nil
}
