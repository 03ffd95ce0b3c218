package api

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"strconv"
	"time"

	"github.com/tracehound/tracehound/auth"
	"github.com/tracehound/tracehound/state"
)

// PinsBackend serves the corrections of the API map's templating: pinned
// templates (a path one matches gets it before anything else is tried)
// and do-not-merge paths (their segments stay literal). The server routes
// /api/v1/map/pins when its Backend implements it. Changes act for the
// principal in the context and are audit-logged. A pin the map cannot use
// comes back as an error wrapping ErrBadRequest, the same pin twice as one
// wrapping state.ErrExists, and a missing id as one wrapping
// state.ErrNotFound.
type PinsBackend interface {
	// MapPins lists the pins the map uses: the stored ones, oldest first,
	// then those of the configuration file. Of two pins that differ only
	// in parameter names, the first listed wins.
	MapPins(ctx context.Context) (*PinList, error)
	// AddMapPin checks and stores a pin.
	AddMapPin(ctx context.Context, req PinRequest) (*MapPin, error)
	// DeleteMapPin removes a stored pin.
	DeleteMapPin(ctx context.Context, id int64) error
}

// Kinds of pin.
const (
	// PinTemplate pins a template such as /files/{name}.
	PinTemplate = state.MapPinTemplate
	// PinLiteral keeps the segments of a literal path such as
	// /reports/daily literal (do not merge).
	PinLiteral = state.MapPinLiteral
)

// Sources of a pin.
const (
	// PinStored: added through the API or the CLI, and removable there.
	PinStored = "stored"
	// PinConfig: the configuration file's apimap.pins or
	// apimap.do_not_merge, which only the file changes.
	PinConfig = "config"
)

// PinRequest is the body of POST /api/v1/map/pins.
type PinRequest struct {
	// Service is the service the pin applies to; empty applies to every
	// service.
	Service string `json:"service,omitempty"`
	// Kind is PinTemplate or PinLiteral.
	Kind string `json:"kind"`
	// Path is the template, with {name} parameters, or the literal path.
	Path string `json:"path"`
	Note string `json:"note,omitempty"`
}

// MapPin is one correction of the API map's templating.
type MapPin struct {
	// ID names a stored pin; it is 0 for one of the configuration file.
	ID        int64     `json:"id,omitempty"`
	Service   string    `json:"service"`
	Kind      string    `json:"kind"`
	Path      string    `json:"path"`
	Note      string    `json:"note,omitempty"`
	CreatedBy string    `json:"created_by,omitempty"`
	CreatedAt time.Time `json:"created_at,omitzero"`
	// Source is PinStored or PinConfig.
	Source string `json:"source"`
}

// PinList answers GET /api/v1/map/pins.
type PinList struct {
	Pins []MapPin `json:"pins"`
}

// routeMapPins registers the pin routes: reading for viewers, changes for
// analysts.
func (s *Server) routeMapPins(b PinsBackend) {
	h := &pinHandlers{b: b, log: s.log}
	s.handle("GET /api/v1/map/pins", auth.RoleViewer, h.list)
	s.handle("POST /api/v1/map/pins", auth.RoleAnalyst, h.add)
	s.handle("DELETE /api/v1/map/pins/{id}", auth.RoleAnalyst, h.delete)
}

type pinHandlers struct {
	b   PinsBackend
	log *slog.Logger
}

func (h *pinHandlers) list(w http.ResponseWriter, r *http.Request) {
	res, err := h.b.MapPins(r.Context())
	reply(w, h.log, res, err)
}

func (h *pinHandlers) add(w http.ResponseWriter, r *http.Request) {
	var req PinRequest
	if err := decodeJSON(w, r, &req); err != nil {
		writeError(w, h.log, err)
		return
	}
	res, err := h.b.AddMapPin(r.Context(), req)
	if err != nil {
		writeError(w, h.log, err)
		return
	}
	writeJSON(w, http.StatusCreated, res)
}

func (h *pinHandlers) delete(w http.ResponseWriter, r *http.Request) {
	id, err := ParsePinID(r.PathValue("id"))
	if err != nil {
		writeError(w, h.log, err)
		return
	}
	reply(w, h.log, nil, h.b.DeleteMapPin(r.Context(), id))
}

// ParsePinID reads the id of a stored pin.
func ParsePinID(s string) (int64, error) {
	id, err := strconv.ParseInt(s, 10, 64)
	if err != nil || id <= 0 {
		return 0, fmt.Errorf("%w: pin id %q: want a positive number", ErrBadRequest, s)
	}
	return id, nil
}
