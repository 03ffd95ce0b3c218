-- services (ClickHouse): apimap/sql/services.sql runs as it is.
SELECT DISTINCT service_name
FROM traces
WHERE span_kind = 'Server' AND http_method <> '' AND http_path <> ''
ORDER BY service_name
