-- The API keys behind addresses' server spans. The IPS marker is one placeholder
-- per address. Arguments: the addresses, then from (exclusive) and to
-- (inclusive).
SELECT peer_ip, api_key_id, count() AS n
FROM traces
WHERE span_kind = 'Server' AND peer_ip IN ({{ips}}) AND timestamp > ? AND timestamp <= ?
GROUP BY peer_ip, api_key_id
