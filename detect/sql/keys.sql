-- keys: what the store knows of some API keys: per key its first and last
-- request since the lookback and the first request itself (method, route,
-- status), its requests and bytes in the window; per key and client
-- address, and per key and day, the same counts. The first requests are
-- looked up by key and time after the counts, so that only they, not
-- every request, have their strings read. Arguments: lookback start,
-- until, the keys, since (three times), lookback start, until. Days count
-- from the Unix epoch.
WITH r AS (
    SELECT api_key_id, peer_ip, intDiv(epoch_ms(timestamp), 86400000) AS day, timestamp, response_bytes
    FROM traces
    WHERE span_kind = 'Server' AND http_method <> ''
        AND timestamp >= ? AND timestamp < ?
        AND /*in_keys*/
),
g AS (
    SELECT
        api_key_id,
        CASE WHEN grouping(peer_ip) = 0 THEN 'ip' WHEN grouping(day) = 0 THEN 'day' ELSE 'key' END AS kind,
        peer_ip, day,
        count() AS requests_all,
        countIf(timestamp >= ?) AS requests,
        sumIf(response_bytes, timestamp >= ?) AS bytes,
        min(timestamp) AS first_seen,
        max(timestamp) AS last_seen,
        minIf(timestamp, timestamp >= ?) AS first_in_window
    FROM r
    GROUP BY GROUPING SETS ((api_key_id), (api_key_id, peer_ip), (api_key_id, day))
),
firsts AS (
    SELECT t.api_key_id AS api_key_id,
        argMin(t.http_method, t.span_id) AS first_method,
        argMin(if(t.http_route <> '', t.http_route, t.http_path), t.span_id) AS first_route,
        argMin(t.status_code, t.span_id) AS first_status
    FROM traces AS t
    JOIN (SELECT api_key_id, first_seen FROM g WHERE kind = 'key') AS k
        ON t.api_key_id = k.api_key_id AND t.timestamp = k.first_seen
    WHERE t.span_kind = 'Server' AND t.http_method <> ''
        AND t.timestamp >= ? AND t.timestamp < ?
    GROUP BY t.api_key_id
)
SELECT g.api_key_id AS api_key_id, g.kind AS kind, g.peer_ip AS peer_ip, g.day AS day,
    g.requests_all AS requests_all, g.requests AS requests, g.bytes AS bytes,
    g.first_seen AS first_seen, g.last_seen AS last_seen, g.first_in_window AS first_in_window,
    if(g.kind = 'key', f.first_method, '') AS first_method,
    if(g.kind = 'key', f.first_route, '') AS first_route,
    if(g.kind = 'key', f.first_status, 0) AS first_status
FROM g
LEFT JOIN firsts AS f ON g.api_key_id = f.api_key_id
