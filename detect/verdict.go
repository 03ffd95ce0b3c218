package detect

import (
	"fmt"
	"math"
	"strings"
)

// Risk points of each detector at score 1 (CRS-style weights). Threat
// detectors count on their own; amplifiers and context only once a threat
// detector has fired, so that an automated but harmless client (a health
// check, a partner's sync) is never flagged for being automated.
var (
	threatWeights = map[string]float64{
		DetectorEnumeration:  40,
		DetectorCredential:   45,
		DetectorForcedBrowse: 30,
		DetectorExportVolume: 25,
		DetectorPagination:   20,
		DetectorNewKeyVolume: 15,
	}
	amplifierWeights = map[string]float64{
		DetectorTiming:     8,
		DetectorFocus:      8,
		DetectorKeySharing: 8,
	}
)

// Context points, added once a threat detector has fired.
const (
	pointsCampaign     = 20 // member of a campaign
	pointsCampaignSize = 10 // more for a campaign of many addresses
	pointsShadow       = 8  // the main endpoint is undocumented
	pointsPublic       = 4  // the main endpoint needs no authentication
	pointsDataCenter   = 4
	pointsTor          = 8
	pointsAbuse        = 10 // AbuseIPDB confidence of 50 or more
	pointsDenied       = 12 // enumeration mostly refused (authorisation probing)
	benignFactor       = 0.3
)

// Verdict thresholds on the risk score.
const (
	riskMalicious    = 70
	riskSuspicious   = 40
	riskInconclusive = 20
)

// scoreCaller turns detections into risk, class, severity and certainty.
func (e *env) scoreCaller(cd *callerData, rep *CallerReport, inCampaign int) {
	a := &cd.an
	maxThreat := 0.0
	risk := 0.0
	for name, w := range threatWeights {
		s := a.score(name)
		risk += w * s
		maxThreat = math.Max(maxThreat, s)
	}
	bola := 0.0
	if a.enumKind == "numeric" && a.score(DetectorEnumeration) >= firedAt {
		bola = ramp(a.denied, 0.2, 0.5)
	}
	if maxThreat >= firedAt {
		for name, w := range amplifierWeights {
			risk += w * a.score(name)
		}
		risk += pointsDenied * bola
		if inCampaign > 1 {
			risk += pointsCampaign + pointsCampaignSize*ramp(float64(inCampaign), 2, 20)
		}
		if len(cd.endpoints) > 0 {
			if f := cd.endpoints[0].facts; f != nil {
				if f.Shadow {
					risk += pointsShadow
				}
				if f.Auth == "public" {
					risk += pointsPublic
				}
			}
		}
		if en := e.enrich[cd.caller.Value]; en != nil && cd.caller.Kind == CallerIP {
			if en.DataCenter {
				risk += pointsDataCenter
			}
			if en.Tor {
				risk += pointsTor
			}
			if en.AbuseConfidence >= 50 {
				risk += pointsAbuse
			}
		}
	}
	hardThreat := math.Max(a.score(DetectorCredential), a.score(DetectorForcedBrowse))
	if a.enumKind == "numeric" {
		hardThreat = math.Max(hardThreat, a.score(DetectorEnumeration))
	}
	partner := a.established && hardThreat < firedAt
	if partner {
		risk *= benignFactor
	}
	rep.RiskScore = int(math.Round(math.Min(100, risk)))

	class := e.class(cd, bola)
	fired := 0
	for _, d := range a.dets {
		if d.Fired {
			fired++
		}
	}
	n := cd.total.Requests
	cohort := e.cohortByIP[cd.caller.Value] != nil && cd.caller.Kind == CallerIP && a.score(DetectorCredential) >= firedAt
	switch {
	case rep.RiskScore >= riskMalicious && maliciousClass(class):
		rep.Severity = Malicious
	case rep.RiskScore >= riskSuspicious:
		rep.Severity = Suspicious
	case rep.RiskScore >= riskInconclusive:
		rep.Severity = Inconclusive
	default:
		rep.Severity = Benign
	}
	if rep.Severity.Flagged() && n < 5 && !cohort && inCampaign < 2 {
		rep.Severity = Inconclusive
	}
	switch {
	case rep.Severity == Benign && partner && (a.score(DetectorExportVolume) >= firedAt || a.score(DetectorPagination) >= firedAt):
		class = ClassPartner
	case rep.Severity == Benign || rep.Severity == Inconclusive:
		class = ClassNone
	case class == ClassNone:
		class = ClassAutomation
	}
	rep.Class = class
	rep.Verdict = string(rep.Severity)
	if class != ClassNone {
		rep.Verdict += " — " + string(class)
	}

	switch {
	case rep.Severity == Benign || rep.Severity == Inconclusive:
		switch {
		case fired == 0 && n >= 200, partner && n >= 200:
			rep.Certainty = CertaintyHigh
		case n >= 30:
			rep.Certainty = CertaintyMedium
		default:
			rep.Certainty = CertaintyLow
		}
	case fired >= 3 && n >= 100, cohort && len(e.cohortByIP[cd.caller.Value].members) >= 100:
		rep.Certainty = CertaintyHigh
	case fired >= 2 && n >= 30, fired >= 1 && n >= 200, cohort, inCampaign > 1:
		rep.Certainty = CertaintyMedium
	default:
		rep.Certainty = CertaintyLow
	}
}

