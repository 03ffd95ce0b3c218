package notify

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"math/rand/v2"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/tracehound/tracehound/alert"
	"github.com/tracehound/tracehound/state"
)

// Retry bounds: each notification is tried at most maxAttempts times,
// waiting backoffBase, then twice that and so on (capped at backoffMax),
// each wait jittered by ±50%.
const (
	maxAttempts = 5
	backoffBase = time.Second
	backoffMax  = time.Minute
	sendTimeout = 30 * time.Second
)

// Options are a Dispatcher's dependencies.
type Options struct {
	// Log persists the notification log; nil keeps it in memory only (a
	// restart then sends again).
	Log state.NotifyLogStore
	// Logger defaults to slog.Default().
	Logger *slog.Logger
	// Registerer receives the metrics; nil registers none.
	Registerer prometheus.Registerer
	// HTTPClient defaults to a client with a 30s timeout.
	HTTPClient *http.Client
}

// Dispatcher routes alerts to receivers, Alertmanager style: it groups
// them per route and group_by labels, waits group_wait before a group's
// first notification and group_interval between updates, repeats
// unchanged groups every repeat_interval, and never sends twice what the
// notification log says was sent. Shadow-mode alerts never notify.
//
// It is safe for concurrent use. Its goroutines run until Close.
type Dispatcher struct {
	cfg       *compiled
	external  string
	nlog      state.NotifyLogStore
	log       *slog.Logger
	client    *http.Client
	sent      *prometheus.CounterVec
	ctx       context.Context
	cancel    context.CancelFunc
	wg        sync.WaitGroup
	mu        sync.Mutex
	groups    map[string]*group
	status    map[string]*ReceiverStatus
	notifiers map[string][]integration
}

// group is one aggregation group: the alerts of one route with the same
// group_by label values.
type group struct {
	key    string
	route  *route
	labels map[string]string
	alerts map[string]alert.Alert // by fingerprint
}

// integration is one configured destination of a receiver.
type integration struct {
	name         string // slack[0], webhook[1], email[0]
	sendResolved bool
	notifier     notifier
}

// notifier sends one message. retry says whether a failure may pass on a
// later attempt.
type notifier interface {
	notify(ctx context.Context, m *Message) (retry bool, err error)
}

// ReceiverStatus is what the last notifications of one receiver
// integration did, for the settings page and the API.
type ReceiverStatus struct {
	Receiver     string    `json:"receiver"`
	Integration  string    `json:"integration"`
	LastAttempt  time.Time `json:"last_attempt,omitzero"`
	LastSuccess  time.Time `json:"last_success,omitzero"`
	LastError    string    `json:"last_error,omitempty"`
	LastErrorAt  time.Time `json:"last_error_at,omitzero"`
	Sent         int       `json:"sent"`
	Failed       int       `json:"failed"`
	SendResolved bool      `json:"send_resolved"`
}

