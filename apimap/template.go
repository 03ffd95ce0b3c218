package apimap

import (
	"cmp"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"maps"
	"slices"
	"strings"
)

// DefaultMaxTemplatesPerService is the template cap of a service when
// Options leaves it zero.
const DefaultMaxTemplatesPerService = 2000

// OverflowTemplate is the template of the paths a service has beyond its
// template cap.
const OverflowTemplate = "/__overflow__"

// Observation is one distinct request shape seen in traffic, as the caller
// aggregates it from spans.
type Observation struct {
	// Service is the service.name resource attribute.
	Service string
	// Host is server.address[:port]. Templates are inferred separately for
	// each service and host.
	Host   string
	Method string
	// Path is the raw url.path; a query or fragment is ignored.
	Path string
	// Route is the http.route attribute; empty when the span had none.
	Route string
	// Hits is how many requests the observation stands for.
	Hits int64
	// Has2xx is set when at least one of those requests got a 2xx answer.
	Has2xx bool
}

// Source says which step of the resolution order produced a template.
type Source uint8

// The sources, in the order the Templater tries them; SourceOverflow replaces
// any of them when the service is over its template cap.
const (
	SourcePin        Source = iota + 1 // a user pin
	SourceRoute                        // a trustworthy http.route
	SourceSpec                         // a registered OpenAPI spec
	SourceClassifier                   // the segment classifier alone
	SourceTrie                         // the cardinality trie collapsed a segment
	SourceOverflow                     // the service's template cap was reached
)

var sourceNames = [...]string{
	SourcePin:        "pin",
	SourceRoute:      "route",
	SourceSpec:       "spec",
	SourceClassifier: "classifier",
	SourceTrie:       "trie",
	SourceOverflow:   "overflow",
}

// String returns the source's name, as used in JSON.
func (s Source) String() string {
	if int(s) < len(sourceNames) && sourceNames[s] != "" {
		return sourceNames[s]
	}
	return "unknown"
}

// MarshalText encodes the source as its name.
func (s Source) MarshalText() ([]byte, error) { return []byte(s.String()), nil }

// UnmarshalText decodes a source from its name.
func (s *Source) UnmarshalText(text []byte) error {
	return unmarshalName(s, text, SourcePin, SourceOverflow, "template source")
}

// TemplateParam is one path parameter of a template, in path order.
type TemplateParam struct {
	Name string
	// Kind is the kind of the values seen at this position in the batch (or
	// the spec's declared type): one kind, or KindString when they differ.
	Kind SegmentKind
}

// Result is the template of one Observation.
type Result struct {
	Template string
	// Params are the template's parameters in path order. Results with the
	// same service and template share this slice: do not modify it.
	Params []TemplateParam
	Source Source
	// Method is the observation's method, upper-cased.
	Method string
	// EndpointID is EndpointID(service, Method, Template).
	EndpointID string
	// TrailingSlash records that the raw path ended in "/", which the
	// template drops.
	TrailingSlash bool
	// Sensitive lists the sensitive kinds (e-mail, JWT, phone, IP, SSN, card)
	// found among the raw path's segments, each once, in path order: a
	// "sensitive data in path" finding, whatever the template's source.
	Sensitive []SegmentKind
}

// ServicePath names a path or template within one service, or within every
// service when Service is empty.
type ServicePath struct {
	Service string
	Path    string
}

// Options configure a Templater.
type Options struct {
	// MaxTemplatesPerService caps the distinct templates of one service;
	// zero means DefaultMaxTemplatesPerService. Beyond it the least-visited
	// templates become OverflowTemplate. Pinned and documented templates
	// always stay, and count towards the cap.
	MaxTemplatesPerService int
	// Specs maps a service name to its OpenAPI spec; the spec under ""
	// applies to services that have none of their own.
	Specs map[string]*Spec
	// Pins are templates that must be kept: a matching path gets the pinned
	// template before anything else is tried. Parameters are written {name}.
	Pins []ServicePath
	// DoNotMerge are literal paths whose segments must stay literal, such as
	// a merge that a user undid: they are neither classified as parameters
	// nor collapsed by the trie.
	DoNotMerge []ServicePath
	// ReservedWords are segments, compared case-insensitively, that are
	// never parameters (Optic users asked for "public" and "internal").
	ReservedWords []string
}

// Templater turns raw request paths into endpoint templates. It is
// read-only after NewTemplater and safe for concurrent use; each Template
// call infers from its own batch only.
type Templater struct {
	maxTemplates int
	specs        map[string]*Spec
	pins         map[string]*pinSet
	doNotMerge   map[string]*literalTree
	reserved     map[string]struct{}
}

// pinSet is the pinned templates of one service.
type pinSet struct {
	matcher   templateMatcher
	templates []pinnedTemplate
}

