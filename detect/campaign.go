package detect

import (
	"context"
	"fmt"
	"hash/fnv"
	"slices"
	"strings"
	"time"
)

// Campaign correlation groups addresses that act together:
//
//   - addresses whose main API key and main endpoint are the same;
//   - addresses with the same user agent and main endpoint that walk the
//     same object ids in complementary ranges (few ids in common) at about
//     the same time;
//   - the members of a credential-attack cohort (see cohort).
//
// A group becomes a campaign when it has two or more addresses and at
// least one of them is flagged on its own evidence.

// Campaign timeline parameters.
const (
	campaignBucket   = 10 * time.Minute
	campaignPause    = 2 * time.Hour // a gap this long is a pause
	automationWindow = 30            // gaps that must be regular to call the rhythm automated
	automationCV     = 0.35
	rangeOverlap     = 0.2 // most ids two range-splitting members may share
)

// campaignBuild is a campaign being assembled.
type campaignBuild struct {
	members  []*callerData
	target   endpoint
	linkedBy []string
	src      *idSource
	out      *Campaign
}

// unionFind groups indexes.
type unionFind []int

func newUnionFind(n int) unionFind {
	u := make(unionFind, n)
	for i := range u {
		u[i] = i
	}
	return u
}

func (u unionFind) find(i int) int {
	for u[i] != i {
		u[i] = u[u[i]]
		i = u[i]
	}
	return i
}

func (u unionFind) union(a, b int) { u[u.find(a)] = u.find(b) }

// linkCallers groups the address callers into candidate campaigns. prelim
// holds each caller's verdict before campaign evidence.
func (inv *investigation) linkCallers(all []*callerData, prelim map[*callerData]*CallerReport) []*campaignBuild {
	var nodes []*callerData
	for _, cd := range all {
		if cd.caller.Kind == CallerIP && len(cd.endpoints) > 0 && prelim[cd].RiskScore >= riskInconclusive && inv.cohortByIP[cd.caller.Value] == nil {
			nodes = append(nodes, cd)
		}
	}
	u := newUnionFind(len(nodes))
	why := map[[2]int][]string{}
	topUA := func(cd *callerData) string {
		if uas := sortedCounts(cd.uas); len(uas) > 0 {
			return uas[0]
		}
		return ""
	}
	for i := range nodes {
		for j := i + 1; j < len(nodes); j++ {
			a, b := nodes[i], nodes[j]
			if a.endpoints[0].ep != b.endpoints[0].ep {
				continue
			}
			var reasons []string
			if a.an.key != nil && b.an.key != nil && a.an.key.id == b.an.key.id {
				reasons = append(reasons, "shared API key "+a.an.key.id)
			}
			if ua := topUA(a); ua != "" && ua == topUA(b) {
				if complementary(a, b) {
					reasons = append(reasons, "same user agent", "complementary id ranges")
				} else if len(reasons) > 0 {
					reasons = append(reasons, "same user agent")
				}
			}
			if len(reasons) == 0 {
				continue
			}
			u.union(i, j)
			why[[2]int{i, j}] = reasons
		}
	}
	groups := map[int][]int{}
	for i := range nodes {
		groups[u.find(i)] = append(groups[u.find(i)], i)
	}
	var out []*campaignBuild
	for _, idx := range groups {
		if len(idx) < 2 {
			continue
		}
		flagged := false
		cb := &campaignBuild{target: nodes[idx[0]].endpoints[0].ep}
		reasons := map[string]bool{"same target endpoint " + cb.target.String(): true}
		for _, i := range idx {
			cb.members = append(cb.members, nodes[i])
			flagged = flagged || prelim[nodes[i]].Severity.Flagged()
			for _, j := range idx {
				for _, r := range why[[2]int{i, j}] {
					reasons[r] = true
				}
			}
		}
		if !flagged {
			continue
		}
		for r := range reasons {
			cb.linkedBy = append(cb.linkedBy, r)
		}
		slices.Sort(cb.linkedBy)
		slices.SortFunc(cb.members, func(a, b *callerData) int { return a.total.First.Compare(b.total.First) })
		cb.src = commonSource(cb.members, cb.target)
		out = append(out, cb)
	}
	slices.SortFunc(out, func(a, b *campaignBuild) int { return cmpString(a.members[0].caller.Value, b.members[0].caller.Value) })
	return out
}

