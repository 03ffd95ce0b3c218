package exclude

import (
	"cmp"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"math"
	"net/netip"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/tracehound/tracehound/alert"
	"github.com/tracehound/tracehound/store"
)

// Notice is a notification a suggestion starts from.
type Notice struct {
	ID          int64             `json:"id"`
	RuleID      string            `json:"rule_id"`
	Fingerprint string            `json:"fingerprint"`
	Labels      map[string]string `json:"labels"`
	StartsAt    time.Time         `json:"starts_at"`
	EndsAt      time.Time         `json:"ends_at,omitzero"`
	// Status is the triage status; Reason the reason of a false positive.
	Status string `json:"status"`
	Reason string `json:"reason,omitempty"`
}

// SuggestOptions configure Suggest.
type SuggestOptions struct {
	// DryRun carries the querier, rules, active exclusions, window,
	// compile options, true positives (Known), IsMalicious, concurrency
	// and baseline cache every suggestion's dry run uses; its Candidate is
	// ignored.
	DryRun DryRunOptions
	// FalsePositives are the notifications of the window closed as false
	// positives; Others those not triaged yet (open), which are suggested
	// for only when their caller looks like a stable benign one.
	FalsePositives []Notice
	Others         []Notice
	// Documented, when set, says whether an endpoint (method, path
	// template) is in the service's API spec.
	Documented func(method, template string) bool
	// Now dates the suggestions; their expiry is Now + Expiry (default 90
	// days), so that they come back for review.
	Now    time.Time
	Expiry time.Duration
	// Max bounds the suggestions (default 5); callers with more
	// notifications come first.
	Max int
}

// Suggestion is a proposed exclusion with its dry run.
type Suggestion struct {
	Exclusion Exclusion `json:"exclusion"`
	// Source is "false_positive" (from notifications closed as false
	// positives) or "stable_caller" (from open notifications of a caller
	// whose traffic looks benign).
	Source    string `json:"source"`
	Rationale string `json:"rationale"`
	// Caller describes the traffic the exclusion targets.
	Caller CallerProfile `json:"caller"`
	// Notifications are the notifications it targets; Removes counts
	// those its dry run removes (all of them, for a suggestion).
	Notifications []int64       `json:"notification_ids"`
	Removes       int           `json:"removes"`
	DryRun        *DryRunResult `json:"dry_run"`
	// Tried counts the candidates dry-run before this one passed: the
	// narrower ones that left a targeted notification or flagged a
	// true positive.
	Tried int `json:"tried"`
}

// CallerProfile is what the traffic of one caller looks like.
type CallerProfile struct {
	APIKey    string   `json:"api_key_id,omitempty"`
	IPs       []string `json:"ips"`
	UserAgent string   `json:"user_agent,omitempty"`
	Endpoints []string `json:"endpoints"`
	Requests  int64    `json:"requests"`
	// ErrorRate is the share of 4xx and 5xx answers.
	ErrorRate float64 `json:"error_rate"`
	// ActiveDays counts the days of the window with traffic, of WindowDays.
	ActiveDays int `json:"active_days"`
	WindowDays int `json:"window_days"`
	// HoursPerDay is the mean number of distinct hours a day with traffic.
	HoursPerDay float64 `json:"hours_per_day"`
	// ScheduleHours are the hours of day (UTC) holding most of the traffic
	// when it follows a daily schedule.
	ScheduleHours []int `json:"schedule_hours,omitempty"`
	// DailyCV is the coefficient of variation of the daily request counts.
	DailyCV float64 `json:"daily_cv"`
	// Documented is the share of requests to documented endpoints; -1
	// when unknown.
	Documented float64 `json:"documented"`
	// Kind is the stable-caller class: health_checker, monitoring,
	// internal_service, scheduled_partner, steady_caller, or "" when the
	// traffic is not stable.
	Kind string `json:"kind,omitempty"`
}