type pinnedTemplate struct {
	template string
	segs     []templateSeg
}

// literalTree is a set of literal paths, as a tree of segments.
type literalTree struct {
	children map[string]*literalTree
}

// NewTemplater checks the options and returns a Templater. A pin must be a
// valid template and a do-not-merge path must be literal.
func NewTemplater(opts Options) (*Templater, error) {
	t := &Templater{
		maxTemplates: opts.MaxTemplatesPerService,
		specs:        maps.Clone(opts.Specs),
		pins:         make(map[string]*pinSet),
		doNotMerge:   make(map[string]*literalTree),
		reserved:     make(map[string]struct{}),
	}
	if t.maxTemplates <= 0 {
		t.maxTemplates = DefaultMaxTemplatesPerService
	}
	for _, pin := range opts.Pins {
		segs, err := parseTemplate(pin.Path)
		if err != nil {
			return nil, fmt.Errorf("pin for service %q: %w", pin.Service, err)
		}
		set := t.pins[pin.Service]
		if set == nil {
			set = &pinSet{}
			t.pins[pin.Service] = set
		}
		if _, added := set.matcher.add(segs, len(set.templates)); added {
			set.templates = append(set.templates, pinnedTemplate{template: templateString(segs), segs: segs})
		}
	}
	for _, dnm := range opts.DoNotMerge {
		if !strings.HasPrefix(dnm.Path, "/") || strings.ContainsAny(dnm.Path, "{}") {
			return nil, fmt.Errorf("do-not-merge path %q for service %q: want a literal path starting with \"/\"", dnm.Path, dnm.Service)
		}
		tree := t.doNotMerge[dnm.Service]
		if tree == nil {
			tree = &literalTree{}
			t.doNotMerge[dnm.Service] = tree
		}
		segs, _ := appendSegments(nil, dnm.Path)
		for _, s := range segs {
			if tree.children == nil {
				tree.children = make(map[string]*literalTree)
			}
			next := tree.children[s]
			if next == nil {
				next = &literalTree{}
				tree.children[s] = next
			}
			tree = next
		}
	}
	for _, w := range opts.ReservedWords {
		t.reserved[strings.ToLower(w)] = struct{}{}
	}
	return t, nil
}

// templateString writes parsed template segments back as a template.
func templateString(segs []templateSeg) string {
	if len(segs) == 0 {
		return "/"
	}
	var b strings.Builder
	for _, s := range segs {
		b.WriteByte('/')
		switch {
		case s.isParam():
			b.WriteString("{" + s.name + "}")
		case s.isMixed():
			for _, p := range s.parts {
				if p.param {
					b.WriteString("{" + p.text + "}")
				} else {
					b.WriteString(p.text)
				}
			}
		default:
			b.WriteString(s.lit)
		}
	}
	return b.String()
}

// EndpointID returns the stable id of an endpoint: the first 16 hex digits of
// SHA-256 over service, method and template joined by NUL bytes. The same
// endpoint keeps its id across runs, versions and machines.
func EndpointID(service, method, template string) string {
	h := sha256.New()
	h.Write([]byte(service))
	h.Write([]byte{0})
	h.Write([]byte(method))
	h.Write([]byte{0})
	h.Write([]byte(template))
	var sum [sha256.Size]byte
	return hex.EncodeToString(h.Sum(sum[:0])[:8])
}

// batch is the working state of one Template call.
type batch struct {
	t   *Templater
	obs []Observation
	// segs, class and tsegs are scratch space for the observation being
	// resolved: its normalised segments, their classes and its trie
	// segments. Nothing keeps them once it is resolved.
	segs  []string
	class []segClass
	tsegs []trieSeg
	// words caches the classes of word segments, which repeat from path
	// to path (users, api, v1); ids rarely do and are not cached.
	words map[string]segClass
	items []item
	// groups collects the results per service and template.
	groups map[groupKey]*templateGroup
	tries  map[trieKey]*pathTrie
	routes map[string]parsedRoute
}

// item is one observation in flight.
type item struct {
	trailing  bool
	method    string
	sensitive []SegmentKind
	source    Source
	group     *templateGroup
	// leaf is where the observation's path ended in its trie, before
	// collapse; nil when a pin, route or spec resolved it.
	leaf *trieNode
}

type groupKey struct{ service, template string }
type trieKey struct{ service, host string }

// templateGroup is one template of one service in the batch.
type templateGroup struct {
	key groupKey
	// exempt is set when a pin or the spec gave the template: it never
	// overflows.
	exempt bool
	names  []string
	// kinds has, per parameter, the kinds of the values seen there;
	// declared has the spec's declared kinds, or nil.
	kinds    []uint32
	declared []SegmentKind
	hits     int64
	params   []TemplateParam
	overflow bool
	// ids caches EndpointID by method.
	ids []methodID
}