// class picks the behaviour the strongest detectors describe.
func (e *env) class(cd *callerData, bola float64) Class {
	a := &cd.an
	on := func(n string) bool { return a.score(n) >= firedAt }
	bulkTag := false
	if len(cd.endpoints) > 0 {
		if f := cd.endpoints[0].facts; f != nil {
			bulkTag = f.has("export") || f.has("bulk")
		}
	}
	switch {
	case on(DetectorCredential):
		if a.score(DetectorCredential) > 0 {
			if fu, ok := a.dets[DetectorCredential].Evidence.Figures["failed_users"].(int64); ok && fu >= 20 {
				if att, ok := a.dets[DetectorCredential].Evidence.Figures["attempts"].(int64); ok && att <= 2*fu {
					return ClassPasswordSpraying
				}
			}
		}
		return ClassCredentialStuffing
	case a.enumKind == "numeric" && on(DetectorEnumeration):
		if on(DetectorExportVolume) && bola < 1 {
			return ClassExfiltration
		}
		return ClassBOLA
	case on(DetectorExportVolume) && bulkTag:
		return ClassExfiltration
	case on(DetectorPagination), a.enumKind == "text" && on(DetectorEnumeration):
		return ClassScraping
	case on(DetectorExportVolume):
		return ClassExfiltration
	case on(DetectorForcedBrowse):
		return ClassForcedBrowsing
	case on(DetectorNewKeyVolume), on(DetectorKeySharing):
		return ClassKeyAbuse
	}
	return ClassNone
}

func maliciousClass(c Class) bool {
	switch c {
	case ClassExfiltration, ClassBOLA, ClassCredentialStuffing, ClassPasswordSpraying, ClassForcedBrowsing:
		return true
	}
	return false
}

// MITRE ATT&CK techniques and OWASP API Security Top 10 (2023) categories.
var (
	tExploitApp     = Technique{"T1190", "Exploit Public-Facing Application"}
	tCloudStorage   = Technique{"T1530", "Data from Cloud Storage"}
	tValidAccounts  = Technique{"T1078", "Valid Accounts"}
	tAutoCollection = Technique{"T1119", "Automated Collection"}
	tInfoRepos      = Technique{"T1213", "Data from Information Repositories"}
	tExfilWeb       = Technique{"T1567", "Exfiltration Over Web Service"}
	tSizeLimits     = Technique{"T1030", "Data Transfer Size Limits"}
	tStuffing       = Technique{"T1110.004", "Brute Force: Credential Stuffing"}
	tSpraying       = Technique{"T1110.003", "Brute Force: Password Spraying"}
	tWordlist       = Technique{"T1595.003", "Active Scanning: Wordlist Scanning"}
	tAppToken       = Technique{"T1550.001", "Use Alternate Authentication Material: Application Access Token"}
	tMultiHopProxy  = Technique{"T1090.003", "Proxy: Multi-hop Proxy"}
	tVPS            = Technique{"T1583.003", "Acquire Infrastructure: Virtual Private Server"}
	oBOLA           = OWASPCategory{"API1:2023", "Broken Object Level Authorization"}
	oAuth           = OWASPCategory{"API2:2023", "Broken Authentication"}
	oBOPLA          = OWASPCategory{"API3:2023", "Broken Object Property Level Authorization"}
	oConsumption    = OWASPCategory{"API4:2023", "Unrestricted Resource Consumption"}
	oBFLA           = OWASPCategory{"API5:2023", "Broken Function Level Authorization"}
	oBusinessFlows  = OWASPCategory{"API6:2023", "Unrestricted Access to Sensitive Business Flows"}
	oMisconfig      = OWASPCategory{"API8:2023", "Security Misconfiguration"}
	oInventory      = OWASPCategory{"API9:2023", "Improper Inventory Management"}
)

