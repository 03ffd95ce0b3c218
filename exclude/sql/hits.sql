-- Hit accounting over the server spans of an interval: the COUNTS marker expands
-- to, for each exclusion N with predicate p,
--   countIf(coalesce((p), false)) AS hits_N, maxIf(timestamp, coalesce((p), false)) AS last_N
-- Arguments: each predicate's twice, in order, then from (exclusive) and
-- to (inclusive).
SELECT {{counts}}
FROM traces
WHERE span_kind = 'Server' AND timestamp > ? AND timestamp <= ?