// complementary reports whether two callers enumerate the same source on
// the same endpoint in ranges that share few ids, at about the same time.
func complementary(a, b *callerData) bool {
	x, y := a.an.enumNum, b.an.enumNum
	if x == nil || y == nil || a.an.enumSeq.ep != b.an.enumSeq.ep || x.src != y.src || len(x.values) == 0 || len(y.values) == 0 {
		return false
	}
	if a.total.Last.Add(24*time.Hour).Before(b.total.First) || b.total.Last.Add(24*time.Hour).Before(a.total.First) {
		return false
	}
	common, i, j := 0, 0, 0
	for i < len(x.values) && j < len(y.values) {
		switch {
		case x.values[i] < y.values[j]:
			i++
		case x.values[i] > y.values[j]:
			j++
		default:
			common++
			i++
			j++
		}
	}
	return float64(common) <= rangeOverlap*float64(min(len(x.values), len(y.values)))
}

// commonSource is the numeric id source most members enumerate on target.
func commonSource(ms []*callerData, target endpoint) *idSource {
	votes := map[idSource]int{}
	for _, cd := range ms {
		if cd.an.enumNum != nil && cd.an.enumSeq.ep == target && cd.an.enumNum.unique >= 2 {
			votes[cd.an.enumNum.src]++
		}
	}
	var best *idSource
	n := 0
	for s, c := range votes {
		if c > n || (c == n && best != nil && s.String() < best.String()) {
			s := s
			best, n = &s, c
		}
	}
	return best
}

// campaignSQL is the query behind a campaign: the members' requests to
// the target in all, per member and (with buckets) per member and ten
// minutes, with the distinct object ids they read and how many ids more
// than one member requested.
func campaignSQL(cb *campaignBuild, since, until time.Time, buckets bool) (string, bool) {
	f, ok := cb.target.filter()
	if !ok {
		return "", false
	}
	num := "CAST(NULL AS BIGINT)"
	if cb.src != nil {
		if num, ok = cb.src.numberSQL(); !ok {
			return "", false
		}
	}
	var ips []string
	for _, m := range cb.members {
		q, ok := quote(m.caller.Value)
		if !ok {
			return "", false
		}
		ips = append(ips, q)
	}
	bucketCol, bucketOrder := "", ""
	if buckets {
		bucketCol, bucketOrder = "bucket,", ", bucket"
	}
	sets, level := "(), (peer_ip)", "CASE WHEN grouping(peer_ip) = 1 THEN 'all' ELSE 'member' END"
	if buckets {
		sets += ", (peer_ip, bucket)"
		level = "CASE WHEN grouping(peer_ip) = 1 THEN 'all' WHEN grouping(bucket) = 1 THEN 'member' ELSE 'bucket' END"
	}
	return fmt.Sprintf(`WITH r AS (
  SELECT peer_ip, intDiv(epoch_ms(timestamp), 600000) AS bucket, timestamp, status_code, response_bytes,
    %[1]s AS v
  FROM traces
  WHERE span_kind = 'Server' AND http_method <> '' AND %[2]s AND %[3]s
    AND peer_ip IN (%[4]s)
),
ids AS (
  SELECT v, uniqExact(peer_ip) AS holders FROM r WHERE v IS NOT NULL GROUP BY v
)
SELECT %[6]s AS level,
  peer_ip, %[7]s count() AS requests, sum(response_bytes) AS bytes,
  uniqExactIf(v, v IS NOT NULL AND status_code BETWEEN 200 AND 299) AS unique_objects,
  uniqExactIf(v, v IS NOT NULL) AS unique_ids, min(v) AS min_id, max(v) AS max_id,
  min(timestamp) AS first_seen, max(timestamp) AS last_seen,
  (SELECT countIf(holders > 1) FROM ids) AS shared_ids
FROM r
GROUP BY GROUPING SETS (%[5]s)
ORDER BY level, peer_ip%[8]s`, num, windowSQL(since, until), f, strings.Join(ips, ", "), sets, level, bucketCol, bucketOrder), true
}

