package api

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/tracehound/tracehound/auth"
	"github.com/tracehound/tracehound/sqlguard"
	"github.com/tracehound/tracehound/state"
	"github.com/tracehound/tracehound/store"
)

var _ Backend = (*Client)(nil)

// Client talks to a running tracehound over its HTTP API.
type Client struct {
	base  *url.URL
	http  *http.Client
	token string
}

// Base returns the server's URL.
func (c *Client) Base() string { return c.base.String() }

// SetToken makes the client send an API token (th_…) with every request.
func (c *Client) SetToken(token string) { c.token = token }

// NewClient returns a client for the server at base (e.g. http://127.0.0.1:8080).
func NewClient(base string) (*Client, error) {
	if !strings.Contains(base, "://") {
		base = "http://" + base
	}
	u, err := url.Parse(strings.TrimRight(base, "/"))
	if err != nil || u.Host == "" {
		return nil, fmt.Errorf("invalid server URL %q", base)
	}
	return &Client{base: u, http: &http.Client{Timeout: 5 * time.Minute}}, nil
}

// SQL implements Backend.
func (c *Client) SQL(ctx context.Context, q string) (*QueryResult, error) {
	var res QueryResult
	if err := c.do(ctx, http.MethodPost, "/api/v1/sql", sqlRequest{SQL: q}, &res); err != nil {
		return nil, err
	}
	return &res, nil
}

// Status implements Backend.
func (c *Client) Status(ctx context.Context) (*Status, error) {
	var st Status
	if err := c.do(ctx, http.MethodGet, "/api/v1/status", nil, &st); err != nil {
		return nil, err
	}
	return &st, nil
}

// ExportOTLP posts one OTLP export request body to the server's /v1/traces
// and returns the spans the server rejected as invalid. Throttling (429 and
// 503) is retried after Retry-After until ctx ends.
func (c *Client) ExportOTLP(ctx context.Context, body []byte, contentType string) (rejected int64, err error) {
	for {
		req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.base.String()+"/v1/traces", bytes.NewReader(body))
		if err != nil {
			return 0, err
		}
		req.Header.Set("Content-Type", contentType)
		c.authorize(req)
		resp, err := c.http.Do(req)
		if err != nil {
			return 0, fmt.Errorf("post to %s: %w", c.base, err)
		}
		b, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
		resp.Body.Close()
		switch resp.StatusCode {
		case http.StatusOK:
			if contentType == "application/json" {
				var r struct {
					PartialSuccess struct {
						RejectedSpans json.Number `json:"rejectedSpans"`
					} `json:"partialSuccess"`
				}
				if json.Unmarshal(b, &r) == nil {
					rejected, _ = r.PartialSuccess.RejectedSpans.Int64()
				}
			}
			return rejected, nil
		case http.StatusTooManyRequests, http.StatusServiceUnavailable:
			wait := 2 * time.Second
			if d, err := time.ParseDuration(resp.Header.Get("Retry-After") + "s"); err == nil && d > 0 {
				wait = d
			}
			select {
			case <-time.After(wait):
			case <-ctx.Done():
				return 0, ctx.Err()
			}
		default:
			return 0, fmt.Errorf("server answered %s: %s", resp.Status, strings.TrimSpace(string(b)))
		}
	}
}

// do sends in as JSON (when not nil) and decodes the JSON answer into out.
func (c *Client) do(ctx context.Context, method, path string, in, out any) error {
	if in == nil {
		return c.send(ctx, method, path, "", nil, out)
	}
	b, err := json.Marshal(in)
	if err != nil {
		return err
	}
	return c.send(ctx, method, path, "application/json", b, out)
}

// send sends body with its content type and decodes the JSON answer into
// out; an API error comes back as an error of its kind (remoteError).
func (c *Client) send(ctx context.Context, method, path, contentType string, body []byte, out any) error {
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, c.base.String()+path, rd)
	if err != nil {
		return err
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	c.authorize(req)
	resp, err := c.http.Do(req)
	if err != nil {
		return fmt.Errorf("cannot reach tracehound at %s: %w", c.base, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return fmt.Errorf("read response from %s: %w", c.base, err)
	}
	if resp.StatusCode >= 300 {
		var eb errorBody
		if json.Unmarshal(b, &eb) != nil || eb.Error.Code == "" {
			return fmt.Errorf("%s %s: server answered %s", method, path, resp.Status)
		}
		return remoteError(eb.Error.Code, eb.Error.Message)
	}
	if out == nil || len(b) == 0 {
		return nil
	}
	return json.Unmarshal(b, out)
}

func (c *Client) authorize(req *http.Request) {
	if c.token != "" {
		req.Header.Set("Authorization", "Bearer "+c.token)
	}
}

// remoteError rebuilds the error kind of an API error, so callers test it
// with errors.Is as they would a local one.
func remoteError(code, msg string) error {
	var kind error
	switch code {
	case CodeBadRequest:
		kind = ErrBadRequest
	case CodeRefused:
		kind = sqlguard.ErrRefused
	case CodeInvalidQuery:
		kind = store.ErrQuery
	case CodeNotFound:
		kind = store.ErrNotFound
	case CodeOverloaded:
		kind = store.ErrOverloaded
	case CodeTimeout:
		kind = context.DeadlineExceeded
	case CodeUnauthenticated:
		kind = auth.ErrUnauthenticated
	case CodeForbidden:
		kind = auth.ErrForbidden
	case CodeRateLimited:
		kind = auth.ErrRateLimited
	case CodeConflict:
		kind = state.ErrExists
	default:
		return errors.New(msg)
	}
	return &remote{kind: kind, msg: msg}
}

type remote struct {
	kind error
	msg  string
}

func (e *remote) Error() string { return e.msg }
func (e *remote) Unwrap() error { return e.kind }
