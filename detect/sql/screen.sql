-- screen: the client addresses worth investigating for campaigns: busy
-- ones whose traffic mostly goes to one endpoint, busiest first.
-- Arguments: since, until, the fewest requests, the most addresses.
WITH per AS (
    SELECT peer_ip, service_name, http_method, http_route, count() AS n
    FROM traces
    WHERE span_kind = 'Server' AND http_method <> '' AND peer_ip <> ''
        AND timestamp >= ? AND timestamp < ?
    GROUP BY peer_ip, service_name, http_method, http_route
),
ip AS (
    SELECT peer_ip, sum(n) AS total, max(n) AS top
    FROM per
    GROUP BY peer_ip
)
SELECT peer_ip, total, top
FROM ip
WHERE total >= ? AND 5 * top >= 4 * total
ORDER BY total DESC, peer_ip
LIMIT ?
