package clickhouse

import (
	"embed"
	"fmt"
	"strings"
	"text/template"
	"time"

	"github.com/tracehound/tracehound/span"
)

// Mode says whose table the store reads.
type Mode string

// Modes of a Store.
const (
	// ModeNative keeps spans in tracehound's own traces table, written by
	// Write.
	ModeNative Mode = "native"
	// ModeOTel reads the table the OpenTelemetry Collector's ClickHouse
	// exporter writes (otel_traces) through a traces view. Read-only.
	ModeOTel Mode = "otel"
	// ModeSigNoz reads SigNoz's trace index (signoz_traces.
	// distributed_signoz_index_v3) through a traces view. Read-only.
	ModeSigNoz Mode = "signoz"
)

// Default names.
const (
	DefaultDatabase     = "tracehound"
	DefaultTable        = "traces"
	DefaultOTelSource   = "otel.otel_traces"
	DefaultSigNozSource = "signoz_traces.distributed_signoz_index_v3"
)

//go:embed schema/*.tmpl
var schemaFS embed.FS

var templates = template.Must(template.New("").Funcs(template.FuncMap{
	"ident": ident,
	"quote": quoteString,
	// Overridden per rendering (they depend on Legacy).
	"codec": func(string) string { return "" },
	"lc":    func() string { return "" },
}).ParseFS(schemaFS, "schema/*.tmpl"))

// schema is the resolved layout of a store's objects.
type schema struct {
	mode     Mode
	database string // where the traces table or view lives
	table    string // what queries read: the table, Distributed table or view
	local    string // the MergeTree table (native); table unless clustered
	cluster  string
	source   string // compat: the source table, quoted and qualified
	ttl      time.Duration
	keys     []span.KeyAttribute
	// legacy renders the types ClickHouse 18.16 has, for the tests that
	// run tracehound's SQL on Debian's clickhouse-server: see legacy.go.
	legacy bool
}

func newSchema(o Options) (schema, error) {
	sc := schema{mode: o.Mode, database: o.Database, table: o.Table, cluster: o.Cluster, ttl: o.TTL, keys: o.KeyAttributes, legacy: o.legacy}
	if sc.mode == "" {
		sc.mode = ModeNative
	}
	if sc.database == "" {
		sc.database = DefaultDatabase
	}
	if sc.table == "" {
		sc.table = DefaultTable
	}
	if sc.keys == nil {
		sc.keys = span.DefaultKeyAttributes()
	}
	for what, name := range map[string]string{"database": sc.database, "table": sc.table, "cluster": sc.cluster} {
		if strings.ContainsAny(name, "\x00\n\r") {
			return sc, fmt.Errorf("clickhouse: the %s name %q holds a control character", what, name)
		}
	}
	if sc.ttl < 0 {
		return sc, fmt.Errorf("clickhouse: negative TTL %v", sc.ttl)
	}
	sc.local = sc.table
	switch sc.mode {
	case ModeNative:
		if o.Source != "" {
			return sc, fmt.Errorf("clickhouse: a source table (%q) is for the otel and signoz modes, not native", o.Source)
		}
		if sc.cluster != "" {
			sc.local = sc.table + "_local"
		}
	case ModeOTel, ModeSigNoz:
		src := o.Source
		if src == "" {
			src = DefaultOTelSource
			if sc.mode == ModeSigNoz {
				src = DefaultSigNozSource
			}
		}
		if strings.ContainsAny(src, "\x00\n\r`") {
			return sc, fmt.Errorf("clickhouse: bad source table name %q", src)
		}
		if db, tbl, ok := strings.Cut(src, "."); ok {
			sc.source = ident(db) + "." + ident(tbl)
		} else {
			sc.source = ident(sc.database) + "." + ident(src)
		}
		if sc.ttl != 0 {
			return sc, fmt.Errorf("clickhouse: TTL applies to the native table; in %s mode retention is the source table's", sc.mode)
		}
	default:
		return sc, fmt.Errorf("clickhouse: unknown mode %q (want native, otel or signoz)", o.Mode)
	}
	return sc, nil
}

// readOnly reports whether the store reads another pipeline's table.
func (sc schema) readOnly() bool { return sc.mode != ModeNative }

