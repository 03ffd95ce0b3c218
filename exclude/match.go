package exclude

import (
	"net/netip"
	"strings"
)

// Fields are the span values conditions test, as Go sees them: the same
// columns the compiled predicates read.
type Fields struct {
	Path      string // http_path
	IP        string // peer_ip
	APIKey    string // api_key_id
	UserAgent string // user_agent
	Status    int    // status_code
}

// Matches evaluates the condition on f in Go, as its compiled predicate
// does in SQL. known is false for the kinds Go cannot evaluate (asn and
// sql_predicate) and for values that do not parse.
func (c Condition) Matches(f Fields) (match, known bool) {
	switch c.Kind {
	case KindPathGlob:
		g, err := ParseGlob(c.Value)
		if err != nil {
			return false, false
		}
		return g.Match(f.Path), true
	case KindIPCIDR:
		ps, err := ParseCIDRList(c.Value)
		if err != nil {
			return false, false
		}
		a, err := netip.ParseAddr(f.IP)
		if err != nil || a.Zone() != "" || a.Is6() && strings.Contains(f.IP, ".") {
			return false, true // the SQL reads neither zones nor embedded IPv4
		}
		for _, p := range ps {
			if p.Addr().Is4() && a.Is4() && p.IsSingleIP() {
				if f.IP == p.Addr().String() { // the SQL compares a single IPv4 address as text
					return true, true
				}
				continue
			}
			if p.Contains(a) {
				return true, true
			}
		}
		return false, true
	case KindAPIKey:
		return f.APIKey == c.Value, true
	case KindUserAgent:
		g, err := ParseTextGlob(c.Value)
		if err != nil {
			return false, false
		}
		return g.Match(f.UserAgent), true
	case KindStatus:
		rs, err := ParseStatus(c.Value)
		if err != nil {
			return false, false
		}
		for _, r := range rs {
			if f.Status >= r[0] && f.Status <= r[1] {
				return true, true
			}
		}
		return false, true
	}
	return false, false
}

// Matches evaluates the exclusion on f in Go; known is false when a
// condition that decides the result cannot be evaluated in Go.
func (e *Exclusion) Matches(f Fields) (match, known bool) {
	anyUnknown := false
	for _, c := range e.Conditions {
		m, k := c.Matches(f)
		switch {
		case !k:
			anyUnknown = true
		case e.Match == MatchAny && m:
			return true, true
		case e.Match != MatchAny && !m:
			return false, true
		}
	}
	if anyUnknown {
		return false, false
	}
	return e.Match != MatchAny, true
}
