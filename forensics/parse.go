package forensics

import (
	"slices"
	"strconv"
	"strings"
	"time"
)

// DefaultWindowHours is the window of a question that names none.
const DefaultWindowHours = 24

// DefaultTop is the number of groups a "top" question without a number ranks.
const DefaultTop = 10

// Parse turns a question into an IR. Paths and query parameter phrases are
// resolved against cat (which may be nil). An error is a *ParseError whose
// message says what was not understood and suggests what to write instead.
func Parse(question string, cat Catalog) (*IR, error) {
	toks, err := lex(question)
	if err != nil {
		return nil, err
	}
	p := &parser{q: question, toks: toks, ir: &IR{}}
	if cat != nil {
		p.eps = cat.Endpoints()
	}
	if len(toks) == 0 {
		return nil, p.fail("", "the question is empty")
	}
	for p.i < len(p.toks) {
		if err := p.step(); err != nil {
			return nil, err
		}
	}
	if err := p.finish(); err != nil {
		return nil, err
	}
	return p.ir, nil
}

// parser holds the state of one Parse.
type parser struct {
	q    string
	toks []token
	i    int
	ir   *IR
	eps  []Endpoint

	intentSet      bool
	countAsked     bool       // "how many", "count", "number of"
	distinct       *Dimension // the target of "distinct/unique X"
	measureSet     bool
	accessVerb     bool // "accessed", "pulled", "downloaded": data actually served
	negateNext     bool
	windowSet      bool
	pendingParams  []*string // Dimension.Param / Filter.Param phrases to resolve
	pendingFilters []int     // indexes of FieldParam filters to resolve
	pendingDims    []pendingDim
}

// pendingDim locates a DimParam whose phrase is resolved after parsing.
type pendingDim struct {
	where string // "group", "distinct"
	idx   int
}

func (p *parser) tok(k int) (token, bool) {
	if p.i+k < len(p.toks) {
		return p.toks[p.i+k], true
	}
	return token{}, false
}

// word returns the k-th token ahead if it is a word.
func (p *parser) word(k int) string {
	if t, ok := p.tok(k); ok && t.kind == tWord {
		return t.text
	}
	return ""
}

// words reports whether the next tokens are exactly ws.
func (p *parser) words(ws ...string) bool {
	for k, w := range ws {
		if p.word(k) != w {
			return false
		}
	}
	return true
}

// accept consumes ws when the next tokens are exactly ws.
func (p *parser) accept(ws ...string) bool {
	if p.words(ws...) {
		p.i += len(ws)
		return true
	}
	return false
}

func (p *parser) setIntent(in Intent) {
	if !p.intentSet || p.ir.Intent == IntentList || p.ir.Intent == IntentCount && in != IntentList {
		p.ir.Intent = in
		p.intentSet = true
	}
}

func (p *parser) addFilter(f Filter) {
	f.Negate = f.Negate != p.negateNext
	p.negateNext = false
	p.ir.Filters = append(p.ir.Filters, f)
}

// step consumes one or more tokens.
func (p *parser) step() error {
	t := p.toks[p.i]
	switch t.kind {
	case tPath:
		p.i++
		return p.pathFilter(t.text)
	case tIP:
		p.i++
		p.addFilter(Filter{Field: FieldIP, Op: OpEq, Value: t.text})
		return nil
	case tCIDR:
		p.i++
		p.addFilter(Filter{Field: FieldIP, Op: OpCIDR, Value: t.text})
		return nil
	case tClass:
		p.i++
		p.addFilter(Filter{Field: FieldStatus, Op: OpClass, Value: t.text})
		p.skipStatusNoun()
		return nil
	case tNumber:
		if t.num >= 100 && t.num <= 599 {
			p.i++
			p.addFilter(Filter{Field: FieldStatus, Op: OpEq, Value: strconv.FormatInt(t.num, 10)})
			p.skipStatusNoun()
			return nil
		}
		if w := p.word(1); isTimeUnit(w) != "" || isListNoun(w) {
			return p.fail(t.raw, "a number on its own is ambiguous here; write \"last %d %s\" or \"top %d …\"", t.num, p.word(1), t.num)
		}
		return p.fail(t.raw, "a number on its own is ambiguous; write \"status %d\", \"top %d\" or \"last %d days\"", t.num, t.num, t.num)
	case tDate:
		return p.fail(t.raw, "a date needs \"since\", \"on\" or \"between … and …\"")
	case tString:
		return p.fail(t.raw, "a quoted value needs a field before it, e.g. user agent %q or key %q", t.raw, t.raw)
	case tOp:
		return p.fail(t.raw, "a comparison needs a query parameter before it, e.g. \"page > 10\"")
	}
	return p.wordStep(t)
}

