package detect

import (
	"math"
	"slices"
	"strconv"
	"strings"
	"time"
)

// request is one request of a pulled sequence. Its path is the part of
// http_target before the first "?", as the evidence queries read it.
type request struct {
	at     time.Time
	path   string
	target string
	status int64
	bytes  int64
}

// sequence is a caller's requests to one endpoint in time order: all of
// them, or the first limit when truncated.
type sequence struct {
	ep        endpoint
	reqs      []request
	total     int64 // the caller's requests to the endpoint in the window
	limit     int   // the requests read (the first ones, when truncated)
	truncated bool  // fewer read than total
}

// idSource is where a request names an object: a path field (Field, as
// split_part numbers it) or a query parameter (Param).
type idSource struct {
	Field int
	Param string
}

func (s idSource) String() string {
	if s.Field > 0 {
		return "path segment " + strconv.Itoa(s.Field-1)
	}
	return "query parameter " + s.Param
}

func (s idSource) raw(r *request) string {
	if s.Field > 0 {
		return pathField(r.path, s.Field)
	}
	return urlParam(r.target, s.Param)
}

// numericStats describe the numbers one source took in a sequence.
type numericStats struct {
	src        idSource
	n          int // requests with a number
	unique     int
	min, max   int64
	coverage   float64 // unique / (max − min + 1)
	density    float64 // share of gaps between consecutive distinct ids equal to |modeStep|
	rho        float64 // rank correlation of the numbers with time
	changes    int     // consecutive requests whose number differs
	modeStep   int64   // the commonest difference between them
	modeShare  float64 // its share of the changes
	longestRun int     // longest run of modeStep changes, in numbers
	ok, denied int     // 2xx, and 401/403/404 answers among the requests
	values     []int64 // distinct numbers, sorted (for campaign ranges)
	// okUnique counts the distinct numbers answered 2xx (objects read),
	// okMin and okMax bound them.
	okUnique     int
	okMin, okMax int64
}

// pageStats describe a numeric parameter used as a page or offset:
// within each traversal (the requests equal but for this parameter), it
// steps by a constant.
type pageStats struct {
	param      string
	paged      int // requests with a number
	traversals int // distinct requests apart from the parameter
	unique     int
	maxPage    int64
	steps      int     // consecutive requests within a traversal
	modeStep   int64   // the commonest step within traversals
	modeShare  float64 // its share of the steps
	adjacent   int     // consecutive requests continuing a traversal by modeStep
	adjShare   float64 // their share of consecutive request pairs
	sizeParam  string  // a parameter with one constant value (page size)
	sizeValue  string
}

// textStats describe a non-numeric source: how many distinct values.
type textStats struct {
	src    idSource
	n      int
	unique int
}

// timingStats describe the gaps between consecutive requests, pauses
// (gaps over an hour) left out.
type timingStats struct {
	gaps      int
	mean, std float64
	cv        float64 // over all gaps
	// localCV is the median coefficient of variation of the consecutive
	// blocks of timingBlock gaps (a rhythm that changes speed stays
	// regular within each block); cv when there are fewer gaps.
	localCV float64
	blocks  int
	pauses  int
}

// timingBlock is the number of consecutive gaps whose variation is
// measured together.
const timingBlock = 50

// seqAnalysis is what a sequence says.
type seqAnalysis struct {
	numeric []numericStats
	pages   []pageStats
	texts   []textStats
	timing  timingStats
}

// pauseGap is the longest gap counted in timing; longer ones are pauses.
const pauseGap = time.Hour

