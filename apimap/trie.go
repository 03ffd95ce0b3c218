package apimap

import (
	"slices"
	"strconv"
	"strings"
)

// Thresholds of the cardinality trie; doc.go explains them.
const (
	// minSiblings is how many distinct undecided slugs a node needs before
	// they may collapse on shape (Akto's STRING_MERGING_THRESHOLD).
	minSiblings = 10
	// maxSiblingShare is the most traffic, in percent of the parent's, that
	// one collapsing slug may carry (Metlo's 10%).
	maxSiblingShare = 10
	// minSharedShape is the percentage of the collapsing slugs that must
	// share one next-segment shape.
	minSharedShape = 80
	// maxLiteralChildren is how many distinct literal children a node may
	// have before they collapse whatever they look like (kubescape's
	// EndpointDynamicThreshold).
	maxLiteralChildren = 100
)

// pathTrie holds the paths of one service and host that no route, pin or
// spec explained, one node per segment, with their traffic.
type pathTrie struct {
	root trieNode
}

type trieNode struct {
	parent *trieNode
	// label is the literal segment; empty for a parameter node.
	label   string
	isParam bool
	// children are the literal children in insertion order; index finds
	// them by label once there are more than smallFanout. Most nodes have
	// a handful of children, and a map each would dominate memory.
	children []*trieNode
	index    map[string]*trieNode
	param    *trieNode

	// hits is the traffic through the node, endHits the traffic ending at
	// it; has2xx is set when any of it succeeded.
	hits, endHits int64
	has2xx        bool

	// class is the classifier's answer for a literal node.
	class segClass
	// protected literals are never collapsed: user-reserved words and
	// do-not-merge paths.
	protected bool
	// prefix is set when every segment from the root to here is reserved
	// (/api, /api/v1): the children of such a node are resource names and
	// are never collapsed, like the first segment of a path.
	prefix bool

	// kinds has bit k set when a value of SegmentKind k reached this
	// parameter node; placeholder is the smallest {name} given in input.
	kinds       uint32
	placeholder string
	// collapsed is set on a parameter node that sibling cardinality or
	// peer digits fed.
	collapsed bool

	// forward points to the node this one was absorbed into.
	forward *trieNode

	leaf *leafTemplate
}

// leafTemplate is the template of the path ending at one node.
type leafTemplate struct {
	template string
	names    []string
	kinds    []uint32
	source   Source
}

// trieSeg is one segment as the trie sees it.
type trieSeg struct {
	text  string
	class segClass
	// param is set when the segment goes to the parameter child: the
	// classifier said so or the text is a {placeholder}.
	param       bool
	placeholder string
	// protected forces a literal: a reserved word or a do-not-merge path.
	protected bool
}

func newPathTrie() *pathTrie {
	t := &pathTrie{}
	t.root.prefix = true
	return t
}

// insert adds one observation's segments and traffic and returns the node
// where the path ends. After collapse, resolve that node to find where the
// path ends up.
func (t *pathTrie) insert(segs []trieSeg, hits int64, has2xx bool) *trieNode {
	n := &t.root
	n.hits += hits
	n.has2xx = n.has2xx || has2xx
	for _, s := range segs {
		var next *trieNode
		if s.param {
			next = n.paramChild()
			if s.placeholder != "" {
				next.setPlaceholder(s.placeholder)
			} else {
				next.kinds |= 1 << s.class.kind
			}
		} else {
			next = n.child(s.text)
			if next == nil {
				next = &trieNode{
					parent:    n,
					label:     s.text,
					class:     s.class,
					protected: s.protected,
					prefix:    n.prefix && s.class.reserved,
				}
				n.addChild(next)
			} else if s.protected {
				next.protected = true
			}
		}
		next.hits += hits
		next.has2xx = next.has2xx || has2xx
		n = next
	}
	n.endHits += hits
	return n
}

// smallFanout is the most children a node finds by a linear scan.
const smallFanout = 8

// child returns the literal child labelled label, or nil.
func (n *trieNode) child(label string) *trieNode {
	if n.index != nil {
		return n.index[label]
	}
	for _, c := range n.children {
		if c.label == label {
			return c
		}
	}
	return nil
}

func (n *trieNode) addChild(c *trieNode) {
	n.children = append(n.children, c)
	switch {
	case n.index != nil:
		n.index[c.label] = c
	case len(n.children) > smallFanout:
		n.reindex()
	}
}

