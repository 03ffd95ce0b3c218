package app_test

import (
	"bytes"
	"compress/gzip"
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"go.opentelemetry.io/collector/pdata/ptrace"
	"go.opentelemetry.io/collector/pdata/ptrace/ptraceotlp"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracegrpc"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracehttp"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"

	"github.com/tracehound/tracehound/api"
	"github.com/tracehound/tracehound/app"
	"github.com/tracehound/tracehound/config"
)

// server is a tracehound running in-process on loopback ports.
type server struct {
	*app.App
	stop func()
}

func testConfig(t *testing.T, dir string) config.Config {
	t.Helper()
	c := config.Default()
	c.Data = dir
	c.Listen, c.OTLPHTTP, c.OTLPGRPC = "127.0.0.1:0", "127.0.0.1:0", "127.0.0.1:0"
	// Tests take snapshots when they mean to; the schedule has its own tests.
	c.APIMap.SnapshotInterval = 0
	return c
}

// client returns an API client of s that authenticates as the local CLI
// does, with the admin token the server keeps in its data directory.
func (s *server) client(t testing.TB) *api.Client {
	t.Helper()
	c, err := api.NewClient("http://" + s.Addr())
	if err != nil {
		t.Fatal(err)
	}
	tok, err := os.ReadFile(filepath.Join(s.Config().Data, app.CLITokenFile))
	if err != nil {
		t.Fatalf("read the CLI token: %v", err)
	}
	c.SetToken(strings.TrimSpace(string(tok)))
	return c
}

// startB starts a server for a benchmark.
func startB(b *testing.B) *server {
	b.Helper()
	c := config.Default()
	c.Data = b.TempDir()
	c.Listen, c.OTLPHTTP, c.OTLPGRPC = "127.0.0.1:0", "127.0.0.1:0", ""
	a, err := app.New(context.Background(), app.Options{Config: c, Serve: true})
	if err != nil {
		b.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- a.Run(ctx) }()
	b.Cleanup(func() { cancel(); <-done; a.Close() })
	waitReady(b, "http://"+a.Addr()+"/readyz")
	return &server{App: a}
}

func start(t *testing.T, c config.Config) *server {
	t.Helper()
	a, err := app.New(context.Background(), app.Options{Config: c, Serve: true})
	if err != nil {
		t.Fatalf("app.New: %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- a.Run(ctx) }()
	waitReady(t, "http://"+a.Addr()+"/readyz")
	var once sync.Once
	s := &server{App: a}
	s.stop = func() {
		once.Do(func() {
			cancel()
			if err := <-done; err != nil {
				t.Errorf("Run: %v", err)
			}
			if err := a.Close(); err != nil {
				t.Errorf("Close: %v", err)
			}
		})
	}
	t.Cleanup(s.stop)
	return s
}

func waitReady(t testing.TB, url string) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		resp, err := http.Get(url)
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return
			}
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("%s never became ready", url)
}

func count(t *testing.T, a *app.App, where string) int64 {
	t.Helper()
	res, err := a.SQL(context.Background(), "SELECT count() AS n FROM traces WHERE "+where)
	if err != nil {
		t.Fatalf("count where %s: %v", where, err)
	}
	return res.Rows[0][0].(int64)
}

// sendWithSDK emits n server spans through a real OpenTelemetry SDK
// exporter and flushes it.
func sendWithSDK(t *testing.T, exp sdktrace.SpanExporter, run string, n int) {
	t.Helper()
	res := resource.NewSchemaless(attribute.String("service.name", "sdk-test"))
	tp := sdktrace.NewTracerProvider(sdktrace.WithResource(res), sdktrace.WithBatcher(exp, sdktrace.WithMaxExportBatchSize(512), sdktrace.WithBlocking()))
	tr := tp.Tracer("tracehound-test")
	for i := range n {
		_, sp := tr.Start(context.Background(), "GET /v1/items/{id}", trace.WithSpanKind(trace.SpanKindServer), trace.WithAttributes(
			attribute.String("http.request.method", "GET"),
			attribute.String("url.path", fmt.Sprintf("/v1/items/%d", i)),
			attribute.String("url.query", "page=2"),
			attribute.Int("http.response.status_code", 200),
			attribute.String("client.address", "198.51.100.7"),
			attribute.String("app.api_key_id", "key_test"),
			attribute.String("test.run", run),
		))
		sp.End()
	}
	if err := tp.ForceFlush(context.Background()); err != nil {
		t.Fatalf("ForceFlush: %v", err)
	}
	if err := tp.Shutdown(context.Background()); err != nil {
		t.Fatalf("Shutdown: %v", err)
	}
}

