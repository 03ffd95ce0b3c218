package detect

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"time"

	"github.com/tracehound/tracehound/store"
)

// ErrNoCallers is returned by Investigate when no caller is given.
var ErrNoCallers = errors.New("detect: no callers to investigate")

// Bounds of an investigation's work.
const (
	defaultWindow   = 7 * 24 * time.Hour
	defaultLookback = 14 * 24 * time.Hour
	chunkSize       = 500     // callers read by one query
	smallBatch      = 20      // callers read in full (up to maxPerPair requests an endpoint)
	minSequence     = 10      // fewest requests to an endpoint worth a sequence
	sequenceRows    = 300_000 // requests read by one query of a batch
	minPerPair      = 200     // fewest requests read of an endpoint, budget or not
	maxPerPair      = 20_000  // most requests read of an endpoint
	maxCoUsers      = 50      // a key's addresses followed when it has at most this many
	maxExpansion    = 200     // co-user addresses added to one investigation
	enrichWorkers   = 4
)

// investigation is one run of Investigate.
type investigation struct {
	env
	r       *runner
	opts    Options
	callers map[Caller]*callerData
}

// Investigate runs the detectors over the callers' traffic in the window
// and returns a verdict on each, with the campaigns they belong to. It
// reads the store only through q, in a handful of queries per batch of
// callers. Investigating a key looks at every request made with it.
func Investigate(ctx context.Context, q store.Querier, o Options) (*Report, error) {
	began := time.Now()
	since, until, err := window(o.Since, o.Until, o.Now)
	if err != nil {
		return nil, err
	}
	lookback := o.Lookback
	if lookback <= 0 {
		lookback = defaultLookback
	}
	var order []Caller
	seen := map[Caller]bool{}
	for _, s := range o.Callers {
		c := ParseCaller(s)
		if c.Value == "" || seen[c] {
			continue
		}
		seen[c] = true
		order = append(order, c)
	}
	if len(order) == 0 {
		return nil, ErrNoCallers
	}
	inv := &investigation{
		env: env{
			since: since, until: until, lookback: since.Add(-lookback),
			peers: map[string]*peerStats{}, cohortByIP: map[string]*cohort{}, facts: map[string]*EndpointFacts{},
			enrich: map[string]*Enrichment{}, keys: map[string]*keyFacts{},
		},
		r: &runner{q: q}, opts: o, callers: map[Caller]*callerData{},
	}
	if err := inv.collect(ctx, order); err != nil {
		return nil, err
	}
	rep, err := inv.report(ctx, order)
	if err != nil {
		return nil, err
	}
	rep.Queries = inv.r.n
	rep.ElapsedMS = float64(time.Since(began).Microseconds()) / 1000
	return rep, nil
}

// window resolves a window's defaults.
func window(since, until time.Time, now func() time.Time) (time.Time, time.Time, error) {
	if until.IsZero() {
		if now == nil {
			now = time.Now
		}
		until = now()
	}
	if since.IsZero() {
		since = until.Add(-defaultWindow)
	}
	if !since.Before(until) {
		return since, until, fmt.Errorf("detect: the window's start %s is not before its end %s", since.Format(time.RFC3339), until.Format(time.RFC3339))
	}
	return since.UTC(), until.UTC(), nil
}

