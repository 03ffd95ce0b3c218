package scenario

import (
	"cmp"
	"math"
	"math/rand/v2"
	"slices"
	"strconv"
	"time"
)

// Labels of the ground truth.
const (
	LabelBenign   = "benign"
	LabelAttacker = "attacker"
)

// Benign volume at scale 1.0: first calls a day, averaged over a week.
// Next pages and retries add about a sixth, and office-hours clients run
// a fifth above their weekly mean on weekdays, so that a weekday at scale
// 1.0 totals about 12 million requests.
const (
	enterpriseDaily = 7_900_000
	indexerDaily    = 310_000
	billingDaily    = 35_000
	oldTrialDaily   = 41_000
)

const (
	apiHost   = "api.datavault.example" // Host header behind the public load balancer
	innerHost = "datavault-api.internal"
	slice     = int64(time.Minute) // the generator's time step
)

// campaignInfo is one labelled event of a scenario: an attack, or a benign
// anomaly that a detector must not flag.
type campaignInfo struct {
	name        string
	label       string
	description string
	target      *operation // the endpoint the campaign's figures count
	objectKind  string     // what its unique objects are ("collection", ...)
	objectParam string     // the query parameter naming the object, if any
}

// actorInfo is who sends a request, as the ground truth names it.
type actorInfo struct {
	name     string
	label    string
	campaign *campaignInfo // nil for ordinary benign traffic
	index    int           // position in the generator's actor table
}

// request is one generated HTTP request: everything the emitter needs to
// produce its spans and its manifest row.
type request struct {
	start, dur  int64 // unix ns, ns
	actor       *actorInfo
	op          *operation
	path, query string
	host        string
	serverPort  int32 // -1 when the Host header carries no port
	peerPort    int32
	status      int32
	clientIP    string
	peerIP      string
	ua          string
	key         *apiKey
	acct        *account // enduser.id and app.account.plan; nil when anonymous
	emailDomain string   // signups only
	reqBytes    int64
	respBytes   int64
	target      bool  // counts towards its campaign's figures
	object      int64 // the campaign object it touched (collection id, ...)
}

// actor generates the requests of one caller (or one group of callers).
type actor interface {
	// generate appends to g the requests that start in [from, to). It may
	// also append follow-ups (retries, next pages) that start later; the
	// generator holds those back until their slice.
	generate(g *generator, from, to int64)
}

// generator merges the actors of a scenario into one stream of requests in
// time order. It is deterministic: the same world, options and actors give
// the same stream.
type generator struct {
	w       *world
	seed    uint64
	scale   float64
	start   int64      // unix ns of day 1 00:00
	end     int64      // unix ns of the end of the last day
	r       *rand.Rand // the random stream of the actor generating now
	base    *rand.Rand // the stream all benign base actors share
	actors  []actorEntry
	infos   []*actorInfo
	camps   []*campaignInfo
	pending []request // requests generated but not yet emitted
	spare   []request // the other buffer of pending, reused
	keys    []sortKey
	signups int // accounts created inside the window so far
}

// newGenerator builds the benign base of every scenario. The scenario adds
// its own actors afterwards.
func newGenerator(w *world, seed uint64, start time.Time, days int, scale float64) *generator {
	g := &generator{
		w:     w,
		seed:  seed,
		scale: scale,
		start: start.UnixNano(),
		end:   start.Add(time.Duration(days) * 24 * time.Hour).UnixNano(),
		base:  newRand(seed, "benign"),
	}
	g.addBenignBase()
	return g
}

// actorEntry is an actor and the random stream it draws from. Scenario
// actors draw from streams of their own, so the benign base of a seed is
// the same in every scenario.
type actorEntry struct {
	a actor
	r *rand.Rand
}

// addActor adds an actor drawing from r, or from the benign base stream
// when r is nil.
func (g *generator) addActor(a actor, r *rand.Rand) {
	if r == nil {
		r = g.base
	}
	g.actors = append(g.actors, actorEntry{a, r})
}

// newInfo registers an actor name and label.
func (g *generator) newInfo(name, label string, c *campaignInfo) *actorInfo {
	a := &actorInfo{name: name, label: label, campaign: c, index: len(g.infos)}
	g.infos = append(g.infos, a)
	return a
}

func (g *generator) addCampaign(c *campaignInfo) *campaignInfo {
	g.camps = append(g.camps, c)
	return c
}

// run calls emit for every request in time order. The request passed to
// emit is only valid during the call.
func (g *generator) run(emit func(*request) error) error {
	from := g.start
	for to := g.start + slice; ; to += slice {
		if to > g.end {
			to = g.end
		}
		for _, e := range g.actors {
			g.r = e.r
			e.a.generate(g, from, to)
		}
		if err := g.flush(to, emit); err != nil {
			return err
		}
		if to >= g.end {
			return nil
		}
		from = to
	}
}

// flush emits the pending requests that start before to, in time order
// (ties in the order they were generated), and keeps the rest. Requests at
// or after the end of the window are dropped. It sorts small keys rather
// than the requests themselves, which are large.
func (g *generator) flush(to int64, emit func(*request) error) error {
	keys := g.keys[:0]
	for i := range g.pending {
		keys = append(keys, sortKey{g.pending[i].start, int32(i)})
	}
	slices.SortFunc(keys, func(a, b sortKey) int {
		if a.start != b.start {
			return cmp.Compare(a.start, b.start)
		}
		return cmp.Compare(a.idx, b.idx)
	})
	n := 0
	for ; n < len(keys) && keys[n].start < to; n++ {
		if err := emit(&g.pending[keys[n].idx]); err != nil {
			return err
		}
	}
	rest := g.spare[:0]
	if to < g.end {
		for _, k := range keys[n:] {
			rest = append(rest, g.pending[k.idx])
		}
	}
	clear(g.pending)
	g.pending, g.spare, g.keys = rest, g.pending[:0], keys
	return nil
}

