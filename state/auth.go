package state

import (
	"context"
	"errors"
	"time"
)

// ErrExists: a record with that name or id already exists.
var ErrExists = errors.New("already exists")

// User is a local account.
type User struct {
	Name string
	// PasswordHash is a PHC-format hash (argon2id); the store never sees
	// the password.
	PasswordHash string
	Role         string
	CreatedAt    time.Time
	UpdatedAt    time.Time
	// MustChangePassword is set on accounts whose password was generated
	// (the first admin) until its owner sets one.
	MustChangePassword bool
	// Applications are the applications whose data the user may see;
	// empty (nil when read back) means every application. Stores keep the
	// names as given, in order.
	Applications []string
}

// Token is an API token. Only a hash of its secret is stored.
type Token struct {
	// ID is public (shown in lists and the audit log); the secret is not.
	ID   string
	Name string
	// Hash is the SHA-256 of the secret, hex.
	Hash string
	Role string
	// User is the account the token acts for; empty for a service token.
	User string
	// Application is the application whose ingest key this is: spans sent
	// with it are tagged with the application's name. Empty otherwise.
	Application string
	// Applications are the applications whose data the token may see;
	// empty (nil when read back) means every application its user (or,
	// for a service token, tracehound) allows. Stores keep the names as
	// given, in order.
	Applications []string
	CreatedAt    time.Time
	ExpiresAt    time.Time // zero: never
	LastUsedAt   time.Time // zero: never used
}

// Session is a signed-in browser session. Only a hash of its id is stored.
type Session struct {
	Hash      string
	User      string
	CSRF      string
	CreatedAt time.Time
	ExpiresAt time.Time
}

// AuditEntry records one change of state: who did what to which object,
// with the object before and after (JSON, empty when there is none).
type AuditEntry struct {
	ID     int64
	At     time.Time
	Actor  string // "user:alice", "token:tok_…", "system"
	Action string // e.g. "user.create", "ip.block", "alert.status"
	Target string
	Before []byte
	After  []byte
}

// AuditFilter selects audit entries; the zero filter selects all.
type AuditFilter struct {
	Actor  string
	Action string // an exact action, or a prefix ending in "." (e.g. "ip.")
	Target string
	Since  time.Time
	Until  time.Time
	// BeforeID pages backwards: entries with a smaller id.
	BeforeID int64
	// Limit caps the entries returned; 0 means 100.
	Limit int
}

// AuthStore keeps users, API tokens, browser sessions and the audit log.
type AuthStore interface {
	// CreateUser adds u, or returns ErrExists.
	CreateUser(ctx context.Context, u User) error
	// UpdateUser replaces the user's hash, role, flags and applications,
	// or returns ErrNotFound.
	UpdateUser(ctx context.Context, u User) error
	// User returns one user, or ErrNotFound.
	User(ctx context.Context, name string) (User, error)
	// Users lists the users by name; empty (not nil) when there is none.
	Users(ctx context.Context) ([]User, error)
	// DeleteUser removes the user with their tokens and sessions, or
	// returns ErrNotFound.
	DeleteUser(ctx context.Context, name string) error

	// CreateToken adds t, or returns ErrExists.
	CreateToken(ctx context.Context, t Token) error
	// TokenByHash returns the token whose secret hashes to hash, or
	// ErrNotFound.
	TokenByHash(ctx context.Context, hash string) (Token, error)
	// Tokens lists the tokens by creation time; empty (not nil) when none.
	Tokens(ctx context.Context) ([]Token, error)
	// DeleteToken removes a token by id, or returns ErrNotFound.
	DeleteToken(ctx context.Context, id string) error
	// TouchToken records that the token was used at t.
	TouchToken(ctx context.Context, id string, t time.Time) error

	// CreateSession adds s.
	CreateSession(ctx context.Context, s Session) error
	// SessionByHash returns a session, or ErrNotFound.
	SessionByHash(ctx context.Context, hash string) (Session, error)
	// DeleteSession removes a session; removing a missing one is not an error.
	DeleteSession(ctx context.Context, hash string) error
	// DeleteExpiredSessions removes the sessions that expired before t.
	DeleteExpiredSessions(ctx context.Context, t time.Time) (int64, error)

	// AddAudit appends an entry and returns its id, which grows.
	AddAudit(ctx context.Context, e AuditEntry) (int64, error)
	// Audit returns the entries that pass the filter, newest first.
	Audit(ctx context.Context, f AuditFilter) ([]AuditEntry, error)
}
