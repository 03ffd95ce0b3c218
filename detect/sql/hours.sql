-- hours: spans stored per hour, to find where the stored data starts.
-- Hours count from the Unix epoch. Arguments: from, until.
SELECT intDiv(epoch_ms(timestamp), 3600000) AS hour, count() AS spans
FROM traces
WHERE timestamp >= ? AND timestamp < ?
GROUP BY hour
ORDER BY hour
