// Package app assembles tracehound: it opens the data directory (DuckDB
// spans, SQLite state), wires the OTLP receivers, the API and the
// background jobs, and owns their lifecycle. It is the only package that
// knows every other; the command line and the tests start tracehound
// through it, in-process.
package app

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"runtime/debug"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"google.golang.org/grpc"

	"github.com/tracehound/tracehound/agent"
	"github.com/tracehound/tracehound/alert"
	"github.com/tracehound/tracehound/api"
	"github.com/tracehound/tracehound/auth"
	"github.com/tracehound/tracehound/config"
	"github.com/tracehound/tracehound/llm"
	"github.com/tracehound/tracehound/otlp"
	"github.com/tracehound/tracehound/span"
	"github.com/tracehound/tracehound/sqlguard"
	"github.com/tracehound/tracehound/state"
	"github.com/tracehound/tracehound/store"
	"github.com/tracehound/tracehound/store/duckdb"
	"github.com/tracehound/tracehound/web"
)

// Version is the build's version, set by the linker.
var Version = "dev"

// Options configure an App.
type Options struct {
	Config config.Config
	Logger *slog.Logger
	// Serve binds the API and OTLP listeners in New; without it the App
	// only opens the data directory (the CLI's local mode).
	Serve bool
	// GCLimit, when set, is the soft limit the Go heap runs under
	// (debug.SetMemoryLimit); the App raises it by what the rule replay
	// cache holds, which is live heap by design, and by 2 GiB while a
	// dry run or backtest runs: a limit that left them no room would
	// have the collector run back to back (waitedReplays).
	GCLimit int64
}

// App is one tracehound instance.
type App struct {
	agent *agent.Server
	llm   *llm.Client // nil without an LLM configured
	facts factsCache  // endpoint facts for investigations
	cfg   config.Config
	log   *slog.Logger
	store store.Store
	// replays keeps rule evaluations for backtests and dry runs; nil when
	// the store cannot tell what its writes changed or it is turned off.
	replays *alert.StepCache
	// replayFile keeps replays across restarts; nil when the store's
	// marks do not outlive it.
	replayFile *replayFile
	// storeMetrics exports the span store's write path and compaction.
	storeMetrics *storeMetrics
	state        state.Store
	guard        *sqlguard.Guard
	norm         *span.Normaliser
	reg          *prometheus.Registry

	receiver *otlp.Receiver
	api      *api.Server
	auth     *auth.Service
	services

	// ingestAuth: OTLP exports must carry an ingest token.
	ingestAuth       bool
	serving          bool          // New was given Serve: a long-running server
	waited           waitedReplays // dry runs and backtests the warm pass gives way to
	firstRunPassword string
	apiMap           mapState

	apiLn, otlpHTTPLn, otlpGRPCLn net.Listener
	apiSrv, otlpHTTPSrv           *http.Server
	grpcSrv                       *grpc.Server

	closeOnce sync.Once
}

var _ api.Backend = (*App)(nil)

// hashKeySetting names the state setting holding the credential hash key.
const hashKeySetting = "credential_hash_key"

// New opens the data directory and, with opts.Serve, binds the listeners.
func New(ctx context.Context, opts Options) (_ *App, err error) {
	cfg := opts.Config
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	if err := os.MkdirAll(cfg.Data, 0o750); err != nil {
		return nil, fmt.Errorf("create data directory: %w", err)
	}
	a := &App{cfg: cfg, log: log, guard: sqlguard.New(), reg: prometheus.NewRegistry()}
	defer func() {
		if err != nil {
			a.Close()
		}
	}()
	a.reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))

	st, err := openState(ctx, cfg, log)
	if err != nil {
		return nil, err
	}
	a.state = st
	a.auth = auth.NewService(st, auth.Options{SessionTTL: time.Duration(cfg.Auth.SessionTTL), Applications: st})
	a.ingestAuth = ingestTokenRequired(cfg)
	hashKey, err := a.hashKey(ctx)
	if err != nil {
		return nil, err
	}
	a.norm = span.NewNormaliser(span.Options{
		KeyAttributes: cfg.Ingest.KeyAttributes,
		HashKey:       hashKey,
		RedactParams:  cfg.Ingest.RedactParams,
	})
	a.storeMetrics = newStoreMetrics(a.reg)
	spans, err := openSpans(ctx, cfg, log, a.storeMetrics)
	if err != nil {
		return nil, err
	}
	a.store = scopedStore{spans}
	if opts.GCLimit > 0 {
		a.waited.base, a.waited.setLimit = opts.GCLimit, func(l int64) { debug.SetMemoryLimit(l) }
	}
	if ct, ok := spans.(store.ChangeTracker); ok && cfg.Rules.ReplayCacheMB > 0 {
		a.replays = alert.NewStepCache(ct, int64(cfg.Rules.ReplayCacheMB)<<20)
		if opts.GCLimit > 0 {
			a.replays.OnResize(a.waited.cached)
		}
		if _, durable := spans.(store.DurableMarks); durable && cfg.Data != "" {
			a.replayFile = &replayFile{path: filepath.Join(cfg.Data, replayFileName)}
		}
	}
	if err := a.openServices(); err != nil {
		return nil, err
	}
	ro := otlp.Options{
		Writer:       spans,
		Normaliser:   a.norm,
		MaxBodyBytes: cfg.Ingest.MaxBodyBytes,
		Logger:       log,
		Metrics:      otlp.NewMetrics(a.reg),
	}
	ro.Authorize = a.authorizeIngest
	a.receiver = otlp.NewReceiver(ro)
	so := api.Options{
		Backend:       a,
		Logger:        log,
		OTLP:          a.receiver,
		UI:            web.Handler(),
		Metrics:       promhttp.HandlerFor(a.reg, promhttp.HandlerOpts{Registry: a.reg}),
		SecureCookies: cfg.Auth.SecureCookies,
		RateLimit:     api.RateLimit{Rate: cfg.Auth.RateLimit, Burst: cfg.Auth.RateBurst},
	}
	if cfg.Auth.Enabled {
		so.Auth = a.auth
	}
	a.agent = agent.New(a, agent.Options{Version: Version, Logger: log, Audit: a.audit})
	if cfg.Auth.Enabled {
		so.MCP = a.agent.Handler(a.auth)
	} else {
		so.MCP = a.agent.Handler(nil)
	}
	a.api = api.NewServer(so)
	a.serving = opts.Serve
	if opts.Serve {
		if err := a.listen(); err != nil {
			return nil, err
		}
		if err := a.bootstrapAuth(ctx); err != nil {
			return nil, err
		}
		a.warnExposure()
	}
	return a, nil
}

