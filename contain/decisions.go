package contain

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"
	"unicode"

	"github.com/tracehound/tracehound/state"
)

// streamOverlap re-sends what changed just before a bouncer's last pull,
// as CrowdSec's LAPI does, so that nothing committed during a pull is
// missed.
const streamOverlap = 2 * time.Second

// HashBouncerKey is how bouncer keys are stored: hex SHA-256. Keys are 256
// random bits, so a fast hash is enough.
func HashBouncerKey(key string) string {
	sum := sha256.Sum256([]byte(key))
	return hex.EncodeToString(sum[:])
}

// AddBouncer registers a bouncer and returns its API key, which is shown
// once and never stored. The key grants the decisions API and nothing
// else.
func (c *Containment) AddBouncer(ctx context.Context, name string) (string, error) {
	name = strings.TrimSpace(name)
	if name == "" || len(name) > 64 || strings.IndexFunc(name, func(r rune) bool { return !unicode.IsPrint(r) }) >= 0 {
		return "", fmt.Errorf("%w: bouncer name must be 1–64 printable characters", ErrInvalid)
	}
	raw := make([]byte, 32)
	rand.Read(raw)
	key := hex.EncodeToString(raw)
	if _, err := c.store.AddBouncer(ctx, state.Bouncer{Name: name, KeyHash: HashBouncerKey(key), CreatedAt: c.now()}); err != nil {
		return "", err
	}
	return key, nil
}

// Bouncers lists the registered bouncers with their last pull.
func (c *Containment) Bouncers(ctx context.Context) ([]state.Bouncer, error) {
	return c.store.Bouncers(ctx)
}

// DeleteBouncer removes a bouncer; its key stops working at once.
func (c *Containment) DeleteBouncer(ctx context.Context, name string) error {
	return c.store.DeleteBouncer(ctx, name)
}

// LAPI decision scopes.
const (
	ScopeIP    = "Ip"
	ScopeRange = "Range"
)

// origin is the origin of every decision tracehound serves.
const origin = "tracehound"

// LAPIDecision is a decision as CrowdSec's LAPI serialises it.
type LAPIDecision struct {
	ID       int64  `json:"id"`
	Origin   string `json:"origin"`
	Type     string `json:"type"`
	Scope    string `json:"scope"`
	Value    string `json:"value"`
	Duration string `json:"duration"`
	Scenario string `json:"scenario"`
	// Simulated is always false: shadow blocks never become decisions.
	Simulated bool `json:"simulated"`
}

// LAPIStream is the body of GET /v1/decisions/stream.
type LAPIStream struct {
	New     []LAPIDecision `json:"new"`
	Deleted []LAPIDecision `json:"deleted"`
}

// toLAPI converts a stored decision; the value is the canonical form, a
// bare address for the Ip scope, a CIDR for Range.
func toLAPI(d state.Decision, now time.Time) LAPIDecision {
	scope := ScopeIP
	if strings.Contains(d.Value, "/") {
		scope = ScopeRange
	}
	left := permanentDuration
	if !d.Until.IsZero() {
		left = d.Until.Sub(now)
	}
	return LAPIDecision{ID: d.ID, Origin: origin, Type: "ban", Scope: scope, Value: d.Value,
		Duration: left.Truncate(time.Second).String(), Scenario: d.Scenario}
}

// DecisionsHandler serves the CrowdSec LAPI routes that bouncers use:
//
//	GET /v1/decisions/stream?startup=true|false
//	GET /v1/decisions?ip=|range=|scope=&value=
//
// Bouncers authenticate with X-Api-Key. The stream sends a bouncer every
// active decision on startup (or on its first pull), then what changed
// since its last successful pull; it honours the scopes, origins,
// scenarios_containing and scenarios_not_containing filters.
func (c *Containment) DecisionsHandler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /v1/decisions/stream", c.withBouncer(c.serveStream))
	mux.HandleFunc("GET /v1/decisions", c.withBouncer(c.serveDecisions))
	return mux
}

// lapiError writes an error as LAPI does: {"message": "..."}.
func lapiError(w http.ResponseWriter, status int, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(map[string]string{"message": msg})
}

func (c *Containment) withBouncer(next func(http.ResponseWriter, *http.Request, state.Bouncer)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		key := r.Header.Get("X-Api-Key")
		if key == "" {
			lapiError(w, http.StatusForbidden, "access forbidden")
			return
		}
		b, err := c.store.BouncerByKeyHash(r.Context(), HashBouncerKey(key))
		if errors.Is(err, state.ErrNotFound) {
			lapiError(w, http.StatusForbidden, "access forbidden")
			return
		}
		if err != nil {
			c.log.Error("bouncer lookup", "err", err)
			lapiError(w, http.StatusInternalServerError, "internal error")
			return
		}
		next(w, r, b)
	}
}