// buildCampaign reads a campaign's figures and timeline.
func (inv *investigation) buildCampaign(ctx context.Context, cb *campaignBuild) error {
	_, ok := campaignSQL(cb, inv.since, inv.until, false)
	q, _ := campaignSQL(cb, inv.since, inv.until, true)
	c := &Campaign{Target: cb.target.String(), LinkedBy: cb.linkedBy}
	cb.out = c
	for _, m := range cb.members {
		c.IPs = append(c.IPs, m.caller.Value)
		if m.an.key != nil && !slices.Contains(c.APIKeys, m.an.key.id) {
			c.APIKeys = append(c.APIKeys, m.an.key.id)
		}
		for _, ua := range sortedCounts(m.uas) {
			if ua != "" && !slices.Contains(c.UserAgents, ua) && len(c.UserAgents) < 5 {
				c.UserAgents = append(c.UserAgents, ua)
			}
		}
	}
	c.IPCount = len(c.IPs)
	slices.Sort(c.APIKeys)
	if cb.src != nil {
		c.ObjectSource = cb.src.String()
	}
	if !ok {
		return nil
	}
	members := map[string]struct{ first, last time.Time }{}
	var buckets []time.Time
	var idMembers, sharedIDs int64
	if fig, ok := figuresFromSequences(cb); ok {
		c.Requests, c.Bytes, c.UniqueObjects = fig.requests, fig.bytes, fig.uniqueObjects
		c.FirstSeen, c.LastSeen = fig.first, fig.last
		idMembers, sharedIDs, members, buckets = fig.uniqueIDs, fig.sharedIDs, fig.members, fig.buckets
		c.Ranges = fig.ranges
	} else {
		res, err := inv.r.query(ctx, q)
		if err != nil {
			return fmt.Errorf("read campaign figures: %w", err)
		}
		cols := columns(res)
		for _, vals := range res.Rows {
			rw := row{cols, vals}
			switch rw.str("level") {
			case "all":
				c.Requests, c.Bytes, c.UniqueObjects = rw.int("requests"), rw.int("bytes"), rw.int("unique_objects")
				c.FirstSeen, c.LastSeen = rw.time("first_seen"), rw.time("last_seen")
				idMembers, sharedIDs = rw.int("unique_ids"), rw.int("shared_ids")
			case "member":
				ip := rw.str("peer_ip")
				members[ip] = struct{ first, last time.Time }{rw.time("first_seen"), rw.time("last_seen")}
				if cb.src != nil && rw.int("unique_ids") > 0 {
					c.Ranges = append(c.Ranges, IDRange{IP: ip, Requests: rw.int("requests"), Min: rw.int("min_id"), Max: rw.int("max_id"), Unique: rw.int("unique_ids")})
				}
			case "bucket":
				buckets = append(buckets, time.UnixMilli(rw.int("bucket")*campaignBucket.Milliseconds()).UTC())
			}
		}
	}
	if idMembers > 0 {
		c.Overlap = round(float64(sharedIDs)/float64(idMembers), 4)
	}
	slices.SortFunc(c.Ranges, func(a, b IDRange) int { return cmpInt(a.Min, b.Min) })
	c.DurationHours = round(c.LastSeen.Sub(c.FirstSeen).Hours(), 1)
	ev, _ := campaignSQL(cb, inv.since, inv.until, false)
	c.Evidence = Evidence{
		Figures: map[string]any{
			"requests": c.Requests, "bytes": c.Bytes, "unique_objects": c.UniqueObjects, "ips": c.IPCount,
			"unique_ids": idMembers, "shared_ids": sharedIDs, "first_seen": c.FirstSeen, "last_seen": c.LastSeen,
		},
		SQL: ev,
	}
	c.Timeline = inv.timeline(cb, members, buckets)
	return nil
}

// campaignFigures are a campaign's figures, as campaignSQL computes them.
type campaignFigures struct {
	requests, bytes, uniqueObjects, uniqueIDs, sharedIDs int64
	first, last                                          time.Time
	members                                              map[string]struct{ first, last time.Time }
	buckets                                              []time.Time
	ranges                                               []IDRange
}

