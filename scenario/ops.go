package scenario

import (
	"context"

	"go.opentelemetry.io/otel/attribute"
	semconv "go.opentelemetry.io/otel/semconv/v1.43.0"
	"go.opentelemetry.io/otel/trace"
)

// opID names one operation of the DataVault API. The same table drives the
// live service (routes, child spans) and the backfill (span names, child
// spans, response models), so the two emit the same shapes.
type opID uint8

const (
	opHealth opID = iota
	opLogin
	opSignup
	opTokenRefresh
	opListDocuments
	opCreateDocument
	opGetDocument
	opUpdateDocument
	opDeleteDocument
	opGetDocumentContent
	opListShares
	opCreateShare
	opDeleteShare
	opListCollections
	opCreateCollection
	opGetCollection
	opListCollectionDocuments
	opSearch
	opGetMe
	opListUsers
	opGetUser
	opAdminListUsers
	opAdminCreateUser
	opListWebhooks
	opCreateWebhook
	opDeleteWebhook
	opAdminExport // undocumented: the shadow endpoint of the reference scenario
	numOps
)

// authMode is what an operation demands of its caller.
type authMode uint8

const (
	authNone  authMode = iota // public: health, login, signup, token refresh
	authKey                   // an API key or a session token
	authAdmin                 // an API key with the admin scope
)

// operation describes one route of the DataVault API.
type operation struct {
	id         opID
	method     string
	route      string // the http.route otelhttp reports ("/v1/documents/{id}")
	spanName   string // "GET /v1/documents/{id}", as otelhttp names server spans
	documented bool   // present in datavault/openapi.yaml
	auth       authMode
	list       bool // paginated with page and limit
	okStatus   int
	children   []*childSpan // after the auth lookup, in order

	// Backfill models: response size (log-normal median and sigma, or per
	// item for lists), request body size and latency.
	respMedian float64
	respSigma  float64
	itemBytes  int
	reqMedian  float64
	latencyMs  float64
}

// childSpan is a client or internal span a handler starts under the server
// span. Its attributes are fixed per operation, so neither the service nor
// the backfill allocates them per request.
type childSpan struct {
	name  string
	kind  trace.SpanKind
	attrs []attribute.KeyValue
	share float64 // fraction of the server span's duration it takes
}

// Attribute keys set by the DataVault application itself (not by otelhttp).
const (
	attrAPIKeyID    = attribute.Key("app.api_key_id")
	attrAccountPlan = attribute.Key("app.account.plan")
	attrEmailDomain = attribute.Key("app.signup.email_domain")
)

// Storage spans follow what the AWS SDK instrumentation (otelaws) emits.
const (
	attrRPCSystem  = attribute.Key("rpc.system")
	attrRPCService = attribute.Key("rpc.service")
	attrRPCMethod  = attribute.Key("rpc.method")
)

const (
	pgHost      = "pg-primary.datavault.internal"
	redisHost   = "cache.datavault.internal"
	searchHost  = "search.datavault.internal"
	storeBucket = "datavault-prod-documents"
)

func pgSpan(op, table string, share float64) *childSpan {
	summary := op + " " + table
	return &childSpan{
		name: summary,
		kind: trace.SpanKindClient,
		attrs: []attribute.KeyValue{
			semconv.DBSystemNamePostgreSQL,
			semconv.DBNamespace("datavault"),
			semconv.DBOperationName(op),
			semconv.DBCollectionName(table),
			semconv.DBQuerySummary(summary),
			semconv.ServerAddress(pgHost),
			semconv.ServerPort(5432),
		},
		share: share,
	}
}

func redisSpan(op string, share float64) *childSpan {
	return &childSpan{
		name: op,
		kind: trace.SpanKindClient,
		attrs: []attribute.KeyValue{
			semconv.DBSystemNameRedis,
			semconv.DBOperationName(op),
			semconv.ServerAddress(redisHost),
			semconv.ServerPort(6379),
		},
		share: share,
	}
}