// mapping returns the techniques and categories of a caller's verdict.
func (e *env) mapping(cd *callerData, class Class) ([]Technique, []OWASPCategory) {
	a := &cd.an
	on := func(n string) bool { return a.score(n) >= firedAt }
	var ts []Technique
	var os []OWASPCategory
	keyed := a.key != nil
	var facts *EndpointFacts
	if len(cd.endpoints) > 0 {
		facts = cd.endpoints[0].facts
	}
	switch class {
	case ClassExfiltration:
		ts = append(ts, tExploitApp, tCloudStorage)
		if keyed {
			ts = append(ts, tValidAccounts)
		}
		ts = append(ts, tExfilWeb)
		if on(DetectorTiming) || on(DetectorEnumeration) {
			ts = append(ts, tAutoCollection)
		}
		if on(DetectorPagination) || a.page != nil {
			ts = append(ts, tSizeLimits)
		}
		os = append(os, oBOLA, oBOPLA, oConsumption)
	case ClassBOLA:
		ts = append(ts, tExploitApp, tInfoRepos, tAutoCollection)
		if keyed {
			ts = append(ts, tValidAccounts)
		}
		os = append(os, oBOLA)
		if on(DetectorExportVolume) || on(DetectorTiming) {
			os = append(os, oConsumption)
		}
	case ClassCredentialStuffing, ClassPasswordSpraying:
		if class == ClassPasswordSpraying {
			ts = append(ts, tSpraying)
		} else {
			ts = append(ts, tStuffing)
		}
		if cd.total.OK > 0 {
			ts = append(ts, tValidAccounts)
		}
		os = append(os, oAuth, oConsumption)
	case ClassScraping:
		ts = append(ts, tAutoCollection, tInfoRepos)
		if keyed {
			ts = append(ts, tValidAccounts)
		}
		os = append(os, oBusinessFlows, oConsumption)
	case ClassForcedBrowsing:
		ts = append(ts, tWordlist)
		os = append(os, oInventory, oMisconfig)
	case ClassKeyAbuse:
		ts = append(ts, tValidAccounts, tAppToken)
		os = append(os, oAuth)
	case ClassAutomation:
		ts = append(ts, tAutoCollection)
		os = append(os, oConsumption)
	default:
		return []Technique{}, []OWASPCategory{}
	}
	if facts != nil {
		if facts.Shadow && !containsCat(os, oInventory) {
			os = append(os, oInventory)
		}
		if facts.has("admin") && !containsCat(os, oBFLA) {
			os = append(os, oBFLA)
		}
	}
	if en := e.enrich[cd.caller.Value]; en != nil && cd.caller.Kind == CallerIP {
		if en.Tor {
			ts = append(ts, tMultiHopProxy)
		} else if en.DataCenter {
			ts = append(ts, tVPS)
		}
	}
	return ts, os
}

func containsCat(os []OWASPCategory, c OWASPCategory) bool {
	for _, o := range os {
		if o.ID == c.ID {
			return true
		}
	}
	return false
}

