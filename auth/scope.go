package auth

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/tracehound/tracehound/state"
)

// Scopes. A user or token may be scoped to applications: it then sees only
// their data, so that several teams share one tracehound. An empty list
// means every application. Scopes only ever narrow: a token sees at most
// what its user sees, and a scoped principal grants (to the accounts and
// tokens it creates) and manages (accounts and tokens it changes) only
// what lies within its own applications.

// ApplicationLister lists the registered applications; the Service checks
// against it that the applications named in a scope exist.
// state.ApplicationStore is one.
type ApplicationLister interface {
	Applications(ctx context.Context) ([]state.Application, error)
}

// checkApplications cleans a list of application names given by a person
// (blanks dropped, duplicates removed, sorted) and checks that each names
// a registered application. An empty list stays empty: every application.
func (s *Service) checkApplications(ctx context.Context, names []string) ([]string, error) {
	var out []string
	for _, n := range names {
		if n = strings.TrimSpace(n); n != "" {
			out = append(out, n)
		}
	}
	if len(out) == 0 {
		return nil, nil
	}
	slices.Sort(out)
	out = slices.Compact(out)
	if s.apps == nil {
		return nil, fmt.Errorf("%w: this tracehound keeps no applications, so nothing can be scoped to %s", ErrInvalid, strings.Join(out, ", "))
	}
	apps, err := s.apps.Applications(ctx)
	if err != nil {
		return nil, err
	}
	known := make([]string, len(apps))
	for i, a := range apps {
		known[i] = a.Name
	}
	var unknown []string
	for _, n := range out {
		if !slices.Contains(known, n) {
			unknown = append(unknown, fmt.Sprintf("%q", n))
		}
	}
	switch {
	case len(unknown) == 0:
		return out, nil
	case len(known) == 0:
		return nil, fmt.Errorf("%w: unknown application %s: no application is registered yet (register one with 'tracehound apps create NAME')",
			ErrInvalid, strings.Join(unknown, ", "))
	}
	slices.Sort(known)
	return nil, fmt.Errorf("%w: unknown application %s; the applications are %s", ErrInvalid, strings.Join(unknown, ", "), strings.Join(known, ", "))
}

// within reports whether a principal scoped to scope may see everything
// an account or token scoped to apps sees: always for an unscoped
// principal, never for an unscoped apps under a scoped principal.
func within(apps, scope []string) bool {
	if len(scope) == 0 {
		return true
	}
	if len(apps) == 0 {
		return false
	}
	for _, a := range apps {
		if !slices.Contains(scope, a) {
			return false
		}
	}
	return true
}

// outside returns the applications of apps that scope does not hold.
func outside(apps, scope []string) []string {
	var out []string
	for _, a := range apps {
		if !slices.Contains(scope, a) {
			out = append(out, a)
		}
	}
	return out
}

// narrow returns what a token scoped to tok sees when its user is scoped
// to user: the applications in both, or either when the other is
// unscoped. ok is false when both are scoped and share nothing — the
// token sees nothing, which an empty list cannot say.
func narrow(tok, user []string) (apps []string, ok bool) {
	switch {
	case len(tok) == 0:
		return user, true
	case len(user) == 0:
		return tok, true
	}
	for _, a := range tok {
		if slices.Contains(user, a) {
			apps = append(apps, a)
		}
	}
	return apps, len(apps) > 0
}

// tokenScope is what a stored token is scoped to: its applications, or
// for an application's ingest key that application.
func tokenScope(t state.Token) []string {
	if t.Application != "" {
		return []string{t.Application}
	}
	return t.Applications
}

// grantApplications returns the applications an account or token that p
// creates is scoped to: the ones asked for (already checked), which a
// scoped principal may only choose among its own, or, when none are
// asked for, p's own (every application for an unscoped p). what names
// the new account or token in errors.
func grantApplications(p Principal, asked []string, what string) ([]string, error) {
	if !p.Scoped() {
		return asked, nil
	}
	if len(asked) == 0 {
		return slices.Clone(p.Applications), nil
	}
	if extra := outside(asked, p.Applications); len(extra) > 0 {
		return nil, fmt.Errorf("%w: %s can only narrow the applications %s sees (%s), never widen them: %s %s not among them",
			ErrForbidden, what, scopeHolder(p), strings.Join(p.Applications, ", "), strings.Join(extra, ", "), isAre(len(extra)))
	}
	return asked, nil
}

// scopeHolder names whose applications bound what p grants.
func scopeHolder(p Principal) string {
	if p.User != "" {
		return p.User
	}
	return p.Actor()
}

func isAre(n int) string {
	if n == 1 {
		return "is"
	}
	return "are"
}

// mayManage refuses a scoped principal a change to an account or token
// that sees applications outside the principal's own (or every
// application): a team's admin manages its own team's accounts and tokens,
// and no other team's.
func mayManage(p Principal, apps []string, what string) error {
	if within(apps, p.Applications) {
		return nil
	}
	seen := "every application"
	if len(apps) > 0 {
		seen = "applications outside yours (" + strings.Join(outside(apps, p.Applications), ", ") + ")"
	}
	return fmt.Errorf("%w: %s sees %s; only an admin who sees them may change it", ErrForbidden, what, seen)
}
