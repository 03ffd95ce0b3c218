package report

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"github.com/tracehound/tracehound/detect"
)

func sample() *Incident {
	t0 := time.Date(2026, 3, 2, 1, 0, 0, 0, time.UTC)
	return &Incident{
		ID: 7, Title: "export volume on GET /v1/admin/export", Severity: "high", Status: "investigating", GeneratedAt: t0.Add(100 * time.Hour),
		Verdict: "Malicious — Data Exfiltration", Certainty: "high", RiskScore: 96, Summary: "three addresses pulled 3,847 collections",
		Vector: "sequential collection ids through an undocumented export", FirstActivity: t0, LastActivity: t0.Add(80 * time.Hour),
		Campaign:       &detect.Campaign{ID: "c1", Timeline: []detect.TimelineEvent{{At: t0, Kind: "first_probe", Text: "first request"}}},
		Infrastructure: []Host{{IP: "192.0.2.7", Verdict: "Malicious — Data Exfiltration", Requests: 4100, Country: "US", ASN: 14061, ASOrg: "DIGITALOCEAN-ASN", DataCenter: true, Status: "blocked"}},
		Exposure:       Exposure{Requests: 12000, Successes: 11800, Bytes: 2 << 30, UniqueObjects: 3847, ObjectSource: "collection_id", Target: "GET /v1/admin/export"},
		RootCause:      RootCause{Endpoint: "GET /v1/admin/export", Known: true, Shadow: true, Auth: "enforced", Notes: []string{"No request to it was ever answered 429."}},
		Detection:      Detection{FirstMalicious: t0, FirstNotification: t0.Add(74 * time.Hour), Gap: 74 * time.Hour, Rules: []string{"export_volume"}},
		Techniques:     []detect.Technique{{ID: "T1567", Name: "Exfiltration Over Web Service"}},
		OWASP:          []detect.OWASPCategory{{ID: "API9:2023", Name: "Improper Inventory Management"}},
		Actions:        []Action{{At: t0.Add(75 * time.Hour), Actor: "user:ana", What: "block 192.0.2.7", Detail: "exfiltration"}},
		Hourly:         []Bucket{{Start: t0, Count: 40}, {Start: t0.Add(30 * time.Hour), Count: 120}, {Start: t0.Add(79 * time.Hour), Count: 10}},
		Remediation:    []string{"Revoke the trial key."},
		Evidence:       []string{"SELECT count() FROM traces WHERE peer_ip = '192.0.2.7'"},
	}
}

func TestRender(t *testing.T) {
	var md, html bytes.Buffer
	if err := Markdown(&md, sample()); err != nil {
		t.Fatal(err)
	}
	if err := HTML(&html, sample()); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"Incident 7", "80 hours (3.3 days)", "3847 unique objects", "74 hours (3.1 days)", "undocumented", "T1567", "API9:2023", "AS14061", "block 192.0.2.7", "Revoke the trial key", "2.0 GiB"} {
		if !strings.Contains(md.String(), want) {
			t.Errorf("Markdown lacks %q:\n%s", want, md.String())
		}
		if !strings.Contains(html.String(), want) {
			t.Errorf("HTML lacks %q", want)
		}
	}
	if !strings.Contains(md.String(), "| 2026-03-02 | 40 |") || !strings.Contains(md.String(), "| 2026-03-03 | 120 |") {
		t.Errorf("Markdown daily table wrong:\n%s", md.String())
	}
	if strings.Count(html.String(), "<rect") != 3 {
		t.Errorf("HTML chart has %d bars, want 3", strings.Count(html.String(), "<rect"))
	}
}

// TestHostileText checks that text from the traffic (titles, paths, user
// agents end up in findings) cannot inject markup into either format.
func TestHostileText(t *testing.T) {
	r := sample()
	evil := `<script>alert(1)</script> [x](javascript:alert(1)) <img src=x onerror=alert(1)> | ` + "```"
	r.Title, r.Summary, r.Findings, r.RootCause.Endpoint = evil, evil, []string{evil}, "GET /"+evil
	var md, html bytes.Buffer
	Markdown(&md, r)
	HTML(&html, r)
	for name, out := range map[string]string{"markdown": md.String(), "html": html.String()} {
		if strings.Contains(out, "<script") || strings.Contains(out, "<img") {
			t.Errorf("%s output carries the injected markup:\n%s", name, out)
		}
	}
	if strings.Contains(strings.ReplaceAll(md.String(), `\]`, ""), "](javascript:") {
		t.Errorf("markdown output carries a live link:\n%s", md.String())
	}
}

func FuzzMarkdownText(f *testing.F) {
	for _, s := range []string{"plain", "<b>x</b>", "a|b", "```\nDROP", "[l](http://x)", "\x00\r\n"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		r := sample()
		r.Title, r.Findings = s, []string{s}
		var md bytes.Buffer
		if err := Markdown(&md, r); err != nil {
			t.Fatal(err)
		}
		out := mdText(s)
		if strings.ContainsAny(out, "<>`\n\r") || strings.Contains(strings.ReplaceAll(out, `\|`, ""), "|") {
			t.Fatalf("mdText(%q) = %q keeps markup characters", s, out)
		}
	})
}
