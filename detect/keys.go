package detect

import (
	"context"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"time"
)

// keyFacts is what the store knows of one API key.
type keyFacts struct {
	id                  string
	firstSeen, lastSeen time.Time // since the lookback
	firstInWindow       time.Time
	// created is the request that issued the key when its first request
	// was one (see issuesCredential).
	created         string
	requests, bytes int64 // in the window
	ips             []ipUse
	days            map[time.Time]int64 // since the lookback
	// nets and asns count the networks and ASNs of ips once counted
	// (see networks and keyUse): a batch reports a key once per caller.
	nets, asns           int
	netsKnown, asnsKnown bool
}

// createdBy returns the request that issued the key, when its first
// request was one: a successful POST to a route that signs up, registers
// or creates keys, accounts or tokens.
func (k *keyFacts) createdBy() string { return k.created }

// creation returns the request that issued a key whose first request was
// method route answered with status, or "".
func creation(method, route string, status int64) string {
	if method == "POST" && status >= 200 && status < 300 && issuesCredential(route) {
		return method + " " + route
	}
	return ""
}

// networks counts the networks (see network) of the key's addresses in
// the window.
func (k *keyFacts) networks() int {
	if !k.netsKnown {
		seen := map[string]bool{}
		for _, u := range k.ips {
			seen[network(u.ip)] = true
		}
		k.nets, k.netsKnown = len(seen), true
	}
	return k.nets
}

// concurrency is the largest number of the key's addresses active at once
// in the window, each address active from its first to its last request.
func (k *keyFacts) concurrency() int {
	type edge struct {
		at    time.Time
		delta int
	}
	var edges []edge
	for _, u := range k.ips {
		edges = append(edges, edge{u.first, 1}, edge{u.last, -1})
	}
	slices.SortFunc(edges, func(a, b edge) int {
		if c := a.at.Compare(b.at); c != 0 {
			return c
		}
		return b.delta - a.delta // starts before ends at the same instant
	})
	cur, best := 0, 0
	for _, e := range edges {
		cur += e.delta
		best = max(best, cur)
	}
	return best
}

// onset returns the start of the first day whose requests reach a tenth
// of the key's busiest day and at least minOnset; zero when none does.
func (k *keyFacts) onset() time.Time {
	var peak int64
	for _, n := range k.days {
		peak = max(peak, n)
	}
	var days []time.Time
	for d, n := range k.days {
		if n >= max(minOnset, peak/10) {
			days = append(days, d)
		}
	}
	if len(days) == 0 {
		return time.Time{}
	}
	return slices.MinFunc(days, func(a, b time.Time) int { return a.Compare(b) })
}

// minOnset is the fewest requests in a day that count as volume.
const minOnset = 100

// readKeys reads the facts of keys.
func readKeys(ctx context.Context, r *runner, keys []string, lookback, since, until time.Time) (map[string]*keyFacts, error) {
	out := map[string]*keyFacts{}
	for start := 0; start < len(keys); start += 1000 {
		batch := keys[start:min(len(keys), start+1000)]
		inKeys, keyArgs := inColumn("api_key_id", batch)
		args := append(append([]any{lookback, until}, keyArgs...), since, since, since, lookback, until)
		res, err := r.query(ctx, sqlText("keys", map[string]string{"in_keys": inKeys}), args...)
		if err != nil {
			return nil, fmt.Errorf("read API keys: %w", err)
		}
		cols := columns(res)
		get := func(id string) *keyFacts {
			k := out[id]
			if k == nil {
				k = &keyFacts{id: id, days: map[time.Time]int64{}}
				out[id] = k
			}
			return k
		}
		for _, vals := range res.Rows {
			rw := row{cols, vals}
			k := get(rw.str("api_key_id"))
			switch rw.str("kind") {
			case "key":
				k.firstSeen, k.lastSeen, k.firstInWindow = rw.time("first_seen"), rw.time("last_seen"), rw.time("first_in_window")
				k.created = creation(rw.str("first_method"), rw.str("first_route"), rw.int("first_status"))
				k.requests, k.bytes = rw.int("requests"), rw.int("bytes")
			case "ip":
				if n := rw.int("requests"); n > 0 {
					k.ips = append(k.ips, ipUse{ip: rw.str("peer_ip"), requests: n, first: rw.time("first_in_window"), last: rw.time("last_seen")})
				}
			case "day":
				k.days[epochDay(rw.int("day"))] += rw.int("requests_all")
			}
		}
	}
	for _, k := range out {
		slices.SortFunc(k.ips, func(a, b ipUse) int {
			if a.requests != b.requests {
				return cmpInt(b.requests, a.requests)
			}
			return cmpString(a.ip, b.ip)
		})
	}
	return out, nil
}

// dataEdge tells whether a key's first request may be the start of the
// stored data (or of the lookback) rather than of the key, in which case
// the key's age is unknown ("censored"): it may be older.
type dataEdge struct {
	// local: hours holds, for each first-seen hour probed, whether the
	// store held little data in the day before it (less than half the
	// day after). Otherwise start is where the stored data begins.
	local bool
	hours map[time.Time]bool
	start time.Time
	// from is the start of the searched range: a key first seen there may
	// be older still.
	from time.Time
}

