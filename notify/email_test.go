package notify

import (
	"bufio"
	"context"
	"io"
	"mime"
	"mime/multipart"
	"mime/quotedprintable"
	"net"
	"net/mail"
	"strings"
	"testing"
)

// smtpSink is a minimal SMTP server: it speaks enough of RFC 5321
// (EHLO, MAIL, RCPT, DATA, QUIT) to take one message and keep it.
type smtpSink struct {
	ln   net.Listener
	from string
	to   []string
	data chan string
}

func newSMTPSink(t *testing.T) *smtpSink {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := &smtpSink{ln: ln, data: make(chan string, 1)}
	t.Cleanup(func() { ln.Close() })
	go s.serve()
	return s
}

func (s *smtpSink) serve() {
	conn, err := s.ln.Accept()
	if err != nil {
		return
	}
	defer conn.Close()
	r := bufio.NewReader(conn)
	reply := func(line string) { io.WriteString(conn, line+"\r\n") }
	reply("220 sink ESMTP")
	for {
		line, err := r.ReadString('\n')
		if err != nil {
			return
		}
		cmd := strings.TrimRight(line, "\r\n")
		switch verb := strings.ToUpper(strings.SplitN(cmd, " ", 2)[0]); {
		case verb == "EHLO" || verb == "HELO":
			reply("250-sink")
			reply("250 8BITMIME")
		case strings.HasPrefix(strings.ToUpper(cmd), "MAIL FROM:"):
			addr, _, _ := strings.Cut(cmd[len("MAIL FROM:"):], ">") // drop parameters such as BODY=8BITMIME
			s.from = strings.Trim(addr, "< ")
			reply("250 ok")
		case strings.HasPrefix(strings.ToUpper(cmd), "RCPT TO:"):
			s.to = append(s.to, strings.Trim(cmd[len("RCPT TO:"):], "<> "))
			reply("250 ok")
		case verb == "DATA":
			reply("354 go on")
			var b strings.Builder
			for {
				l, err := r.ReadString('\n')
				if err != nil {
					return
				}
				if l == ".\r\n" {
					break
				}
				b.WriteString(strings.TrimPrefix(l, "."))
			}
			s.data <- b.String()
			reply("250 queued")
		case verb == "QUIT":
			reply("221 bye")
			return
		default:
			reply("502 unknown")
		}
	}
}

func TestEmailSendsTextAndHTML(t *testing.T) {
	sink := newSMTPSink(t)
	n := &emailNotifier{cfg: &EmailConfig{From: "tracehound@example.com", To: []string{"sec@example.com", "ciso@example.com"},
		Smarthost: sink.ln.Addr().String()}}
	if _, err := n.notify(context.Background(), scenarioMessage()); err != nil {
		t.Fatalf("notify = %v", err)
	}
	raw := <-sink.data
	if sink.from != "tracehound@example.com" || strings.Join(sink.to, ",") != "sec@example.com,ciso@example.com" {
		t.Errorf("envelope from %q to %v", sink.from, sink.to)
	}
	msg, err := mail.ReadMessage(strings.NewReader(raw))
	if err != nil {
		t.Fatalf("parse message: %v\n%s", err, raw)
	}
	subject, _ := new(mime.WordDecoder).DecodeHeader(msg.Header.Get("Subject"))
	if subject != "[FIRING:2] security" {
		t.Errorf("Subject = %q, want the firing title", subject)
	}
	mt, params, err := mime.ParseMediaType(msg.Header.Get("Content-Type"))
	if err != nil || mt != "multipart/alternative" {
		t.Fatalf("Content-Type = %q, %v; want multipart/alternative", msg.Header.Get("Content-Type"), err)
	}
	parts := map[string]string{}
	mr := multipart.NewReader(msg.Body, params["boundary"])
	for {
		p, err := mr.NextPart()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		body, err := io.ReadAll(quotedprintable.NewReader(p))
		if err != nil {
			t.Fatal(err)
		}
		ct, _, _ := mime.ParseMediaType(p.Header.Get("Content-Type"))
		parts[ct] = string(body)
	}
	if txt := parts["text/plain"]; !strings.Contains(txt, "[FIRING] Export-volume (critical)") ||
		!strings.Contains(txt, "peer_ip: 167.71.205.88") || !strings.Contains(txt, "https://tracehound.example.com/alerts/c0ffee") {
		t.Errorf("text part:\n%s", txt)
	}
	if html := parts["text/html"]; !strings.Contains(html, `<a href="https://tracehound.example.com/alerts/c0ffee">Export-volume</a>`) ||
		!strings.Contains(html, "&lt;sequentially&gt;") {
		t.Errorf("HTML part (links, escaped summary):\n%s", html)
	}
}

func TestEmailRequireTLS(t *testing.T) {
	sink := newSMTPSink(t)
	n := &emailNotifier{cfg: &EmailConfig{From: "a@example.com", To: []string{"b@example.com"}, Smarthost: sink.ln.Addr().String(), RequireTLS: true}}
	if retry, err := n.notify(context.Background(), scenarioMessage()); err == nil || retry || !strings.Contains(err.Error(), "STARTTLS") {
		t.Errorf("notify without STARTTLS and require_tls = %v, %v; want a final error", retry, err)
	}
}
