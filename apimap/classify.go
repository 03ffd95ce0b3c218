package apimap

import (
	"encoding/base64"
	"net/netip"
	"strings"
	"unicode/utf8"
)

// SegmentKind says what one path segment looks like. Every kind other than
// KindLiteral makes the segment a path parameter.
type SegmentKind uint8

// The segment kinds. ClassifySegment returns KindLiteral through KindCard;
// the Templater adds KindSlug (literal slugs collapsed by the cardinality trie)
// and KindString (a parameter position that held values of several kinds).
const (
	KindLiteral  SegmentKind = iota // a fixed path segment
	KindInt                         // two or more decimal digits
	KindUUID                        // a UUID of any version, dashed or 32 hex digits
	KindObjectID                    // a MongoDB ObjectId: 24 hex digits
	KindULID                        // a ULID: 26 Crockford base32 characters
	KindHex                         // a hash or hex id: 6 or more hex digits with a digit
	KindDate                        // YYYY-MM-DD (optionally with a time), or a 10/13-digit epoch
	KindAlnumID                     // an identifier mixing letters, digits and - _ .
	KindToken                       // 20 or more characters, or characters no resource name uses
	KindEmail                       // an e-mail address (sensitive)
	KindIP                          // an IPv4 or IPv6 address (sensitive)
	KindJWT                         // a JSON Web Token (sensitive)
	KindPhone                       // a phone number: +E.164 or a formatted number (sensitive)
	KindSSN                         // a US social security number NNN-NN-NNNN (sensitive)
	KindCard                        // a payment card number passing Luhn (sensitive)
	KindSlug                        // a literal collapsed into a parameter by sibling cardinality
	KindString                      // a parameter whose values have several kinds

	kindCount
)

var kindNames = [kindCount]string{
	KindLiteral:  "literal",
	KindInt:      "int",
	KindUUID:     "uuid",
	KindObjectID: "objectid",
	KindULID:     "ulid",
	KindHex:      "hex",
	KindDate:     "date",
	KindAlnumID:  "alnum_id",
	KindToken:    "token",
	KindEmail:    "email",
	KindIP:       "ip",
	KindJWT:      "jwt",
	KindPhone:    "phone",
	KindSSN:      "ssn",
	KindCard:     "card",
	KindSlug:     "slug",
	KindString:   "string",
}

// String returns the kind's snake_case name, as used in JSON.
func (k SegmentKind) String() string {
	if k < kindCount {
		return kindNames[k]
	}
	return "unknown"
}

// MarshalText encodes the kind as its name.
func (k SegmentKind) MarshalText() ([]byte, error) { return []byte(k.String()), nil }

// UnmarshalText decodes a kind from its name.
func (k *SegmentKind) UnmarshalText(text []byte) error {
	return unmarshalName(k, text, KindLiteral, kindCount-1, "segment kind")
}

// IsParam reports whether a segment of this kind is a path parameter.
func (k SegmentKind) IsParam() bool { return k != KindLiteral }

// Sensitive reports whether a value of this kind in a URL path is personal
// data or a credential, which the API map reports as "sensitive data in path".
func (k SegmentKind) Sensitive() bool {
	switch k {
	case KindEmail, KindIP, KindJWT, KindPhone, KindSSN, KindCard:
		return true
	}
	return false
}

// ClassifySegment classifies one decoded path segment without looking at any
// other segment. It never returns KindSlug or KindString.
//
// The rules apply in this order, and the first that matches wins:
//   - reserved words stay literal: "api", v1..v99, and N.N versions;
//   - all digits: a single digit stays literal (the Templater may still make it
//     a parameter when its siblings are numbers), a 10- or 13-digit number
//     starting with 1 is an epoch date, a card number with a known issuer prefix
//     passing Luhn is a card, anything else is an int;
//   - UUID, ObjectId, ULID, date, SSN, card with separators, phone, JWT,
//     e-mail, IP address;
//   - dictionary words stay literal: up to three words split on - _ . and
//     camelCase, each a known English or API word (plurals and -ing/-ed forms
//     included), or a version, or a number of at most two digits;
//   - hex ids, prefixed ids such as Stripe's cus_NffrFeUfNV2Hib, digit groups
//     such as 123-456, and Akto's alphanumeric rule (length >= 6, >= 3 digits,
//     >= 1 letter);
//   - tokens: 20 characters or more, or containing % & ' ( ) * + , : = @ or
//     characters no resource name uses (space, control, ? # { } and others);
//   - everything else is a literal; the Templater's cardinality trie decides
//     whether such a slug is a parameter.
func ClassifySegment(seg string) SegmentKind {
	return classify(seg).kind
}

