package scenario

import (
	"bytes"
	"context"
	_ "embed"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"go.opentelemetry.io/contrib/instrumentation/net/http/otelhttp"
	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	semconv "go.opentelemetry.io/otel/semconv/v1.43.0"
	"go.opentelemetry.io/otel/trace"
)

//go:embed datavault/openapi.yaml
var dataVaultSpec []byte

// DataVaultSpec returns the published OpenAPI 3.0 description of the
// DataVault API (server https://api.datavault.example/v1). It documents
// every route but GET /v1/admin/export.
func DataVaultSpec() []byte { return bytes.Clone(dataVaultSpec) }

// DataVaultOptions configures the DataVault service.
type DataVaultOptions struct {
	// Seed selects the world served: the same accounts, keys and
	// collections as a backfill with that seed.
	Seed uint64
	// TracerProvider receives the spans; nil means the global provider.
	TracerProvider trace.TracerProvider
	// TrustedProxies are the peers whose X-Forwarded-For header the
	// service believes, as behind a reverse proxy; from any other peer the
	// header is dropped. Nil means loopback only.
	TrustedProxies []netip.Prefix
	// Latency makes database, cache and storage calls take a few
	// milliseconds, as real ones do.
	Latency bool
}

// NewDataVault returns the DataVault API as an http.Handler. Each route is
// wrapped in otelhttp, so its server span carries http.route; the handlers
// add url.query, the caller's identity (enduser.id, app.api_key_id,
// app.account.plan) and child spans for the cache, database and storage
// calls they make.
func NewDataVault(o DataVaultOptions) http.Handler {
	tp := o.TracerProvider
	if tp == nil {
		tp = otel.GetTracerProvider()
	}
	trusted := o.TrustedProxies
	if trusted == nil {
		trusted = []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8"), netip.MustParsePrefix("::1/128")}
	}
	s := &service{
		w: worldFor(o.Seed), tp: tp, app: tp.Tracer(appScope), latency: o.Latency, trusted: trusted,
		mux: http.NewServeMux(), signups: map[string]*apiKey{},
	}
	s.nextID.Store(s.w.maxDocID + 1)
	s.nextAcct.Store(int64(s.w.nextAccount + 1_000))
	handlers := map[opID]handlerFunc{
		opHealth: s.health, opLogin: s.login, opSignup: s.signup, opTokenRefresh: s.refresh,
		opListDocuments: s.listDocuments, opCreateDocument: s.create, opGetDocument: s.getDocument,
		opUpdateDocument: s.updateDocument, opDeleteDocument: s.deleteDocument, opGetDocumentContent: s.content,
		opListShares: s.listShares, opCreateShare: s.createShare, opDeleteShare: s.deleteShare,
		opListCollections: s.listCollections, opCreateCollection: s.create, opGetCollection: s.getCollection,
		opListCollectionDocuments: s.collectionDocuments, opSearch: s.search, opGetMe: s.me,
		opListUsers: s.listUsers, opGetUser: s.getUser, opAdminListUsers: s.listUsers, opAdminCreateUser: s.create,
		opListWebhooks: s.listWebhooks, opCreateWebhook: s.create, opDeleteWebhook: s.noContent,
		opAdminExport: s.export,
	}
	for _, op := range ops {
		s.mux.Handle(op.method+" "+op.route, s.instrument(op, handlers[op.id]))
	}
	notFound := otelhttp.NewHandler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusNotFound, apiError{"not_found", "no such route"})
	}), "datavault", otelhttp.WithTracerProvider(tp))
	s.mux.Handle("/", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		r.Pattern = "" // unknown routes have no http.route
		notFound.ServeHTTP(w, r)
	}))
	return s
}

// service is the DataVault API over a world.
type service struct {
	w       *world
	tp      trace.TracerProvider
	app     trace.Tracer
	latency bool
	trusted []netip.Prefix
	mux     *http.ServeMux

	nextID   atomic.Int64
	nextAcct atomic.Int64
	mu       sync.Mutex
	signups  map[string]*apiKey // keys issued by signups, by secret
}

