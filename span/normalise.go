package span

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"net/netip"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/ptrace"
)

// KeyAttribute names an attribute that carries the caller's credential or
// identity. When Secret is set the value is a credential: only a keyed hash
// of it is stored, and the attribute itself is redacted.
type KeyAttribute struct {
	Name   string `yaml:"name" json:"name"`
	Secret bool   `yaml:"secret" json:"secret"`
}

// DefaultKeyAttributes is the credential/identity lookup order used when the
// configuration names none: an application-provided key id first, then the
// raw credential headers that HTTP header capture records, then the end user.
func DefaultKeyAttributes() []KeyAttribute {
	return []KeyAttribute{
		{Name: "app.api_key_id"},
		{Name: "api_key.id"},
		{Name: "http.request.header.x-api-key", Secret: true},
		{Name: "http.request.header.authorization", Secret: true},
		{Name: "enduser.id"},
	}
}

// DefaultRedactedParams are query parameters whose values are credentials
// often passed in URLs; they are masked in http_target, http_query and the
// URL attributes.
func DefaultRedactedParams() []string {
	return []string{"api_key", "apikey", "api-key", "key", "access_token", "token", "auth", "password", "passwd", "secret", "client_secret", "signature", "sig", "session", "sessionid"}
}

// Redacted replaces a credential value in stored attributes and URLs.
const Redacted = "[REDACTED]"

// alwaysSecret are attributes that hold credentials whether or not they are
// configured as key attributes; their values are never stored.
var alwaysSecret = map[string]bool{
	"http.request.header.authorization":       true,
	"http.request.header.proxy-authorization": true,
	"http.request.header.cookie":              true,
	"http.request.header.x-api-key":           true,
	"http.response.header.set-cookie":         true,
}

// Options configure a Normaliser.
type Options struct {
	// KeyAttributes in order of preference; nil means DefaultKeyAttributes.
	KeyAttributes []KeyAttribute
	// HashKey keys the hash that turns a secret into api_key_id. It must be
	// stable across restarts for ids to stay comparable.
	HashKey []byte
	// RedactParams lists query parameter names masked in URLs; nil means
	// DefaultRedactedParams, an empty non-nil slice disables URL redaction.
	RedactParams []string
}

// Normaliser turns OTLP trace data into Spans. It is safe for concurrent use.
type Normaliser struct {
	keys         []KeyAttribute
	hashKey      []byte
	redactParams map[string]bool
	// roles says, for each attribute name that matters, everything the
	// normaliser does with it, so that each attribute costs one lookup.
	roles map[string]role
}

// role is what an attribute name means to the normaliser.
type role struct {
	alias    alias // the typed column it fills (hasAlias)
	hasAlias bool
	sock     uint8 // rank among the socket-peer names (hasSock)
	hasSock  bool
	key      int  // index in keys, or -1
	secret   bool // its value is a credential: never stored
	url      byte // 'q' for a bare query, 'u' for a URL or path?query
}

// NewNormaliser returns a Normaliser for opts.
func NewNormaliser(opts Options) *Normaliser {
	n := &Normaliser{keys: opts.KeyAttributes, hashKey: opts.HashKey}
	if n.keys == nil {
		n.keys = DefaultKeyAttributes()
	}
	n.roles = make(map[string]role, len(aliases)+len(n.keys)+len(alwaysSecret))
	get := func(name string) role {
		if r, ok := n.roles[name]; ok {
			return r
		}
		return role{key: -1}
	}
	for name, a := range aliases {
		r := get(name)
		r.alias, r.hasAlias = a, true
		n.roles[name] = r
	}
	for name, rank := range sockAliases {
		r := get(name)
		r.sock, r.hasSock = rank, true
		n.roles[name] = r
	}
	for name := range alwaysSecret {
		r := get(name)
		r.secret = true
		n.roles[name] = r
	}
	for i, k := range n.keys {
		r := get(k.Name)
		if r.key < 0 {
			r.key = i
			r.secret = r.secret || k.Secret
		}
		n.roles[k.Name] = r
	}
	for name, kind := range map[string]byte{"url.query": 'q', "http.target": 'u', "url.full": 'u', "http.url": 'u'} {
		r := get(name)
		r.url = kind
		n.roles[name] = r
	}
	params := opts.RedactParams
	if params == nil {
		params = DefaultRedactedParams()
	}
	n.redactParams = make(map[string]bool, len(params))
	for _, p := range params {
		n.redactParams[strings.ToLower(p)] = true
	}
	return n
}