type methodID struct{ method, id string }

// endpointID returns EndpointID for the group's template and method.
func (g *templateGroup) endpointID(method, template string) string {
	for _, m := range g.ids {
		if m.method == method {
			return m.id
		}
	}
	id := EndpointID(g.key.service, method, template)
	g.ids = append(g.ids, methodID{method, id})
	return id
}

// Template returns the template of every observation, in input order. It
// infers from the whole batch, so pass every distinct observation of the
// period at once: sibling paths are what lets the trie decide.
//
// Each observation is resolved by the first step that applies: a pin; a
// trustworthy http.route; the service's OpenAPI spec; otherwise the segment
// classifier and then the cardinality trie of its service and host. See the
// package documentation for the rules and thresholds.
func (t *Templater) Template(obs []Observation) []Result {
	b := &batch{
		t:      t,
		obs:    obs,
		items:  make([]item, len(obs)),
		words:  make(map[string]segClass),
		groups: make(map[groupKey]*templateGroup),
		tries:  make(map[trieKey]*pathTrie),
		routes: make(map[string]parsedRoute),
	}
	for i := range obs {
		b.resolve(i)
	}
	for _, trie := range b.tries {
		trie.collapse()
	}
	for i := range b.items {
		it := &b.items[i]
		if it.leaf == nil {
			continue
		}
		lt := it.leaf.resolve().template()
		g := b.group(obs[i].Service, lt.template, lt.names)
		for k, mask := range lt.kinds {
			g.kinds[k] |= mask
		}
		g.hits += obs[i].Hits
		it.group, it.source = g, lt.source
	}
	b.applyCap()
	return b.results()
}

// resolve normalises and classifies observation i and resolves it by pin,
// route or spec, or queues it for its trie.
func (b *batch) resolve(i int) {
	o := &b.obs[i]
	it := &b.items[i]
	it.method = strings.ToUpper(strings.TrimSpace(o.Method))
	b.segs, it.trailing = appendSegments(b.segs[:0], o.Path)
	b.class = b.class[:0]
	segs := b.segs
	for _, s := range segs {
		c, ok := b.words[s]
		if !ok {
			c = classify(s)
			if c.word {
				b.words[s] = c
			}
		}
		b.class = append(b.class, c)
		if c.kind.Sensitive() && !slices.Contains(it.sensitive, c.kind) {
			it.sensitive = append(it.sensitive, c.kind)
		}
	}
	classes := b.class

	for _, service := range [...]string{o.Service, ""} {
		if set := b.t.pins[service]; set != nil {
			if idx, ok := set.matcher.match(segs); ok {
				p := set.templates[idx]
				b.addTemplated(i, p.template, SourcePin, p.segs, nil, segs, classes)
				return
			}
		}
	}
	if o.Route != "" {
		pr, ok := b.routes[o.Route]
		if !ok {
			pr = parseRoute(o.Route)
			b.routes[o.Route] = pr
		}
		if pr.trusted {
			if m, ok := applyRoute(pr, segs, classes); ok && m.template != "/"+strings.Join(segs, "/") {
				g := b.group(o.Service, m.template, m.names)
				for k, raw := range m.rawIndex {
					g.kinds[k] |= rawKindMask(raw, classes)
				}
				g.hits += o.Hits
				it.group, it.source = g, SourceRoute
				return
			}
		}
	}
	if spec := b.specFor(o.Service); spec != nil {
		if p, ok := spec.matchPath(segs); ok {
			b.addTemplated(i, p.template, SourceSpec, p.segs, p.params, segs, classes)
			return
		}
	}
	b.queueForTrie(i, segs, classes)
}

func (b *batch) specFor(service string) *Spec {
	if s := b.t.specs[service]; s != nil {
		return s
	}
	return b.t.specs[""]
}

// addTemplated records a template that a pin or spec gave. Whole-parameter
// segments take the kind of the raw value under them; mixed ones are strings.
func (b *batch) addTemplated(i int, template string, src Source, tsegs []templateSeg, declared []TemplateParam, segs []string, classes []segClass) {
	var names []string
	var masks []uint32
	for k, s := range tsegs {
		switch {
		case s.isParam():
			names = append(names, s.name)
			masks = append(masks, rawKindMask(k, classes))
		case s.isMixed():
			for _, p := range s.parts {
				if p.param {
					names = append(names, p.text)
					masks = append(masks, 1<<KindString)
				}
			}
		}
	}
	g := b.group(b.obs[i].Service, template, names)
	g.exempt = true
	if declared != nil && g.declared == nil {
		g.declared = make([]SegmentKind, len(declared))
		for k, p := range declared {
			g.declared[k] = p.Kind
		}
	}
	for k, m := range masks {
		if k < len(g.kinds) {
			g.kinds[k] |= m
		}
	}
	g.hits += b.obs[i].Hits
	b.items[i].group, b.items[i].source = g, src
}