// removeChildren drops the literal children for which drop is true.
func (n *trieNode) removeChildren(drop func(*trieNode) bool) {
	n.children = slices.DeleteFunc(n.children, drop)
	n.index = nil
	if len(n.children) > smallFanout {
		n.reindex()
	}
}

func (n *trieNode) reindex() {
	n.index = make(map[string]*trieNode, len(n.children))
	for _, c := range n.children {
		n.index[c.label] = c
	}
}

func (n *trieNode) paramChild() *trieNode {
	if n.param == nil {
		n.param = &trieNode{parent: n, isParam: true}
	}
	return n.param
}

func (n *trieNode) setPlaceholder(name string) {
	if n.placeholder == "" || name < n.placeholder {
		n.placeholder = name
	}
}

// collapse decides, top-down, which literal children become parameters.
// A node is decided before its children, so every merge into a node happens
// before the node itself is examined.
func (t *pathTrie) collapse() {
	t.collapseNode(&t.root)
}

func (t *pathTrie) collapseNode(n *trieNode) {
	if !n.prefix {
		n.mergePeerDigits()
		n.collapseChildren()
	}
	for _, c := range n.children {
		t.collapseNode(c)
	}
	if n.param != nil {
		t.collapseNode(n.param)
	}
}

// mergePeerDigits turns single-digit literal children into the parameter
// when their siblings give evidence: the parameter already holds integers, or
// there are at least three distinct single digits.
func (n *trieNode) mergePeerDigits() {
	var digits []*trieNode
	for _, c := range n.children {
		if c.class.digit && !c.protected {
			digits = append(digits, c)
		}
	}
	if len(digits) == 0 {
		return
	}
	if len(digits) < 3 && (n.param == nil || n.param.kinds&(1<<KindInt) == 0) {
		return
	}
	n.removeChildren(func(c *trieNode) bool { return c.class.digit && !c.protected })
	p := n.paramChild()
	for _, d := range digits {
		p.absorb(d)
	}
	p.kinds |= 1 << KindInt
	p.collapsed = true
}

// collapseChildren applies the two collapse rules to n's literal children.
func (n *trieNode) collapseChildren() {
	if len(n.children) == 0 {
		return
	}
	if len(n.children) > maxLiteralChildren {
		// Rule (b): so many distinct children that they are values,
		// whatever they look like, words included. Protected literals stay.
		n.collapseInto(func(c *trieNode) bool { return !c.protected })
		return
	}
	if n.isParam {
		// A parameter directly under a parameter needs rule (b).
		return
	}
	// Rule (a): enough undecided slugs, none carrying much of the traffic,
	// at least one answered with a 2xx, shaped alike. Words (dictionary and
	// reserved) are known resource names and stay beside the parameter.
	var shapes [3]int // children ending here, with a parameter child, with literal children
	count := 0
	any2xx := false
	for _, c := range n.children {
		if c.protected || c.class.word {
			continue
		}
		if c.hits*100 > n.hits*maxSiblingShare {
			return
		}
		count++
		any2xx = any2xx || c.has2xx
		if c.endHits > 0 {
			shapes[0]++
		}
		if c.param != nil {
			shapes[1]++
		}
		if len(c.children) > 0 {
			shapes[2]++
		}
	}
	if count < minSiblings || !any2xx || slices.Max(shapes[:])*100 < count*minSharedShape {
		return
	}
	n.collapseInto(func(c *trieNode) bool { return !c.protected && !c.class.word })
}

// collapseInto merges the literal children for which pick is true into the
// parameter child.
func (n *trieNode) collapseInto(pick func(*trieNode) bool) {
	var picked []*trieNode
	for _, c := range n.children {
		if pick(c) {
			picked = append(picked, c)
		}
	}
	if len(picked) == 0 {
		return
	}
	n.removeChildren(pick)
	p := n.paramChild()
	for _, c := range picked {
		p.absorb(c)
	}
	p.kinds |= 1 << KindSlug
	p.collapsed = true
}

// absorb merges o and its subtree into n, adding up traffic. Nodes of the
// subtree keep their identity unless they merge with one of n's, which they
// then forward to.
func (n *trieNode) absorb(o *trieNode) {
	o.forward = n
	n.hits += o.hits
	n.endHits += o.endHits
	n.has2xx = n.has2xx || o.has2xx
	n.kinds |= o.kinds
	n.collapsed = n.collapsed || o.collapsed
	if o.placeholder != "" {
		n.setPlaceholder(o.placeholder)
	}
	for _, c := range o.children {
		if e := n.child(c.label); e != nil {
			e.absorb(c)
			continue
		}
		c.parent = n
		c.prefix = false
		n.addChild(c)
	}
	if o.param != nil {
		if n.param == nil {
			o.param.parent = n
			n.param = o.param
		} else {
			n.param.absorb(o.param)
		}
	}
}

