package scenario

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"go.opentelemetry.io/contrib/instrumentation/net/http/otelhttp"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracegrpc"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracehttp"
	sdk "go.opentelemetry.io/otel/sdk"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	semconv "go.opentelemetry.io/otel/semconv/v1.43.0"
	"go.opentelemetry.io/otel/trace"
)

// Protocols of the OTLP exporter.
const (
	ProtocolHTTP = "http" // OTLP/HTTP with protobuf bodies (the default)
	ProtocolGRPC = "grpc" // OTLP/gRPC
)

// Service identity reported in the resource of every span.
const (
	ServiceName    = "datavault-api"
	ServiceVersion = "2.14.3"
	Environment    = "production"
	// appScope is the instrumentation scope of the spans the DataVault
	// handlers start themselves (database, cache, storage).
	appScope = "github.com/datavault/api/internal/store"
)

// Options configures a backfill.
type Options struct {
	Scenario string    // a name from Scenarios; "" is DefaultScenario
	Start    time.Time // day 1, truncated to 00:00 UTC; zero means DefaultStart(time.Now(), Days)
	Days     int       // days of traffic; fewer than 4 cut the reference campaign short
	// End, when set and earlier than Start+Days, ends the traffic there: a
	// demo passes the current time so that nothing is emitted in the future.
	End      time.Time
	Scale    float64 // 1.0 is about 12 million benign requests a weekday; campaigns never scale
	Seed     uint64  // same seed and options, same spans and ground truth
	Endpoint string  // OTLP endpoint: "host:port" or a URL such as http://127.0.0.1:4318
	Protocol string  // ProtocolHTTP (default) or ProtocolGRPC
	// Headers are sent with every export, e.g. an ingest token's
	// "Authorization: Bearer th_…".
	Headers     map[string]string
	ManifestDir string // where ManifestFile and SummaryFile go; "" writes none
	// Progress, when set, is called with the requests emitted so far and
	// the total, from the calling goroutine, every few thousand requests
	// and once at the end.
	Progress func(done, total int64)
}

// DefaultStart returns the day 1 that puts the end of a days-long window
// just behind now: midnight UTC of (now − 11h), minus days−1 days. With 4
// days, the reference campaign's containment (day 4, about 11:00 UTC) is
// then in the past.
func DefaultStart(now time.Time, days int) time.Time {
	d := now.UTC().Add(-11 * time.Hour).Truncate(24 * time.Hour)
	return d.AddDate(0, 0, -(max(days, 1) - 1))
}

func (o Options) normalize() (Options, scenarioDef, error) {
	def, ok := lookup(o.Scenario)
	if !ok {
		return o, def, fmt.Errorf("unknown scenario %q", o.Scenario)
	}
	o.Scenario = def.Name
	if o.Days < 1 {
		return o, def, fmt.Errorf("days must be at least 1, got %d", o.Days)
	}
	if o.Scale <= 0 {
		return o, def, fmt.Errorf("scale must be positive, got %v", o.Scale)
	}
	if o.Start.IsZero() {
		o.Start = DefaultStart(time.Now(), o.Days)
	}
	o.Start = o.Start.UTC().Truncate(24 * time.Hour)
	switch o.Protocol {
	case "":
		o.Protocol = ProtocolHTTP
	case ProtocolHTTP, ProtocolGRPC:
	default:
		return o, def, fmt.Errorf("unknown protocol %q (want %q or %q)", o.Protocol, ProtocolHTTP, ProtocolGRPC)
	}
	return o, def, nil
}

// Backfill generates the traffic of a scenario and exports it as spans over
// OTLP to o.Endpoint, through the OpenTelemetry SDK's batch span processor.
// The processor blocks when its queue is full instead of dropping spans,
// and Backfill fails if an export failed after the exporter's retries. It
// writes the ground truth to o.ManifestDir and returns its summary.
func Backfill(ctx context.Context, o Options) (Summary, error) {
	o, def, err := o.normalize()
	if err != nil {
		return Summary{}, err
	}
	exp, err := newExporter(ctx, o.Endpoint, o.Protocol, o.Headers)
	if err != nil {
		return Summary{}, err
	}
	return backfill(ctx, o, def, exp)
}

