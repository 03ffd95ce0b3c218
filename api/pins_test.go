package api

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/tracehound/tracehound/auth"
	"github.com/tracehound/tracehound/state"
)

// fakePins is a PinsBackend that keeps pins in memory and records what it
// was asked; the HTTP layer under test only moves requests and answers.
type fakePins struct {
	Backend
	pins    []MapPin
	added   PinRequest
	deleted int64
}

func (f *fakePins) MapPins(context.Context) (*PinList, error) {
	return &PinList{Pins: append([]MapPin{}, f.pins...)}, nil
}

func (f *fakePins) AddMapPin(_ context.Context, req PinRequest) (*MapPin, error) {
	f.added = req
	if strings.Contains(req.Path, "{") && req.Kind == PinLiteral {
		return nil, fmt.Errorf("%w: do-not-merge path %q: want a literal path", ErrBadRequest, req.Path)
	}
	for _, p := range f.pins {
		if p.Service == req.Service && p.Kind == req.Kind && p.Path == req.Path {
			return nil, fmt.Errorf("%s %s: %w", req.Kind, req.Path, state.ErrExists)
		}
	}
	p := MapPin{ID: int64(len(f.pins) + 1), Service: req.Service, Kind: req.Kind, Path: req.Path, Note: req.Note,
		CreatedBy: "user:ana", CreatedAt: time.Date(2026, 3, 2, 0, 0, 0, 0, time.UTC), Source: PinStored}
	f.pins = append(f.pins, p)
	return &p, nil
}

func (f *fakePins) DeleteMapPin(_ context.Context, id int64) error {
	f.deleted = id
	if id < 1 || id > int64(len(f.pins)) {
		return fmt.Errorf("map pin %d: %w", id, state.ErrNotFound)
	}
	return nil
}

func newPinServer(t *testing.T) (*fakePins, *Server, *httptest.Server) {
	t.Helper()
	f := &fakePins{pins: []MapPin{{Kind: PinLiteral, Path: "/reports/daily", Source: PinConfig}}}
	s := NewServer(Options{Backend: f})
	srv := httptest.NewServer(s)
	t.Cleanup(srv.Close)
	return f, s, srv
}

func TestPinRoutesRoles(t *testing.T) {
	_, s, _ := newPinServer(t)
	want := map[string]auth.Role{
		"GET /api/v1/map/pins":         auth.RoleViewer,
		"POST /api/v1/map/pins":        auth.RoleAnalyst,
		"DELETE /api/v1/map/pins/{id}": auth.RoleAnalyst,
	}
	got := map[string]auth.Role{}
	for _, r := range s.Routes() {
		if strings.Contains(r.Pattern, "/map/pins") {
			got[r.Pattern] = r.Role
		}
	}
	for p, role := range want {
		if got[p] != role {
			t.Errorf("route %s needs %q, want %q", p, got[p], role)
		}
	}
	if len(got) != len(want) {
		t.Errorf("pin routes %v, want %v", got, want)
	}
}

func TestPinRoutes(t *testing.T) {
	tests := []struct {
		name, method, path, body string
		status                   int
		want                     []string
	}{
		{"list", "GET", "/api/v1/map/pins", "", 200, []string{`{"pins":[{"service":"","kind":"literal","path":"/reports/daily","source":"config"}]}`}},
		{"add", "POST", "/api/v1/map/pins", `{"service":"docs","kind":"pin","path":"/files/{name}","note":"one endpoint"}`, 201,
			[]string{`"id":2`, `"service":"docs"`, `"kind":"pin"`, `"path":"/files/{name}"`, `"note":"one endpoint"`, `"created_by":"user:ana"`, `"source":"stored"`}},
		{"add again", "POST", "/api/v1/map/pins", `{"service":"docs","kind":"pin","path":"/files/{name}"}`, 409, []string{`"code":"conflict"`, "already exists"}},
		{"add refused", "POST", "/api/v1/map/pins", `{"kind":"literal","path":"/reports/{id}"}`, 400, []string{`"code":"bad_request"`, "want a literal path"}},
		{"add unknown field", "POST", "/api/v1/map/pins", `{"kind":"pin","template":"/x"}`, 400, []string{`unknown field`}},
		{"delete", "DELETE", "/api/v1/map/pins/2", "", 204, nil},
		{"delete missing", "DELETE", "/api/v1/map/pins/9", "", 404, []string{`"code":"not_found"`, "map pin 9"}},
		{"delete bad id", "DELETE", "/api/v1/map/pins/first", "", 400, []string{`pin id \"first\": want a positive number`}},
		{"delete zero id", "DELETE", "/api/v1/map/pins/0", "", 400, []string{`pin id \"0\"`}},
	}
	_, _, srv := newPinServer(t)
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			req, err := http.NewRequest(tc.method, srv.URL+tc.path, strings.NewReader(tc.body))
			if err != nil {
				t.Fatal(err)
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != tc.status {
				t.Errorf("%s %s = %d %s, want %d", tc.method, tc.path, resp.StatusCode, b, tc.status)
			}
			for _, w := range tc.want {
				if !strings.Contains(string(b), w) {
					t.Errorf("%s %s body %s\nwant it to contain %s", tc.method, tc.path, b, w)
				}
			}
		})
	}
}

func TestPinClient(t *testing.T) {
	f, _, srv := newPinServer(t)
	c, err := NewClient(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	req := PinRequest{Service: "docs", Kind: PinTemplate, Path: "/files/{name}", Note: "one endpoint"}
	p, err := c.AddMapPin(ctx, req)
	if err != nil || p.ID != 2 || p.Path != req.Path || p.Source != PinStored || !p.CreatedAt.Equal(time.Date(2026, 3, 2, 0, 0, 0, 0, time.UTC)) {
		t.Errorf("AddMapPin = %+v, %v; want pin 2 back", p, err)
	}
	if f.added != req {
		t.Errorf("server got %+v, want the client's %+v", f.added, req)
	}
	if _, err := c.AddMapPin(ctx, req); !errors.Is(err, state.ErrExists) {
		t.Errorf("AddMapPin twice = %v, want ErrExists", err)
	}
	if _, err := c.AddMapPin(ctx, PinRequest{Kind: PinLiteral, Path: "/reports/{id}"}); !errors.Is(err, ErrBadRequest) {
		t.Errorf("AddMapPin(literal template) = %v, want ErrBadRequest", err)
	}
	list, err := c.MapPins(ctx)
	if err != nil || len(list.Pins) != 2 || list.Pins[0].Source != PinConfig || list.Pins[0].ID != 0 || list.Pins[1].ID != 2 {
		t.Errorf("MapPins = %+v, %v; want the config entry, then pin 2", list, err)
	}
	if err := c.DeleteMapPin(ctx, 2); err != nil || f.deleted != 2 {
		t.Errorf("DeleteMapPin(2) = %v (server deleted %d)", err, f.deleted)
	}
	if err := c.DeleteMapPin(ctx, 9); err == nil || !strings.Contains(err.Error(), "not found") {
		t.Errorf("DeleteMapPin(9) = %v, want not found", err)
	}
}
