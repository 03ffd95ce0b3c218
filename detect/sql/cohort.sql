-- cohort: the client addresses that failed to authenticate on some
-- endpoints, with their attempts there and how many requests they sent
-- anywhere else. Arguments: since, until, the routes, the endpoint keys,
-- since, until, the endpoint keys again.
WITH a AS (
    SELECT peer_ip, /*endpoint_key*/ AS ep,
        count() AS attempts,
        countIf(status_code IN (401, 403)) AS failures,
        countIf(status_code BETWEEN 200 AND 299) AS successes,
        min(timestamp) AS first_seen, max(timestamp) AS last_seen,
        min(user_agent) AS user_agent
    FROM traces
    WHERE span_kind = 'Server' AND http_method <> '' AND peer_ip <> ''
        AND timestamp >= ? AND timestamp < ?
        AND /*in_routes*/
        AND /*in_eps*/
    GROUP BY peer_ip, ep
    HAVING countIf(status_code IN (401, 403)) > 0
),
o AS (
    SELECT peer_ip, count() AS other
    FROM traces
    WHERE span_kind = 'Server' AND http_method <> ''
        AND timestamp >= ? AND timestamp < ?
        AND peer_ip IN (SELECT peer_ip FROM a)
        AND NOT /*in_eps*/
    GROUP BY peer_ip
)
SELECT a.peer_ip, a.ep, a.attempts, a.failures, a.successes, a.first_seen, a.last_seen, a.user_agent,
    coalesce(o.other, 0) AS other
FROM a
LEFT JOIN o ON a.peer_ip = o.peer_ip