// skipStatusNoun consumes "errors", "responses", "requests" after a status.
func (p *parser) skipStatusNoun() {
	switch p.word(0) {
	case "error", "errors", "response", "responses", "status", "statuses", "codes":
		p.i++
	}
}

func (p *parser) wordStep(t token) error {
	w := t.text
	// Method names: upper case as written, or before a path or "requests".
	if m := strings.ToUpper(t.raw); isMethod(m) {
		next, _ := p.tok(1)
		if t.raw == m || next.kind == tPath || isListNoun(p.word(1)) || m != "GET" {
			p.i++
			p.addFilter(Filter{Field: FieldMethod, Op: OpEq, Value: m})
			return nil
		}
	}
	if s, ok := statusWords[w]; ok && !(w == "ok" && p.word(1) != "") {
		p.i++
		p.addFilter(s)
		return nil
	}
	if strings.HasSuffix(w, "s") {
		if n, ok := parseInt(strings.TrimSuffix(w, "s")); ok && n >= 100 && n <= 599 {
			p.i++
			p.addFilter(Filter{Field: FieldStatus, Op: OpEq, Value: strconv.FormatInt(n, 10)})
			return nil
		}
		if classRE.MatchString(strings.TrimSuffix(w, "s")) {
			p.i++
			p.addFilter(Filter{Field: FieldStatus, Op: OpClass, Value: strings.TrimSuffix(w, "s")})
			return nil
		}
	}
	switch {
	case p.accept("how", "many", "different") || p.accept("how", "many", "distinct") || p.accept("how", "many", "unique"):
		p.countAsked = true
		p.setIntent(IntentCount)
		return p.distinctTarget()
	case p.accept("how", "many"), p.accept("number", "of"), p.accept("count", "of"), p.accept("count"), p.accept("counts"):
		p.countAsked = true
		p.setIntent(IntentCount)
		return nil
	case p.accept("distinct"), p.accept("unique"), p.accept("different"):
		return p.distinctTarget()
	case p.accept("top"), p.accept("most", "active"), p.accept("busiest"), p.accept("heaviest"), p.accept("noisiest"):
		p.setIntent(IntentTop)
		if n, ok := p.tok(0); ok && n.kind == tNumber {
			if n.num < 1 || n.num > 1000 {
				return p.fail(n.raw, "top takes 1 to 1000")
			}
			p.ir.Limit = int(n.num)
			p.i++
		}
		if d, ok := p.dimension(); ok {
			p.groupBy(d)
		}
		return nil
	case p.accept("total", "number", "of"):
		p.countAsked = true
		p.setIntent(IntentCount)
		return nil
	case p.accept("sum", "of"), p.accept("sum"), p.accept("total"):
		p.setIntent(IntentSum)
		return nil
	case p.accept("average"), p.accept("avg"), p.accept("mean"):
		p.setIntent(IntentAvg)
		return nil
	case p.accept("maximum"), p.accept("max"), p.accept("largest"), p.accept("biggest"), p.accept("highest"), p.accept("peak"):
		p.setIntent(IntentMax)
		return nil
	case p.accept("rate"), p.accept("ratio"), p.accept("percentage"), p.accept("share"), p.accept("proportion"), p.accept("fraction"):
		p.setIntent(IntentRate)
		return nil
	case p.accept("timeline"), p.accept("over", "time"), p.accept("histogram"), p.accept("time", "series"), p.accept("trend"):
		if p.ir.Intent != IntentCountDistinct && !(p.intentSet && p.ir.Intent != IntentList && p.ir.Intent != IntentCount) {
			p.setIntent(IntentTimeline)
		}
		return nil
	case p.accept("show"), p.accept("list"), p.accept("display"), p.accept("find"), p.accept("get"), p.accept("give"):
		if !p.intentSet {
			p.ir.Intent = IntentList
		}
		return nil
	case p.words("which") || p.words("what"):
		p.i++
		if p.accept("are") || p.accept("were") || p.accept("is") || p.accept("was") {
			p.accept("the")
		}
		if d, ok := p.dimension(); ok {
			p.groupBy(d)
			if !p.intentSet {
				p.setIntent(IntentCount)
			}
		}
		return nil
	case p.accept("grouped", "by"), p.accept("broken", "down", "by"), p.accept("split", "by"), p.accept("for", "each"), p.accept("per"), p.accept("each"), p.accept("by"):
		return p.byClause()
	case p.accept("daily"):
		p.groupBy(Dimension{Kind: DimDay})
		return nil
	case p.accept("hourly"):
		p.groupBy(Dimension{Kind: DimHour})
		return nil
	case p.accept("sorted", "by"), p.accept("ordered", "by"), p.accept("order", "by"), p.accept("sort", "by"), p.accept("ranked", "by"):
		if m, ok := p.measure(); ok {
			p.setMeasure(m)
			p.ir.Order = Order{By: "measure", Desc: true}
			return nil
		}
		return p.failHere("sort by what? try \"sorted by bytes downloaded\" or \"sorted by requests\"")
	case p.accept("most", "recent"), p.accept("latest"), p.accept("newest"), p.accept("recent"):
		p.ir.Order = Order{By: "time", Desc: true}
		return p.limitAfter()
	case p.accept("oldest"), p.accept("earliest"), p.accept("first"):
		p.ir.Order = Order{By: "time"}
		return p.limitAfter()
	case p.words("limit") && p.isNumber(1):
		p.i++
		return p.limitAfter()
	case p.words("last") || p.words("past") || p.words("previous") || p.words("recent"):
		return p.lastWindow()
	case p.accept("today"):
		return p.setWindow(Window{Kind: WindowToday})
	case p.accept("yesterday"):
		return p.setWindow(Window{Kind: WindowYesterday})
	case p.accept("this", "week"):
		return p.setWindow(Window{Kind: WindowThisWeek})
	case p.words("since") || p.words("after"):
		p.i++
		d, err := p.date()
		if err != nil {
			return err
		}
		return p.setWindow(Window{Kind: WindowSince, From: d})
	case p.words("between") || p.words("from") && p.isDate(1):
		p.i++
		from, err := p.date()
		if err != nil {
			return err
		}
		if !p.accept("and") && !p.accept("to") && !p.accept("until") && !p.accept("through") {
			return p.failHere("write \"between DATE and DATE\"")
		}
		to, err := p.date()
		if err != nil {
			return err
		}
		if len(p.toks[p.i-1].raw) == 10 { // a whole day: include it
			to = to.Add(24 * time.Hour)
		}
		if !to.After(from) {
			return p.fail(p.toks[p.i-1].raw, "the window ends before it starts")
		}
		return p.setWindow(Window{Kind: WindowBetween, From: from, To: to})
	case p.words("on") && p.isDate(1):
		p.i++
		d, _ := p.date()
		return p.setWindow(Window{Kind: WindowBetween, From: d, To: d.Add(24 * time.Hour)})
	case p.accept("excluding"), p.accept("except"), p.accept("not"), p.accept("other", "than"), p.accept("without"):
		p.negateNext = true
		return nil
	case p.accept("user", "agent"), p.accept("user-agent"), p.accept("useragent"), p.accept("ua"):
		return p.userAgentFilter()
	case p.accept("api", "key"), p.accept("api_key"), p.accept("apikey"), p.accept("key"), p.accept("token"), p.accept("credential"):
		return p.valueFilter(FieldAPIKey, "key dvk_…")
	case p.accept("account"), p.accept("user"), p.accept("user_id"):
		return p.valueFilter(FieldAccount, "account acct_…")
	case p.accept("service"):
		return p.valueFilter(FieldService, "service datavault-api")
	case p.accept("country"):
		return p.valueFilter(FieldCountry, "country NL")
	case p.accept("asn"):
		return p.valueFilter(FieldASN, "asn 14061")
	case p.accept("status", "code"), p.accept("status"), p.accept("response", "code"), p.accept("code"):
		if t, ok := p.tok(0); ok && (t.kind == tNumber || t.kind == tClass) {
			return nil // the number or class is the next step
		}
		if t, ok := p.tok(0); ok && t.kind == tOp && t.text == "=" {
			p.i++
			return nil
		}
		p.accept("codes")
		p.groupBy(Dimension{Kind: DimStatus})
		return nil
	}
	if asn, ok := strings.CutPrefix(w, "as"); ok && len(asn) > 0 {
		if _, isNum := parseInt(asn); isNum {
			p.i++
			p.addFilter(Filter{Field: FieldASN, Op: OpEq, Value: asn})
			return nil
		}
	}
	if v, ok := accessVerbs[w]; ok {
		p.i++
		p.accessVerb = p.accessVerb || v
		return nil
	}
	if m, ok := p.measure(); ok {
		p.setMeasure(m)
		return nil
	}
	if stopwords[w] {
		p.i++
		return nil
	}
	if d, ok := p.dimensionWord(); ok && (p.ir.Intent == IntentList || !p.intentSet) && d.Kind != DimDay && d.Kind != DimHour {
		// "show IPs that hit …": the distinct values with their counts.
		p.groupBy(d)
		return nil
	}
	// A query parameter condition: "collection_id = 5", "page above 10".
	if ok, err := p.paramFilter(); ok || err != nil {
		return err
	}
	return p.unknown(t)
}

