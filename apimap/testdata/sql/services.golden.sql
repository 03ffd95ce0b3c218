-- services: the services with HTTP server spans in the store.
SELECT DISTINCT service_name
FROM traces
WHERE span_kind = 'Server' AND http_method <> '' AND http_path <> ''
ORDER BY service_name
