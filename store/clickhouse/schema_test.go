package clickhouse

import (
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/tracehound/tracehound/span"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata")

// ddlCases are every DDL the package generates, each with its golden file.
var ddlCases = []struct {
	golden string
	opts   Options
}{
	{"native.sql", Options{}},
	{"native_ttl.sql", Options{Database: "obs", Table: "spans", TTL: 30 * 24 * time.Hour}},
	{"cluster.sql", Options{Cluster: "prod", TTL: 7 * 24 * time.Hour}},
	{"otel.sql", Options{Mode: ModeOTel}},
	{"otel_cluster.sql", Options{Mode: ModeOTel, Cluster: "prod", Source: "otel.otel_traces_dist"}},
	{"signoz.sql", Options{Mode: ModeSigNoz}},
	{"legacy_native.sql", Options{legacy: true}},
	{"legacy_otel.sql", Options{Mode: ModeOTel, Source: "otel_traces", legacy: true}},
	{"legacy_signoz.sql", Options{Mode: ModeSigNoz, Source: "signoz_index_v3", legacy: true}},
}

func TestDDLGolden(t *testing.T) {
	for _, tc := range ddlCases {
		t.Run(tc.golden, func(t *testing.T) {
			stmts, err := DDL(tc.opts)
			if err != nil {
				t.Fatal(err)
			}
			got := strings.Join(stmts, ";\n\n") + ";\n"
			path := filepath.Join("testdata", "ddl", tc.golden)
			if *update {
				if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(path)
			if err != nil {
				t.Fatalf("%v (run go test -run TestDDLGolden -update to create it)", err)
			}
			if got != string(want) {
				t.Errorf("DDL(%+v) differs from %s (go test -run TestDDLGolden -update rewrites it):\n%s", tc.opts, path, got)
			}
		})
	}
}

// TestDDLShape checks what the golden files must keep saying, so that an
// -update cannot silently lose it.
func TestDDLShape(t *testing.T) {
	all := func(o Options) string {
		stmts, err := DDL(o)
		if err != nil {
			t.Fatal(err)
		}
		return strings.Join(stmts, "\n;\n")
	}
	native := all(Options{TTL: 720 * time.Hour})
	for _, want := range []string{
		"timestamp DateTime64(9, 'UTC') CODEC(Delta(8), ZSTD(1))",
		"http_method LowCardinality(String)",
		"span_attributes Map(LowCardinality(String), String)",
		"INDEX idx_trace_id trace_id TYPE bloom_filter",
		"INDEX idx_peer_ip peer_ip TYPE bloom_filter",
		"INDEX idx_api_key_id api_key_id TYPE bloom_filter",
		"ORDER BY (toStartOfHour(timestamp), http_path, peer_ip, timestamp)",
		"TTL toDateTime(timestamp) + INTERVAL 30 DAY",
		"ENGINE = MergeTree",
	} {
		if !strings.Contains(native, want) {
			t.Errorf("native DDL lacks %q", want)
		}
	}
	// Every column Write fills is in the table.
	for _, c := range append(insertColumns, "span_attributes", "resource_attributes") {
		if !strings.Contains(native, "\n    "+c+" ") {
			t.Errorf("native DDL lacks column %s", c)
		}
	}
	cluster := all(Options{Cluster: "prod"})
	for _, want := range []string{
		"CREATE DATABASE IF NOT EXISTS `tracehound` ON CLUSTER `prod`",
		"CREATE TABLE IF NOT EXISTS `tracehound`.`traces_local` ON CLUSTER `prod`",
		"ENGINE = ReplicatedMergeTree('/clickhouse/tables/{shard}/tracehound/traces_local', '{replica}')",
		"ENGINE = Distributed('prod', 'tracehound', 'traces_local', cityHash64(trace_id))",
	} {
		if !strings.Contains(cluster, want) {
			t.Errorf("cluster DDL lacks %q", want)
		}
	}
	legacy := all(Options{legacy: true})
	for _, banned := range []string{"CODEC", "DateTime64", "LowCardinality", "Map(", "bloom_filter", "TTL"} {
		if strings.Contains(legacy, banned) {
			t.Errorf("legacy DDL holds %q, which ClickHouse 18.16 lacks", banned)
		}
	}
	for _, mode := range []Mode{ModeOTel, ModeSigNoz} {
		view := all(Options{Mode: mode})
		for _, c := range append(insertColumns, "span_attributes", "resource_attributes") {
			if !strings.Contains(view, " AS "+c+"\n") {
				t.Errorf("%s view lacks column %s", mode, c)
			}
		}
		if !strings.Contains(view, "CREATE OR REPLACE VIEW `tracehound`.`traces` AS") {
			t.Errorf("%s DDL does not (re)create the traces view:\n%s", mode, view)
		}
	}
}

func TestDDLErrors(t *testing.T) {
	for _, o := range []Options{
		{Mode: "mysql"},
		{Mode: ModeNative, Source: "otel.otel_traces"},
		{Mode: ModeOTel, TTL: time.Hour},
		{TTL: -time.Hour},
		{Database: "a\nb"},
		{Mode: ModeSigNoz, Source: "x`y"},
	} {
		if _, err := DDL(o); err == nil {
			t.Errorf("DDL(%+v) = nil error, want one", o)
		}
	}
}

func TestIdentQuoting(t *testing.T) {
	stmts, err := DDL(Options{Database: "we`ird\\db", Table: "t'1", KeyAttributes: []span.KeyAttribute{{Name: "k'ey"}}, Mode: ModeOTel})
	if err != nil {
		t.Fatal(err)
	}
	all := strings.Join(stmts, "\n")
	for _, want := range []string{"`we\\`ird\\\\db`.`t'1`", `'k\'ey'`} {
		if !strings.Contains(all, want) {
			t.Errorf("DDL lacks %s:\n%s", want, all)
		}
	}
}

func TestTTLExpr(t *testing.T) {
	for d, want := range map[time.Duration]string{
		0:                   "",
		48 * time.Hour:      "INTERVAL 2 DAY",
		36 * time.Hour:      "INTERVAL 36 HOUR",
		90 * time.Minute:    "INTERVAL 90 MINUTE",
		90 * time.Second:    "INTERVAL 90 SECOND",
		time.Millisecond:    "INTERVAL 1 SECOND",
		-1 * time.Hour:      "",
		7 * 24 * time.Hour:  "INTERVAL 7 DAY",
		25*time.Hour + 1e9:  "INTERVAL 90001 SECOND",
		30 * 24 * time.Hour: "INTERVAL 30 DAY",
	} {
		if got := ttlExpr(d); got != want {
			t.Errorf("ttlExpr(%v) = %q, want %q", d, got, want)
		}
	}
}
