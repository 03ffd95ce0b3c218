-- stats (ClickHouse): apimap/sql/stats.sql. The shape keys and their
-- endpoints (parallel arrays) map a span to its endpoint with transform
-- instead of a join; quantile_cont(x, [p…]) is
-- quantilesExactInclusive(p…)(x). Arguments: the shape keys, the endpoint
-- of each, since, until.
SELECT
    endpoint,
    count() AS hits,
    min(timestamp) AS first_seen,
    max(timestamp) AS last_seen,
    countIf(status_code BETWEEN 200 AND 299) AS status_2xx,
    countIf(status_code BETWEEN 300 AND 399) AS status_3xx,
    countIf(status_code BETWEEN 400 AND 499) AS status_4xx,
    countIf(status_code >= 500) AS status_5xx,
    sum(request_bytes) AS bytes_in,
    sum(response_bytes) AS bytes_out,
    avg(response_bytes) AS avg_response_bytes,
    max(response_bytes) AS max_response_bytes,
    quantilesExactInclusive(0.5, 0.95, 0.99)(duration_ns) AS latency_ns,
    countIf(api_key_id = '') AS unauthenticated,
    countIf(api_key_id = '' AND status_code BETWEEN 200 AND 299) AS unauthenticated_2xx,
    countIf(api_key_id = '' AND status_code IN (401, 403)) AS unauthenticated_denied
FROM (
    SELECT
        transform(cityHash64(service_name, server_address, http_method, http_route, /*path_key*/),
            CAST(? AS Array(UInt64)), CAST(? AS Array(Int64)), toInt64(-1)) AS endpoint,
        timestamp, status_code, api_key_id, request_bytes, response_bytes, duration_ns
    FROM traces
    WHERE span_kind = 'Server' AND http_method != '' AND http_path != ''
        AND timestamp >= ? AND timestamp <= ?
)
WHERE endpoint >= 0
GROUP BY endpoint
