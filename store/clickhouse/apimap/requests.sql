-- requests (ClickHouse): the window's HTTP server spans with their
-- endpoint, spliced into breakdown.sql where it says /*requests*/.
SELECT
    transform(cityHash64(service_name, server_address, http_method, http_route, /*path_key*/),
        CAST($1 AS Array(UInt64)), CAST($2 AS Array(Int64)), toInt64(-1)) AS endpoint,
    peer_ip, api_key_id, status_code
FROM traces
WHERE span_kind = 'Server' AND http_method != '' AND http_path != ''
    AND timestamp >= $3 AND timestamp <= $4
    AND endpoint >= 0
