-- observations (ClickHouse): apimap/sql/observations.sql. hash is
-- cityHash64, any_value is any; the aggregates are named in a subquery
-- because an alias equal to a column name (any(service_name) AS
-- service_name) would replace the column in the shape key. Arguments:
-- since, until, service ('' for every service).
SELECT shape_key, s AS service_name, a AS server_address, m AS http_method, r AS http_route,
    k AS path_key, sample_path, hits, has_2xx
FROM (
    SELECT
        cityHash64(service_name, server_address, http_method, http_route, /*path_key*/) AS shape_key,
        any(service_name) AS s,
        any(server_address) AS a,
        any(http_method) AS m,
        any(http_route) AS r,
        any(/*path_key*/) AS k,
        min(http_path) AS sample_path,
        count() AS hits,
        toBool(countIf(status_code BETWEEN 200 AND 299) > 0) AS has_2xx
    FROM traces
    WHERE span_kind = 'Server' AND http_method != '' AND http_path != ''
        AND timestamp >= ? AND timestamp <= ?
        AND (? = '' OR service_name = ?)
    GROUP BY shape_key
)
