package scenario

import (
	"math/rand/v2"
	"strconv"
)

// ipKind is the kind of network a simulated caller sits in.
type ipKind uint8

const (
	ipAWS ipKind = iota
	ipGCP
	ipAzure
	ipCorporate
	ipResidential
	ipHosting // small VPS providers: DigitalOcean, Hetzner, OVH
	ipPrivate
	numIPKinds
)

// ipPrefixes are /16 prefixes of public networks of each kind, so that
// enrichment (ASN, usage type, country) of a generated address says what
// the caller is. The three DigitalOcean ranges of the reference attack
// (104.248/16, 167.71/16, 178.128/16) are deliberately absent: only the
// attacker lives there.
var ipPrefixes = [numIPKinds][]string{
	ipAWS:         {"3.208", "3.91", "18.204", "34.192", "44.196", "52.2", "52.90", "54.144", "54.210", "35.176", "13.49", "18.132"},
	ipGCP:         {"34.66", "34.102", "35.186", "35.230", "34.141", "35.197", "34.89"},
	ipAzure:       {"20.42", "20.81", "40.76", "52.151", "13.68", "20.190", "20.25", "40.114"},
	ipCorporate:   {"199.87", "204.14", "192.150", "66.102", "208.80", "63.117", "12.34", "217.33", "195.66", "62.172", "193.30", "145.44"},
	ipResidential: {"73.15", "24.5", "98.210", "71.196", "76.102", "86.150", "90.12", "84.157", "79.220", "151.40", "2.84", "81.57", "31.16", "88.130", "109.190", "174.62"},
	ipHosting:     {"159.65", "142.93", "64.227", "95.216", "65.21", "51.38", "51.75", "139.59"},
	ipPrivate:     {"10.30", "10.31"},
}

// Azure ranges that hosted CI runners draw a fresh address from on every run.
var ciPrefixes = []string{"20.42", "20.81", "40.76", "52.151", "13.68", "20.190", "20.25", "40.114", "52.176", "172.183"}

// loadBalancers are the addresses the service sees as its socket peer
// (network.peer.address): the load balancer nodes in three zones.
var loadBalancers = []string{"10.40.1.23", "10.40.2.17", "10.40.3.9"}

// ipAllocator draws unique addresses.
type ipAllocator struct {
	r    *rand.Rand
	used map[string]bool
}

func newIPAllocator(r *rand.Rand) *ipAllocator {
	return &ipAllocator{r: r, used: map[string]bool{
		"104.248.73.19": true, "167.71.205.88": true, "178.128.44.156": true,
	}}
}

// next returns an unused address of kind k.
func (a *ipAllocator) next(k ipKind) string {
	for {
		ip := randomIP(a.r, ipPrefixes[k])
		if !a.used[ip] {
			a.used[ip] = true
			return ip
		}
	}
}

// randomIP returns an address in one of prefixes, never a .0 or .255 host.
func randomIP(r *rand.Rand, prefixes []string) string {
	p := prefixes[r.IntN(len(prefixes))]
	b := make([]byte, 0, 15)
	b = append(b, p...)
	b = append(b, '.')
	b = strconv.AppendInt(b, int64(r.IntN(256)), 10)
	b = append(b, '.')
	b = strconv.AppendInt(b, int64(1+r.IntN(254)), 10)
	return string(b)
}
