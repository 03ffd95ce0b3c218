-- The latest span the exclusion matches, of any kind, in the window the
-- rules may read. Arguments: the predicate's, then from (exclusive) and to
-- (inclusive).
SELECT max(timestamp) AS last_match, count() AS matched
FROM traces
WHERE coalesce(({{predicate}}), false) AND timestamp > ? AND timestamp <= ?
