-- params (ClickHouse): apimap/sql/params.sql. unnest(string_split(…)) is
-- arrayJoin(splitByChar(…)), regexp_full_match(s, re) is
-- match(s, '^(re)$'), split_part(p, '=', 1) is splitByChar('=', p)[1],
-- and QUALIFY row_number() … <= n is LIMIT n BY. Arguments: the shape
-- keys, the endpoint of each, since, until, how many parameters per
-- endpoint.
SELECT
    endpoint,
    name,
    count() AS hits,
    countIf(accepted AND pv != '') AS accepted_values,
    countIf(accepted AND match(pv, '^(-?[0-9]{1,18})$')) AS integers,
    countIf(accepted AND match(pv, '^(-?[0-9]*\\.[0-9]+([eE][-+]?[0-9]+)?)$')) AS decimals,
    countIf(accepted AND lower(pv) IN ('true', 'false')) AS booleans,
    countIf(accepted AND match(pv, '^([0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12})$')) AS uuids
FROM (
    SELECT
        endpoint,
        accepted,
        splitByChar('=', pair)[1] AS name,
        if(position(pair, '=') > 0, substring(pair, position(pair, '=') + 1), '') AS pv
    FROM (
        SELECT
            transform(cityHash64(service_name, server_address, http_method, http_route, /*path_key*/),
                CAST(? AS Array(UInt64)), CAST(? AS Array(Int64)), toInt64(-1)) AS endpoint,
            status_code BETWEEN 200 AND 299 AS accepted,
            arrayJoin(splitByChar('&', http_query)) AS pair
        FROM traces
        WHERE span_kind = 'Server' AND http_method != '' AND http_path != '' AND http_query != ''
            AND timestamp >= ? AND timestamp <= ?
    )
    WHERE endpoint >= 0 AND pair != ''
)
WHERE name != ''
GROUP BY endpoint, name
ORDER BY endpoint, hits DESC, name
LIMIT ? BY endpoint
