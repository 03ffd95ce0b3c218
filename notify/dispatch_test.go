package notify

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/tracehound/tracehound/alert"
	"github.com/tracehound/tracehound/state"
	"github.com/tracehound/tracehound/state/sqlite"
)

// inProcess is a webhook receiver served without sockets, so that fake
// time in a synctest bubble advances while it waits: the client's
// transport hands each request straight to the handler.
type inProcess struct {
	mu       sync.Mutex
	payloads []WebhookPayload
	at       []time.Time
	fail     int // answer 503 to this many requests first
	code     int // then answer this (0: 200)
}

func (p *inProcess) RoundTrip(req *http.Request) (*http.Response, error) {
	rec := httptest.NewRecorder()
	p.ServeHTTP(rec, req)
	return rec.Result(), nil
}

func (p *inProcess) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	p.mu.Lock()
	defer p.mu.Unlock()
	var pl WebhookPayload
	if err := json.NewDecoder(req.Body).Decode(&pl); err != nil || pl.Version != "4" {
		http.Error(w, "want an Alertmanager v4 payload", http.StatusBadRequest)
		return
	}
	if p.fail > 0 {
		p.fail--
		http.Error(w, "try later", http.StatusServiceUnavailable)
		return
	}
	if p.code != 0 {
		http.Error(w, "no", p.code)
		return
	}
	p.payloads = append(p.payloads, pl)
	p.at = append(p.at, time.Now())
}

// sent returns, per received payload, its status and fingerprints.
func (p *inProcess) sent() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	var out []string
	for _, pl := range p.payloads {
		var fps []string
		for _, a := range pl.Alerts {
			fps = append(fps, a.Fingerprint+":"+a.Status)
		}
		out = append(out, pl.Status+" "+strings.Join(fps, ","))
	}
	return out
}

func webhookConfig(yaml string) Config {
	cfg, err := ParseConfig([]byte(yaml))
	if err != nil {
		panic(err)
	}
	return cfg
}

const timingConfig = `
external_url: https://th.example
route:
  receiver: hook
  group_by: [alertname]
  group_wait: 30s
  group_interval: 5m
  repeat_interval: 4h
receivers:
  - name: hook
    webhook_configs:
      - url: https://hooks.example/secret-path-123
        bearer_token: tok-secret-456
        send_resolved: true
`

func newTestDispatcher(t *testing.T, cfg Config, rt http.RoundTripper, nlog state.NotifyLogStore, reg prometheus.Registerer, logs io.Writer) *Dispatcher {
	t.Helper()
	if logs == nil {
		logs = io.Discard
	}
	d, err := New(cfg, Options{Log: nlog, Registerer: reg, HTTPClient: &http.Client{Transport: rt},
		Logger: slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))})
	if err != nil {
		t.Fatalf("New = %v", err)
	}
	return d
}

func firing(fp, rule string, sev alert.Severity) alert.Alert {
	return alert.Alert{Fingerprint: fp, RuleID: rule, RuleName: rule, Severity: sev, Mode: alert.ModeActive,
		State: alert.StateFiring, StartsAt: time.Now(), EvaluatedAt: time.Now(),
		Labels: map[string]string{alert.LabelAlertName: rule, alert.LabelSeverity: string(sev)}}
}

func resolvedOf(a alert.Alert) alert.Alert {
	a.State, a.EndsAt, a.EvaluatedAt = alert.StateResolved, time.Now(), time.Now()
	return a
}

