CREATE DATABASE IF NOT EXISTS `tracehound`;

CREATE TABLE IF NOT EXISTS `tracehound`.`traces`
(
    timestamp DateTime('UTC'),
    trace_id String,
    span_id String,
    parent_span_id String,
    service_name String,
    span_name String,
    span_kind String,
    duration_ns UInt64,
    otel_status String,
    http_method String,
    http_target String,
    http_path String,
    http_query String,
    http_route String,
    status_code UInt16,
    peer_ip String,
    net_peer_ip String,
    server_address String,
    user_agent String,
    request_bytes Int64,
    response_bytes Int64,
    user_id String,
    api_key_id String,
    span_attributes Nested(key String, value String),
    resource_attributes Nested(key String, value String)
)
ENGINE = MergeTree
PARTITION BY toDate(timestamp)
ORDER BY (toStartOfHour(timestamp), http_path, peer_ip, timestamp)
SETTINGS index_granularity = 8192;