// Suggest proposes, for the callers behind the given notifications, the
// narrowest exclusion that would have removed their notifications without
// suppressing a known true positive, each with its dry run. Notifications
// are grouped by caller (their API key, or the key that dominates their
// address's traffic, else the address); each caller's traffic over the
// window is profiled; candidates go from narrowest (key, addresses and a
// path glob of its endpoints) to broadest (key or addresses alone), and
// the first whose dry run removes every targeted notification and flags no
// true positive is kept. Open notifications are suggested for only when
// their caller is stable: present nearly every day, regular (around the
// clock, or on a daily schedule), few user agents, few errors.
func Suggest(ctx context.Context, opts SuggestOptions) ([]Suggestion, error) {
	if opts.Max <= 0 {
		opts.Max = 5
	}
	if opts.Expiry <= 0 {
		opts.Expiry = 90 * 24 * time.Hour
	}
	if opts.Now.IsZero() {
		opts.Now = time.Now()
	}
	dr := opts.DryRun
	if dr.To.IsZero() {
		dr.To = opts.Now
	}
	if dr.From.IsZero() {
		dr.From = dr.To.Add(-DefaultWindow)
	}
	opts.DryRun = dr
	known := map[string]bool{}
	for _, k := range dr.Known {
		known[k.RuleID+"\x00"+k.Fingerprint] = true
	}
	var fp, open []Notice
	for _, n := range opts.FalsePositives {
		if !known[n.RuleID+"\x00"+n.Fingerprint] {
			fp = append(fp, n)
		}
	}
	for _, n := range opts.Others {
		if !known[n.RuleID+"\x00"+n.Fingerprint] {
			open = append(open, n)
		}
	}
	groups, err := groupCallers(ctx, dr.Querier, append(fp, open...), dr.From, dr.To)
	if err != nil {
		return nil, err
	}
	fpIDs := map[int64]bool{}
	for _, n := range fp {
		fpIDs[n.ID] = true
	}
	var out []Suggestion
	for _, g := range groups {
		if len(out) >= opts.Max || ctx.Err() != nil {
			break
		}
		prof, err := profileCaller(ctx, dr.Querier, g, dr.From, dr.To, opts.Documented)
		if err != nil {
			return nil, err
		}
		source := "stable_caller"
		for _, n := range g.notices {
			if fpIDs[n.ID] {
				source = "false_positive"
			}
		}
		if source == "stable_caller" && prof.Kind == "" {
			continue
		}
		s, ok, err := narrowest(ctx, opts, g, prof, source)
		if err != nil {
			return nil, err
		}
		if ok {
			out = append(out, s)
		}
	}
	return out, ctx.Err()
}

// callerGroup is the notifications of one caller.
type callerGroup struct {
	key     string
	ips     []string
	notices []Notice
}

// groupCallers groups notices by caller: the API key they name, else the
// key behind at least 80% of their address's server spans, else the
// address. Groups are ordered by notifications, most first.
func groupCallers(ctx context.Context, q store.Querier, notices []Notice, from, to time.Time) ([]*callerGroup, error) {
	var ips []string
	for _, n := range notices {
		if n.Labels[alert.LabelAPIKey] == "" && n.Labels[alert.LabelIP] != "" {
			ips = append(ips, n.Labels[alert.LabelIP])
		}
	}
	slices.Sort(ips)
	ips = slices.Compact(ips)
	dominant := map[string]string{}
	if len(ips) > 0 {
		res, err := q.Query(ctx, query("ip_keys.sql", "{{ips}}", placeholders(len(ips))), store.QueryOptions{MaxRows: 100_000},
			append(anys(ips), from.UTC(), to.UTC())...)
		if err != nil {
			return nil, fmt.Errorf("find the callers' keys: %w", err)
		}
		totals := map[string]int64{}
		best := map[string]int64{}
		for _, row := range res.Rows {
			ip, key := fmt.Sprint(row[0]), fmt.Sprint(row[1])
			n, _ := store.AsInt64(row[2])
			totals[ip] += n
			if key != "" && n > best[ip] {
				best[ip], dominant[ip] = n, key
			}
		}
		for ip := range dominant {
			if best[ip]*5 < totals[ip]*4 {
				delete(dominant, ip)
			}
		}
	}
	byID := map[string]*callerGroup{}
	var order []string
	for _, n := range notices {
		id, key := "", n.Labels[alert.LabelAPIKey]
		ip := n.Labels[alert.LabelIP]
		switch {
		case key != "":
			id = "key:" + key
		case dominant[ip] != "":
			key = dominant[ip]
			id = "key:" + key
		case ip != "":
			id = "ip:" + ip
		default:
			continue // nothing names a caller (a service-wide alert)
		}
		g := byID[id]
		if g == nil {
			g = &callerGroup{key: key}
			byID[id] = g
			order = append(order, id)
		}
		if ip != "" && !slices.Contains(g.ips, ip) {
			g.ips = append(g.ips, ip)
		}
		g.notices = append(g.notices, n)
	}
	out := make([]*callerGroup, 0, len(order))
	for _, id := range order {
		out = append(out, byID[id])
	}
	sort.SliceStable(out, func(i, j int) bool { return len(out[i].notices) > len(out[j].notices) })
	return out, nil
}