// New checks cfg and returns a Dispatcher. With no route configured it
// accepts alerts and sends nothing.
func New(cfg Config, opts Options) (*Dispatcher, error) {
	c, err := compile(cfg)
	if err != nil {
		return nil, err
	}
	d := &Dispatcher{
		cfg:       c,
		external:  strings.TrimSuffix(cfg.ExternalURL, "/"),
		nlog:      opts.Log,
		log:       opts.Logger,
		client:    opts.HTTPClient,
		groups:    map[string]*group{},
		status:    map[string]*ReceiverStatus{},
		notifiers: map[string][]integration{},
	}
	if d.nlog == nil {
		d.nlog = newMemLog()
	}
	if d.log == nil {
		d.log = slog.Default()
	}
	d.log = d.log.With("component", "notify")
	if d.client == nil {
		d.client = &http.Client{Timeout: sendTimeout}
	}
	d.sent = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "tracehound_notifications_total",
		Help: "Notifications sent to receivers, by receiver and status (success or failure).",
	}, []string{"receiver", "status"})
	if opts.Registerer != nil {
		if err := opts.Registerer.Register(d.sent); err != nil {
			return nil, fmt.Errorf("register notify metrics: %w", err)
		}
	}
	for name, r := range c.receivers {
		var integs []integration
		for i, s := range r.SlackConfigs {
			integs = append(integs, integration{"slack[" + strconv.Itoa(i) + "]", s.SendResolved, &slackNotifier{cfg: s, client: d.client}})
		}
		for i, w := range r.WebhookConfigs {
			integs = append(integs, integration{"webhook[" + strconv.Itoa(i) + "]", w.SendResolved, &webhookNotifier{cfg: w, client: d.client}})
		}
		for i, e := range r.EmailConfigs {
			integs = append(integs, integration{"email[" + strconv.Itoa(i) + "]", e.SendResolved, &emailNotifier{cfg: e}})
		}
		d.notifiers[name] = integs
		for _, in := range integs {
			d.status[name+"/"+in.name] = &ReceiverStatus{Receiver: name, Integration: in.name, SendResolved: in.sendResolved}
			d.sent.WithLabelValues(name, "success")
			d.sent.WithLabelValues(name, "failure")
		}
	}
	d.ctx, d.cancel = context.WithCancel(context.Background())
	d.wg.Go(d.collectGarbage)
	return d, nil
}

// Close stops the group timers and waits for notifications in flight.
func (d *Dispatcher) Close() error {
	d.cancel()
	d.wg.Wait()
	return nil
}

