package notify

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/tls"
	"encoding/hex"
	"errors"
	"fmt"
	"html/template"
	"mime"
	"mime/multipart"
	"mime/quotedprintable"
	"net"
	"net/smtp"
	"net/textproto"
	"os"
	"strings"
	"time"

	"github.com/tracehound/tracehound/alert"
)

// emailNotifier sends a plain-text and HTML message over SMTP.
type emailNotifier struct {
	cfg *EmailConfig
	// tlsConfig, when set, replaces the default STARTTLS configuration
	// (tests trust their own certificate with it).
	tlsConfig *tls.Config
}

func (e *emailNotifier) notify(ctx context.Context, m *Message) (bool, error) {
	msg, err := e.compose(m, time.Now())
	if err != nil {
		return false, err
	}
	host, _, _ := net.SplitHostPort(e.cfg.Smarthost)
	var d net.Dialer
	conn, err := d.DialContext(ctx, "tcp", e.cfg.Smarthost)
	if err != nil {
		return true, fmt.Errorf("smtp dial %s: %w", e.cfg.Smarthost, err)
	}
	if dl, ok := ctx.Deadline(); ok {
		conn.SetDeadline(dl)
	}
	c, err := smtp.NewClient(conn, host)
	if err != nil {
		conn.Close()
		return true, fmt.Errorf("smtp %s: %w", e.cfg.Smarthost, err)
	}
	defer c.Close()
	hostname, _ := os.Hostname()
	if hostname == "" {
		hostname = "localhost"
	}
	if err := c.Hello(hostname); err != nil {
		return true, fmt.Errorf("smtp hello: %w", err)
	}
	if ok, _ := c.Extension("STARTTLS"); ok {
		cfg := e.tlsConfig
		if cfg == nil {
			cfg = &tls.Config{ServerName: host, MinVersion: tls.VersionTLS12}
		}
		if err := c.StartTLS(cfg); err != nil {
			return true, fmt.Errorf("smtp starttls: %w", err)
		}
	} else if e.cfg.RequireTLS {
		return false, errors.New("smtp: the server does not offer STARTTLS and require_tls is set")
	}
	if e.cfg.AuthUsername != "" {
		// PlainAuth itself refuses to send the password unencrypted to
		// anything but localhost.
		if err := c.Auth(smtp.PlainAuth("", e.cfg.AuthUsername, string(e.cfg.AuthPassword), host)); err != nil {
			return false, fmt.Errorf("smtp auth as %s: %w", e.cfg.AuthUsername, err)
		}
	}
	if err := c.Mail(e.cfg.From); err != nil {
		return false, fmt.Errorf("smtp mail from: %w", err)
	}
	for _, to := range e.cfg.To {
		if err := c.Rcpt(to); err != nil {
			return false, fmt.Errorf("smtp rcpt to %s: %w", to, err)
		}
	}
	w, err := c.Data()
	if err != nil {
		return true, fmt.Errorf("smtp data: %w", err)
	}
	if _, err := w.Write(msg); err != nil {
		return true, fmt.Errorf("smtp data: %w", err)
	}
	if err := w.Close(); err != nil {
		return true, fmt.Errorf("smtp data: %w", err)
	}
	return false, c.Quit()
}

