package apimap

import (
	"bytes"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"

	"github.com/getkin/kin-openapi/openapi3"
)

// ErrInvalidSpec is wrapped by every error LoadSpec returns, so that callers
// can tell bad input (a client error) from everything else.
var ErrInvalidSpec = errors.New("invalid OpenAPI document")

// MaxSpecBytes is the largest document LoadSpec accepts.
const MaxSpecBytes = 16 << 20

// Spec is an OpenAPI 3 document reduced to what the API map needs: its
// operations and a matcher from concrete paths to them. A Spec is read-only
// after LoadSpec and safe for concurrent use.
type Spec struct {
	// Title and Version come from the document's info object.
	Title   string
	Version string
	// BasePaths are the distinct path prefixes of the document's servers, in
	// document order; "/" when the document names no server.
	BasePaths []string

	operations []Operation
	paths      []specPath
	matcher    templateMatcher
}

// specPath is one concrete template the spec serves: a spec path under one
// base path.
type specPath struct {
	template string
	segs     []templateSeg
	ops      map[string]int // method → index into Spec.operations
	params   []TemplateParam
}

// Operation is one documented method on one path.
type Operation struct {
	Method string
	// Path is the template as traffic reaches it: the spec path under the
	// operation's first server base path, e.g. /v1/users/{id}.
	Path        string
	OperationID string
	Summary     string
	Deprecated  bool
	// Params are the operation's parameters, the path item's included,
	// ordered by location and then name.
	Params []Param
	// StatusCodes are the documented response codes as written, with range
	// codes upper-cased: "200", "4XX", "default". Sorted.
	StatusCodes []string
}

// Param is one documented parameter.
type Param struct {
	Name string
	// In is "path", "query", "header" or "cookie".
	In       string
	Required bool
	// Type and Format are the schema's JSON type ("integer", "string") and
	// format ("uuid", "date-time"); empty when the schema does not say.
	Type   string
	Format string
}

// DocumentsStatus reports whether the operation documents the HTTP status
// code, exactly, through a range such as 4XX, or through "default".
func (op Operation) DocumentsStatus(code int) bool {
	exact := fmt.Sprint(code)
	rng := fmt.Sprintf("%dXX", code/100)
	for _, c := range op.StatusCodes {
		if c == exact || c == rng || c == "default" {
			return true
		}
	}
	return false
}

// DocumentsQueryParam reports whether the operation documents a query
// parameter of this name.
func (op Operation) DocumentsQueryParam(name string) bool {
	for _, p := range op.Params {
		if p.In == openapi3.ParameterInQuery && p.Name == name {
			return true
		}
	}
	return false
}

// LoadSpec parses an OpenAPI 3.x document, in JSON or YAML. External
// references are refused, so loading never reads a file or the network.
// Every error wraps ErrInvalidSpec and says what is wrong.
func LoadSpec(data []byte) (*Spec, error) {
	if len(data) > MaxSpecBytes {
		return nil, fmt.Errorf("%w: document is %d bytes, more than the %d allowed", ErrInvalidSpec, len(data), MaxSpecBytes)
	}
	if len(bytes.TrimSpace(data)) == 0 {
		return nil, fmt.Errorf("%w: empty document", ErrInvalidSpec)
	}
	doc, err := parseDocument(data)
	if err != nil {
		return nil, fmt.Errorf("%w: parse: %w", ErrInvalidSpec, err)
	}
	switch {
	case doc.OpenAPI == "":
		return nil, fmt.Errorf("%w: no \"openapi\" version field (Swagger 2.0 documents must be converted to OpenAPI 3 first)", ErrInvalidSpec)
	case !strings.HasPrefix(doc.OpenAPI, "3."):
		return nil, fmt.Errorf("%w: openapi version %q is not supported, only 3.x", ErrInvalidSpec, doc.OpenAPI)
	}
	s := &Spec{}
	if doc.Info != nil {
		s.Title, s.Version = doc.Info.Title, doc.Info.Version
	}
	docBases, err := basePaths(doc.Servers)
	if err != nil {
		return nil, fmt.Errorf("%w: servers: %w", ErrInvalidSpec, err)
	}
	s.BasePaths = docBases
	if doc.Paths == nil {
		return s, nil
	}
	keys := doc.Paths.Keys()
	slices.Sort(keys)
	for _, key := range keys {
		item := doc.Paths.Value(key)
		if item == nil {
			continue
		}
		if err := s.addPath(key, item, docBases); err != nil {
			return nil, fmt.Errorf("%w: path %q: %w", ErrInvalidSpec, key, err)
		}
	}
	return s, nil
}

