-- stats: per endpoint, traffic, status classes, bytes, latency and
-- unauthenticated requests. (Distinct callers come from breakdown.sql,
-- which groups by caller anyway: count(DISTINCT) here would cost more than
-- the rest of the query.) Arguments: the shape keys and the endpoint of
-- each (parallel lists), since, until.
-- Dialect: DuckDB quantile_cont(x, [p...]) is ClickHouse
-- quantilesExactInclusive(p...)(x); unnest(?::T[]) is arrayJoin.
WITH shapes AS (
    SELECT unnest(?::UBIGINT[]) AS shape_key, unnest(?::INTEGER[]) AS endpoint
),
requests AS (
    SELECT
        hash(service_name, server_address, http_method, http_route, CASE WHEN http_route = '' OR ends_with(http_route, '/') THEN
    replace(
        regexp_replace(
            regexp_replace(replace(http_path, '/', '//'),
                '/[0-9]{2,9}(/|$)', '/0000000000\1', 'g'),
            '/[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}(/|$)',
            '/00000000-0000-0000-0000-000000000000\1', 'g'),
        '//', '/')
ELSE '' END) AS shape_key,
        timestamp, status_code, api_key_id, request_bytes, response_bytes, duration_ns
    FROM traces
    WHERE span_kind = 'Server' AND http_method <> '' AND http_path <> ''
        AND timestamp >= ? AND timestamp <= ?
)
SELECT
    s.endpoint,
    count() AS hits,
    min(r.timestamp) AS first_seen,
    max(r.timestamp) AS last_seen,
    countIf(r.status_code BETWEEN 200 AND 299) AS status_2xx,
    countIf(r.status_code BETWEEN 300 AND 399) AS status_3xx,
    countIf(r.status_code BETWEEN 400 AND 499) AS status_4xx,
    countIf(r.status_code >= 500) AS status_5xx,
    sum(r.request_bytes) AS bytes_in,
    sum(r.response_bytes) AS bytes_out,
    avg(r.response_bytes) AS avg_response_bytes,
    max(r.response_bytes) AS max_response_bytes,
    quantile_cont(r.duration_ns, [0.5, 0.95, 0.99]) AS latency_ns,
    countIf(r.api_key_id = '') AS unauthenticated,
    countIf(r.api_key_id = '' AND r.status_code BETWEEN 200 AND 299) AS unauthenticated_2xx,
    countIf(r.api_key_id = '' AND r.status_code IN (401, 403)) AS unauthenticated_denied
FROM requests r
JOIN shapes s ON r.shape_key = s.shape_key
GROUP BY s.endpoint
