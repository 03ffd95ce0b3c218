// Package auth is tracehound's access control: local users with argon2id
// password hashes, API tokens, browser sessions with CSRF protection, and
// the roles every API route requires (viewer < analyst < admin). It also
// carries the acting principal through a request's context, so that every
// state change can be audited with who made it.
package auth

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"slices"
	"strings"

	"golang.org/x/crypto/argon2"
)

// Role is what a principal may do. Each role includes the ones below it.
type Role string

// Roles, least to most privileged, and the scoped ones.
const (
	// RoleNone is no access at all; routes that need no authentication
	// (health, login) declare it.
	RoleNone Role = ""
	// RoleViewer reads: the map, alerts, traces, SQL, reports.
	RoleViewer Role = "viewer"
	// RoleAnalyst also triages, investigates, blocks and edits rules.
	RoleAnalyst Role = "analyst"
	// RoleAdmin also manages users, tokens, bouncers and settings.
	RoleAdmin Role = "admin"
	// RoleIngest may only send spans (OTLP); it reads nothing.
	RoleIngest Role = "ingest"
)

// rank orders the hierarchical roles; scoped roles rank below viewer.
func (r Role) rank() int {
	switch r {
	case RoleViewer:
		return 1
	case RoleAnalyst:
		return 2
	case RoleAdmin:
		return 3
	}
	return 0
}

// Allows reports whether a principal with role r may use a route that
// requires role need.
func (r Role) Allows(need Role) bool {
	switch need {
	case RoleNone:
		return true
	case RoleIngest:
		return r == RoleIngest || r == RoleAdmin
	}
	return need.rank() > 0 && r.rank() >= need.rank()
}

// ParseRole validates a role name given by a person.
func ParseRole(s string) (Role, error) {
	switch r := Role(strings.ToLower(strings.TrimSpace(s))); r {
	case RoleViewer, RoleAnalyst, RoleAdmin, RoleIngest:
		return r, nil
	}
	return "", fmt.Errorf("unknown role %q (want viewer, analyst, admin or ingest)", s)
}

// Errors of authentication and authorisation; the API maps them to 401 and 403.
var (
	// ErrUnauthenticated: no valid credential came with the request.
	ErrUnauthenticated = errors.New("authentication required")
	// ErrForbidden: the credential is valid but its role is too low.
	ErrForbidden = errors.New("forbidden")
	// ErrInvalid: a user, role or password given to an operation is not
	// acceptable (the message says why).
	ErrInvalid = errors.New("invalid")
)

// Principal is who is acting.
type Principal struct {
	// Kind is "user", "token", "local" (the CLI on the data directory) or
	// "system" (the server itself: schedules, automatic responses).
	Kind string `json:"kind"`
	// Name is the user name, or the token's name.
	Name string `json:"name"`
	Role Role   `json:"role"`
	// TokenID is set for tokens.
	TokenID string `json:"token_id,omitempty"`
	// User is the account a token acts for, or the session's user.
	User string `json:"user,omitempty"`
	// Application is set for an application's ingest key.
	Application string `json:"application,omitempty"`
	// Applications are the applications whose data the principal may
	// see, sorted; empty means every application (see Scoped).
	Applications []string `json:"applications,omitempty"`
	// Session is set when the credential is a browser session cookie, so
	// unsafe methods must carry the CSRF token.
	Session bool   `json:"-"`
	CSRF    string `json:"-"`
}

// Actor names the principal in the audit log: "user:alice",
// "token:tok_…", "local", "system".
func (p Principal) Actor() string {
	switch p.Kind {
	case "user":
		return "user:" + p.Name
	case "token":
		return "token:" + p.TokenID
	case "":
		return "unknown"
	}
	return p.Kind
}

// Scoped reports whether the principal sees only some applications' data
// (the ones in Applications) rather than all of it.
func (p Principal) Scoped() bool { return len(p.Applications) > 0 }

// SeesApplication reports whether the principal may see the data of the
// named application: always when it is unscoped, otherwise when the
// application is one of its Applications.
func (p Principal) SeesApplication(name string) bool {
	return !p.Scoped() || slices.Contains(p.Applications, name)
}

// Local is the principal of the CLI working on the data directory
// directly: whoever can read the files has every right already, so it is
// unscoped.
var Local = Principal{Kind: "local", Name: "local", Role: RoleAdmin}

// System is the principal of the server's own actions; it is unscoped.
var System = Principal{Kind: "system", Name: "system", Role: RoleAdmin}

type ctxKey struct{}

