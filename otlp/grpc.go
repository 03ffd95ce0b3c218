package otlp

import (
	"context"
	"errors"

	"go.opentelemetry.io/collector/pdata/ptrace/ptraceotlp"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	_ "google.golang.org/grpc/encoding/gzip" // accept gzip-compressed exports
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/durationpb"

	"github.com/tracehound/tracehound/store"
)

// RegisterGRPC registers the OTLP trace service on s.
func (r *Receiver) RegisterGRPC(s *grpc.Server) {
	ptraceotlp.RegisterGRPCServer(s, &grpcService{r: r})
}

// GRPCServerOptions are the options a gRPC server for this receiver needs:
// the message size limit.
func (r *Receiver) GRPCServerOptions() []grpc.ServerOption {
	return []grpc.ServerOption{grpc.MaxRecvMsgSize(int(r.maxBody))}
}

type grpcService struct {
	ptraceotlp.UnimplementedGRPCServer
	r *Receiver
}

// Export implements the OTLP TraceService. Throttling answers UNAVAILABLE
// with RetryInfo, which OTLP clients retry after the given delay.
func (g *grpcService) Export(ctx context.Context, req ptraceotlp.ExportRequest) (ptraceotlp.ExportResponse, error) {
	r := g.r
	resp := ptraceotlp.NewExportResponse()
	var application string
	if r.authorize != nil {
		var tok string
		if md, ok := metadata.FromIncomingContext(ctx); ok {
			if v := md.Get("authorization"); len(v) > 0 {
				tok = bearer(v[0])
			}
		}
		var err error
		if application, err = r.authorize(ctx, tok); err != nil {
			r.metrics.requests.WithLabelValues("grpc", codes.Unauthenticated.String()).Inc()
			return resp, status.Error(codes.Unauthenticated, err.Error())
		}
	}
	if r.saturated() {
		return resp, r.grpcThrottle(store.ErrOverloaded)
	}
	if !r.acquire(ctx) {
		return resp, r.grpcThrottle(errThrottled)
	}
	defer r.release()
	rejected, reason, err := r.export(ctx, "grpc", req.Traces(), application)
	if err != nil {
		switch {
		case errors.Is(err, store.ErrOverloaded):
			return resp, r.grpcThrottle(err)
		case errors.Is(err, store.ErrClosed):
			return resp, r.grpcThrottle(errors.New("server is shutting down"))
		case ctx.Err() != nil:
			r.metrics.requests.WithLabelValues("grpc", codes.Canceled.String()).Inc()
			return resp, status.FromContextError(ctx.Err()).Err()
		default:
			return resp, r.grpcThrottle(errors.New("spans could not be stored; retry later"))
		}
	}
	if rejected > 0 {
		resp.PartialSuccess().SetRejectedSpans(int64(rejected))
		resp.PartialSuccess().SetErrorMessage(reason)
	}
	r.metrics.requests.WithLabelValues("grpc", codes.OK.String()).Inc()
	return resp, nil
}

func (r *Receiver) grpcThrottle(err error) error {
	r.metrics.requests.WithLabelValues("grpc", codes.Unavailable.String()).Inc()
	r.warnThrottled(503, err.Error())
	st := status.New(codes.Unavailable, err.Error())
	if detailed, derr := st.WithDetails(&errdetails.RetryInfo{RetryDelay: durationpb.New(r.retryAfter)}); derr == nil {
		st = detailed
	}
	return st.Err()
}