// statusWords are words that stand for a status condition.
var statusWords = map[string]Filter{
	"failed":       {Field: FieldStatus, Op: OpGe, Value: "400"},
	"failing":      {Field: FieldStatus, Op: OpGe, Value: "400"},
	"failures":     {Field: FieldStatus, Op: OpGe, Value: "400"},
	"failure":      {Field: FieldStatus, Op: OpGe, Value: "400"},
	"unsuccessful": {Field: FieldStatus, Op: OpGe, Value: "400"},
	"errors":       {Field: FieldStatus, Op: OpGe, Value: "400"},
	"error":        {Field: FieldStatus, Op: OpGe, Value: "400"},
	"errored":      {Field: FieldStatus, Op: OpGe, Value: "400"},
	"successful":   {Field: FieldStatus, Op: OpClass, Value: "2xx"},
	"succeeded":    {Field: FieldStatus, Op: OpClass, Value: "2xx"},
	"success":      {Field: FieldStatus, Op: OpClass, Value: "2xx"},
	"ok":           {Field: FieldStatus, Op: OpClass, Value: "2xx"},
	"unauthorized": {Field: FieldStatus, Op: OpEq, Value: "401"},
	"unauthorised": {Field: FieldStatus, Op: OpEq, Value: "401"},
	"forbidden":    {Field: FieldStatus, Op: OpEq, Value: "403"},
	"denied":       {Field: FieldStatus, Op: OpEq, Value: "403"},
	"throttled":    {Field: FieldStatus, Op: OpEq, Value: "429"},
	"redirects":    {Field: FieldStatus, Op: OpClass, Value: "3xx"},
}

