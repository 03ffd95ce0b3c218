package apimap

import (
	"fmt"
	"strings"
)

// templateSeg is one segment of a path template: a literal, a whole parameter
// ({id}), or a literal with parameters in it ({name}.{ext}, {id}:cancel).
type templateSeg struct {
	lit   string    // the literal text; empty for parameters
	name  string    // the parameter name of a whole parameter
	parts []segPart // the pieces of a mixed segment
}

func (s templateSeg) isParam() bool { return s.name != "" }
func (s templateSeg) isMixed() bool { return s.parts != nil }

// segPart is a piece of a mixed segment: literal text or a parameter name.
type segPart struct {
	text  string
	param bool
}

// parseTemplate splits a path template such as /users/{id}/files/{name}.{ext}
// into segments. Empty segments (a doubled or trailing slash) are ignored.
func parseTemplate(tmpl string) ([]templateSeg, error) {
	if !strings.HasPrefix(tmpl, "/") {
		return nil, fmt.Errorf("template %q does not start with \"/\"", tmpl)
	}
	var segs []templateSeg
	for raw := range strings.SplitSeq(tmpl[1:], "/") {
		if raw == "" {
			continue
		}
		seg, err := parseTemplateSeg(raw)
		if err != nil {
			return nil, fmt.Errorf("template %q: %w", tmpl, err)
		}
		segs = append(segs, seg)
	}
	return segs, nil
}

func parseTemplateSeg(raw string) (templateSeg, error) {
	if !strings.ContainsAny(raw, "{}") {
		return templateSeg{lit: raw}, nil
	}
	var parts []segPart
	for rest := raw; rest != ""; {
		open := strings.IndexByte(rest, '{')
		if close := strings.IndexByte(rest, '}'); close >= 0 && (open < 0 || close < open) {
			return templateSeg{}, fmt.Errorf("segment %q: unmatched \"}\"", raw)
		}
		if open < 0 {
			parts = append(parts, segPart{text: rest})
			break
		}
		if open > 0 {
			parts = append(parts, segPart{text: rest[:open]})
		}
		end := strings.IndexByte(rest[open:], '}')
		if end < 0 {
			return templateSeg{}, fmt.Errorf("segment %q: unmatched \"{\"", raw)
		}
		name := rest[open+1 : open+end]
		if name == "" || strings.ContainsAny(name, "{") {
			return templateSeg{}, fmt.Errorf("segment %q: bad parameter name %q", raw, name)
		}
		if n := len(parts); n > 0 && parts[n-1].param {
			return templateSeg{}, fmt.Errorf("segment %q: adjacent parameters cannot be told apart", raw)
		}
		parts = append(parts, segPart{text: name, param: true})
		rest = rest[open+end+1:]
	}
	if len(parts) == 1 && parts[0].param {
		return templateSeg{name: parts[0].text}, nil
	}
	return templateSeg{parts: parts}, nil
}

// templateMatcher finds the template that best fits a concrete path, the way
// a router would: at every position a literal beats a mixed segment, which
// beats a whole parameter, and over the whole path the template with the
// lowest cost (literal 0, mixed 1, parameter 2 per segment) wins, so
// /users/me beats /users/{id} and /{a}/b/c beats /a/{x}/{y}. Ties go to the
// template with literals further left. A templateMatcher is read-only after
// it is built and safe for concurrent use.
type templateMatcher struct {
	root matchNode
}

type matchNode struct {
	lits  map[string]*matchNode
	mixed []*mixedEdge
	param *matchNode
	entry int // 1 + the index of the template ending here; 0 for none
}

type mixedEdge struct {
	shape string
	parts []segPart
	node  matchNode
}

