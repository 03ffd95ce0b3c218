package state

import (
	"context"
	"time"
)

// Application is an instrumented application that sends spans with its
// own ingest key.
type Application struct {
	Name        string    `json:"name"`
	Environment string    `json:"environment"`
	Team        string    `json:"team"`
	Description string    `json:"description,omitempty"`
	CreatedAt   time.Time `json:"created_at"`
	CreatedBy   string    `json:"created_by"`
}

// ApplicationStore keeps the applications.
type ApplicationStore interface {
	// CreateApplication adds a, or returns ErrExists.
	CreateApplication(ctx context.Context, a Application) error
	// Applications lists the applications by name.
	Applications(ctx context.Context) ([]Application, error)
	// Application returns one application, or ErrNotFound.
	Application(ctx context.Context, name string) (Application, error)
	// DeleteApplication removes an application and revokes its ingest
	// keys, or returns ErrNotFound.
	DeleteApplication(ctx context.Context, name string) error
}