// analyse reads a sequence's sources, pagination and timing.
func (s *sequence) analyse() seqAnalysis {
	var a seqAnalysis
	n := len(s.reqs)
	if n == 0 {
		return a
	}
	// Discover the sources: path fields holding numbers, and query
	// parameters, in at least half the requests.
	fieldHits := map[int]int{}
	paramHits := map[string]int{}
	var paramOrder []string
	for i := range s.reqs {
		for _, k := range numericFields(s.reqs[i].path) {
			fieldHits[k]++
		}
		for _, p := range paramNames(s.reqs[i].target) {
			if paramHits[p] == 0 {
				paramOrder = append(paramOrder, p)
			}
			paramHits[p]++
		}
	}
	var fields []int
	for k, c := range fieldHits {
		if 2*c >= n {
			fields = append(fields, k)
		}
	}
	slices.Sort(fields)
	for _, k := range fields {
		a.numeric = append(a.numeric, s.numeric(idSource{Field: k}))
	}
	for _, k := range routeParamFields(s.ep.Route) {
		if !slices.Contains(fields, k) {
			if t := s.text(idSource{Field: k}); 2*t.n >= n {
				a.texts = append(a.texts, t)
			}
		}
	}
	for _, p := range paramOrder {
		if 2*paramHits[p] < n || len(a.numeric)+len(a.texts) >= maxParams {
			continue
		}
		src := idSource{Param: p}
		ns := s.numeric(src)
		switch {
		case 2*ns.n >= paramHits[p]:
			if ps, ok := s.paging(p); ok {
				a.pages = append(a.pages, ps)
			} else {
				a.numeric = append(a.numeric, ns)
			}
		default:
			a.texts = append(a.texts, s.text(src))
		}
	}
	// A page size is a numeric parameter with one value throughout.
	for i := range a.pages {
		for _, p := range paramOrder {
			if p == a.pages[i].param || paramHits[p] != n {
				continue
			}
			v := urlParam(s.reqs[0].target, p)
			if _, isNum := parseID(v); !isNum {
				continue
			}
			same := true
			for j := range s.reqs {
				if urlParam(s.reqs[j].target, p) != v {
					same = false
					break
				}
			}
			if same {
				a.pages[i].sizeParam, a.pages[i].sizeValue = p, v
				break
			}
		}
	}
	a.timing = s.timing()
	return a
}

// numeric computes the numeric statistics of src.
func (s *sequence) numeric(src idSource) numericStats {
	st := numericStats{src: src}
	var vals []float64
	var ints []int64
	seen := map[int64]bool{}
	read := map[int64]bool{}
	for i := range s.reqs {
		v, ok := parseID(src.raw(&s.reqs[i]))
		if !ok {
			continue
		}
		ints = append(ints, v)
		vals = append(vals, float64(v))
		seen[v] = true
		if s.reqs[i].status >= 200 && s.reqs[i].status < 300 {
			st.ok++
			if len(read) == 0 || v < st.okMin {
				st.okMin = v
			}
			if len(read) == 0 || v > st.okMax {
				st.okMax = v
			}
			read[v] = true
		} else if s.reqs[i].status == 401 || s.reqs[i].status == 403 || s.reqs[i].status == 404 {
			st.denied++
		}
	}
	st.n = len(ints)
	st.unique = len(seen)
	st.okUnique = len(read)
	if st.n == 0 {
		return st
	}
	st.values = make([]int64, 0, len(seen))
	for v := range seen {
		st.values = append(st.values, v)
	}
	slices.Sort(st.values)
	st.min, st.max = st.values[0], st.values[len(st.values)-1]
	st.coverage = float64(st.unique) / float64(st.max-st.min+1)
	st.rho = spearman(vals)
	st.modeStep, st.modeShare, st.changes, st.longestRun = steps(ints)
	if st.unique > 1 && st.modeStep != 0 {
		hits := 0
		for i := 1; i < len(st.values); i++ {
			if st.values[i]-st.values[i-1] == abs64(st.modeStep) {
				hits++
			}
		}
		st.density = float64(hits) / float64(st.unique-1)
	}
	return st
}

// steps finds the commonest non-zero difference between consecutive
// values, its share of the non-zero differences, how many there are, and
// the longest run of it (counted in values). Ties go to the smaller
// absolute step.
func steps(vs []int64) (mode int64, share float64, changes, longest int) {
	freq := map[int64]int{}
	for i := 1; i < len(vs); i++ {
		if d := vs[i] - vs[i-1]; d != 0 {
			freq[d]++
			changes++
		}
	}
	if changes == 0 {
		return 0, 0, 0, 0
	}
	best := -1
	for d, c := range freq {
		if c > best || (c == best && (abs64(d) < abs64(mode) || (abs64(d) == abs64(mode) && d > mode))) {
			mode, best = d, c
		}
	}
	share = float64(best) / float64(changes)
	run := 0
	for i := 1; i < len(vs); i++ {
		d := vs[i] - vs[i-1]
		switch {
		case d == 0:
			continue
		case d == mode:
			run++
			longest = max(longest, run+1)
		default:
			run = 0
		}
	}
	return mode, share, changes, longest
}

