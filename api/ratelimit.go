package api

import (
	"net"
	"net/http"
	"net/netip"
	"strconv"
	"sync"
	"time"
)

// RateLimit bounds the API requests one client address may make: Rate a
// second on average, bursts of Burst. Loopback clients (the CLI on the
// server's machine) are not limited. The zero value disables the limit.
type RateLimit struct {
	Rate  float64
	Burst int
}

// limiter is a token bucket per client address.
type limiter struct {
	cfg     RateLimit
	now     func() time.Time
	mu      sync.Mutex
	buckets map[netip.Addr]*bucket
}

type bucket struct {
	tokens float64
	last   time.Time
}

// maxBuckets bounds the addresses tracked; past it, idle buckets (full
// again) are dropped, and if none is idle the map starts over.
const maxBuckets = 100_000

func newLimiter(cfg RateLimit, now func() time.Time) *limiter {
	if cfg.Rate <= 0 || cfg.Burst <= 0 {
		return nil
	}
	return &limiter{cfg: cfg, now: now, buckets: map[netip.Addr]*bucket{}}
}

// allow takes a token for addr, or returns how long until one is free.
func (l *limiter) allow(addr netip.Addr) (bool, time.Duration) {
	l.mu.Lock()
	defer l.mu.Unlock()
	now := l.now()
	b := l.buckets[addr]
	if b == nil {
		if len(l.buckets) >= maxBuckets {
			l.prune(now)
		}
		b = &bucket{tokens: float64(l.cfg.Burst), last: now}
		l.buckets[addr] = b
	}
	b.tokens = min(float64(l.cfg.Burst), b.tokens+now.Sub(b.last).Seconds()*l.cfg.Rate)
	b.last = now
	if b.tokens >= 1 {
		b.tokens--
		return true, 0
	}
	return false, time.Duration((1 - b.tokens) / l.cfg.Rate * float64(time.Second))
}

func (l *limiter) prune(now time.Time) {
	full := time.Duration(float64(l.cfg.Burst) / l.cfg.Rate * float64(time.Second))
	for a, b := range l.buckets {
		if now.Sub(b.last) > full {
			delete(l.buckets, a)
		}
	}
	if len(l.buckets) >= maxBuckets {
		clear(l.buckets)
	}
}

// clientAddr is the request's socket peer; proxies' forwarding headers
// are not trusted for limiting.
func clientAddr(r *http.Request) (netip.Addr, bool) {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		host = r.RemoteAddr
	}
	a, err := netip.ParseAddr(host)
	if err != nil {
		return netip.Addr{}, false
	}
	return a.Unmap().WithZone(""), true
}

// limit wraps h with the rate limit; over it, the answer is 429 with
// Retry-After.
func (s *Server) limit(h http.Handler) http.Handler {
	if s.limiter == nil {
		return h
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		addr, ok := clientAddr(r)
		if ok && !addr.IsLoopback() {
			if allowed, wait := s.limiter.allow(addr); !allowed {
				w.Header().Set("Retry-After", strconv.Itoa(int(wait/time.Second)+1))
				writeJSON(w, http.StatusTooManyRequests, errorBody{Error: struct {
					Code    string `json:"code"`
					Message string `json:"message"`
				}{CodeRateLimited, "too many requests from this address; retry after the Retry-After delay"}})
				return
			}
		}
		h.ServeHTTP(w, r)
	})
}
