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

	"github.com/tracehound/tracehound/exclude"
)

var _ ExclusionsBackend = (*Client)(nil)

// Exclusions implements ExclusionsBackend.
func (c *Client) Exclusions(ctx context.Context, q ExclusionQuery) (*ExclusionList, error) {
	var res ExclusionList
	path := "/api/v1/exclusions"
	if v := q.Values().Encode(); v != "" {
		path += "?" + v
	}
	return &res, c.do(ctx, http.MethodGet, path, nil, &res)
}

// Exclusion implements ExclusionsBackend.
func (c *Client) Exclusion(ctx context.Context, id string) (*ExclusionDetail, error) {
	var res ExclusionDetail
	return &res, c.do(ctx, http.MethodGet, "/api/v1/exclusions/"+url.PathEscape(id), nil, &res)
}

// AddExclusion implements ExclusionsBackend.
func (c *Client) AddExclusion(ctx context.Context, req ExclusionRequest) (*ExclusionDetail, error) {
	var res ExclusionDetail
	return &res, c.do(ctx, http.MethodPost, "/api/v1/exclusions", req, &res)
}

// DeleteExclusion implements ExclusionsBackend.
func (c *Client) DeleteExclusion(ctx context.Context, id string) error {
	return c.do(ctx, http.MethodDelete, "/api/v1/exclusions/"+url.PathEscape(id), nil, nil)
}

// ActivateExclusion implements ExclusionsBackend.
func (c *Client) ActivateExclusion(ctx context.Context, id string, req ActivateRequest) (*ExclusionDetail, error) {
	var res ExclusionDetail
	return &res, c.do(ctx, http.MethodPost, "/api/v1/exclusions/"+url.PathEscape(id)+"/activate", req, &res)
}

// ExclusionSuggestions implements ExclusionsBackend.
func (c *Client) ExclusionSuggestions(ctx context.Context, q SuggestionQuery) (*SuggestionList, error) {
	var res SuggestionList
	path := "/api/v1/exclusions/suggestions"
	if v := q.Values().Encode(); v != "" {
		path += "?" + v
	}
	return &res, c.do(ctx, http.MethodGet, path, nil, &res)
}

// DryRunExclusion implements ExclusionsBackend. With req.Progress set it
// asks for the streamed answer and reports each progress line.
func (c *Client) DryRunExclusion(ctx context.Context, req DryRunRequest) (*exclude.DryRunResult, error) {
	if req.Progress == nil {
		var res exclude.DryRunResult
		return &res, c.do(ctx, http.MethodPost, "/api/v1/exclusions/dry-run", req, &res)
	}
	body, err := json.Marshal(req)
	if err != nil {
		return nil, err
	}
	const path = "/api/v1/exclusions/dry-run?stream=true"
	hr, err := http.NewRequestWithContext(ctx, http.MethodPost, c.base.String()+path, bytes.NewReader(body))
	if err != nil {
		return nil, err
	}
	hr.Header.Set("Content-Type", "application/json")
	c.authorize(hr)
	resp, err := c.http.Do(hr)
	if err != nil {
		return nil, fmt.Errorf("cannot reach tracehound at %s: %w", c.base, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode >= 300 {
		b, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
		var eb errorBody
		if json.Unmarshal(b, &eb) != nil || eb.Error.Code == "" {
			return nil, fmt.Errorf("POST %s: server answered %s", path, resp.Status)
		}
		return nil, remoteError(eb.Error.Code, eb.Error.Message)
	}
	if !strings.HasPrefix(resp.Header.Get("Content-Type"), "application/x-ndjson") {
		return nil, fmt.Errorf("POST %s: the server does not stream dry runs", path)
	}
	dec := json.NewDecoder(resp.Body)
	for {
		var line dryRunLine
		if err := dec.Decode(&line); err != nil {
			if errors.Is(err, io.EOF) {
				return nil, fmt.Errorf("POST %s: the stream ended without a result", path)
			}
			return nil, fmt.Errorf("read the dry run from %s: %w", c.base, err)
		}
		switch {
		case line.Error != nil:
			return nil, remoteError(line.Error.Code, line.Error.Message)
		case line.Result != nil:
			return line.Result, nil
		case line.Progress != nil:
			req.Progress(*line.Progress)
		}
	}
}

var _ SilencesBackend = (*Client)(nil)

// Silences implements SilencesBackend.
func (c *Client) Silences(ctx context.Context, all bool) (*SilenceList, error) {
	var res SilenceList
	path := "/api/v1/silences"
	if all {
		path += "?all=true"
	}
	return &res, c.do(ctx, http.MethodGet, path, nil, &res)
}

// AddSilence implements SilencesBackend.
func (c *Client) AddSilence(ctx context.Context, req SilenceRequest) (*exclude.Silence, error) {
	var res exclude.Silence
	return &res, c.do(ctx, http.MethodPost, "/api/v1/silences", req, &res)
}

// DeleteSilence implements SilencesBackend.
func (c *Client) DeleteSilence(ctx context.Context, id string) error {
	return c.do(ctx, http.MethodDelete, "/api/v1/silences/"+url.PathEscape(id), nil, nil)
}