// profileCaller reads the caller's server spans of the window, hour by
// hour, and describes them.
func profileCaller(ctx context.Context, q store.Querier, g *callerGroup, from, to time.Time, documented func(string, string) bool) (CallerProfile, error) {
	var where string
	var args []any
	switch {
	case g.key != "":
		where, args = "api_key_id = ?", []any{g.key}
	default:
		where, args = "peer_ip IN ("+placeholders(len(g.ips))+")", anys(g.ips)
	}
	res, err := q.Query(ctx, query("caller_profile.sql", "{{caller}}", where), store.QueryOptions{MaxRows: 200_000},
		append(args, from.UTC(), to.UTC())...)
	if err != nil {
		return CallerProfile{}, fmt.Errorf("profile the caller: %w", err)
	}
	p := CallerProfile{APIKey: g.key, IPs: []string{}, Endpoints: []string{}, Documented: -1,
		WindowDays: max(1, int(math.Ceil(to.Sub(from).Hours()/24)))}
	ipN, uaN, epN := map[string]int64{}, map[string]int64{}, map[string]int64{}
	dayN := map[int64]int64{}
	dayHours := map[int64]map[int64]bool{}
	hourOfDayN := map[int]int64{}
	var errors, docN int64
	for _, row := range res.Rows {
		ip, ua, method, ep := fmt.Sprint(row[0]), fmt.Sprint(row[1]), fmt.Sprint(row[2]), fmt.Sprint(row[3])
		hour, _ := store.AsInt64(row[4])
		n, _ := store.AsInt64(row[5])
		e, _ := store.AsInt64(row[6])
		p.Requests += n
		errors += e
		ipN[ip] += n
		uaN[ua] += n
		epN[method+" "+ep] += n
		day := hour / 24
		dayN[day] += n
		if dayHours[day] == nil {
			dayHours[day] = map[int64]bool{}
		}
		dayHours[day][hour] = true
		hourOfDayN[int(hour%24)] += n
		if documented != nil && documented(method, ep) {
			docN += n
		}
	}
	if p.Requests == 0 {
		return p, nil
	}
	for _, ip := range g.ips {
		if ipN[ip] == 0 {
			ipN[ip] = 1 // named by a notification: excluded even if quiet now
		}
	}
	p.IPs = keysByCount(ipN, 0)
	p.Endpoints = keysByCount(epN, p.Requests/100)
	uas := keysByCount(uaN, 0)
	if len(uas) > 0 {
		p.UserAgent = uas[0]
	}
	p.ErrorRate = float64(errors) / float64(p.Requests)
	if documented != nil {
		p.Documented = float64(docN) / float64(p.Requests)
	}
	p.ActiveDays = len(dayN)
	var hours int
	for _, hs := range dayHours {
		hours += len(hs)
	}
	p.HoursPerDay = float64(hours) / float64(len(dayHours))
	var counts []float64
	for _, n := range dayN {
		counts = append(counts, float64(n))
	}
	p.DailyCV = cv(counts)
	// A daily schedule: a few hours of day hold 90% of the traffic.
	hod := keysByCountInt(hourOfDayN)
	var acc int64
	for _, h := range hod {
		acc += hourOfDayN[h]
		p.ScheduleHours = append(p.ScheduleHours, h)
		if acc*10 >= p.Requests*9 {
			break
		}
	}
	slices.Sort(p.ScheduleHours)
	if len(p.ScheduleHours) > 4 {
		p.ScheduleHours = nil
	}
	p.Kind = classify(p, uaN)
	return p, nil
}

