package notify

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/tracehound/tracehound/alert"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata")

var t0 = time.Date(2026, 3, 2, 2, 31, 0, 0, time.UTC)

// scenarioAlerts are three alerts of the reference scenario: two IPs
// enumerating /admin/export with the trial key (one of them resolved) and
// a volume alert.
func scenarioAlerts() []alert.Alert {
	mk := func(fp, rule string, sev alert.Severity, st alert.State, ip string, start time.Time) alert.Alert {
		a := alert.Alert{Fingerprint: fp, RuleID: rule, RuleName: strings.ToUpper(rule[:1]) + rule[1:], Severity: sev,
			Mode: alert.ModeActive, State: st,
			Labels: map[string]string{alert.LabelAlertName: rule, alert.LabelSeverity: string(sev), alert.LabelIP: ip,
				alert.LabelAPIKey: "key-trial-7f3a", alert.LabelEndpoint: "GET /admin/export", "team": "security"},
			Annotations: map[string]string{"summary": ip + " walked collection_id 1..412 <sequentially> & paged"},
			StartsAt:    start, EvaluatedAt: start}
		if st == alert.StateResolved {
			a.EndsAt = start.Add(time.Hour)
		}
		return a
	}
	return []alert.Alert{
		mk("3f1c9a", "bola-enumeration", alert.SeverityHigh, alert.StateFiring, "104.248.73.19", t0),
		mk("77ab01", "bola-enumeration", alert.SeverityHigh, alert.StateResolved, "167.71.205.88", t0.Add(-2*time.Hour)),
		mk("c0ffee", "export-volume", alert.SeverityCritical, alert.StateFiring, "178.128.44.156", t0.Add(time.Minute)),
	}
}

func scenarioMessage() *Message {
	alerts := scenarioAlerts()
	sortAlerts(alerts)
	return newMessage("security", `{}:{team="security"}`, map[string]string{"team": "security"}, alerts,
		"https://tracehound.example.com")
}

// receiver is a local HTTP server that keeps what it receives.
type receiver struct {
	*httptest.Server
	bodies  [][]byte
	headers []http.Header
	status  []int // answers in turn; 200 once they run out
}

func newReceiver(t *testing.T, status ...int) *receiver {
	t.Helper()
	r := &receiver{status: status}
	r.Server = httptest.NewServer(http.HandlerFunc(r.serve))
	t.Cleanup(r.Close)
	return r
}

func (r *receiver) serve(w http.ResponseWriter, req *http.Request) {
	body, _ := io.ReadAll(req.Body)
	if req.Method != http.MethodPost || req.Header.Get("Content-Type") != "application/json" || !json.Valid(body) {
		http.Error(w, "want a JSON POST", http.StatusBadRequest)
		return
	}
	r.bodies = append(r.bodies, body)
	r.headers = append(r.headers, req.Header.Clone())
	code := http.StatusOK
	if len(r.status) > 0 {
		code, r.status = r.status[0], r.status[1:]
	}
	w.WriteHeader(code)
	io.WriteString(w, "ok")
}

// checkGolden compares got (JSON) with testdata/name, rewriting it under -update.
func checkGolden(t *testing.T, name string, got []byte) {
	t.Helper()
	var pretty bytes.Buffer
	if err := json.Indent(&pretty, got, "", "  "); err != nil {
		t.Fatalf("%s: invalid JSON: %v", name, err)
	}
	pretty.WriteByte('\n')
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.WriteFile(path, pretty.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("read golden file (run with -update to create it): %v", err)
	}
	if !bytes.Equal(pretty.Bytes(), want) {
		t.Errorf("%s differs from the golden file (run with -update to accept):\n%s", name, pretty.Bytes())
	}
}

func TestSlackPayloadGolden(t *testing.T) {
	r := newReceiver(t)
	n := &slackNotifier{cfg: &SlackConfig{WebhookURL: Secret(r.URL + "/services/T000/B000/XXXX"), Channel: "#security",
		MaxAlerts: 2}, client: r.Client()}
	if _, err := n.notify(context.Background(), scenarioMessage()); err != nil {
		t.Fatalf("notify = %v", err)
	}
	if len(r.bodies) != 1 {
		t.Fatalf("receiver got %d posts, want 1", len(r.bodies))
	}
	checkGolden(t, "slack.golden.json", r.bodies[0])

	var p SlackPayload
	if err := json.Unmarshal(r.bodies[0], &p); err != nil {
		t.Fatal(err)
	}
	if p.Text != "[FIRING:2] security" || p.Blocks[0].Type != "header" || p.Attachments[0].Color != severityColor[alert.SeverityCritical] {
		t.Errorf("payload text %q, first block %q, colour %q; want the firing title, a header, the critical colour",
			p.Text, p.Blocks[0].Type, p.Attachments[0].Color)
	}
	list := p.Attachments[0].Blocks
	if len(list) != 4 || list[2].Type != "context" || !strings.Contains(list[2].Elements[0].Text.(string), "1 more alert") {
		t.Errorf("attachment blocks = %+v, want 2 alerts, a count of the third, a button", list)
	}
	if !strings.Contains(list[0].Text.Text, "<https://tracehound.example.com/alerts/c0ffee|Export-volume>") ||
		!strings.Contains(list[0].Text.Text, "&lt;sequentially&gt; &amp;") {
		t.Errorf("first alert section %q, want the critical alert linked to the UI with mrkdwn escaped", list[0].Text.Text)
	}
}