// maxEdgeProbes is the most first-seen hours probed one by one; more use
// one histogram of the stored hours.
const maxEdgeProbes = 8

// censored reports whether k's age is unknown. A key whose creation was
// observed is never censored.
func (d *dataEdge) censored(k *keyFacts) bool {
	if d == nil || k.createdBy() != "" || k.firstSeen.IsZero() {
		return false
	}
	if k.firstSeen.Before(d.from.Add(censorMargin)) {
		return true
	}
	if d.local {
		return d.hours[k.firstSeen.Truncate(time.Hour)]
	}
	return !d.start.IsZero() && k.firstSeen.Before(d.start.Add(censorMargin))
}

// readDataEdge probes the store around the keys' first requests: for a
// few keys, the spans in the day before and after each first-seen hour
// (range scans the store answers from its time index); for many, the
// histogram of stored hours since from.
func readDataEdge(ctx context.Context, r *runner, keys []*keyFacts, from, until time.Time) (*dataEdge, error) {
	var hours []time.Time
	for _, k := range keys {
		if k.createdBy() != "" || k.firstSeen.IsZero() {
			continue
		}
		h := k.firstSeen.Truncate(time.Hour)
		if !slices.ContainsFunc(hours, h.Equal) {
			hours = append(hours, h)
		}
	}
	slices.SortFunc(hours, func(a, b time.Time) int { return a.Compare(b) })
	d := &dataEdge{local: true, hours: map[time.Time]bool{}, from: from}
	if len(hours) == 0 {
		return d, nil
	}
	if len(hours) <= maxEdgeProbes {
		var parts []string
		var args []any
		for i, h := range hours {
			parts = append(parts, fmt.Sprintf("SELECT %d AS i, countIf(timestamp < ?) AS before, countIf(timestamp >= ?) AS after FROM traces WHERE timestamp >= ? AND timestamp < ?", i))
			args = append(args, h, h, h.Add(-censorMargin), h.Add(censorMargin))
		}
		res, err := r.query(ctx, strings.Join(parts, "\nUNION ALL\n"), args...)
		if err != nil {
			return nil, fmt.Errorf("probe the stored data around the keys' first requests: %w", err)
		}
		cols := columns(res)
		for _, vals := range res.Rows {
			rw := row{cols, vals}
			if i := int(rw.int("i")); i >= 0 && i < len(hours) {
				d.hours[hours[i]] = 2*rw.int("before") < rw.int("after")
			}
		}
		return d, nil
	}
	res, err := r.query(ctx, sqlText("hours", nil), from, until)
	if err != nil {
		return nil, fmt.Errorf("read stored hours: %w", err)
	}
	cols := columns(res)
	var counts []float64
	for _, vals := range res.Rows {
		counts = append(counts, row{cols, vals}.float("spans"))
	}
	m := median(counts)
	d.local = false
	for i, vals := range res.Rows {
		if counts[i] >= m/20 {
			d.start = epochHour(row{cols, vals}.int("hour"))
			break
		}
	}
	return d, nil
}

// censorMargin: a key first seen this close to the start of the stored
// data may be older than the data; its age is unknown.
const censorMargin = 24 * time.Hour

// age returns a key's age at t in days, and whether it is censored.
func (k *keyFacts) age(t time.Time, edge *dataEdge) (days float64, censored bool) {
	return t.Sub(k.firstSeen).Hours() / 24, edge.censored(k)
}

// Words in routes of the endpoints that authenticate callers, and of those
// that issue credentials. They are generic API vocabulary, matched against
// whole route segments or their dash/underscore-separated parts.
var (
	authWords   = wordSet("auth authenticate authentication login logon signin sign-in session sessions token tokens oauth oauth2 password passwords passwd credentials 2fa mfa otp sso saml")
	issuerWords = wordSet("signup sign-up register registration registrations keys apikeys api-keys api_keys tokens accounts")
)

func wordSet(s string) map[string]bool {
	m := map[string]bool{}
	for _, w := range strings.Fields(s) {
		m[w] = true
	}
	return m
}

func routeHas(route string, words map[string]bool) bool {
	for seg := range strings.SplitSeq(strings.ToLower(route), "/") {
		if words[seg] {
			return true
		}
		for part := range strings.FieldsFuncSeq(seg, func(r rune) bool { return r == '-' || r == '_' || r == '.' }) {
			if words[part] {
				return true
			}
		}
	}
	return false
}

// issuerPattern is issuesCredential as an RE2 pattern over a lower-case
// route, for the inventory query.
func issuerPattern() string {
	var ws []string
	for w := range issuerWords {
		ws = append(ws, regexp.QuoteMeta(w))
	}
	slices.Sort(ws)
	return "(^|[/._-])(" + strings.Join(ws, "|") + ")($|[/._-])"
}

// authLike reports whether a route authenticates callers.
func authLike(route string) bool { return routeHas(route, authWords) }

// issuesCredential reports whether a route creates accounts or keys.
func issuesCredential(route string) bool { return routeHas(route, issuerWords) }
