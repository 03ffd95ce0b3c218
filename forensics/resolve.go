package forensics

import (
	"fmt"
	"regexp"
	"slices"
	"strings"
	"unicode"
)

// ParseError is a question the grammar does not cover. Its message says
// what was not understood and what to write instead.
type ParseError struct {
	Question string
	// Word is the word or value that was not understood ("" when the
	// question as a whole is the problem).
	Word string
	Msg  string
	// Suggestions are close words or names ("did you mean").
	Suggestions []string
	// Examples are questions of the same shape that parse.
	Examples []string
}

// Error implements error.
func (e *ParseError) Error() string {
	var b strings.Builder
	if e.Word != "" {
		fmt.Fprintf(&b, "cannot read %q: ", e.Word)
	}
	b.WriteString(e.Msg)
	if len(e.Suggestions) > 0 {
		qs := make([]string, len(e.Suggestions))
		for i, s := range e.Suggestions {
			qs[i] = fmt.Sprintf("%q", s)
		}
		b.WriteString("; did you mean " + strings.Join(qs, " or ") + "?")
	}
	if len(e.Examples) > 0 {
		b.WriteString(" Try: ")
		for i, ex := range e.Examples {
			if i > 0 {
				b.WriteString(" or ")
			}
			fmt.Fprintf(&b, "%q", ex)
		}
	}
	return b.String()
}

// Examples are questions the grammar answers, shown when a question is
// not understood.
var Examples = []string{
	"Show all requests to /admin/export in the last 7 days",
	"Count unique collection IDs accessed via /admin/export in the last 7 days",
	"top 10 IPs by bytes downloaded yesterday",
	"requests from 104.248.73.19 by day",
	"which API keys called /admin/* in the last 24 hours",
	"4xx rate per endpoint in the last hour",
}

func (p *parser) fail(word, format string, args ...any) error {
	return &ParseError{Question: p.q, Word: word, Msg: fmt.Sprintf(format, args...), Examples: Examples[:2]}
}

func (p *parser) failHere(format string, args ...any) error {
	word := ""
	if t, ok := p.tok(0); ok {
		word = t.raw
	} else if p.i > 0 {
		word = p.toks[p.i-1].raw
	}
	return p.fail(word, format, args...)
}

// unknown refuses a word the grammar does not know, with the closest
// grammar words, endpoint segments and parameter names.
func (p *parser) unknown(t token) error {
	var cands []string
	for w := range vocabulary {
		cands = append(cands, w)
	}
	for _, e := range p.eps {
		cands = append(cands, e.QueryParams...)
		for seg := range strings.SplitSeq(e.Template, "/") {
			if seg != "" && !strings.HasPrefix(seg, "{") {
				cands = append(cands, "/"+seg)
			}
		}
	}
	sugg := closest(t.text, cands, 3)
	return &ParseError{Question: p.q, Word: t.raw, Msg: "unknown word", Suggestions: sugg, Examples: Examples[:3]}
}

// vocabulary is every word the grammar reads, for "did you mean".
var vocabulary = map[string]bool{}

func init() {
	for w := range stopwords {
		vocabulary[w] = true
	}
	for w := range accessVerbs {
		vocabulary[w] = true
	}
	for w := range statusWords {
		vocabulary[w] = true
	}
	for _, m := range measurePhrases {
		for _, w := range m.words {
			vocabulary[w] = true
		}
	}
	for _, d := range dimPhrases {
		for _, w := range d.words {
			vocabulary[w] = true
		}
	}
	for _, w := range strings.Fields(`count counts distinct unique different top total sum average avg mean maximum max
		largest biggest highest peak rate ratio percentage share proportion fraction timeline time series trend
		histogram show list display find get give which what how many number grouped broken split for each per by
		daily hourly sorted ordered order sort ranked most recent latest newest oldest earliest first limit last past
		previous today yesterday this week since after between from to until through and on excluding except not
		other than without user agent ua api key token credential account service country asn status code response
		greater less more fewer above below under over beyond before equal equals is at least minute minutes hour
		hours day days week weeks month months query parameter param values value busiest heaviest noisiest active
		contains containing like matching includes id`) {
		vocabulary[w] = true
	}
}

func isGrammarWord(w string) bool { return vocabulary[w] }

