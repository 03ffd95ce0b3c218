package sqlguard

import (
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"
)

type tokenKind uint8

const (
	tWord   tokenKind = iota // keyword or bare identifier
	tQuoted                  // "identifier" or `identifier`
	tString                  // 'literal' or $$literal$$
	tNumber
	tLParen
	tRParen
	tComma
	tDot
	tSemicolon
	tOperator
)

type token struct {
	kind  tokenKind
	text  string
	lower string
	pos   int // byte offset of text in the query
}

// maxQueryBytes bounds what the guard will read.
const maxQueryBytes = 100_000

// tokenize splits q into tokens, dropping comments and whitespace. Strings
// and quoted identifiers are single tokens, so nothing inside them is read
// as SQL.
//
// DuckDB reads a backslash in a string literal as a plain character and
// ClickHouse as an escape, so a literal such as 'a\” ends in different
// places on the two engines. The guard tokenizes a query both ways
// (backslashEscapes false and true) and requires both readings to pass.
func tokenize(q string, backslashEscapes bool) ([]token, error) {
	if len(q) > maxQueryBytes {
		return nil, fmt.Errorf("the query is longer than %d bytes", maxQueryBytes)
	}
	if !utf8.ValidString(q) {
		return nil, fmt.Errorf("the query is not valid UTF-8")
	}
	if strings.ContainsRune(q, 0) {
		return nil, fmt.Errorf("the query contains a NUL byte")
	}
	var toks []token
	for i := 0; i < len(q); {
		c := q[i]
		switch {
		case c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v':
			i++
		case c == '-' && i+1 < len(q) && q[i+1] == '-':
			end := strings.IndexByte(q[i:], '\n')
			if end < 0 {
				i = len(q)
			} else {
				i += end + 1
			}
		case c == '#':
			// ClickHouse line comment.
			end := strings.IndexByte(q[i:], '\n')
			if end < 0 {
				i = len(q)
			} else {
				i += end + 1
			}
		case c == '/' && i+1 < len(q) && q[i+1] == '*':
			// Block comments nest in DuckDB and PostgreSQL; count depth.
			depth, j := 1, i+2
			for j < len(q) && depth > 0 {
				switch {
				case strings.HasPrefix(q[j:], "/*"):
					depth++
					j += 2
				case strings.HasPrefix(q[j:], "*/"):
					depth--
					j += 2
				default:
					j++
				}
			}
			if depth > 0 {
				return nil, fmt.Errorf("unterminated comment")
			}
			i = j
		case c == '\'':
			j, err := endOfQuoted(q, i, '\'', backslashEscapes)
			if err != nil {
				return nil, fmt.Errorf("unterminated string literal")
			}
			toks = append(toks, token{pos: i, kind: tString, text: q[i:j]})
			i = j
		case c == '"' || c == '`':
			j, err := endOfQuoted(q, i, c, backslashEscapes)
			if err != nil {
				return nil, fmt.Errorf("unterminated quoted identifier")
			}
			inner := q[i+1 : j-1]
			toks = append(toks, token{pos: i, kind: tQuoted, text: q[i:j], lower: strings.ToLower(strings.ReplaceAll(inner, string(c)+string(c), string(c)))})
			i = j
		case c == '$':
			// Dollar-quoted string $tag$…$tag$, or a $1 parameter.
			if j := strings.IndexByte(q[i+1:], '$'); j >= 0 && isTag(q[i+1:i+1+j]) {
				tag := q[i : i+j+2]
				end := strings.Index(q[i+len(tag):], tag)
				if end < 0 {
					return nil, fmt.Errorf("unterminated dollar-quoted string")
				}
				stop := i + len(tag) + end + len(tag)
				toks = append(toks, token{pos: i, kind: tString, text: q[i:stop]})
				i = stop
				continue
			}
			j := i + 1
			for j < len(q) && q[j] >= '0' && q[j] <= '9' {
				j++
			}
			toks = append(toks, token{pos: i, kind: tOperator, text: q[i:j]})
			i = j
		case c == '(':
			toks = append(toks, token{pos: i, kind: tLParen, text: "("})
			i++
		case c == ')':
			toks = append(toks, token{pos: i, kind: tRParen, text: ")"})
			i++
		case c == ',':
			toks = append(toks, token{pos: i, kind: tComma, text: ","})
			i++
		case c == ';':
			toks = append(toks, token{pos: i, kind: tSemicolon, text: ";"})
			i++
		case c == '.' && !(i+1 < len(q) && q[i+1] >= '0' && q[i+1] <= '9'):
			toks = append(toks, token{pos: i, kind: tDot, text: "."})
			i++
		case c >= '0' && c <= '9' || c == '.':
			j := i + 1
			for j < len(q) && (isWordByte(q[j]) || q[j] == '.') {
				j++
			}
			toks = append(toks, token{pos: i, kind: tNumber, text: q[i:j]})
			i = j
		case isWordStart(q, i):
			j := i
			for j < len(q) {
				r, size := utf8.DecodeRuneInString(q[j:])
				if r == utf8.RuneError || !(r == '_' || unicode.IsLetter(r) || unicode.IsDigit(r)) {
					break
				}
				j += size
			}
			toks = append(toks, token{pos: i, kind: tWord, text: q[i:j], lower: strings.ToLower(q[i:j])})
			i = j
		default:
			_, size := utf8.DecodeRuneInString(q[i:])
			toks = append(toks, token{pos: i, kind: tOperator, text: q[i : i+size]})
			i += size
		}
	}
	return toks, nil
}

// endOfQuoted returns the index after the closing quote of the quoted
// token starting at q[i]; a doubled quote escapes the quote, and so does a
// backslash when backslashEscapes is set.
func endOfQuoted(q string, i int, quote byte, backslashEscapes bool) (int, error) {
	for j := i + 1; j < len(q); j++ {
		switch q[j] {
		case '\\':
			if backslashEscapes {
				j++
			}
		case quote:
			if j+1 < len(q) && q[j+1] == quote {
				j++
				continue
			}
			return j + 1, nil
		}
	}
	return 0, fmt.Errorf("unterminated")
}

func isTag(s string) bool {
	for i := 0; i < len(s); i++ {
		if !isWordByte(s[i]) || (i == 0 && s[i] >= '0' && s[i] <= '9') {
			return false
		}
	}
	return true
}

func isWordByte(c byte) bool {
	return c == '_' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9'
}

func isWordStart(q string, i int) bool {
	r, _ := utf8.DecodeRuneInString(q[i:])
	return r == '_' || unicode.IsLetter(r)
}