// warnExposure logs loudly when a listener reachable from other machines
// has no access control.
func (a *App) warnExposure() {
	if !a.cfg.Auth.Enabled && !isLoopback(a.cfg.Listen) {
		a.log.Warn("AUTHENTICATION IS DISABLED on an API reachable from the network: anyone who reaches "+a.cfg.Listen+" can read every trace and change every setting; set auth.enabled: true",
			"listen", a.cfg.Listen)
	}
	if !a.ingestAuth && (!isLoopback(a.cfg.OTLPHTTP) || !isLoopback(a.cfg.OTLPGRPC)) {
		a.log.Warn("OTLP ingest accepts spans WITHOUT A TOKEN on a network interface: anyone who reaches it can write traces; set ingest.require_token: auto or true",
			"otlp_http", a.cfg.OTLPHTTP, "otlp_grpc", a.cfg.OTLPGRPC)
	}
}

// hashKey returns the key that hashes credentials into api_key_id, creating
// it on first use; it lives in state so ids stay stable across restarts.
func (a *App) hashKey(ctx context.Context) ([]byte, error) {
	v, err := a.state.Setting(ctx, hashKeySetting)
	if errors.Is(err, state.ErrNotFound) {
		b := make([]byte, 32)
		rand.Read(b)
		v = hex.EncodeToString(b)
		if err := a.state.SetSetting(ctx, hashKeySetting, v); err != nil {
			return nil, err
		}
	} else if err != nil {
		return nil, err
	}
	return hex.DecodeString(v)
}

func (a *App) listen() error {
	var err error
	if a.apiLn, err = net.Listen("tcp", a.cfg.Listen); err != nil {
		return fmt.Errorf("listen on %s (API): %w", a.cfg.Listen, err)
	}
	if a.cfg.OTLPHTTP != "" {
		if a.otlpHTTPLn, err = net.Listen("tcp", a.cfg.OTLPHTTP); err != nil {
			return fmt.Errorf("listen on %s (OTLP/HTTP): %w", a.cfg.OTLPHTTP, err)
		}
	}
	if a.cfg.OTLPGRPC != "" {
		if a.otlpGRPCLn, err = net.Listen("tcp", a.cfg.OTLPGRPC); err != nil {
			return fmt.Errorf("listen on %s (OTLP/gRPC): %w", a.cfg.OTLPGRPC, err)
		}
	}
	return nil
}

// APIRoutes lists the API's routes with the role each requires.
func (a *App) APIRoutes() []api.Route { return a.api.Routes() }

// Config returns the configuration the App runs with.
func (a *App) Config() config.Config { return a.cfg }

// Addr returns the API address ("" when not serving).
func (a *App) Addr() string { return addrOf(a.apiLn) }

// OTLPHTTPAddr returns the OTLP/HTTP address ("" when disabled).
func (a *App) OTLPHTTPAddr() string { return addrOf(a.otlpHTTPLn) }

// OTLPGRPCAddr returns the OTLP/gRPC address ("" when disabled).
func (a *App) OTLPGRPCAddr() string { return addrOf(a.otlpGRPCLn) }

func addrOf(ln net.Listener) string {
	if ln == nil {
		return ""
	}
	return ln.Addr().String()
}