// field is a typed column filled from one of several attribute names.
type field uint8

const (
	fMethod field = iota
	fPath
	fQuery
	fTarget
	fURL
	fRoute
	fStatus
	fPeer
	fSockPeer
	fServer
	fUA
	fReqBytes
	fRespBytes
	fUser
	nFields
)

// maxRank bounds the number of alias names per field.
const maxRank = 6

type alias struct {
	f    field
	rank uint8
}

// aliases maps attribute names of the stable and the legacy HTTP semantic
// conventions to the column they fill; a lower rank wins when several are set.
var aliases = map[string]alias{
	"http.request.method": {fMethod, 0},
	"http.method":         {fMethod, 1},

	"url.path":    {fPath, 0},
	"url.query":   {fQuery, 0},
	"http.target": {fTarget, 0},
	"url.full":    {fURL, 0},
	"http.url":    {fURL, 1},

	"http.route": {fRoute, 0},

	"http.response.status_code": {fStatus, 0},
	"http.status_code":          {fStatus, 1},

	"client.address":       {fPeer, 0},
	"http.client_ip":       {fPeer, 1},
	"net.sock.peer.addr":   {fPeer, 2},
	"net.peer.ip":          {fPeer, 3},
	"network.peer.address": {fPeer, 4},

	"server.address":   {fServer, 0},
	"net.host.name":    {fServer, 1},
	"http.server_name": {fServer, 2},
	"http.host":        {fServer, 3},

	"user_agent.original": {fUA, 0},
	"http.user_agent":     {fUA, 1},

	"http.request.body.size":             {fReqBytes, 0},
	"http.request_content_length":        {fReqBytes, 1},
	"http.request.header.content-length": {fReqBytes, 2},
	"http.read_bytes":                    {fReqBytes, 3},

	"http.response.body.size":             {fRespBytes, 0},
	"http.response_content_length":        {fRespBytes, 1},
	"http.response.header.content-length": {fRespBytes, 2},
	"http.wrote_bytes":                    {fRespBytes, 3},

	"enduser.id": {fUser, 0},
}

// sockAliases fill net_peer_ip, the socket peer, in their own order.
var sockAliases = map[string]uint8{
	"network.peer.address": 0,
	"net.sock.peer.addr":   1,
	"net.peer.ip":          2,
}

// scratch collects candidate column values while one span's attributes are read.
type scratch struct {
	vals [nFields][maxRank]string
	idx  [nFields][maxRank]int // index of the attribute in SpanAttributes, +1
	src  [nFields]int          // index+1 of the attribute pick chose
	key  string
	keyR int
}

func (s *scratch) reset() {
	*s = scratch{keyR: -1}
}

// pick returns the value of the best-ranked attribute set for f and
// remembers which attribute it was.
func (s *scratch) pick(f field) string {
	for r, v := range s.vals[f] {
		if v != "" {
			s.src[f] = s.idx[f][r]
			return v
		}
	}
	return ""
}

// Append normalises every span of td and appends it to dst.
func (n *Normaliser) Append(dst []Span, td ptrace.Traces) []Span {
	var sc scratch
	var slab []Attr
	rss := td.ResourceSpans()
	for i := 0; i < rss.Len(); i++ {
		rs := rss.At(i)
		res := rs.Resource().Attributes()
		resAttrs := make([]Attr, 0, res.Len())
		service := ""
		for k, v := range res.All() {
			ro, known := n.roles[k]
			if !known {
				ro.key = -1
			}
			val := n.storedValue(ro, v)
			if k == "service.name" {
				service = val
			}
			resAttrs = append(resAttrs, Attr{Key: clean(k), Value: val})
		}
		sss := rs.ScopeSpans()
		for j := 0; j < sss.Len(); j++ {
			spans := sss.At(j).Spans()
			for k := 0; k < spans.Len(); k++ {
				dst = append(dst, Span{})
				n.normalise(&dst[len(dst)-1], spans.At(k), service, resAttrs, &sc, &slab)
			}
		}
	}
	return dst
}

