package api

import (
	"context"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"github.com/getkin/kin-openapi/openapi3"

	"github.com/tracehound/tracehound/apimap"
)

var _ MapBackend = (*Client)(nil)

// mapQueryPath adds q's parameters to path.
func mapQueryPath(path string, q MapQuery) string {
	v := url.Values{}
	if q.Service != "" {
		v.Set("service", q.Service)
	}
	if q.Window > 0 {
		v.Set("since", windowParam(q.Window))
	}
	if q.Only != "" {
		v.Set("only", string(q.Only))
	}
	if len(v) == 0 {
		return path
	}
	return path + "?" + v.Encode()
}

// windowParam writes a window as whole seconds, which the server's
// duration parser reads exactly.
func windowParam(d time.Duration) string {
	if d%time.Second != 0 {
		return d.String()
	}
	return strconv.FormatInt(int64(d/time.Second), 10) + "s"
}

// Map implements MapBackend.
func (c *Client) Map(ctx context.Context, q MapQuery) (*MapResult, error) {
	var res MapResult
	if err := c.do(ctx, http.MethodGet, mapQueryPath("/api/v1/map", q), nil, &res); err != nil {
		return nil, err
	}
	return &res, nil
}

// MapTopology implements MapBackend.
func (c *Client) MapTopology(ctx context.Context, q MapQuery) (*apimap.TopologyNode, error) {
	var res apimap.TopologyNode
	if err := c.do(ctx, http.MethodGet, mapQueryPath("/api/v1/map/topology", q), nil, &res); err != nil {
		return nil, err
	}
	return &res, nil
}

// ObservedOpenAPI implements MapBackend.
func (c *Client) ObservedOpenAPI(ctx context.Context, q MapQuery) (*openapi3.T, error) {
	var doc openapi3.T
	if err := c.do(ctx, http.MethodGet, mapQueryPath("/api/v1/map/openapi", q), nil, &doc); err != nil {
		return nil, err
	}
	return &doc, nil
}

// TakeSnapshot implements MapBackend.
func (c *Client) TakeSnapshot(ctx context.Context, window time.Duration) (*SnapshotResult, error) {
	var res SnapshotResult
	if err := c.do(ctx, http.MethodPost, mapQueryPath("/api/v1/map/snapshots", MapQuery{Window: window}), nil, &res); err != nil {
		return nil, err
	}
	return &res, nil
}

// Snapshots implements MapBackend.
func (c *Client) Snapshots(ctx context.Context) (*SnapshotList, error) {
	var res SnapshotList
	if err := c.do(ctx, http.MethodGet, "/api/v1/map/snapshots", nil, &res); err != nil {
		return nil, err
	}
	return &res, nil
}

// EndpointReview implements MapBackend.
func (c *Client) EndpointReview(ctx context.Context, id string) (*ReviewResult, error) {
	var res ReviewResult
	if err := c.do(ctx, http.MethodGet, "/api/v1/map/endpoints/"+url.PathEscape(id)+"/review", nil, &res); err != nil {
		return nil, err
	}
	return &res, nil
}

// SetEndpointReview implements MapBackend.
func (c *Client) SetEndpointReview(ctx context.Context, id string, r ReviewRequest) (*ReviewResult, error) {
	var res ReviewResult
	if err := c.do(ctx, http.MethodPut, "/api/v1/map/endpoints/"+url.PathEscape(id)+"/review", r, &res); err != nil {
		return nil, err
	}
	return &res, nil
}

// Specs implements MapBackend.
func (c *Client) Specs(ctx context.Context) (*SpecList, error) {
	var res SpecList
	if err := c.do(ctx, http.MethodGet, "/api/v1/specs", nil, &res); err != nil {
		return nil, err
	}
	return &res, nil
}

// RegisterSpec implements MapBackend.
func (c *Client) RegisterSpec(ctx context.Context, u SpecUpload) (*SpecInfo, error) {
	v := url.Values{}
	if u.Service != "" {
		v.Set("service", u.Service)
	}
	if u.Name != "" {
		v.Set("name", u.Name)
	}
	path := "/api/v1/specs"
	if len(v) > 0 {
		path += "?" + v.Encode()
	}
	var res SpecInfo
	if err := c.send(ctx, http.MethodPost, path, "application/yaml", u.Raw, &res); err != nil {
		return nil, err
	}
	return &res, nil
}
