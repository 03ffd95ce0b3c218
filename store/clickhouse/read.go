package clickhouse

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/tracehound/tracehound/span"
	"github.com/tracehound/tracehound/store"
)

// traceSQL reads one trace from the traces table or view; attributes come
// as parallel key and value lists so that their order survives.
func (s *Store) traceSQL() string {
	attrs := "mapKeys(span_attributes), mapValues(span_attributes), mapKeys(resource_attributes), mapValues(resource_attributes)"
	if s.legacy {
		attrs = "span_attributes.key, span_attributes.value, resource_attributes.key, resource_attributes.value"
	}
	return `SELECT timestamp, trace_id, span_id, parent_span_id, service_name, span_name,
	span_kind, duration_ns, otel_status, http_method, http_target, http_path, http_query, http_route, status_code,
	peer_ip, net_peer_ip, server_address, user_agent, request_bytes, response_bytes, user_id, api_key_id, ` + attrs + `
FROM ` + s.sc.qualified() + `
WHERE trace_id = ?
ORDER BY timestamp, span_id`
}

// Trace implements store.TraceReader.
func (s *Store) Trace(ctx context.Context, traceID string) ([]span.Span, error) {
	q, err := bind(s.traceSQL(), []any{strings.ToLower(traceID)}, s.legacy)
	if err != nil {
		return nil, err
	}
	rows, err := s.conn.Query(ctx, q)
	if err != nil {
		return nil, fmt.Errorf("read trace %s: %w", traceID, err)
	}
	defer rows.Close()
	var out []span.Span
	for rows.Next() {
		var sp span.Span
		var sk, sv, rk, rv []string
		if err := rows.Scan(&sp.Timestamp, &sp.TraceID, &sp.SpanID, &sp.ParentSpanID, &sp.ServiceName, &sp.SpanName,
			&sp.SpanKind, &sp.DurationNS, &sp.OtelStatus, &sp.HTTPMethod, &sp.HTTPTarget, &sp.HTTPPath, &sp.HTTPQuery,
			&sp.HTTPRoute, &sp.StatusCode, &sp.PeerIP, &sp.NetPeerIP, &sp.ServerAddress, &sp.UserAgent,
			&sp.RequestBytes, &sp.ResponseBytes, &sp.UserID, &sp.APIKeyID, &sk, &sv, &rk, &rv); err != nil {
			return nil, fmt.Errorf("read trace %s: %w", traceID, err)
		}
		sp.Timestamp = sp.Timestamp.UTC()
		sp.SpanAttributes = joinAttrs(sk, sv)
		sp.ResourceAttributes = joinAttrs(rk, rv)
		out = append(out, sp)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("read trace %s: %w", traceID, err)
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("trace %s: %w", traceID, store.ErrNotFound)
	}
	return out, nil
}

func joinAttrs(keys, vals []string) []span.Attr {
	if len(keys) == 0 {
		return nil
	}
	out := make([]span.Attr, len(keys))
	for i := range keys {
		out[i].Key = keys[i]
		if i < len(vals) {
			out[i].Value = vals[i]
		}
	}
	return out
}