// accessVerbs say whether a verb means the data was actually served
// (true) or only asked for (false).
var accessVerbs = map[string]bool{
	"accessed": true, "pulled": true, "exported": true, "retrieved": true, "fetched": true,
	"read": true, "served": true, "exfiltrated": true, "stolen": true, "scraped": true, "leaked": true,
	"requested": false, "called": false, "hit": false, "used": false, "made": false, "sent": false,
	"seen": false, "tried": false, "attempted": false, "targeted": false, "touched": false, "hitting": false,
	"calling": false, "using": false, "queried": false, "probed": false, "reached": false, "access": false,
}

// stopwords carry no meaning for the grammar.
var stopwords = map[string]bool{}

func init() {
	for _, w := range strings.Fields(`a an the all any me us my our of to for on in at via through from with
		that which who whom whose where when there their it its this these those and or but
		is are was were be been being do does did has have had will would can could should please
		i we you they he she them per into onto against by as than then so such only also just
		show tell give find list display get what how much many did endpoint endpoints
		request requests call calls hit hits made during within over across up down out about
		being using used have has anything everything something each every ever`) {
		stopwords[w] = true
	}
	// Words a slot recognises are not stopwords in that slot; they are
	// listed above only so that they do not stop a noun phrase.
	for _, w := range []string{"by", "per", "each", "what", "which", "how", "list", "show", "get", "find", "give", "display", "many"} {
		delete(stopwords, w)
	}
}

