package app

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/getkin/kin-openapi/openapi3"

	"github.com/tracehound/tracehound/api"
	"github.com/tracehound/tracehound/apimap"
	"github.com/tracehound/tracehound/auth"
	"github.com/tracehound/tracehound/config"
	"github.com/tracehound/tracehound/state"
)

var (
	_ api.MapBackend  = (*App)(nil)
	_ api.PinsBackend = (*App)(nil)
)

// mapState is the API map's share of the App. Its zero value is ready.
type mapState struct {
	// snapshotMu serialises snapshots, so that two of them never raise the
	// same event.
	snapshotMu sync.Mutex
	// now is the clock; nil means time.Now.
	now func() time.Time
}

func (a *App) now() time.Time {
	if a.apiMap.now != nil {
		return a.apiMap.now()
	}
	return time.Now()
}

// systemReviewer signs the review entries tracehound makes itself.
const systemReviewer = "tracehound"

// mapView is an inventory with what it was built from.
type mapView struct {
	inv *apimap.Inventory
	// specs are the services with a registered spec, sorted.
	specs []string
	// known are the endpoints earlier snapshots saw, by id.
	known map[string]state.KnownEndpoint
}

// inventory builds the inventory of the window (zero: the configured one)
// with the registered specs, the pins, what earlier snapshots know and
// the reviews.
func (a *App) inventory(ctx context.Context, window time.Duration, service string) (*mapView, error) {
	specs, names, err := a.loadSpecs(ctx)
	if err != nil {
		return nil, err
	}
	pins, err := a.MapPins(ctx)
	if err != nil {
		return nil, err
	}
	var pinned, doNotMerge []apimap.ServicePath
	for _, p := range pins.Pins {
		sp := apimap.ServicePath{Service: p.Service, Path: p.Path}
		if p.Kind == api.PinLiteral {
			doNotMerge = append(doNotMerge, sp)
		} else {
			pinned = append(pinned, sp)
		}
	}
	known, err := a.state.KnownEndpoints(ctx, state.KnownEndpointFilter{})
	if err != nil {
		return nil, err
	}
	v := &mapView{specs: names, known: make(map[string]state.KnownEndpoint, len(known))}
	firstSeen := make(map[string]time.Time, len(known))
	for _, k := range known {
		v.known[k.EndpointID] = k
		firstSeen[k.EndpointID] = k.FirstSeen
	}
	v.inv, err = apimap.Build(ctx, a.store, apimap.BuildOptions{
		Now:            a.now(),
		Window:         cmp.Or(window, time.Duration(a.cfg.APIMap.Window)),
		Service:        service,
		Specs:          specs,
		Pins:           pinned,
		DoNotMerge:     doNotMerge,
		KnownFirstSeen: firstSeen,
	})
	if err != nil {
		return nil, err
	}
	reviews, err := a.state.LatestEndpointReviews(ctx)
	if err != nil {
		return nil, err
	}
	for i := range v.inv.Endpoints {
		v.inv.Endpoints[i].Review = reviewOf(reviews[v.inv.Endpoints[i].ID])
	}
	return v, nil
}

// loadSpecs parses the registered specs; it returns them by service, and
// the services sorted.
func (a *App) loadSpecs(ctx context.Context) (map[string]*apimap.Spec, []string, error) {
	stored, err := a.state.APISpecs(ctx)
	if err != nil {
		return nil, nil, err
	}
	specs := make(map[string]*apimap.Spec, len(stored))
	names := make([]string, 0, len(stored))
	for _, s := range stored {
		spec, err := apimap.LoadSpec(s.Raw)
		if err != nil {
			return nil, nil, fmt.Errorf("registered spec of %s: %w", s.Service, err)
		}
		specs[s.Service] = spec
		names = append(names, s.Service)
	}
	return specs, names, nil
}

// MapPins implements api.PinsBackend.
func (a *App) MapPins(ctx context.Context) (*api.PinList, error) {
	stored, err := a.state.MapPins(ctx)
	if err != nil {
		return nil, err
	}
	res := &api.PinList{Pins: make([]api.MapPin, 0, len(stored)+len(a.cfg.APIMap.Pins)+len(a.cfg.APIMap.DoNotMerge))}
	for _, p := range stored {
		res.Pins = append(res.Pins, pinOf(p))
	}
	for _, c := range []struct {
		kind  string
		paths []config.MapPath
	}{{api.PinTemplate, a.cfg.APIMap.Pins}, {api.PinLiteral, a.cfg.APIMap.DoNotMerge}} {
		for _, p := range c.paths {
			res.Pins = append(res.Pins, api.MapPin{Service: p.Service, Kind: c.kind, Path: p.Path, Source: api.PinConfig})
		}
	}
	return res, nil
}