// compose writes the message: headers, then multipart/alternative with a
// plain-text and an HTML part, both quoted-printable.
func (e *emailNotifier) compose(m *Message, now time.Time) ([]byte, error) {
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	id := make([]byte, 12)
	rand.Read(id)
	h := []string{
		"From: " + e.cfg.From,
		"To: " + strings.Join(e.cfg.To, ", "),
		"Subject: " + mime.QEncoding.Encode("utf-8", m.Title()),
		"Date: " + now.Format(time.RFC1123Z),
		"Message-Id: <" + hex.EncodeToString(id) + "@tracehound>",
		"MIME-Version: 1.0",
		"Content-Type: multipart/alternative; boundary=" + mw.Boundary(),
	}
	var out bytes.Buffer
	out.WriteString(strings.Join(h, "\r\n") + "\r\n\r\n")
	for _, part := range []struct {
		ctype string
		write func(*bytes.Buffer) error
	}{
		{"text/plain; charset=utf-8", func(b *bytes.Buffer) error { b.WriteString(emailText(m)); return nil }},
		{"text/html; charset=utf-8", func(b *bytes.Buffer) error { return emailHTML.Execute(b, emailView(m)) }},
	} {
		pw, err := mw.CreatePart(textproto.MIMEHeader{"Content-Type": {part.ctype}, "Content-Transfer-Encoding": {"quoted-printable"}})
		if err != nil {
			return nil, err
		}
		var body bytes.Buffer
		if err := part.write(&body); err != nil {
			return nil, err
		}
		qp := quotedprintable.NewWriter(pw)
		if _, err := qp.Write(body.Bytes()); err != nil {
			return nil, err
		}
		if err := qp.Close(); err != nil {
			return nil, err
		}
	}
	if err := mw.Close(); err != nil {
		return nil, err
	}
	out.Write(buf.Bytes())
	return out.Bytes(), nil
}

func emailText(m *Message) string {
	var b strings.Builder
	b.WriteString(m.Title() + "\n\n")
	for _, a := range m.Alerts {
		fmt.Fprintf(&b, "- [%s] %s (%s)\n", strings.ToUpper(string(a.State)), ruleName(a), a.Severity)
		if s := a.Annotations["summary"]; s != "" {
			b.WriteString("  " + s + "\n")
		}
		for _, k := range []string{alert.LabelIP, alert.LabelAPIKey, alert.LabelEndpoint} {
			if v := a.Labels[k]; v != "" {
				fmt.Fprintf(&b, "  %s: %s\n", k, v)
			}
		}
		fmt.Fprintf(&b, "  since %s\n", a.StartsAt.UTC().Format(time.RFC3339))
		if u := m.AlertURL(a); u != "" {
			b.WriteString("  " + u + "\n")
		}
	}
	return b.String()
}

type emailAlert struct {
	State, Name, Severity, Summary, URL, Since string
	Labels                                     [][2]string
}

func emailView(m *Message) map[string]any {
	var alerts []emailAlert
	for _, a := range m.Alerts {
		ea := emailAlert{State: string(a.State), Name: ruleName(a), Severity: string(a.Severity),
			Summary: a.Annotations["summary"], URL: m.AlertURL(a), Since: a.StartsAt.UTC().Format(time.RFC3339)}
		for _, k := range []string{alert.LabelIP, alert.LabelAPIKey, alert.LabelEndpoint} {
			if v := a.Labels[k]; v != "" {
				ea.Labels = append(ea.Labels, [2]string{k, v})
			}
		}
		alerts = append(alerts, ea)
	}
	return map[string]any{"Title": m.Title(), "Alerts": alerts, "ExternalURL": m.ExternalURL}
}

var emailHTML = template.Must(template.New("email").Parse(`<!DOCTYPE html>
<html><body style="font-family:sans-serif">
<h2>{{.Title}}</h2>
<table cellpadding="6" style="border-collapse:collapse">
{{range .Alerts}}<tr style="border-top:1px solid #ddd">
<td><b>{{.State}}</b></td>
<td>{{if .URL}}<a href="{{.URL}}">{{.Name}}</a>{{else}}{{.Name}}{{end}} ({{.Severity}})<br>
{{if .Summary}}{{.Summary}}<br>{{end}}
{{range .Labels}}<code>{{index . 0}}={{index . 1}}</code> {{end}}<br>
<small>since {{.Since}}</small></td>
</tr>
{{end}}</table>
{{if .ExternalURL}}<p><a href="{{.ExternalURL}}/alerts">Open alerts in tracehound</a></p>{{end}}
</body></html>
`))