func isMethod(m string) bool {
	switch m {
	case "GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS":
		return true
	}
	return false
}

func isListNoun(w string) bool {
	switch w {
	case "request", "requests", "call", "calls", "hits", "traffic":
		return true
	}
	return false
}

func (p *parser) distinctTarget() error {
	d, ok := p.dimension()
	if !ok {
		return p.failHere("distinct what? try \"distinct IPs\", \"unique API keys\" or \"distinct collection ids\"")
	}
	p.distinct = &d
	if d.Kind == DimParam {
		p.pendingDims = append(p.pendingDims, pendingDim{where: "distinct"})
	}
	return nil
}

func (p *parser) groupBy(d Dimension) {
	for _, g := range p.ir.GroupBy {
		if g == d {
			return
		}
	}
	p.ir.GroupBy = append(p.ir.GroupBy, d)
	if d.Kind == DimParam {
		p.pendingDims = append(p.pendingDims, pendingDim{where: "group", idx: len(p.ir.GroupBy) - 1})
	}
}

func (p *parser) setMeasure(m Measure) {
	if p.measureSet && p.ir.Measure != m && m.Kind == MeasureRequests {
		return // "bytes downloaded per IP for requests to …": keep bytes
	}
	p.ir.Measure = m
	p.measureSet = true
}

// byClause reads what follows "by" / "per": a dimension to group by or, after
// "top", the measure to rank by. "by 1.2.3.4" means from that address.
func (p *parser) byClause() error {
	if t, ok := p.tok(0); ok && (t.kind == tIP || t.kind == tCIDR) {
		return nil
	}
	if p.filterFollows() {
		return nil // "by key dvk_…": a filter follows
	}
	if m, ok := p.measure(); ok {
		p.setMeasure(m)
		if p.ir.Order.By == "" {
			p.ir.Order = Order{By: "measure", Desc: true}
		}
		return nil
	}
	if d, ok := p.dimension(); ok {
		p.groupBy(d)
		return nil
	}
	return p.failHere("group by what? try \"by IP\", \"by API key\", \"by endpoint\", \"by status\", \"by day\" or \"by hour\"")
}

// filterFollows reports whether a field name with a value follows, as in
// "by key dvk_…" or "by user agent curl".
func (p *parser) filterFollows() bool {
	n := 0
	switch {
	case p.words("api", "key"), p.words("user", "agent"):
		n = 2
	case p.words("key"), p.words("account"), p.words("user"), p.words("ua"), p.words("service"):
		n = 1
	default:
		return false
	}
	t, ok := p.tok(n)
	return ok && (t.kind == tString || t.kind == tNumber || t.kind == tWord && !isGrammarWord(t.text))
}

// measure reads a measure phrase at the current position.
func (p *parser) measure() (Measure, bool) {
	for _, m := range measurePhrases {
		if p.accept(m.words...) {
			return Measure{Kind: m.kind}, true
		}
	}
	return Measure{}, false
}

type measurePhrase struct {
	words []string
	kind  MeasureKind
}

// measurePhrases are tried in order; longer phrases first.
var measurePhrases = func() []measurePhrase {
	var out []measurePhrase
	add := func(kind MeasureKind, phrases ...string) {
		for _, ph := range phrases {
			out = append(out, measurePhrase{strings.Fields(ph), kind})
		}
	}
	add(MeasureResponseBytes, "bytes downloaded", "downloaded bytes", "data downloaded", "bytes sent", "bytes out",
		"response bytes", "response size", "response sizes", "bytes returned", "bytes served", "download volume",
		"bytes exported", "data exfiltrated", "egress", "downloads", "download", "downloaded", "bytes", "data", "volume")
	add(MeasureRequestBytes, "bytes uploaded", "uploaded bytes", "data uploaded", "bytes received", "bytes in",
		"request bytes", "request size", "request sizes", "upload volume", "uploads", "uploaded", "ingress")
	add(MeasureLatency, "response time", "response times", "latency", "latencies", "duration", "durations", "slowness")
	add(MeasureRequests, "number of requests", "request count", "requests", "calls", "hits", "traffic")
	slices.SortStableFunc(out, func(a, b measurePhrase) int { return len(b.words) - len(a.words) })
	return out
}()