// segClass is the classifier's full answer. For literals it also says why the
// segment is literal, which the cardinality trie and parameter naming use.
type segClass struct {
	kind SegmentKind
	// word is set for literals made of dictionary words: the trie never
	// collapses them on sibling shape alone.
	word bool
	// reserved is set for "api", vN and N.N: such segments are never
	// parameters and a run of them at the start of a path is a prefix, not a
	// resource.
	reserved bool
	// digit is set for a single decimal digit.
	digit bool
}

func classify(seg string) segClass {
	n := len(seg)
	if n == 0 {
		return segClass{kind: KindLiteral}
	}
	if isReserved(seg) {
		return segClass{kind: KindLiteral, reserved: true, word: true}
	}
	var st segStats
	st.scan(seg)

	if st.digits == n {
		switch {
		case n == 1:
			return segClass{kind: KindLiteral, digit: true}
		case (n == 10 || n == 13) && seg[0] == '1':
			return segClass{kind: KindDate}
		case n >= 13 && n <= 19 && isCardNumber(seg):
			return segClass{kind: KindCard}
		}
		return segClass{kind: KindInt}
	}
	if st.hexOnly() {
		switch {
		case n == 32:
			return segClass{kind: KindUUID}
		case n == 24:
			return segClass{kind: KindObjectID}
		}
	}
	if n == 36 && isDashedUUID(seg) {
		return segClass{kind: KindUUID}
	}
	if n == 26 && isULID(seg) {
		return segClass{kind: KindULID}
	}
	if isDate(seg) {
		return segClass{kind: KindDate}
	}
	if st.digitsAndSeparators() {
		switch {
		case isSSN(seg):
			return segClass{kind: KindSSN}
		case isCardNumber(seg):
			return segClass{kind: KindCard}
		case isPhone(seg, st.digits):
			return segClass{kind: KindPhone}
		}
	}
	if strings.HasPrefix(seg, "eyJ") && isJWT(seg) {
		return segClass{kind: KindJWT}
	}
	if st.at == 1 && isEmail(seg) {
		return segClass{kind: KindEmail}
	}
	if (st.dot == 3 || st.colon >= 2) && isIP(seg) {
		return segClass{kind: KindIP}
	}
	if !st.special && isDictionarySegment(seg) {
		return segClass{kind: KindLiteral, word: true}
	}
	if st.digits > 0 {
		switch {
		case st.hexOnly() && n >= 6:
			return segClass{kind: KindHex}
		case isPrefixedID(seg):
			return segClass{kind: KindAlnumID}
		case st.letters == 0 && st.other == 0 && n >= 3:
			// DataDog's int_id: digits with . _ - such as 123-456 or 1.2.3.
			return segClass{kind: KindAlnumID}
		case st.hexLetters == st.letters && st.other == 0 && n >= 6:
			// DataDog's hex_id: hex digits with . _ -, such as a1b2-c3d4.
			return segClass{kind: KindHex}
		case n >= 6 && st.digits >= 3 && st.letters >= 1 && st.other == 0:
			return segClass{kind: KindAlnumID}
		}
	}
	if n >= 20 || st.special {
		return segClass{kind: KindToken}
	}
	return segClass{kind: KindLiteral}
}

// segStats counts the character classes of a segment in one pass.
type segStats struct {
	digits, letters, hexLetters, upper int
	dot, dash, underscore, colon, at   int
	// other counts bytes that are not letters, digits or . _ -.
	other int
	// special is set when the segment holds a byte no resource name uses:
	// DataDog's %&'()*+,:=@, anything a URL path cannot carry unescaped, and
	// invalid UTF-8 or control characters.
	special bool
}

func (st *segStats) scan(s string) {
	nonASCII := false
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c >= '0' && c <= '9':
			st.digits++
		case c >= 'a' && c <= 'z':
			st.letters++
			if c <= 'f' {
				st.hexLetters++
			}
		case c >= 'A' && c <= 'Z':
			st.letters++
			st.upper++
			if c <= 'F' {
				st.hexLetters++
			}
		case c == '.':
			st.dot++
		case c == '-':
			st.dash++
		case c == '_':
			st.underscore++
		default:
			st.other++
			switch {
			case c == ':':
				st.colon++
				st.special = true
			case c == '@':
				st.at++
				st.special = true
			case c < 0x20 || c == 0x7f || strings.IndexByte(specialBytes, c) >= 0:
				st.special = true
			case c >= utf8.RuneSelf:
				nonASCII = true
			}
		}
	}
	// Valid non-ASCII letters (Zürich) are ordinary; broken encodings are not.
	if nonASCII && !utf8.ValidString(s) {
		st.special = true
	}
}

