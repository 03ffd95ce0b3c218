package forensics

import (
	"net/netip"
	"regexp"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"
)

// tokenKind classifies a token of a question.
type tokenKind uint8

const (
	tWord   tokenKind = iota // lower-cased in text; raw keeps the case
	tNumber                  // a non-negative integer
	tPath                    // starts with '/'
	tIP                      // an IPv4 or IPv6 address
	tCIDR                    // an address prefix
	tDate                    // YYYY-MM-DD or RFC 3339
	tClass                   // a status class: 4xx
	tString                  // a quoted string
	tOp                      // = != > >= < <=
)

// token is one lexical unit of a question.
type token struct {
	kind tokenKind
	text string // normalised: lower-case word, canonical address, path as written
	raw  string // as written
	num  int64
	time time.Time
}

var (
	classRE    = regexp.MustCompile(`^[1-5]xx$`)
	dateRE     = regexp.MustCompile(`^\d{4}-\d{2}-\d{2}$`)
	durationRE = regexp.MustCompile(`^(\d{1,4})(m|min|mins|h|hr|hrs|d|w)$`)
)

// maxQuestionBytes bounds a question; longer ones are refused.
const maxQuestionBytes = 2000

// lex splits a question into tokens. It fails only on input that cannot
// be a question (too long, invalid UTF-8).
func lex(q string) ([]token, error) {
	if len(q) > maxQuestionBytes {
		return nil, &ParseError{Question: truncate(q, 80), Msg: "the question is too long; ask one thing at a time"}
	}
	if !utf8.ValidString(q) {
		return nil, &ParseError{Question: q, Msg: "the question is not valid UTF-8"}
	}
	var toks []token
	i := 0
	for i < len(q) {
		c := q[i]
		switch {
		case c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == ',' || c == ';' || c == '!' && !strings.HasPrefix(q[i:], "!=") || c == '?' || c == '(' || c == ')':
			i++
		case c == '"' || c == '\'' || c == '`':
			end := strings.IndexByte(q[i+1:], c)
			if end < 0 || (c == '\'' && i > 0 && isWordChar(rune(q[i-1]))) {
				i++ // an apostrophe ("IP's") or a stray quote
				continue
			}
			s := q[i+1 : i+1+end]
			toks = append(toks, token{kind: tString, text: s, raw: s})
			i += end + 2
		case c == '=' || c == '<' || c == '>' || c == '!':
			op := string(c)
			if i+1 < len(q) && q[i+1] == '=' {
				op += "="
			}
			if op == "!" {
				i++
				continue
			}
			toks = append(toks, token{kind: tOp, text: op, raw: op})
			i += len(op)
		case c == '/':
			end := i
			for end < len(q) && !isSpace(q[end]) && q[end] != ',' && q[end] != '"' && q[end] != '\'' {
				end++
			}
			raw := strings.TrimRight(q[i:end], ".:;!?)")
			if raw == "" {
				raw = "/"
			}
			toks = appendPath(toks, raw)
			i = i + len(raw)
			if i < end {
				i = end
			}
		default:
			end := i
			for end < len(q) {
				r, n := utf8.DecodeRuneInString(q[end:])
				if isSpace(q[end]) || strings.ContainsRune(",;?()\"`=<>!", r) || (r == '\'' && !(end > i && end+1 < len(q) && isWordChar(rune(q[end+1])))) {
					break
				}
				end += n
			}
			if end == i {
				_, n := utf8.DecodeRuneInString(q[i:])
				i += n
				continue
			}
			raw := strings.TrimRight(q[i:end], ".:")
			// Punctuation after a word is dropped, but an IPv6 address may
			// end in "::" (2001:db8::).
			for cand := q[i:end]; len(cand) > len(raw); cand = cand[:len(cand)-1] {
				if strings.HasSuffix(cand, "::") {
					if _, err := netip.ParseAddr(cand); err == nil {
						raw = cand
						break
					}
				}
			}
			if raw != "" {
				toks = append(toks, classify(raw))
			}
			i = end
		}
	}
	return toks, nil
}

// appendPath adds a path token, and for a path with a query string
// ("/admin/export?collection_id=5") the parameter conditions after it.
func appendPath(toks []token, raw string) []token {
	path, query, _ := strings.Cut(raw, "?")
	toks = append(toks, token{kind: tPath, text: path, raw: path})
	if query == "" {
		return toks
	}
	for _, kv := range strings.Split(query, "&") {
		k, v, ok := strings.Cut(kv, "=")
		if k == "" || !ok {
			continue
		}
		toks = append(toks, token{kind: tWord, text: strings.ToLower(k), raw: k}, token{kind: tOp, text: "=", raw: "="}, classify(v))
	}
	return toks
}

func classify(raw string) token {
	lower := strings.ToLower(raw)
	t := token{kind: tWord, text: lower, raw: raw}
	if a, err := netip.ParseAddr(raw); err == nil && strings.ContainsAny(raw, ".:") {
		t.kind, t.text = tIP, a.Unmap().String()
		return t
	}
	if p, err := netip.ParsePrefix(raw); err == nil {
		t.kind, t.text = tCIDR, p.Masked().String()
		return t
	}
	if dateRE.MatchString(raw) {
		if d, err := time.Parse("2006-01-02", raw); err == nil {
			t.kind, t.time = tDate, d
			return t
		}
	}
	if d, err := time.Parse(time.RFC3339, raw); err == nil {
		t.kind, t.time = tDate, d.UTC()
		return t
	}
	if classRE.MatchString(lower) {
		t.kind = tClass
		return t
	}
	if n, ok := parseInt(raw); ok {
		t.kind, t.num = tNumber, n
	}
	return t
}

// parseInt parses a non-negative decimal integer of at most 12 digits.
func parseInt(s string) (int64, bool) {
	if s == "" || len(s) > 12 {
		return 0, false
	}
	var n int64
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return 0, false
		}
		n = n*10 + int64(s[i]-'0')
	}
	return n, true
}

func isSpace(c byte) bool { return c == ' ' || c == '\t' || c == '\n' || c == '\r' }

func isWordChar(r rune) bool { return unicode.IsLetter(r) || unicode.IsDigit(r) || r == '_' }

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}