type dimPhrase struct {
	words []string
	kind  DimKind
}

var dimPhrases = func() []dimPhrase {
	var out []dimPhrase
	add := func(kind DimKind, phrases ...string) {
		for _, ph := range phrases {
			out = append(out, dimPhrase{strings.Fields(ph), kind})
		}
	}
	add(DimIP, "ip addresses", "ip address", "ip", "ips", "addresses", "address", "client ips", "clients", "client", "sources", "source ips", "source ip", "peer ip", "peer_ip", "callers", "caller")
	add(DimAPIKey, "api keys", "api key", "api_keys", "api_key", "keys", "key", "credentials", "tokens")
	add(DimAccount, "accounts", "account", "users", "user ids", "user_id", "tenants")
	add(DimEndpoint, "endpoints", "endpoint", "paths", "path", "routes", "route", "urls", "url", "apis")
	add(DimStatus, "status codes", "status code", "statuses", "status", "response codes")
	add(DimMethod, "methods", "method", "http methods", "verbs")
	add(DimUserAgent, "user agents", "user agent", "user-agents", "user-agent", "uas", "ua", "useragents", "clients software")
	add(DimService, "services", "service")
	add(DimCountry, "countries", "country")
	add(DimASN, "asns", "asn", "isps", "networks")
	add(DimDay, "days", "day", "date", "dates")
	add(DimHour, "hours", "hour")
	slices.SortStableFunc(out, func(a, b dimPhrase) int { return len(b.words) - len(a.words) })
	return out
}()

// dimensionWord reads a built-in dimension phrase.
func (p *parser) dimensionWord() (Dimension, bool) {
	for _, d := range dimPhrases {
		if p.accept(d.words...) {
			return Dimension{Kind: d.kind}, true
		}
	}
	return Dimension{}, false
}

// dimension reads a built-in dimension or a query parameter phrase (to be
// resolved against the catalog once the whole question is read).
func (p *parser) dimension() (Dimension, bool) {
	start := p.i
	p.accept("the")
	explicit := p.accept("query", "parameter") || p.accept("query", "param") || p.accept("parameter") || p.accept("param") || p.accept("values", "of")
	if explicit {
		p.accept("query", "parameter")
		p.accept("parameter")
	}
	if !explicit {
		at := p.i
		if d, ok := p.dimensionWord(); ok {
			if d.Kind != DimAccount {
				return d, true
			}
			// "accounts" / "account ids": an observed parameter of that
			// name wins over the user_id column.
			end := p.i
			p.accept("id")
			p.accept("ids")
			if phrase := p.phrase(at, p.i); len(matchParams(phrase, p.allParams())) == 1 {
				return Dimension{Kind: DimParam, Param: phrase}, true
			}
			p.i = end
			return d, true
		}
	}
	phrase := p.nounPhrase(explicit)
	if phrase == "" {
		p.i = start
		return Dimension{}, false
	}
	p.accept("values")
	p.accept("value")
	return Dimension{Kind: DimParam, Param: phrase}, true
}

// nounPhrase reads up to four words that are not grammar words: a query
// parameter as a user names it ("collection IDs", "page numbers").
func (p *parser) nounPhrase(any bool) string {
	var ws []string
	for len(ws) < 4 {
		t, ok := p.tok(0)
		if !ok || t.kind != tWord {
			break
		}
		observed := p.isObservedParam(t.text)
		if !any && len(ws) == 0 && isGrammarWord(t.text) && !observed {
			break
		}
		if len(ws) > 0 && isGrammarWord(t.text) && !paramNoise[t.text] {
			break
		}
		ws = append(ws, t.raw)
		p.i++
		any = false
	}
	return strings.Join(ws, " ")
}

// paramNoise are words allowed inside a parameter phrase.
var paramNoise = map[string]bool{"id": true, "ids": true, "number": true, "numbers": true, "name": true, "names": true}