// specialBytes are the bytes that make a segment a token: DataDog's set plus
// the bytes that cannot appear unescaped in a path, so that no literal in a
// template changes when the template is normalised again.
const specialBytes = "%&'()*+,=@ ?#{}[]<>\"\\|^`"

func (st *segStats) hexOnly() bool {
	return st.letters == st.hexLetters && st.dot+st.dash+st.underscore+st.other == 0
}

func (st *segStats) digitsAndSeparators() bool {
	return st.letters == 0 && st.digits >= 8
}

// isReserved reports whether seg is "api", a short version such as v1 or V12,
// or a dotted version such as 2.0.
func isReserved(seg string) bool {
	switch len(seg) {
	case 3:
		if strings.EqualFold(seg, "api") {
			return true
		}
	}
	if (seg[0] == 'v' || seg[0] == 'V') && (len(seg) == 2 || len(seg) == 3) && allDigits(seg[1:]) {
		return true
	}
	dot := strings.IndexByte(seg, '.')
	return dot > 0 && dot < len(seg)-1 && allDigits(seg[:dot]) && allDigits(seg[dot+1:])
}

func allDigits(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

func isHexByte(c byte) bool {
	return c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F'
}

func isDashedUUID(s string) bool {
	for i := 0; i < len(s); i++ {
		switch i {
		case 8, 13, 18, 23:
			if s[i] != '-' {
				return false
			}
		default:
			if !isHexByte(s[i]) {
				return false
			}
		}
	}
	return true
}

// isULID reports whether s is 26 Crockford base32 characters that start with
// 0-7 (the 48-bit timestamp) and contain a digit, so that no 26-letter word
// qualifies.
func isULID(s string) bool {
	if s[0] < '0' || s[0] > '7' {
		return false
	}
	hasDigit := false
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c >= '0' && c <= '9':
			hasDigit = true
		case c >= 'a' && c <= 'z':
			c -= 'a' - 'A'
			fallthrough
		case c >= 'A' && c <= 'Z':
			if c == 'I' || c == 'L' || c == 'O' || c == 'U' {
				return false
			}
		default:
			return false
		}
	}
	return hasDigit
}

// isDate reports whether s starts with a plausible YYYY-MM-DD date, alone or
// followed by a time (T, space or underscore separator).
func isDate(s string) bool {
	if len(s) < 10 || s[4] != '-' || s[7] != '-' {
		return false
	}
	if !allDigits(s[:4]) || !allDigits(s[5:7]) || !allDigits(s[8:10]) {
		return false
	}
	month := int(s[5]-'0')*10 + int(s[6]-'0')
	day := int(s[8]-'0')*10 + int(s[9]-'0')
	if month < 1 || month > 12 || day < 1 || day > 31 {
		return false
	}
	return len(s) == 10 || s[10] == 'T' || s[10] == 't' || s[10] == ' ' || s[10] == '_'
}

// isSSN reports whether s is NNN-NN-NNNN.
func isSSN(s string) bool {
	return len(s) == 11 && s[3] == '-' && s[6] == '-' &&
		allDigits(s[:3]) && allDigits(s[4:6]) && allDigits(s[7:])
}

// isCardNumber reports whether s, ignoring spaces and dashes, is 13 to 19
// digits with a known issuer prefix and a valid Luhn check digit. Luhn alone
// passes one number in ten, so the issuer prefix is required too.
func isCardNumber(s string) bool {
	var digits [19]byte
	n := 0
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c >= '0' && c <= '9':
			if n == len(digits) {
				return false
			}
			digits[n] = c - '0'
			n++
		case c == ' ' || c == '-':
		default:
			return false
		}
	}
	if n < 13 || !hasIssuerPrefix(digits[:n]) {
		return false
	}
	sum := 0
	for i := 0; i < n; i++ {
		d := int(digits[n-1-i])
		if i%2 == 1 {
			d *= 2
			if d > 9 {
				d -= 9
			}
		}
		sum += d
	}
	return sum%10 == 0
}