// slabAttrs is how many attributes Append allocates at once, for several
// spans: one allocation instead of one per span.
const slabAttrs = 4096

// normalise fills out from ps. Its attribute slice is cut from *slab.
func (n *Normaliser) normalise(out *Span, ps ptrace.Span, service string, resAttrs []Attr, sc *scratch, slab *[]Attr) {
	sc.reset()
	start, end := ps.StartTimestamp(), ps.EndTimestamp()
	out.Timestamp = time.Unix(0, int64(start)).UTC()
	if end > start {
		out.DurationNS = uint64(end - start)
	}
	out.TraceID, out.SpanID, out.ParentSpanID = hexIDs(ps)
	out.ServiceName = service
	out.SpanName = clean(ps.Name())
	out.SpanKind = kindName(ps.Kind())
	out.OtelStatus = statusName(ps.Status().Code())
	out.ResourceAttributes = resAttrs

	attrs := ps.Attributes()
	m := attrs.Len()
	if cap(*slab)-len(*slab) < m {
		*slab = make([]Attr, 0, max(m, slabAttrs))
	}
	// Capped at m, so that appending never reaches the next span's attributes.
	at := len(*slab)
	out.SpanAttributes = (*slab)[at : at : at+m]
	*slab = (*slab)[:at+m]
	for k, v := range attrs.All() {
		ro, known := n.roles[k]
		var val string
		if known {
			if ro.key >= 0 && (sc.keyR < 0 || ro.key < sc.keyR) {
				if id := n.keyID(n.keys[ro.key], v); id != "" {
					sc.key, sc.keyR = id, ro.key
				}
			}
			val = n.storedValue(ro, v)
			i := len(out.SpanAttributes) + 1
			if ro.hasAlias {
				sc.vals[ro.alias.f][ro.alias.rank], sc.idx[ro.alias.f][ro.alias.rank] = val, i
			}
			if ro.hasSock {
				sc.vals[fSockPeer][ro.sock], sc.idx[fSockPeer][ro.sock] = val, i
			}
		} else {
			val = clean(v.AsString())
		}
		out.SpanAttributes = append(out.SpanAttributes, Attr{Key: clean(k), Value: val})
	}
	out.APIKeyID = sc.key
	if ps.Kind() != ptrace.SpanKindServer {
		return
	}
	defer n.dropPromoted(out, sc)
	out.HTTPMethod = sc.pick(fMethod)
	out.HTTPRoute = sc.pick(fRoute)
	path, query := sc.pick(fPath), sc.pick(fQuery)
	if path == "" {
		target := sc.pick(fTarget)
		if target == "" {
			target = pathOfURL(sc.pick(fURL))
		}
		path, query, _ = strings.Cut(target, "?")
	}
	out.HTTPPath = path
	out.HTTPQuery = n.redactQuery(query)
	out.HTTPTarget = path
	if out.HTTPQuery != "" {
		out.HTTPTarget = path + "?" + out.HTTPQuery
	}
	out.StatusCode = parseStatus(sc.pick(fStatus))
	out.PeerIP = hostOnly(sc.pick(fPeer))
	out.NetPeerIP = hostOnly(sc.pick(fSockPeer))
	out.ServerAddress = hostOnly(sc.pick(fServer))
	out.UserAgent = sc.pick(fUA)
	out.RequestBytes = parseSize(sc.pick(fReqBytes))
	out.ResponseBytes = parseSize(sc.pick(fRespBytes))
	out.UserID = sc.pick(fUser)
}

// storedValue is the value kept in the attribute maps: stringified, valid
// UTF-8, with credentials redacted.
func (n *Normaliser) storedValue(ro role, v pcommon.Value) string {
	if ro.secret {
		return Redacted
	}
	s := clean(v.AsString())
	switch ro.url {
	case 'q':
		return n.redactQuery(s)
	case 'u':
		return n.redactURL(s)
	}
	return s
}