// resolve returns the node that n was merged into, or n.
func (n *trieNode) resolve() *trieNode {
	for n.forward != nil {
		n = n.forward
	}
	return n
}

// template returns the template of the path ending at n, building it once.
func (n *trieNode) template() *leafTemplate {
	if n.leaf != nil {
		return n.leaf
	}
	var chain []*trieNode
	for c := n; c.parent != nil; c = c.parent {
		chain = append(chain, c)
	}
	slices.Reverse(chain)
	lt := &leafTemplate{source: SourceClassifier}
	var b strings.Builder
	var used nameSet
	for _, c := range chain {
		b.WriteByte('/')
		if !c.isParam {
			b.WriteString(c.label)
			continue
		}
		name := c.placeholder
		if name == "" {
			name = paramName(c.parent, kindOfMask(c.kinds))
		}
		name = used.unique(name)
		b.WriteByte('{')
		b.WriteString(name)
		b.WriteByte('}')
		lt.names = append(lt.names, name)
		lt.kinds = append(lt.kinds, c.kinds)
		if c.collapsed {
			lt.source = SourceTrie
		}
	}
	if b.Len() == 0 {
		b.WriteByte('/')
	}
	lt.template = b.String()
	n.leaf = lt
	return lt
}

// kindOfMask returns the kind of a parameter from the kinds of its values:
// the one kind, or KindString when there are several or none.
func kindOfMask(mask uint32) SegmentKind {
	if mask == 0 || mask&(mask-1) != 0 {
		return KindString
	}
	for k := SegmentKind(0); k < kindCount; k++ {
		if mask == 1<<k {
			return k
		}
	}
	return KindString
}

// valueNames name parameters whose kind says what the value is, whatever
// collection it belongs to.
var valueNames = map[SegmentKind]string{
	KindDate:  "date",
	KindEmail: "email",
	KindIP:    "ip",
	KindJWT:   "jwt",
	KindPhone: "phone",
	KindSSN:   "ssn",
	KindCard:  "card_number",
}

// paramName names a parameter: a value kind names itself ({date},
// {email}); an identifier under a collection is named after the
// collection's singular ({document_id} under /documents, {order_item_id}
// under /order-items); any other identifier is {id}. Names depend on the
// parent segment rather than on the values where they can, so that a new
// kind of value at a position does not rename the endpoint.
func paramName(parent *trieNode, kind SegmentKind) string {
	if name, ok := valueNames[kind]; ok {
		return name
	}
	if parent != nil && !parent.isParam && parent.parent != nil && !parent.class.reserved {
		if name := collectionParamName(parent.label); name != "" {
			return name
		}
	}
	return "id"
}

// maxCollectionName bounds the part of a parameter name taken from the
// collection segment.
const maxCollectionName = 40

// collectionParamName returns singular(collection)_id in snake_case, or ""
// when the segment does not read as a collection name.
func collectionParamName(label string) string {
	var words []string
	ok := true
	forEachToken(label, func(tok string) bool {
		var buf [48]byte
		if len(tok) > len(buf) {
			ok = false
			return false
		}
		w := lowerInto(buf[:0], tok)
		for _, c := range w {
			if !isLower(c) && !isDigit(c) {
				ok = false
				return false
			}
		}
		words = append(words, string(w))
		return true
	})
	if !ok || len(words) == 0 || !isLower(words[0][0]) {
		return ""
	}
	last := len(words) - 1
	words[last] = singular(words[last])
	name := strings.Join(words, "_")
	if len(name) > maxCollectionName {
		return ""
	}
	if name == "id" {
		return name
	}
	return name + "_id"
}

// nameSet hands out parameter names unique within one template: a repeated
// name gets _2, _3 and so on.
type nameSet struct{ used []string }

func (s *nameSet) unique(name string) string {
	if len(name) > maxParamName {
		name = name[:maxParamName]
	}
	if !slices.Contains(s.used, name) {
		s.used = append(s.used, name)
		return name
	}
	base := name
	if len(base) > maxParamName-4 {
		base = base[:maxParamName-4]
	}
	for k := 2; ; k++ {
		cand := base + "_" + strconv.Itoa(k)
		if !slices.Contains(s.used, cand) {
			s.used = append(s.used, cand)
			return cand
		}
	}
}
