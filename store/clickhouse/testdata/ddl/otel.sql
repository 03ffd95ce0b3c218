CREATE DATABASE IF NOT EXISTS `tracehound`;

CREATE OR REPLACE VIEW `tracehound`.`traces` AS
WITH
      SpanKind IN ('Server', 'SPAN_KIND_SERVER') AS th_server
    , SpanAttributes['url.full'] AS th_attr_url_full
    , SpanAttributes['http.url'] AS th_attr_http_url
    , multiIf(th_attr_url_full != '', th_attr_url_full, th_attr_http_url) AS th_url
    , extract(th_url, '^.*?://[^/?]*(.*)$') AS th_url_rest
    , extract(multiIf(position(th_url, '://') = 0, th_url, th_url_rest = '', '/', substring(th_url_rest, 1, 1) = '?', concat('/', th_url_rest), th_url_rest), '^[^#]*') AS th_url_path
    , SpanAttributes['http.target'] AS th_attr_http_target
    , if(th_attr_http_target != '', th_attr_http_target, th_url_path) AS th_target
    , SpanAttributes['url.path'] AS th_attr_url_path
    , SpanAttributes['url.query'] AS th_attr_url_query
    , if(th_attr_url_path != '', th_attr_url_path, extract(th_target, '^[^?]*')) AS th_path
    , if(th_attr_url_path != '', th_attr_url_query, if(position(th_target, '?') > 0, substring(th_target, position(th_target, '?') + 1), '')) AS th_query
    , SpanAttributes['http.request.method'] AS th_attr_http_request_method
    , SpanAttributes['http.method'] AS th_attr_http_method
    , SpanAttributes['http.route'] AS th_attr_http_route
    , SpanAttributes['http.response.status_code'] AS th_attr_http_response_status_code
    , SpanAttributes['http.status_code'] AS th_attr_http_status_code
    , multiIf(th_attr_http_response_status_code != '', th_attr_http_response_status_code, th_attr_http_status_code) AS th_status
    , SpanAttributes['client.address'] AS th_attr_client_address
    , SpanAttributes['http.client_ip'] AS th_attr_http_client_ip
    , SpanAttributes['net.sock.peer.addr'] AS th_attr_net_sock_peer_addr
    , SpanAttributes['net.peer.ip'] AS th_attr_net_peer_ip
    , SpanAttributes['network.peer.address'] AS th_attr_network_peer_address
    , multiIf(th_attr_client_address != '', th_attr_client_address, th_attr_http_client_ip != '', th_attr_http_client_ip, th_attr_net_sock_peer_addr != '', th_attr_net_sock_peer_addr, th_attr_net_peer_ip != '', th_attr_net_peer_ip, th_attr_network_peer_address) AS th_peer
    , multiIf(th_attr_network_peer_address != '', th_attr_network_peer_address, th_attr_net_sock_peer_addr != '', th_attr_net_sock_peer_addr, th_attr_net_peer_ip) AS th_sock
    , SpanAttributes['server.address'] AS th_attr_server_address
    , SpanAttributes['net.host.name'] AS th_attr_net_host_name
    , SpanAttributes['http.server_name'] AS th_attr_http_server_name
    , SpanAttributes['http.host'] AS th_attr_http_host
    , multiIf(th_attr_server_address != '', th_attr_server_address, th_attr_net_host_name != '', th_attr_net_host_name, th_attr_http_server_name != '', th_attr_http_server_name, th_attr_http_host) AS th_server_address
    , SpanAttributes['user_agent.original'] AS th_attr_user_agent_original
    , SpanAttributes['http.user_agent'] AS th_attr_http_user_agent
    , SpanAttributes['http.request.body.size'] AS th_attr_http_request_body_size
    , SpanAttributes['http.request_content_length'] AS th_attr_http_request_content_length
    , SpanAttributes['http.request.header.content-length'] AS th_attr_http_request_header_content_length
    , SpanAttributes['http.read_bytes'] AS th_attr_http_read_bytes
    , SpanAttributes['http.response.body.size'] AS th_attr_http_response_body_size
    , SpanAttributes['http.response_content_length'] AS th_attr_http_response_content_length
    , SpanAttributes['http.response.header.content-length'] AS th_attr_http_response_header_content_length
    , SpanAttributes['http.wrote_bytes'] AS th_attr_http_wrote_bytes
    , SpanAttributes['enduser.id'] AS th_attr_enduser_id
    , SpanAttributes['app.api_key_id'] AS th_attr_app_api_key_id
    , SpanAttributes['api_key.id'] AS th_attr_api_key_id