func (p *parser) limitAfter() error {
	if t, ok := p.tok(0); ok && t.kind == tNumber {
		if t.num < 1 || t.num > 100_000 {
			return p.fail(t.raw, "a limit is 1 to 100000")
		}
		p.ir.Limit = int(t.num)
		p.i++
	}
	return nil
}

// lastWindow reads "last N units", "last hour", "last 24h", or "last N
// requests" (a limit).
func (p *parser) lastWindow() error {
	p.i++ // last / past / previous
	n := int64(1)
	if t, ok := p.tok(0); ok && t.kind == tNumber {
		n = t.num
		p.i++
	} else if v, ok := numberWords[p.word(0)]; ok {
		n = v
		p.i++
	} else if m := durationRE.FindStringSubmatch(p.word(0)); m != nil {
		n, _ = parseInt(m[1])
		p.i++
		return p.lastN(n, isTimeUnit(m[2]))
	}
	unit := isTimeUnit(p.word(0))
	if unit == "" {
		if isListNoun(p.word(0)) {
			p.ir.Limit = int(n)
			p.ir.Order = Order{By: "time", Desc: true}
			return nil
		}
		return p.failHere("write the window as \"last 7 days\", \"last 24 hours\", \"last 30 minutes\" or \"last 2 weeks\"")
	}
	p.i++
	return p.lastN(n, unit)
}

func (p *parser) lastN(n int64, unit string) error {
	if unit == "month" {
		n, unit = n*30, "day"
		p.ir.Notes = append(p.ir.Notes, "a month is read as 30 days")
	}
	if n < 1 || time.Duration(n)*unitDurations[unit] > 366*24*time.Hour {
		return p.fail(strconv.FormatInt(n, 10), "a window is 1 minute to 366 days")
	}
	return p.setWindow(Window{Kind: WindowLast, N: int(n), Unit: unit})
}