// dropPromoted removes from a server span's attributes those whose value
// now lives, unchanged, in a typed column: PRODUCT.md keeps "the rest" in
// the maps. An attribute the column does not reproduce exactly (a losing
// alias, an unparsable status, a URL) stays, and so do redaction markers,
// which record that a credential was present.
func (n *Normaliser) dropPromoted(out *Span, sc *scratch) {
	var drop [nFields]bool
	same := func(f field, typed string) {
		if i := sc.src[f]; i > 0 && out.SpanAttributes[i-1].Value == typed {
			drop[f] = true
		}
	}
	var num [20]byte
	sameInt := func(f field, typed int64) {
		// string(bytes) in a comparison does not allocate.
		if i := sc.src[f]; i > 0 && out.SpanAttributes[i-1].Value == string(strconv.AppendInt(num[:0], typed, 10)) {
			drop[f] = true
		}
	}
	same(fMethod, out.HTTPMethod)
	same(fRoute, out.HTTPRoute)
	same(fPath, out.HTTPPath)
	same(fQuery, out.HTTPQuery)
	same(fTarget, out.HTTPTarget)
	sameInt(fStatus, int64(out.StatusCode))
	same(fPeer, out.PeerIP)
	same(fSockPeer, out.NetPeerIP)
	same(fServer, out.ServerAddress)
	same(fUA, out.UserAgent)
	sameInt(fReqBytes, out.RequestBytes)
	sameInt(fRespBytes, out.ResponseBytes)
	same(fUser, out.UserID)
	var remove [nFields + 1]int
	k := 0
	for f := range nFields {
		if drop[f] && out.SpanAttributes[sc.src[f]-1].Value != Redacted {
			remove[k] = sc.src[f] - 1
			k++
		}
	}
	if k == 0 {
		return
	}
	kept := out.SpanAttributes[:0]
	for i, a := range out.SpanAttributes {
		if !contains(remove[:k], i) {
			kept = append(kept, a)
		}
	}
	out.SpanAttributes = kept
}

func contains(xs []int, x int) bool {
	for _, v := range xs {
		if v == x {
			return true
		}
	}
	return false
}

// keyID derives api_key_id from a key attribute: the value itself for ids,
// a keyed hash for secrets.
func (n *Normaliser) keyID(k KeyAttribute, v pcommon.Value) string {
	raw := v.AsString()
	if v.Type() == pcommon.ValueTypeSlice {
		if v.Slice().Len() == 0 {
			return ""
		}
		raw = v.Slice().At(0).AsString()
	}
	raw = strings.TrimSpace(raw)
	if raw == "" {
		return ""
	}
	if !k.Secret {
		return clean(raw)
	}
	if scheme, cred, ok := strings.Cut(raw, " "); ok && isAuthScheme(scheme) {
		raw = strings.TrimSpace(cred)
	}
	return n.HashSecret(raw)
}

// HashSecret returns the stored id of a credential: "key_" and the first 16
// hex digits of its HMAC-SHA256 under the normaliser's hash key.
func (n *Normaliser) HashSecret(secret string) string {
	m := hmac.New(sha256.New, n.hashKey)
	m.Write([]byte(secret))
	return "key_" + hex.EncodeToString(m.Sum(nil)[:8])
}

func isAuthScheme(s string) bool {
	switch strings.ToLower(s) {
	case "bearer", "basic", "token", "apikey", "api-key", "digest":
		return true
	}
	return false
}

// redactURL masks credential query parameters in a URL or a path?query.
func (n *Normaliser) redactURL(u string) string {
	base, query, ok := strings.Cut(u, "?")
	if !ok {
		return u
	}
	return base + "?" + n.redactQuery(query)
}

// redactQuery masks the values of credential parameters in a raw query.
// Queries without such parameters are returned unchanged, without copying.
func (n *Normaliser) redactQuery(q string) string {
	if q == "" || len(n.redactParams) == 0 || !n.hasSecretParam(q) {
		return q
	}
	parts := strings.Split(q, "&")
	for i, part := range parts {
		if name, _, ok := strings.Cut(part, "="); ok && n.redactParams[strings.ToLower(name)] {
			parts[i] = name + "=" + Redacted
		}
	}
	return strings.Join(parts, "&")
}

