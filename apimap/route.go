package apimap

import "strings"

// parsedRoute is an http.route attribute reduced to segments, or the reason
// it cannot be trusted at all.
type parsedRoute struct {
	segs    []routeSeg
	trusted bool
}

// routeSeg is a literal, a parameter, or a trailing wildcard that matches the
// rest of the path.
type routeSeg struct {
	lit      string
	name     string
	wildcard bool
}

func (s routeSeg) isParam() bool { return s.name != "" }

// parseRoute reads a route template as web frameworks write them and
// instrumentation reports them, normalising every parameter syntax to a
// name:
//
//	/users/{id}  /users/{id:[0-9]+}  /files/{path...}  /files/{*path}  (OpenAPI, gorilla, Go 1.22, ASP.NET)
//	/users/:id   /users/:id?  /users/:id(\d+)                           (Express, Rails, Gin)
//	/users/<id>  /users/<int:id>                                        (Flask, Django)
//	/users/[id]  /docs/[...slug]                                        (Next.js)
//	/static/*filepath  /static/*                                        (Gin, httprouter)
//
// A Go 1.22 pattern's method and host ("GET example.com/users/{id}") are
// dropped, and so is its {$} end marker. A route is untrusted when it has no
// parameter (it is then the raw path, or wrong), when a literal segment looks
// like an id (the instrumentation put a raw path there, as
// open-telemetry/opentelemetry-js#2489 shows), when it mixes text and a
// parameter in one segment, when a wildcard is not last, when it is a bare
// catch-all, or when it is longer than MaxSegments.
func parseRoute(route string) parsedRoute {
	route = strings.TrimSpace(route)
	if i := strings.LastIndexByte(route, ' '); i >= 0 {
		route = route[i+1:]
	}
	if !strings.HasPrefix(route, "/") {
		i := strings.IndexByte(route, '/')
		if i < 0 {
			return parsedRoute{}
		}
		route = route[i:]
	}
	var pr parsedRoute
	params := 0
	for raw := range strings.SplitSeq(route[1:], "/") {
		if raw == "" || raw == "{$}" {
			continue
		}
		if n := len(pr.segs); n > 0 && pr.segs[n-1].wildcard {
			return parsedRoute{}
		}
		seg, ok := parseRouteSeg(raw)
		if !ok {
			return parsedRoute{}
		}
		if seg.isParam() {
			params++
		} else if classify(seg.lit).kind.IsParam() {
			return parsedRoute{}
		}
		pr.segs = append(pr.segs, seg)
	}
	if params == 0 || len(pr.segs) > MaxSegments || len(pr.segs) == 1 && pr.segs[0].wildcard {
		return parsedRoute{}
	}
	var used nameSet
	for i := range pr.segs {
		if pr.segs[i].isParam() {
			pr.segs[i].name = used.unique(pr.segs[i].name)
		}
	}
	pr.trusted = true
	return pr
}