// WithPrincipal returns ctx carrying p.
func WithPrincipal(ctx context.Context, p Principal) context.Context {
	return context.WithValue(ctx, ctxKey{}, p)
}

// FromContext returns the principal ctx carries, or Local when none: code
// paths without a request (the CLI on a data directory) act locally.
func FromContext(ctx context.Context) Principal {
	if p, ok := ctx.Value(ctxKey{}).(Principal); ok {
		return p
	}
	return Local
}

// Password hashing: argon2id with the parameters OWASP recommends as a
// minimum (19 MiB, 2 passes, 1 lane), in the PHC string format.
const (
	argonTime    = 2
	argonMemory  = 19 * 1024
	argonThreads = 1
	argonKeyLen  = 32
	// MinPasswordLength is the shortest password a user may set.
	MinPasswordLength = 12
	// maxPasswordLength bounds the work one login attempt can cause.
	maxPasswordLength = 1024
)

// HashPassword returns the PHC-format argon2id hash of password.
func HashPassword(password string) (string, error) {
	if len(password) > maxPasswordLength {
		return "", fmt.Errorf("%w: the password is longer than %d bytes", ErrInvalid, maxPasswordLength)
	}
	salt := make([]byte, 16)
	rand.Read(salt)
	key := argon2.IDKey([]byte(password), salt, argonTime, argonMemory, argonThreads, argonKeyLen)
	b64 := base64.RawStdEncoding
	return fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s", argon2.Version, argonMemory, argonTime, argonThreads,
		b64.EncodeToString(salt), b64.EncodeToString(key)), nil
}

// CheckPassword reports whether password matches hash. A malformed hash
// is an error, not a mismatch.
func CheckPassword(hash, password string) (bool, error) {
	if len(password) > maxPasswordLength {
		return false, nil
	}
	parts := strings.Split(hash, "$")
	if len(parts) != 6 || parts[1] != "argon2id" {
		return false, errors.New("password hash: not an argon2id PHC string")
	}
	var version int
	if _, err := fmt.Sscanf(parts[2], "v=%d", &version); err != nil || version != argon2.Version {
		return false, fmt.Errorf("password hash: unsupported version %q", parts[2])
	}
	var mem uint32
	var t uint32
	var p uint8
	if _, err := fmt.Sscanf(parts[3], "m=%d,t=%d,p=%d", &mem, &t, &p); err != nil || mem == 0 || t == 0 || p == 0 || mem > 1<<22 || t > 100 {
		return false, fmt.Errorf("password hash: bad parameters %q", parts[3])
	}
	b64 := base64.RawStdEncoding
	salt, err := b64.DecodeString(parts[4])
	if err != nil {
		return false, errors.New("password hash: bad salt")
	}
	want, err := b64.DecodeString(parts[5])
	if err != nil || len(want) == 0 || len(want) > 128 {
		return false, errors.New("password hash: bad key")
	}
	got := argon2.IDKey([]byte(password), salt, t, mem, p, uint32(len(want)))
	return subtle.ConstantTimeCompare(got, want) == 1, nil
}

// CheckPasswordPolicy returns why password is not acceptable, or nil.
func CheckPasswordPolicy(password string) error {
	if len(password) < MinPasswordLength {
		return fmt.Errorf("%w: a password needs at least %d characters", ErrInvalid, MinPasswordLength)
	}
	if len(password) > maxPasswordLength {
		return fmt.Errorf("%w: the password is longer than %d bytes", ErrInvalid, maxPasswordLength)
	}
	return nil
}

// NewSecret returns a random secret with a recognisable prefix
// ("th_" for API tokens), 256 bits of entropy, URL-safe.
func NewSecret(prefix string) string {
	b := make([]byte, 32)
	rand.Read(b)
	return prefix + base64.RawURLEncoding.EncodeToString(b)
}

// NewPassword returns a random password for a generated account.
func NewPassword() string {
	b := make([]byte, 15)
	rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}

// HashSecret is how tokens and session ids are stored: their secrets are
// random, so one SHA-256 suffices and lookups stay cheap.
func HashSecret(secret string) string {
	sum := sha256.Sum256([]byte(secret))
	return hex.EncodeToString(sum[:])
}

// ValidName reports whether s can name a user or token: 1–64 letters,
// digits, '.', '_', '-' or '@'.
func ValidName(s string) bool {
	if len(s) == 0 || len(s) > 64 {
		return false
	}
	for _, c := range s {
		ok := c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '.' || c == '_' || c == '-' || c == '@'
		if !ok {
			return false
		}
	}
	return true
}