// decisionFilter is the LAPI query filter.
type decisionFilter struct {
	scopes              map[string]bool
	originOK            bool
	containing, without []string
}

func parseDecisionFilter(r *http.Request) decisionFilter {
	q := r.URL.Query()
	f := decisionFilter{scopes: map[string]bool{"ip": true, "range": true}, originOK: true}
	if s := q.Get("scopes"); s != "" {
		f.scopes = map[string]bool{}
		for _, sc := range strings.Split(s, ",") {
			f.scopes[strings.ToLower(strings.TrimSpace(sc))] = true
		}
	}
	if o := q.Get("origins"); o != "" {
		f.originOK = false
		for _, or := range strings.Split(o, ",") {
			if strings.EqualFold(strings.TrimSpace(or), origin) {
				f.originOK = true
			}
		}
	}
	split := func(s string) []string {
		var out []string
		for _, p := range strings.Split(s, ",") {
			if p = strings.TrimSpace(p); p != "" {
				out = append(out, p)
			}
		}
		return out
	}
	f.containing = split(q.Get("scenarios_containing"))
	f.without = split(q.Get("scenarios_not_containing"))
	return f
}

func (f decisionFilter) keep(d LAPIDecision) bool {
	if !f.originOK || !f.scopes[strings.ToLower(d.Scope)] {
		return false
	}
	for _, s := range f.without {
		if strings.Contains(d.Scenario, s) {
			return false
		}
	}
	if len(f.containing) == 0 {
		return true
	}
	for _, s := range f.containing {
		if strings.Contains(d.Scenario, s) {
			return true
		}
	}
	return false
}

func (f decisionFilter) apply(ds []state.Decision, now time.Time) []LAPIDecision {
	out := []LAPIDecision{}
	for _, d := range ds {
		if l := toLAPI(d, now); f.keep(l) {
			out = append(out, l)
		}
	}
	return out
}

func (c *Containment) serveStream(w http.ResponseWriter, r *http.Request, b state.Bouncer) {
	ctx := r.Context()
	now := c.now()
	f := parseDecisionFilter(r)
	startup := r.URL.Query().Get("startup") == "true" || b.LastPull.IsZero()
	var body LAPIStream
	if startup {
		active, err := c.store.ActiveDecisions(ctx, now, "")
		if err != nil {
			c.log.Error("decisions stream", "bouncer", b.Name, "err", err)
			lapiError(w, http.StatusInternalServerError, "internal error")
			return
		}
		body = LAPIStream{New: f.apply(active, now), Deleted: []LAPIDecision{}}
	} else {
		created, deleted, err := c.store.DecisionChanges(ctx, b.LastPull.Add(-streamOverlap), now)
		if err != nil {
			c.log.Error("decisions stream", "bouncer", b.Name, "err", err)
			lapiError(w, http.StatusInternalServerError, "internal error")
			return
		}
		body = LAPIStream{New: f.apply(created, now), Deleted: f.apply(deleted, now)}
	}
	w.Header().Set("Content-Type", "application/json")
	if err := json.NewEncoder(w).Encode(body); err != nil {
		return // the bouncer did not get it: its last pull stays
	}
	if err := c.store.SetBouncerPull(ctx, b.ID, now); err != nil {
		c.log.Warn("record bouncer pull", "bouncer", b.Name, "err", err)
	}
}

func (c *Containment) serveDecisions(w http.ResponseWriter, r *http.Request, b state.Bouncer) {
	q := r.URL.Query()
	target := q.Get("ip")
	if target == "" {
		target = q.Get("range")
	}
	if target == "" && q.Get("value") != "" {
		target = q.Get("value")
	}
	containing := ""
	if target != "" {
		p, err := ParsePrefix(target)
		if err != nil {
			lapiError(w, http.StatusBadRequest, strings.TrimPrefix(err.Error(), ErrInvalid.Error()+": "))
			return
		}
		if q.Get("ip") != "" && !p.IsSingleIP() {
			lapiError(w, http.StatusBadRequest, fmt.Sprintf("ip %q is a range; use range=", target))
			return
		}
		containing = Value(p)
	}
	now := c.now()
	active, err := c.store.ActiveDecisions(r.Context(), now, containing)
	if err != nil {
		c.log.Error("decisions", "bouncer", b.Name, "err", err)
		lapiError(w, http.StatusInternalServerError, "internal error")
		return
	}
	out := parseDecisionFilter(r).apply(active, now)
	w.Header().Set("Content-Type", "application/json")
	if len(out) == 0 {
		w.Write([]byte("null\n")) // as LAPI answers when nothing matches
		return
	}
	json.NewEncoder(w).Encode(out)
}