func TestGroupWaitIntervalRepeatAndResolve(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		recv := &inProcess{}
		d := newTestDispatcher(t, webhookConfig(timingConfig), recv, nil, nil, nil)
		defer d.Close()
		ctx := context.Background()
		start := time.Now()
		a := firing("a", "bola", alert.SeverityHigh)
		d.Send(ctx, []alert.Alert{a})

		time.Sleep(29 * time.Second)
		synctest.Wait()
		if got := recv.sent(); len(got) != 0 {
			t.Fatalf("before group_wait: sent %v, want nothing", got)
		}
		time.Sleep(2 * time.Second)
		synctest.Wait()
		if got := recv.sent(); !slices.Equal(got, []string{"firing a:firing"}) {
			t.Fatalf("after group_wait: sent %v, want a firing", got)
		}

		// A second alert of the group waits for group_interval.
		time.Sleep(time.Minute)
		b := firing("b", "bola", alert.SeverityCritical)
		other := firing("x", "export", alert.SeverityLow)
		shadow := firing("s", "bola", alert.SeverityCritical)
		shadow.Mode = alert.ModeShadow
		d.Send(ctx, []alert.Alert{a, b, other, shadow})
		time.Sleep(3 * time.Minute)
		synctest.Wait()
		if got := recv.sent(); !slices.Equal(got, []string{"firing a:firing", "firing x:firing"}) {
			t.Fatalf("3m later: sent %v, want the new export group after its group_wait and b still held", got)
		}
		time.Sleep(90 * time.Second) // now 5m30s+ after start
		synctest.Wait()
		got := recv.sent()
		want := []string{"firing a:firing", "firing x:firing", "firing b:firing,a:firing"}
		if !slices.Equal(got, want) {
			t.Fatalf("after group_interval: sent %v, want %v (shadow never)", got, want)
		}
		if recv.at[2].Sub(start) != 30*time.Second+5*time.Minute {
			t.Errorf("group update sent %v after the start, want group_wait + group_interval", recv.at[2].Sub(start))
		}

		// Nothing changes: silence until repeat_interval.
		time.Sleep(3 * time.Hour)
		synctest.Wait()
		if n := len(recv.sent()); n != 3 {
			t.Fatalf("within repeat_interval: %d payloads, want still 3", n)
		}
		time.Sleep(time.Hour + 10*time.Minute)
		synctest.Wait()
		got = recv.sent()
		if len(got) != 5 || !slices.Contains(got[3:], "firing b:firing,a:firing") || !slices.Contains(got[3:], "firing x:firing") {
			t.Fatalf("after repeat_interval: sent %v, want both groups repeated once", got)
		}

		// b resolves: sent as resolved at the next interval; then the
		// whole group resolves and is gone.
		d.Send(ctx, []alert.Alert{resolvedOf(b)})
		time.Sleep(5 * time.Minute)
		synctest.Wait()
		if got := recv.sent(); got[len(got)-1] != "firing a:firing,b:resolved" {
			t.Fatalf("after b resolved: last sent %q, want a firing and b resolved", got[len(got)-1])
		}
		d.Send(ctx, []alert.Alert{resolvedOf(a)})
		time.Sleep(5 * time.Minute)
		synctest.Wait()
		if got := recv.sent(); got[len(got)-1] != "resolved a:resolved" {
			t.Fatalf("after a resolved: last sent %q, want the group resolved", got[len(got)-1])
		}
		d.mu.Lock()
		_, alive := d.groups[`{}:{alertname="bola"}`]
		d.mu.Unlock()
		if alive {
			t.Errorf("the resolved group is still held")
		}
	})
}

func TestNotificationLogSurvivesRestart(t *testing.T) {
	dir := t.TempDir()
	synctest.Test(t, func(t *testing.T) {
		ctx := context.Background()
		store, err := sqlite.Open(ctx, filepath.Join(dir, "state.db"))
		if err != nil {
			t.Fatal(err)
		}
		defer store.Close()
		recv := &inProcess{}
		a := firing("a", "bola", alert.SeverityHigh)
		d := newTestDispatcher(t, webhookConfig(timingConfig), recv, store, nil, nil)
		d.Send(ctx, []alert.Alert{a})
		time.Sleep(time.Minute)
		synctest.Wait()
		d.Close()
		if n := len(recv.sent()); n != 1 {
			t.Fatalf("first process sent %d payloads, want 1", n)
		}

		// The restarted process gets the same firing alert from the engine:
		// it is older than group_wait, so the group flushes at once, and
		// the log says it was sent.
		d = newTestDispatcher(t, webhookConfig(timingConfig), recv, store, nil, nil)
		defer d.Close()
		d.Send(ctx, []alert.Alert{a})
		time.Sleep(time.Second)
		synctest.Wait()
		if got := recv.sent(); len(got) != 1 {
			t.Fatalf("after restart: sent %v, want no re-send", got)
		}
		d.Send(ctx, []alert.Alert{a, firing("b", "bola", alert.SeverityHigh)})
		time.Sleep(5 * time.Minute)
		synctest.Wait()
		if got := recv.sent(); len(got) != 2 || got[1] != "firing a:firing,b:firing" {
			t.Fatalf("new alert after restart: sent %v, want an update with b", got)
		}
	})
}