func TestSDKExporters(t *testing.T) {
	s := start(t, testConfig(t, t.TempDir()))
	ctx := context.Background()
	tests := []struct {
		name string
		exp  func() (sdktrace.SpanExporter, error)
	}{
		{"http-protobuf", func() (sdktrace.SpanExporter, error) {
			return otlptracehttp.New(ctx, otlptracehttp.WithEndpoint(s.OTLPHTTPAddr()), otlptracehttp.WithInsecure())
		}},
		{"http-protobuf-gzip", func() (sdktrace.SpanExporter, error) {
			return otlptracehttp.New(ctx, otlptracehttp.WithEndpoint(s.OTLPHTTPAddr()), otlptracehttp.WithInsecure(), otlptracehttp.WithCompression(otlptracehttp.GzipCompression))
		}},
		{"http-json", func() (sdktrace.SpanExporter, error) {
			return otlptracehttp.New(ctx, otlptracehttp.WithEndpoint(s.OTLPHTTPAddr()), otlptracehttp.WithInsecure(), otlptracehttp.WithEncoding(otlptracehttp.EncodingJSON))
		}},
		{"http-api-port", func() (sdktrace.SpanExporter, error) {
			return otlptracehttp.New(ctx, otlptracehttp.WithEndpoint(s.Addr()), otlptracehttp.WithInsecure())
		}},
		{"grpc-gzip", func() (sdktrace.SpanExporter, error) {
			return otlptracegrpc.New(ctx, otlptracegrpc.WithEndpoint(s.OTLPGRPCAddr()), otlptracegrpc.WithInsecure(), otlptracegrpc.WithCompressor("gzip"))
		}},
		{"grpc", func() (sdktrace.SpanExporter, error) {
			return otlptracegrpc.New(ctx, otlptracegrpc.WithEndpoint(s.OTLPGRPCAddr()), otlptracegrpc.WithInsecure())
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			exp, err := tc.exp()
			if err != nil {
				t.Fatal(err)
			}
			sendWithSDK(t, exp, tc.name, 1500)
			if got := count(t, s.App, fmt.Sprintf("span_attributes['test.run'] = '%s'", tc.name)); got != 1500 {
				t.Errorf("%s: stored %d spans, want 1500", tc.name, got)
			}
			where := fmt.Sprintf("span_attributes['test.run'] = '%s' AND http_method = 'GET' AND http_path LIKE '/v1/items/%%' AND http_query = 'page=2' AND status_code = 200 AND peer_ip = '198.51.100.7' AND api_key_id = 'key_test' AND service_name = 'sdk-test' AND span_kind = 'Server'", tc.name)
			if got := count(t, s.App, where); got != 1500 {
				t.Errorf("%s: %d spans normalised as expected, want 1500", tc.name, got)
			}
		})
	}
}

// exportBody returns an OTLP protobuf request with n spans.
func exportBody(t *testing.T, n int, run string) []byte {
	t.Helper()
	td := ptrace.NewTraces()
	rs := td.ResourceSpans().AppendEmpty()
	rs.Resource().Attributes().PutStr("service.name", "raw-test")
	ss := rs.ScopeSpans().AppendEmpty()
	now := time.Now()
	for i := range n {
		sp := ss.Spans().AppendEmpty()
		var tid [16]byte
		var sid [8]byte
		copy(tid[:], fmt.Sprintf("%016d", i))
		copy(sid[:], fmt.Sprintf("%08d", i))
		tid[15], sid[7] = 1, 1
		copy(tid[:4], run)
		sp.SetTraceID(tid)
		sp.SetSpanID(sid)
		sp.SetKind(ptrace.SpanKindServer)
		sp.SetName("GET /")
		sp.SetStartTimestamp(pcommonTime(now))
		sp.SetEndTimestamp(pcommonTime(now.Add(time.Millisecond)))
		sp.Attributes().PutStr("test.run", run)
	}
	b, err := ptraceotlp.NewExportRequestFromTraces(td).MarshalProto()
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func post(t *testing.T, url, contentType, encoding string, body []byte) (*http.Response, string) {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", contentType)
	if encoding != "" {
		req.Header.Set("Content-Encoding", encoding)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("POST %s: %v", url, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, string(b)
}

func gzipped(t *testing.T, b []byte) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	zw.Write(b)
	zw.Close()
	return buf.Bytes()
}

func TestHostileBodies(t *testing.T) {
	c := testConfig(t, t.TempDir())
	c.Ingest.MaxBodyBytes = 1 << 20
	s := start(t, c)
	url := "http://" + s.OTLPHTTPAddr() + "/v1/traces"
	good := exportBody(t, 10, "good")
	bomb := gzipped(t, make([]byte, 50<<20))
	huge := bytes.Repeat([]byte{0x0a}, 2<<20)
	tests := []struct {
		name, contentType, encoding string
		body                        []byte
		want                        int
	}{
		{"malformed protobuf", "application/x-protobuf", "", []byte{0xff, 0xff, 0xff, 0xff, 0x0f}, 400},
		{"truncated protobuf", "application/x-protobuf", "", good[:len(good)-7], 400},
		{"malformed json", "application/json", "", []byte(`{"resourceSpans": [`), 400},
		{"json of the wrong shape", "application/json", "", []byte(`{"resourceSpans": 7}`), 400},
		{"oversized", "application/x-protobuf", "", huge, 413},
		{"gzip bomb", "application/x-protobuf", "gzip", bomb, 413},
		{"broken gzip", "application/x-protobuf", "gzip", []byte("not gzip at all"), 400},
		{"truncated gzip", "application/x-protobuf", "gzip", gzipped(t, good)[:20], 400},
		{"wrong content type", "text/plain", "", good, 415},
		{"unknown encoding", "application/x-protobuf", "br", good, 415},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			resp, body := post(t, url, tc.contentType, tc.encoding, tc.body)
			if resp.StatusCode != tc.want {
				t.Errorf("POST %s = %d %s, want %d", tc.name, resp.StatusCode, body, tc.want)
			}
		})
	}
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusMethodNotAllowed || resp.Header.Get("Allow") != "POST" {
		t.Errorf("GET /v1/traces = %d Allow %q, want 405 Allow POST", resp.StatusCode, resp.Header.Get("Allow"))
	}
	// The server keeps serving after all that.
	resp, body := post(t, url, "application/x-protobuf", "", good)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("good request after hostile ones = %d %s", resp.StatusCode, body)
	}
	if got := count(t, s.App, "span_attributes['test.run'] = 'good'"); got != 10 {
		t.Errorf("stored %d good spans, want 10", got)
	}
}