// remediation returns the recommended steps for a verdict.
func (e *env) remediation(cd *callerData, rep *CallerReport) []string {
	a := &cd.an
	who := "the address"
	if cd.caller.Kind == CallerKey {
		who = "the API key"
	}
	var top string
	var facts *EndpointFacts
	if len(cd.endpoints) > 0 {
		top = cd.endpoints[0].ep.String()
		facts = cd.endpoints[0].facts
	}
	keyID := ""
	if a.key != nil {
		keyID = a.key.id
	}
	var out []string
	add := func(format string, args ...any) { out = append(out, fmt.Sprintf(format, args...)) }
	if !rep.Severity.Flagged() {
		if rep.Class == ClassPartner {
			add("No action: this is a scheduled integration (%s); add a suppression for its key and addresses so its syncs stop feeding the detectors", a.scheduleTxt)
		} else if rep.Severity == Inconclusive {
			add("Keep %s under monitoring and re-investigate with a longer window", who)
		}
		return out
	}
	if cd.caller.Kind == CallerIP {
		if cam := rep.Campaign; cam != nil && cam.Members > 1 {
			add("Block %s and the other %d addresses of campaign %s (tracehound ip set ... --status blocked)", cd.caller.Value, cam.Members-1, cam.ID)
		} else {
			add("Block %s (tracehound ip set %s --status blocked)", cd.caller.Value, cd.caller.Value)
		}
	}
	if keyID != "" {
		add("Revoke API key %s and review the account that owns it", keyID)
	}
	switch rep.Class {
	case ClassExfiltration:
		add("Restrict %s to the roles that need it, or remove it; require an admin scope for bulk and export operations", top)
		add("Add per-key rate and volume limits on %s", top)
		add("Assess the exposure: the objects read are listed by the enumeration evidence query; notify the owners of the data as the breach process requires")
	case ClassBOLA:
		add("Fix the object-level authorisation of %s: check that the caller may read each object before answering", top)
		add("Make object ids non-sequential (UUIDs) and answer 404 for objects the caller may not see")
		add("Review which objects were answered with 2xx: those were exposed")
	case ClassCredentialStuffing, ClassPasswordSpraying:
		add("Rate-limit %s per address and per account, and add bot protection (proof of work or CAPTCHA after failures)", top)
		add("Check the accounts that logged in successfully from the attacking addresses; reset their passwords and revoke their sessions")
		add("Enforce MFA and screen passwords against breach corpora")
	case ClassScraping:
		add("Cap page depth and page size on %s, and rate-limit per key", top)
		add("Review the account's terms of use; consider requiring a contract for bulk access")
	case ClassForcedBrowsing:
		add("Block the scanner and review which probed paths answered anything but 404")
	case ClassKeyAbuse, ClassAutomation:
		add("Bind the key to known networks or rotate it, and confirm its owner expects this traffic")
	}
	if facts != nil && facts.Shadow {
		add("%s is undocumented (shadow): document it or remove it, and add it to the API inventory review", top)
	}
	return out
}

// pattern describes the behaviour in one sentence.
func (e *env) pattern(cd *callerData, rep *CallerReport) string {
	a := &cd.an
	var parts []string
	on := func(n string) bool { return a.score(n) >= firedAt }
	if on(DetectorEnumeration) && a.enumSeq != nil {
		if a.enumNum != nil {
			parts = append(parts, fmt.Sprintf("sequential walk of %s on %s", a.enumNum.src, a.enumSeq.ep))
		} else {
			parts = append(parts, "harvesting of distinct values on "+a.enumSeq.ep.String())
		}
	}
	if on(DetectorPagination) && a.page != nil {
		parts = append(parts, fmt.Sprintf("paging through %s with %s", a.pageSeq.ep, a.page.param))
	}
	if on(DetectorExportVolume) && a.export != nil {
		parts = append(parts, fmt.Sprintf("bulk download of %s from %s", fmtBytes(float64(a.export.Bytes)), a.export.ep))
	}
	if on(DetectorCredential) {
		parts = append(parts, "failed logins")
		if e.cohortByIP[cd.caller.Value] != nil {
			parts = append(parts, "spread over many addresses a few attempts each")
		}
	}
	if on(DetectorForcedBrowse) {
		parts = append(parts, "probing of unknown paths")
	}
	if on(DetectorTiming) {
		parts = append(parts, "at a machine-regular rate")
	}
	if on(DetectorNewKeyVolume) {
		parts = append(parts, "with a newly created API key")
	}
	if on(DetectorKeySharing) && a.key != nil {
		parts = append(parts, fmt.Sprintf("sharing the key across %d networks", a.key.networks()))
	}
	if len(parts) == 0 {
		if rep.Class == ClassPartner {
			return "Scheduled bulk synchronisation by an established integration (" + a.scheduleTxt + ")"
		}
		return ""
	}
	s := strings.Join(parts, ", ")
	return strings.ToUpper(s[:1]) + s[1:]
}