// Send hands alerts from the engine to the dispatcher; it returns at once
// and notifications follow on the group timers. Alerts in shadow mode and
// alerts that are neither firing nor resolved are dropped.
func (d *Dispatcher) Send(ctx context.Context, alerts []alert.Alert) error {
	if d.cfg.root == nil {
		return nil
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.ctx.Err() != nil {
		return errors.New("notify: dispatcher closed")
	}
	for _, a := range alerts {
		if a.Mode == alert.ModeShadow || (a.State != alert.StateFiring && a.State != alert.StateResolved) {
			continue
		}
		labels := matchLabels(a)
		for _, r := range d.cfg.root.match(labels) {
			gl := groupLabels(r, a.Labels)
			key := r.key + ":" + labelString(gl)
			g := d.groups[key]
			if g == nil {
				g = &group{key: key, route: r, labels: gl, alerts: map[string]alert.Alert{}}
				d.groups[key] = g
				// Alertmanager flushes at once when the alert is already
				// older than group_wait.
				wait := r.groupWait
				if !a.StartsAt.IsZero() && a.StartsAt.Add(wait).Before(time.Now()) {
					wait = 0
				}
				d.wg.Go(func() { d.runGroup(g, wait) })
			}
			if old, ok := g.alerts[a.Fingerprint]; ok && old.State == alert.StateResolved && a.State == alert.StateResolved {
				continue
			}
			g.alerts[a.Fingerprint] = a
		}
	}
	return nil
}

// matchLabels are the labels routes match on: the alert's, plus mode and
// rule_id when it lacks them.
func matchLabels(a alert.Alert) map[string]string {
	l := maps.Clone(a.Labels)
	if l == nil {
		l = map[string]string{}
	}
	if _, ok := l["mode"]; !ok {
		l["mode"] = string(a.Mode)
	}
	if _, ok := l["rule_id"]; !ok {
		l["rule_id"] = a.RuleID
	}
	if _, ok := l[alert.LabelSeverity]; !ok {
		l[alert.LabelSeverity] = string(a.Severity)
	}
	return l
}

func groupLabels(r *route, labels map[string]string) map[string]string {
	if r.groupByAll {
		return maps.Clone(labels)
	}
	gl := map[string]string{}
	for _, name := range r.groupBy {
		if v, ok := labels[name]; ok {
			gl[name] = v
		}
	}
	return gl
}

// labelString renders labels as {a="x", b="y"}, sorted by name.
func labelString(labels map[string]string) string {
	var b strings.Builder
	b.WriteByte('{')
	for i, k := range slices.Sorted(maps.Keys(labels)) {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(k + "=" + strconv.Quote(labels[k]))
	}
	b.WriteByte('}')
	return b.String()
}

// runGroup flushes g after wait, then every group_interval, until the
// group has nothing left to say.
func (d *Dispatcher) runGroup(g *group, wait time.Duration) {
	timer := time.NewTimer(wait)
	defer timer.Stop()
	for {
		select {
		case <-d.ctx.Done():
			return
		case <-timer.C:
		}
		if done := d.flush(g); done {
			return
		}
		timer.Reset(g.route.groupInterval)
	}
}

// flush notifies every integration of the group's receiver and forgets the
// resolved alerts that all of them took. It reports whether the group is
// now empty and gone.
func (d *Dispatcher) flush(g *group) bool {
	d.mu.Lock()
	alerts := slices.Collect(maps.Values(g.alerts))
	d.mu.Unlock()
	sortAlerts(alerts)

	ok := true
	for _, in := range d.notifiers[g.route.receiver] {
		if err := d.notifyIntegration(g, in, alerts); err != nil {
			ok = false
		}
	}

	d.mu.Lock()
	defer d.mu.Unlock()
	if ok {
		for _, a := range alerts {
			if cur, still := g.alerts[a.Fingerprint]; still && a.State == alert.StateResolved && cur.State == alert.StateResolved {
				delete(g.alerts, a.Fingerprint)
			}
		}
	}
	if len(g.alerts) == 0 {
		delete(d.groups, g.key)
		return true
	}
	return false
}

// notifyIntegration sends the group to one integration when the
// notification log says it needs to hear about it.
func (d *Dispatcher) notifyIntegration(g *group, in integration, alerts []alert.Alert) error {
	ctx := d.ctx
	logKey := g.route.receiver + "/" + in.name
	var firing, resolved []string
	for _, a := range alerts {
		if a.State == alert.StateFiring {
			firing = append(firing, a.Fingerprint)
		} else {
			resolved = append(resolved, a.Fingerprint)
		}
	}
	now := time.Now()
	entry, err := d.nlog.NotifyLogEntry(ctx, logKey, g.key)
	var prev *state.NotifyLogEntry
	switch {
	case err == nil:
		prev = &entry
	case !errors.Is(err, state.ErrNotFound):
		d.log.Warn("read notification log", "receiver", g.route.receiver, "integration", in.name, "err", err)
	}
	if !needsUpdate(prev, firing, resolved, in.sendResolved, g.route.repeatInterval, now) {
		return nil
	}
	send := alerts
	if !in.sendResolved {
		send = slices.DeleteFunc(slices.Clone(alerts), func(a alert.Alert) bool { return a.State == alert.StateResolved })
	}
	if len(send) > 0 {
		m := newMessage(g.route.receiver, g.key, g.labels, send, d.external)
		if err := d.sendWithRetry(ctx, g.route.receiver, in, m); err != nil {
			return err
		}
	}
	e := state.NotifyLogEntry{Receiver: logKey, GroupKey: g.key, Firing: firing, Resolved: resolved, SentAt: now,
		ExpiresAt: now.Add(max(2*g.route.repeatInterval, 5*24*time.Hour))}
	if err := d.nlog.PutNotifyLogEntry(ctx, e); err != nil {
		d.log.Warn("write notification log", "receiver", g.route.receiver, "integration", in.name, "err", err)
	}
	return nil
}

// needsUpdate is Alertmanager's dedup rule: send when something new
// fires, when everything resolved after a firing notification, when
// something resolved and the integration wants resolved messages, or when
// repeat has passed since the last send.
func needsUpdate(prev *state.NotifyLogEntry, firing, resolved []string, sendResolved bool, repeat time.Duration, now time.Time) bool {
	if prev == nil {
		return len(firing) > 0
	}
	if !subset(firing, prev.Firing) {
		return true
	}
	if len(firing) == 0 {
		return len(prev.Firing) > 0
	}
	if sendResolved && !subset(resolved, prev.Resolved) {
		return true
	}
	return !prev.SentAt.After(now.Add(-repeat))
}

// subset reports whether every element of a is in b.
func subset(a, b []string) bool {
	for _, x := range a {
		if !slices.Contains(b, x) {
			return false
		}
	}
	return true
}

// sendWithRetry tries the integration up to maxAttempts times with
// jittered exponential backoff, and records the outcome.
func (d *Dispatcher) sendWithRetry(ctx context.Context, receiver string, in integration, m *Message) error {
	st := d.receiverStatus(receiver, in.name)
	var err error
	backoff := backoffBase
	for attempt := 1; ; attempt++ {
		var retry bool
		sendCtx, cancel := context.WithTimeout(ctx, sendTimeout)
		retry, err = in.notifier.notify(sendCtx, m)
		cancel()
		d.mu.Lock()
		st.LastAttempt = time.Now()
		d.mu.Unlock()
		if err == nil {
			d.sent.WithLabelValues(receiver, "success").Inc()
			d.mu.Lock()
			st.LastSuccess, st.Sent = st.LastAttempt, st.Sent+1
			d.mu.Unlock()
			d.log.Info("notification sent", "receiver", receiver, "integration", in.name, "group", m.GroupKey,
				"status", m.Status, "alerts", len(m.Alerts), "attempt", attempt)
			return nil
		}
		if !retry || attempt == maxAttempts || ctx.Err() != nil {
			break
		}
		d.log.Debug("notification failed, retrying", "receiver", receiver, "integration", in.name, "attempt", attempt, "err", err)
		wait := time.Duration(float64(backoff) * (0.5 + rand.Float64()))
		backoff = min(2*backoff, backoffMax)
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
		case <-t.C:
		}
	}
	d.sent.WithLabelValues(receiver, "failure").Inc()
	d.mu.Lock()
	st.LastError, st.LastErrorAt, st.Failed = err.Error(), time.Now(), st.Failed+1
	d.mu.Unlock()
	d.log.Error("notification failed", "receiver", receiver, "integration", in.name, "group", m.GroupKey, "err", err)
	return err
}

