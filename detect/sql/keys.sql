-- keys: what the store knows of some API keys: per key its first and last
-- request since the lookback and the first request itself (method, route,
-- status), its requests and bytes in the window; per key and client
-- address, and per key and day, the same counts. Arguments: since (three
-- times), lookback start, until, the keys. Days count from the Unix epoch.
WITH r AS (
    SELECT api_key_id, peer_ip, intDiv(epoch_ms(timestamp), 86400000) AS day, timestamp, response_bytes,
        http_method, if(http_route <> '', http_route, http_path) AS route, status_code
    FROM traces
    WHERE span_kind = 'Server' AND http_method <> ''
        AND timestamp >= ? AND timestamp < ?
        AND /*in_keys*/
)
SELECT
    api_key_id,
    CASE WHEN grouping(peer_ip) = 0 THEN 'ip' WHEN grouping(day) = 0 THEN 'day' ELSE 'key' END AS kind,
    peer_ip, day,
    count() AS requests_all,
    countIf(timestamp >= ?) AS requests,
    sumIf(response_bytes, timestamp >= ?) AS bytes,
    min(timestamp) AS first_seen,
    max(timestamp) AS last_seen,
    minIf(timestamp, timestamp >= ?) AS first_in_window,
    argMin(http_method, timestamp) AS first_method,
    argMin(route, timestamp) AS first_route,
    argMin(status_code, timestamp) AS first_status
FROM r
GROUP BY GROUPING SETS ((api_key_id), (api_key_id, peer_ip), (api_key_id, day))