// parseDocument runs kin-openapi's loader. The loader is a large parser fed
// untrusted documents; should it panic, the panic becomes an error here
// rather than taking the server down.
func parseDocument(data []byte) (doc *openapi3.T, err error) {
	defer func() {
		if r := recover(); r != nil {
			doc, err = nil, fmt.Errorf("loader failed: %v", r)
		}
	}()
	loader := openapi3.NewLoader()
	loader.IsExternalRefsAllowed = false
	return loader.LoadFromData(data)
}

// methodOrder is the order in which operations of one path are listed.
var methodOrder = []string{
	http.MethodGet, http.MethodHead, http.MethodPost, http.MethodPut, http.MethodPatch,
	http.MethodDelete, http.MethodOptions, http.MethodTrace, http.MethodConnect, openapi3.MethodQuery,
}

func (s *Spec) addPath(key string, item *openapi3.PathItem, docBases []string) error {
	if _, err := parseTemplate(key); err != nil {
		return err
	}
	itemBases := docBases
	if len(item.Servers) > 0 {
		var err error
		if itemBases, err = basePaths(item.Servers); err != nil {
			return fmt.Errorf("servers: %w", err)
		}
	}
	ops := item.Operations()
	methods := make([]string, 0, len(ops))
	for m := range ops {
		methods = append(methods, m)
	}
	slices.SortFunc(methods, func(a, b string) int {
		ia, ib := slices.Index(methodOrder, a), slices.Index(methodOrder, b)
		if ia < 0 {
			ia = len(methodOrder)
		}
		if ib < 0 {
			ib = len(methodOrder)
		}
		if ia != ib {
			return ia - ib
		}
		return strings.Compare(a, b)
	})
	for _, method := range methods {
		op := ops[method]
		bases := itemBases
		if op.Servers != nil && len(*op.Servers) > 0 {
			var err error
			if bases, err = basePaths(*op.Servers); err != nil {
				return fmt.Errorf("%s servers: %w", method, err)
			}
		}
		params := mergeParams(item.Parameters, op.Parameters)
		opIdx := len(s.operations)
		s.operations = append(s.operations, Operation{
			Method:      strings.ToUpper(method),
			Path:        joinBasePath(bases[0], key),
			OperationID: op.OperationID,
			Summary:     op.Summary,
			Deprecated:  op.Deprecated,
			Params:      params,
			StatusCodes: statusCodes(op.Responses),
		})
		for _, base := range bases {
			full := joinBasePath(base, key)
			fullSegs, err := parseTemplate(full)
			if err != nil {
				return err
			}
			idx, added := s.matcher.add(fullSegs, len(s.paths))
			if added {
				s.paths = append(s.paths, specPath{
					template: full,
					segs:     fullSegs,
					ops:      make(map[string]int),
					params:   templateParams(fullSegs, params),
				})
			}
			if _, dup := s.paths[idx].ops[strings.ToUpper(method)]; !dup {
				s.paths[idx].ops[strings.ToUpper(method)] = opIdx
			}
		}
	}
	return nil
}

// basePaths returns the distinct path prefixes of servers, in order, or "/"
// when there is none. A server URL may be absolute (https://api.example.com/v1),
// relative (/v1) or carry variables, which take their default values.
func basePaths(servers openapi3.Servers) ([]string, error) {
	var out []string
	for _, srv := range servers {
		if srv == nil {
			continue
		}
		u := srv.URL
		for name, v := range srv.Variables {
			if v != nil && v.Default != "" {
				u = strings.ReplaceAll(u, "{"+name+"}", v.Default)
			}
		}
		if i := strings.Index(u, "://"); i >= 0 {
			u = u[i+3:]
			if j := strings.IndexByte(u, '/'); j >= 0 {
				u = u[j:]
			} else {
				u = "/"
			}
		} else if !strings.HasPrefix(u, "/") {
			// A host without a scheme, or a bare relative name: keep what
			// follows the first slash.
			if j := strings.IndexByte(u, '/'); j >= 0 {
				u = u[j:]
			} else {
				u = "/"
			}
		}
		if i := strings.IndexAny(u, "?#"); i >= 0 {
			u = u[:i]
		}
		base := strings.TrimRight(u, "/")
		if base == "" {
			base = "/"
		}
		if _, err := parseTemplate(base); err != nil {
			return nil, fmt.Errorf("url %q: %w", srv.URL, err)
		}
		if !slices.Contains(out, base) {
			out = append(out, base)
		}
	}
	if len(out) == 0 {
		out = []string{"/"}
	}
	return out, nil
}