func (s *service) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if !s.fromTrustedProxy(r.RemoteAddr) {
		r.Header.Del("X-Forwarded-For")
	}
	s.mux.ServeHTTP(w, r)
}

func (s *service) fromTrustedProxy(remote string) bool {
	ap, err := netip.ParseAddrPort(remote)
	if err != nil {
		return false
	}
	for _, p := range s.trusted {
		if p.Contains(ap.Addr().Unmap()) {
			return true
		}
	}
	return false
}

// caller is the authenticated principal of a request.
type caller struct {
	acct *account
	key  *apiKey // nil for a session of the desktop app
}

// reqCtx is what a handler gets.
type reqCtx struct {
	r      *http.Request
	caller *caller
}

// result is what a handler returns: the status and the JSON body (or raw
// bytes), and identity attributes learnt while handling (login, signup).
type result struct {
	status int
	body   any
	raw    int64 // length of an application/octet-stream body, instead of body
	attrs  []attribute.KeyValue
}

type handlerFunc func(*reqCtx) result

type apiError struct {
	Code    string `json:"error"`
	Message string `json:"message"`
}

func fail(status int, code, msg string) result {
	return result{status: status, body: apiError{code, msg}}
}

// instrument wraps a handler in otelhttp and the service's middleware:
// authentication, identity attributes, child spans and the JSON response.
func (s *service) instrument(op *operation, h handlerFunc) http.Handler {
	inner := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx := r.Context()
		span := trace.SpanFromContext(ctx)
		if r.URL.RawQuery != "" {
			span.SetAttributes(semconv.URLQuery(r.URL.RawQuery))
		}
		rc := &reqCtx{r: r}
		var res result
		if op.auth != authNone {
			rc.caller = s.authenticate(r)
			switch {
			case rc.caller == nil:
				res = fail(http.StatusUnauthorized, "unauthorized", "missing or invalid credentials")
			case op.auth == authAdmin && (rc.caller.key == nil || !rc.caller.key.admin):
				res = fail(http.StatusForbidden, "forbidden", "this key lacks the admin scope")
			}
			if rc.caller != nil {
				span.SetAttributes(appAttrs(nil, "", rc.caller.acct, rc.caller.key, "")...)
			}
		}
		if res.status == 0 {
			res = h(rc)
		}
		if res.attrs != nil {
			span.SetAttributes(res.attrs...)
		}
		s.runChildren(ctx, op, res.status)
		if res.status == http.StatusNoContent {
			w.WriteHeader(res.status)
			return
		}
		if res.body == nil {
			writeBlob(w, res.raw)
			return
		}
		writeJSON(w, res.status, res.body)
	})
	return otelhttp.NewHandler(inner, op.spanName, otelhttp.WithTracerProvider(s.tp))
}

// runChildren starts and ends the spans of the calls a request with status
// makes, as childCount says, so that live and backfilled traces agree.
func (s *service) runChildren(ctx context.Context, op *operation, status int) {
	for i := range childCount(op, status) {
		c := childSpanAt(op, i)
		span := startChild(ctx, s.app, c)
		if s.latency {
			time.Sleep(time.Duration(c.share * float64(op.latencyMs) * float64(time.Millisecond) / 4))
		}
		span.End()
	}
}

