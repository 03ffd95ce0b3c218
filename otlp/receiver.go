// Package otlp receives OpenTelemetry traces over OTLP/HTTP (protobuf and
// JSON, optionally gzip) and OTLP/gRPC, normalises them into spans and hands
// them to a store.Writer. It follows the OTLP specification's rules for
// success, partial success, retryable throttling and size limits, and
// acknowledges a request only after the writer has committed its spans.
package otlp

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"

	"go.opentelemetry.io/collector/pdata/ptrace"

	"github.com/tracehound/tracehound/span"
	"github.com/tracehound/tracehound/store"
)

// DefaultMaxBodyBytes is the decompressed request size limit the OTLP
// specification recommends.
const DefaultMaxBodyBytes = 64 << 20

// Options configure a Receiver.
type Options struct {
	Writer     store.Writer
	Normaliser *span.Normaliser
	// MaxBodyBytes bounds a request body after decompression (and a gRPC
	// message). Default DefaultMaxBodyBytes.
	MaxBodyBytes int64
	// MaxInFlight bounds the requests decoded at once, and so the memory
	// that request bodies can hold. Default 16.
	MaxInFlight int
	// RetryAfter is the delay suggested to throttled clients. Default 2s.
	RetryAfter time.Duration
	Logger     *slog.Logger
	Metrics    *Metrics
	// Authorize, when set, is called with the bearer token of every export
	// (the "authorization: Bearer …" HTTP header or gRPC metadata, empty
	// when absent) before its body is read; an error refuses the export as
	// unauthenticated (HTTP 401, gRPC UNAUTHENTICATED). It returns the
	// application the token belongs to, if any: the export's spans are
	// tagged with it (resource attribute ApplicationAttr). Nil accepts all.
	Authorize func(ctx context.Context, token string) (application string, err error)
}

// Receiver accepts OTLP trace exports.
type Receiver struct {
	writer     store.Writer
	norm       *span.Normaliser
	maxBody    int64
	inFlight   chan struct{}
	retryAfter time.Duration
	log        *slog.Logger
	metrics    *Metrics
	authorize  func(ctx context.Context, token string) (string, error)

	// Throttling is logged at most once per throttleLogEvery, with a count.
	throttleMu      sync.Mutex
	throttleLogged  time.Time
	throttleSkipped int
}

const throttleLogEvery = 10 * time.Second

// warnThrottled logs a refused export, at most once per throttleLogEvery:
// under overload every request is refused, and the log must stay readable.
func (r *Receiver) warnThrottled(status int, msg string) {
	r.throttleMu.Lock()
	defer r.throttleMu.Unlock()
	if time.Since(r.throttleLogged) < throttleLogEvery {
		r.throttleSkipped++
		return
	}
	r.log.Warn("export refused; clients retry after Retry-After", "status", status, "reason", msg, "refused_since_last_log", r.throttleSkipped)
	r.throttleLogged, r.throttleSkipped = time.Now(), 0
}

// NewReceiver returns a Receiver writing to opts.Writer.
func NewReceiver(opts Options) *Receiver {
	if opts.MaxBodyBytes <= 0 {
		opts.MaxBodyBytes = DefaultMaxBodyBytes
	}
	if opts.MaxInFlight <= 0 {
		opts.MaxInFlight = 16
	}
	if opts.RetryAfter <= 0 {
		opts.RetryAfter = 2 * time.Second
	}
	if opts.Normaliser == nil {
		opts.Normaliser = span.NewNormaliser(span.Options{})
	}
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	m := opts.Metrics
	if m == nil {
		m = NewMetrics(nil)
	}
	return &Receiver{
		writer:     opts.Writer,
		norm:       opts.Normaliser,
		maxBody:    opts.MaxBodyBytes,
		inFlight:   make(chan struct{}, opts.MaxInFlight),
		retryAfter: opts.RetryAfter,
		log:        log.With("component", "otlp"),
		metrics:    m,
		authorize:  opts.Authorize,
	}
}

// bearer returns the token of an "authorization" value, or "".
func bearer(v string) string {
	scheme, tok, ok := strings.Cut(strings.TrimSpace(v), " ")
	if !ok || !strings.EqualFold(scheme, "bearer") {
		return ""
	}
	return strings.TrimSpace(tok)
}

// Errors of an export, mapped to OTLP/HTTP statuses and gRPC codes.
var (
	// errThrottled: too many requests in flight; retry later.
	errThrottled = errors.New("too many concurrent export requests")
)

// saturator is a Writer that can tell, before a body is read, that it
// would refuse a write (store/duckdb's full queue).
type saturator interface {
	Saturated() bool
}

// saturated reports whether the writer's queue is full.
func (r *Receiver) saturated() bool {
	s, ok := r.writer.(saturator)
	return ok && s.Saturated()
}

// ApplicationAttr is the resource attribute that names the application
// whose ingest key sent a span. The receiver sets it from the key, and
// removes it from spans sent without one, so it cannot be forged.
const ApplicationAttr = "tracehound.application"

func tagApplication(td ptrace.Traces, application string) {
	rss := td.ResourceSpans()
	for i := range rss.Len() {
		attrs := rss.At(i).Resource().Attributes()
		if application == "" {
			attrs.Remove(ApplicationAttr)
		} else {
			attrs.PutStr(ApplicationAttr, application)
		}
	}
}

// acquire takes an in-flight slot, waiting briefly for one to free up.
func (r *Receiver) acquire(ctx context.Context) bool {
	select {
	case r.inFlight <- struct{}{}:
		return true
	default:
	}
	t := time.NewTimer(250 * time.Millisecond)
	defer t.Stop()
	select {
	case r.inFlight <- struct{}{}:
		return true
	case <-t.C:
	case <-ctx.Done():
	}
	return false
}

func (r *Receiver) release() { <-r.inFlight }

// export normalises td, stores the valid spans and returns how many spans
// were rejected as invalid (with the reason), or an error when nothing was
// stored: store.ErrOverloaded, store.ErrClosed, a context error, or a commit
// failure, all of which the client may retry.
func (r *Receiver) export(ctx context.Context, protocol string, td ptrace.Traces, application string) (rejected int, reason string, err error) {
	tagApplication(td, application)
	total := td.SpanCount()
	r.metrics.received.WithLabelValues(protocol).Add(float64(total))
	if total == 0 {
		return 0, "", nil
	}
	valid, rejected := span.DropInvalid(r.norm.Append(make([]span.Span, 0, total), td))
	if rejected > 0 {
		reason = fmt.Sprintf("%d spans have an empty trace or span id", rejected)
		r.metrics.rejected.WithLabelValues(protocol, "invalid").Add(float64(rejected))
	}
	if len(valid) == 0 {
		return rejected, reason, nil
	}
	if err := r.writer.Write(ctx, valid); err != nil {
		reasonLabel := "error"
		switch {
		case errors.Is(err, store.ErrOverloaded):
			reasonLabel = "overloaded"
		case errors.Is(err, store.ErrClosed):
			reasonLabel = "closed"
		case ctx.Err() != nil:
			reasonLabel = "cancelled"
		default:
			r.log.Error("store spans", "spans", len(valid), "err", err)
		}
		r.metrics.refused.WithLabelValues(protocol, reasonLabel).Add(float64(len(valid)))
		return 0, "", err
	}
	r.metrics.accepted.WithLabelValues(protocol).Add(float64(len(valid)))
	return rejected, reason, nil
}
