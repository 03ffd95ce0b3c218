-- callers: in one pass over the callers' requests in the window, what
-- each did (part 'profile': per endpoint, API key, user agent, client
-- address, day and hour of the day) and the requests of its busiest
-- endpoints in time order (part 'sequence': its three busiest and two
-- heaviest in bytes with at least ten requests, the first few each).
-- Endpoints are (service, method, route), the route being the templated
-- path for requests without one. Times are microseconds, days and hours
-- counted from the Unix epoch: DuckDB's calendar functions on
-- TIMESTAMPTZ are slow. Arguments: since, until, the callers, the
-- requests wanted of each endpoint.
WITH r AS MATERIALIZED (
    SELECT
        /*caller*/ AS caller,
        service_name AS svc, http_method AS method, http_route AS route,
        if(http_route = '', /*template*/, '') AS tmpl,
        api_key_id, user_agent, peer_ip, user_id, http_path, http_target, trace_id,
        epoch_us(timestamp) AS us, status_code, response_bytes
    FROM traces
    WHERE span_kind = 'Server' AND http_method <> ''
        AND timestamp >= ? AND timestamp < ?
        AND /*in_callers*/
),
pairs AS (
    SELECT caller, svc, method, route, tmpl,
        count() AS n, sum(response_bytes) AS b, min(us) AS f, max(us) AS l
    FROM r
    GROUP BY caller, svc, method, route, tmpl
),
ranked AS (
    SELECT *,
        dense_rank() OVER (PARTITION BY caller ORDER BY n DESC, svc, method, route, tmpl) AS by_requests,
        dense_rank() OVER (PARTITION BY caller ORDER BY b DESC, svc, method, route, tmpl) AS by_bytes
    FROM pairs
    WHERE n >= /*min_sequence*/
),
-- The first requests of each picked endpoint: those before the time by
-- which, at the endpoint's average rate, half as many again as wanted
-- were sent (the caller keeps the first ones), so that no window sorts
-- a busy caller's every request.
picked AS (
    SELECT caller, svc, method, route, tmpl,
        f + CAST((l - f) * least(1.0, 1.5 * ? / n) AS BIGINT) AS cutoff
    FROM ranked
    WHERE by_requests <= 3 OR by_bytes <= 2
)
SELECT
    'profile' AS part,
    caller,
    CASE
        WHEN grouping(svc, method, route, tmpl) = 0 THEN 'endpoint'
        WHEN grouping(api_key_id) = 0 THEN 'api_key'
        WHEN grouping(user_agent) = 0 THEN 'user_agent'
        WHEN grouping(peer_ip) = 0 THEN 'ip'
        WHEN grouping(day) = 0 THEN 'day'
        ELSE 'hour'
    END AS kind,
    svc, method, route, tmpl, api_key_id, user_agent, peer_ip, day, hour,
    count() AS requests,
    sum(response_bytes) AS bytes,
    countIf(status_code BETWEEN 200 AND 299) AS ok,
    countIf(status_code = 401) AS s401,
    countIf(status_code = 403) AS s403,
    countIf(status_code = 404) AS s404,
    countIf(status_code = 429) AS s429,
    countIf(status_code BETWEEN 400 AND 499) AS s4xx,
    countIf(status_code >= 500) AS s5xx,
    min(us) AS first_us,
    max(us) AS last_us,
    uniqExactIf(http_path, status_code = 404) AS paths_404,
    uniqExactIf(http_path, status_code = 404 AND route = '') AS unrouted_404,
    uniqExactIf(user_id, user_id <> '' AND status_code IN (401, 403)) AS failed_users
FROM (SELECT *, intDiv(us, 86400000000) AS day, intDiv(us, 3600000000) % 24 AS hour FROM r)
GROUP BY GROUPING SETS (
    (caller, svc, method, route, tmpl),
    (caller, api_key_id),
    (caller, user_agent),
    (caller, peer_ip),
    (caller, day),
    (caller, hour)
)
UNION ALL BY NAME
SELECT 'sequence' AS part, r.caller, r.svc, r.method, r.route, r.tmpl, r.us, r.trace_id, r.http_target, r.status_code, r.response_bytes
FROM r
JOIN picked p ON r.caller = p.caller AND r.svc = p.svc AND r.method = p.method AND r.route = p.route AND r.tmpl = p.tmpl
WHERE r.us <= p.cutoff
ORDER BY part, caller, svc, method, route, tmpl, us, trace_id
