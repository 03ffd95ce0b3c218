-- breakdown: per endpoint, its top client addresses and API keys with
-- their requests and how many distinct ones there are, and its requests
-- per status code, in one pass. Empty addresses and keys rank last and are
-- not counted as distinct. Arguments: the shape keys and the endpoint of
-- each, since, until, how many status codes to keep, how many addresses
-- and keys to keep.
WITH shapes AS (
    SELECT unnest(?::UBIGINT[]) AS shape_key, unnest(?::INTEGER[]) AS endpoint
),
requests AS (
    SELECT
        hash(service_name, server_address, http_method, http_route, /*path_key*/) AS shape_key,
        peer_ip, api_key_id, status_code
    FROM traces
    WHERE span_kind = 'Server' AND http_method <> '' AND http_path <> ''
        AND timestamp >= ? AND timestamp <= ?
),
counted AS (
    SELECT
        s.endpoint,
        CASE grouping(r.peer_ip, r.api_key_id, r.status_code)
            WHEN 3 THEN 'ip' WHEN 5 THEN 'api_key' ELSE 'status' END AS dimension,
        coalesce(r.peer_ip, r.api_key_id, CAST(r.status_code AS VARCHAR)) AS value,
        count() AS hits
    FROM requests r
    JOIN shapes s ON r.shape_key = s.shape_key
    GROUP BY GROUPING SETS ((s.endpoint, r.peer_ip), (s.endpoint, r.api_key_id), (s.endpoint, r.status_code))
)
SELECT
    endpoint, dimension, value, hits,
    sum(CAST(value <> '' AS INTEGER)) OVER (PARTITION BY endpoint, dimension) AS distinct_values
FROM counted
QUALIFY row_number() OVER (PARTITION BY endpoint, dimension ORDER BY value = '', hits DESC, value)
    <= CASE dimension WHEN 'status' THEN ? ELSE ? END