func pinOf(p state.MapPin) api.MapPin {
	return api.MapPin{ID: p.ID, Service: p.Service, Kind: p.Kind, Path: p.Path, Note: p.Note,
		CreatedBy: p.CreatedBy, CreatedAt: p.CreatedAt, Source: api.PinStored}
}

// AddMapPin implements api.PinsBackend. The pin is checked as the map
// will use it, so that a pin that could never apply is refused now
// rather than break the map later.
func (a *App) AddMapPin(ctx context.Context, req api.PinRequest) (*api.MapPin, error) {
	p := state.MapPin{
		Service: strings.TrimSpace(req.Service), Kind: req.Kind, Path: strings.TrimSpace(req.Path), Note: strings.TrimSpace(req.Note),
		CreatedBy: auth.FromContext(ctx).Actor(), CreatedAt: a.now().UTC(),
	}
	sp := []apimap.ServicePath{{Service: p.Service, Path: p.Path}}
	var err error
	switch p.Kind {
	case api.PinTemplate:
		err = apimap.CheckCorrections(sp, nil)
	case api.PinLiteral:
		err = apimap.CheckCorrections(nil, sp)
	default:
		return nil, fmt.Errorf("%w: pin kind %q: want %s or %s", api.ErrBadRequest, p.Kind, api.PinTemplate, api.PinLiteral)
	}
	if err != nil {
		return nil, fmt.Errorf("%w: %v", api.ErrBadRequest, err)
	}
	p.ID, err = a.state.AddMapPin(ctx, p)
	if errors.Is(err, state.ErrExists) {
		scope := "every service"
		if p.Service != "" {
			scope = "service " + p.Service
		}
		return nil, fmt.Errorf("%s %s for %s: %w", p.Kind, p.Path, scope, state.ErrExists)
	}
	if err != nil {
		return nil, err
	}
	out := pinOf(p)
	if err := a.audit(ctx, "map_pin.create", pinTarget(p.ID), nil, out); err != nil {
		return nil, err
	}
	return &out, nil
}

// DeleteMapPin implements api.PinsBackend.
func (a *App) DeleteMapPin(ctx context.Context, id int64) error {
	p, err := a.state.DeleteMapPin(ctx, id)
	if err != nil {
		return err
	}
	return a.audit(ctx, "map_pin.delete", pinTarget(id), pinOf(p), nil)
}

func pinTarget(id int64) string { return "map_pin:" + strconv.FormatInt(id, 10) }

// reviewOf converts a stored review; the zero review is unreviewed.
func reviewOf(r state.EndpointReview) apimap.Review {
	return apimap.Review{Status: cmp.Or(r.Status, state.ReviewUnreviewed), Reviewer: r.Reviewer, Note: r.Note, At: r.At}
}

// Map implements api.MapBackend.
func (a *App) Map(ctx context.Context, q api.MapQuery) (*api.MapResult, error) {
	start := time.Now()
	v, err := a.inventory(ctx, q.Window, q.Service)
	if err != nil {
		return nil, err
	}
	inv := v.inv
	res := &api.MapResult{
		Service: q.Service, Only: q.Only, Since: inv.Since, Until: inv.Until, Specs: v.specs,
		Unrouted: inv.Unrouted, Endpoints: filterEndpoints(inv.Endpoints, q.Only),
	}
	res.ElapsedMS = float64(time.Since(start).Microseconds()) / 1000
	return res, nil
}

func filterEndpoints(eps []apimap.Endpoint, only apimap.Only) []apimap.Endpoint {
	out := []apimap.Endpoint{}
	for i := range eps {
		if only.Match(&eps[i]) {
			out = append(out, eps[i])
		}
	}
	return out
}

// MapTopology implements api.MapBackend.
func (a *App) MapTopology(ctx context.Context, q api.MapQuery) (*apimap.TopologyNode, error) {
	v, err := a.inventory(ctx, q.Window, q.Service)
	if err != nil {
		return nil, err
	}
	return apimap.Topology(filterEndpoints(v.inv.Endpoints, q.Only)), nil
}