// add registers a template under entry index idx. When a template of the same
// shape (equal but for parameter names) is already there, add keeps the first
// and returns its index and false.
func (m *templateMatcher) add(segs []templateSeg, idx int) (int, bool) {
	n := &m.root
	for _, s := range segs {
		switch {
		case s.isParam():
			if n.param == nil {
				n.param = &matchNode{}
			}
			n = n.param
		case s.isMixed():
			shape := mixedShape(s.parts)
			var next *matchNode
			for _, e := range n.mixed {
				if e.shape == shape {
					next = &e.node
					break
				}
			}
			if next == nil {
				e := &mixedEdge{shape: shape, parts: s.parts}
				n.mixed = append(n.mixed, e)
				next = &e.node
			}
			n = next
		default:
			if n.lits == nil {
				n.lits = make(map[string]*matchNode)
			}
			next := n.lits[s.lit]
			if next == nil {
				next = &matchNode{}
				n.lits[s.lit] = next
			}
			n = next
		}
	}
	if n.entry != 0 {
		return n.entry - 1, false
	}
	n.entry = idx + 1
	return idx, true
}

func mixedShape(parts []segPart) string {
	var b strings.Builder
	for _, p := range parts {
		if p.param {
			b.WriteString("{}")
		} else {
			b.WriteString(p.text)
		}
	}
	return b.String()
}

// maxMatchSteps bounds the search of one match, so that no template set,
// however contrived, makes matching slow.
const maxMatchSteps = 4096

// match returns the index of the best template for the path segments. A
// segment written as a placeholder ({id}) matches only whole parameters, so
// an inferred template can be matched against a spec too.
func (m *templateMatcher) match(segs []string) (int, bool) {
	s := matchSearch{segs: segs, best: -1, bestCost: 1 << 30}
	s.walk(&m.root, 0, 0)
	return s.best, s.best >= 0
}

type matchSearch struct {
	segs     []string
	steps    int
	best     int
	bestCost int
}

func (s *matchSearch) walk(n *matchNode, i, cost int) {
	s.steps++
	if cost >= s.bestCost || s.steps > maxMatchSteps {
		return
	}
	if i == len(s.segs) {
		if n.entry != 0 {
			s.best, s.bestCost = n.entry-1, cost
		}
		return
	}
	seg := s.segs[i]
	_, placeholder := placeholderName(seg)
	if !placeholder {
		if next := n.lits[seg]; next != nil {
			s.walk(next, i+1, cost)
		}
		for _, e := range n.mixed {
			if matchParts(e.parts, seg) {
				s.walk(&e.node, i+1, cost+1)
			}
		}
	}
	if n.param != nil {
		s.walk(n.param, i+1, cost+2)
	}
}

// matchParts reports whether seg fits a mixed segment. Literal pieces must
// appear in order and every parameter must match at least one byte; a middle
// literal matches at its first occurrence.
func matchParts(parts []segPart, seg string) bool {
	pos := 0
	for k, p := range parts {
		if p.param {
			continue
		}
		switch {
		case k == 0:
			if !strings.HasPrefix(seg, p.text) {
				return false
			}
			pos = len(p.text)
		case k == len(parts)-1:
			// The parameter before this literal needs at least one byte.
			return len(seg)-len(p.text) > pos && strings.HasSuffix(seg, p.text)
		default:
			j := strings.Index(seg[min(pos+1, len(seg)):], p.text)
			if j < 0 {
				return false
			}
			pos += 1 + j + len(p.text)
		}
	}
	// The template ends with a parameter, which needs at least one byte.
	return len(seg) > pos
}

// placeholderName reports whether seg is a parameter placeholder such as
// {id} or {document_id}, as the Templater writes them, and returns the name.
func placeholderName(seg string) (string, bool) {
	if len(seg) < 3 || seg[0] != '{' || seg[len(seg)-1] != '}' || len(seg) > maxParamName+2 {
		return "", false
	}
	name := seg[1 : len(seg)-1]
	for i := 0; i < len(name); i++ {
		c := name[i]
		if !isAlnumByte(c) && c != '_' && c != '-' && c != '.' {
			return "", false
		}
	}
	return name, true
}

// maxParamName is the longest parameter name the Templater writes or keeps.
const maxParamName = 64