func abs64(x int64) int64 {
	if x < 0 {
		return -x
	}
	return x
}

// paging reads param as a page or offset: within each traversal (the
// requests identical but for param) the value steps by a constant, and a
// traversal's pages come one after another (the next request continues
// the traversal by the step) rather than being spread out in time, as the
// values of an object id are when each object is read page by page. ok is
// false when param is not one.
func (s *sequence) paging(param string) (pageStats, bool) {
	ps := pageStats{param: param}
	last := map[string]int64{}
	freq := map[int64]int{}
	seen := map[int64]bool{}
	type step struct {
		adjacent bool
		d        int64
	}
	var seq []step
	prevRest, prevV, havePrev := "", int64(0), false
	for i := range s.reqs {
		v, ok := parseID(urlParam(s.reqs[i].target, param))
		if !ok {
			continue
		}
		ps.paged++
		seen[v] = true
		ps.maxPage = max(ps.maxPage, v)
		rest := withoutParam(s.reqs[i].target, param)
		if prev, ok := last[rest]; ok {
			freq[v-prev]++
			ps.steps++
		}
		last[rest] = v
		if havePrev {
			seq = append(seq, step{rest == prevRest, v - prevV})
		}
		prevRest, prevV, havePrev = rest, v, true
	}
	ps.traversals = len(last)
	ps.unique = len(seen)
	best := -1
	for d, c := range freq {
		if c > best || (c == best && abs64(d) < abs64(ps.modeStep)) {
			ps.modeStep, best = d, c
		}
	}
	if ps.steps > 0 {
		ps.modeShare = float64(best) / float64(ps.steps)
	}
	for _, st := range seq {
		if st.adjacent && st.d == ps.modeStep {
			ps.adjacent++
		}
	}
	if len(seq) > 0 {
		ps.adjShare = float64(ps.adjacent) / float64(len(seq))
	}
	ok := ps.paged >= 3 && ps.modeStep > 0 && ps.modeShare >= 0.5 && ps.adjShare >= 0.5
	return ps, ok
}

// text computes the distinct values of a non-numeric source.
func (s *sequence) text(src idSource) textStats {
	st := textStats{src: src}
	seen := map[string]bool{}
	for i := range s.reqs {
		v := src.raw(&s.reqs[i])
		if v == "" {
			continue
		}
		st.n++
		seen[v] = true
	}
	st.unique = len(seen)
	return st
}

// timing computes the gaps between consecutive requests.
func (s *sequence) timing() timingStats {
	var t timingStats
	var gaps []float64
	for i := 1; i < len(s.reqs); i++ {
		g := s.reqs[i].at.Sub(s.reqs[i-1].at)
		if g > pauseGap {
			t.pauses++
			continue
		}
		gaps = append(gaps, g.Seconds())
	}
	t.gaps = len(gaps)
	t.mean, t.std = meanStd(gaps)
	t.cv = cv(t.mean, t.std)
	t.localCV = t.cv
	var cvs []float64
	for i := 0; i+timingBlock <= len(gaps); i += timingBlock {
		m, sd := meanStd(gaps[i : i+timingBlock])
		cvs = append(cvs, cv(m, sd))
	}
	if len(cvs) > 0 {
		t.localCV, t.blocks = median(cvs), len(cvs)
	}
	return t
}

// cv is std/mean, or +Inf when the mean is 0 with spread (or 0 without).
func cv(mean, std float64) float64 {
	switch {
	case mean > 0:
		return std / mean
	case std > 0:
		return math.Inf(1)
	}
	return 0
}

// routeParamFields returns the fields (split_part numbering) of a route
// template that are parameters ({...}, :name, <...>).
func routeParamFields(route string) []int {
	var out []int
	k := 0
	for f := range strings.SplitSeq(route, "/") {
		k++
		if k > maxParams {
			break
		}
		if strings.HasPrefix(f, "{") || strings.HasPrefix(f, ":") || strings.HasPrefix(f, "<") {
			out = append(out, k)
		}
	}
	return out
}
