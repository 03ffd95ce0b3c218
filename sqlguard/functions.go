package sqlguard

import (
	"sort"
	"strings"
)

// builtinFunctions is the function allow-list: the ClickHouse dialect subset
// tracehound documents, the ClickHouse-compatibility macros of the DuckDB
// store (store/duckdb/macros.sql), and the DuckDB-native spellings people
// write. Names are matched case-insensitively; the spelling here is the one
// suggestions show. A name may be harmlessly unknown to one engine (the
// engine then reports it); nothing here reads outside the query's tables,
// sleeps, or reveals settings.
var builtinFunctions = fields(`
	count countIf count_if countif sum sumIf avg avgIf mean min max minIf maxIf
	uniq uniqIf uniqExact uniqExactIf uniqCombined uniqHLL12
	any anyIf anyLast any_value first last arbitrary
	argMax argMin arg_max arg_min max_by min_by
	quantile quantiles quantileExact quantilesExact quantileTDigest quantileTiming
	quantile_cont quantile_disc approx_quantile reservoir_quantile median mode mad
	percentile_cont percentile_disc
	groupArray groupUniqArray topK topKWeighted approx_top_k histogram
	list array_agg string_agg group_concat listagg
	approx_count_distinct bool_and bool_or product entropy kurtosis skewness geomean favg fsum
	stddev stddevPop stddevSamp stddev_pop stddev_samp variance varPop varSamp var_pop var_samp
	corr covarPop covarSamp covar_pop covar_samp

	row_number rank dense_rank percent_rank cume_dist ntile lag lead
	first_value last_value nth_value lagInFrame leadInFrame

	if multiIf coalesce ifNull nullIf isNull isNotNull assumeNotNull greatest least grouping

	cast try_cast toString typeof toTypeName
	toInt8 toInt16 toInt32 toInt64 toUInt8 toUInt16 toUInt32 toUInt64 toFloat32 toFloat64
	toInt32OrZero toInt64OrZero toUInt16OrZero toUInt32OrZero toUInt64OrZero toFloat64OrZero
	toInt64OrNull toUInt64OrNull toFloat64OrNull
	toDate toDateTime toDateTime64 parseDateTimeBestEffort parseDateTime64BestEffort
	strptime try_strptime to_timestamp make_timestamp make_date

	now now64 today yesterday current_date current_timestamp
	date_trunc datetrunc date_part datepart date_diff datediff dateDiff date_add date_sub age extract
	epoch epoch_ms epoch_us epoch_ns strftime formatDateTime time_bucket timezone toTimeZone
	toStartOfInterval toStartOfMinute toStartOfFiveMinute toStartOfFiveMinutes toStartOfFifteenMinutes
	toStartOfHour toStartOfDay toStartOfWeek toStartOfMonth toMonday
	toHour toMinute toSecond toDayOfWeek toDayOfMonth toMonth toYear toYYYYMM toYYYYMMDD
	toUnixTimestamp toUnixTimestamp64Milli fromUnixTimestamp fromUnixTimestamp64Milli
	addMinutes addHours addDays subtractMinutes subtractHours subtractDays
	hour minute second day dayofweek dayofmonth dayofyear week month year isodow dow last_day
	to_seconds to_minutes to_hours to_days

	length char_length character_length lengthUTF8 octet_length len
	lower upper lcase ucase lowerUTF8 upperUTF8
	substring substr substringUTF8 concat concat_ws concatWithSeparator
	replace replaceAll replaceOne replaceRegexpAll replaceRegexpOne regexp_replace
	regexp_extract regexp_extract_all regexp_matches regexp_full_match regexp_escape
	regexp_split_to_array string_split_regex
	extractAll match like ilike notLike position positionCaseInsensitive strpos instr locate
	trim ltrim rtrim trimBoth trimLeft trimRight
	split_part splitByChar splitByString splitByRegexp string_split str_split split string_to_array
	left right lpad rpad leftPad rightPad reverse repeat
	startsWith endsWith starts_with ends_with prefix suffix contains
	format printf translate initcap ascii chr
	base64Encode base64Decode to_base64 from_base64 base64 hex unhex
	md5 sha1 sha256 cityHash64 sipHash64 xxHash64 hash levenshtein damerau_levenshtein editDistance
	empty notEmpty

	extractURLParameter extractURLParameters extractURLParameterNames cutQueryString cutURLParameter
	domain domainWithoutWWW topLevelDomain protocol path pathFull queryString fragment
	url_decode url_encode decodeURLComponent encodeURLComponent

	toIPv4 toIPv6 toIPv4OrNull IPv4NumToString IPv4StringToNum isIPv4String isIPv6String
	isIPAddressInRange IPv4CIDRToRange

	abs ceil ceiling floor round trunc sqrt cbrt exp ln log log2 log10 pow power sign
	mod intDiv intDivOrZero modulo divide plus minus multiply pi rand random isNaN isFinite isinf isnan

	JSONExtractString JSONExtractInt JSONExtractUInt JSONExtractFloat JSONExtractBool JSONExtractRaw
	JSONHas JSONLength simpleJSONExtractString visitParamExtractString isValidJSON
	json_extract json_extract_string json_extract_path json_extract_path_text json_value json_exists
	json_keys json_array_length json_type json_valid to_json json_object json_array
	map mapKeys mapValues mapContains map_keys map_values map_contains map_extract element_at cardinality
	struct_extract struct_pack row tuple tupleElement

	array arrayJoin has hasAny hasAll indexOf arrayMap arrayFilter arrayExists arrayCount arraySum
	arraySort arrayDistinct arrayElement arrayConcat arraySlice arrayStringConcat arrayUniq arrayReverse
	range generate_series unnest flatten
	list_value list_contains list_has list_extract list_element list_transform list_filter list_reduce
	list_sort list_distinct list_unique list_aggregate list_concat list_slice list_position
	list_has_any list_has_all list_count
	array_length array_contains array_has array_position array_distinct array_sort array_slice
	array_concat array_to_string array_filter array_transform
`)