// newExporter returns an OTLP span exporter for endpoint: "host:port", or
// a URL whose scheme says whether to use TLS (an OTLP/HTTP URL without a
// path gets /v1/traces).
func newExporter(ctx context.Context, endpoint, protocol string, headers map[string]string) (sdktrace.SpanExporter, error) {
	if endpoint == "" {
		return nil, errors.New("no OTLP endpoint")
	}
	hostPort, path, secure := endpoint, "", false
	if strings.Contains(endpoint, "://") {
		u, err := url.Parse(endpoint)
		if err != nil {
			return nil, fmt.Errorf("parse OTLP endpoint %q: %w", endpoint, err)
		}
		hostPort, path, secure = u.Host, strings.TrimSuffix(u.Path, "/"), u.Scheme == "https"
	}
	if protocol == ProtocolGRPC {
		opts := []otlptracegrpc.Option{otlptracegrpc.WithEndpoint(hostPort), otlptracegrpc.WithRetry(retry), otlptracegrpc.WithHeaders(headers)}
		if !secure {
			opts = append(opts, otlptracegrpc.WithInsecure())
		}
		return otlptracegrpc.New(ctx, opts...)
	}
	if path == "" {
		path = "/v1/traces"
	}
	opts := []otlptracehttp.Option{
		otlptracehttp.WithEndpoint(hostPort), otlptracehttp.WithURLPath(path),
		otlptracehttp.WithRetry(otlptracehttp.RetryConfig(retry)),
		otlptracehttp.WithHeaders(headers),
	}
	if !secure {
		opts = append(opts, otlptracehttp.WithInsecure())
	}
	return otlptracehttp.New(ctx, opts...)
}

// retry keeps retrying a receiver that pushes back (429/503, UNAVAILABLE)
// for up to ten minutes, honouring its Retry-After.
var retry = otlptracegrpc.RetryConfig{
	Enabled:         true,
	InitialInterval: 200 * time.Millisecond,
	MaxInterval:     10 * time.Second,
	MaxElapsedTime:  10 * time.Minute,
}

// newResource is the resource of the DataVault service's spans.
func newResource() *resource.Resource {
	return resource.NewWithAttributes(semconv.SchemaURL,
		semconv.ServiceName(ServiceName),
		semconv.ServiceVersion(ServiceVersion),
		semconv.ServiceNamespace("datavault"),
		attribute.String("deployment.environment", Environment),
		semconv.DeploymentEnvironmentNameKey.String(Environment),
		semconv.TelemetrySDKLanguageGo,
		semconv.TelemetrySDKName("opentelemetry"),
		semconv.TelemetrySDKVersion(sdk.Version()),
	)
}

// build returns the generator of a scenario.
func build(o Options, def scenarioDef) *generator {
	g := newGenerator(worldFor(o.Seed), o.Seed, o.Start, o.Days, o.Scale)
	if !o.End.IsZero() && o.End.UnixNano() < g.end {
		g.end = max(o.End.UnixNano(), g.start)
	}
	def.add(g)
	return g
}