func (n *Normaliser) hasSecretParam(q string) bool {
	for rest := q; rest != ""; {
		var part string
		part, rest, _ = strings.Cut(rest, "&")
		if name, _, ok := strings.Cut(part, "="); ok && n.redactParams[strings.ToLower(name)] {
			return true
		}
	}
	return false
}

// pathOfURL returns the path?query part of an absolute URL.
func pathOfURL(u string) string {
	if u == "" {
		return ""
	}
	if i := strings.Index(u, "://"); i >= 0 {
		rest := u[i+3:]
		if j := strings.IndexAny(rest, "/?"); j >= 0 {
			rest = rest[j:]
			if rest[0] == '?' {
				return "/" + rest
			}
			return cutFragment(rest)
		}
		return "/"
	}
	return cutFragment(u)
}

func cutFragment(s string) string {
	s, _, _ = strings.Cut(s, "#")
	return s
}

// hostOnly strips a port and IPv6 brackets from an address when it parses as
// host:port; anything else is returned as it came.
func hostOnly(s string) string {
	if !strings.Contains(s, ":") { // a name or an IPv4 address, without a port
		return s
	}
	if _, err := netip.ParseAddr(s); err == nil {
		return s
	}
	if ap, err := netip.ParseAddrPort(s); err == nil {
		return ap.Addr().String()
	}
	if i := strings.LastIndexByte(s, ':'); i > 0 && !strings.Contains(s[:i], ":") {
		if _, err := strconv.ParseUint(s[i+1:], 10, 16); err == nil {
			return s[:i]
		}
	}
	return s
}

func parseStatus(s string) uint16 {
	v, err := strconv.ParseUint(strings.TrimSpace(s), 10, 16)
	if err != nil || v > 999 {
		return 0
	}
	return uint16(v)
}

func parseSize(s string) int64 {
	s = strings.TrimSpace(strings.Trim(s, `[]"`))
	if s == "" {
		return 0
	}
	v, err := strconv.ParseInt(s, 10, 64)
	if err != nil || v < 0 {
		return 0
	}
	return v
}

// clean makes s valid UTF-8, replacing invalid bytes, so that every stored
// string can be read back by any client.
func clean(s string) string {
	if utf8.ValidString(s) {
		return s
	}
	return strings.ToValidUTF8(s, "\uFFFD")
}

// hexIDs returns the span's trace, span and parent span IDs in hex ("" for
// an empty one), the three in one allocation.
func hexIDs(ps ptrace.Span) (trace, span, parent string) {
	tid, sid, pid := ps.TraceID(), ps.SpanID(), ps.ParentSpanID()
	var buf [64]byte
	n := 0
	if !tid.IsEmpty() {
		n += hex.Encode(buf[n:], tid[:])
	}
	if !sid.IsEmpty() {
		n += hex.Encode(buf[n:], sid[:])
	}
	if !pid.IsEmpty() {
		n += hex.Encode(buf[n:], pid[:])
	}
	all := string(buf[:n])
	if !tid.IsEmpty() {
		trace, all = all[:32], all[32:]
	}
	if !sid.IsEmpty() {
		span, all = all[:16], all[16:]
	}
	if !pid.IsEmpty() {
		parent = all[:16]
	}
	return trace, span, parent
}

func kindName(k ptrace.SpanKind) string {
	switch k {
	case ptrace.SpanKindServer:
		return KindServer
	case ptrace.SpanKindClient:
		return KindClient
	case ptrace.SpanKindInternal:
		return KindInternal
	case ptrace.SpanKindProducer:
		return KindProducer
	case ptrace.SpanKindConsumer:
		return KindConsumer
	}
	return KindUnspecified
}

func statusName(c ptrace.StatusCode) string {
	switch c {
	case ptrace.StatusCodeOk:
		return "Ok"
	case ptrace.StatusCodeError:
		return "Error"
	}
	return "Unset"
}