// Run serves until ctx ends, then shuts down gracefully: listeners stop
// accepting, in-flight exports finish and are committed, and Run returns.
func (a *App) Run(ctx context.Context) error {
	if a.apiLn == nil {
		return errors.New("app was not created with Serve")
	}
	errc := make(chan error, 3)
	a.apiSrv = newHTTPServer(a.api, a.log)
	go func() { errc <- serveHTTP(a.apiSrv, a.apiLn) }()
	if a.otlpHTTPLn != nil {
		mux := http.NewServeMux()
		mux.Handle("/v1/traces", a.receiver)
		a.otlpHTTPSrv = newHTTPServer(mux, a.log)
		go func() { errc <- serveHTTP(a.otlpHTTPSrv, a.otlpHTTPLn) }()
	}
	if a.otlpGRPCLn != nil {
		a.grpcSrv = grpc.NewServer(a.receiver.GRPCServerOptions()...)
		a.receiver.RegisterGRPC(a.grpcSrv)
		go func() { errc <- a.grpcSrv.Serve(a.otlpGRPCLn) }()
	}
	jobs, stopJobs := context.WithCancel(ctx)
	var wg sync.WaitGroup
	wg.Add(1)
	go func() { defer wg.Done(); a.retentionLoop(jobs) }()
	wg.Go(func() { a.runSnapshots(jobs) })
	wg.Go(func() { a.compactLoop(jobs) })
	wg.Go(func() { a.warmReplays(jobs) })
	wg.Go(func() { a.runSweeper(jobs) })
	wg.Go(func() {
		if err := a.rules.engine.Run(jobs); err != nil && jobs.Err() == nil {
			a.log.Error("alert engine stopped", "err", err)
		}
	})
	if addr := os.Getenv("TRACEHOUND_PPROF"); addr != "" {
		startPprof(addr, a.log)
	}
	a.api.SetReady(true)
	a.log.Info("tracehound serving", "api", a.Addr(), "otlp_http", a.OTLPHTTPAddr(), "otlp_grpc", a.OTLPGRPCAddr(), "data", a.cfg.Data)

	var runErr error
	select {
	case <-ctx.Done():
	case runErr = <-errc:
	}
	a.api.SetReady(false)
	stopJobs()
	wg.Wait()
	a.shutdown()
	return runErr
}

func (a *App) shutdown() {
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	var wg sync.WaitGroup
	for _, srv := range []*http.Server{a.apiSrv, a.otlpHTTPSrv} {
		if srv == nil {
			continue
		}
		wg.Add(1)
		go func() { defer wg.Done(); srv.Shutdown(ctx) }()
	}
	if a.grpcSrv != nil {
		wg.Add(1)
		go func() {
			defer wg.Done()
			done := make(chan struct{})
			go func() { a.grpcSrv.GracefulStop(); close(done) }()
			select {
			case <-done:
			case <-ctx.Done():
				a.grpcSrv.Stop()
			}
		}()
	}
	wg.Wait()
	a.log.Info("tracehound stopped serving")
}

func newHTTPServer(h http.Handler, log *slog.Logger) *http.Server {
	return &http.Server{
		Handler:           h,
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       2 * time.Minute,
		WriteTimeout:      5 * time.Minute,
		IdleTimeout:       2 * time.Minute,
		MaxHeaderBytes:    1 << 20,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
	}
}

func serveHTTP(srv *http.Server, ln net.Listener) error {
	if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

// retentionLoop deletes spans older than the retention period at start
// and then hourly.
func (a *App) retentionLoop(ctx context.Context) {
	if a.cfg.Retention <= 0 || a.cfg.Store.Mode == "otel" || a.cfg.Store.Mode == "signoz" {
		return // compat stores are read-only: their owner keeps the TTL
	}
	tick := time.NewTicker(time.Hour)
	defer tick.Stop()
	for {
		cutoff := time.Now().Add(-time.Duration(a.cfg.Retention))
		if n, err := a.store.DeleteBefore(ctx, cutoff); err != nil {
			if ctx.Err() == nil {
				a.log.Error("retention", "err", err)
			}
		} else if n > 0 {
			a.log.Info("retention removed old spans", "spans", n, "before", cutoff.UTC().Format(time.RFC3339))
		}
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
	}
}

// Close releases the data directory. Spans acknowledged before Close are
// durable after it returns.
func (a *App) Close() error {
	var errs []error
	a.closeOnce.Do(func() {
		for _, ln := range []net.Listener{a.apiLn, a.otlpHTTPLn, a.otlpGRPCLn} {
			if ln != nil {
				ln.Close()
			}
		}
		errs = append(errs, a.closeServices())
		a.saveReplays(true)
		if a.store != nil {
			errs = append(errs, a.store.Close())
		}
		if a.state != nil {
			errs = append(errs, a.state.Close())
		}
	})
	return errors.Join(errs...)
}

// ErrDataLocked: another process holds the data directory's trace database.
var ErrDataLocked = duckdb.ErrLocked
