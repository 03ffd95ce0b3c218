package api

import (
	"context"
	"net/http"
	"strconv"
)

var _ PinsBackend = (*Client)(nil)

// MapPins implements PinsBackend.
func (c *Client) MapPins(ctx context.Context) (*PinList, error) {
	var res PinList
	return &res, c.do(ctx, http.MethodGet, "/api/v1/map/pins", nil, &res)
}

// AddMapPin implements PinsBackend.
func (c *Client) AddMapPin(ctx context.Context, req PinRequest) (*MapPin, error) {
	var res MapPin
	return &res, c.do(ctx, http.MethodPost, "/api/v1/map/pins", req, &res)
}

// DeleteMapPin implements PinsBackend.
func (c *Client) DeleteMapPin(ctx context.Context, id int64) error {
	return c.do(ctx, http.MethodDelete, "/api/v1/map/pins/"+strconv.FormatInt(id, 10), nil, nil)
}
