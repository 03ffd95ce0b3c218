package exclude

import (
	"errors"
	"fmt"
	"strings"
)

// This file holds the small SQL lexer the rewrite and the sql_predicate
// check need: where the words, strings, quoted names, comments and
// brackets of a query are, so that a table name inside a string or a
// comment is never rewritten and a predicate cannot close the parentheses
// it is placed in. Rule SQL has already passed the sqlguard, which refuses
// what the two engines read differently; the lexer still reads every text
// twice (backslashes in strings as characters, as DuckDB does, and as
// escapes, as ClickHouse does) and callers require both readings to agree.

type tokKind uint8

const (
	kWord      tokKind = iota // keyword or bare identifier
	kQuoted                   // "name" or `name`
	kString                   // 'text' or $tag$text$tag$
	kNumber                   // 12, 1.5, 1e3
	kLParen                   // (
	kRParen                   // )
	kComma                    // ,
	kDot                      // .
	kSemicolon                // ;
	kParam                    // ? or $1
	kOperator                 // anything else
)

// tok is one token: its kind, its text as written and where it starts.
type tok struct {
	kind tokKind
	text string
	// lower is the lowercased word, or the unquoted lowercased name of a
	// quoted identifier.
	lower string
	pos   int
}

func (t tok) end() int { return t.pos + len(t.text) }

// lexed is a query's tokens with its bracket structure and whether it had
// comments.
type lexed struct {
	toks []tok
	// match[i] is the index of the ")" closing the "(" at i; parent[i] the
	// index of the innermost "(" around toks[i], or -1.
	match    []int
	parent   []int
	comments bool
}

var errUnbalanced = errors.New("unbalanced parentheses")

// lexSQL tokenizes q; backslashEscapes chooses the ClickHouse reading of
// backslashes in strings and quoted names.
func lexSQL(q string, backslashEscapes bool) (*lexed, error) {
	l := &lexed{}
	for i := 0; i < len(q); {
		c := q[i]
		var t tok
		switch {
		case c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v':
			i++
			continue
		case c == '-' && i+1 < len(q) && q[i+1] == '-', c == '#':
			l.comments = true
			end := strings.IndexByte(q[i:], '\n')
			if end < 0 {
				end = len(q) - i
			}
			i += end
			continue
		case c == '/' && i+1 < len(q) && q[i+1] == '*':
			l.comments = true
			end := strings.Index(q[i+2:], "*/")
			if end < 0 {
				return nil, fmt.Errorf("unterminated comment at byte %d", i)
			}
			i += end + 4
			continue
		case c == '\'':
			j, ok := endQuoted(q, i, '\'', backslashEscapes)
			if !ok {
				return nil, fmt.Errorf("unterminated string at byte %d", i)
			}
			t = tok{kind: kString, text: q[i:j], pos: i}
		case c == '"' || c == '`':
			j, ok := endQuoted(q, i, c, backslashEscapes)
			if !ok {
				return nil, fmt.Errorf("unterminated quoted name at byte %d", i)
			}
			inner := strings.ReplaceAll(q[i+1:j-1], string(c)+string(c), string(c))
			t = tok{kind: kQuoted, text: q[i:j], lower: strings.ToLower(inner), pos: i}
		case c == '$':
			if j := strings.IndexByte(q[i+1:], '$'); j >= 0 && isTag(q[i+1:i+1+j]) {
				tag := q[i : i+j+2]
				end := strings.Index(q[i+len(tag):], tag)
				if end < 0 {
					return nil, fmt.Errorf("unterminated dollar-quoted string at byte %d", i)
				}
				t = tok{kind: kString, text: q[i : i+2*len(tag)+end], pos: i}
				break
			}
			j := i + 1
			for j < len(q) && (isWordByte(q[j])) {
				j++
			}
			t = tok{kind: kParam, text: q[i:j], pos: i}
		case c == '?':
			t = tok{kind: kParam, text: "?", pos: i}
		case c == '(':
			t = tok{kind: kLParen, text: "(", pos: i}
		case c == ')':
			t = tok{kind: kRParen, text: ")", pos: i}
		case c == ',':
			t = tok{kind: kComma, text: ",", pos: i}
		case c == ';':
			t = tok{kind: kSemicolon, text: ";", pos: i}
		case c == '.' && !(i+1 < len(q) && isDigit(q[i+1])):
			t = tok{kind: kDot, text: ".", pos: i}
		case isDigit(c) || c == '.':
			j := i + 1
			for j < len(q) && (isWordByte(q[j]) || q[j] == '.') {
				j++
			}
			t = tok{kind: kNumber, text: q[i:j], pos: i}
		case isWordByte(c) || c >= 0x80:
			j := i
			for j < len(q) && (isWordByte(q[j]) || q[j] >= 0x80) {
				j++
			}
			t = tok{kind: kWord, text: q[i:j], lower: strings.ToLower(q[i:j]), pos: i}
		default:
			t = tok{kind: kOperator, text: q[i : i+1], pos: i}
		}
		l.toks = append(l.toks, t)
		i = t.end()
	}
	l.match = make([]int, len(l.toks))
	l.parent = make([]int, len(l.toks))
	var stack []int
	for i, t := range l.toks {
		l.parent[i] = -1
		if len(stack) > 0 {
			l.parent[i] = stack[len(stack)-1]
		}
		switch t.kind {
		case kLParen:
			stack = append(stack, i)
		case kRParen:
			if len(stack) == 0 {
				return nil, fmt.Errorf("%w: the ) at byte %d closes nothing", errUnbalanced, t.pos)
			}
			l.match[stack[len(stack)-1]] = i
			stack = stack[:len(stack)-1]
		}
	}
	if len(stack) > 0 {
		return nil, fmt.Errorf("%w: the ( at byte %d is never closed", errUnbalanced, l.toks[stack[len(stack)-1]].pos)
	}
	return l, nil
}

// endQuoted returns the index after the quote closing the token that
// starts at q[i], and false when there is none.
func endQuoted(q string, i int, quote byte, backslashEscapes bool) (int, bool) {
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
			return j + 1, true
		}
	}
	return 0, false
}

func isTag(s string) bool {
	for i := 0; i < len(s); i++ {
		if !isWordByte(s[i]) || i == 0 && isDigit(s[i]) {
			return false
		}
	}
	return true
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }

func isWordByte(c byte) bool {
	return c == '_' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || isDigit(c)
}

// at returns toks[i], or a semicolon past the end.
func (l *lexed) at(i int) tok {
	if i >= 0 && i < len(l.toks) {
		return l.toks[i]
	}
	return tok{kind: kSemicolon, pos: -1}
}

// insideCall reports whether toks[i] is directly inside the parentheses of
// a call to one of names, as the FROM of extract(hour FROM t) is.
func (l *lexed) insideCall(i int, names ...string) bool {
	open := l.parent[i]
	if open <= 0 {
		return false
	}
	fn := l.toks[open-1]
	if fn.kind != kWord {
		return false
	}
	for _, n := range names {
		if fn.lower == n {
			return true
		}
	}
	return false
}