SELECT
      Timestamp AS timestamp
    , TraceId AS trace_id
    , SpanId AS span_id
    , ParentSpanId AS parent_span_id
    , ServiceName AS service_name
    , SpanName AS span_name
    , multiIf(SpanKind IN ('Server', 'SPAN_KIND_SERVER'), 'Server', SpanKind IN ('Client', 'SPAN_KIND_CLIENT'), 'Client', SpanKind IN ('Internal', 'SPAN_KIND_INTERNAL'), 'Internal', SpanKind IN ('Producer', 'SPAN_KIND_PRODUCER'), 'Producer', SpanKind IN ('Consumer', 'SPAN_KIND_CONSUMER'), 'Consumer', 'Unspecified') AS span_kind
    , toUInt64(Duration) AS duration_ns
    , multiIf(StatusCode IN ('Ok', 'STATUS_CODE_OK'), 'Ok', StatusCode IN ('Error', 'STATUS_CODE_ERROR'), 'Error', 'Unset') AS otel_status
    , if(th_server, multiIf(th_attr_http_request_method != '', th_attr_http_request_method, th_attr_http_method), '') AS http_method
    , if(th_server, concat(th_path, if(th_query != '', concat('?', th_query), '')), '') AS http_target
    , if(th_server, th_path, '') AS http_path
    , if(th_server, th_query, '') AS http_query
    , if(th_server, th_attr_http_route, '') AS http_route
    , toUInt16(if(th_server, toUInt16(if(toUInt32OrZero(replaceRegexpAll(th_status, '^\\s+|\\s+$', '')) <= 999, toUInt32OrZero(replaceRegexpAll(th_status, '^\\s+|\\s+$', '')), 0)), 0)) AS status_code
    , if(th_server, multiIf(match(th_peer, '^\\[[^\\]]+\\]:[0-9]{1,5}$') AND toUInt32OrZero(extract(th_peer, ':([0-9]+)$')) <= 65535, extract(th_peer, '^\\[([^\\]]+)\\]'), match(th_peer, '^[^:]+:[0-9]{1,5}$') AND toUInt32OrZero(extract(th_peer, ':([0-9]+)$')) <= 65535, extract(th_peer, '^([^:]+):'), th_peer), '') AS peer_ip
    , if(th_server, multiIf(match(th_sock, '^\\[[^\\]]+\\]:[0-9]{1,5}$') AND toUInt32OrZero(extract(th_sock, ':([0-9]+)$')) <= 65535, extract(th_sock, '^\\[([^\\]]+)\\]'), match(th_sock, '^[^:]+:[0-9]{1,5}$') AND toUInt32OrZero(extract(th_sock, ':([0-9]+)$')) <= 65535, extract(th_sock, '^([^:]+):'), th_sock), '') AS net_peer_ip
    , if(th_server, multiIf(match(th_server_address, '^\\[[^\\]]+\\]:[0-9]{1,5}$') AND toUInt32OrZero(extract(th_server_address, ':([0-9]+)$')) <= 65535, extract(th_server_address, '^\\[([^\\]]+)\\]'), match(th_server_address, '^[^:]+:[0-9]{1,5}$') AND toUInt32OrZero(extract(th_server_address, ':([0-9]+)$')) <= 65535, extract(th_server_address, '^([^:]+):'), th_server_address), '') AS server_address
    , if(th_server, multiIf(th_attr_user_agent_original != '', th_attr_user_agent_original, th_attr_http_user_agent), '') AS user_agent
    , toInt64(if(th_server, greatest(toInt64OrZero(replaceRegexpAll(replaceRegexpAll(multiIf(th_attr_http_request_body_size != '', th_attr_http_request_body_size, th_attr_http_request_content_length != '', th_attr_http_request_content_length, th_attr_http_request_header_content_length != '', th_attr_http_request_header_content_length, th_attr_http_read_bytes), '^["\\[\\]]+|["\\[\\]]+$', ''), '^\\s+|\\s+$', '')), 0), 0)) AS request_bytes
    , toInt64(if(th_server, greatest(toInt64OrZero(replaceRegexpAll(replaceRegexpAll(multiIf(th_attr_http_response_body_size != '', th_attr_http_response_body_size, th_attr_http_response_content_length != '', th_attr_http_response_content_length, th_attr_http_response_header_content_length != '', th_attr_http_response_header_content_length, th_attr_http_wrote_bytes), '^["\\[\\]]+|["\\[\\]]+$', ''), '^\\s+|\\s+$', '')), 0), 0)) AS response_bytes
    , if(th_server, th_attr_enduser_id, '') AS user_id
    , multiIf(replaceRegexpAll(th_attr_app_api_key_id, '^\\s+|\\s+$', '') != '', replaceRegexpAll(th_attr_app_api_key_id, '^\\s+|\\s+$', ''), replaceRegexpAll(th_attr_api_key_id, '^\\s+|\\s+$', '') != '', replaceRegexpAll(th_attr_api_key_id, '^\\s+|\\s+$', ''), replaceRegexpAll(th_attr_enduser_id, '^\\s+|\\s+$', '') != '', replaceRegexpAll(th_attr_enduser_id, '^\\s+|\\s+$', ''), '') AS api_key_id
    , SpanAttributes AS span_attributes
    , ResourceAttributes AS resource_attributes
FROM `otel`.`otel_traces`;