// qualified is the traces table or view, quoted.
func (sc schema) qualified() string { return ident(sc.database) + "." + ident(sc.table) }

// DDL returns the statements Open runs to create the store's objects, in
// order: the database, and the traces table (native mode; with a cluster,
// a ReplicatedMergeTree table on every replica and a Distributed table
// over them) or the traces view over the source table (otel and signoz
// modes). An operator who does not let tracehound run DDL (Options.SkipDDL)
// runs them instead.
func DDL(o Options) ([]string, error) {
	sc, err := newSchema(o)
	if err != nil {
		return nil, err
	}
	return sc.ddl()
}

func (sc schema) ddl() ([]string, error) {
	onCluster := ""
	if sc.cluster != "" {
		onCluster = " ON CLUSTER " + ident(sc.cluster)
	}
	data := map[string]any{
		"Database":  sc.database,
		"Table":     sc.table,
		"Local":     sc.local,
		"Cluster":   sc.cluster,
		"OnCluster": onCluster,
		"Legacy":    sc.legacy,
		"TTL":       ttlExpr(sc.ttl),
		"Engine":    "MergeTree",
	}
	name := "native.sql.tmpl"
	if sc.cluster != "" {
		data["Engine"] = "ReplicatedMergeTree('/clickhouse/tables/{shard}/" + escapeString(sc.database) + "/" + escapeString(sc.local) + "', '{replica}')"
	}
	if sc.readOnly() {
		name = "view.sql.tmpl"
		data["Source"] = sc.source
		data["With"], data["Columns"] = sc.viewColumns()
	}
	t, err := templates.Clone()
	if err != nil {
		return nil, err
	}
	t.Funcs(template.FuncMap{
		"codec": func(c string) string {
			if sc.legacy {
				return ""
			}
			return " CODEC(" + c + ")"
		},
		"lc": func() string {
			if sc.legacy {
				return "String"
			}
			return "LowCardinality(String)"
		},
	})
	var b strings.Builder
	if err := t.ExecuteTemplate(&b, name, data); err != nil {
		return nil, err
	}
	var out []string
	for _, stmt := range strings.Split(b.String(), "\n;\n") {
		if stmt = strings.TrimSpace(stmt); stmt != "" {
			out = append(out, stmt)
		}
	}
	return out, nil
}

// ttlExpr renders a TTL interval in the largest whole unit.
func ttlExpr(d time.Duration) string {
	switch {
	case d <= 0:
		return ""
	case d%(24*time.Hour) == 0:
		return fmt.Sprintf("INTERVAL %d DAY", d/(24*time.Hour))
	case d%time.Hour == 0:
		return fmt.Sprintf("INTERVAL %d HOUR", d/time.Hour)
	case d%time.Minute == 0:
		return fmt.Sprintf("INTERVAL %d MINUTE", d/time.Minute)
	}
	return fmt.Sprintf("INTERVAL %d SECOND", max(d/time.Second, 1))
}