func backfill(ctx context.Context, o Options, def scenarioDef, exp sdktrace.SpanExporter) (sum Summary, err error) {
	var total int64
	if o.Progress != nil {
		// A dry run counts the requests for the progress bar: the generator
		// is cheap next to span export.
		if err := build(o, def).run(func(*request) error { total++; return nil }); err != nil {
			return Summary{}, err
		}
		o.Progress(0, total)
	}
	g := build(o, def)
	rec, err := newRecorder(g, Summary{Scenario: o.Scenario, Seed: o.Seed, Scale: o.Scale, Start: o.Start, Days: o.Days}, o.ManifestDir)
	if err != nil {
		return Summary{}, err
	}
	counted := &countingExporter{next: exp}
	par := newParallelExporter(counted, exportWorkers)
	defer par.Shutdown(context.WithoutCancel(ctx))
	bsp := sdktrace.NewBatchSpanProcessor(par,
		sdktrace.WithMaxExportBatchSize(512),
		sdktrace.WithMaxQueueSize(64*1024),
		sdktrace.WithBatchTimeout(2*time.Second),
		sdktrace.WithExportTimeout(11*time.Minute),
		sdktrace.WithBlocking(),
	)
	tp := sdktrace.NewTracerProvider(
		sdktrace.WithResource(newResource()),
		sdktrace.WithSampler(sdktrace.AlwaysSample()),
		sdktrace.WithIDGenerator(newSequenceIDs(o.Seed)),
		sdktrace.WithSpanProcessor(bsp),
	)
	defer func() {
		sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), time.Minute)
		defer cancel()
		if e := tp.Shutdown(sctx); err == nil && e != nil {
			err = fmt.Errorf("shut down tracer provider: %w", e)
		}
	}()
	em := newEmitter(tp)
	var done int64
	err = g.run(func(rq *request) error {
		tid, spans := em.emit(rq)
		if err := rec.record(rq, tid, spans); err != nil {
			return err
		}
		done++
		if done%4096 == 0 {
			if err := ctx.Err(); err != nil {
				return err
			}
			if err := counted.failure(); err != nil {
				return err
			}
			if o.Progress != nil {
				o.Progress(done, total)
			}
		}
		return nil
	})
	if err != nil {
		rec.abort()
		return Summary{}, err
	}
	if err := tp.ForceFlush(ctx); err != nil {
		rec.abort()
		return Summary{}, fmt.Errorf("flush spans: %w", err)
	}
	par.wait()
	if err := counted.failure(); err != nil {
		rec.abort()
		return Summary{}, err
	}
	if o.Progress != nil {
		o.Progress(done, max(total, done))
	}
	return rec.close(o.ManifestDir)
}

// exportWorkers is how many export requests a backfill keeps in flight, as
// an OpenTelemetry Collector's sending queue does (its num_consumers). One
// request at a time leaves the pipeline waiting on each round trip.
const exportWorkers = 4

// parallelExporter hands the batch span processor's batches to a few
// workers that export them concurrently. ExportSpans blocks while every
// worker is busy and the queue is full, so spans are never dropped.
type parallelExporter struct {
	next  sdktrace.SpanExporter
	queue chan []sdktrace.ReadOnlySpan
	wg    sync.WaitGroup // workers
	busy  sync.WaitGroup // batches queued or being exported
	once  sync.Once
}

func newParallelExporter(next sdktrace.SpanExporter, workers int) *parallelExporter {
	p := &parallelExporter{next: next, queue: make(chan []sdktrace.ReadOnlySpan, workers)}
	for range workers {
		p.wg.Add(1)
		go func() {
			defer p.wg.Done()
			for batch := range p.queue {
				// Errors are kept by the counting exporter behind this one.
				p.next.ExportSpans(context.Background(), batch)
				p.busy.Done()
			}
		}()
	}
	return p
}

// ExportSpans queues a copy of spans (the processor reuses its slice).
func (p *parallelExporter) ExportSpans(ctx context.Context, spans []sdktrace.ReadOnlySpan) error {
	batch := append([]sdktrace.ReadOnlySpan(nil), spans...)
	p.busy.Add(1)
	select {
	case p.queue <- batch:
		return nil
	case <-ctx.Done():
		p.busy.Done()
		return ctx.Err()
	}
}

// wait returns when every queued batch has been exported.
func (p *parallelExporter) wait() { p.busy.Wait() }

// Shutdown waits for the queued batches and shuts the next exporter down.
func (p *parallelExporter) Shutdown(ctx context.Context) error {
	var err error
	p.once.Do(func() {
		p.busy.Wait()
		close(p.queue)
		p.wg.Wait()
		err = p.next.Shutdown(ctx)
	})
	return err
}

// countingExporter counts exported spans and remembers the first failed
// export (after the exporter's own retries). The batch span processor would
// only hand the error to the global error handler, once per batch; the
// backfill reports it instead, and stops.
type countingExporter struct {
	next     sdktrace.SpanExporter
	exported atomic.Int64
	lost     atomic.Int64
	mu       sync.Mutex
	err      error
}

func (c *countingExporter) ExportSpans(ctx context.Context, spans []sdktrace.ReadOnlySpan) error {
	err := c.next.ExportSpans(ctx, spans)
	if err != nil {
		c.lost.Add(int64(len(spans)))
		c.mu.Lock()
		if c.err == nil {
			c.err = err
		}
		c.mu.Unlock()
		return nil // reported by failure
	}
	c.exported.Add(int64(len(spans)))
	return nil
}