// figuresFromSequences computes a campaign's figures from its members'
// sequences on the target when every one was read in full, saving a
// query; ok is false otherwise.
func figuresFromSequences(cb *campaignBuild) (campaignFigures, bool) {
	f := campaignFigures{members: map[string]struct{ first, last time.Time }{}}
	holders := map[int64]map[string]bool{}
	objects := map[int64]bool{}
	buckets := map[int64]bool{}
	for _, m := range cb.members {
		var s *sequence
		for _, x := range m.seqs {
			if x.ep == cb.target {
				s = x
			}
		}
		if s == nil || s.truncated || len(s.reqs) == 0 {
			return f, false
		}
		ip := m.caller.Value
		rg := IDRange{IP: ip, Requests: int64(len(s.reqs))}
		ids := map[int64]bool{}
		for i := range s.reqs {
			rq := &s.reqs[i]
			f.requests++
			f.bytes += rq.bytes
			buckets[rq.at.UnixMilli()/campaignBucket.Milliseconds()] = true
			if cb.src == nil {
				continue
			}
			v, ok := parseID(cb.src.raw(rq))
			if !ok {
				continue
			}
			if len(ids) == 0 || v < rg.Min {
				rg.Min = v
			}
			if len(ids) == 0 || v > rg.Max {
				rg.Max = v
			}
			ids[v] = true
			if holders[v] == nil {
				holders[v] = map[string]bool{}
			}
			holders[v][ip] = true
			if rq.status >= 200 && rq.status < 300 {
				objects[v] = true
			}
		}
		first, last := s.reqs[0].at, s.reqs[len(s.reqs)-1].at
		f.members[ip] = struct{ first, last time.Time }{first, last}
		if f.first.IsZero() || first.Before(f.first) {
			f.first = first
		}
		if last.After(f.last) {
			f.last = last
		}
		if len(ids) > 0 {
			rg.Unique = int64(len(ids))
			f.ranges = append(f.ranges, rg)
		}
	}
	f.uniqueObjects, f.uniqueIDs = int64(len(objects)), int64(len(holders))
	for _, h := range holders {
		if len(h) > 1 {
			f.sharedIDs++
		}
	}
	for b := range buckets {
		f.buckets = append(f.buckets, time.UnixMilli(b*campaignBucket.Milliseconds()).UTC())
	}
	return f, true
}

// timeline lists a campaign's moments: the first request to the target,
// when a machine rhythm began, each address joining, pauses, the end.
func (inv *investigation) timeline(cb *campaignBuild, members map[string]struct{ first, last time.Time }, buckets []time.Time) []TimelineEvent {
	var ev []TimelineEvent
	type joined struct {
		ip string
		at time.Time
	}
	var js []joined
	for ip, m := range members {
		js = append(js, joined{ip, m.first})
	}
	slices.SortFunc(js, func(a, b joined) int {
		if c := a.at.Compare(b.at); c != 0 {
			return c
		}
		return cmpString(a.ip, b.ip)
	})
	for i, j := range js {
		if i == 0 {
			ev = append(ev, TimelineEvent{At: j.at, Kind: "first_probe", IP: j.ip, Text: fmt.Sprintf("First request to %s, from %s", cb.target, j.ip)})
			continue
		}
		ev = append(ev, TimelineEvent{At: j.at, Kind: "ip_joined", IP: j.ip, Text: fmt.Sprintf("%s joins (address %d of %d)", j.ip, i+1, len(js))})
	}
	var auto time.Time
	autoIP := ""
	for _, m := range cb.members {
		for _, s := range m.seqs {
			if s.ep != cb.target {
				continue
			}
			if t, ok := automationStart(s); ok && (auto.IsZero() || t.Before(auto)) {
				auto, autoIP = t, m.caller.Value
			}
		}
	}
	if !auto.IsZero() {
		ev = append(ev, TimelineEvent{At: auto, Kind: "automation_start", IP: autoIP, Text: fmt.Sprintf("Automated requests begin from %s: %d consecutive gaps with a coefficient of variation under %.2f", autoIP, automationWindow, automationCV)})
	}
	slices.SortFunc(buckets, func(a, b time.Time) int { return a.Compare(b) })
	buckets = slices.CompactFunc(buckets, func(a, b time.Time) bool { return a.Equal(b) })
	for i := 1; i < len(buckets); i++ {
		end := buckets[i-1].Add(campaignBucket)
		if gap := buckets[i].Sub(end); gap >= campaignPause {
			ev = append(ev,
				TimelineEvent{At: end, Kind: "pause", Text: fmt.Sprintf("Pause of about %.1f hours: no requests to %s", gap.Hours(), cb.target)},
				TimelineEvent{At: buckets[i], Kind: "resume", Text: "Requests resume"})
		}
	}
	var last time.Time
	lastIP := ""
	for ip, m := range members {
		if m.last.After(last) || (m.last.Equal(last) && ip < lastIP) {
			last, lastIP = m.last, ip
		}
	}
	if !last.IsZero() {
		ev = append(ev, TimelineEvent{At: last, Kind: "last_request", IP: lastIP, Text: "Last request, from " + lastIP})
	}
	slices.SortStableFunc(ev, func(a, b TimelineEvent) int { return a.At.Compare(b.At) })
	return ev
}