// closest returns up to n candidates within a small edit distance of w.
func closest(w string, cands []string, n int) []string {
	type scored struct {
		s string
		d int
	}
	limit := 1
	if len(w) >= 5 {
		limit = 2
	}
	var out []scored
	seen := map[string]bool{}
	for _, c := range cands {
		key := strings.ToLower(strings.TrimPrefix(c, "/"))
		if seen[c] || key == w {
			continue
		}
		seen[c] = true
		if d := editDistance(w, key, limit); d <= limit {
			out = append(out, scored{c, d})
		}
	}
	slices.SortFunc(out, func(a, b scored) int {
		if a.d != b.d {
			return a.d - b.d
		}
		return strings.Compare(a.s, b.s)
	})
	var res []string
	for i := 0; i < len(out) && i < n; i++ {
		res = append(res, out[i].s)
	}
	return res
}

// editDistance is the Levenshtein distance of a and b, or limit+1 once it
// exceeds limit.
func editDistance(a, b string, limit int) int {
	ra, rb := []rune(a), []rune(b)
	if d := len(ra) - len(rb); d > limit || -d > limit {
		return limit + 1
	}
	prev := make([]int, len(rb)+1)
	cur := make([]int, len(rb)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(ra); i++ {
		cur[0] = i
		best := cur[0]
		for j := 1; j <= len(rb); j++ {
			cost := 1
			if ra[i-1] == rb[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
			best = min(best, cur[j])
		}
		if best > limit {
			return limit + 1
		}
		prev, cur = cur, prev
	}
	return prev[len(rb)]
}

var pathRE = regexp.MustCompile(`^/[A-Za-z0-9_\-.~{}*:@%+/]*$`)

// pathFilter resolves a path as written against the observed endpoints:
// a template or a suffix of one on a segment boundary (/admin/export
// matches /v1/admin/export), a concrete path, or a glob (/admin/*).
func (p *parser) pathFilter(path string) error {
	if !pathRE.MatchString(path) || len(path) > 300 {
		return p.fail(path, "a path may hold letters, digits and - _ . ~ { } * : @ %% + only")
	}
	if path != "/" {
		path = strings.TrimSuffix(path, "/")
	}
	if strings.Contains(path, "*") {
		re := globRegexp(path)
		var hit bool
		for _, e := range p.eps {
			if re.MatchString(e.Template) {
				hit = true
				break
			}
		}
		if !hit && len(p.eps) > 0 {
			p.ir.Notes = append(p.ir.Notes, fmt.Sprintf("no observed endpoint matches %s", path))
		}
		p.addFilter(Filter{Field: FieldEndpoint, Op: OpGlob, Value: path})
		return nil
	}
	var templates []string
	for _, e := range p.eps {
		if templateSuffix(e.Template, path) && !slices.Contains(templates, e.Template) {
			templates = append(templates, e.Template)
		}
	}
	if len(templates) > 0 {
		// Prefer the templates that need the shortest prefix: /documents
		// is /v1/documents rather than /v1/collections/{id}/documents.
		shortest := -1
		for _, t := range templates {
			if n := strings.Count(t, "/"); shortest < 0 || n < shortest {
				shortest = n
			}
		}
		templates = slices.DeleteFunc(templates, func(t string) bool { return strings.Count(t, "/") > shortest })
		slices.Sort(templates)
		p.addFilter(Filter{Field: FieldEndpoint, Op: OpTemplate, Value: path, Values: templates})
		return nil
	}
	var concrete bool
	for _, e := range p.eps {
		if templateRegexp(e.Template, true).MatchString(path) {
			concrete = true
			break
		}
	}
	if !concrete && len(p.eps) > 0 {
		var cands []string
		for _, e := range p.eps {
			cands = append(cands, e.Template)
		}
		note := fmt.Sprintf("no observed endpoint matches %s; it is matched as written", path)
		if s := closestPaths(path, cands); len(s) > 0 {
			note += "; did you mean " + strings.Join(s, " or ") + "?"
		}
		p.ir.Notes = append(p.ir.Notes, note)
	}
	p.addFilter(Filter{Field: FieldEndpoint, Op: OpSuffix, Value: path})
	return nil
}

// closestPaths suggests templates close to path, compared on their tails.
func closestPaths(path string, templates []string) []string {
	var out []string
	for _, t := range templates {
		tail := t
		if n := strings.Count(path, "/"); n > 0 {
			segs := strings.Split(t, "/")
			if len(segs) > n {
				tail = "/" + strings.Join(segs[len(segs)-n:], "/")
			}
		}
		if editDistance(strings.ToLower(path), strings.ToLower(tail), 3) <= 3 && !slices.Contains(out, t) {
			out = append(out, t)
		}
	}
	slices.Sort(out)
	if len(out) > 3 {
		out = out[:3]
	}
	return out
}

// templateSuffix reports whether path is template or its suffix on a
// segment boundary, path parameters compared as {}.
func templateSuffix(template, path string) bool {
	t, p := normTemplate(template), normTemplate(path)
	if t == p {
		return true
	}
	return p != "/" && strings.HasSuffix(t, p) && (strings.HasPrefix(p, "/") || t[len(t)-len(p)-1] == '/')
}

var paramSegRE = regexp.MustCompile(`\{[^/}]*\}`)

func normTemplate(s string) string { return paramSegRE.ReplaceAllString(strings.ToLower(s), "{}") }

// templateRegexp matches the paths of a template, anchored at the end and,
// when suffix is set, at any segment boundary at the start.
func templateRegexp(template string, suffix bool) *regexp.Regexp {
	return regexp.MustCompile(templatePattern(template, suffix))
}

// templatePattern is the RE2 pattern of templateRegexp. Literal characters
// are escaped with character classes ([.]) rather than backslashes, so that
// the pattern reads the same as a string literal in DuckDB and ClickHouse.
func templatePattern(template string, suffix bool) string {
	var b strings.Builder
	b.WriteString("^")
	if suffix {
		b.WriteString("(/[^/]+)*")
	}
	for i := 0; i < len(template); i++ {
		c := template[i]
		switch {
		case c == '{':
			end := strings.IndexByte(template[i:], '}')
			if end < 0 {
				writeLiteral(&b, c)
				continue
			}
			b.WriteString("[^/]+")
			i += end
		default:
			writeLiteral(&b, c)
		}
	}
	b.WriteString("$")
	return b.String()
}

// globRegexp matches the paths of a glob: "*" is one segment or part of
// one, a trailing "/*" anything below; the glob may match a suffix.
func globRegexp(glob string) *regexp.Regexp { return regexp.MustCompile(globPattern(glob)) }

func globPattern(glob string) string {
	var b strings.Builder
	b.WriteString("^(/[^/]+)*")
	body, rest := glob, false
	if strings.HasSuffix(glob, "/*") {
		body, rest = strings.TrimSuffix(glob, "/*"), true
	}
	for i := 0; i < len(body); i++ {
		switch c := body[i]; c {
		case '*':
			b.WriteString("[^/]*")
		case '{':
			if end := strings.IndexByte(body[i:], '}'); end > 0 {
				b.WriteString("[^/]+")
				i += end
				continue
			}
			writeLiteral(&b, c)
		default:
			writeLiteral(&b, c)
		}
	}
	if rest {
		b.WriteString("/.+")
	}
	b.WriteString("$")
	return b.String()
}

// writeLiteral writes c as an RE2 literal without backslashes where it can.
func writeLiteral(b *strings.Builder, c byte) {
	switch c {
	case '.', '+', '*', '?', '(', ')', '|', '{', '}', '$', '[':
		b.WriteByte('[')
		b.WriteByte(c)
		b.WriteByte(']')
	case '^', ']', '\\':
		b.WriteByte('\\')
		b.WriteByte(c)
	default:
		b.WriteByte(c)
	}
}

// regexLiteral escapes s for RE2 with writeLiteral.
func regexLiteral(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		writeLiteral(&b, s[i])
	}
	return b.String()
}

// finish resolves parameter phrases and settles the intent, measure,
// window, order and limit.
func (p *parser) finish() error {
	if p.negateNext {
		return p.fail("", "\"not\"/\"excluding\" must be followed by what to exclude, e.g. \"excluding 10.0.0.0/8\"")
	}
	ir := p.ir
	params := p.observedParams()
	for _, pd := range p.pendingDims {
		d := p.distinct
		if pd.where == "group" {
			d = &ir.GroupBy[pd.idx]
		}
		name, err := p.resolveParam(d.Param, params)
		if err != nil {
			return err
		}
		d.Param = name
	}
	for _, i := range p.pendingFilters {
		name, err := p.resolveParam(ir.Filters[i].Param, params)
		if err != nil {
			return err
		}
		ir.Filters[i].Param = name
	}
	if !p.windowSet {
		ir.Window = Window{Kind: WindowLast, N: DefaultWindowHours, Unit: "hour", Default: true}
		if slices.ContainsFunc(ir.GroupBy, func(d Dimension) bool { return d.Kind == DimDay }) {
			// "by day" over one day says little: a week by default.
			ir.Window = Window{Kind: WindowLast, N: 7, Unit: "day", Default: true}
		}
	}
	if p.distinct != nil {
		if p.countAsked || ir.Intent == IntentCount {
			ir.Intent = IntentCountDistinct
			ir.Measure = Measure{Kind: MeasureDistinct, Of: *p.distinct}
		} else {
			p.groupBy(*p.distinct)
		}
	}
	if ir.Intent == "" || ir.Intent == IntentList {
		switch {
		case len(ir.GroupBy) > 0:
			ir.Intent = IntentCount
		case ir.Measure.Kind == MeasureLatency:
			ir.Intent = IntentAvg
		case ir.Measure.Kind == MeasureResponseBytes || ir.Measure.Kind == MeasureRequestBytes:
			ir.Intent = IntentSum
		default:
			ir.Intent = IntentList
		}
	}
	if ir.Measure.Kind == "" {
		ir.Measure.Kind = MeasureRequests
	}
	switch ir.Intent {
	case IntentCount:
		switch ir.Measure.Kind {
		case MeasureResponseBytes, MeasureRequestBytes:
			ir.Intent = IntentSum
		case MeasureLatency:
			ir.Intent = IntentAvg
		}
	case IntentSum:
		if ir.Measure.Kind == MeasureRequests {
			ir.Intent = IntentCount
		}
	case IntentAvg, IntentMax:
		if ir.Measure.Kind == MeasureRequests {
			return p.fail("", "%s of what? requests are counted; try \"average latency\" or \"max response bytes\"", ir.Intent)
		}
	case IntentTop:
		if !slices.ContainsFunc(ir.GroupBy, func(d Dimension) bool { return !d.IsTime() }) {
			return p.fail("", "top what? name what to rank")
		}
		if ir.Limit == 0 {
			ir.Limit = DefaultTop
		}
	case IntentRate:
		k := slices.IndexFunc(ir.Filters, func(f Filter) bool { return f.Field == FieldStatus && !f.Negate })
		for j := len(ir.Filters) - 1; j > k && k >= 0; j-- {
			if ir.Filters[j].Field == FieldStatus && !ir.Filters[j].Negate {
				k = j
				break
			}
		}
		if k < 0 {
			return p.fail("rate", "a rate of what? name a status, e.g. \"4xx rate\", \"error rate\" or \"404 rate\"")
		}
		f := ir.Filters[k]
		ir.Rate = &f
		ir.Filters = slices.Delete(ir.Filters, k, k+1)
		ir.Measure = Measure{Kind: MeasureRequests}
	case IntentTimeline:
		if slices.ContainsFunc(ir.GroupBy, Dimension.IsTime) {
			ir.Intent = IntentCount
		}
	}
	if ir.Intent == IntentCountDistinct && p.accessVerb && ir.Measure.Of.Kind == DimParam &&
		!slices.ContainsFunc(ir.Filters, func(f Filter) bool { return f.Field == FieldStatus }) {
		ir.Filters = append(ir.Filters, Filter{Field: FieldStatus, Op: OpClass, Value: "2xx"})
		ir.Notes = append(ir.Notes, "\"accessed\" is read as served: only successful (2xx) requests are counted")
	}
	if ir.Order.By == "" {
		switch {
		case ir.Intent == IntentList:
			ir.Order = Order{By: "time", Desc: true}
		case len(ir.GroupBy) > 0 && !slices.ContainsFunc(ir.GroupBy, func(d Dimension) bool { return !d.IsTime() }):
			ir.Order = Order{By: "time"}
		case len(ir.GroupBy) > 0:
			ir.Order = Order{By: "measure", Desc: true}
		}
	}
	return nil
}

// observedParams returns the query parameter names seen on the endpoints
// the question is about (every endpoint when it names none).
func (p *parser) observedParams() []string {
	var paths []Filter
	for _, f := range p.ir.Filters {
		if f.Field == FieldEndpoint && !f.Negate {
			paths = append(paths, f)
		}
	}
	var out []string
	for _, e := range p.eps {
		if len(paths) > 0 && !slices.ContainsFunc(paths, func(f Filter) bool { return endpointMatches(f, e.Template) }) {
			continue
		}
		for _, q := range e.QueryParams {
			if !slices.Contains(out, q) {
				out = append(out, q)
			}
		}
	}
	if len(out) == 0 && len(paths) > 0 {
		for _, e := range p.eps {
			for _, q := range e.QueryParams {
				if !slices.Contains(out, q) {
					out = append(out, q)
				}
			}
		}
	}
	slices.Sort(out)
	return out
}

func endpointMatches(f Filter, template string) bool {
	switch f.Op {
	case OpTemplate:
		return slices.Contains(f.Values, template)
	case OpGlob:
		return globRegexp(f.Value).MatchString(template)
	default:
		return templateRegexp(template, true).MatchString(f.Value) || templateSuffix(template, f.Value)
	}
}

var identRE = regexp.MustCompile(`^[A-Za-z0-9_.\-\[\]]{1,64}$`)

// resolveParam maps a phrase ("collection IDs", "page numbers") to an
// observed query parameter name, matching plural and singular, snake_case
// and spaces, and with or without an "id" suffix. It refuses ambiguous and
// unknown phrases with the observed names.
func (p *parser) resolveParam(phrase string, observed []string) (string, error) {
	if len(p.eps) == 0 {
		if identRE.MatchString(phrase) {
			p.ir.Notes = append(p.ir.Notes, fmt.Sprintf("parameter %s was not checked against traffic (no endpoint catalog)", phrase))
			return phrase, nil
		}
		return "", &ParseError{Question: p.q, Word: phrase, Msg: "no endpoint catalog to resolve this parameter against; write its exact name, e.g. collection_id"}
	}
	key := paramKey(phrase)
	matches := matchParams(phrase, observed)
	switch len(matches) {
	case 1:
		return matches[0], nil
	case 0:
		var sugg []string
		for _, name := range observed {
			if editDistance(key, paramKey(name), 3) <= 3 || editDistance(strings.TrimSuffix(key, "_id"), strings.TrimSuffix(paramKey(name), "_id"), 2) <= 2 {
				sugg = append(sugg, name)
			}
		}
		if len(sugg) == 0 && !strings.Contains(phrase, " ") {
			var cands []string
			for w := range vocabulary {
				cands = append(cands, w)
			}
			sugg = closest(strings.ToLower(phrase), cands, 3)
		}
		msg := "not a grammar word, and no query parameter by that name is observed"
		if len(observed) > 0 {
			msg += " (observed: " + strings.Join(observed, ", ") + ")"
		}
		return "", &ParseError{Question: p.q, Word: phrase, Msg: msg, Suggestions: sugg}
	}
	return "", &ParseError{Question: p.q, Word: phrase, Msg: "ambiguous: several observed parameters match; name one exactly", Suggestions: matches}
}

// matchParams returns the names that phrase may mean.
func matchParams(phrase string, names []string) []string {
	key := paramKey(phrase)
	forms := []string{key, strings.TrimSuffix(key, "_number"), strings.TrimSuffix(key, "_name"), strings.TrimSuffix(key, "_value")}
	var matches []string
	for _, name := range names {
		nk := paramKey(name)
		nforms := []string{nk, strings.TrimSuffix(nk, "_id")}
		for _, f := range forms {
			if f != "" && (slices.Contains(nforms, f) || f == nk+"_id" || strings.ReplaceAll(f, "_", "") == strings.ReplaceAll(nk, "_", "")) {
				if !slices.Contains(matches, name) {
					matches = append(matches, name)
				}
			}
		}
	}
	return matches
}

// paramKey normalises a parameter name or phrase: words split on
// punctuation, spaces and camelCase, lower-cased, singular, joined by _.
func paramKey(s string) string {
	var words []string
	var cur []rune
	flush := func() {
		if len(cur) > 0 {
			words = append(words, singular(strings.ToLower(string(cur))))
			cur = cur[:0]
		}
	}
	rs := []rune(s)
	for i, r := range rs {
		switch {
		case unicode.IsLetter(r) || unicode.IsDigit(r):
			if unicode.IsUpper(r) && i > 0 && unicode.IsLower(rs[i-1]) {
				flush()
			}
			cur = append(cur, r)
		default:
			flush()
		}
	}
	flush()
	return strings.Join(words, "_")
}

func singular(w string) string {
	switch {
	case len(w) > 4 && strings.HasSuffix(w, "ies"):
		return w[:len(w)-3] + "y"
	case len(w) > 4 && (strings.HasSuffix(w, "sses") || strings.HasSuffix(w, "xes")):
		return w[:len(w)-2]
	case len(w) >= 3 && strings.HasSuffix(w, "s") && !strings.HasSuffix(w, "ss") && !strings.HasSuffix(w, "us"):
		return w[:len(w)-1]
	}
	return w
}
