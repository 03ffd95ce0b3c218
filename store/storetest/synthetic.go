package storetest

import "fmt"

// SyntheticSpansSQL is a DuckDB INSERT of n server spans spread over the 7
// days before now, for benchmarks and timing at scale: 0.1% of the
// requests hit an admin export endpoint from three addresses with a
// collection_id parameter, the rest spread over 40 routes and 50,000
// clients.
func SyntheticSpansSQL(n int) string {
	return fmt.Sprintf(`INSERT INTO spans
SELECT now() - to_microseconds(CAST((%[1]d - i) * (7 * 86400 * 1000000.0 / %[1]d) AS BIGINT)) AS timestamp,
  lpad(to_hex(i), 32, '0'), lpad(to_hex(i), 16, '0'), '', 'datavault-api',
  CASE WHEN i %% 1000 = 0 THEN 'GET /v1/admin/export' ELSE 'GET /v1/route/' || (i %% 40) END,
  'Server', 1000000 + i %% 5000000, 'Unset', 'GET',
  CASE WHEN i %% 1000 = 0 THEN '/v1/admin/export?collection_id=' || (i // 1000 %% 12000) || '&page=' || (i %% 7)
       ELSE '/v1/route/' || (i %% 40) || '/' || (i %% 100000) || '?page=' || (i %% 9) END,
  CASE WHEN i %% 1000 = 0 THEN '/v1/admin/export' ELSE '/v1/route/' || (i %% 40) || '/' || (i %% 100000) END,
  CASE WHEN i %% 1000 = 0 THEN 'collection_id=' || (i // 1000 %% 12000) || '&page=' || (i %% 7) ELSE 'page=' || (i %% 9) END,
  CASE WHEN i %% 1000 = 0 THEN '' ELSE '/v1/route/' || (i %% 40) || '/{id}' END,
  CASE WHEN i %% 97 = 0 THEN 404 ELSE 200 END,
  CASE WHEN i %% 1000 = 0 THEN '104.248.73.' || (i %% 3) ELSE '10.' || (i %% 50000 // 256) || '.' || (i %% 256) || '.1' END,
  '10.0.0.1', 'api.example.test', 'Mozilla/5.0', 0,
  CASE WHEN i %% 1000 = 0 THEN 187000 ELSE 2000 + i %% 3000 END,
  'acct_' || (i %% 500), 'dvk_' || (i %% 500),
  '{"http.request.method":"GET","app.api_key_id":"dvk_' || (i %% 500) || '"}', '{"service.name":"datavault-api"}'
FROM range(%[1]d) t(i)`, n)
}