// automationStart returns the time of the first request after which
// automationWindow consecutive gaps are regular (coefficient of variation
// under automationCV, none a pause).
func automationStart(s *sequence) (time.Time, bool) {
	n := len(s.reqs)
	if n <= automationWindow {
		return time.Time{}, false
	}
	gaps := make([]float64, n-1)
	for i := 1; i < n; i++ {
		gaps[i-1] = s.reqs[i].at.Sub(s.reqs[i-1].at).Seconds()
	}
	for i := 0; i+automationWindow <= len(gaps); i++ {
		w := gaps[i : i+automationWindow]
		if slices.Max(w) > pauseGap.Seconds() {
			continue
		}
		m, sd := meanStd(w)
		if m > 0 && sd/m < automationCV {
			return s.reqs[i].at, true
		}
	}
	return time.Time{}, false
}

// cohortCampaign turns a credential-attack cohort into a campaign.
func (inv *investigation) cohortCampaign(c *cohort) *Campaign {
	out := &Campaign{
		Target:    c.ep.String(),
		LinkedBy:  []string{"same authentication endpoint " + c.ep.String(), "nothing but failed logins", "same burst of time"},
		IPCount:   len(c.members),
		Requests:  c.attempts,
		FirstSeen: c.members[0].first, LastSeen: c.members[0].last,
		APIKeys: []string{},
	}
	for _, m := range c.members {
		if len(out.IPs) < MaxCampaignIPs {
			out.IPs = append(out.IPs, m.ip)
		}
		if m.first.Before(out.FirstSeen) {
			out.FirstSeen = m.first
		}
		if m.last.After(out.LastSeen) {
			out.LastSeen = m.last
		}
	}
	uas := map[string]int64{}
	for ua, n := range c.uas {
		uas[ua] = int64(n)
	}
	for _, ua := range sortedCounts(uas) {
		if ua != "" && len(out.UserAgents) < 5 {
			out.UserAgents = append(out.UserAgents, ua)
		}
	}
	out.DurationHours = round(out.LastSeen.Sub(out.FirstSeen).Hours(), 1)
	out.Timeline = []TimelineEvent{
		{At: out.FirstSeen, Kind: "first_probe", IP: c.members[0].ip, Text: "First failed login of the cohort on " + c.ep.String()},
		{At: out.LastSeen, Kind: "last_request", Text: "Last attempt of the cohort"},
	}
	out.Evidence = Evidence{
		Figures: map[string]any{
			"cohort_addresses": len(c.members), "cohort_attempts": c.attempts, "cohort_failures": c.failures, "cohort_successes": c.successes,
			"addresses_failing": c.failing, "addresses_failing_only": c.candidates, "burst_start": c.start, "burst_end": c.end,
		},
		SQL: c.evidenceSQL(inv.since, inv.until),
	}
	return out
}

// campaignID names a campaign stably: its target and its first members.
func campaignID(target string, ips []string) string {
	h := fnv.New64a()
	h.Write([]byte(target))
	s := slices.Clone(ips)
	slices.Sort(s)
	for _, ip := range s {
		h.Write([]byte{0})
		h.Write([]byte(ip))
	}
	return fmt.Sprintf("C-%012x", h.Sum64()&0xffffffffffff)
}