// classify names the kind of a stable caller, or returns "".
func classify(p CallerProfile, uaN map[string]int64) string {
	everyDay := p.ActiveDays >= min(3, p.WindowDays) && float64(p.ActiveDays) >= 0.8*float64(p.WindowDays)
	fewUAs := len(uaN) <= 2
	if !everyDay || !fewUAs || p.ErrorRate >= 0.05 || p.Documented >= 0 && p.Documented < 0.9 {
		return ""
	}
	aroundTheClock := p.HoursPerDay >= 20
	scheduled := len(p.ScheduleHours) > 0 && p.DailyCV < 0.5
	private := true
	for _, ip := range p.IPs {
		a, err := netip.ParseAddr(ip)
		if err != nil || !(a.IsPrivate() || a.IsLoopback()) {
			private = false
		}
	}
	ua := strings.ToLower(p.UserAgent)
	probe := false
	for _, w := range []string{"health", "probe", "uptime", "monitor", "pingdom", "check", "synthetic", "status"} {
		if strings.Contains(ua, w) {
			probe = true
		}
	}
	for _, e := range p.Endpoints {
		le := strings.ToLower(e)
		if strings.Contains(le, "health") || strings.Contains(le, "status") || strings.Contains(le, "ping") || strings.Contains(le, "ready") {
			probe = true
		}
	}
	switch {
	case aroundTheClock && probe && len(p.Endpoints) <= 3:
		if len(p.IPs) > 2 {
			return "monitoring"
		}
		return "health_checker"
	case aroundTheClock && private:
		return "internal_service"
	case scheduled && !aroundTheClock:
		return "scheduled_partner"
	case aroundTheClock && p.DailyCV < 0.3:
		return "steady_caller"
	}
	return ""
}

// narrowest dry-runs the candidates of g from narrowest to broadest and
// returns the first that removes all of g's notifications without
// flagging a true positive.
func narrowest(ctx context.Context, opts SuggestOptions, g *callerGroup, prof CallerProfile, source string) (Suggestion, bool, error) {
	var rules []string
	var ids []int64
	for _, n := range g.notices {
		rules = append(rules, n.RuleID)
		ids = append(ids, n.ID)
	}
	slices.Sort(rules)
	rules = slices.Compact(rules)
	ipCond := ipCondition(prof.IPs)
	pathCond := commonGlob(prof.Endpoints)
	var ladder [][]Condition
	add := func(cs ...Condition) {
		for _, c := range cs {
			if c.Value == "" {
				return
			}
		}
		ladder = append(ladder, cs)
	}
	key := Condition{Kind: KindAPIKey, Value: g.key}
	ip := Condition{Kind: KindIPCIDR, Value: ipCond}
	path := Condition{Kind: KindPathGlob, Value: pathCond}
	add(key, ip, path)
	add(key, path)
	add(ip, path)
	add(key, ip)
	add(key)
	add(ip)
	tried := 0
	for _, conds := range ladder {
		e := Exclusion{
			ID: suggestionID(g, conds), Conditions: conds, Match: MatchAll,
			Scope:  Scope{Kind: ScopeRules, RuleIDs: rules},
			Reason: rationale(prof, source, len(g.notices)), ExpiresAt: Expiry{At: opts.Now.Add(opts.Expiry).UTC()}, Mode: ModeActive,
		}
		if len(rules) == 1 {
			e.Scope.Kind = ScopeRule
		}
		e.Normalize()
		if err := e.Validate(); err != nil {
			continue
		}
		dr := opts.DryRun
		dr.Candidate = e
		res, err := DryRun(ctx, dr)
		if err != nil {
			return Suggestion{}, false, err
		}
		tried++
		removed := 0
		for _, n := range g.notices {
			if noticeRemoved(opts.DryRun.Rules, res, n) {
				removed++
			}
		}
		if len(res.SuppressedTruePositives) > 0 {
			// Every later candidate matches what this one does, and more:
			// it would suppress the same true positive.
			break
		}
		if removed == len(g.notices) {
			return Suggestion{Exclusion: e, Source: source, Rationale: e.Reason, Caller: prof, Notifications: ids,
				Removes: removed, DryRun: res, Tried: tried - 1}, true, nil
		}
	}
	return Suggestion{}, false, nil
}