func parseRouteSeg(raw string) (routeSeg, bool) {
	var name string
	wildcard := false
	switch raw[0] {
	case ':':
		end := 1
		for end < len(raw) && (isAlnumByte(raw[end]) || raw[end] == '_') {
			end++
		}
		name = raw[1:end]
		switch rest := raw[end:]; {
		case rest == "" || rest == "?":
		case rest == "*" || rest == "+":
			wildcard = true
		case rest[0] == '(' && strings.HasSuffix(rest, ")"):
			// A regular expression: /users/:id(\d+).
		default:
			// Text after the parameter (:id.json).
			return routeSeg{}, false
		}
	case '*':
		name, wildcard = raw[1:], true
		if name == "" {
			name = "wildcard"
		}
	case '{':
		// The brace that closes the first, counting nested regular
		// expression braces ({id:[0-9]{3}}), must end the segment.
		depth, end := 0, -1
		for i := 0; i < len(raw) && end < 0; i++ {
			switch raw[i] {
			case '{':
				depth++
			case '}':
				if depth--; depth == 0 {
					end = i
				}
			}
		}
		if end != len(raw)-1 {
			return routeSeg{}, false
		}
		name = raw[1:end]
		if i := strings.IndexAny(name, ":?="); i >= 0 {
			name = name[:i]
		}
		switch {
		case strings.HasSuffix(name, "..."):
			name, wildcard = strings.TrimSuffix(name, "..."), true
		case strings.HasPrefix(name, "**"):
			name, wildcard = name[2:], true
		case strings.HasPrefix(name, "*"):
			name, wildcard = name[1:], true
		}
	case '<':
		if strings.IndexByte(raw, '>') != len(raw)-1 {
			return routeSeg{}, false
		}
		name = raw[1 : len(raw)-1]
		if i := strings.LastIndexByte(name, ':'); i >= 0 {
			if name[:i] == "path" {
				wildcard = true
			}
			name = name[i+1:]
		}
	case '[':
		if strings.IndexByte(strings.TrimLeft(raw, "["), '[') >= 0 || raw[len(raw)-1] != ']' {
			return routeSeg{}, false
		}
		name = strings.Trim(raw, "[]")
		if strings.HasPrefix(name, "...") {
			name, wildcard = name[3:], true
		}
	default:
		if strings.ContainsAny(raw, "{}<>:*") {
			// Text and a parameter in one segment ({name}.{ext}, :id.json).
			return routeSeg{}, false
		}
		return routeSeg{lit: raw}, true
	}
	name = sanitizeParamName(name)
	if name == "" {
		name = "param"
	}
	return routeSeg{name: name, wildcard: wildcard}, true
}

// sanitizeParamName keeps the letters, digits and underscores of name, at
// most maxParamName of them.
func sanitizeParamName(name string) string {
	var b strings.Builder
	for i := 0; i < len(name) && b.Len() < maxParamName; i++ {
		if c := name[i]; isAlnumByte(c) || c == '_' {
			b.WriteByte(c)
		}
	}
	return b.String()
}

// routeMatch is a trusted route applied to one concrete path.
type routeMatch struct {
	template string
	names    []string
	// rawIndex is, for each parameter, the index of the path segment it
	// covers, or -1 for a wildcard.
	rawIndex []int
}

// applyRoute checks that a trusted route fits the normalised path and returns
// the template. The route's literals must equal the path's segments. A route
// may cover only the end of the path when a router is mounted under a prefix
// (route /users/{id} for /api/v2/users/42); the prefix is kept in the template
// if its segments are words or reserved segments, and the route is not
// trusted otherwise. A wildcard matches one or more trailing segments.
func applyRoute(pr parsedRoute, segs []string, classes []segClass) (routeMatch, bool) {
	n := len(pr.segs)
	wildcard := pr.segs[n-1].wildcard
	offset := 0
	switch {
	case wildcard && len(segs) < n:
		return routeMatch{}, false
	case wildcard:
		// Wildcard routes are anchored at the start of the path.
	case len(segs) < n:
		return routeMatch{}, false
	default:
		offset = len(segs) - n
	}
	for i := range offset {
		if !classes[i].word {
			return routeMatch{}, false
		}
	}
	var b strings.Builder
	for _, s := range segs[:offset] {
		b.WriteByte('/')
		b.WriteString(s)
	}
	m := routeMatch{}
	for i, rs := range pr.segs {
		p := offset + i
		b.WriteByte('/')
		switch {
		case rs.isParam():
			b.WriteByte('{')
			b.WriteString(rs.name)
			b.WriteByte('}')
			m.names = append(m.names, rs.name)
			if rs.wildcard {
				m.rawIndex = append(m.rawIndex, -1)
			} else {
				m.rawIndex = append(m.rawIndex, p)
			}
		case segs[p] != rs.lit:
			return routeMatch{}, false
		default:
			b.WriteString(rs.lit)
		}
	}
	m.template = b.String()
	return m, true
}
