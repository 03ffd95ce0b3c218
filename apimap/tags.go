package apimap

import (
	"fmt"
	"net/http"
	"slices"
	"strings"
)

// Tag names a function or a sensitivity of an endpoint.
type Tag string

// Function tags. They stack: an endpoint can be admin, export and crud_read
// at once.
const (
	TagAuth      Tag = "auth"
	TagAdmin     Tag = "admin"
	TagExport    Tag = "export"
	TagSearch    Tag = "search"
	TagCRUDRead  Tag = "crud_read"
	TagCRUDWrite Tag = "crud_write"
	TagHealth    Tag = "health"
	TagUpload    Tag = "upload"
	TagGraphQL   Tag = "graphql"
)

// Sensitivity tags.
const (
	SensitivityCredentials Tag = "credentials"
	SensitivityPII         Tag = "pii"
	SensitivityBulk        Tag = "bulk"
)

// Response sizes that count as evidence, in bytes.
const (
	// LargeResponseBytes is the mean response size from which an export
	// endpoint, or one serving personal data, is a bulk-data risk.
	LargeResponseBytes = 100_000
	// HugeResponseBytes is the response size that makes any endpoint an
	// export (discovery.md: "> 1 MB").
	HugeResponseBytes = 1_000_000
)

// EndpointFacts are what tagging looks at.
type EndpointFacts struct {
	Method   string
	Template string
	// QueryParams are the query parameter names seen.
	QueryParams []string
	// PathSensitive are the sensitive kinds seen in raw paths (Result.Sensitive).
	PathSensitive []SegmentKind
	// MeanResponseBytes and MaxResponseBytes describe response sizes; zero
	// when unknown.
	MeanResponseBytes int64
	MaxResponseBytes  int64
}

// Evidence is one tag with the reasons it applies, in a stable order.
type Evidence struct {
	Tag     Tag
	Reasons []string
}

// Classification is the function and sensitivity tags of one endpoint,
// each list sorted by tag.
type Classification struct {
	Functions   []Evidence
	Sensitivity []Evidence
}

// Has reports whether the classification carries tag.
func (c Classification) Has(tag Tag) bool {
	isTag := func(e Evidence) bool { return e.Tag == tag }
	return slices.ContainsFunc(c.Functions, isTag) || slices.ContainsFunc(c.Sensitivity, isTag)
}

// Word lists. They are generic vocabulary (discovery.md §5), matched against
// the words of each literal segment after splitting on - _ . and camelCase,
// in singular form, and against pairs of adjacent words run together
// (sign-in matches signin).
var (
	healthWords = wordSet("health healthz healthcheck livez liveness readyz readiness ping status metrics actuator heartbeat alive")
	authWords   = wordSet("auth authenticate authentication login logout signin signout signup register token oauth oauth2 oidc openid " +
		"authorize authorization callback sso saml session password reset forgot mfa 2fa otp totp verify verification refresh passkey webauthn")
	adminWords = wordSet("admin administrator internal manage management console debug ops sudo impersonate impersonation superuser superadmin backoffice")
	// adminObjectWords are admin only when no parameter precedes them:
	// /settings is the system's, /users/{id}/settings a user's.
	adminObjectWords = wordSet("system config configuration settings")
	exportWords      = wordSet("export download dump backup bulk batch report all")
	searchWords      = wordSet("search query find filter lookup autocomplete suggest suggestion typeahead")
	uploadWords      = wordSet("upload import attachment avatar multipart")
	graphqlWords     = wordSet("graphql gql graphiql")
	piiWords         = wordSet("user customer account profile member patient employee contact person people address applicant " +
		"student passenger guest subscriber identity me billing payment card kyc passport ssn")

	searchParams    = wordSet("q query filter search keyword term")
	passwordParams  = wordSet("password passwd pwd")
	credentialWords = wordSet("password passwd pwd secret token apikey sessionid sid jwt pin otp credential")
	// credentialParams are compared with separators removed (api_key,
	// apiKey and api-key are all apikey).
	credentialParams = wordSet("key apikey accesskey secretkey privatekey clientsecret sessionid auth authorization signature")
	// notCredentialWords mark tokens that page through results, not ones
	// that authenticate (page_token, nextToken).
	notCredentialWords = wordSet("page next continuation cursor sync pagination")
	piiParams          = wordSet("email mail phone mobile msisdn ssn dob birthdate birthday date_of_birth address street zip zipcode " +
		"postcode postal_code first_name last_name full_name firstname lastname surname passport national_id tax_id iban card_number account_number")
)