type sortKey struct {
	start int64
	idx   int32
}

func (g *generator) add(r *request) { g.pending = append(g.pending, *r) }

const dayNs = 24 * int64(time.Hour)

// dayOf returns the 1-based day of the window t falls in; days before the
// window are 0, -1, ...
func (g *generator) dayOf(t int64) int {
	d := t - g.start
	day := d / dayNs
	if d < 0 && d%dayNs != 0 {
		day--
	}
	return int(day) + 1
}

// at returns the unix ns of day (1-based) at hh:mm:ss UTC.
func (g *generator) at(day int, clock time.Duration) int64 {
	return g.start + int64(day-1)*dayNs + int64(clock)
}

// --- daily shapes -----------------------------------------------------------

// Shapes of daily activity, each summing to 1 over the 1440 minutes of a
// local day: office hours (two humps), flat, and nightly batch jobs.
var shapes = buildShapes()

const (
	shapeBusiness = iota
	shapeFlat
	shapeNight
)

func buildShapes() [3][1440]float64 {
	var s [3][1440]float64
	var sum [3]float64
	for m := 0; m < 1440; m++ {
		h := float64(m) / 60
		night := math.Min(math.Abs(h-2.5), 24-math.Abs(h-2.5))
		s[shapeBusiness][m] = 0.04 + math.Exp(-sq((h-10.5)/2.0)) + 0.85*math.Exp(-sq((h-15)/2.2))
		s[shapeFlat][m] = 1
		s[shapeNight][m] = 0.08 + math.Exp(-sq(night/1.4))
		for k := range sum {
			sum[k] += s[k][m]
		}
	}
	for k := range s {
		for m := range s[k] {
			s[k][m] /= sum[k]
		}
	}
	return s
}

func sq(x float64) float64 { return x * x }

// weekendFactor is how much of a shape's weekday volume is left on weekends.
var weekendFactor = [3]float64{0.12, 0.9, 0.95}

// localClock returns the minute of the local day and whether it is a
// weekend, for unix ns t in a zone tz minutes east of UTC.
func localClock(t int64, tz int) (minute int, weekend bool) {
	local := t/int64(time.Minute) + int64(tz)
	day := math.Floor(float64(local) / 1440)
	minute = int(local - int64(day)*1440)
	wd := (int64(day) + 4) % 7 // 1970-01-01 was a Thursday; 0 = Sunday
	if wd < 0 {
		wd += 7
	}
	return minute, wd == 0 || wd == 6
}

// --- random helpers ---------------------------------------------------------

// poisson draws a Poisson variate: exact below 30, normal above.
func poisson(r *rand.Rand, lambda float64) int {
	if lambda <= 0 {
		return 0
	}
	if lambda < 30 {
		l := math.Exp(-lambda)
		k, p := 0, r.Float64()
		for p > l {
			k++
			p *= r.Float64()
		}
		return k
	}
	return max(0, int(math.Round(lambda+math.Sqrt(lambda)*r.NormFloat64())))
}

// logNormal draws a log-normal variate with the given median.
func logNormal(r *rand.Rand, median, sigma float64) float64 {
	return median * math.Exp(sigma*r.NormFloat64())
}

// logNormalFrom is a log-normal variate with the given median derived from
// hash h, for sizes that must be the same every time (a document's content).
func logNormalFrom(h uint64, median, sigma float64) float64 {
	u1 := (float64(h>>11) + 0.5) / (1 << 53)
	u2 := (float64(mix64(h)>>11) + 0.5) / (1 << 53)
	z := math.Sqrt(-2*math.Log(u1)) * math.Cos(2*math.Pi*u2)
	return median * math.Exp(sigma*z)
}

// weighted picks indexes by weight with a cumulative table.
type weighted struct {
	cum []float64
	ids []opID
}

func newWeighted(w map[opID]float64) *weighted {
	t := &weighted{}
	keys := make([]opID, 0, len(w))
	for k := range w {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	total := 0.0
	for _, k := range keys {
		if w[k] <= 0 {
			continue
		}
		total += w[k]
		t.cum = append(t.cum, total)
		t.ids = append(t.ids, k)
	}
	return t
}

func (t *weighted) pick(r *rand.Rand) opID {
	x := r.Float64() * t.cum[len(t.cum)-1]
	i, _ := slices.BinarySearch(t.cum, x)
	return t.ids[min(i, len(t.ids)-1)]
}

// appendPath builds prefix+id+suffix with one allocation.
func appendPath(prefix string, id int64, suffix string) string {
	var buf [64]byte
	b := append(buf[:0], prefix...)
	b = strconv.AppendInt(b, id, 10)
	b = append(b, suffix...)
	return string(b)
}

// pageQuery builds "page=P&limit=L" (with an optional leading parameter).
func pageQuery(lead string, page, limit int) string {
	var buf [96]byte
	b := append(buf[:0], lead...)
	if lead != "" {
		b = append(b, '&')
	}
	b = append(b, "page="...)
	b = strconv.AppendInt(b, int64(page), 10)
	b = append(b, "&limit="...)
	b = strconv.AppendInt(b, int64(limit), 10)
	return string(b)
}