func (d *Dispatcher) receiverStatus(receiver, integ string) *ReceiverStatus {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.status[receiver+"/"+integ]
}

// Status returns the state of every receiver integration, ordered by
// receiver and integration.
func (d *Dispatcher) Status() []ReceiverStatus {
	d.mu.Lock()
	defer d.mu.Unlock()
	out := make([]ReceiverStatus, 0, len(d.status))
	for _, k := range slices.Sorted(maps.Keys(d.status)) {
		out = append(out, *d.status[k])
	}
	return out
}

// collectGarbage drops expired notification log entries every hour.
func (d *Dispatcher) collectGarbage() {
	t := time.NewTicker(time.Hour)
	defer t.Stop()
	for {
		select {
		case <-d.ctx.Done():
			return
		case <-t.C:
			if _, err := d.nlog.DeleteNotifyLogEntries(d.ctx, time.Now()); err != nil && d.ctx.Err() == nil {
				d.log.Warn("expire notification log", "err", err)
			}
		}
	}
}

// memLog is the in-memory notification log used without a store.
type memLog struct {
	mu      sync.Mutex
	entries map[[2]string]state.NotifyLogEntry
}

func newMemLog() *memLog { return &memLog{entries: map[[2]string]state.NotifyLogEntry{}} }

func (l *memLog) NotifyLogEntry(_ context.Context, receiver, groupKey string) (state.NotifyLogEntry, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	e, ok := l.entries[[2]string{receiver, groupKey}]
	if !ok {
		return e, state.ErrNotFound
	}
	return e, nil
}

func (l *memLog) PutNotifyLogEntry(_ context.Context, e state.NotifyLogEntry) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.entries[[2]string{e.Receiver, e.GroupKey}] = e
	return nil
}

func (l *memLog) DeleteNotifyLogEntries(_ context.Context, before time.Time) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	n := 0
	for k, e := range l.entries {
		if e.ExpiresAt.Before(before) {
			delete(l.entries, k)
			n++
		}
	}
	return n, nil
}