// rawKindMask is the kind bit of the raw segment at index raw; a literal
// value counts as a slug and a wildcard (-1) as a string.
func rawKindMask(raw int, classes []segClass) uint32 {
	if raw < 0 || raw >= len(classes) {
		return 1 << KindString
	}
	if k := classes[raw].kind; k != KindLiteral {
		return 1 << k
	}
	return 1 << KindSlug
}

// queueForTrie caps the segments, decides which go to the parameter child,
// and inserts the observation into the trie of its service and host.
func (b *batch) queueForTrie(i int, segs []string, classes []segClass) {
	o := &b.obs[i]
	it := &b.items[i]
	n := min(len(segs), MaxSegments)
	ts := slices.Grow(b.tsegs[:0], n)[:n]
	clear(ts)
	b.tsegs = ts
	// Do-not-merge paths of the service and of every service are walked
	// alongside the path.
	dnm := [2]*literalTree{b.t.doNotMerge[o.Service], b.t.doNotMerge[""]}
	for k := range n {
		s := &ts[k]
		if k == MaxSegments-1 && len(segs) > MaxSegments {
			s.text, s.param, s.placeholder = "{rest}", true, "rest"
			break
		}
		s.text, s.class = segs[k], classes[k]
		protected := false
		for j, tree := range dnm {
			if tree != nil {
				dnm[j] = tree.children[s.text]
				protected = protected || dnm[j] != nil
			}
		}
		switch {
		case protected || b.isReservedWord(s.text):
			s.protected = true
		default:
			if name, ok := placeholderName(s.text); ok {
				s.param, s.placeholder = true, name
			} else {
				s.param = s.class.kind.IsParam()
			}
		}
	}
	key := trieKey{o.Service, o.Host}
	trie := b.tries[key]
	if trie == nil {
		trie = newPathTrie()
		b.tries[key] = trie
	}
	it.leaf = trie.insert(ts, o.Hits, o.Has2xx)
}

func (b *batch) isReservedWord(seg string) bool {
	if len(b.t.reserved) == 0 {
		return false
	}
	_, ok := b.t.reserved[strings.ToLower(seg)]
	return ok
}

// group returns the group of a template, creating it with the given
// parameter names on first use. Equal templates have equal names.
func (b *batch) group(service, template string, names []string) *templateGroup {
	key := groupKey{service, template}
	g := b.groups[key]
	if g == nil {
		g = &templateGroup{key: key, names: names, kinds: make([]uint32, len(names))}
		b.groups[key] = g
	}
	return g
}

// applyCap sends the least-visited templates of a service over its cap to
// the overflow bucket. Pinned and documented templates always stay; one slot
// is kept for the overflow bucket itself.
func (b *batch) applyCap() {
	perService := make(map[string][]*templateGroup)
	for _, g := range b.groups {
		perService[g.key.service] = append(perService[g.key.service], g)
	}
	for _, groups := range perService {
		if len(groups) <= b.t.maxTemplates {
			continue
		}
		var kept, candidates []*templateGroup
		for _, g := range groups {
			if g.exempt {
				kept = append(kept, g)
			} else {
				candidates = append(candidates, g)
			}
		}
		slices.SortFunc(candidates, func(x, y *templateGroup) int {
			if c := cmp.Compare(y.hits, x.hits); c != 0 {
				return c
			}
			return strings.Compare(x.key.template, y.key.template)
		})
		room := max(b.t.maxTemplates-len(kept)-1, 0)
		for _, g := range candidates[min(room, len(candidates)):] {
			g.overflow = true
		}
	}
}

// results builds the Result of every observation.
func (b *batch) results() []Result {
	out := make([]Result, len(b.items))
	for i := range b.items {
		it := &b.items[i]
		g := it.group
		r := Result{
			Template:      g.key.template,
			Source:        it.source,
			Method:        it.method,
			TrailingSlash: it.trailing,
			Sensitive:     it.sensitive,
		}
		if g.overflow {
			r.Template, r.Source = OverflowTemplate, SourceOverflow
		} else {
			r.Params = g.finalParams()
		}
		r.EndpointID = g.endpointID(r.Method, r.Template)
		out[i] = r
	}
	return out
}

// finalParams turns the group's names and kinds into its parameters, once.
func (g *templateGroup) finalParams() []TemplateParam {
	if g.params != nil || len(g.names) == 0 {
		return g.params
	}
	g.params = make([]TemplateParam, len(g.names))
	for k, name := range g.names {
		kind := kindOfMask(g.kinds[k])
		if k < len(g.declared) && g.declared[k] != KindString {
			kind = g.declared[k]
		}
		g.params[k] = TemplateParam{Name: name, Kind: kind}
	}
	return g.params
}