func TestRetriesMetricsStatusAndSecrets(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		recv := &inProcess{fail: 2}
		reg := prometheus.NewRegistry()
		var logs bytes.Buffer
		d := newTestDispatcher(t, webhookConfig(timingConfig), recv, nil, reg, &logs)
		defer d.Close()
		d.Send(context.Background(), []alert.Alert{firing("a", "bola", alert.SeverityHigh)})
		time.Sleep(2 * time.Minute)
		synctest.Wait()
		if got := recv.sent(); len(got) != 1 {
			t.Fatalf("after two 503s: delivered %v, want one delivery on the third attempt", got)
		}
		if s, f := counter(t, reg, "hook", "success"), counter(t, reg, "hook", "failure"); s != 1 || f != 0 {
			t.Errorf("tracehound_notifications_total success=%v failure=%v, want 1 and 0", s, f)
		}

		// A 400 is final: no retry, a failure, the error visible in Status.
		recv.mu.Lock()
		recv.code = http.StatusBadRequest
		recv.mu.Unlock()
		d.Send(context.Background(), []alert.Alert{firing("c", "other", alert.SeverityHigh)})
		time.Sleep(time.Minute)
		synctest.Wait()
		if f := counter(t, reg, "hook", "failure"); f != 1 {
			t.Errorf("failures = %v, want 1", f)
		}
		st := d.Status()
		if len(st) != 1 || st[0].Sent != 1 || st[0].Failed != 1 || !strings.Contains(st[0].LastError, "400") {
			t.Errorf("Status() = %+v, want one sent, one failed with the 400", st)
		}
		for _, secret := range []string{"secret-path-123", "tok-secret-456"} {
			if strings.Contains(logs.String(), secret) || strings.Contains(st[0].LastError, secret) {
				t.Errorf("secret %q leaked into logs or status:\n%s", secret, logs.String())
			}
		}
		if !strings.Contains(logs.String(), "notification failed") {
			t.Errorf("logs lack the failure:\n%s", logs.String())
		}
	})
}

func counter(t *testing.T, reg *prometheus.Registry, receiver, status string) float64 {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() != "tracehound_notifications_total" {
			continue
		}
		for _, m := range mf.GetMetric() {
			labels := map[string]string{}
			for _, l := range m.GetLabel() {
				labels[l.GetName()] = l.GetValue()
			}
			if labels["receiver"] == receiver && labels["status"] == status {
				return m.GetCounter().GetValue()
			}
		}
	}
	t.Fatalf("no tracehound_notifications_total{receiver=%q,status=%q}", receiver, status)
	return 0
}

func TestRouting(t *testing.T) {
	cfg := webhookConfig(`
route:
  receiver: default
  group_by: ["..."]
  routes:
    - matchers: ['severity=~"high|critical"']
      receiver: oncall
      continue: true
    - matchers: ['endpoint="GET /admin/export"', 'mode=active']
      receiver: security
    - matchers: ['rule_id!~"noisy.*"']
      receiver: default
      group_by: [alertname]
receivers:
  - name: default
  - name: oncall
  - name: security
`)
	c, err := compile(cfg)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		labels map[string]string
		want   []string
	}{
		{map[string]string{"severity": "critical", "endpoint": "GET /admin/export", "mode": "active", "rule_id": "r"}, []string{"oncall", "security"}},
		{map[string]string{"severity": "low", "endpoint": "GET /admin/export", "mode": "active", "rule_id": "r"}, []string{"security"}},
		{map[string]string{"severity": "low", "rule_id": "noisy-1"}, []string{"default"}},
		{map[string]string{"severity": "high", "rule_id": "noisy-1"}, []string{"oncall"}},
	}
	for _, tc := range tests {
		var got []string
		for _, r := range c.root.match(tc.labels) {
			got = append(got, r.receiver)
		}
		if !slices.Equal(got, tc.want) {
			t.Errorf("match(%v) = %v, want %v", tc.labels, got, tc.want)
		}
	}
	if r := c.root.routes[2]; !slices.Equal(r.groupBy, []string{"alertname"}) || r.groupByAll || r.groupWait != DefaultGroupWait {
		t.Errorf("third route: group_by %v (all %v), group_wait %v; want its own group_by and the inherited default wait", r.groupBy, r.groupByAll, r.groupWait)
	}
}
