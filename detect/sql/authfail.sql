-- authfail: the endpoints that answered 401 or 403, with how many
-- addresses they refused, for finding credential-attack cohorts.
-- Arguments: since, until.
SELECT service_name AS svc, http_method AS method, http_route AS route,
    if(http_route = '', /*template*/, '') AS tmpl,
    uniqExact(peer_ip) AS addresses
FROM traces
WHERE span_kind = 'Server' AND http_method <> '' AND peer_ip <> ''
    AND timestamp >= ? AND timestamp < ?
    AND status_code IN (401, 403)
GROUP BY svc, method, route, tmpl
