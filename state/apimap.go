package state

import (
	"context"
	"time"
)

// MapStore keeps the API map's state: the OpenAPI specs registered per
// service, the pins users set to correct the templating, the endpoint inventory snapshots, what every snapshot has ever
// seen (so that "new since" questions are cheap), the review of each
// endpoint with its history, and the events that the alerting pipeline
// consumes.
//
// Times are the caller's: the store never reads the clock. It keeps them
// in UTC with nanosecond precision.
type MapStore interface {
	// PutAPISpec registers spec for its service, replacing the service's
	// previous spec.
	PutAPISpec(ctx context.Context, spec APISpec) error
	// APISpec returns the spec registered for service, or ErrNotFound.
	APISpec(ctx context.Context, service string) (APISpec, error)
	// APISpecs returns every registered spec, ordered by service; empty
	// (not nil) when there is none.
	APISpecs(ctx context.Context) ([]APISpec, error)

	// AddMapPin stores a user's correction of the map's templating and
	// returns its id, which grows with every pin. It ignores p.ID. It
	// returns ErrExists when a pin of the same service, kind and path
	// (compared byte for byte) is stored. The store checks neither the
	// kind nor the path: the caller does.
	AddMapPin(ctx context.Context, p MapPin) (int64, error)
	// MapPins returns every pin, ordered by id; empty (not nil) when there
	// is none.
	MapPins(ctx context.Context) ([]MapPin, error)
	// DeleteMapPin removes a pin and returns it, or returns ErrNotFound.
	DeleteMapPin(ctx context.Context, id int64) (MapPin, error)

	// AddMapSnapshot stores snap with its endpoints and events, and folds
	// the endpoints that had traffic into the known endpoints, all in one
	// transaction. It ignores snap.ID, snap.EndpointCount and
	// snap.NewEndpoints, and returns the snapshot's ID, which grows with
	// every snapshot. Endpoint ids must be unique within snap.
	AddMapSnapshot(ctx context.Context, snap MapSnapshot, events []Event) (int64, error)
	// MapSnapshots returns the latest snapshots, newest first, at most
	// limit of them (all when limit <= 0), without their endpoints.
	MapSnapshots(ctx context.Context, limit int) ([]MapSnapshot, error)
	// PruneMapSnapshots deletes the snapshots taken before t, with their
	// endpoints, but never the latest snapshot, and returns how many it
	// deleted. The known endpoints are kept.
	PruneMapSnapshots(ctx context.Context, t time.Time) (int64, error)
	// MapSnapshot returns one snapshot with its endpoints ordered by
	// endpoint id, or ErrNotFound. An id of 0 names the latest snapshot.
	MapSnapshot(ctx context.Context, id int64) (MapSnapshot, error)
	// KnownEndpoints returns the endpoints that some snapshot saw traffic
	// on and that pass the filter, ordered by endpoint id; empty (not nil)
	// when there is none.
	KnownEndpoints(ctx context.Context, f KnownEndpointFilter) ([]KnownEndpoint, error)

	// AddEndpointReview records a review decision. Earlier decisions stay
	// in the history.
	AddEndpointReview(ctx context.Context, r EndpointReview) error
	// EndpointReviews returns the review history of one endpoint, oldest
	// first; empty (not nil) when it was never reviewed.
	EndpointReviews(ctx context.Context, endpointID string) ([]EndpointReview, error)
	// LatestEndpointReviews returns the latest review of every reviewed
	// endpoint, keyed by endpoint id.
	LatestEndpointReviews(ctx context.Context) (map[string]EndpointReview, error)

	// Events returns the events that pass the filter, oldest first.
	Events(ctx context.Context, f EventFilter) ([]Event, error)
	// ConsumeEvent marks an event consumed at the given time. It reports
	// whether this call consumed it: false when the event was already
	// consumed, so that one consumer among several handles each event. It
	// returns ErrNotFound when no event has that id.
	ConsumeEvent(ctx context.Context, id int64, at time.Time) (bool, error)
}

// APISpec is an OpenAPI document registered for a service.
type APISpec struct {
	Service string
	// Name says where the document came from, such as its file name.
	Name string
	// Raw is the document as registered, JSON or YAML.
	Raw          []byte
	RegisteredAt time.Time
}