func writeJSON(w http.ResponseWriter, status int, body any) {
	b, err := json.Marshal(body)
	if err != nil {
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Content-Length", strconv.Itoa(len(b)+1))
	w.WriteHeader(status)
	w.Write(append(b, '\n'))
}

var blob = bytes.Repeat([]byte("DataVault document content. "), 1170) // ~32 KiB

func writeBlob(w http.ResponseWriter, n int64) {
	w.Header().Set("Content-Type", "application/octet-stream")
	w.Header().Set("Content-Length", strconv.FormatInt(n, 10))
	w.WriteHeader(http.StatusOK)
	for n > 0 {
		k := min(n, int64(len(blob)))
		if _, err := w.Write(blob[:k]); err != nil {
			return
		}
		n -= k
	}
}

// --- authentication -----------------------------------------------------------

// authenticate resolves the bearer credential: an API key secret
// (dvs_live_…) or a desktop-app session token (dvt_…).
func (s *service) authenticate(r *http.Request) *caller {
	tok, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	if !ok {
		return nil
	}
	if k := s.w.keyBySecret[tok]; k != nil {
		return &caller{acct: k.acct, key: k}
	}
	s.mu.Lock()
	k := s.signups[tok]
	s.mu.Unlock()
	if k != nil {
		return &caller{acct: k.acct, key: k}
	}
	if a := s.w.sessionAccount(tok); a != nil {
		return &caller{acct: a}
	}
	return nil
}

// sessionToken returns the desktop-app session token of an account. Tokens
// are signed with a secret derived from the seed, so the service needs no
// session store.
func (w *world) sessionToken(a *account) string {
	return "dvt_" + strconv.Itoa(a.index) + "_" + strconv.FormatUint(mix64(w.seed^uint64(a.index)*0x51afd7ed558ccd), 36)
}

func (w *world) sessionAccount(tok string) *account {
	rest, ok := strings.CutPrefix(tok, "dvt_")
	if !ok {
		return nil
	}
	i, _, _ := strings.Cut(rest, "_")
	n, err := strconv.Atoi(i)
	if err != nil || n < 0 || n >= len(w.accounts) || w.sessionToken(w.accounts[n]) != tok {
		return nil
	}
	return w.accounts[n]
}

// password returns the password of login e-mail user@domain: the world's
// stand-in for a credential store.
func (w *world) password(email string) string {
	return "pw-" + strconv.FormatUint(mix64(w.seed^fnv64(email)), 36)
}

// --- handlers -----------------------------------------------------------------

func (s *service) health(*reqCtx) result {
	return result{status: 200, body: map[string]string{"status": "ok", "version": ServiceVersion}}
}

type credentials struct {
	Email        string `json:"email"`
	Password     string `json:"password"`
	Company      string `json:"company,omitempty"`
	RefreshToken string `json:"refresh_token,omitempty"`
}

func decode(r *http.Request, v any) error {
	return json.NewDecoder(io.LimitReader(r.Body, 1<<20)).Decode(v)
}

func (s *service) login(rc *reqCtx) result {
	var c credentials
	if err := decode(rc.r, &c); err != nil || c.Email == "" {
		return fail(400, "bad_request", "email and password are required")
	}
	_, domain, _ := strings.Cut(c.Email, "@")
	a := s.w.byEmail[domain]
	if a == nil || c.Password != s.w.password(c.Email) {
		return fail(401, "invalid_credentials", "wrong e-mail or password")
	}
	return result{
		status: 200, body: map[string]any{"token": s.w.sessionToken(a), "refresh_token": s.w.sessionToken(a), "expires_in": 3600},
		attrs: appAttrs(nil, "", a, nil, ""),
	}
}

func (s *service) signup(rc *reqCtx) result {
	var c credentials
	if err := decode(rc.r, &c); err != nil || !strings.Contains(c.Email, "@") || len(c.Password) < 8 {
		return fail(400, "bad_request", "a valid e-mail and a password of 8 characters or more are required")
	}
	_, domain, _ := strings.Cut(c.Email, "@")
	n := s.nextAcct.Add(1)
	a := &account{index: -1, id: "acct_" + strconv.FormatInt(n, 10), name: c.Company, plan: planTrial, domain: domain}
	r := newRand(uint64(n), "signup")
	k := &apiKey{id: randToken(r, "dvk_", 16), secret: randToken(r, "dvs_live_", 32), acct: a}
	s.mu.Lock()
	s.signups[k.secret] = k
	s.mu.Unlock()
	return result{
		status: 201, body: map[string]string{"account_id": a.id, "api_key_id": k.id, "api_key": k.secret, "plan": planTrial},
		attrs: appAttrs(nil, "", a, k, domain),
	}
}

func (s *service) refresh(rc *reqCtx) result {
	var c credentials
	if err := decode(rc.r, &c); err != nil {
		return fail(400, "bad_request", "refresh_token is required")
	}
	a := s.w.sessionAccount(c.RefreshToken)
	if a == nil {
		return fail(401, "invalid_token", "refresh token expired or revoked")
	}
	return result{status: 200, body: map[string]any{"token": s.w.sessionToken(a), "expires_in": 3600}, attrs: appAttrs(nil, "", a, nil, "")}
}

// paging reads page and limit (defaults 1 and 20, limit at most max).
func paging(r *http.Request, maxLimit int) (page, limit int, ok bool) {
	page, limit = 1, 20
	q := r.URL.Query()
	var err error
	if v := q.Get("page"); v != "" {
		if page, err = strconv.Atoi(v); err != nil || page < 1 {
			return 0, 0, false
		}
	}
	if v := q.Get("limit"); v != "" {
		if limit, err = strconv.Atoi(v); err != nil || limit < 1 || limit > maxLimit {
			return 0, 0, false
		}
	}
	return page, limit, true
}

type listPage struct {
	Page    int   `json:"page"`
	Limit   int   `json:"limit"`
	Total   int   `json:"total"`
	HasMore bool  `json:"has_more"`
	Items   []any `json:"items"`
}

// list returns page of a list of total items made by item(i).
func list(page, limit, total int, item func(i int) any) result {
	p := listPage{Page: page, Limit: limit, Total: total, HasMore: page*limit < total, Items: []any{}}
	for i := (page - 1) * limit; i < min(total, page*limit); i++ {
		p.Items = append(p.Items, item(i))
	}
	return result{status: 200, body: p}
}

type docSummary struct {
	ID           int64    `json:"id"`
	CollectionID int      `json:"collection_id"`
	Title        string   `json:"title"`
	MimeType     string   `json:"mime_type"`
	SizeBytes    int64    `json:"size_bytes"`
	OwnerID      string   `json:"owner_id"`
	CreatedAt    string   `json:"created_at"`
	UpdatedAt    string   `json:"updated_at"`
	Version      int      `json:"version"`
	Tags         []string `json:"tags"`
}

var (
	mimeTypes = []string{"application/pdf", "application/vnd.openxmlformats-officedocument.wordprocessingml.document", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", "text/plain", "image/png"}
	docWords  = []string{"Invoice", "Master Services Agreement", "NDA", "Quarterly Report", "Board Minutes", "Policy", "Statement of Work", "Offer Letter", "Audit Evidence", "Design Review"}
	epoch     = time.Date(2021, 3, 1, 0, 0, 0, 0, time.UTC)
)

func (s *service) docSummary(id int64) docSummary {
	c := s.w.docCollection(id)
	h := mix64(uint64(id))
	created := epoch.Add(time.Duration(h%(3*365*24)) * time.Hour)
	owner := ""
	if c > 0 {
		owner = s.w.accounts[s.w.collOwner[c]].id
	}
	return docSummary{
		ID: id, CollectionID: c, Title: docWords[h%uint64(len(docWords))] + " " + strconv.FormatUint(h%9000+1000, 10),
		MimeType: mimeTypes[(h>>8)%uint64(len(mimeTypes))], SizeBytes: s.contentSize(id), OwnerID: owner,
		CreatedAt: created.Format(time.RFC3339), UpdatedAt: created.Add(time.Duration(h>>20%5000) * time.Hour).Format(time.RFC3339),
		Version: int(1 + (h>>12)%9), Tags: []string{"dept:" + strings.ToLower(docWords[(h>>16)%uint64(len(docWords))][:3])},
	}
}

func (s *service) contentSize(id int64) int64 {
	return int64(logNormalFrom(mix64(uint64(id)^0xc0ffee), ops[opGetDocumentContent].respMedian, ops[opGetDocumentContent].respSigma))
}

// canRead reports whether c may read collection coll.
func (s *service) canRead(c *caller, coll int) bool {
	switch {
	case c.acct.plan == planInternal:
		return true
	case c.acct.index >= 0 && s.w.collOwner[coll] == int32(c.acct.index):
		return true
	case c.acct == s.w.partner:
		_, found := slices.BinarySearch(s.w.partnerShared, int32(coll))
		return found
	}
	return false
}

// document resolves the {id} of the path for c: 404 when no such document,
// 403 when c may not read it. The flaw of the service: a document with a
// public share link is readable with any key.
func (s *service) document(rc *reqCtx) (int64, result, bool) {
	id, err := strconv.ParseInt(rc.r.PathValue("id"), 10, 64)
	if err != nil {
		return 0, fail(404, "not_found", "no such document"), false
	}
	c := s.w.docCollection(id)
	switch {
	case c == 0:
		return 0, fail(404, "not_found", "no such document"), false
	case !s.canRead(rc.caller, c) && !s.w.linkShared(id):
		return 0, fail(403, "forbidden", "you do not have access to this document"), false
	}
	return id, result{}, true
}

func (s *service) getDocument(rc *reqCtx) result {
	id, res, ok := s.document(rc)
	if !ok {
		return res
	}
	d := s.docSummary(id)
	return result{status: 200, body: map[string]any{
		"document": d, "permissions": []string{"read", "write", "share"},
		"description": strings.Repeat("Retention: 7 years; classification: internal. ", 12),
	}}
}

func (s *service) updateDocument(rc *reqCtx) result {
	id, res, ok := s.document(rc)
	if !ok {
		return res
	}
	var patch map[string]any
	if err := decode(rc.r, &patch); err != nil {
		return fail(400, "bad_request", "body must be a JSON object")
	}
	return result{status: 200, body: s.docSummary(id)}
}

func (s *service) deleteDocument(rc *reqCtx) result {
	if _, res, ok := s.document(rc); !ok {
		return res
	}
	return result{status: 204}
}

func (s *service) content(rc *reqCtx) result {
	id, res, ok := s.document(rc)
	if !ok {
		return res
	}
	return result{status: 200, raw: s.contentSize(id)}
}

func (s *service) listShares(rc *reqCtx) result {
	id, res, ok := s.document(rc)
	if !ok {
		return res
	}
	return list(1, 20, int(mix64(uint64(id))%4), func(i int) any {
		return map[string]any{"id": 900_000 + i, "document_id": id, "grantee": "user-" + strconv.Itoa(i), "role": "viewer"}
	})
}

func (s *service) createShare(rc *reqCtx) result {
	id, res, ok := s.document(rc)
	if !ok {
		return res
	}
	var body map[string]any
	if err := decode(rc.r, &body); err != nil {
		return fail(400, "bad_request", "body must be a JSON object")
	}
	return result{status: 201, body: map[string]any{"id": s.nextID.Add(1), "document_id": id, "role": "viewer"}}
}

func (s *service) deleteShare(rc *reqCtx) result {
	if _, res, ok := s.document(rc); !ok {
		return res
	}
	return result{status: 204}
}

func (s *service) noContent(*reqCtx) result { return result{status: 204} }

// create accepts any JSON object with a non-empty "title" or "name" (or
// "email" for users) and returns it with a new id.
func (s *service) create(rc *reqCtx) result {
	var body map[string]any
	if err := decode(rc.r, &body); err != nil {
		return fail(400, "bad_request", "body must be a JSON object")
	}
	named := false
	for _, k := range []string{"title", "name", "email", "url"} {
		if v, _ := body[k].(string); v != "" {
			named = true
		}
	}
	if !named {
		return fail(400, "bad_request", "a title, name, email or url is required")
	}
	delete(body, "content")
	body["id"] = s.nextID.Add(1)
	body["created_at"] = time.Now().UTC().Format(time.RFC3339)
	return result{status: 201, body: body}
}

func (s *service) listDocuments(rc *reqCtx) result {
	page, limit, ok := paging(rc.r, 100)
	if !ok {
		return fail(400, "bad_request", "page and limit must be positive integers, limit at most 100")
	}
	colls := rc.caller.acct.colls
	total := 0
	for _, c := range colls {
		total += int(s.w.collDocs[c])
	}
	return list(page, limit, total, func(i int) any {
		for _, c := range colls {
			if i < int(s.w.collDocs[c]) {
				return s.docSummary(s.w.collStart[c] + int64(i))
			}
			i -= int(s.w.collDocs[c])
		}
		return nil
	})
}

func (s *service) listCollections(rc *reqCtx) result {
	page, limit, ok := paging(rc.r, 100)
	if !ok {
		return fail(400, "bad_request", "page and limit must be positive integers, limit at most 100")
	}
	colls := rc.caller.acct.colls
	return list(page, limit, len(colls), func(i int) any { return s.collection(int(colls[i])) })
}

func (s *service) collection(c int) map[string]any {
	return map[string]any{
		"id": c, "name": "Collection " + strconv.Itoa(c), "owner_id": s.w.accounts[s.w.collOwner[c]].id,
		"document_count": s.w.collDocs[c], "created_at": epoch.Add(time.Duration(c) * 2 * time.Hour).Format(time.RFC3339),
	}
}

func (s *service) collectionID(rc *reqCtx) (int, result, bool) {
	c, err := strconv.Atoi(rc.r.PathValue("id"))
	switch {
	case err != nil || c < 1 || c > numCollections:
		return 0, fail(404, "not_found", "no such collection"), false
	case !s.canRead(rc.caller, c):
		return 0, fail(403, "forbidden", "you do not have access to this collection"), false
	}
	return c, result{}, true
}

func (s *service) getCollection(rc *reqCtx) result {
	c, res, ok := s.collectionID(rc)
	if !ok {
		return res
	}
	return result{status: 200, body: s.collection(c)}
}

func (s *service) collectionDocuments(rc *reqCtx) result {
	c, res, ok := s.collectionID(rc)
	if !ok {
		return res
	}
	page, limit, ok := paging(rc.r, 500)
	if !ok {
		return fail(400, "bad_request", "page and limit must be positive integers, limit at most 500")
	}
	return list(page, limit, int(s.w.collDocs[c]), func(i int) any { return s.docSummary(s.w.collStart[c] + int64(i)) })
}

func (s *service) search(rc *reqCtx) result {
	q := rc.r.URL.Query().Get("q")
	page, limit, ok := paging(rc.r, 100)
	if q == "" || !ok {
		return fail(400, "bad_request", "q is required; page and limit must be positive integers")
	}
	colls := rc.caller.acct.colls
	if len(colls) == 0 {
		return list(page, limit, 0, nil)
	}
	hits := int(logNormalFrom(fnv64(q)^uint64(rc.caller.acct.index), 40, 1.3))
	return list(page, limit, hits, func(i int) any {
		c := colls[i%len(colls)]
		return map[string]any{"score": 1 / float64(i+1), "document": s.docSummary(s.w.collStart[c] + int64(i)%int64(s.w.collDocs[c]))}
	})
}

func (s *service) me(rc *reqCtx) result {
	a := rc.caller.acct
	return result{status: 200, body: map[string]any{"account_id": a.id, "organisation": a.name, "plan": a.plan, "user_id": a.userBase}}
}

func (s *service) listUsers(rc *reqCtx) result {
	page, limit, ok := paging(rc.r, 100)
	if !ok {
		return fail(400, "bad_request", "page and limit must be positive integers, limit at most 100")
	}
	a := rc.caller.acct
	return list(page, limit, int(a.users), func(i int) any { return s.user(a, a.userBase+int64(i)) })
}

func (s *service) user(a *account, id int64) map[string]any {
	return map[string]any{"id": id, "email": "user" + strconv.FormatInt(id, 10) + "@" + a.domain, "role": []string{"member", "editor", "admin"}[id%3]}
}

func (s *service) getUser(rc *reqCtx) result {
	a := rc.caller.acct
	id, err := strconv.ParseInt(rc.r.PathValue("id"), 10, 64)
	if err != nil || id < a.userBase || id >= a.userBase+a.users {
		return fail(404, "not_found", "no such user in your organisation")
	}
	return result{status: 200, body: s.user(a, id)}
}

func (s *service) listWebhooks(rc *reqCtx) result {
	return list(1, 20, 2, func(i int) any {
		return map[string]any{"id": i + 1, "url": "https://hooks." + rc.caller.acct.domain + "/datavault", "events": []string{"document.created", "document.deleted"}}
	})
}

// exportDoc is one document in an export page: everything the metadata
// store holds about it.
type exportDoc struct {
	docSummary
	OwnerEmail      string   `json:"owner_email"`
	SHA256          string   `json:"sha256"`
	StoragePath     string   `json:"storage_path"`
	Classification  string   `json:"classification"`
	RetentionPolicy string   `json:"retention_policy"`
	ACL             []string `json:"acl"`
	Summary         string   `json:"summary"`
}

var preview = strings.Repeat("Extracted text preview of the document for search indexing. ", 30)

// export is the forgotten internal endpoint: any valid key may read every
// collection, a page of 200 documents' metadata at a time.
func (s *service) export(rc *reqCtx) result {
	status, _, c, page := s.w.exportResult(rc.r.URL.RawQuery, true)
	switch status {
	case 400:
		return fail(400, "bad_request", "collection_id must be an integer; page and limit must be positive, limit at most 200")
	case 404:
		return fail(404, "not_found", "no such collection")
	}
	docs := int(s.w.collDocs[c])
	n := exportDocsOnPage(docs, page)
	out := make([]exportDoc, n)
	owner := s.w.accounts[s.w.collOwner[c]]
	for i := range out {
		id := s.w.collStart[c] + int64((page-1)*exportPageSize+i)
		h := mix64(uint64(id) ^ 0x5ca1ab1e)
		d := exportDoc{
			docSummary: s.docSummary(id), OwnerEmail: "user" + strconv.FormatInt(owner.userBase+int64(h%uint64(max(owner.users, 1))), 10) + "@" + owner.domain,
			SHA256: fmt.Sprintf("%016x%016x%016x%016x", h, mix64(h), mix64(h+1), mix64(h+2)), Classification: []string{"internal", "confidential", "restricted"}[h%3],
			StoragePath: "s3://" + storeBucket + "/" + owner.id + "/" + strconv.Itoa(c) + "/" + strconv.FormatInt(id, 10), RetentionPolicy: "7y-legal-hold",
			ACL: []string{"account:" + owner.id, "group:editors", "group:viewers"},
		}
		// The text preview fills the item to the collection's usual size.
		b, _ := json.Marshal(d)
		d.Summary = preview[:max(0, min(len(preview), int(exportItemBytes(c))-len(b)-1))]
		out[i] = d
	}
	return result{status: 200, body: map[string]any{
		"collection_id": c, "page": page, "page_size": exportPageSize, "total_documents": docs,
		"has_more": page*exportPageSize < docs, "documents": out,
	}}
}

// --- running on loopback ------------------------------------------------------

// DataVaultServer is a DataVault service listening on loopback.
type DataVaultServer struct {
	URL string // http://127.0.0.1:port
	srv *http.Server
	ln  net.Listener
}

// StartDataVault serves NewDataVault(o) on 127.0.0.1 at a free port until
// Close.
func StartDataVault(o DataVaultOptions) (*DataVaultServer, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("listen on loopback: %w", err)
	}
	s := &DataVaultServer{
		URL: "http://" + ln.Addr().String(),
		srv: &http.Server{Handler: NewDataVault(o), ReadHeaderTimeout: 10 * time.Second},
		ln:  ln,
	}
	go s.srv.Serve(ln)
	return s, nil
}

// Close stops the server, waiting up to five seconds for requests in flight.
func (s *DataVaultServer) Close() error {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := s.srv.Shutdown(ctx); err != nil && !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}