func wordSet(words string) map[string]struct{} {
	set := make(map[string]struct{})
	for _, w := range strings.Fields(words) {
		set[w] = struct{}{}
	}
	return set
}

// ClassifyEndpoint derives function and sensitivity tags, each with the
// evidence behind it, following the tables of discovery.md §5:
//
//	health      a health word (healthz, ping, status, metrics...) on GET/HEAD, no parameter
//	auth        an auth word (login, token, oauth, password, reset, mfa...), or a password query parameter
//	admin       an admin word (admin, internal, console, debug, sudo...), or system/config/settings before any parameter
//	export      an export word (export, download, dump, backup, bulk, batch, report, all), or a response over 1 MB
//	search      a search word (search, lookup, autocomplete...), or a q/query/filter/search query parameter
//	upload      an upload word (upload, import, attachment, avatar) on POST/PUT/PATCH
//	graphql     a graphql segment
//	crud_read   GET or HEAD: a list on a collection, a read on an item
//	crud_write  POST (create), PUT or PATCH (update), DELETE (delete)
//
//	credentials credential query parameters (password, token, api_key...; not page tokens),
//	            a JWT in the path, or an auth endpoint
//	pii         personal data in the path (e-mail, phone, SSN, card, IP), a
//	            personal-data collection (users, customers, accounts...), or personal query parameters
//	bulk        an export, or a large mean response (>= 100 KB), that also serves personal data;
//	            or an export with large responses
func ClassifyEndpoint(f EndpointFacts) Classification {
	method := strings.ToUpper(f.Method)
	segs := literalSegments(f.Template)
	var fn, sens tagger

	if method == http.MethodGet || method == http.MethodHead {
		if !strings.Contains(f.Template, "{") {
			fn.words(TagHealth, segs, healthWords, nil)
		}
	}
	fn.words(TagAuth, segs, authWords, nil)
	for _, p := range f.QueryParams {
		if _, ok := passwordParams[strings.ToLower(p)]; ok {
			fn.add(TagAuth, fmt.Sprintf("query parameter %q", p))
		}
	}
	fn.words(TagAdmin, segs, adminWords, nil)
	fn.words(TagAdmin, segs, adminObjectWords, func(s literalSeg) bool { return !s.afterParam })
	fn.words(TagExport, segs, exportWords, nil)
	if f.MaxResponseBytes > HugeResponseBytes {
		fn.add(TagExport, "largest response "+formatBytes(f.MaxResponseBytes)+" exceeds 1 MB")
	}
	fn.words(TagSearch, segs, searchWords, nil)
	for _, p := range f.QueryParams {
		if _, ok := searchParams[strings.ToLower(p)]; ok {
			fn.add(TagSearch, fmt.Sprintf("query parameter %q", p))
		}
	}
	if method == http.MethodPost || method == http.MethodPut || method == http.MethodPatch {
		fn.words(TagUpload, segs, uploadWords, nil)
	}
	fn.words(TagGraphQL, segs, graphqlWords, nil)
	switch method {
	case http.MethodGet, http.MethodHead:
		if strings.HasSuffix(f.Template, "}") {
			fn.add(TagCRUDRead, method+" on an item (read)")
		} else {
			fn.add(TagCRUDRead, method+" on a collection (list)")
		}
	case http.MethodPost:
		fn.add(TagCRUDWrite, "POST (create)")
	case http.MethodPut, http.MethodPatch:
		fn.add(TagCRUDWrite, method+" (update)")
	case http.MethodDelete:
		fn.add(TagCRUDWrite, "DELETE (delete)")
	}

	for _, p := range f.QueryParams {
		if isCredentialParam(p) {
			sens.add(SensitivityCredentials, fmt.Sprintf("query parameter %q", p))
		}
	}
	for _, k := range f.PathSensitive {
		if k == KindJWT {
			sens.add(SensitivityCredentials, "JWT in the path")
		} else if k.Sensitive() {
			sens.add(SensitivityPII, k.String()+" in the path")
		}
	}
	if fn.has(TagAuth) {
		sens.add(SensitivityCredentials, "auth endpoint")
	}
	sens.words(SensitivityPII, segs, piiWords, nil)
	for _, p := range f.QueryParams {
		if _, ok := piiParams[strings.ToLower(p)]; ok {
			sens.add(SensitivityPII, fmt.Sprintf("query parameter %q", p))
		}
	}
	large := f.MeanResponseBytes >= LargeResponseBytes
	switch {
	case fn.has(TagExport) && sens.has(SensitivityPII):
		sens.add(SensitivityBulk, "export of personal data")
	case large && sens.has(SensitivityPII):
		sens.add(SensitivityBulk, "personal data in responses of "+formatBytes(f.MeanResponseBytes)+" on average")
	case large && fn.has(TagExport):
		sens.add(SensitivityBulk, "export responses of "+formatBytes(f.MeanResponseBytes)+" on average")
	}
	return Classification{Functions: fn.sorted(), Sensitivity: sens.sorted()}
}

