-- inventory: every API key seen since the lookback: per key its first and
-- last request, its first request that created credentials (a successful
-- POST to a sign-up, registration, key, token or account route), and its
-- requests, bytes and status mix in the window; per key and endpoint, and
-- per key and client address, its requests in the window (and the
-- address's first and last request). Endpoints are method and route,
-- "(no route)" for requests without one. Only numeric aggregates but one,
-- so that DuckDB can spill them within its memory limit. Arguments: since,
-- lookback start, until.
WITH r AS (
    SELECT api_key_id AS k, peer_ip,
        http_method || ' ' || if(http_route <> '', http_route, '(no route)') AS ep,
        http_method || ' ' || if(http_route <> '', http_route, http_path) AS request,
        timestamp, timestamp >= ? AS w, response_bytes, status_code,
        http_method = 'POST' AND status_code BETWEEN 200 AND 299
            AND regexp_matches(lower(if(http_route <> '', http_route, http_path)), '/*issuer*/') AS creates
    FROM traces
    WHERE span_kind = 'Server' AND http_method <> '' AND api_key_id <> ''
        AND timestamp >= ? AND timestamp < ?
)
SELECT
    k,
    CASE WHEN grouping(ep) = 0 THEN 'endpoint' WHEN grouping(peer_ip) = 0 THEN 'ip' ELSE 'key' END AS kind,
    ep, peer_ip,
    countIf(w) AS requests,
    sumIf(response_bytes, w) AS bytes,
    countIf(w AND status_code BETWEEN 200 AND 299) AS ok,
    countIf(w AND status_code = 401) AS s401,
    countIf(w AND status_code = 403) AS s403,
    countIf(w AND status_code = 404) AS s404,
    countIf(w AND status_code = 429) AS s429,
    countIf(w AND status_code BETWEEN 400 AND 499) AS s4xx,
    countIf(w AND status_code >= 500) AS s5xx,
    min(timestamp) AS first_seen,
    max(timestamp) AS last_seen,
    minIf(timestamp, w) AS first_in_window,
    minIf(timestamp, creates) AS created_at,
    min(if(creates, request, NULL)) AS created_by
FROM r
GROUP BY GROUPING SETS ((k), (k, ep), (k, peer_ip))
HAVING grouping(ep, peer_ip) = 3 OR countIf(w) > 0
