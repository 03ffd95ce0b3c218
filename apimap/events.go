package apimap

import "time"

// Kinds of the events a snapshot raises, for the alerting pipeline.
const (
	// EventNewShadowEndpoint: a snapshot found a shadow endpoint that no
	// earlier snapshot had found a shadow.
	EventNewShadowEndpoint = "apimap.new_shadow_endpoint"
	// EventNewSensitiveEndpoint: a snapshot found a sensitive endpoint that
	// no earlier snapshot had found sensitive.
	EventNewSensitiveEndpoint = "apimap.new_sensitive_endpoint"
)

// EventPayload is the JSON payload of the API map's events: the endpoint
// as the snapshot saw it.
type EventPayload struct {
	SnapshotTakenAt time.Time `json:"snapshot_taken_at"`
	Endpoint        Endpoint  `json:"endpoint"`
}