func (c *countingExporter) Shutdown(ctx context.Context) error { return c.next.Shutdown(ctx) }

func (c *countingExporter) failure() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.err == nil {
		return nil
	}
	return fmt.Errorf("export spans: %d spans lost: %w", c.lost.Load(), c.err)
}

// sequenceIDs is a deterministic IDGenerator: the n-th root span of a run
// gets a trace id derived from (seed, n), and each span of the trace a span
// id derived from the trace id and its rank. Spans must be started from one
// goroutine for the ids to be reproducible, as the backfill does.
type sequenceIDs struct {
	mu    sync.Mutex
	seed  uint64
	n     uint64
	trace trace.TraceID
	rank  uint64
}

func newSequenceIDs(seed uint64) *sequenceIDs {
	return &sequenceIDs{seed: mix64(seed ^ 0x7472616365686f75)}
}

func (s *sequenceIDs) NewIDs(context.Context) (trace.TraceID, trace.SpanID) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.n++
	hi, lo := mix64(s.seed+2*s.n), mix64(s.seed+2*s.n+1)
	for i := 0; i < 8; i++ {
		s.trace[i], s.trace[8+i] = byte(hi>>(56-8*i)), byte(lo>>(56-8*i))
	}
	s.rank = 0
	return s.trace, s.spanID(lo)
}

func (s *sequenceIDs) NewSpanID(_ context.Context, tid trace.TraceID) trace.SpanID {
	s.mu.Lock()
	defer s.mu.Unlock()
	var lo uint64
	for i := 8; i < 16; i++ {
		lo = lo<<8 | uint64(tid[i])
	}
	return s.spanID(lo)
}

func (s *sequenceIDs) spanID(lo uint64) trace.SpanID {
	s.rank++
	v := mix64(lo ^ s.rank*0x9e3779b97f4a7c15)
	if v == 0 {
		v = 1
	}
	var id trace.SpanID
	for i := 0; i < 8; i++ {
		id[i] = byte(v >> (56 - 8*i))
	}
	return id
}

// emitter turns requests into spans with the attributes otelhttp v0.72 and
// the DataVault handlers set on a live request, in the same order.
type emitter struct {
	server trace.Tracer // otelhttp's scope
	app    trace.Tracer // the handlers' scope
	ctx    context.Context
	attrs  []attribute.KeyValue
}

func newEmitter(tp trace.TracerProvider) *emitter {
	return &emitter{
		server: tp.Tracer(otelhttp.ScopeName, trace.WithInstrumentationVersion(otelhttp.Version)),
		app:    tp.Tracer(appScope),
		ctx:    context.Background(),
		attrs:  make([]attribute.KeyValue, 0, 24),
	}
}

var (
	methodAttrs = map[string]attribute.KeyValue{
		"GET": semconv.HTTPRequestMethodGet, "POST": semconv.HTTPRequestMethodPost, "PUT": semconv.HTTPRequestMethodPut,
		"DELETE": semconv.HTTPRequestMethodDelete, "PATCH": semconv.HTTPRequestMethodPatch,
	}
	schemeHTTP  = semconv.URLScheme("http")
	protoHTTP11 = semconv.NetworkProtocolVersion("1.1")
	routeAttrs  = func() (a [numOps]attribute.KeyValue) {
		for i, op := range ops {
			a[i] = semconv.HTTPRoute(op.route)
		}
		return a
	}()
)

// serverAttrs appends what otelhttp's RequestTraceAttrs sets for a request
// that reached the service through the load balancer (or directly), in
// its order.
func serverAttrs(a []attribute.KeyValue, rq *request) []attribute.KeyValue {
	a = append(a, semconv.ServerAddress(rq.host), methodAttrs[rq.op.method], schemeHTTP)
	if rq.serverPort > 0 && rq.serverPort != 80 {
		a = append(a, semconv.ServerPort(int(rq.serverPort)))
	}
	a = append(a, semconv.NetworkPeerAddress(rq.peerIP), semconv.NetworkPeerPort(int(rq.peerPort)))
	if rq.ua != "" {
		a = append(a, semconv.UserAgentOriginal(rq.ua))
	}
	return append(a, semconv.ClientAddress(rq.clientIP), semconv.URLPath(rq.path), protoHTTP11, routeAttrs[rq.op.id])
}

