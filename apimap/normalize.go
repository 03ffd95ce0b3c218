package apimap

import "strings"

// MaxSegments is the most segments a classifier- or trie-built template has.
// A longer path keeps its first MaxSegments-1 segments and ends in a {rest}
// parameter, so one deep, random path cannot mint endless templates (Beyla
// caps at 10, DataDog at 8).
const MaxSegments = 10

// appendSegments normalises a raw request path and appends its segments to
// dst. It
//   - reduces an absolute URL (http://host/path) to its path,
//   - strips the query and the fragment,
//   - percent-decodes once (a malformed escape is kept as it is),
//   - drops empty segments, which collapses // and a leading or trailing /.
//
// It reports whether the path ended in a slash after a segment. The segments
// share memory with raw when raw holds no escapes.
func appendSegments(dst []string, raw string) ([]string, bool) {
	if !strings.HasPrefix(raw, "/") {
		if i := strings.Index(raw, "://"); i >= 0 {
			raw = raw[i+3:]
			if j := strings.IndexByte(raw, '/'); j >= 0 {
				raw = raw[j:]
			} else {
				raw = ""
			}
		}
	}
	if i := strings.IndexAny(raw, "?#"); i >= 0 {
		raw = raw[:i]
	}
	if strings.IndexByte(raw, '%') >= 0 {
		raw = percentDecode(raw)
	}
	trailing := false
	for len(raw) > 0 {
		i := strings.IndexByte(raw, '/')
		if i < 0 {
			dst = append(dst, raw)
			trailing = false
			break
		}
		if i > 0 {
			dst = append(dst, raw[:i])
			trailing = true
		}
		raw = raw[i+1:]
	}
	return dst, trailing
}

// percentDecode decodes every valid %XX escape once. Unlike url.PathUnescape
// it never fails: a malformed escape stays as it is, and the classifier then
// sees a '%' and treats the segment as a token.
func percentDecode(s string) string {
	b := make([]byte, 0, len(s))
	for i := 0; i < len(s); i++ {
		if s[i] == '%' && i+2 < len(s) && isHexByte(s[i+1]) && isHexByte(s[i+2]) {
			b = append(b, unhex(s[i+1])<<4|unhex(s[i+2]))
			i += 2
			continue
		}
		b = append(b, s[i])
	}
	return string(b)
}

func unhex(c byte) byte {
	switch {
	case c >= '0' && c <= '9':
		return c - '0'
	case c >= 'a' && c <= 'f':
		return c - 'a' + 10
	default:
		return c - 'A' + 10
	}
}