// ifCombinable are the aggregates that take ClickHouse's -If combinator
// (quantileIf, argMaxIf, …) without each spelling being listed.
var ifCombinable = fields(`any anyLast argMax argMin avg count groupArray max median min quantile
	quantileExact sum topK uniq uniqExact uniqCombined`)

// forbiddenFunctionReason says why a function is refused, for the
// functions people (or attackers) reach for that the allow-list leaves out.
// It is checked before the allow-list, so the reason is always the one shown.
func forbiddenFunctionReason(name string) (string, bool) {
	if r, ok := forbiddenFunctions[name]; ok {
		return r, true
	}
	for _, p := range forbiddenPrefixes {
		if strings.HasPrefix(name, p.prefix) {
			return p.reason, true
		}
	}
	return "", false
}

const (
	whyFiles    = "it reads or writes files outside the trace store"
	whyNetwork  = "it reaches other servers over the network"
	whyCatalog  = "it reads the database catalog or server internals"
	whySettings = "it reads or changes settings and session variables"
	whyEnv      = "it reads the server's environment"
	whyExec     = "it runs SQL or programs of its own, which the guard cannot check"
	whySleep    = "it only slows the server down"
	whyColumns  = "COLUMNS(…) picks columns by regular expression; name the columns you need"
	whyTable    = "it generates a table the guard cannot check; query the allowed tables"
)

var forbiddenFunctions = map[string]string{
	"read_csv": whyFiles, "read_csv_auto": whyFiles, "read_parquet": whyFiles, "parquet_scan": whyFiles,
	"read_json": whyFiles, "read_json_auto": whyFiles, "read_json_objects": whyFiles, "read_ndjson": whyFiles,
	"read_text": whyFiles, "read_blob": whyFiles, "glob": whyFiles, "sniff_csv": whyFiles, "read_xlsx": whyFiles,
	"st_read": whyFiles, "file": whyFiles, "hdfs": whyFiles, "iceberg_scan": whyFiles, "delta_scan": whyFiles,
	"catboostevaluate": whyFiles,
	"httpfs":           whyNetwork, "url": whyNetwork, "remote": whyNetwork, "remotesecure": whyNetwork,
	"cluster": whyNetwork, "clusterallreplicas": whyNetwork, "s3": whyNetwork, "s3cluster": whyNetwork,
	"gcs": whyNetwork, "azureblobstorage": whyNetwork, "mysql": whyNetwork, "postgresql": whyNetwork,
	"postgres_scan": whyNetwork, "mysql_scan": whyNetwork, "sqlite_scan": whyFiles, "jdbc": whyNetwork,
	"odbc": whyNetwork, "mongodb": whyNetwork, "redis": whyNetwork, "load_aws_credentials": whyNetwork,
	"getenv": whyEnv, "current_setting": whySettings, "getvariable": whySettings, "getsetting": whySettings,
	"getmacro": whySettings, "setseed": whySettings, "nextval": whySettings, "currval": whySettings,
	"current_user": whyCatalog, "session_user": whyCatalog, "current_role": whyCatalog, "current_schema": whyCatalog,
	"current_schemas": whyCatalog, "current_database": whyCatalog, "current_catalog": whyCatalog,
	"currentdatabase": whyCatalog, "currentuser": whyCatalog, "version": whyCatalog, "hostname": whyCatalog,
	"fqdn": whyCatalog, "uptime": whyCatalog, "which_secret": whyCatalog, "getserverport": whyCatalog,
	"filesystemavailable": whyCatalog, "dictget": whyCatalog, "dictgetstring": whyCatalog, "dicthas": whyCatalog,
	"dictionary": whyCatalog, "joinget": whyCatalog, "hascolumnintable": whyCatalog, "system": whyCatalog,
	"merge": whyCatalog, "view": whyCatalog, "query": whyExec, "query_table": whyExec, "executable": whyExec,
	"executablepool": whyExec, "json_execute_serialized_sql": whyExec, "json_deserialize_sql": whyExec,
	"sql_auto_complete": whyExec, "input": whyExec, "sleep": whySleep, "sleepeachrow": whySleep,
	"sleep_ms": whySleep, "columns": whyColumns, "numbers": whyTable, "numbers_mt": whyTable, "zeros": whyTable,
	"generaterandom": whyTable, "values": whyTable, "null": whyTable, "loop": whyTable,
}

