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

// end is the byte offset just after the token.
func (t token) end() int { return t.pos + len(t.text) }

// maxQueryBytes bounds what the tokenizer will read.
const maxQueryBytes = 100_000

// syntaxError is a tokenizer failure at a byte offset of the query.
type syntaxError struct {
	pos int
	msg string
}

func (e *syntaxError) Error() string { return e.msg }

// hazard is something the tokenizer could read but that the two engines,
// or a human reader and an engine, may read differently. BindNow tolerates
// hazards (it only rewrites time references); the guard refuses them.
type hazard struct {
	pos int
	msg string
}

// lexLimits bound the tokenizer; zero fields are unlimited.
type lexLimits struct {
	maxBytes, maxTokens, maxDepth int
}

// tokenize splits q into tokens, dropping comments and whitespace. Strings
// and quoted identifiers are single tokens, so nothing inside them is read
// as SQL.
//
// DuckDB reads a backslash in a string literal as a plain character and
// ClickHouse as an escape, so a literal such as 'a\' ends in different
// places on the two engines. The guard tokenizes a query both ways
// (backslashEscapes false and true) and requires both readings to pass.
func tokenize(q string, backslashEscapes bool) ([]token, error) {
	toks, _, err := lex(q, backslashEscapes, lexLimits{maxBytes: maxQueryBytes})
	return toks, err
}