// ObservedOpenAPI implements api.MapBackend.
func (a *App) ObservedOpenAPI(ctx context.Context, q api.MapQuery) (*openapi3.T, error) {
	v, err := a.inventory(ctx, q.Window, q.Service)
	if err != nil {
		return nil, err
	}
	inv := v.inv
	service := q.Service
	if service == "" {
		var seen []string
		for _, e := range inv.Endpoints {
			if e.Hits > 0 && !slices.Contains(seen, e.Service) {
				seen = append(seen, e.Service)
			}
		}
		if service, err = onlyService(seen); err != nil {
			return nil, err
		}
	}
	return apimap.ObservedOpenAPI(inv, service), nil
}

// onlyService returns the one service of a list of services with
// traffic, or says why there is none to pick.
func onlyService(services []string) (string, error) {
	switch len(services) {
	case 1:
		return services[0], nil
	case 0:
		return "", fmt.Errorf("%w: no service has HTTP traffic; name the service", api.ErrBadRequest)
	}
	return "", fmt.Errorf("%w: several services have traffic (%s); name one", api.ErrBadRequest, strings.Join(services, ", "))
}

// TakeSnapshot implements api.MapBackend. It stores the inventory of the
// window, raises an event for every endpoint found a shadow, or sensitive,
// for the first time (see below), and puts such an endpoint back in the
// review queue when it had been approved or flagged while earlier
// snapshots knew it without that flag.
func (a *App) TakeSnapshot(ctx context.Context, window time.Duration) (*api.SnapshotResult, error) {
	a.apiMap.snapshotMu.Lock()
	defer a.apiMap.snapshotMu.Unlock()
	v, err := a.inventory(ctx, window, "")
	if err != nil {
		return nil, err
	}
	inv := v.inv
	snap := state.MapSnapshot{TakenAt: inv.Until, Window: inv.Until.Sub(inv.Since)}
	var events []state.Event
	res := &api.SnapshotResult{New: []api.EndpointRef{}, Events: []api.EventRef{}}
	var requeue []*apimap.Endpoint
	for i := range inv.Endpoints {
		e := &inv.Endpoints[i]
		data, err := json.Marshal(e)
		if err != nil {
			return nil, fmt.Errorf("snapshot endpoint %s: %w", e.ID, err)
		}
		snap.Endpoints = append(snap.Endpoints, state.SnapshotEndpoint{
			EndpointID: e.ID, Service: e.Service, Method: e.Method, Template: e.Template, Hits: e.Hits,
			FirstSeen: e.FirstSeen, LastSeen: e.LastSeen, Shadow: e.Shadow, Sensitive: e.Sensitive(), RiskScore: e.RiskScore, Data: data,
		})
		if e.Hits == 0 {
			continue
		}
		// A shadow raises an event the first time a snapshot finds it
		// one. So does a sensitive endpoint, unless it was there from its
		// service's start: the first snapshot does not report the whole
		// baseline's personal data as news.
		k, seen := v.known[e.ID]
		raised := false
		for _, ev := range []struct {
			kind  string
			raise bool
		}{
			{apimap.EventNewShadowEndpoint, e.Shadow && (!seen || k.ShadowSince.IsZero())},
			{apimap.EventNewSensitiveEndpoint, e.Sensitive() && (seen && k.SensitiveSince.IsZero() || !seen && e.New)},
		} {
			if !ev.raise {
				continue
			}
			payload, err := json.Marshal(apimap.EventPayload{SnapshotTakenAt: inv.Until, Endpoint: *e})
			if err != nil {
				return nil, fmt.Errorf("event for endpoint %s: %w", e.ID, err)
			}
			events = append(events, state.Event{Kind: ev.kind, CreatedAt: inv.Until, Payload: payload})
			res.Events = append(res.Events, api.EventRef{Kind: ev.kind, EndpointID: e.ID})
			raised = true
		}
		// A decision taken while earlier snapshots knew the endpoint
		// without the flag was about something else.
		if raised && seen && e.Review.Status != state.ReviewUnreviewed {
			requeue = append(requeue, e)
		}
	}
	id, err := a.state.AddMapSnapshot(ctx, snap, events)
	if err != nil {
		return nil, err
	}
	for _, e := range requeue {
		note := "became sensitive"
		if e.Shadow {
			note = "became a shadow endpoint"
		}
		if err := a.state.AddEndpointReview(ctx, state.EndpointReview{
			EndpointID: e.ID, Status: state.ReviewUnreviewed, Reviewer: systemReviewer, Note: note, At: inv.Until,
		}); err != nil {
			return nil, err
		}
	}
	fresh, err := a.state.KnownEndpoints(ctx, state.KnownEndpointFilter{FirstSnapshotID: id})
	if err != nil {
		return nil, err
	}
	for _, k := range fresh {
		res.New = append(res.New, api.EndpointRef{ID: k.EndpointID, Service: k.Service, Method: k.Method, Template: k.Template})
	}
	res.Snapshot = api.SnapshotInfo{
		ID: id, TakenAt: snap.TakenAt, WindowSeconds: int64(snap.Window / time.Second),
		Endpoints: len(snap.Endpoints), NewEndpoints: len(fresh),
	}
	return res, nil
}