func TestPartialSuccess(t *testing.T) {
	s := start(t, testConfig(t, t.TempDir()))
	td := ptrace.NewTraces()
	ss := td.ResourceSpans().AppendEmpty().ScopeSpans().AppendEmpty()
	ok := ss.Spans().AppendEmpty()
	ok.SetTraceID([16]byte{1})
	ok.SetSpanID([8]byte{1})
	ss.Spans().AppendEmpty() // no ids: invalid
	body, _ := ptraceotlp.NewExportRequestFromTraces(td).MarshalJSON()
	resp, out := post(t, "http://"+s.OTLPHTTPAddr()+"/v1/traces", "application/json", "", body)
	if resp.StatusCode != http.StatusOK || !strings.Contains(out, `"rejectedSpans":"1"`) {
		t.Errorf("partial request = %d %s, want 200 with rejectedSpans 1", resp.StatusCode, out)
	}
}

func TestOverloadAnswersRetryAfter(t *testing.T) {
	c := testConfig(t, t.TempDir())
	c.Ingest.MaxQueuedSpans = 1000
	s := start(t, c)
	url := "http://" + s.OTLPHTTPAddr() + "/v1/traces"
	var accepted, throttled atomic.Int64
	var wg sync.WaitGroup
	for i := range 24 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			body := exportBody(t, 800, fmt.Sprintf("o%03d", i))
			resp, out := post(t, url, "application/x-protobuf", "", body)
			switch resp.StatusCode {
			case http.StatusOK:
				accepted.Add(800)
			case http.StatusServiceUnavailable, http.StatusTooManyRequests:
				if resp.Header.Get("Retry-After") == "" {
					t.Errorf("%d without Retry-After", resp.StatusCode)
				}
				throttled.Add(1)
			default:
				t.Errorf("overload answer %d %s", resp.StatusCode, out)
			}
		}()
	}
	wg.Wait()
	if throttled.Load() == 0 {
		t.Errorf("24 concurrent 800-span requests against a 1000-span queue: none throttled")
	}
	if got := count(t, s.App, "span_attributes['test.run'] LIKE 'o%'"); got != accepted.Load() {
		t.Errorf("stored %d spans, acknowledged %d", got, accepted.Load())
	}
}

func TestRestartKeepsAcknowledgedSpans(t *testing.T) {
	dir := t.TempDir()
	s := start(t, testConfig(t, dir))
	exp, err := otlptracehttp.New(context.Background(), otlptracehttp.WithEndpoint(s.OTLPHTTPAddr()), otlptracehttp.WithInsecure())
	if err != nil {
		t.Fatal(err)
	}
	sendWithSDK(t, exp, "restart", 5000)
	s.stop()
	s = start(t, testConfig(t, dir))
	if got := count(t, s.App, "span_attributes['test.run'] = 'restart'"); got != 5000 {
		t.Errorf("after restart: %d spans, want 5000", got)
	}
}
