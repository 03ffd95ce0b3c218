-- spans holds one row per span. Typed HTTP columns are filled for server
-- spans; every original attribute is kept, as a JSON object, in the two
-- *_json columns. Strings are never NULL (empty instead), as on ClickHouse,
-- so rules behave the same on both engines.
--
-- Attributes are stored as JSON text rather than MAP columns because DuckDB
-- commits a MAP of n entries as n child rows, which cut ingest to a third;
-- the traces view below turns them back into maps only for the queries that
-- read them (DuckDB inlines views and prunes unread columns).
CREATE TABLE IF NOT EXISTS spans (
    timestamp           TIMESTAMPTZ NOT NULL,
    trace_id            VARCHAR NOT NULL,
    span_id             VARCHAR NOT NULL,
    parent_span_id      VARCHAR NOT NULL,
    service_name        VARCHAR NOT NULL,
    span_name           VARCHAR NOT NULL,
    span_kind           VARCHAR NOT NULL,
    duration_ns         UBIGINT NOT NULL,
    otel_status         VARCHAR NOT NULL,
    http_method         VARCHAR NOT NULL,
    http_target         VARCHAR NOT NULL,
    http_path           VARCHAR NOT NULL,
    http_query          VARCHAR NOT NULL,
    http_route          VARCHAR NOT NULL,
    status_code         USMALLINT NOT NULL,
    peer_ip             VARCHAR NOT NULL,
    net_peer_ip         VARCHAR NOT NULL,
    server_address      VARCHAR NOT NULL,
    user_agent          VARCHAR NOT NULL,
    request_bytes       BIGINT NOT NULL,
    response_bytes      BIGINT NOT NULL,
    user_id             VARCHAR NOT NULL,
    api_key_id          VARCHAR NOT NULL,
    span_attributes_json     VARCHAR NOT NULL,
    resource_attributes_json VARCHAR NOT NULL
);

-- traces is the table rules and queries are written against (PRODUCT.md §4).
CREATE OR REPLACE VIEW traces AS
SELECT timestamp, trace_id, span_id, parent_span_id, service_name, span_name, span_kind,
       duration_ns, otel_status, http_method, http_target, http_path, http_query, http_route,
       status_code, peer_ip, net_peer_ip, server_address, user_agent, request_bytes,
       response_bytes, user_id, api_key_id,
       CAST(json_transform(span_attributes_json, '"MAP(VARCHAR, VARCHAR)"') AS MAP(VARCHAR, VARCHAR)) AS span_attributes,
       CAST(json_transform(resource_attributes_json, '"MAP(VARCHAR, VARCHAR)"') AS MAP(VARCHAR, VARCHAR)) AS resource_attributes
FROM spans;

-- wal_state records the last write-ahead log record committed here, in the
-- same transaction as the spans, so recovery replays exactly what is missing.
CREATE TABLE IF NOT EXISTS wal_state (applied_seq UBIGINT NOT NULL);
INSERT INTO wal_state SELECT 0 WHERE NOT EXISTS (SELECT 1 FROM wal_state);

-- span_changes records each commit of spans, under the last log sequence
-- number it holds, with the earliest start time of its spans (Unix
-- microseconds): what was computed from the spans before a restart can
-- tell what changed since (changes.go). Old entries are merged in pairs.
CREATE TABLE IF NOT EXISTS span_changes (seq UBIGINT NOT NULL, earliest BIGINT NOT NULL);

-- change_state names the store, and counts the deletions of spans and the
-- changes the log did not record; span_deletions keeps, by that count,
-- the time each deletion removed the spans before (the recent ones).
CREATE TABLE IF NOT EXISTS change_state (store_id VARCHAR NOT NULL, deletions UBIGINT NOT NULL);
INSERT INTO change_state SELECT CAST(uuid() AS VARCHAR), 0 WHERE NOT EXISTS (SELECT 1 FROM change_state);
CREATE TABLE IF NOT EXISTS span_deletions (n UBIGINT NOT NULL, before BIGINT NOT NULL);

-- compactions records the periods (whole hours from the Unix epoch)
-- rewritten in compactOrder (compact.go), and their spans at the time.
CREATE TABLE IF NOT EXISTS compactions (
    start_hour BIGINT NOT NULL,
    hours      BIGINT NOT NULL,
    spans      BIGINT NOT NULL,
    done_at    TIMESTAMPTZ NOT NULL
);