// DeleteBefore implements store.Store: it drops the daily partitions that
// end before t, then deletes the remaining older spans with a mutation and
// waits for it. In the compat modes it returns ErrReadOnly: retention is
// the source table's TTL.
func (s *Store) DeleteBefore(ctx context.Context, t time.Time) (int64, error) {
	if s.sc.readOnly() {
		return 0, fmt.Errorf("%w: retention of %s is its own TTL", ErrReadOnly, s.sc.source)
	}
	when, _ := literal(t, s.legacy)
	var n uint64
	if err := s.conn.QueryRow(ctx, "SELECT count() FROM "+s.sc.qualified()+" WHERE timestamp < "+when).Scan(&n); err != nil {
		return 0, fmt.Errorf("delete spans before %s: %w", t.UTC().Format(time.RFC3339), err)
	}
	if n == 0 {
		return 0, nil
	}
	local := ident(s.sc.database) + "." + ident(s.sc.local)
	onCluster := ""
	if s.sc.cluster != "" {
		onCluster = " ON CLUSTER " + ident(s.sc.cluster)
	}
	// Whole days first: dropping a partition costs nothing, a mutation
	// rewrites every part it touches. (Local partitions only; with a
	// cluster each replica's ON CLUSTER drop covers its own shard.)
	// The table is partitioned by toDate(timestamp), whose partition ids
	// are the days as YYYYMMDD.
	rows, err := s.conn.Query(ctx, "SELECT DISTINCT partition_id FROM system.parts WHERE active AND database = "+
		quoteString(s.sc.database)+" AND table = "+quoteString(s.sc.local))
	if err != nil {
		return 0, fmt.Errorf("list partitions: %w", err)
	}
	day := t.UTC().Truncate(24 * time.Hour)
	var parts []string
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			rows.Close()
			return 0, err
		}
		if d, err := time.Parse("20060102", id); err == nil && d.Before(day) {
			parts = append(parts, id)
		}
	}
	rows.Close()
	for _, id := range parts {
		if err := s.conn.Exec(ctx, "ALTER TABLE "+local+onCluster+" DROP PARTITION ID "+quoteString(id)); err != nil {
			return 0, fmt.Errorf("drop partition %s: %w", id, err)
		}
	}
	var left uint64
	if err := s.conn.QueryRow(ctx, "SELECT count() FROM "+s.sc.qualified()+" WHERE timestamp < "+when).Scan(&left); err != nil {
		return 0, err
	}
	if left > 0 {
		if err := s.conn.Exec(ctx, "ALTER TABLE "+local+onCluster+" DELETE WHERE timestamp < "+when); err != nil {
			return 0, fmt.Errorf("delete spans before %s: %w", t.UTC().Format(time.RFC3339), err)
		}
		if err := s.waitMutations(ctx); err != nil {
			return 0, err
		}
	}
	return int64(n), nil
}

// waitMutations waits until the local table has no unfinished mutation
// (mutations_sync would do, but ClickHouse 18.16 lacks it).
func (s *Store) waitMutations(ctx context.Context) error {
	q := "SELECT count() FROM system.mutations WHERE database = " + quoteString(s.sc.database) +
		" AND table = " + quoteString(s.sc.local) + " AND is_done = 0"
	for delay := 10 * time.Millisecond; ; delay = min(delay*2, time.Second) {
		var n uint64
		if err := s.conn.QueryRow(ctx, q).Scan(&n); err != nil {
			return fmt.Errorf("wait for the delete: %w", err)
		}
		if n == 0 {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("wait for the delete: %w", ctx.Err())
		case <-time.After(delay):
		}
	}
}

// Stats implements store.Store. DiskSize counts the local replica's parts
// of the table (native) or source table (compat).
func (s *Store) Stats(ctx context.Context) (store.Stats, error) {
	var st store.Stats
	var n uint64
	var oldest, newest time.Time
	if err := s.conn.QueryRow(ctx, "SELECT count(), min(timestamp), max(timestamp) FROM "+s.sc.qualified()).Scan(&n, &oldest, &newest); err != nil {
		return st, fmt.Errorf("stats: %w", err)
	}
	st.Spans = int64(n)
	if n > 0 {
		st.Oldest, st.Newest = oldest.UTC(), newest.UTC()
	}
	db, table := s.sc.database, s.sc.local
	if s.sc.readOnly() {
		db, table = splitSource(s.sc.source)
	}
	var size uint64
	err := s.conn.QueryRow(ctx, "SELECT sum(bytes_on_disk) FROM system.parts WHERE active AND database = "+
		quoteString(db)+" AND table = "+quoteString(table)).Scan(&size)
	if err != nil {
		s.log.Debug("disk size", "err", err)
	}
	st.DiskSize = int64(size)
	return st, nil
}

// splitSource undoes the quoting of schema.source ("`db`.`table`").
func splitSource(src string) (db, table string) {
	unq := func(s string) string {
		s = strings.TrimSuffix(strings.TrimPrefix(s, "`"), "`")
		return strings.NewReplacer("\\`", "`", `\\`, `\`).Replace(s)
	}
	d, t, _ := strings.Cut(src, "`.`")
	return unq(d + "`"), unq("`" + t)
}