func hasIssuerPrefix(d []byte) bool {
	p2 := int(d[0])*10 + int(d[1])
	p4 := p2*100 + int(d[2])*10 + int(d[3])
	n := len(d)
	switch {
	case d[0] == 4: // Visa
		return n == 13 || n == 16 || n == 19
	case p2 >= 51 && p2 <= 55, p4 >= 2221 && p4 <= 2720: // Mastercard
		return n == 16
	case p2 == 34 || p2 == 37: // American Express
		return n == 15
	case p4 == 6011, p2 == 65, p4 >= 6440 && p4 <= 6499: // Discover
		return n >= 16
	case p2 == 35: // JCB
		return n >= 16
	case p2 == 36 || p2 == 38 || p2 == 30: // Diners Club
		return n >= 14
	}
	return false
}

// isPhone reports whether s looks like a phone number: '+' and 8 to 15 digits
// (E.164), or 10 to 15 digits in at least two groups separated by - . space
// or parentheses. Bare digit strings are not phones: ids look the same.
func isPhone(s string, digits int) bool {
	if digits > 15 {
		return false
	}
	plus := s[0] == '+'
	if plus {
		s = s[1:]
		if digits < 8 {
			return false
		}
	} else if digits < 10 {
		return false
	}
	groups, run, lastRun := 0, 0, 0
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c >= '0' && c <= '9':
			if run == 0 {
				groups++
			}
			run++
			lastRun = run
		case c == '-' || c == '.' || c == ' ' || c == '(' || c == ')':
			run = 0
		default:
			return false
		}
	}
	return plus || groups >= 2 && lastRun >= 4
}

// isJWT reports whether s is three base64url parts whose first decodes to a
// JSON object naming an "alg", as Akto's isJWT does.
func isJWT(s string) bool {
	first := strings.IndexByte(s, '.')
	if first < 0 {
		return false
	}
	rest := s[first+1:]
	second := strings.IndexByte(rest, '.')
	if second <= 0 || strings.IndexByte(rest[second+1:], '.') >= 0 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_' || c == '.') {
			return false
		}
	}
	header := s[:first]
	var buf [512]byte
	if base64.RawURLEncoding.DecodedLen(len(header)) > len(buf) {
		return false
	}
	n, err := base64.RawURLEncoding.Decode(buf[:], []byte(header))
	if err != nil {
		return false
	}
	return n > 0 && buf[0] == '{' && strings.Contains(string(buf[:n]), `"alg"`)
}

// isEmail reports whether s is local@domain.tld with conventional characters.
func isEmail(s string) bool {
	at := strings.IndexByte(s, '@')
	local, domain := s[:at], s[at+1:]
	if len(local) == 0 || len(local) > 64 || len(domain) < 4 {
		return false
	}
	for i := 0; i < len(local); i++ {
		c := local[i]
		if !(isAlnumByte(c) || strings.IndexByte("._%+-", c) >= 0) {
			return false
		}
	}
	labels := 0
	for label := range strings.SplitSeq(domain, ".") {
		if label == "" {
			return false
		}
		for i := 0; i < len(label); i++ {
			if !isAlnumByte(label[i]) && label[i] != '-' {
				return false
			}
		}
		labels++
	}
	tld := domain[strings.LastIndexByte(domain, '.')+1:]
	return labels >= 2 && len(tld) >= 2 && !strings.ContainsAny(tld, "0123456789-")
}

func isAlnumByte(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9'
}

func isIP(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !isHexByte(c) && c != '.' && c != ':' {
			return false
		}
	}
	_, err := netip.ParseAddr(s)
	return err == nil
}

// isPrefixedID reports whether s is a prefixed random id in the style of
// Stripe (cus_NffrFeUfNV2Hib): 2 to 10 lowercase letters, '_', then at least
// 8 letters and digits including a digit.
func isPrefixedID(s string) bool {
	us := strings.IndexByte(s, '_')
	if us < 2 || us > 10 || len(s)-us-1 < 8 {
		return false
	}
	for i := 0; i < us; i++ {
		if s[i] < 'a' || s[i] > 'z' {
			return false
		}
	}
	hasDigit := false
	for i := us + 1; i < len(s); i++ {
		c := s[i]
		if !isAlnumByte(c) {
			return false
		}
		if c >= '0' && c <= '9' {
			hasDigit = true
		}
	}
	return hasDigit
}
