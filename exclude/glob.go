package exclude

import (
	"regexp"
	"strings"
)

// Glob is a compiled path pattern: a glob or an API-map template.
//
//   - * matches any text within one path segment (no "/");
//   - ** matches any text, "/" included, possibly empty; as a whole
//     segment (/api/**/status) it matches zero or more segments;
//   - {name} matches one whole, non-empty segment, as the API map writes
//     path parameters (/v1/users/{id});
//   - everything else matches itself, case-sensitively.
//
// A pattern matches the whole path (http_path, without the query string).
type Glob struct {
	pattern string
	// re is the anchored RE2 expression; exact is set when the pattern
	// has no wildcard, prefix when its only wildcard is a final **.
	re     *regexp.Regexp
	exact  bool
	prefix string
}

// maxWildcards bounds the wildcards of one pattern, which bounds the size
// of its regular expression.
const maxWildcards = 32

// ParseGlob compiles a path pattern. It must start with "/" or "*".
func ParseGlob(pattern string) (*Glob, error) {
	if pattern == "" {
		return nil, invalidf("path_glob is empty")
	}
	if pattern[0] != '/' && pattern[0] != '*' {
		return nil, invalidf("path_glob %q: a path pattern starts with / (or *)", clip(pattern))
	}
	if err := checkText(pattern); err != nil {
		return nil, invalidf("path_glob %q: %v", clip(pattern), err)
	}
	expr, wild, err := globRegexp(pattern)
	if err != nil {
		return nil, invalidf("path_glob %q: %v", clip(pattern), err)
	}
	re, err := regexp.Compile(expr)
	if err != nil {
		return nil, invalidf("path_glob %q: %v", clip(pattern), err)
	}
	g := &Glob{pattern: pattern, re: re, exact: wild == 0}
	if p, ok := strings.CutSuffix(pattern, "**"); ok && wild == 1 && !strings.ContainsAny(p, "*{") {
		g.prefix = p
	}
	return g, nil
}

// globRegexp translates a pattern and counts its wildcards.
func globRegexp(pattern string) (string, int, error) {
	var b strings.Builder
	b.WriteString("^")
	wild := 0
	for i := 0; i < len(pattern); {
		c := pattern[i]
		switch {
		case strings.HasPrefix(pattern[i:], "/**/"):
			b.WriteString("/(?:.*/)?")
			i += 4
			wild++
		case strings.HasPrefix(pattern[i:], "**"):
			b.WriteString(".*")
			i += 2
			for i < len(pattern) && pattern[i] == '*' {
				i++
			}
			wild++
		case c == '*':
			b.WriteString("[^/]*")
			i++
			wild++
		case c == '{':
			end := strings.IndexByte(pattern[i:], '}')
			if end < 0 {
				return "", 0, errf("a { at byte %d is never closed", i)
			}
			name := pattern[i+1 : i+end]
			if !isParamName(name) {
				return "", 0, errf("{%s}: a template parameter is a name such as {id}", clip(name))
			}
			if i > 0 && pattern[i-1] != '/' || i+end+1 < len(pattern) && pattern[i+end+1] != '/' {
				return "", 0, errf("{%s} must be a whole path segment", name)
			}
			b.WriteString("[^/]+")
			i += end + 1
			wild++
		case c == '}':
			return "", 0, errf("a } at byte %d closes nothing", i)
		default:
			j := i
			for j < len(pattern) && pattern[j] != '*' && pattern[j] != '{' && pattern[j] != '}' && !strings.HasPrefix(pattern[j:], "/**/") {
				j++
			}
			b.WriteString(regexp.QuoteMeta(pattern[i:j]))
			i = j
		}
		if wild > maxWildcards {
			return "", 0, errf("more than %d wildcards", maxWildcards)
		}
	}
	b.WriteString("$")
	return b.String(), wild, nil
}

func isParamName(s string) bool {
	if s == "" || len(s) > 64 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c == '_' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || i > 0 && (isDigit(c) || c == '-' || c == '.')) {
			return false
		}
	}
	return true
}

// Match reports whether path matches the pattern.
func (g *Glob) Match(path string) bool {
	if g.exact {
		return path == g.pattern
	}
	return g.re.MatchString(path)
}

// String returns the pattern.
func (g *Glob) String() string { return g.pattern }

// Regexp returns the anchored RE2 expression the pattern compiles to.
func (g *Glob) Regexp() string { return g.re.String() }

// TextGlob is a user-agent pattern: * matches any text; nothing else is
// special.
type TextGlob struct {
	pattern string
	re      *regexp.Regexp
	exact   bool
}

// ParseTextGlob compiles a user-agent pattern.
func ParseTextGlob(pattern string) (*TextGlob, error) {
	if pattern == "" {
		return nil, invalidf("user_agent is empty")
	}
	if err := checkText(pattern); err != nil {
		return nil, invalidf("user_agent %q: %v", clip(pattern), err)
	}
	parts := strings.Split(pattern, "*")
	if len(parts)-1 > maxWildcards {
		return nil, invalidf("user_agent %q: more than %d wildcards", clip(pattern), maxWildcards)
	}
	for i, p := range parts {
		parts[i] = regexp.QuoteMeta(p)
	}
	re, err := regexp.Compile("^" + strings.Join(parts, ".*") + "$")
	if err != nil {
		return nil, invalidf("user_agent %q: %v", clip(pattern), err)
	}
	return &TextGlob{pattern: pattern, re: re, exact: len(parts) == 1}, nil
}

// Match reports whether s matches the pattern.
func (g *TextGlob) Match(s string) bool {
	if g.exact {
		return s == g.pattern
	}
	return g.re.MatchString(s)
}

// checkText refuses control characters and invalid UTF-8, which no
// recorded path or header holds and which would only hide the value's
// meaning from the person reviewing it.
func checkText(s string) error {
	for i, r := range s {
		if r == 0xFFFD && !strings.HasPrefix(s[i:], "\uFFFD") {
			return errf("invalid UTF-8 at byte %d", i)
		}
		if r < 0x20 || r == 0x7F || r >= 0x80 && r < 0xA0 || r >= 0x202A && r <= 0x202E || r >= 0x2066 && r <= 0x2069 {
			return errf("control character %U at byte %d", r, i)
		}
	}
	return nil
}
