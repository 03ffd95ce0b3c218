package scenario

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"

	sdktrace "go.opentelemetry.io/otel/sdk/trace"
)

// LiveOptions configures RunLive.
type LiveOptions struct {
	Endpoint string            // OTLP endpoint, as in Options
	Headers  map[string]string // sent with every export, as in Options
	Protocol string            // ProtocolHTTP (default) or ProtocolGRPC
	Rate     float64           // requests per second; 0 means 10
	// AttackShare is the share of requests that are the reference
	// attacker's calls to GET /v1/admin/export; 0 means 0.02, a negative
	// value none.
	AttackShare float64
	Seed        uint64
	// Ready, when set, is called with the service's base URL once it
	// listens.
	Ready func(serviceURL string)
}

// RunLive starts the DataVault service on 127.0.0.1, instrumented with
// otelhttp and exporting its spans over OTLP to o.Endpoint, and drives it
// with simulated clients making real HTTP requests at o.Rate: the benign
// mix of the enterprise clients, and now and then the reference attacker.
// The clients sit behind a pretend reverse proxy: each request carries its
// simulated address in X-Forwarded-For, which the service trusts from
// loopback. RunLive returns when ctx is done, after flushing the spans.
func RunLive(ctx context.Context, o LiveOptions) error {
	if o.Rate == 0 {
		o.Rate = 10
	}
	if o.Rate < 0 || o.Rate > 1000 {
		return fmt.Errorf("rate must be in (0, 1000] requests per second, got %v", o.Rate)
	}
	if o.AttackShare == 0 {
		o.AttackShare = 0.02
	}
	if o.Protocol == "" {
		o.Protocol = ProtocolHTTP
	}
	exp, err := newExporter(ctx, o.Endpoint, o.Protocol, o.Headers)
	if err != nil {
		return err
	}
	tp := sdktrace.NewTracerProvider(
		sdktrace.WithResource(newResource()),
		sdktrace.WithBatcher(exp, sdktrace.WithBatchTimeout(time.Second)),
	)
	defer func() {
		sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
		defer cancel()
		tp.Shutdown(sctx)
	}()
	srv, err := StartDataVault(DataVaultOptions{Seed: o.Seed, TracerProvider: tp, Latency: true})
	if err != nil {
		return err
	}
	defer srv.Close()
	if o.Ready != nil {
		o.Ready(srv.URL)
	}

	sim := newLiveClients(worldFor(o.Seed), o.Seed, o.AttackShare)
	httpc := &http.Client{Timeout: 30 * time.Second}
	jobs := make(chan *http.Request, 64)
	var wg sync.WaitGroup
	for range 4 {
		wg.Go(func() {
			for req := range jobs {
				resp, err := httpc.Do(req)
				if err != nil {
					continue
				}
				io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
			}
		})
	}
	tick := time.NewTicker(time.Duration(float64(time.Second) / o.Rate))
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			close(jobs)
			wg.Wait()
			if err := srv.Close(); err != nil {
				return err
			}
			sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
			defer cancel()
			return tp.ForceFlush(sctx)
		case <-tick.C:
			req, err := sim.next(srv.URL)
			if err != nil {
				return err
			}
			select {
			case jobs <- req:
			default: // the service is behind; a real client would time out too
			}
		}
	}
}

// liveClients draws requests from the traffic model for the live mode.
type liveClients struct {
	w           *world
	g           *generator
	clients     []*client
	cum         []float64
	attack      []plannedRequest
	attackNext  int
	attackShare float64
}

func newLiveClients(w *world, seed uint64, attackShare float64) *liveClients {
	l := &liveClients{w: w, attackShare: attackShare}
	now := time.Now().UTC()
	l.g = newGenerator(w, seed, now.Truncate(24*time.Hour), 1, 1)
	l.g.r = rand.New(rand.NewPCG(seed, uint64(now.UnixNano())))
	total := 0.0
	for _, e := range l.g.actors {
		if c, ok := e.a.(*client); ok && c.acct.plan == planEnterprise {
			total += c.perDay
			l.clients = append(l.clients, c)
			l.cum = append(l.cum, total)
		}
	}
	plan, _ := simulateExfil(w, seed)
	for _, p := range plan {
		if p.status == 200 && p.at > 24*time.Hour {
			l.attack = append(l.attack, p)
		}
	}
	return l
}

// next returns the next simulated request to the service at base.
func (l *liveClients) next(base string) (*http.Request, error) {
	r := l.g.r
	if r.Float64() < l.attackShare {
		p := l.attack[l.attackNext%len(l.attack)]
		l.attackNext++
		req, err := http.NewRequest(http.MethodGet, base+p.path+"?"+p.query, nil)
		if err != nil {
			return nil, err
		}
		l.headers(req, ExfilIPs[p.ip], exfilUA)
		req.Header.Set("Authorization", "Bearer "+l.w.exfilKey.secret)
		return req, nil
	}
	i, _ := slices.BinarySearch(l.cum, r.Float64()*l.cum[len(l.cum)-1])
	c := l.clients[min(i, len(l.clients)-1)]
	l.g.pending = l.g.pending[:0]
	c.emit(l.g, time.Now().UnixNano(), c.info)
	rq := l.g.pending[0]
	return l.httpRequest(base, &rq, c)
}

func (l *liveClients) headers(req *http.Request, ip, ua string) {
	req.Host = apiHost
	req.Header.Set("X-Forwarded-For", ip)
	req.Header.Set("User-Agent", ua)
}

// httpRequest turns a generated request into a real one. Where the model
// chose a failure the service can produce (wrong password, revoked key,
// invalid body), the request is made to fail the same way; the path already
// names a deleted or foreign object for a 404 or 403.
func (l *liveClients) httpRequest(base string, rq *request, c *client) (*http.Request, error) {
	op := rq.op
	var body any
	email := "user" + itoa(int(c.acct.userBase)) + "@" + c.acct.domain
	switch op.id {
	case opLogin:
		pw := l.w.password(email)
		if rq.status != 200 {
			pw = "Winter2024!"
		}
		body = map[string]string{"email": email, "password": pw}
	case opTokenRefresh:
		tok := l.w.sessionToken(c.acct)
		if rq.status == 401 {
			tok = "dvt_expired"
		}
		body = map[string]string{"refresh_token": tok}
	case opCreateDocument:
		body = map[string]any{"title": "Report " + itoa(int(rq.start%10_000)), "content": strings.Repeat("A", int(min(rq.reqBytes, 64<<10)))}
	case opUpdateDocument, opCreateCollection, opCreateShare, opCreateWebhook, opAdminCreateUser:
		body = map[string]string{"title": "Renamed", "name": "Contracts", "email": "new." + email, "url": "https://hooks." + c.acct.domain + "/dv"}
	}
	if body != nil && rq.status == 400 {
		body = map[string]string{"title": ""}
	}
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return nil, err
		}
		rd = bytes.NewReader(b)
	}
	target := base + rq.path
	if rq.query != "" {
		target += "?" + rq.query
	}
	req, err := http.NewRequest(op.method, target, rd)
	if err != nil {
		return nil, err
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	l.headers(req, rq.clientIP, rq.ua)
	if op.auth != authNone {
		tok := l.w.sessionToken(c.acct)
		if rq.key != nil {
			tok = rq.key.secret
		}
		if rq.status == 401 {
			tok = "dvs_live_revoked"
		}
		req.Header.Set("Authorization", "Bearer "+tok)
	}
	return req, nil
}
