package scenario

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"
)

func TestRunLive(t *testing.T) {
	rc := newReceiver(t)
	ctx, cancel := context.WithTimeout(t.Context(), 2500*time.Millisecond)
	defer cancel()
	var url string
	err := RunLive(ctx, LiveOptions{Endpoint: rc.endpoint(), Rate: 40, AttackShare: 0.25, Seed: 9, Ready: func(u string) { url = u }})
	if err != nil {
		t.Fatalf("RunLive: %v", err)
	}
	if !strings.HasPrefix(url, "http://127.0.0.1:") {
		t.Fatalf("service at %q, want loopback", url)
	}
	var servers, exports, children int
	clients := map[string]bool{}
	for _, s := range rc.all() {
		if s.kind != "Server" {
			children++
			continue
		}
		servers++
		if s.scope != "go.opentelemetry.io/contrib/instrumentation/net/http/otelhttp" || s.resource["service.name"] != ServiceName {
			t.Fatalf("server span from scope %q, resource %v", s.scope, s.resource)
		}
		if s.attrs["network.peer.address"] != "127.0.0.1" || s.attrs["server.address"] != apiHost {
			t.Fatalf("server span %v: want the loopback peer and the public host", s.attrs)
		}
		route, _ := s.attrs["http.route"].(string)
		if !strings.HasPrefix(route, "/v1/") {
			t.Fatalf("server span %q has route %q", s.name, route)
		}
		ip := s.attrs["client.address"].(string)
		clients[ip] = true
		if route == "/v1/admin/export" {
			exports++
			if !slices.Contains(ExfilIPs[:], ip) || s.attrs["app.api_key_id"] != worldFor(9).exfilKey.id {
				t.Errorf("export span from %s with key %v, want the attacker", ip, s.attrs["app.api_key_id"])
			}
		}
	}
	if servers < 20 || exports == 0 || children < servers || clients["127.0.0.1"] || len(clients) < 5 {
		t.Errorf("%d server spans (%d exports), %d children, clients %v", servers, exports, children, clients)
	}
}
