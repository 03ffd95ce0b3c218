package contain

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"time"
)

// Response webhook event types.
const (
	EventIPBlocked              = "ip.blocked"
	EventIPUnblocked            = "ip.unblocked"
	EventAPIKeyRevoked          = "api_key.revoked"
	EventAPIKeyRevocationUndone = "api_key.revocation_undone"
)

// Event is the JSON body of a response webhook.
type Event struct {
	Type     string    `json:"type"`
	ChangeID int64     `json:"change_id"`
	At       time.Time `json:"at"`
	Actor    string    `json:"actor"`
	Reason   string    `json:"reason"`
	Source   string    `json:"source,omitempty"`
	// IPs are canonical values, for the ip.* events.
	IPs []string `json:"ips,omitempty"`
	// ExpiresAt is when a block ends; absent for a permanent block.
	ExpiresAt *time.Time `json:"expires_at,omitempty"`
	// APIKeyID names the key, for the api_key.* events.
	APIKeyID string `json:"api_key_id,omitempty"`
	// RateLimit is the advised limit ("60/min"), for ip.rate_limit_advised.
	RateLimit string `json:"rate_limit,omitempty"`
}

// WebhookConfig configures response webhooks.
type WebhookConfig struct {
	// URLs each receive every event.
	URLs []string
	// MaxAttempts bounds the tries per URL (default 3).
	MaxAttempts int
	// Backoff is the wait before the second try, doubled after each
	// (default 500ms).
	Backoff time.Duration
	// Timeout bounds each try (default 5s).
	Timeout time.Duration
	// Client sends the requests; http.DefaultClient when nil.
	Client *http.Client
}

// Webhooks posts events to the configured URLs.
type Webhooks struct {
	cfg WebhookConfig
}

// NewWebhooks returns webhooks with cfg's defaults filled in.
func NewWebhooks(cfg WebhookConfig) *Webhooks {
	if cfg.MaxAttempts <= 0 {
		cfg.MaxAttempts = 3
	}
	if cfg.Backoff <= 0 {
		cfg.Backoff = 500 * time.Millisecond
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = 5 * time.Second
	}
	if cfg.Client == nil {
		cfg.Client = http.DefaultClient
	}
	return &Webhooks{cfg: cfg}
}

// Send posts ev as JSON to every URL, retrying network errors, 429 and
// 5xx responses up to MaxAttempts with doubling backoff; other 4xx
// responses are not retried. It returns the failures of all URLs joined.
func (w *Webhooks) Send(ctx context.Context, ev Event) error {
	body, err := json.Marshal(ev)
	if err != nil {
		return fmt.Errorf("webhook %s: %w", ev.Type, err)
	}
	var errs []error
	for _, url := range w.cfg.URLs {
		if err := w.post(ctx, url, ev.Type, body); err != nil {
			errs = append(errs, fmt.Errorf("webhook %s to %s: %w", ev.Type, url, err))
		}
	}
	return errors.Join(errs...)
}

func (w *Webhooks) post(ctx context.Context, url, eventType string, body []byte) error {
	wait := w.cfg.Backoff
	var last error
	for attempt := 1; attempt <= w.cfg.MaxAttempts; attempt++ {
		if attempt > 1 {
			select {
			case <-ctx.Done():
				return errors.Join(last, ctx.Err())
			case <-time.After(wait):
			}
			wait *= 2
		}
		retry, err := w.try(ctx, url, eventType, body)
		if err == nil {
			return nil
		}
		last = fmt.Errorf("attempt %d: %w", attempt, err)
		if !retry {
			break
		}
	}
	return last
}

// try posts once and says whether a failure is worth retrying.
func (w *Webhooks) try(ctx context.Context, url, eventType string, body []byte) (retry bool, err error) {
	ctx, cancel := context.WithTimeout(ctx, w.cfg.Timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		return false, err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "tracehound")
	req.Header.Set("X-Tracehound-Event", eventType)
	resp, err := w.cfg.Client.Do(req)
	if err != nil {
		return true, err
	}
	io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	resp.Body.Close()
	switch {
	case resp.StatusCode >= 200 && resp.StatusCode < 300:
		return false, nil
	case resp.StatusCode == http.StatusTooManyRequests || resp.StatusCode >= 500:
		return true, fmt.Errorf("status %d", resp.StatusCode)
	default:
		return false, fmt.Errorf("status %d", resp.StatusCode)
	}
}
