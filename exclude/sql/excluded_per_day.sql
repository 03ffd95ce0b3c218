-- Server spans of the window per UTC day (days since 1970-01-01): all of
-- them, and those the exclusion matches. Arguments: the predicate's, then
-- from (exclusive) and to (inclusive).
SELECT intDiv(toUnixTimestamp(timestamp), 86400) AS day,
       count() AS total,
       countIf(coalesce(({{predicate}}), false)) AS excluded
FROM traces
WHERE span_kind = 'Server' AND timestamp > ? AND timestamp <= ?
GROUP BY day
ORDER BY day
