package api

import (
	"net/http"
	"net/http/httptest"
	"net/netip"
	"testing"
	"time"
)

func TestLimiter(t *testing.T) {
	now := time.Date(2026, 11, 2, 9, 0, 0, 0, time.UTC)
	l := newLimiter(RateLimit{Rate: 2, Burst: 3}, func() time.Time { return now })
	a := netip.MustParseAddr("203.0.113.7")
	for i := 0; i < 3; i++ {
		if ok, _ := l.allow(a); !ok {
			t.Fatalf("request %d of the burst refused", i+1)
		}
	}
	ok, wait := l.allow(a)
	if ok || wait <= 0 || wait > time.Second {
		t.Fatalf("fourth request: allowed %v, wait %v; want refused with a wait under 1s", ok, wait)
	}
	if ok, _ := l.allow(netip.MustParseAddr("203.0.113.8")); !ok {
		t.Error("another address shares the first one's bucket")
	}
	now = now.Add(500 * time.Millisecond) // one token at 2/s
	if ok, _ := l.allow(a); !ok {
		t.Error("a token did not come back after half a second")
	}
	if newLimiter(RateLimit{}, time.Now) != nil {
		t.Error("the zero RateLimit does not disable limiting")
	}
}

func TestRateLimitedRoutes(t *testing.T) {
	s := NewServer(Options{RateLimit: RateLimit{Rate: 0.001, Burst: 2}})
	get := func(path, remote string) *httptest.ResponseRecorder {
		r := httptest.NewRequest(http.MethodGet, path, nil)
		r.RemoteAddr = remote
		w := httptest.NewRecorder()
		s.ServeHTTP(w, r)
		return w
	}
	for i := 0; i < 2; i++ {
		if w := get("/api/v1/nothing", "198.51.100.4:5000"); w.Code == http.StatusTooManyRequests {
			t.Fatalf("request %d within the burst: 429", i+1)
		}
	}
	w := get("/api/v1/nothing", "198.51.100.4:5000")
	if w.Code != http.StatusTooManyRequests || w.Header().Get("Retry-After") == "" {
		t.Errorf("over the limit: %d, Retry-After %q; want 429 with Retry-After", w.Code, w.Header().Get("Retry-After"))
	}
	if w := get("/healthz", "198.51.100.4:5000"); w.Code != http.StatusOK {
		t.Errorf("/healthz is limited too: %d", w.Code)
	}
	for i := 0; i < 5; i++ {
		if w := get("/api/v1/nothing", "127.0.0.1:5000"); w.Code == http.StatusTooManyRequests {
			t.Fatal("a loopback client was limited")
		}
	}
}
