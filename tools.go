//go:build tools

package tools

import (
	_ "github.com/duckdb/duckdb-go/v2"
	_ "github.com/getkin/kin-openapi/openapi3"
	_ "github.com/prometheus/client_golang/prometheus"
	_ "github.com/rogpeppe/go-internal/testscript"
	_ "github.com/spf13/cobra"
	_ "go.opentelemetry.io/collector/pdata/ptrace/ptraceotlp"
	_ "go.opentelemetry.io/contrib/instrumentation/net/http/otelhttp"
	_ "go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracegrpc"
	_ "go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracehttp"
	_ "go.opentelemetry.io/otel/sdk/trace"
	_ "golang.org/x/term"
	_ "google.golang.org/grpc"
	_ "gopkg.in/yaml.v3"
	_ "modernc.org/sqlite"
)