// collect reads everything the detectors need.
func (inv *investigation) collect(ctx context.Context, order []Caller) error {
	// Profiles and sequences, by kind, in chunks, with progress.
	total, done := len(order), 0
	for _, kind := range []CallerKind{CallerIP, CallerKey} {
		var values []string
		for _, c := range order {
			if c.Kind == kind {
				values = append(values, c.Value)
			}
		}
		for start := 0; start < len(values); start += chunkSize {
			chunk := values[start:min(len(values), start+chunkSize)]
			if err := inv.profile(ctx, kind, chunk, true); err != nil {
				return err
			}
			done += len(chunk)
			if inv.opts.Progress != nil && done < total {
				inv.opts.Progress(done, total)
			}
		}
	}
	// The keys the callers used, and the addresses sharing them.
	if err := inv.readKeys(ctx); err != nil {
		return err
	}
	// Small investigations follow the addresses sharing the callers'
	// keys (a campaign's other members); a batch relies on its own.
	var extra []string
	for _, c := range order {
		cd := inv.callers[c]
		if cd == nil || c.Kind != CallerIP || cd.an.key == nil || len(cd.an.key.ips) > maxCoUsers || len(order) > smallBatch {
			continue
		}
		for _, u := range cd.an.key.ips {
			co := Caller{Kind: CallerIP, Value: u.ip}
			if inv.callers[co] == nil && !slices.Contains(extra, u.ip) && len(extra) < maxExpansion {
				extra = append(extra, u.ip)
			}
		}
	}
	if len(extra) > 0 {
		if err := inv.profile(ctx, CallerIP, extra, false); err != nil {
			return err
		}
		if err := inv.readKeys(ctx); err != nil {
			return err
		}
	}
	var keys []*keyFacts
	for _, k := range inv.keys {
		keys = append(keys, k)
	}
	edge, err := readDataEdge(ctx, inv.r, keys, inv.lookback, inv.until)
	if err != nil {
		return err
	}
	inv.edge = edge
	all := inv.ordered(order)
	for _, cd := range all {
		for _, es := range cd.endpoints {
			if es.ep.Routed {
				inv.hasRoutes = true
			}
		}
		inv.analyse(cd)
	}
	if err := inv.readPeers(ctx, all); err != nil {
		return err
	}
	if err := inv.readCohorts(ctx, all); err != nil {
		return err
	}
	inv.lookupFacts(ctx, all)
	inv.enrichAll(ctx, all)
	if inv.opts.Progress != nil {
		inv.opts.Progress(total, total)
	}
	return nil
}

// ordered returns the requested callers in order, then the co-users.
func (inv *investigation) ordered(order []Caller) []*callerData {
	var out []*callerData
	for _, c := range order {
		if cd := inv.callers[c]; cd != nil {
			out = append(out, cd)
		}
	}
	var extra []*callerData
	for _, cd := range inv.callers {
		if !cd.requested {
			extra = append(extra, cd)
		}
	}
	slices.SortFunc(extra, func(a, b *callerData) int { return cmpString(a.caller.Value, b.caller.Value) })
	return append(out, extra...)
}

// profile reads the profiles and sequences of callers.
func (inv *investigation) profile(ctx context.Context, kind CallerKind, values []string, requested bool) error {
	for start := 0; start < len(values); start += chunkSize {
		chunk := values[start:min(len(values), start+chunkSize)]
		m, err := readCallers(ctx, inv.r, kind, chunk, inv.since, inv.until, perPairLimit(len(chunk)))
		if err != nil {
			return err
		}
		for v, cd := range m {
			cd.requested = requested
			inv.callers[Caller{Kind: kind, Value: v}] = cd
		}
	}
	return nil
}

// perPairLimit is the most requests read of each of a caller's busiest
// endpoints when n callers are read together: all a small investigation
// needs, and a bounded total (sequenceRows) for a batch.
func perPairLimit(n int) int {
	if n <= smallBatch {
		return maxPerPair
	}
	return min(maxPerPair, max(minPerPair, sequenceRows/(3*n)))
}

// readKeys reads the facts of the keys the callers used and that are not
// read yet, and attaches each caller's main key.
func (inv *investigation) readKeys(ctx context.Context) error {
	var want []string
	for _, cd := range inv.callers {
		var ks []string
		if cd.caller.Kind == CallerKey {
			ks = []string{cd.caller.Value}
		} else {
			for k := range cd.keys {
				ks = append(ks, k)
			}
		}
		for _, k := range ks {
			if k != "" && inv.keys[k] == nil && !slices.Contains(want, k) {
				want = append(want, k)
			}
		}
	}
	slices.Sort(want)
	m, err := readKeys(ctx, inv.r, want, inv.lookback, inv.since, inv.until)
	if err != nil {
		return err
	}
	for k, f := range m {
		inv.keys[k] = f
	}
	for _, cd := range inv.callers {
		if cd.caller.Kind == CallerKey {
			cd.an.key = inv.keys[cd.caller.Value]
			continue
		}
		if k, share := cd.topKey(); k != "" && 2*share >= 1 {
			cd.an.key = inv.keys[k]
		}
	}
	return nil
}

// analyse reads a caller's sequences.
func (inv *investigation) analyse(cd *callerData) {
	cd.an.seqs = map[*sequence]seqAnalysis{}
	for _, s := range cd.seqs {
		cd.an.seqs[s] = s.analyse()
		if len(cd.endpoints) > 0 && s.ep == cd.endpoints[0].ep {
			cd.an.main = s
		}
	}
}

