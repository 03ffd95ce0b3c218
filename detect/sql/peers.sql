-- peers: for each endpoint, the distribution of its callers in one scan:
-- how many, the median and MAD of the logarithms of their bytes and bytes
-- per request, medians of requests and bytes, and the 95th percentiles of
-- their deepest page (of the endpoint's page parameter) and of their
-- distinct values (of the endpoint's id parameter), among callers that
-- sent any. The page and source expressions are CASEs over the endpoints'
-- columns, with literal parameter names. Requests are grouped by their
-- columns and the endpoint key is built per caller afterwards: building it
-- for every request costs more than the rest. Arguments: since, until,
-- the routes, the endpoint keys.
WITH r AS (
    SELECT service_name AS svc, http_method AS method, http_route AS route,
        if(http_route = '', /*template*/, '') AS tmpl,
        /*caller*/ AS caller, response_bytes, http_target
    FROM traces
    WHERE span_kind = 'Server' AND http_method <> '' AND /*caller*/ <> ''
        AND timestamp >= ? AND timestamp < ?
        AND /*prefilter*/
),
r2 AS (
    SELECT svc, method, route, tmpl, caller, response_bytes, /*page*/ AS page, /*uniq*/ AS uniq
    FROM r
),
per0 AS (
    SELECT svc, method, route, tmpl, caller, count() AS n, sum(response_bytes) AS bytes,
        max(page) AS max_page, uniqExactIf(uniq, uniq <> '') AS uniq_values
    FROM r2
    GROUP BY svc, method, route, tmpl, caller
),
per AS (
    SELECT *
    FROM (
        SELECT svc || '|' || method || '|' || route || '|' || tmpl AS ep, caller, n, bytes, max_page, uniq_values
        FROM per0
    )
    WHERE /*in_eps*/
),
med AS (
    SELECT ep, count() AS callers,
        median(ln(1 + bytes)) AS m_lbytes, median(ln(1 + bytes / n)) AS m_lavg,
        median(n) AS m_n, median(bytes) AS m_bytes, median(bytes / n) AS m_avg,
        quantile_cont(if(max_page > 0, max_page, NULL), 0.95) AS p95_page,
        quantile_cont(if(uniq_values > 0, uniq_values, NULL), 0.95) AS p95_uniq,
        median(if(uniq_values > 0, uniq_values, NULL)) AS m_uniq,
        countIf(max_page > 0) AS paged_callers,
        countIf(uniq_values > 0) AS uniq_callers
    FROM per
    GROUP BY ep
)
SELECT m.ep, m.callers, m.m_lbytes, m.m_lavg, m.m_n, m.m_bytes, m.m_avg, m.p95_page, m.p95_uniq, m.m_uniq,
    m.paged_callers, m.uniq_callers,
    median(abs(ln(1 + p.bytes) - m.m_lbytes)) AS mad_lbytes,
    median(abs(ln(1 + p.bytes / p.n) - m.m_lavg)) AS mad_lavg
FROM per p
JOIN med m ON p.ep = m.ep
GROUP BY m.ep, m.callers, m.m_lbytes, m.m_lavg, m.m_n, m.m_bytes, m.m_avg, m.p95_page, m.p95_uniq, m.m_uniq,
    m.paged_callers, m.uniq_callers
