package api

import (
	"context"
	"net/http"
	"net/url"

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
	var res *exclude.DryRunResult
	err := postStream(ctx, c, "/api/v1/exclusions/dry-run?stream=true", req, func(line dryRunLine) (bool, error) {
		switch {
		case line.Error != nil:
			return true, remoteError(line.Error.Code, line.Error.Message)
		case line.Result != nil:
			res = line.Result
			return true, nil
		case line.Progress != nil:
			req.Progress(*line.Progress)
		}
		return false, nil
	})
	return res, err
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