// noticeRemoved reports whether the dry run removes a firing of n's
// instance overlapping it.
func noticeRemoved(rules []alert.Rule, res *DryRunResult, n Notice) bool {
	iv := time.Minute
	for _, r := range rules {
		if r.ID == n.RuleID {
			iv = max(iv, r.Interval)
		}
	}
	ks, ke := n.StartsAt.Add(-iv), n.EndsAt
	if ke.IsZero() {
		ke = res.To
	}
	ke = ke.Add(iv)
	for _, f := range res.Removed {
		if f.RuleID != n.RuleID || f.Fingerprint != n.Fingerprint {
			continue
		}
		end := f.ResolvedAt
		if end.IsZero() {
			end = res.To
		}
		if !f.StartedAt.After(ke) && !ks.After(end) {
			return true
		}
	}
	return false
}

// ipCondition is the ip_cidr value covering ips: the addresses
// themselves, except that three or more in one /24 (IPv4) or /64 (IPv6)
// become the smallest range holding them.
func ipCondition(ips []string) string {
	buckets := map[netip.Prefix][]netip.Addr{}
	var order []netip.Prefix
	for _, s := range ips {
		a, err := netip.ParseAddr(s)
		if err != nil {
			continue
		}
		a = a.Unmap()
		bits := 24
		if a.Is6() {
			bits = 64
		}
		p, _ := a.Prefix(bits)
		if buckets[p] == nil {
			order = append(order, p)
		}
		buckets[p] = append(buckets[p], a)
	}
	var out []string
	for _, p := range order {
		addrs := buckets[p]
		if len(addrs) < 3 {
			for _, a := range addrs {
				out = append(out, a.String())
			}
			continue
		}
		out = append(out, smallestPrefix(addrs).String())
	}
	return strings.Join(out, ", ")
}

// smallestPrefix is the longest prefix holding every address of addrs (of
// one family).
func smallestPrefix(addrs []netip.Addr) netip.Prefix {
	bits := addrs[0].BitLen()
	for ; bits > 0; bits-- {
		p, _ := addrs[0].Prefix(bits)
		all := true
		for _, a := range addrs[1:] {
			if !p.Contains(a) {
				all = false
				break
			}
		}
		if all {
			return p
		}
	}
	p, _ := addrs[0].Prefix(0)
	return p
}

// commonGlob is the narrowest path glob matching every endpoint ("METHOD
// /path/template"): the template itself when there is one; segment by
// segment, with differing segments as *, when all have as many segments;
// else their common leading segments followed by /**. It returns "" when
// nothing narrower than /** fits.
func commonGlob(endpoints []string) string {
	var paths []string
	for _, e := range endpoints {
		_, p, ok := strings.Cut(e, " ")
		if !ok {
			p = e
		}
		paths = append(paths, globSafe(p))
	}
	slices.Sort(paths)
	paths = slices.Compact(paths)
	if len(paths) == 0 {
		return ""
	}
	if len(paths) == 1 {
		return paths[0]
	}
	split := make([][]string, len(paths))
	same := true
	for i, p := range paths {
		split[i] = strings.Split(p, "/")
		if len(split[i]) != len(split[0]) {
			same = false
		}
	}
	if same {
		out := slices.Clone(split[0])
		for i := range out {
			for _, s := range split[1:] {
				if s[i] != out[i] {
					out[i] = "*"
				}
			}
		}
		g := strings.Join(out, "/")
		if strings.Count(g, "*") < len(out)-1 {
			return g
		}
	}
	var prefix []string
	for i := 0; ; i++ {
		if i >= len(split[0]) {
			break
		}
		seg := split[0][i]
		ok := true
		for _, s := range split[1:] {
			if i >= len(s) || s[i] != seg {
				ok = false
			}
		}
		if !ok {
			break
		}
		prefix = append(prefix, seg)
	}
	if len(prefix) <= 1 {
		return ""
	}
	return strings.Join(prefix, "/") + "/**"
}