func snapshotInfo(s state.MapSnapshot) api.SnapshotInfo {
	return api.SnapshotInfo{
		ID: s.ID, TakenAt: s.TakenAt, WindowSeconds: int64(s.Window / time.Second),
		Endpoints: s.EndpointCount, NewEndpoints: s.NewEndpoints,
	}
}

// Snapshots implements api.MapBackend.
func (a *App) Snapshots(ctx context.Context) (*api.SnapshotList, error) {
	snaps, err := a.state.MapSnapshots(ctx, 0)
	if err != nil {
		return nil, err
	}
	res := &api.SnapshotList{Snapshots: make([]api.SnapshotInfo, len(snaps))}
	for i, s := range snaps {
		res.Snapshots[i] = snapshotInfo(s)
	}
	return res, nil
}

// EndpointReview implements api.MapBackend.
func (a *App) EndpointReview(ctx context.Context, id string) (*api.ReviewResult, error) {
	if err := a.checkEndpoint(ctx, id); err != nil {
		return nil, err
	}
	return a.reviewResult(ctx, id)
}

// SetEndpointReview implements api.MapBackend.
func (a *App) SetEndpointReview(ctx context.Context, id string, r api.ReviewRequest) (*api.ReviewResult, error) {
	switch r.Status {
	case state.ReviewApproved, state.ReviewFlagged, state.ReviewUnreviewed:
	default:
		return nil, fmt.Errorf("%w: review status %q: want approved, flagged or unreviewed", api.ErrBadRequest, r.Status)
	}
	if err := a.checkEndpoint(ctx, id); err != nil {
		return nil, err
	}
	err := a.state.AddEndpointReview(ctx, state.EndpointReview{
		EndpointID: id, Status: r.Status, Reviewer: cmp.Or(r.Reviewer, "anonymous"), Note: r.Note, At: a.now(),
	})
	if err != nil {
		return nil, err
	}
	return a.reviewResult(ctx, id)
}

func (a *App) reviewResult(ctx context.Context, id string) (*api.ReviewResult, error) {
	history, err := a.state.EndpointReviews(ctx, id)
	if err != nil {
		return nil, err
	}
	res := &api.ReviewResult{EndpointID: id, Review: reviewOf(state.EndpointReview{}), History: make([]apimap.Review, len(history))}
	for i, r := range history {
		res.History[i] = reviewOf(r)
	}
	if len(history) > 0 {
		res.Review = res.History[len(history)-1]
	}
	return res, nil
}

// checkEndpoint returns a not-found error unless the endpoint is on the
// map: known to a snapshot, or in the inventory of every stored span
// (which has the unused documented operations too).
func (a *App) checkEndpoint(ctx context.Context, id string) error {
	known, err := a.state.KnownEndpoints(ctx, state.KnownEndpointFilter{EndpointID: id})
	if err != nil {
		return err
	}
	if len(known) > 0 {
		return nil
	}
	st, err := a.store.Stats(ctx)
	if err != nil {
		return err
	}
	window := time.Duration(a.cfg.APIMap.Window)
	if st.Spans > 0 {
		window = max(window, a.now().Sub(st.Oldest)+time.Second)
	}
	v, err := a.inventory(ctx, window, "")
	if err != nil {
		return err
	}
	if slices.ContainsFunc(v.inv.Endpoints, func(e apimap.Endpoint) bool { return e.ID == id }) {
		return nil
	}
	return fmt.Errorf("endpoint %q is not on the API map: %w", id, state.ErrNotFound)
}

// Specs implements api.MapBackend.
func (a *App) Specs(ctx context.Context) (*api.SpecList, error) {
	stored, err := a.state.APISpecs(ctx)
	if err != nil {
		return nil, err
	}
	res := &api.SpecList{Specs: make([]api.SpecInfo, 0, len(stored))}
	for _, s := range stored {
		spec, err := apimap.LoadSpec(s.Raw)
		if err != nil {
			return nil, fmt.Errorf("registered spec of %s: %w", s.Service, err)
		}
		res.Specs = append(res.Specs, specInfo(s, spec))
	}
	return res, nil
}