func TestWebhookPayloadGolden(t *testing.T) {
	r := newReceiver(t)
	n := &webhookNotifier{cfg: &WebhookConfig{URL: Secret(r.URL + "/hook"), BearerToken: "tok-123", MaxAlerts: 2}, client: r.Client()}
	m := scenarioMessage()
	if _, err := n.notify(context.Background(), m); err != nil {
		t.Fatalf("notify = %v", err)
	}
	if len(r.bodies) != 1 {
		t.Fatalf("receiver got %d posts, want 1", len(r.bodies))
	}
	checkGolden(t, "webhook.golden.json", r.bodies[0])
	if got := r.headers[0].Get("Authorization"); got != "Bearer tok-123" {
		t.Errorf("Authorization = %q, want the bearer token", got)
	}
	// Decode as an Alertmanager consumer would, with its field names.
	var p struct {
		Version           string            `json:"version"`
		GroupKey          string            `json:"groupKey"`
		TruncatedAlerts   int               `json:"truncatedAlerts"`
		Status            string            `json:"status"`
		Receiver          string            `json:"receiver"`
		GroupLabels       map[string]string `json:"groupLabels"`
		CommonLabels      map[string]string `json:"commonLabels"`
		CommonAnnotations map[string]string `json:"commonAnnotations"`
		ExternalURL       string            `json:"externalURL"`
		Alerts            []struct {
			Status       string            `json:"status"`
			Labels       map[string]string `json:"labels"`
			Annotations  map[string]string `json:"annotations"`
			StartsAt     time.Time         `json:"startsAt"`
			EndsAt       time.Time         `json:"endsAt"`
			GeneratorURL string            `json:"generatorURL"`
			Fingerprint  string            `json:"fingerprint"`
		} `json:"alerts"`
	}
	dec := json.NewDecoder(bytes.NewReader(r.bodies[0]))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&p); err != nil {
		t.Fatalf("decode v4 payload: %v", err)
	}
	if p.Version != "4" || p.Status != "firing" || p.Receiver != "security" || p.TruncatedAlerts != 1 || len(p.Alerts) != 2 ||
		p.GroupLabels["team"] != "security" || p.CommonLabels[alert.LabelAPIKey] != "key-trial-7f3a" ||
		p.CommonLabels[alert.LabelIP] != "" || p.ExternalURL != m.ExternalURL {
		t.Errorf("v4 payload = %+v", p)
	}
	if a := p.Alerts[0]; a.Fingerprint != "c0ffee" || a.Status != "firing" || !a.StartsAt.Equal(t0.Add(time.Minute)) ||
		a.GeneratorURL != "https://tracehound.example.com/alerts/c0ffee" || !a.EndsAt.IsZero() {
		t.Errorf("first alert = %+v, want the critical firing one", a)
	}

	// Basic auth instead of a bearer token.
	n.cfg.BearerToken, n.cfg.BasicAuth = "", &BasicAuth{Username: "am", Password: "pw"}
	if _, err := n.notify(context.Background(), m); err != nil {
		t.Fatal(err)
	}
	req := &http.Request{Header: r.headers[1]}
	if u, p, ok := req.BasicAuth(); !ok || u != "am" || p != "pw" {
		t.Errorf("basic auth = %q, %q, %v; want am, pw", u, p, ok)
	}
}

func TestPostErrorsHideTheURL(t *testing.T) {
	r := newReceiver(t, http.StatusServiceUnavailable, http.StatusBadRequest)
	secretPath := "/services/T000/B000/sekrit-token"
	n := &slackNotifier{cfg: &SlackConfig{WebhookURL: Secret(r.URL + secretPath)}, client: r.Client()}
	retry, err := n.notify(context.Background(), scenarioMessage())
	if err == nil || !retry || strings.Contains(err.Error(), "sekrit") {
		t.Errorf("503: notify = %v, %v; want a retryable error without the URL path", retry, err)
	}
	retry, err = n.notify(context.Background(), scenarioMessage())
	if err == nil || retry || strings.Contains(err.Error(), "sekrit") {
		t.Errorf("400: notify = %v, %v; want a final error without the URL path", retry, err)
	}
	r.Close()
	retry, err = n.notify(context.Background(), scenarioMessage())
	if err == nil || !retry || strings.Contains(err.Error(), "sekrit") {
		t.Errorf("closed server: notify = %v, %v; want a retryable error without the URL path", retry, err)
	}
}