func s3Span(method string, share float64) *childSpan {
	return &childSpan{
		name: "S3." + method,
		kind: trace.SpanKindClient,
		attrs: []attribute.KeyValue{
			attrRPCSystem.String("aws-api"),
			attrRPCService.String("S3"),
			attrRPCMethod.String(method),
			semconv.AWSS3Bucket(storeBucket),
			semconv.CloudRegion("eu-west-1"),
		},
		share: share,
	}
}

func searchSpan(share float64) *childSpan {
	return &childSpan{
		name: "search documents",
		kind: trace.SpanKindClient,
		attrs: []attribute.KeyValue{
			semconv.DBSystemNameOpenSearch,
			semconv.DBOperationName("search"),
			semconv.DBCollectionName("documents"),
			semconv.ServerAddress(searchHost),
			semconv.ServerPort(9200),
		},
		share: share,
	}
}

// authLookup is the API key / session lookup every authenticated request
// makes before its handler runs.
var authLookup = redisSpan("GET", 0.04)

// ops is the operation table, indexed by opID.
var ops = buildOps()

func buildOps() [numOps]*operation {
	var t [numOps]*operation
	add := func(id opID, method, route string, documented bool, auth authMode, ok int, children ...*childSpan) *operation {
		o := &operation{
			id: id, method: method, route: route, spanName: method + " " + route,
			documented: documented, auth: auth, okStatus: ok, children: children,
			respMedian: 900, respSigma: 0.5, latencyMs: 18,
		}
		t[id] = o
		return o
	}
	o := add(opHealth, "GET", "/v1/health", true, authNone, 200, redisSpan("PING", 0.3))
	o.respMedian, o.respSigma, o.latencyMs = 48, 0.01, 2
	o = add(opLogin, "POST", "/v1/auth/login", true, authNone, 200, pgSpan("SELECT", "users", 0.2), pgSpan("INSERT", "sessions", 0.1))
	o.respMedian, o.respSigma, o.reqMedian, o.latencyMs = 410, 0.05, 70, 95 // bcrypt dominates
	o = add(opSignup, "POST", "/v1/auth/signup", true, authNone, 201, pgSpan("INSERT", "accounts", 0.2), pgSpan("INSERT", "api_keys", 0.1))
	o.respMedian, o.respSigma, o.reqMedian, o.latencyMs = 520, 0.05, 160, 140
	o = add(opTokenRefresh, "POST", "/v1/auth/token/refresh", true, authNone, 200, pgSpan("SELECT", "sessions", 0.3))
	o.respMedian, o.respSigma, o.reqMedian, o.latencyMs = 390, 0.05, 90, 12
	o = add(opListDocuments, "GET", "/v1/documents", true, authKey, 200, pgSpan("SELECT", "documents", 0.6))
	o.list, o.itemBytes, o.latencyMs = true, 460, 35
	o = add(opCreateDocument, "POST", "/v1/documents", true, authKey, 201, pgSpan("INSERT", "documents", 0.2), s3Span("PutObject", 0.5))
	o.respMedian, o.respSigma, o.reqMedian, o.latencyMs = 720, 0.3, 240_000, 120
	o = add(opGetDocument, "GET", "/v1/documents/{id}", true, authKey, 200, pgSpan("SELECT", "documents", 0.5))
	o.respMedian, o.respSigma, o.latencyMs = 1600, 0.35, 14
	o = add(opUpdateDocument, "PUT", "/v1/documents/{id}", true, authKey, 200, pgSpan("UPDATE", "documents", 0.5))
	o.respMedian, o.reqMedian, o.latencyMs = 1600, 420, 28
	o = add(opDeleteDocument, "DELETE", "/v1/documents/{id}", true, authKey, 204, pgSpan("DELETE", "documents", 0.5))
	o.respMedian, o.latencyMs = 0, 22
	o = add(opGetDocumentContent, "GET", "/v1/documents/{id}/content", true, authKey, 200, pgSpan("SELECT", "documents", 0.1), s3Span("GetObject", 0.7))
	o.respMedian, o.respSigma, o.latencyMs = 150_000, 1.3, 70
	o = add(opListShares, "GET", "/v1/documents/{id}/shares", true, authKey, 200, pgSpan("SELECT", "shares", 0.5))
	o.respMedian, o.latencyMs = 700, 12
	o = add(opCreateShare, "POST", "/v1/documents/{id}/shares", true, authKey, 201, pgSpan("INSERT", "shares", 0.4))
	o.respMedian, o.reqMedian, o.latencyMs = 380, 110, 25
	o = add(opDeleteShare, "DELETE", "/v1/documents/{id}/shares/{share_id}", true, authKey, 204, pgSpan("DELETE", "shares", 0.4))
	o.respMedian, o.latencyMs = 0, 19
	o = add(opListCollections, "GET", "/v1/collections", true, authKey, 200, pgSpan("SELECT", "collections", 0.6))
	o.list, o.itemBytes, o.latencyMs = true, 310, 22
	o = add(opCreateCollection, "POST", "/v1/collections", true, authKey, 201, pgSpan("INSERT", "collections", 0.4))
	o.respMedian, o.reqMedian, o.latencyMs = 340, 120, 24
	o = add(opGetCollection, "GET", "/v1/collections/{id}", true, authKey, 200, pgSpan("SELECT", "collections", 0.5))
	o.respMedian, o.latencyMs = 420, 11
	o = add(opListCollectionDocuments, "GET", "/v1/collections/{id}/documents", true, authKey, 200, pgSpan("SELECT", "collections", 0.1), pgSpan("SELECT", "documents", 0.6))
	o.list, o.itemBytes, o.latencyMs = true, 520, 40
	o = add(opSearch, "GET", "/v1/search", true, authKey, 200, searchSpan(0.7))
	o.list, o.itemBytes, o.latencyMs = true, 380, 60
	o = add(opGetMe, "GET", "/v1/users/me", true, authKey, 200, pgSpan("SELECT", "users", 0.4))
	o.respMedian, o.respSigma, o.latencyMs = 520, 0.1, 8
	o = add(opListUsers, "GET", "/v1/users", true, authKey, 200, pgSpan("SELECT", "users", 0.6))
	o.list, o.itemBytes, o.latencyMs = true, 280, 20
	o = add(opGetUser, "GET", "/v1/users/{id}", true, authKey, 200, pgSpan("SELECT", "users", 0.5))
	o.respMedian, o.respSigma, o.latencyMs = 500, 0.1, 9
	o = add(opAdminListUsers, "GET", "/v1/admin/users", true, authAdmin, 200, pgSpan("SELECT", "users", 0.6))
	o.list, o.itemBytes, o.latencyMs = true, 360, 26
	o = add(opAdminCreateUser, "POST", "/v1/admin/users", true, authAdmin, 201, pgSpan("INSERT", "users", 0.4))
	o.respMedian, o.reqMedian, o.latencyMs = 480, 150, 30
	o = add(opListWebhooks, "GET", "/v1/webhooks", true, authKey, 200, pgSpan("SELECT", "webhooks", 0.5))
	o.respMedian, o.latencyMs = 640, 10
	o = add(opCreateWebhook, "POST", "/v1/webhooks", true, authKey, 201, pgSpan("INSERT", "webhooks", 0.4))
	o.respMedian, o.reqMedian, o.latencyMs = 300, 180, 21
	o = add(opDeleteWebhook, "DELETE", "/v1/webhooks/{id}", true, authKey, 204, pgSpan("DELETE", "webhooks", 0.4))
	o.respMedian, o.latencyMs = 0, 17
	o = add(opAdminExport, "GET", "/v1/admin/export", false, authKey, 200, pgSpan("SELECT", "collections", 0.05), pgSpan("SELECT", "documents", 0.75))
	o.latencyMs = 380
	return t
}

// startChild starts child span c of the request in ctx. The live service and
// the backfill both start child spans through it.
func startChild(ctx context.Context, tr trace.Tracer, c *childSpan, opts ...trace.SpanStartOption) trace.Span {
	opts = append(opts, trace.WithSpanKind(c.kind), trace.WithAttributes(c.attrs...))
	_, span := tr.Start(ctx, c.name, opts...)
	return span
}
