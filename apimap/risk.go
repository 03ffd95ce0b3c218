package apimap

// RiskFactor is one reason an endpoint scores, with its points.
type RiskFactor struct {
	Factor string `json:"factor"`
	Points int    `json:"points"`
}

// Risk thresholds.
const (
	// ManyCallersIPs is how many distinct client addresses make an
	// endpoint widely exposed.
	ManyCallersIPs = 100
	// ServerErrorShare is the share of 5xx answers that marks an endpoint
	// as failing.
	ServerErrorShare = 0.05
)

// Risk scores an endpoint from 0 to 100: the sum of the points of the
// factors that apply, capped at 100. The factors, and their points:
//
//	shadow                  30  undocumented, with real traffic
//	deprecated_live         15  deprecated in the spec, still called
//	admin                   20  an admin function
//	export                  15  an export or bulk function
//	sensitive_credentials   10  handles credentials
//	sensitive_pii           10  handles personal data
//	sensitive_bulk          15  bulk personal data, or large exports
//	public                  15  served without a credential, and admin, export, sensitive or a write
//	public                   5  served without a credential, otherwise
//	mixed_auth              15  served to some requests without a credential, refused to others
//	new                     10  first seen recently (Endpoint.New)
//	large_responses         10  mean response of LargeResponseBytes or more
//	many_callers             5  ManyCallersIPs client addresses or more
//	server_errors            5  ServerErrorShare of answers or more are 5xx
//	drift                    5  documented, but traffic departs from the spec
//
// Every factor is a property of the endpoint, never of one caller, so the
// score ranks the attack surface; behaviour is the detectors' job.
func Risk(e *Endpoint) (int, []RiskFactor) {
	factors := []RiskFactor{}
	add := func(factor string, points int, applies bool) {
		if applies {
			factors = append(factors, RiskFactor{Factor: factor, Points: points})
		}
	}
	add("shadow", 30, e.Shadow)
	add("deprecated_live", 15, e.ZombieKind == ZombieDeprecatedLive)
	add("admin", 20, e.HasTag(TagAdmin))
	add("export", 15, e.HasTag(TagExport))
	add("sensitive_credentials", 10, e.HasTag(SensitivityCredentials))
	add("sensitive_pii", 10, e.HasTag(SensitivityPII))
	add("sensitive_bulk", 15, e.HasTag(SensitivityBulk))
	if e.Auth.State == AuthPublic {
		exposed := e.HasTag(TagAdmin) || e.HasTag(TagExport) || e.Sensitive() || e.HasTag(TagCRUDWrite)
		add("public", 15, exposed)
		add("public", 5, !exposed)
	}
	add("mixed_auth", 15, e.Auth.State == AuthMixed)
	add("new", 10, e.New)
	add("large_responses", 10, e.Bytes.AvgResponse >= LargeResponseBytes)
	add("many_callers", 5, e.Callers.IPs >= ManyCallersIPs)
	add("server_errors", 5, e.Hits > 0 && float64(e.Status.Class5xx) >= ServerErrorShare*float64(e.Hits))
	add("drift", 5, len(e.Drift) > 0)
	score := 0
	for _, f := range factors {
		score += f.Points
	}
	return min(score, 100), factors
}
