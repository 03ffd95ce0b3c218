-- observations: the distinct request shapes of the window's HTTP server
-- spans, with what the Templater needs: the path key, or for a routed
-- shape the smallest of its paths. shape_key names a shape in the later
-- queries. Arguments: since, until, service ('' for every service).
-- Dialect: DuckDB hash(...) is ClickHouse cityHash64(...), any_value is any.
SELECT
    hash(service_name, server_address, http_method, http_route, /*path_key*/) AS shape_key,
    any_value(service_name) AS service_name,
    any_value(server_address) AS server_address,
    any_value(http_method) AS http_method,
    any_value(http_route) AS http_route,
    any_value(/*path_key*/) AS path_key,
    min(http_path) AS sample_path,
    count() AS hits,
    countIf(status_code BETWEEN 200 AND 299) > 0 AS has_2xx
FROM traces
WHERE span_kind = 'Server' AND http_method <> '' AND http_path <> ''
    AND timestamp >= ? AND timestamp <= ?
    AND (? = '' OR service_name = ?)
GROUP BY shape_key
