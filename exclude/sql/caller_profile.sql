-- One caller's server spans hour by hour (hours since 1970-01-01 UTC).
-- The CALLER marker is the program's condition on api_key_id or peer_ip, with
-- placeholders. Arguments: the caller condition's, then from (exclusive)
-- and to (inclusive).
SELECT peer_ip, user_agent, http_method,
       if(http_route != '', http_route, http_path) AS endpoint,
       intDiv(toUnixTimestamp(timestamp), 3600) AS hour,
       count() AS n,
       countIf(status_code >= 400) AS errors
FROM traces
WHERE span_kind = 'Server' AND {{caller}} AND timestamp > ? AND timestamp <= ?
GROUP BY peer_ip, user_agent, http_method, endpoint, hour
