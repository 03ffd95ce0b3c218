-- params: per endpoint, the query parameters seen (names as sent, still
-- percent-encoded): how many requests sent each, and, among the non-empty
-- values of requests answered with a 2xx (what the service accepted), how
-- many look like each type. The most used parameters are kept. Arguments:
-- the shape keys and the endpoint of each, since, until, how many
-- parameters per endpoint.
-- Dialect: DuckDB unnest(string_split(...)) is ClickHouse
-- arrayJoin(splitByChar('&', ...)); regexp_full_match(s, re) is match(s, '^re$').
WITH shapes AS (
    SELECT unnest(?::UBIGINT[]) AS shape_key, unnest(?::INTEGER[]) AS endpoint
),
pairs AS (
    SELECT
        hash(service_name, server_address, http_method, http_route, /*path_key*/) AS shape_key,
        status_code BETWEEN 200 AND 299 AS accepted,
        unnest(string_split(http_query, '&')) AS pair
    FROM traces
    WHERE span_kind = 'Server' AND http_method <> '' AND http_path <> '' AND http_query <> ''
        AND timestamp >= ? AND timestamp <= ?
),
named AS (
    SELECT
        s.endpoint,
        p.accepted,
        split_part(p.pair, '=', 1) AS name,
        CASE WHEN strpos(p.pair, '=') > 0 THEN substr(p.pair, strpos(p.pair, '=') + 1) ELSE '' END AS value
    FROM pairs p
    JOIN shapes s ON p.shape_key = s.shape_key
    WHERE p.pair <> ''
)
SELECT
    endpoint,
    name,
    count() AS hits,
    countIf(accepted AND value <> '') AS accepted_values,
    countIf(accepted AND regexp_full_match(value, '-?[0-9]{1,18}')) AS integers,
    countIf(accepted AND regexp_full_match(value, '-?[0-9]*\.[0-9]+([eE][-+]?[0-9]+)?')) AS decimals,
    countIf(accepted AND lower(value) IN ('true', 'false')) AS booleans,
    countIf(accepted AND regexp_full_match(value, '[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}')) AS uuids
FROM named
WHERE name <> ''
GROUP BY endpoint, name
QUALIFY row_number() OVER (PARTITION BY endpoint ORDER BY count() DESC, name) <= ?