// lex is tokenize with limits, also reporting hazards.
func lex(q string, backslashEscapes bool, lim lexLimits) ([]token, []hazard, error) {
	if lim.maxBytes > 0 && len(q) > lim.maxBytes {
		return nil, nil, &syntaxError{lim.maxBytes, fmt.Sprintf("the query is longer than %d bytes", lim.maxBytes)}
	}
	if !utf8.ValidString(q) {
		return nil, nil, &syntaxError{-1, "the query is not valid UTF-8"}
	}
	if i := strings.IndexByte(q, 0); i >= 0 {
		return nil, nil, &syntaxError{i, "the query contains a NUL byte"}
	}
	var (
		toks    []token
		hazards []hazard
		depth   int
	)
	warn := func(pos int, format string, args ...any) {
		// Only the first hazard is reported; formatting more would let a
		// hostile query cost time for nothing.
		if len(hazards) == 0 {
			hazards = append(hazards, hazard{pos, fmt.Sprintf(format, args...)})
		}
	}
	emit := func(t token) error {
		if lim.maxTokens > 0 && len(toks) >= lim.maxTokens {
			return &syntaxError{t.pos, fmt.Sprintf("the query has more than %d tokens", lim.maxTokens)}
		}
		toks = append(toks, t)
		return nil
	}
	for i := 0; i < len(q); {
		c := q[i]
		var tok token
		switch {
		case c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v':
			i++
			continue
		case c == '-' && i+1 < len(q) && q[i+1] == '-', c == '#':
			// Line comment. ClickHouse ends it at a newline only; DuckDB
			// also at a carriage return, and has no # comments at all.
			end := strings.IndexByte(q[i:], '\n')
			if end < 0 {
				end = len(q) - i
			}
			body := q[i : i+end]
			if c == '#' {
				warn(i, "# starts a comment on ClickHouse but not on DuckDB; use -- comments")
			}
			if cr := strings.IndexByte(body, '\r'); cr >= 0 && cr != len(body)-1 {
				warn(i+cr, "a carriage return inside a -- comment ends the comment on DuckDB but not on ClickHouse")
			}
			checkText(body, i, warn, false)
			i += end
			continue
		case c == '/' && i+1 < len(q) && q[i+1] == '*':
			// Block comments nest in DuckDB; the guard refuses nesting
			// since not every reader agrees on it.
			if i+2 < len(q) && q[i+2] == '!' {
				warn(i, "MySQL-style /*! … */ comments are executed by some servers; remove the comment")
			}
			d, j := 1, i+2
			for j < len(q) && d > 0 {
				switch {
				case strings.HasPrefix(q[j:], "/*"):
					warn(j, "nested block comments are read differently by DuckDB and ClickHouse; remove the inner /*")
					d++
					j += 2
				case strings.HasPrefix(q[j:], "*/"):
					d--
					j += 2
				default:
					j++
				}
			}
			if d > 0 {
				return nil, nil, &syntaxError{i, "unterminated comment"}
			}
			checkText(q[i:j], i, warn, false)
			i = j
			continue
		case c == '\'':
			escapes := backslashEscapes
			if n := len(toks); n > 0 && toks[n-1].end() == i && toks[n-1].kind == tWord && toks[n-1].lower == "e" {
				// DuckDB reads E'…' with backslash escapes.
				warn(toks[n-1].pos, "E'…' escape strings are not allowed; write the string without backslash escapes")
				escapes = true
			}
			j, err := endOfQuoted(q, i, '\'', escapes)
			if err != nil {
				return nil, nil, &syntaxError{i, "unterminated string literal"}
			}
			checkText(q[i:j], i, warn, false)
			tok = token{pos: i, kind: tString, text: q[i:j]}
		case c == '"' || c == '`':
			j, err := endOfQuoted(q, i, c, backslashEscapes)
			if err != nil {
				return nil, nil, &syntaxError{i, "unterminated quoted identifier"}
			}
			inner := q[i+1 : j-1]
			checkText(inner, i+1, warn, true)
			tok = token{pos: i, kind: tQuoted, text: q[i:j], lower: strings.ToLower(strings.ReplaceAll(inner, string(c)+string(c), string(c)))}
		case c == '$':
			if i > 0 && len(toks) > 0 && toks[len(toks)-1].end() == i && (toks[len(toks)-1].kind == tWord || toks[len(toks)-1].kind == tNumber) {
				warn(i, "a $ inside an identifier (such as a$b) is read as part of the name by DuckDB and as a quote elsewhere; rename it")
			}
			// Dollar-quoted string $tag$…$tag$, or a $1 parameter.
			if j := strings.IndexByte(q[i+1:], '$'); j >= 0 && isTag(q[i+1:i+1+j]) {
				tag := q[i : i+j+2]
				end := strings.Index(q[i+len(tag):], tag)
				if end < 0 {
					return nil, nil, &syntaxError{i, "unterminated dollar-quoted string"}
				}
				stop := i + len(tag) + end + len(tag)
				checkText(q[i:stop], i, warn, false)
				tok = token{pos: i, kind: tString, text: q[i:stop]}
				break
			}
			j := i + 1
			for j < len(q) && q[j] >= '0' && q[j] <= '9' {
				j++
			}
			if j == i+1 {
				warn(i, "named parameters ($name) are not supported; use ? or $1")
			}
			tok = token{pos: i, kind: tOperator, text: q[i:j]}
		case c == '(' || c == '[' || c == '{':
			depth++
			if lim.maxDepth > 0 && depth > lim.maxDepth {
				return nil, nil, &syntaxError{i, fmt.Sprintf("the query nests brackets deeper than %d levels", lim.maxDepth)}
			}
			tok = token{pos: i, kind: tOperator, text: q[i : i+1]}
			if c == '(' {
				tok.kind = tLParen
			}
		case c == ')' || c == ']' || c == '}':
			depth--
			tok = token{pos: i, kind: tOperator, text: q[i : i+1]}
			if c == ')' {
				tok.kind = tRParen
			}
		case c == ',':
			tok = token{pos: i, kind: tComma, text: ","}
		case c == ';':
			tok = token{pos: i, kind: tSemicolon, text: ";"}
		case c == '.' && !(i+1 < len(q) && q[i+1] >= '0' && q[i+1] <= '9'):
			tok = token{pos: i, kind: tDot, text: "."}
		case c >= '0' && c <= '9' || c == '.':
			j := i + 1
			for j < len(q) && (isWordByte(q[j]) || q[j] == '.') {
				j++
			}
			tok = token{pos: i, kind: tNumber, text: q[i:j]}
		case isWordStart(q, i):
			j := i
			for j < len(q) {
				r, size := utf8.DecodeRuneInString(q[j:])
				if !(r == '_' || unicode.IsLetter(r) || unicode.IsDigit(r)) {
					break
				}
				if r >= utf8.RuneSelf && len(hazards) == 0 {
					warn(j, "identifier %q contains the non-ASCII character %U; keywords, functions and columns are ASCII (look-alike letters are refused)", clip(q[i:wordEnd(q, i)]), r)
				}
				j += size
			}
			tok = token{pos: i, kind: tWord, text: q[i:j], lower: strings.ToLower(q[i:j])}
		default:
			r, size := utf8.DecodeRuneInString(q[i:])
			if r >= utf8.RuneSelf {
				warn(i, "the character %U outside a string literal is not SQL (invisible, look-alike or non-ASCII space); remove it", r)
			}
			tok = token{pos: i, kind: tOperator, text: q[i : i+size]}
		}
		if err := emit(tok); err != nil {
			return nil, nil, err
		}
		i = tok.end()
	}
	return toks, hazards, nil
}

// checkText warns about characters that make a literal, identifier or
// comment read differently from how it looks: bidirectional controls
// anywhere ("Trojan Source"), and in identifiers any invisible format
// character (zero-width space, joiners, soft hyphen, BOM).
func checkText(s string, base int, warn func(int, string, ...any), identifier bool) {
	for off, r := range s {
		if r < utf8.RuneSelf {
			continue
		}
		switch {
		case r >= 0x202A && r <= 0x202E, r >= 0x2066 && r <= 0x2069, r == 0x200E, r == 0x200F, r == 0x061C:
			warn(base+off, "the bidirectional control character %U makes the query display differently from how it runs; remove it", r)
			return
		case identifier && (unicode.Is(unicode.Cf, r) || unicode.IsSpace(r)):
			warn(base+off, "the invisible character %U inside a quoted identifier is refused; remove it", r)
			return
		}
	}
}

// clip shortens s for an error message.
func clip(s string) string {
	const max = 40
	if len(s) <= max {
		return s
	}
	cut := max
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + "…"
}

func wordEnd(q string, i int) int {
	for i < len(q) {
		r, size := utf8.DecodeRuneInString(q[i:])
		if !(r == '_' || unicode.IsLetter(r) || unicode.IsDigit(r)) {
			break
		}
		i += size
	}
	return i
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