func specInfo(s state.APISpec, spec *apimap.Spec) api.SpecInfo {
	return api.SpecInfo{
		Service: s.Service, Name: s.Name, Title: spec.Title, Version: spec.Version,
		Operations: len(spec.Operations()), Bytes: len(s.Raw), RegisteredAt: s.RegisteredAt,
	}
}

// RegisterSpec implements api.MapBackend.
func (a *App) RegisterSpec(ctx context.Context, u api.SpecUpload) (*api.SpecInfo, error) {
	spec, err := apimap.LoadSpec(u.Raw)
	if err != nil {
		return nil, err
	}
	service := u.Service
	if service == "" {
		services, err := apimap.Services(ctx, a.store)
		if err != nil {
			return nil, err
		}
		if service, err = onlyService(services); err != nil {
			return nil, fmt.Errorf("which service does the spec describe? %w", err)
		}
	}
	stored := state.APISpec{Service: service, Name: cmp.Or(u.Name, spec.Title), Raw: u.Raw, RegisteredAt: a.now()}
	if err := a.state.PutAPISpec(ctx, stored); err != nil {
		return nil, err
	}
	info := specInfo(stored, spec)
	return &info, nil
}

// runSnapshots snapshots the inventory every apimap.snapshot_interval until
// ctx ends. The first snapshot is due one interval after the latest stored
// one, so restarts do not crowd snapshots; with none stored it is taken at
// once.
func (a *App) runSnapshots(ctx context.Context) {
	interval := time.Duration(a.cfg.APIMap.SnapshotInterval)
	if interval <= 0 {
		return
	}
	log := a.log.With("component", "apimap")
	var last time.Time
	latest, err := a.state.MapSnapshot(ctx, 0)
	switch {
	case err == nil:
		last = latest.TakenAt
	case !errors.Is(err, state.ErrNotFound):
		log.Error("read the latest snapshot", "err", err)
	}
	every(ctx, interval, last, a.now, func(ctx context.Context) {
		now := a.now()
		res, err := a.TakeSnapshot(ctx, incrementalWindow(last, now, interval, time.Duration(a.cfg.APIMap.Window)))
		if err != nil {
			if ctx.Err() == nil {
				log.Error("snapshot the API map", "err", err)
			}
			return
		}
		last = res.Snapshot.TakenAt
		log.Info("snapshot of the API map", "id", res.Snapshot.ID, "window", time.Duration(res.Snapshot.WindowSeconds)*time.Second,
			"endpoints", res.Snapshot.Endpoints, "new", res.Snapshot.NewEndpoints, "events", len(res.Events),
			"elapsed", a.now().Sub(now).Round(time.Millisecond))
		if keep := time.Duration(a.cfg.APIMap.SnapshotRetention); keep > 0 {
			n, err := a.state.PruneMapSnapshots(ctx, now.Add(-keep))
			if err != nil {
				log.Error("prune old snapshots", "err", err)
			} else if n > 0 {
				log.Info("pruned old snapshots", "deleted", n, "retention", keep)
			}
		}
	})
}

// incrementalWindow is the traffic a scheduled snapshot covers: what came
// since the previous snapshot, with a margin for spans that arrived late,
// so an hourly snapshot of a busy service reads one hour, not the whole
// map window. What earlier snapshots saw lives on in the known endpoints.
// The first snapshot, or one after a long pause, covers the map window.
func incrementalWindow(last, now time.Time, interval, full time.Duration) time.Duration {
	if last.IsZero() {
		return full
	}
	margin := max(interval/4, 5*time.Minute)
	return min(max(now.Sub(last), interval)+margin, full)
}

// every runs job at last+interval (at once when that is past), then each
// interval after the previous run started, until ctx ends. A run that
// takes longer than the interval is followed by the next at once.
func every(ctx context.Context, interval time.Duration, last time.Time, now func() time.Time, job func(context.Context)) {
	wait := last.Add(interval).Sub(now())
	for {
		timer := time.NewTimer(max(wait, 0))
		select {
		case <-ctx.Done():
			timer.Stop()
			return
		case <-timer.C:
		}
		if ctx.Err() != nil { // both were ready, and select chose the timer
			return
		}
		start := now()
		job(ctx)
		wait = start.Add(interval).Sub(now())
	}
}