// ident quotes a ClickHouse identifier.
func ident(s string) string {
	return "`" + strings.NewReplacer(`\`, `\\`, "`", "\\`").Replace(s) + "`"
}

// quoteString returns s as a ClickHouse string literal.
func quoteString(s string) string { return "'" + escapeString(s) + "'" }

func escapeString(s string) string {
	return strings.NewReplacer(`\`, `\\`, `'`, `\'`, "\x00", `\0`).Replace(s)
}

// column is one column of a compat view.
type column struct{ Name, Expr string }

// attrSource reads one attribute of a source row as a String expression
// (” when the attribute is absent).
type attrSource func(key string) string

// mapAttr reads a Map(String, String) column; nestedAttr the Nested(key,
// value) column that stands for it in the legacy rendering.
func mapAttr(col string) attrSource {
	return func(k string) string { return col + "[" + quoteString(k) + "]" }
}

func nestedAttr(col string) attrSource {
	return func(k string) string { return col + ".value[indexOf(" + col + ".key, " + quoteString(k) + ")]" }
}

// signozAttr reads SigNoz's typed attribute maps: strings first, then
// numbers and booleans as ClickHouse prints them (200, true), which is how
// the Collector's exporter stringifies them too.
func signozAttr(legacy bool) attrSource {
	if legacy {
		s, n, b := nestedAttr("attributes_string"), nestedAttr("attributes_number"), nestedAttr("attributes_bool")
		return func(k string) string {
			q := quoteString(k)
			return "multiIf(has(attributes_string.key, " + q + "), " + s(k) +
				", has(attributes_number.key, " + q + "), toString(" + n(k) + ")" +
				", has(attributes_bool.key, " + q + "), toString(" + b(k) + "), '')"
		}
	}
	return func(k string) string {
		q := quoteString(k)
		return "multiIf(mapContains(attributes_string, " + q + "), attributes_string[" + q + "]" +
			", mapContains(attributes_number, " + q + "), toString(attributes_number[" + q + "])" +
			", mapContains(attributes_bool, " + q + "), toString(attributes_bool[" + q + "]), '')"
	}
}

// viewBuilder collects the WITH aliases of a compat view: each attribute
// lookup and intermediate value is written once and named, so that the
// column expressions stay readable (ClickHouse evaluates a repeated
// subexpression once either way).
type viewBuilder struct {
	src   attrSource
	withs []column
	names map[string]string // attribute key → alias
}

// attr returns the alias of attribute k's value.
func (b *viewBuilder) attr(k string) string {
	if n, ok := b.names[k]; ok {
		return n
	}
	var sb strings.Builder
	sb.WriteString("th_attr_")
	for _, r := range k {
		if r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' {
			sb.WriteRune(r)
		} else {
			sb.WriteByte('_')
		}
	}
	n := sb.String()
	for i := 2; b.taken(n); i++ {
		n = fmt.Sprintf("%s_%d", sb.String(), i)
	}
	b.names[k] = n
	b.withs = append(b.withs, column{n, b.src(k)})
	return n
}

func (b *viewBuilder) taken(n string) bool {
	for _, w := range b.withs {
		if w.Name == n {
			return true
		}
	}
	return false
}

// let names expr.
func (b *viewBuilder) let(name, expr string) string {
	b.withs = append(b.withs, column{name, expr})
	return name
}

// first is the first non-empty of the attributes keys, as span.Normaliser
// picks among the names of one column (lower rank first).
func (b *viewBuilder) first(keys ...string) string {
	if len(keys) == 1 {
		return b.attr(keys[0])
	}
	var sb strings.Builder
	sb.WriteString("multiIf(")
	for _, k := range keys[:len(keys)-1] {
		a := b.attr(k)
		fmt.Fprintf(&sb, "%s != '', %s, ", a, a)
	}
	sb.WriteString(b.attr(keys[len(keys)-1]))
	sb.WriteString(")")
	return sb.String()
}

// trimSpace is strings.TrimSpace.
func trimSpace(e string) string { return `replaceRegexpAll(` + e + `, '^\\s+|\\s+$', '')` }

// hostOnly mirrors span.hostOnly: "[v6]:port" and "host:port" lose the
// port; anything else is kept as it is. e must be a name.
func hostOnly(e string) string {
	port := `toUInt32OrZero(extract(` + e + `, ':([0-9]+)$')) <= 65535`
	return `multiIf(match(` + e + `, '^\\[[^\\]]+\\]:[0-9]{1,5}$') AND ` + port + `, extract(` + e + `, '^\\[([^\\]]+)\\]'), ` +
		`match(` + e + `, '^[^:]+:[0-9]{1,5}$') AND ` + port + `, extract(` + e + `, '^([^:]+):'), ` + e + `)`
}

// parseSize mirrors span.parseSize: a non-negative integer, after
// trimming JSON array brackets and quotes (the exporter stringifies a
// header value list as JSON), else 0.
func parseSize(e string) string {
	return `greatest(toInt64OrZero(` + trimSpace(`replaceRegexpAll(`+e+`, '^["\\[\\]]+|["\\[\\]]+$', '')`) + `), 0)`
}

// parseStatus mirrors span.parseStatus: 0 unless an integer up to 999.
// e must be a name.
func parseStatus(e string) string {
	v := `toUInt32OrZero(` + trimSpace(e) + `)`
	return `toUInt16(if(` + v + ` <= 999, ` + v + `, 0))`
}

// httpColumns are the typed HTTP columns of a server span, extracted from
// its attributes as span.Normaliser does (stable and legacy semantic
// conventions, lower rank first); other spans get empty values.
// Differences from ingest through tracehound: credential query parameters
// are not redacted, a secret key attribute (a raw API key header) does not
// become a keyed-hash api_key_id, and promoted attributes stay in the map.
func httpColumns(b *viewBuilder, server string, keys []span.KeyAttribute) []column {
	srv := b.let("th_server", server)
	str := func(e string) string { return "if(" + srv + ", " + e + ", '')" }
	num := func(e string) string { return "if(" + srv + ", " + e + ", 0)" }
	// pathOfURL: the path?query of an absolute URL ("/" when it has
	// none), a relative one as it is, without the fragment.
	u := b.let("th_url", b.first("url.full", "http.url"))
	rest := b.let("th_url_rest", `extract(`+u+`, '^.*?://[^/?]*(.*)$')`)
	urlPath := b.let("th_url_path", `extract(multiIf(position(`+u+`, '://') = 0, `+u+`, `+rest+` = '', '/', substring(`+rest+`, 1, 1) = '?', concat('/', `+rest+`), `+rest+`), '^[^#]*')`)
	ht := b.attr("http.target")
	target := b.let("th_target", `if(`+ht+` != '', `+ht+`, `+urlPath+`)`)
	p0 := b.attr("url.path")
	uq := b.attr("url.query")
	path := b.let("th_path", `if(`+p0+` != '', `+p0+`, extract(`+target+`, '^[^?]*'))`)
	query := b.let("th_query", `if(`+p0+` != '', `+uq+`, if(position(`+target+`, '?') > 0, substring(`+target+`, position(`+target+`, '?') + 1), ''))`)
	method := b.first("http.request.method", "http.method")
	route := b.attr("http.route")
	status := b.let("th_status", b.first("http.response.status_code", "http.status_code"))
	peer := b.let("th_peer", b.first("client.address", "http.client_ip", "net.sock.peer.addr", "net.peer.ip", "network.peer.address"))
	sock := b.let("th_sock", b.first("network.peer.address", "net.sock.peer.addr", "net.peer.ip"))
	server2 := b.let("th_server_address", b.first("server.address", "net.host.name", "http.server_name", "http.host"))
	ua := b.first("user_agent.original", "http.user_agent")
	req := b.first("http.request.body.size", "http.request_content_length", "http.request.header.content-length", "http.read_bytes")
	resp := b.first("http.response.body.size", "http.response_content_length", "http.response.header.content-length", "http.wrote_bytes")
	user := b.attr("enduser.id")
	cols := []column{
		{"http_method", str(method)},
		{"http_target", str(`concat(` + path + `, if(` + query + ` != '', concat('?', ` + query + `), ''))`)},
		{"http_path", str(path)},
		{"http_query", str(query)},
		{"http_route", str(route)},
		{"status_code", `toUInt16(` + num(parseStatus(status)) + `)`},
		{"peer_ip", str(hostOnly(peer))},
		{"net_peer_ip", str(hostOnly(sock))},
		{"server_address", str(hostOnly(server2))},
		{"user_agent", str(ua)},
		{"request_bytes", `toInt64(` + num(parseSize(req)) + `)`},
		{"response_bytes", `toInt64(` + num(parseSize(resp)) + `)`},
		{"user_id", str(user)},
	}
	// api_key_id: the first non-blank non-secret key attribute, any kind.
	var sb strings.Builder
	sb.WriteString("multiIf(")
	for _, k := range keys {
		if !k.Secret {
			e := trimSpace(b.attr(k.Name))
			fmt.Fprintf(&sb, "%s != '', %s, ", e, e)
		}
	}
	sb.WriteString("'')")
	apiKey := sb.String()
	if apiKey == "multiIf('')" {
		apiKey = "''"
	}
	return append(cols, column{"api_key_id", apiKey})
}

func kindExpr(cases [][2]string) string {
	var b strings.Builder
	b.WriteString("multiIf(")
	for _, c := range cases {
		fmt.Fprintf(&b, "%s, '%s', ", c[0], c[1])
	}
	b.WriteString("'Unspecified')")
	return b.String()
}

// viewColumns are the traces columns of a compat view, in the native
// table's order.
func (sc schema) viewColumns() (withs, cols []column) {
	var head []column
	var a attrSource
	var server string
	var attrCols []column
	if sc.mode == ModeOTel {
		server = "SpanKind IN ('Server', 'SPAN_KIND_SERVER')"
		in := func(k string) string { return "SpanKind IN ('" + k + "', 'SPAN_KIND_" + strings.ToUpper(k) + "')" }
		// Timestamp stays as it is (no conversion) so that time filters
		// use the source's partitions and primary key; a source column
		// without a zone is read in the server's zone, which should be UTC.
		head = []column{
			{"timestamp", "Timestamp"},
			{"trace_id", "TraceId"},
			{"span_id", "SpanId"},
			{"parent_span_id", "ParentSpanId"},
			{"service_name", "ServiceName"},
			{"span_name", "SpanName"},
			{"span_kind", kindExpr([][2]string{{in("Server"), "Server"}, {in("Client"), "Client"}, {in("Internal"), "Internal"}, {in("Producer"), "Producer"}, {in("Consumer"), "Consumer"}})},
			{"duration_ns", "toUInt64(Duration)"},
			{"otel_status", "multiIf(StatusCode IN ('Ok', 'STATUS_CODE_OK'), 'Ok', StatusCode IN ('Error', 'STATUS_CODE_ERROR'), 'Error', 'Unset')"},
		}
		if sc.legacy {
			a = nestedAttr("SpanAttributes")
			attrCols = []column{
				{"`span_attributes.key`", "SpanAttributes.key"}, {"`span_attributes.value`", "SpanAttributes.value"},
				{"`resource_attributes.key`", "ResourceAttributes.key"}, {"`resource_attributes.value`", "ResourceAttributes.value"},
			}
		} else {
			a = mapAttr("SpanAttributes")
			attrCols = []column{{"span_attributes", "SpanAttributes"}, {"resource_attributes", "ResourceAttributes"}}
		}
	} else {
		// SigNoz: kind is the OTLP enum; status_code (the OTel status)
		// is shadowed by the view's HTTP status_code, so otel_status
		// reads status_code_string.
		server = "kind = 2"
		head = []column{
			{"timestamp", "timestamp"},
			{"trace_id", "trace_id"},
			{"span_id", "span_id"},
			{"parent_span_id", "parent_span_id"},
			{"service_name", "`resource_string_service$$name`"},
			{"span_name", "name"},
			{"span_kind", kindExpr([][2]string{{"kind = 2", "Server"}, {"kind = 3", "Client"}, {"kind = 1", "Internal"}, {"kind = 4", "Producer"}, {"kind = 5", "Consumer"}})},
			{"duration_ns", "duration_nano"},
			{"otel_status", "multiIf(status_code_string IN ('Ok', 'STATUS_CODE_OK'), 'Ok', status_code_string IN ('Error', 'STATUS_CODE_ERROR'), 'Error', 'Unset')"},
		}
		a = signozAttr(sc.legacy)
		if sc.legacy {
			attrCols = []column{
				{"`span_attributes.key`", "arrayConcat(attributes_string.key, attributes_number.key, attributes_bool.key)"},
				{"`span_attributes.value`", "arrayConcat(attributes_string.value, arrayMap(x -> toString(x), attributes_number.value), arrayMap(x -> toString(x), attributes_bool.value))"},
				{"`resource_attributes.key`", "resources_string.key"}, {"`resource_attributes.value`", "resources_string.value"},
			}
		} else {
			attrCols = []column{
				{"span_attributes", "CAST((arrayConcat(mapKeys(attributes_string), mapKeys(attributes_number), mapKeys(attributes_bool)), " +
					"arrayConcat(mapValues(attributes_string), arrayMap(x -> toString(x), mapValues(attributes_number)), arrayMap(x -> toString(x), mapValues(attributes_bool)))), " +
					"'Map(LowCardinality(String), String)')"},
				{"resource_attributes", "resources_string"},
			}
		}
	}
	b := &viewBuilder{src: a, names: map[string]string{}}
	cols = append(head, httpColumns(b, server, sc.keys)...)
	return b.withs, append(cols, attrCols...)
}