// literalSeg is a literal segment of a template with its lowercase words.
type literalSeg struct {
	text       string
	words      []string
	afterParam bool
}

func literalSegments(template string) []literalSeg {
	var out []literalSeg
	afterParam := false
	for seg := range strings.SplitSeq(template, "/") {
		if seg == "" {
			continue
		}
		if strings.ContainsAny(seg, "{}") {
			afterParam = true
			continue
		}
		ls := literalSeg{text: seg, afterParam: afterParam}
		forEachToken(seg, func(tok string) bool {
			ls.words = append(ls.words, strings.ToLower(tok))
			return true
		})
		out = append(out, ls)
	}
	return out
}

// isCredentialParam reports whether a query parameter name carries a
// credential: api_key, access_token, password, sessionid and the like, but
// not a paging token such as page_token or nextToken.
func isCredentialParam(name string) bool {
	squashed := strings.ToLower(strings.NewReplacer("_", "", "-", "", ".", "").Replace(name))
	if _, ok := credentialParams[squashed]; ok {
		return true
	}
	credential := false
	forEachToken(name, func(tok string) bool {
		tok = strings.ToLower(tok)
		if _, ok := notCredentialWords[tok]; ok {
			credential = false
			return false
		}
		if _, ok := credentialWords[tok]; ok {
			credential = true
		}
		return true
	})
	return credential
}

// tagger collects evidence per tag.
type tagger struct {
	evidence []Evidence
}

func (t *tagger) add(tag Tag, reason string) {
	for i := range t.evidence {
		if t.evidence[i].Tag == tag {
			if !slices.Contains(t.evidence[i].Reasons, reason) {
				t.evidence[i].Reasons = append(t.evidence[i].Reasons, reason)
			}
			return
		}
	}
	t.evidence = append(t.evidence, Evidence{Tag: tag, Reasons: []string{reason}})
}

func (t *tagger) has(tag Tag) bool {
	return slices.ContainsFunc(t.evidence, func(e Evidence) bool { return e.Tag == tag })
}

// words tags segments that contain a word of set, or two adjacent words
// that together are one, when keep (if any) accepts the segment.
func (t *tagger) words(tag Tag, segs []literalSeg, set map[string]struct{}, keep func(literalSeg) bool) {
	for _, s := range segs {
		if keep != nil && !keep(s) {
			continue
		}
		if inWordSet(set, s.words) {
			t.add(tag, fmt.Sprintf("path segment %q", s.text))
		}
	}
}

func inWordSet(set map[string]struct{}, words []string) bool {
	for i, w := range words {
		if _, ok := set[w]; ok {
			return true
		}
		if _, ok := set[singular(w)]; ok {
			return true
		}
		if i > 0 {
			if _, ok := set[words[i-1]+w]; ok {
				return true
			}
		}
	}
	return false
}

func (t *tagger) sorted() []Evidence {
	slices.SortFunc(t.evidence, func(a, b Evidence) int { return strings.Compare(string(a.Tag), string(b.Tag)) })
	return t.evidence
}

// formatBytes writes a size in decimal units: 187 KB, 2.1 MB.
func formatBytes(n int64) string {
	switch {
	case n >= 1_000_000:
		return fmt.Sprintf("%.1f MB", float64(n)/1e6)
	case n >= 1_000:
		return fmt.Sprintf("%.0f KB", float64(n)/1e3)
	}
	return fmt.Sprintf("%d B", n)
}
