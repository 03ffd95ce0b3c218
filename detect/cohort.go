package detect

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"
)

// A credential-attack cohort is the set of client addresses that, on one
// authentication endpoint, within one burst of time, did nothing but fail
// to log in (at least half their attempts failed, and they sent nothing
// else in the window). One such address proves little; hundreds in the
// same hours are a distributed credential-stuffing or spraying campaign.

// cohortMember is one address of a cohort.
type cohortMember struct {
	ip                            string
	attempts, failures, successes int64
	first, last                   time.Time
	ua                            string
}

// cohort is the failing-only callers of one authentication endpoint.
type cohort struct {
	ep      endpoint
	members []*cohortMember // in the burst, by first attempt
	byIP    map[string]*cohortMember
	// failing counts every address with a failure on the endpoint;
	// candidates those that did nothing else.
	failing, candidates int
	// start and end bound the burst.
	start, end                    time.Time
	attempts, failures, successes int64
	uas                           map[string]int
	authEPs                       []endpoint // the endpoints read together (for the evidence)
}

// minCohort is the fewest members that make a cohort a campaign.
const minCohort = 10

// readCohorts reads the failing callers of the authentication endpoints
// eps and groups them into cohorts (at most one per endpoint).
func readCohorts(ctx context.Context, r *runner, eps []endpoint, since, until time.Time) (map[string]*cohort, error) {
	out := map[string]*cohort{}
	if len(eps) == 0 {
		return out, nil
	}
	byKey := map[string]endpoint{}
	var keys []string
	for _, e := range eps {
		byKey[e.key()] = e
		keys = append(keys, e.key())
	}
	rs := routes(eps)
	inRoutes, routeArgs := inColumn("http_route", rs)
	q := sqlText("cohort", map[string]string{
		"endpoint_key": endpointKeySQL, "in_routes": inRoutes, "in_eps": inList(endpointKeySQL, len(keys)),
	})
	args := append(append([]any{since, until}, routeArgs...), keys, since, until, keys)
	res, err := r.query(ctx, q, args...)
	if err != nil {
		return nil, fmt.Errorf("read failed logins: %w", err)
	}
	cols := columns(res)
	cands := map[string][]*cohortMember{}
	failing := map[string]int{}
	for _, vals := range res.Rows {
		rw := row{cols, vals}
		k := rw.str("ep")
		failing[k]++
		m := &cohortMember{
			ip: rw.str("peer_ip"), attempts: rw.int("attempts"), failures: rw.int("failures"), successes: rw.int("successes"),
			first: rw.time("first_seen"), last: rw.time("last_seen"), ua: rw.str("user_agent"),
		}
		if rw.int("other") == 0 && 2*m.failures >= m.attempts {
			cands[k] = append(cands[k], m)
		}
	}
	for k, ms := range cands {
		c := burst(ms)
		if c == nil {
			continue
		}
		c.ep, c.failing, c.candidates, c.authEPs = byKey[k], failing[k], len(ms), eps
		out[k] = c
	}
	return out, nil
}

// burst keeps the members whose first attempt falls in the burst: the
// span from the first to the last hour holding at least a twentieth of
// the busiest hour's first attempts (and at least two). It returns nil
// when fewer than minCohort remain.
func burst(ms []*cohortMember) *cohort {
	perHour := map[time.Time]int{}
	peak := 0
	for _, m := range ms {
		h := m.first.Truncate(time.Hour)
		perHour[h]++
		peak = max(peak, perHour[h])
	}
	var start, end time.Time
	for h, n := range perHour {
		if n >= max(2, (peak+19)/20) {
			if start.IsZero() || h.Before(start) {
				start = h
			}
			if h.Add(time.Hour).After(end) {
				end = h.Add(time.Hour)
			}
		}
	}
	if start.IsZero() {
		return nil
	}
	c := &cohort{byIP: map[string]*cohortMember{}, uas: map[string]int{}, start: start, end: end}
	for _, m := range ms {
		if m.first.Before(start) || !m.first.Before(end) {
			continue
		}
		c.members = append(c.members, m)
		c.byIP[m.ip] = m
		c.attempts += m.attempts
		c.failures += m.failures
		c.successes += m.successes
		c.uas[m.ua]++
	}
	if len(c.members) < minCohort {
		return nil
	}
	slices.SortFunc(c.members, func(a, b *cohortMember) int {
		if x := a.first.Compare(b.first); x != 0 {
			return x
		}
		return cmpString(a.ip, b.ip)
	})
	return c
}

// evidenceSQL reproduces the cohort's size and attempts.
func (c *cohort) evidenceSQL(since, until time.Time) string {
	f, ok := c.ep.filter()
	if !ok {
		return ""
	}
	var others []string
	for _, e := range c.authEPs {
		g, ok := e.filter()
		if !ok {
			return ""
		}
		others = append(others, "("+g+")")
	}
	w := windowSQL(since, until)
	return fmt.Sprintf(`WITH a AS (
  SELECT peer_ip, count() AS attempts, countIf(status_code IN (401, 403)) AS failures,
    countIf(status_code BETWEEN 200 AND 299) AS successes, min(timestamp) AS first_seen
  FROM traces
  WHERE span_kind = 'Server' AND http_method <> '' AND peer_ip <> '' AND %[1]s AND %[2]s
  GROUP BY peer_ip
  HAVING countIf(status_code IN (401, 403)) > 0
),
o AS (
  SELECT peer_ip, count() AS other
  FROM traces
  WHERE span_kind = 'Server' AND http_method <> '' AND %[1]s
    AND peer_ip IN (SELECT peer_ip FROM a) AND NOT (%[3]s)
  GROUP BY peer_ip
)
SELECT count() AS cohort_addresses, sum(attempts) AS cohort_attempts, sum(failures) AS cohort_failures,
  sum(successes) AS cohort_successes, min(first_seen) AS first_attempt
FROM a LEFT JOIN o ON a.peer_ip = o.peer_ip
WHERE coalesce(o.other, 0) = 0 AND 2 * failures >= attempts
  AND first_seen >= %[4]s AND first_seen < %[5]s`, w, f, strings.Join(others, " OR "), timeLiteral(c.start), timeLiteral(c.end))
}
