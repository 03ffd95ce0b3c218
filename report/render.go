package report

import (
	"bytes"
	"fmt"
	"html/template"
	"io"
	"strings"
	"time"
)

// Markdown writes r as Markdown.
func Markdown(w io.Writer, r *Incident) error {
	var b strings.Builder
	p := func(format string, args ...any) { fmt.Fprintf(&b, format, args...) }
	p("# Incident %d: %s\n\n", r.ID, mdText(r.Title))
	p("*Severity %s · status %s · generated %s*\n\n", r.Severity, r.Status, stamp(r.GeneratedAt))
	p("## Summary\n\n**%s** (certainty %s, risk %d/100)\n\n%s\n\n", mdText(r.Verdict), r.Certainty, r.RiskScore, mdText(r.Summary))
	p("- **Attack vector:** %s\n", mdText(r.Vector))
	p("- **Duration:** %s (%s – %s)\n", hours(r.Duration()), stamp(r.FirstActivity), stamp(r.LastActivity))
	e := r.Exposure
	p("- **Exposure:** %d requests (%d answered 2xx), %s downloaded", e.Requests, e.Successes, Bytes(e.Bytes))
	if e.UniqueObjects > 0 {
		p(", %d unique objects", e.UniqueObjects)
		if e.ObjectSource != "" {
			p(" (%s)", mdText(e.ObjectSource))
		}
	}
	p("\n")
	d := r.Detection
	if !d.FirstMalicious.IsZero() && !d.FirstNotification.IsZero() {
		p("- **Detection gap:** %s, from the first malicious request (%s) to the first notification (%s)\n", hours(d.Gap), stamp(d.FirstMalicious), stamp(d.FirstNotification))
	}
	p("\n## Infrastructure\n\n| address | verdict | requests | country | network | data center | status |\n|---|---|---|---|---|---|---|\n")
	for _, h := range r.Infrastructure {
		p("| %s | %s | %d | %s | %s | %s | %s |\n", h.IP, mdText(h.Verdict), h.Requests, h.Country, mdText(asn(h.ASN, h.ASOrg)), yes(h.DataCenter), h.Status)
	}
	if len(e.APIKeys) > 0 {
		p("\nAPI keys used: %s\n", mdText(strings.Join(e.APIKeys, ", ")))
	}
	rc := r.RootCause
	p("\n## Root cause\n\n")
	if rc.Endpoint != "" {
		p("Target: **%s**", mdText(rc.Endpoint))
		if rc.Known {
			p(" — %s, auth %s", documented(rc), orUnknown(rc.Auth))
			if len(rc.Tags)+len(rc.Sensitivity) > 0 {
				p(", tags %s", mdText(strings.Join(append(append([]string{}, rc.Tags...), rc.Sensitivity...), ", ")))
			}
		}
		p("\n\n")
	}
	for _, n := range rc.Notes {
		p("- %s\n", mdText(n))
	}
	if len(r.Findings) > 0 {
		p("\n## Findings\n\n")
		for _, f := range r.Findings {
			p("- %s\n", mdText(f))
		}
	}
	if len(r.Techniques)+len(r.OWASP) > 0 {
		p("\n## Mapping\n\n")
		for _, t := range r.Techniques {
			p("- MITRE ATT&CK %s %s\n", t.ID, mdText(t.Name))
		}
		for _, o := range r.OWASP {
			p("- OWASP API Security %s %s\n", o.ID, mdText(o.Name))
		}
	}
	if c := r.Campaign; c != nil && len(c.Timeline) > 0 {
		p("\n## Timeline\n\n")
		for _, ev := range c.Timeline {
			p("- %s — %s\n", stamp(ev.At), mdText(ev.Text))
		}
	}
	if len(r.Hourly) > 0 {
		p("\n### Requests per day\n\n| day | requests |\n|---|---|\n")
		for _, day := range daily(r.Hourly) {
			p("| %s | %d |\n", day.Start.Format("2006-01-02"), day.Count)
		}
	}
	p("\n## Actions taken\n\n")
	if len(r.Actions) == 0 {
		p("None recorded.\n")
	}
	for _, a := range r.Actions {
		p("- %s — %s: %s", stamp(a.At), mdText(a.Actor), mdText(a.What))
		if a.Detail != "" {
			p(" (%s)", mdText(a.Detail))
		}
		p("\n")
	}
	if len(r.Remediation) > 0 {
		p("\n## Recommended remediation\n\n")
		for _, s := range r.Remediation {
			p("1. %s\n", mdText(s))
		}
	}
	if len(r.Evidence) > 0 {
		p("\n## Evidence queries\n\nEach reproduces its figures in `tracehound sql`.\n\n")
		for _, q := range r.Evidence {
			p("```sql\n%s\n```\n\n", strings.ReplaceAll(q, "```", "` ` `"))
		}
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// mdText keeps text from the traffic (paths, user agents, titles) from
// being read as Markdown or HTML.
func mdText(s string) string {
	r := strings.NewReplacer("\n", " ", "\r", " ", "|", "\\|", "<", "&lt;", ">", "&gt;", "*", "\\*", "_", "\\_", "[", "\\[", "]", "\\]", "`", "'")
	return r.Replace(s)
}

func stamp(t time.Time) string {
	if t.IsZero() {
		return "—"
	}
	return t.UTC().Format("2006-01-02 15:04 UTC")
}

func hours(d time.Duration) string {
	switch {
	case d <= 0:
		return "—"
	case d < time.Hour:
		return fmt.Sprintf("%.0f minutes", d.Minutes())
	case d < 72*time.Hour:
		return fmt.Sprintf("%.1f hours", d.Hours())
	}
	return fmt.Sprintf("%.0f hours (%.1f days)", d.Hours(), d.Hours()/24)
}

// Bytes writes a byte count in binary units.
func Bytes(n int64) string {
	const unit = 1024
	if n < unit {
		return fmt.Sprintf("%d B", n)
	}
	div, exp := int64(unit), 0
	for m := n / unit; m >= unit; m /= unit {
		div *= unit
		exp++
	}
	return fmt.Sprintf("%.1f %ciB", float64(n)/float64(div), "KMGTPE"[exp])
}

func asn(n uint32, org string) string {
	if n == 0 {
		return org
	}
	return strings.TrimSpace(fmt.Sprintf("AS%d %s", n, org))
}

func yes(b bool) string {
	if b {
		return "yes"
	}
	return "no"
}

func orUnknown(s string) string {
	if s == "" {
		return "unknown"
	}
	return s
}

func documented(rc RootCause) string {
	switch {
	case rc.Shadow:
		return "undocumented (shadow: absent from the service's OpenAPI spec)"
	case rc.Documented:
		return "documented"
	}
	return "no spec to compare with"
}

// daily sums hourly buckets per UTC day.
func daily(h []Bucket) []Bucket {
	var out []Bucket
	for _, b := range h {
		day := b.Start.UTC().Truncate(24 * time.Hour)
		if len(out) == 0 || !out[len(out)-1].Start.Equal(day) {
			out = append(out, Bucket{Start: day})
		}
		out[len(out)-1].Count += b.Count
	}
	return out
}

// HTML writes r as a self-contained page (no scripts, no external
// resources) with an SVG chart of requests per hour.
func HTML(w io.Writer, r *Incident) error {
	var md bytes.Buffer
	if err := Markdown(&md, r); err != nil {
		return err
	}
	return page.Execute(w, struct {
		R     *Incident
		Chart template.HTML
		Gap   string
		Dur   string
	}{r, chart(r.Hourly), hours(r.Detection.Gap), hours(r.Duration())})
}

// chart draws hourly counts as SVG bars. Every value in it is a number
// formatted here, so it is safe to embed.
func chart(h []Bucket) template.HTML {
	if len(h) == 0 {
		return ""
	}
	const width, height = 900.0, 160.0
	var peak int64 = 1
	for _, b := range h {
		peak = max(peak, b.Count)
	}
	first, last := h[0].Start, h[len(h)-1].Start.Add(time.Hour)
	span := last.Sub(first).Hours()
	bw := max(width/span, 1)
	var b strings.Builder
	fmt.Fprintf(&b, `<svg viewBox="0 0 %.0f %.0f" width="100%%" role="img" aria-label="requests per hour, peak %d">`, width, height+20, peak)
	for _, x := range h {
		bh := float64(x.Count) / float64(peak) * height
		fmt.Fprintf(&b, `<rect x="%.2f" y="%.2f" width="%.2f" height="%.2f" fill="#c0392b"><title>%s: %d</title></rect>`,
			x.Start.Sub(first).Hours()*width/span, height-bh, bw, bh, x.Start.UTC().Format("2006-01-02 15:00"), x.Count)
	}
	for t := first.Truncate(24 * time.Hour).Add(24 * time.Hour); t.Before(last); t = t.Add(24 * time.Hour) {
		x := t.Sub(first).Hours() * width / span
		fmt.Fprintf(&b, `<line x1="%.2f" x2="%.2f" y1="0" y2="%.0f" stroke="#999" stroke-dasharray="2,3"/><text x="%.2f" y="%.0f" font-size="11" fill="#555">%s</text>`,
			x, height, height, x+2, height+14, t.Format("Jan 2"))
	}
	b.WriteString(`</svg>`)
	return template.HTML(b.String())
}

var page = template.Must(template.New("report").Funcs(template.FuncMap{
	"stamp": stamp, "bytes": Bytes, "asn": asn, "yes": yes, "documented": documented, "orUnknown": orUnknown,
	"join": strings.Join,
}).Parse(`<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'">
<title>Incident {{.R.ID}}: {{.R.Title}}</title>
<style>
body{font:15px/1.5 system-ui,sans-serif;max-width:980px;margin:2em auto;padding:0 1em;color:#1d1d1f}
h1{font-size:1.6em;margin-bottom:.2em}.meta{color:#666}
.verdict{background:#fdecea;border-left:4px solid #c0392b;padding:.8em 1em;margin:1em 0}
table{border-collapse:collapse;width:100%}td,th{border-bottom:1px solid #ddd;padding:.3em .5em;text-align:left}
code,pre{background:#f4f4f4;padding:.1em .3em;border-radius:3px}pre{padding:.6em;overflow-x:auto;white-space:pre-wrap}
dt{font-weight:600}dd{margin:0 0 .5em 0}
</style></head><body>
<h1>Incident {{.R.ID}}: {{.R.Title}}</h1>
<p class="meta">Severity {{.R.Severity}} · status {{.R.Status}} · generated {{stamp .R.GeneratedAt}}</p>
<div class="verdict"><strong>{{.R.Verdict}}</strong> — certainty {{.R.Certainty}}, risk {{.R.RiskScore}}/100<br>{{.R.Summary}}</div>
<dl>
<dt>Attack vector</dt><dd>{{.R.Vector}}</dd>
<dt>Duration</dt><dd>{{.Dur}} ({{stamp .R.FirstActivity}} – {{stamp .R.LastActivity}})</dd>
<dt>Exposure</dt><dd>{{.R.Exposure.Requests}} requests ({{.R.Exposure.Successes}} answered 2xx), {{bytes .R.Exposure.Bytes}} downloaded{{if .R.Exposure.UniqueObjects}}, {{.R.Exposure.UniqueObjects}} unique objects{{if .R.Exposure.ObjectSource}} ({{.R.Exposure.ObjectSource}}){{end}}{{end}}</dd>
{{if not .R.Detection.FirstNotification.IsZero}}<dt>Detection gap</dt><dd>{{.Gap}}: first malicious request {{stamp .R.Detection.FirstMalicious}}, first notification {{stamp .R.Detection.FirstNotification}} ({{join .R.Detection.Rules ", "}})</dd>{{end}}
</dl>
{{if .Chart}}<h2>Requests per hour</h2>{{.Chart}}{{end}}
<h2>Infrastructure</h2>
<table><tr><th>address</th><th>verdict</th><th>requests</th><th>country</th><th>network</th><th>data center</th><th>status</th></tr>
{{range .R.Infrastructure}}<tr><td>{{.IP}}</td><td>{{.Verdict}}</td><td>{{.Requests}}</td><td>{{.Country}}</td><td>{{asn .ASN .ASOrg}}</td><td>{{yes .DataCenter}}</td><td>{{.Status}}</td></tr>{{end}}
</table>
{{if .R.Exposure.APIKeys}}<p>API keys used: {{join .R.Exposure.APIKeys ", "}}</p>{{end}}
<h2>Root cause</h2>
{{with .R.RootCause}}{{if .Endpoint}}<p>Target <code>{{.Endpoint}}</code>{{if .Known}} — {{documented .}}, auth {{orUnknown .Auth}}{{end}}</p>{{end}}
<ul>{{range .Notes}}<li>{{.}}</li>{{end}}</ul>{{end}}
{{if .R.Findings}}<h2>Findings</h2><ul>{{range .R.Findings}}<li>{{.}}</li>{{end}}</ul>{{end}}
{{if or .R.Techniques .R.OWASP}}<h2>Mapping</h2><ul>{{range .R.Techniques}}<li>MITRE ATT&amp;CK {{.ID}} {{.Name}}</li>{{end}}{{range .R.OWASP}}<li>OWASP API Security {{.ID}} {{.Name}}</li>{{end}}</ul>{{end}}
{{with .R.Campaign}}{{if .Timeline}}<h2>Timeline</h2><ul>{{range .Timeline}}<li>{{stamp .At}} — {{.Text}}</li>{{end}}</ul>{{end}}{{end}}
<h2>Actions taken</h2>
{{if .R.Actions}}<ul>{{range .R.Actions}}<li>{{stamp .At}} — {{.Actor}}: {{.What}}{{if .Detail}} ({{.Detail}}){{end}}</li>{{end}}</ul>{{else}}<p>None recorded.</p>{{end}}
{{if .R.Remediation}}<h2>Recommended remediation</h2><ol>{{range .R.Remediation}}<li>{{.}}</li>{{end}}</ol>{{end}}
{{if .R.Evidence}}<h2>Evidence queries</h2><p>Each reproduces its figures in <code>tracehound sql</code>.</p>{{range .R.Evidence}}<pre>{{.}}</pre>{{end}}{{end}}
</body></html>
`))
