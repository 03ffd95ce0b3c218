package exclude

import (
	"fmt"
	"strings"

	"github.com/tracehound/tracehound/alert"
	"github.com/tracehound/tracehound/auth"
)

// ApplicationAttribute is the resource attribute that names the
// application a span came from (set at ingest from the application's key).
const ApplicationAttribute = "tracehound.application"

// CheckApplications reports the first name that cannot be an application
// (auth.ValidName): only such names are written into SQL, quoted.
func CheckApplications(apps []string) error {
	for _, a := range apps {
		if !auth.ValidName(a) {
			return invalidf("application %q: want 1-64 letters, digits, '.', '_', '-' or '@'", a)
		}
	}
	return nil
}

// applicationList is the SQL list of the names: ('shop', 'billing').
func applicationList(apps []string) (string, error) {
	if err := CheckApplications(apps); err != nil {
		return "", err
	}
	quoted := make([]string, len(apps))
	for i, a := range apps {
		quoted[i] = "'" + a + "'"
	}
	return "(" + strings.Join(quoted, ", ") + ")", nil
}

const applicationExpr = "coalesce(resource_attributes['" + ApplicationAttribute + "'], '')"

// InApplications matches the spans of the applications (none: no
// predicate). The names are checked and written as literals, so the
// predicate has no arguments and can filter queries that hold their own
// placeholders (see Keep).
func InApplications(apps []string) (Predicate, error) {
	if len(apps) == 0 {
		return Predicate{}, nil
	}
	list, err := applicationList(apps)
	if err != nil {
		return Predicate{}, err
	}
	return Predicate{SQL: applicationExpr + " IN " + list}, nil
}

// outsideApplications matches the spans of every other application, and
// those of none.
func outsideApplications(apps []string) (Predicate, error) {
	if len(apps) == 0 {
		return Predicate{}, nil
	}
	list, err := applicationList(apps)
	if err != nil {
		return Predicate{}, err
	}
	return Predicate{SQL: applicationExpr + " NOT IN " + list}, nil
}

// ForRule is what rule r must not read: the spans p matches (exclusions)
// and, for a rule scoped to applications, every other application's.
func ForRule(r *alert.Rule, p Predicate) (Predicate, error) {
	out, err := outsideApplications(r.Applications)
	if err != nil {
		return Predicate{}, fmt.Errorf("rule %s: %w", r.ID, err)
	}
	return Or(p, out), nil
}

// RuleRewriter is the alert.Rewriter that filters what rule reads with p
// and its applications.
func RuleRewriter(p Predicate) alert.Rewriter {
	return func(r *alert.Rule) (string, []any, error) {
		q, err := ForRule(r, p)
		if err != nil {
			return "", nil, err
		}
		return Rewrite(r.SQL, q)
	}
}
