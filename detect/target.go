package detect

import (
	"strconv"
	"strings"
)

// The parsers in this file read http_target (path?query) and http_path
// exactly as the SQL of the evidence queries does, so that a figure computed
// here is the figure its query returns:
//
//   - a query parameter's value is what the store's extractURLParameter
//     macro returns: the text after the first "?name=" or "&name=" in the
//     whole target, up to the next "&" or "#", still percent-encoded;
//   - a path segment is split_part(http_path, '/', k): the k-th field
//     (1-based, the empty field before the leading "/" being the first);
//   - a number is 1 to 18 ASCII digits, read as an int64, as the SQL
//     regexp_full_match(v, '[0-9]{1,18}') and CAST do.

// maxParams bounds the parameters and segments read from one target, so a
// hostile target cannot make analysis quadratic.
const maxParams = 32

// paramNames returns the distinct names of the query parameters of target,
// in order of first appearance: the text before "=" of each "&"-separated
// field after the first "?". Empty names, names holding characters that
// cannot be written into an SQL literal portably, and names beyond
// maxParams are left out.
func paramNames(target string) []string {
	i := strings.IndexByte(target, '?')
	if i < 0 {
		return nil
	}
	var names []string
	for field := range strings.SplitSeq(target[i+1:], "&") {
		if len(names) == maxParams {
			break
		}
		name, _, _ := strings.Cut(field, "=")
		if name == "" || !literalSafe(name) || strings.ContainsAny(name, "#?") {
			continue
		}
		dup := false
		for _, n := range names {
			if n == name {
				dup = true
				break
			}
		}
		if !dup {
			names = append(names, name)
		}
	}
	return names
}

// urlParam returns the value of query parameter name in target as the
// extractURLParameter macro does (regexp_extract(target,
// '[?&]name=([^&#]*)', 1)): the leftmost "?name=" or "&name=" anywhere in
// target, then everything up to the next "&" or "#". It returns "" when
// there is none.
func urlParam(target, name string) string {
	if name == "" {
		return ""
	}
	for i := 0; i < len(target); i++ {
		c := target[i]
		if c != '?' && c != '&' {
			continue
		}
		rest := target[i+1:]
		if len(rest) <= len(name) || rest[:len(name)] != name || rest[len(name)] != '=' {
			continue
		}
		v := rest[len(name)+1:]
		if j := strings.IndexAny(v, "&#"); j >= 0 {
			v = v[:j]
		}
		return v
	}
	return ""
}

// withoutParam returns target with every "?name=value" and "&name=value"
// replaced by "&", as regexp_replace(http_target, '[?&]name=[^&#]*', '&',
// 'g') does: a key for what a request asks for apart from that parameter.
func withoutParam(target, name string) string {
	if name == "" {
		return target
	}
	var b strings.Builder
	i := 0
	for i < len(target) {
		c := target[i]
		rest := target[i+1:]
		if (c == '?' || c == '&') && len(rest) > len(name) && rest[:len(name)] == name && rest[len(name)] == '=' {
			b.WriteByte('&')
			i += 1 + len(name) + 1
			for i < len(target) && target[i] != '&' && target[i] != '#' {
				i++
			}
			continue
		}
		b.WriteByte(c)
		i++
	}
	return b.String()
}

// pathField returns split_part(path, '/', k) for k ≥ 1.
func pathField(path string, k int) string {
	if k < 1 {
		return ""
	}
	for f := 1; ; f++ {
		j := strings.IndexByte(path, '/')
		if f == k {
			if j < 0 {
				return path
			}
			return path[:j]
		}
		if j < 0 {
			return ""
		}
		path = path[j+1:]
	}
}

// numericFields returns the positions k (as pathField numbers them) of the
// path's fields that are numbers, up to maxParams fields.
func numericFields(path string) []int {
	var out []int
	k := 0
	for field := range strings.SplitSeq(path, "/") {
		k++
		if k > maxParams {
			break
		}
		if _, ok := parseID(field); ok {
			out = append(out, k)
		}
	}
	return out
}

// parseID reads a number as the evidence SQL does: 1 to 18 ASCII digits.
func parseID(s string) (int64, bool) {
	if len(s) == 0 || len(s) > 18 {
		return 0, false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return 0, false
		}
	}
	n, err := strconv.ParseInt(s, 10, 64)
	return n, err == nil
}

// literalSafe reports whether s can be written into an SQL string literal
// that DuckDB and ClickHouse read the same way (no backslash, no NUL, no
// control characters) and is printable UTF-8.
func literalSafe(s string) bool {
	for _, r := range s {
		if r == '\\' || r < 0x20 || r == 0x7f || r == 0xfffd {
			return false
		}
	}
	return true
}

// quote returns s as an SQL string literal, or false when s cannot be
// written portably (see literalSafe).
func quote(s string) (string, bool) {
	if !literalSafe(s) {
		return "", false
	}
	return "'" + strings.ReplaceAll(s, "'", "''") + "'", true
}

// network returns the network an address belongs to for "how many
// networks" counts: the /24 of an IPv4 address ("a.b.c.0/24"), or the
// address itself otherwise. The evidence SQL computes the same with
// networkSQL.
func network(ip string) string {
	if strings.Contains(ip, ":") || strings.Count(ip, ".") != 3 {
		return ip
	}
	return ip[:strings.LastIndexByte(ip, '.')] + ".0/24"
}

// networkSQL is network(peer_ip) in SQL.
const networkSQL = "if(strpos(peer_ip, ':') > 0 OR length(peer_ip) - length(replace(peer_ip, '.', '')) <> 3, peer_ip, regexp_replace(peer_ip, '[.][^.]*$', '.0/24'))"
