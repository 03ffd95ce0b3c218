CREATE DATABASE IF NOT EXISTS `tracehound`;

CREATE TABLE IF NOT EXISTS `tracehound`.`traces`
(
    timestamp DateTime64(9, 'UTC') CODEC(Delta(8), ZSTD(1)),
    trace_id String CODEC(ZSTD(1)),
    span_id String CODEC(ZSTD(1)),
    parent_span_id String CODEC(ZSTD(1)),
    service_name LowCardinality(String),
    span_name LowCardinality(String),
    span_kind LowCardinality(String),
    duration_ns UInt64 CODEC(T64, ZSTD(1)),
    otel_status LowCardinality(String),
    http_method LowCardinality(String),
    http_target String CODEC(ZSTD(1)),
    http_path String CODEC(ZSTD(1)),
    http_query String CODEC(ZSTD(1)),
    http_route LowCardinality(String),
    status_code UInt16 CODEC(T64, ZSTD(1)),
    peer_ip String CODEC(ZSTD(1)),
    net_peer_ip String CODEC(ZSTD(1)),
    server_address LowCardinality(String),
    user_agent String CODEC(ZSTD(1)),
    request_bytes Int64 CODEC(T64, ZSTD(1)),
    response_bytes Int64 CODEC(T64, ZSTD(1)),
    user_id String CODEC(ZSTD(1)),
    api_key_id String CODEC(ZSTD(1)),
    span_attributes Map(LowCardinality(String), String) CODEC(ZSTD(1)),
    resource_attributes Map(LowCardinality(String), String) CODEC(ZSTD(1)),
    INDEX idx_trace_id trace_id TYPE bloom_filter(0.001) GRANULARITY 1,
    INDEX idx_peer_ip peer_ip TYPE bloom_filter(0.01) GRANULARITY 1,
    INDEX idx_api_key_id api_key_id TYPE bloom_filter(0.01) GRANULARITY 1,
    INDEX idx_span_attr_keys mapKeys(span_attributes) TYPE bloom_filter(0.01) GRANULARITY 1
)
ENGINE = MergeTree
PARTITION BY toDate(timestamp)
ORDER BY (toStartOfHour(timestamp), http_path, peer_ip, timestamp)
SETTINGS index_granularity = 8192, ttl_only_drop_parts = 1;