var numberWords = map[string]int64{"one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7, "eight": 8, "nine": 9, "ten": 10, "twelve": 12, "fourteen": 14, "thirty": 30, "a": 1, "an": 1}

func isTimeUnit(w string) string {
	switch w {
	case "minute", "minutes", "min", "mins", "m":
		return "minute"
	case "hour", "hours", "hr", "hrs", "h":
		return "hour"
	case "day", "days", "d":
		return "day"
	case "week", "weeks", "w":
		return "week"
	case "month", "months":
		return "month"
	}
	return ""
}

func (p *parser) setWindow(w Window) error {
	if p.windowSet {
		return p.failHere("the question names two time windows; keep one")
	}
	p.windowSet = true
	p.ir.Window = w
	return nil
}

func (p *parser) isNumber(k int) bool {
	t, ok := p.tok(k)
	return ok && t.kind == tNumber
}

// phrase joins the raw words of tokens [from, to).
func (p *parser) phrase(from, to int) string {
	ws := make([]string, 0, to-from)
	for _, t := range p.toks[from:to] {
		ws = append(ws, t.raw)
	}
	return strings.Join(ws, " ")
}

// allParams returns every observed query parameter name.
func (p *parser) allParams() []string {
	var out []string
	for _, e := range p.eps {
		for _, q := range e.QueryParams {
			if !slices.Contains(out, q) {
				out = append(out, q)
			}
		}
	}
	return out
}

// isObservedParam reports whether w is the name of an observed query
// parameter, so that a parameter named like a grammar word ("limit") can
// still be compared ("limit of 500").
func (p *parser) isObservedParam(w string) bool {
	for _, e := range p.eps {
		for _, q := range e.QueryParams {
			if strings.EqualFold(q, w) {
				return true
			}
		}
	}
	return false
}

func (p *parser) isDate(k int) bool {
	t, ok := p.tok(k)
	return ok && t.kind == tDate
}

func (p *parser) date() (time.Time, error) {
	t, ok := p.tok(0)
	if !ok || t.kind != tDate {
		return time.Time{}, p.failHere("expected a date such as 2026-03-01")
	}
	p.i++
	return t.time, nil
}

// userAgentFilter reads "user agent [contains|containing|like|is] VALUE".
func (p *parser) userAgentFilter() error {
	_ = p.accept("contains") || p.accept("containing") || p.accept("like") || p.accept("matching") || p.accept("is") || p.accept("with") || p.accept("includes")
	t, ok := p.tok(0)
	if !ok || t.kind != tWord && t.kind != tString && t.kind != tNumber {
		if p.intentSet || p.ir.GroupBy != nil {
			p.groupBy(Dimension{Kind: DimUserAgent})
			return nil
		}
		return p.failHere("write the user agent to look for, e.g. user agent \"python-requests\"")
	}
	if t.kind == tWord && isGrammarWord(t.text) {
		p.groupBy(Dimension{Kind: DimUserAgent})
		return nil
	}
	p.i++
	p.addFilter(Filter{Field: FieldUserAgent, Op: OpContains, Value: t.raw})
	return nil
}

// valueFilter reads "[is|=] VALUE" after a field name.
func (p *parser) valueFilter(f Field, example string) error {
	_ = p.accept("is") || p.accept("id") || p.accept("equals")
	if t, ok := p.tok(0); ok && t.kind == tOp && t.text == "=" {
		p.i++
	}
	t, ok := p.tok(0)
	if !ok || t.kind != tWord && t.kind != tString && t.kind != tNumber || t.kind == tWord && isGrammarWord(t.text) {
		// "by key" with no value: group by it.
		if d, ok := fieldDims[f]; ok && (p.intentSet || p.ir.GroupBy != nil) {
			p.groupBy(Dimension{Kind: d})
			return nil
		}
		return p.failHere("write the value after the field, e.g. %s", example)
	}
	p.i++
	v := t.raw
	if f == FieldCountry {
		v = strings.ToUpper(v)
	}
	if f == FieldASN {
		v = strings.TrimPrefix(strings.ToUpper(v), "AS")
	}
	p.addFilter(Filter{Field: f, Op: OpEq, Value: v})
	return nil
}

var fieldDims = map[Field]DimKind{FieldAPIKey: DimAPIKey, FieldAccount: DimAccount, FieldService: DimService, FieldCountry: DimCountry, FieldASN: DimASN}

// paramFilter reads "NAME OP VALUE" where NAME is a query parameter phrase.
func (p *parser) paramFilter() (bool, error) {
	start := p.i
	explicit := p.accept("query", "parameter") || p.accept("parameter") || p.accept("param")
	name := p.nounPhrase(explicit)
	if name == "" {
		p.i = start
		return false, nil
	}
	op, ok := p.comparator()
	if !ok {
		p.i = start
		return false, nil
	}
	t, ok := p.tok(0)
	if !ok || t.kind == tOp || t.kind == tPath {
		return true, p.failHere("write the value to compare %s with", name)
	}
	if op != OpEq && op != OpNe && t.kind != tNumber {
		return true, p.fail(t.raw, "%s %s needs a number", name, op)
	}
	p.i++
	p.addFilter(Filter{Field: FieldParam, Op: op, Param: name, Value: t.raw})
	p.pendingFilters = append(p.pendingFilters, len(p.ir.Filters)-1)
	return true, nil
}

func (p *parser) comparator() (Op, bool) {
	if t, ok := p.tok(0); ok && t.kind == tOp {
		p.i++
		return Op(t.text), true
	}
	switch {
	case p.accept("greater", "than", "or", "equal", "to"), p.accept("at", "least"):
		return OpGe, true
	case p.accept("less", "than", "or", "equal", "to"), p.accept("at", "most"):
		return OpLe, true
	case p.accept("greater", "than"), p.accept("more", "than"), p.accept("above"), p.accept("over"), p.accept("beyond"), p.accept("after"):
		return OpGt, true
	case p.accept("less", "than"), p.accept("fewer", "than"), p.accept("below"), p.accept("under"), p.accept("before"):
		return OpLt, true
	case p.accept("is", "not"), p.accept("not", "equal", "to"), p.accept("other", "than"):
		return OpNe, true
	case p.accept("equal", "to"), p.accept("equals"), p.accept("is"), p.accept("of"):
		return OpEq, true
	}
	if t, ok := p.tok(0); ok && (t.kind == tNumber || t.kind == tString) {
		return OpEq, true
	}
	return "", false
}
