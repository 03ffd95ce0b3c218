-- The most excluded values of one column among the window's server spans.
-- The KEY marker is a column name chosen by the program. Arguments: the
-- predicate's, then from (exclusive) and to (inclusive).
SELECT '{{key}}' AS key, toString({{key}}) AS value, count() AS n
FROM traces
WHERE coalesce(({{predicate}}), false) AND span_kind = 'Server' AND timestamp > ? AND timestamp <= ?
GROUP BY value
ORDER BY n DESC, value
LIMIT {{limit}}