// identity returns who the service knows the caller of rq to be: nobody
// when it rejected the credential (401) or when a login, signup or token
// refresh failed. The ground truth still knows.
func identity(rq *request) (*account, *apiKey, string) {
	if rq.status == 401 || (rq.op.auth == authNone && rq.status >= 400) {
		return nil, nil, ""
	}
	return rq.acct, rq.key, rq.emailDomain
}

// appAttrs appends what the DataVault handlers add: the query (otelhttp
// leaves it out) and who the caller is.
func appAttrs(a []attribute.KeyValue, query string, acct *account, key *apiKey, emailDomain string) []attribute.KeyValue {
	if query != "" {
		a = append(a, semconv.URLQuery(query))
	}
	if acct != nil {
		a = append(a, semconv.EnduserID(acct.id))
	}
	if key != nil {
		a = append(a, attrAPIKeyID.String(key.id))
	}
	if acct != nil {
		a = append(a, attrAccountPlan.String(acct.plan))
	}
	if emailDomain != "" {
		a = append(a, attrEmailDomain.String(emailDomain))
	}
	return a
}

// responseAttrs appends what otelhttp's ResponseTraceAttrs sets.
func responseAttrs(a []attribute.KeyValue, reqBytes, respBytes int64, status int) []attribute.KeyValue {
	if reqBytes > 0 {
		a = append(a, semconv.HTTPRequestBodySize(int(reqBytes)))
	}
	if respBytes > 0 {
		a = append(a, semconv.HTTPResponseBodySize(int(respBytes)))
	}
	return append(a, semconv.HTTPResponseStatusCode(status))
}

// childCount returns how many of op's spans (the auth lookup first, then
// op.children) a request with status runs: a rejected credential stops at
// the lookup, a bad argument or missing object at the first query.
func childCount(op *operation, status int) int {
	n := len(op.children)
	auth := 0
	if op.auth != authNone {
		auth = 1
	}
	switch {
	case status == 401 && auth == 1, status == 429:
		return auth
	case status == 400 && op.id == opAdminExport:
		return auth
	case status >= 400 && status < 500:
		return auth + min(1, n)
	}
	return auth + n
}

// childSpanAt returns the i-th span a request of op runs.
func childSpanAt(op *operation, i int) *childSpan {
	if op.auth != authNone {
		if i == 0 {
			return authLookup
		}
		i--
	}
	return op.children[i]
}

// emit starts and ends the spans of rq and returns its trace id and the
// number of spans.
func (e *emitter) emit(rq *request) (trace.TraceID, int) {
	op := rq.op
	start := time.Unix(0, rq.start)
	a := serverAttrs(e.attrs[:0], rq)
	ctx, span := e.server.Start(e.ctx, op.spanName, trace.WithTimestamp(start), trace.WithSpanKind(trace.SpanKindServer), trace.WithAttributes(a...))
	acct, key, domain := identity(rq)
	a = appAttrs(a[:0], rq.query, acct, key, domain)
	span.SetAttributes(a...)

	n := childCount(op, int(rq.status))
	t := rq.start + int64(200*time.Microsecond)
	for i := 0; i < n; i++ {
		c := childSpanAt(op, i)
		d := int64(c.share * float64(rq.dur))
		_, cs := e.app.Start(ctx, c.name, trace.WithTimestamp(time.Unix(0, t)), trace.WithSpanKind(c.kind), trace.WithAttributes(c.attrs...))
		cs.End(trace.WithTimestamp(time.Unix(0, t+d)))
		t += d + int64(100*time.Microsecond)
	}

	a = responseAttrs(a[:0], rq.reqBytes, rq.respBytes, int(rq.status))
	span.SetAttributes(a...)
	if rq.status >= 500 {
		span.SetStatus(codes.Error, "")
	}
	end := max(rq.start+rq.dur, t)
	span.End(trace.WithTimestamp(time.Unix(0, end)))
	e.attrs = a
	return span.SpanContext().TraceID(), 1 + n
}
