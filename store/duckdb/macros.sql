-- ClickHouse-dialect functions that DuckDB lacks, so that rules and
-- forensic queries written for ClickHouse run unchanged. Persistent macros
-- (stored in the database file) so every pooled connection sees them.
CREATE OR REPLACE MACRO uniqExact(a) AS count(DISTINCT a), (a, b) AS count(DISTINCT (a, b));
CREATE OR REPLACE MACRO uniq(a) AS count(DISTINCT a), (a, b) AS count(DISTINCT (a, b));
CREATE OR REPLACE MACRO extractURLParameter(u, name) AS coalesce(regexp_extract(u, '[?&]' || regexp_escape(name) || '=([^&#]*)', 1), '');
CREATE OR REPLACE MACRO sumIf(x, c) AS coalesce(sum(x) FILTER (WHERE c), 0);
CREATE OR REPLACE MACRO avgIf(x, c) AS avg(x) FILTER (WHERE c);
CREATE OR REPLACE MACRO minIf(x, c) AS min(x) FILTER (WHERE c);
CREATE OR REPLACE MACRO maxIf(x, c) AS max(x) FILTER (WHERE c);
CREATE OR REPLACE MACRO uniqExactIf(x, c) AS count(DISTINCT x) FILTER (WHERE c);
CREATE OR REPLACE MACRO toStartOfInterval(t, i) AS time_bucket(i, t);
CREATE OR REPLACE MACRO toStartOfMinute(t) AS date_trunc('minute', t);
CREATE OR REPLACE MACRO toStartOfFiveMinutes(t) AS time_bucket(INTERVAL 5 MINUTE, t);
CREATE OR REPLACE MACRO toStartOfFifteenMinutes(t) AS time_bucket(INTERVAL 15 MINUTE, t);
CREATE OR REPLACE MACRO toStartOfHour(t) AS date_trunc('hour', t);
CREATE OR REPLACE MACRO toStartOfDay(t) AS date_trunc('day', t);
CREATE OR REPLACE MACRO toDate(t) AS CAST(t AS DATE);
CREATE OR REPLACE MACRO toHour(t) AS hour(t);
CREATE OR REPLACE MACRO toDayOfWeek(t) AS isodow(t);
CREATE OR REPLACE MACRO toUnixTimestamp(t) AS CAST(epoch(t) AS BIGINT);
CREATE OR REPLACE MACRO toString(x) AS CAST(x AS VARCHAR);
CREATE OR REPLACE MACRO toInt64OrZero(s) AS coalesce(TRY_CAST(s AS BIGINT), 0);
CREATE OR REPLACE MACRO toUInt64OrZero(s) AS coalesce(TRY_CAST(s AS UBIGINT), 0);
CREATE OR REPLACE MACRO toFloat64OrZero(s) AS coalesce(TRY_CAST(s AS DOUBLE), 0);
CREATE OR REPLACE MACRO startsWith(s, p) AS starts_with(s, p);
CREATE OR REPLACE MACRO endsWith(s, p) AS ends_with(s, p);
CREATE OR REPLACE MACRO mapContains(m, k) AS list_contains(map_keys(m), k);
CREATE OR REPLACE MACRO intDiv(a, b) AS a // b;
CREATE OR REPLACE MACRO empty(s) AS (length(s) = 0);
CREATE OR REPLACE MACRO notEmpty(s) AS (length(s) > 0);
CREATE OR REPLACE MACRO match(s, re) AS regexp_matches(s, re);
CREATE OR REPLACE MACRO today() AS current_date;
CREATE OR REPLACE MACRO yesterday() AS current_date - 1;
CREATE OR REPLACE MACRO cutQueryString(u) AS split_part(u, '?', 1);
CREATE OR REPLACE MACRO toDateTime64(s, p) AS CAST(CAST(s AS TIMESTAMP) AS TIMESTAMPTZ), (s, p, tz) AS timezone(tz, CAST(s AS TIMESTAMP));
CREATE OR REPLACE MACRO toDateTime(s) AS CAST(s AS TIMESTAMPTZ), (s, tz) AS timezone(tz, CAST(s AS TIMESTAMP));
CREATE OR REPLACE MACRO IPv4StringToNumOrNull(s) AS CASE WHEN regexp_full_match(s, '(25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])(\.(25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])){3}') THEN (CAST(split_part(s, '.', 1) AS UBIGINT) << 24) + (CAST(split_part(s, '.', 2) AS UBIGINT) << 16) + (CAST(split_part(s, '.', 3) AS UBIGINT) << 8) + CAST(split_part(s, '.', 4) AS UBIGINT) ELSE NULL END;
CREATE OR REPLACE MACRO isIPAddressInRange(addr, cidr) AS coalesce(CASE WHEN contains(cidr, ':') THEN lower(addr) = lower(split_part(cidr, '/', 1)) AND (split_part(cidr, '/', 2) IN ('', '128')) ELSE (IPv4StringToNumOrNull(addr) >> (32 - coalesce(TRY_CAST(nullif(split_part(cidr, '/', 2), '') AS INTEGER), 32))) = (IPv4StringToNumOrNull(split_part(cidr, '/', 1)) >> (32 - coalesce(TRY_CAST(nullif(split_part(cidr, '/', 2), '') AS INTEGER), 32))) END, false);