// globSafe turns a recorded path or route into a glob matching it: route
// parameters in :name or {name:regex} form become {name}, and a segment
// the glob syntax cannot hold becomes *.
func globSafe(p string) string {
	segs := strings.Split(p, "/")
	for i, s := range segs {
		switch {
		case strings.HasPrefix(s, ":") && isParamName(s[1:]):
			segs[i] = "{" + s[1:] + "}"
		case strings.HasPrefix(s, "{") && strings.HasSuffix(s, "}"):
			name, _, _ := strings.Cut(s[1:len(s)-1], ":")
			if isParamName(name) {
				segs[i] = "{" + name + "}"
			} else {
				segs[i] = "*"
			}
		case strings.ContainsAny(s, "*{}"):
			segs[i] = "*"
		}
	}
	out := strings.Join(segs, "/")
	if _, err := ParseGlob(out); err != nil {
		return "/**"
	}
	return out
}

// rationale explains a suggestion in the words of its reason.
func rationale(p CallerProfile, source string, notices int) string {
	who := "caller"
	switch p.Kind {
	case "health_checker":
		who = "health checker"
	case "monitoring":
		who = "monitoring range"
	case "internal_service":
		who = "internal service"
	case "scheduled_partner":
		who = "scheduled caller (partner sync)"
	case "steady_caller":
		who = "steady caller"
	}
	var b strings.Builder
	if source == "false_positive" {
		fmt.Fprintf(&b, "suggested from %d notification(s) closed as false positives: ", notices)
	} else {
		fmt.Fprintf(&b, "suggested for %d open notification(s) of a stable %s: ", notices, who)
	}
	if p.APIKey != "" {
		fmt.Fprintf(&b, "API key %s, ", p.APIKey)
	}
	fmt.Fprintf(&b, "%d address(es), %d requests on %d of %d days", len(p.IPs), p.Requests, p.ActiveDays, p.WindowDays)
	if len(p.ScheduleHours) > 0 {
		hs := make([]string, len(p.ScheduleHours))
		for i, h := range p.ScheduleHours {
			hs[i] = fmt.Sprintf("%02d:00", h)
		}
		fmt.Fprintf(&b, ", daily at %s UTC", strings.Join(hs, ", "))
	} else {
		fmt.Fprintf(&b, ", %.0f hours a day", p.HoursPerDay)
	}
	fmt.Fprintf(&b, ", %.1f%% errors", 100*p.ErrorRate)
	if p.UserAgent != "" {
		fmt.Fprintf(&b, ", user agent %q", clip(p.UserAgent))
	}
	return b.String()
}

func suggestionID(g *callerGroup, conds []Condition) string {
	h := sha256.New()
	for _, c := range conds {
		fmt.Fprintf(h, "%s=%s;", c.Kind, c.Value)
	}
	for _, n := range g.notices {
		fmt.Fprintf(h, "%s;", n.RuleID)
	}
	return "sugg-" + hex.EncodeToString(h.Sum(nil))[:10]
}

func keysByCount(m map[string]int64, floor int64) []string {
	out := make([]string, 0, len(m))
	for k, n := range m {
		if n >= floor {
			out = append(out, k)
		}
	}
	sort.Slice(out, func(i, j int) bool { return cmp.Or(cmp.Compare(m[out[j]], m[out[i]]), cmp.Compare(out[i], out[j])) < 0 })
	return out
}

func keysByCountInt(m map[int]int64) []int {
	out := make([]int, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Slice(out, func(i, j int) bool { return cmp.Or(cmp.Compare(m[out[j]], m[out[i]]), cmp.Compare(out[i], out[j])) < 0 })
	return out
}

func cv(xs []float64) float64 {
	if len(xs) < 2 {
		return 0
	}
	var sum float64
	for _, x := range xs {
		sum += x
	}
	mean := sum / float64(len(xs))
	var ss float64
	for _, x := range xs {
		ss += (x - mean) * (x - mean)
	}
	if mean == 0 {
		return 0
	}
	return math.Sqrt(ss/float64(len(xs)-1)) / mean
}

func placeholders(n int) string { return strings.TrimSuffix(strings.Repeat("?, ", n), ", ") }

func anys(ss []string) []any {
	out := make([]any, len(ss))
	for i, s := range ss {
		out[i] = s
	}
	return out
}
