package ipintel

import (
	"context"
	"sync"
	"time"
)

// tokenBucket is a token bucket: it holds at most burst tokens and gains
// rate tokens per second. It models both a request rate (small burst,
// seconds) and a daily quota (burst = quota, rate = quota per day).
type tokenBucket struct {
	mu     sync.Mutex
	rate   float64 // tokens per second
	burst  float64
	tokens float64
	last   time.Time
	// resetAt, when set, is when a server said the allowance returns in
	// full; the bucket is refilled then.
	resetAt time.Time
	now     func() time.Time
}

func newTokenBucket(rate float64, burst int, now func() time.Time) *tokenBucket {
	if now == nil {
		now = time.Now
	}
	return &tokenBucket{rate: rate, burst: float64(burst), tokens: float64(burst), last: now(), now: now}
}

// refill adds the tokens earned since the last call; mu must be held.
func (b *tokenBucket) refill(now time.Time) {
	if !b.resetAt.IsZero() && !now.Before(b.resetAt) {
		b.tokens, b.resetAt = b.burst, time.Time{}
	}
	if now.After(b.last) {
		b.tokens = min(b.burst, b.tokens+now.Sub(b.last).Seconds()*b.rate)
		b.last = now
	}
}

// take removes a token if one is available, without waiting.
func (b *tokenBucket) take() bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.refill(b.now())
	if b.tokens >= 1 {
		b.tokens--
		return true
	}
	return false
}

// wait removes a token, sleeping until one is available or ctx is done.
func (b *tokenBucket) wait(ctx context.Context) error {
	for {
		b.mu.Lock()
		b.refill(b.now())
		if b.tokens >= 1 {
			b.tokens--
			b.mu.Unlock()
			return nil
		}
		delay := time.Duration((1 - b.tokens) / b.rate * float64(time.Second))
		b.mu.Unlock()
		t := time.NewTimer(delay)
		select {
		case <-ctx.Done():
			t.Stop()
			return ctx.Err()
		case <-t.C:
		}
	}
}

// limit lowers the available tokens to n, when a server reports fewer left
// than the bucket believes; reset, if not zero, is when the server's
// allowance returns in full.
func (b *tokenBucket) limit(n int, reset time.Time) {
	b.mu.Lock()
	defer b.mu.Unlock()
	now := b.now()
	b.refill(now)
	b.tokens = min(b.tokens, float64(max(n, 0)))
	if reset.After(now) {
		b.resetAt = reset
	}
}

// drain empties the bucket until the time the server asked us to wait,
// when it is full again.
func (b *tokenBucket) drain(until time.Time) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.tokens = 0
	b.resetAt = until
	if until.After(b.last) {
		b.last = until
	}
}