var forbiddenPrefixes = []struct{ prefix, reason string }{
	{"read_", whyFiles}, {"parquet_", whyFiles}, {"iceberg", whyFiles}, {"delta", whyFiles},
	{"duckdb_", whyCatalog}, {"pragma_", whyCatalog}, {"pg_", whyCatalog}, {"sqlite_", whyCatalog},
	{"information_schema", whyCatalog}, {"dictget", whyCatalog}, {"set_", whySettings},
	{"ducklake_", whyFiles}, {"postgres_", whyNetwork}, {"mysql_", whyNetwork},
}

// functionAliases point people at the allowed spelling of common functions
// the dialect subset spells differently.
var functionAliases = map[string]string{
	"count_distinct": "uniqExact", "countdistinct": "uniqExact", "ndv": "uniqExact",
	"date_format": "formatDateTime", "to_char": "strftime", "unix_timestamp": "toUnixTimestamp",
	"ifelse": "if", "iif": "if", "nvl": "coalesce", "percentile": "quantile", "regexp_like": "match",
	"json_extract_scalar": "JSONExtractString", "group_array": "groupArray", "getdate": "now",
	"sysdate": "now", "datetime": "toDateTime", "strlen": "length",
}

// functionSet is a case-insensitive set of function names that remembers
// the documented spelling of each.
type functionSet map[string]string

func newFunctionSet(names ...[]string) functionSet {
	s := functionSet{}
	for _, list := range names {
		for _, n := range list {
			if _, dup := s[strings.ToLower(n)]; !dup {
				s[strings.ToLower(n)] = n
			}
		}
	}
	return s
}

// allows reports whether lower (a lower-case name) is allowed: listed, an
// -If combinator of a listed aggregate, or an -OrNull/-OrZero/-OrDefault
// variant of a listed function.
func (s functionSet) allows(lower string) bool {
	if _, ok := s[lower]; ok {
		return true
	}
	if base, ok := strings.CutSuffix(lower, "if"); ok && base != "" {
		if _, ok := ifCombinableSet[base]; ok {
			return true
		}
	}
	// ClickHouse conversions come in -OrNull, -OrZero and -OrDefault
	// variants that differ only in how they treat bad input.
	for _, suffix := range []string{"ornull", "orzero", "ordefault"} {
		if base, ok := strings.CutSuffix(lower, suffix); ok && base != "" {
			if _, ok := s[base]; ok {
				return true
			}
		}
	}
	return false
}

var ifCombinableSet = newFunctionSet(ifCombinable)

// suggest returns the allowed function closest to lower, or "" when none
// is close enough to be a likely typo.
func (s functionSet) suggest(lower string) string {
	if alias, ok := functionAliases[lower]; ok {
		if canon, ok := s[strings.ToLower(alias)]; ok {
			return canon
		}
	}
	if len(lower) > 64 {
		return "" // not a typo; and distances to long names cost time
	}
	best, bestDist := "", 1<<30
	for l, canon := range s {
		d := editDistance(lower, l, bestDist+1) // exact when ≤ bestDist
		if d < bestDist || d == bestDist && canon < best {
			best, bestDist = canon, d
		}
	}
	if bestDist <= max(2, len(lower)/3) {
		return best
	}
	return ""
}

// names returns the documented spellings, sorted case-insensitively.
func (s functionSet) names() []string {
	out := make([]string, 0, len(s))
	for _, canon := range s {
		out = append(out, canon)
	}
	sort.Slice(out, func(i, j int) bool { return strings.ToLower(out[i]) < strings.ToLower(out[j]) })
	return out
}

// editDistance is the Levenshtein distance between a and b, or any value
// ≥ limit once the distance is known to reach limit.
func editDistance(a, b string, limit int) int {
	if d := len(a) - len(b); d >= limit || -d >= limit {
		return limit
	}
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		rowMin := cur[0]
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
			rowMin = min(rowMin, cur[j])
		}
		if rowMin >= limit {
			return limit
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}

func fields(s string) []string { return strings.Fields(s) }