func joinBasePath(base, path string) string {
	switch {
	case base == "/":
		return path
	case path == "/":
		return base
	}
	return base + path
}

// mergeParams returns the path item's parameters overridden by the
// operation's, as OpenAPI defines, ordered by location and name.
func mergeParams(itemParams, opParams openapi3.Parameters) []Param {
	var out []Param
	add := func(ref *openapi3.ParameterRef) {
		if ref == nil || ref.Value == nil {
			return
		}
		p := ref.Value
		param := Param{Name: p.Name, In: p.In, Required: p.Required}
		if p.Schema != nil && p.Schema.Value != nil {
			sch := p.Schema.Value
			param.Format = sch.Format
			if sch.Type != nil {
				for _, t := range sch.Type.Slice() {
					if t != "null" {
						param.Type = t
						break
					}
				}
			}
		}
		for i := range out {
			if out[i].Name == param.Name && out[i].In == param.In {
				out[i] = param
				return
			}
		}
		out = append(out, param)
	}
	for _, ref := range itemParams {
		add(ref)
	}
	for _, ref := range opParams {
		add(ref)
	}
	slices.SortFunc(out, func(a, b Param) int {
		if c := strings.Compare(a.In, b.In); c != 0 {
			return c
		}
		return strings.Compare(a.Name, b.Name)
	})
	return out
}

func statusCodes(responses *openapi3.Responses) []string {
	if responses == nil {
		return nil
	}
	var out []string
	for _, code := range responses.Keys() {
		if code != "default" {
			code = strings.ToUpper(code)
		}
		out = append(out, code)
	}
	slices.Sort(out)
	return slices.Compact(out)
}

// templateParams lists the parameters of a spec path in order, typed from
// the documented path parameters.
func templateParams(segs []templateSeg, params []Param) []TemplateParam {
	var out []TemplateParam
	add := func(name string) {
		kind := KindString
		for _, p := range params {
			if p.In == openapi3.ParameterInPath && p.Name == name {
				kind = kindOfSchema(p.Type, p.Format)
			}
		}
		out = append(out, TemplateParam{Name: name, Kind: kind})
	}
	for _, s := range segs {
		switch {
		case s.isParam():
			add(s.name)
		case s.isMixed():
			for _, p := range s.parts {
				if p.param {
					add(p.text)
				}
			}
		}
	}
	return out
}

func kindOfSchema(typ, format string) SegmentKind {
	switch {
	case typ == "integer" || typ == "number":
		return KindInt
	case format == "uuid":
		return KindUUID
	case format == "date" || format == "date-time":
		return KindDate
	case format == "email":
		return KindEmail
	case format == "ipv4" || format == "ipv6":
		return KindIP
	}
	return KindString
}

// Operations returns every documented operation, ordered by spec path and
// then method. The slice is the caller's; the Params and StatusCodes inside
// are shared and must not be modified.
func (s *Spec) Operations() []Operation {
	return slices.Clone(s.operations)
}

// Match returns the operation that serves method on path. The path may be a
// raw request path, which is normalised first, or a template: a {name}
// segment matches only a documented parameter. Templates are matched as a
// router would, constants before parameters (see templateMatcher). A HEAD
// request matches the GET operation when HEAD is not documented. The
// returned Operation's Path is the template under the base path that matched.
func (s *Spec) Match(method, path string) (Operation, bool) {
	segs, _ := appendSegments(nil, path)
	p, ok := s.matchPath(segs)
	if !ok {
		return Operation{}, false
	}
	i, ok := p.operation(method)
	if !ok {
		return Operation{}, false
	}
	op := s.operations[i]
	op.Path = p.template
	return op, true
}

// matchPath returns the spec path that best matches the segments.
func (s *Spec) matchPath(segs []string) (*specPath, bool) {
	if s == nil {
		return nil, false
	}
	idx, ok := s.matcher.match(segs)
	if !ok {
		return nil, false
	}
	return &s.paths[idx], true
}

// operation returns the index of the operation for method, with HEAD falling
// back to GET.
func (p *specPath) operation(method string) (int, bool) {
	method = strings.ToUpper(method)
	if i, ok := p.ops[method]; ok {
		return i, true
	}
	if method == http.MethodHead {
		i, ok := p.ops[http.MethodGet]
		return i, ok
	}
	return 0, false
}
