-- breakdown (ClickHouse): apimap/sql/breakdown.sql without GROUPING SETS
-- and window functions: one UNION ALL branch per dimension, and per
-- endpoint and dimension the values sorted as the original's QUALIFY
-- orders them (empty last, most hits first, then by value) and cut to the
-- cap. Arguments ($n, as the requests are read three times): the shape
-- keys, the endpoint of each, since, until, how many status codes to
-- keep, how many addresses and keys to keep.
SELECT endpoint, dimension, tupleElement(vh, 1) AS value, tupleElement(vh, 2) AS hits, distinct_values
FROM (
    SELECT endpoint, dimension,
        arraySlice(arraySort(x -> (tupleElement(x, 1) = '', -tupleElement(x, 2), tupleElement(x, 1)), groupArray((v, n))),
            1, if(dimension = 'status', $5, $6)) AS top,
        countIf(v != '') AS distinct_values
    FROM (
        SELECT endpoint, 'ip' AS dimension, peer_ip AS v, count() AS n FROM (/*requests*/) GROUP BY endpoint, peer_ip
        UNION ALL
        SELECT endpoint, 'api_key' AS dimension, api_key_id AS v, count() AS n FROM (/*requests*/) GROUP BY endpoint, api_key_id
        UNION ALL
        SELECT endpoint, 'status' AS dimension, toString(status_code) AS v, count() AS n FROM (/*requests*/) GROUP BY endpoint, status_code
    )
    GROUP BY endpoint, dimension
)
ARRAY JOIN top AS vh