// readPeers reads the peer distributions the detectors compare with:
// each busy endpoint's callers (bytes, and the deepest page and distinct
// values of the parameters seen), in one scan per caller kind.
func (inv *investigation) readPeers(ctx context.Context, all []*callerData) error {
	for _, kind := range []CallerKind{CallerIP, CallerKey} {
		var needs []peerNeed
		for _, cd := range all {
			if cd.caller.Kind != kind {
				continue
			}
			for _, es := range cd.endpoints {
				if cd.total.Bytes > 0 && 5*es.Bytes >= cd.total.Bytes && es.Requests >= minSequence {
					needs = append(needs, peerNeed{kind: kind, ep: es.ep})
				}
			}
			for _, s := range cd.seqs {
				sa := cd.an.seqs[s]
				for _, p := range sa.pages {
					if p.paged >= 30 {
						needs = append(needs, peerNeed{kind: kind, ep: s.ep, page: p.param})
					}
				}
				for _, t := range sa.texts {
					if t.unique >= 30 {
						needs = append(needs, peerNeed{kind: kind, ep: s.ep, uniq: t.src})
					}
				}
			}
		}
		m, err := readEndpointPeers(ctx, inv.r, kind, needs, inv.since, inv.until)
		if err != nil {
			return err
		}
		maps.Copy(inv.peers, m)
	}
	return nil
}

// readCohorts reads the cohorts of the authentication endpoints that the
// address callers failed on.
func (inv *investigation) readCohorts(ctx context.Context, all []*callerData) error {
	var eps []endpoint
	for _, cd := range all {
		if cd.caller.Kind != CallerIP {
			continue
		}
		for _, es := range cd.endpoints {
			if es.authLike && es.S401+es.S403 > 0 && !slices.Contains(eps, es.ep) {
				eps = append(eps, es.ep)
			}
		}
	}
	slices.SortFunc(eps, func(a, b endpoint) int { return cmpString(a.key(), b.key()) })
	cs, err := readCohorts(ctx, inv.r, eps, inv.since, inv.until)
	if err != nil {
		return err
	}
	for _, c := range cs {
		for ip := range c.byIP {
			if old := inv.cohortByIP[ip]; old == nil || len(old.members) < len(c.members) {
				inv.cohortByIP[ip] = c
			}
		}
	}
	return nil
}

// lookupFacts asks the API map about the callers' busiest endpoints.
func (inv *investigation) lookupFacts(ctx context.Context, all []*callerData) {
	for _, cd := range all {
		for i, es := range cd.endpoints {
			if i >= 5 && !es.authLike {
				continue
			}
			k := es.ep.key()
			f, ok := inv.facts[k]
			if !ok && inv.opts.Endpoints != nil {
				if got, found := inv.opts.Endpoints(ctx, es.ep.ref()); found {
					f = &got
				}
				inv.facts[k] = f
			}
			es.facts = f
		}
	}
}

// enrichAll enriches the requested addresses and the addresses of their
// keys (for ASN and country counts), a few at a time.
func (inv *investigation) enrichAll(ctx context.Context, all []*callerData) {
	if inv.opts.Enrich == nil {
		return
	}
	var ips []string
	add := func(ip string) { ips = append(ips, ip) }
	for _, cd := range all {
		if cd.caller.Kind == CallerIP {
			add(cd.caller.Value)
		}
		if k := cd.an.key; k != nil && len(k.ips) <= maxCoUsers {
			for _, u := range k.ips {
				add(u.ip)
			}
		}
	}
	inv.enrich = enrichIPs(ctx, inv.opts.Enrich, ips)
}

// detect runs every detector on a caller.
func (inv *investigation) detect(cd *callerData) {
	a := &cd.an
	a.dets = map[string]*Detection{}
	for _, d := range []*Detection{
		inv.enumeration(cd), inv.pagination(cd), inv.exportVolume(cd), inv.focus(cd), inv.keySharing(cd),
		inv.credential(cd), inv.forcedBrowsing(cd), inv.timing(cd), inv.newKeyVolume(cd),
	} {
		a.dets[d.Detector] = d
	}
	inv.establish(cd)
}