// Kinds of MapPin.
const (
	// MapPinTemplate pins a template such as /files/{name}: a path it
	// matches gets it before anything else is tried.
	MapPinTemplate = "pin"
	// MapPinLiteral keeps the segments of a literal path such as
	// /reports/daily literal: they are neither classified as parameters
	// nor merged with their siblings (a do-not-merge entry).
	MapPinLiteral = "literal"
)

// MapPin is a correction of the API map's templating that a user made.
type MapPin struct {
	ID int64
	// Service is the service the pin applies to; empty applies to every
	// service.
	Service string
	// Kind is MapPinTemplate or MapPinLiteral.
	Kind string
	// Path is the template of a MapPinTemplate, with {name} parameters,
	// or the literal path of a MapPinLiteral.
	Path      string
	Note      string
	CreatedBy string
	CreatedAt time.Time
}

// MapSnapshot is the endpoint inventory at one point in time.
type MapSnapshot struct {
	ID      int64
	TakenAt time.Time
	// Window is how much traffic, up to TakenAt, the inventory covers; the
	// store keeps it to the second.
	Window time.Duration
	// Endpoints are set by the caller of AddMapSnapshot and by MapSnapshot;
	// MapSnapshots leaves them nil.
	Endpoints []SnapshotEndpoint
	// EndpointCount is the number of endpoints, and NewEndpoints the number
	// of them that no earlier snapshot had seen traffic on. The store sets
	// both.
	EndpointCount int
	NewEndpoints  int
}

// SnapshotEndpoint is one endpoint of a snapshot: the columns the store
// queries, and the endpoint as the API map serialises it.
type SnapshotEndpoint struct {
	EndpointID string
	Service    string
	Method     string
	Template   string
	Hits       int64
	// FirstSeen and LastSeen bound the endpoint's traffic; both are zero
	// for an endpoint without traffic (a documented operation nobody calls).
	FirstSeen time.Time
	LastSeen  time.Time
	Shadow    bool
	Sensitive bool
	RiskScore int
	// Data is opaque to the store (JSON, as the API map writes it).
	Data []byte
}

// KnownEndpoint is what the snapshots together know of one endpoint.
type KnownEndpoint struct {
	EndpointID string
	Service    string
	Method     string
	Template   string
	// FirstSeen is the earliest request any snapshot saw, LastSeen the
	// latest.
	FirstSeen time.Time
	LastSeen  time.Time
	// FirstSnapshotID is the snapshot that first saw traffic on the
	// endpoint, LastSnapshotID the latest one.
	FirstSnapshotID int64
	LastSnapshotID  int64
	// ShadowSince and SensitiveSince are the time of the first snapshot
	// that found the endpoint a shadow or sensitive; zero when none did.
	ShadowSince    time.Time
	SensitiveSince time.Time
}

// KnownEndpointFilter selects known endpoints; the zero filter selects all.
type KnownEndpointFilter struct {
	// EndpointID keeps one endpoint.
	EndpointID string
	// FirstSeenSince keeps endpoints whose first request is at or after it.
	FirstSeenSince time.Time
	// FirstSnapshotID keeps endpoints first seen by that snapshot: the
	// endpoints "new since the previous snapshot".
	FirstSnapshotID int64
}

// Review statuses of an endpoint. An endpoint that was never reviewed is
// unreviewed.
const (
	ReviewUnreviewed = "unreviewed"
	ReviewApproved   = "approved"
	ReviewFlagged    = "flagged"
)

// EndpointReview is one review decision on an endpoint.
type EndpointReview struct {
	EndpointID string
	// Status is ReviewUnreviewed, ReviewApproved or ReviewFlagged.
	Status   string
	Reviewer string
	Note     string
	At       time.Time
}

// Event is something that happened for the alerting pipeline to act on,
// such as a new shadow endpoint.
type Event struct {
	ID        int64
	Kind      string
	CreatedAt time.Time
	// Payload is opaque to the store (JSON, as the producer writes it).
	Payload []byte
	// ConsumedAt is zero while the event waits for its consumer.
	ConsumedAt time.Time
}

// EventFilter selects events; the zero filter selects all.
type EventFilter struct {
	// Kind keeps events of that kind.
	Kind string
	// Unconsumed keeps the events not yet consumed.
	Unconsumed bool
	// AfterID keeps events with a larger id, for paging.
	AfterID int64
	// Limit caps the events returned; 0 means no cap.
	Limit int
}
