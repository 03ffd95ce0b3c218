package api

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"github.com/tracehound/tracehound/auth"
	"github.com/tracehound/tracehound/exclude"
	"github.com/tracehound/tracehound/llm"
	"github.com/tracehound/tracehound/state"
)

// ExclusionsBackend serves exclusions: filters that keep benign traffic
// out of detection rules, their dry runs over history, and suggestions.
// Changes act for the principal in the context and are audit-logged. A
// definition the exclude package refuses comes back as an error wrapping
// ErrBadRequest; a missing id as one wrapping state.ErrNotFound.
type ExclusionsBackend interface {
	// Exclusions lists exclusions with their status: by default those
	// that have not expired; with q.Expired those listed for review
	// (expired, or shadow ones whose shadow period ended); with q.All
	// every one.
	Exclusions(ctx context.Context, q ExclusionQuery) (*ExclusionList, error)
	// Exclusion returns one exclusion with the notifications it would have
	// suppressed in shadow mode, newest first.
	Exclusion(ctx context.Context, id string) (*ExclusionDetail, error)
	// AddExclusion creates an exclusion. When it would suppress a
	// notification triaged as a true positive (checked by a dry run over
	// req.Since), it is refused unless req.Force and req.ForceReason are
	// set.
	AddExclusion(ctx context.Context, req ExclusionRequest) (*ExclusionDetail, error)
	// DeleteExclusion removes an exclusion.
	DeleteExclusion(ctx context.Context, id string) error
	// ActivateExclusion turns a shadow exclusion active, with the same
	// true-positive check as AddExclusion.
	ActivateExclusion(ctx context.Context, id string, req ActivateRequest) (*ExclusionDetail, error)
	// DryRunExclusion replays the rules an exclusion (a stored one, or a
	// draft) covers over a window, with and without it.
	DryRunExclusion(ctx context.Context, req DryRunRequest) (*exclude.DryRunResult, error)
	// ExclusionSuggestions proposes exclusions for the callers behind
	// false positives and stable benign traffic, each with its dry run.
	ExclusionSuggestions(ctx context.Context, q SuggestionQuery) (*SuggestionList, error)
}

// ExclusionQuery selects exclusions (GET /api/v1/exclusions?expired=true).
type ExclusionQuery struct {
	Expired bool
	All     bool
}

// Values encodes q as query parameters.
func (q ExclusionQuery) Values() url.Values {
	v := url.Values{}
	if q.Expired {
		v.Set("expired", "true")
	}
	if q.All {
		v.Set("all", "true")
	}
	return v
}

// ExclusionInfo is an exclusion with its status now.
type ExclusionInfo struct {
	exclude.Exclusion
	Status exclude.Status `json:"status"`
	// ShadowSuppressions counts the notifications it would have
	// suppressed while in shadow.
	ShadowSuppressions int       `json:"shadow_suppressions"`
	UpdatedAt          time.Time `json:"updated_at,omitzero"`
	UpdatedBy          string    `json:"updated_by,omitempty"`
}

// ExclusionList answers GET /api/v1/exclusions.
type ExclusionList struct {
	Exclusions []ExclusionInfo `json:"exclusions"`
}

// ExclusionDetail answers GET /api/v1/exclusions/{id}.
type ExclusionDetail struct {
	ExclusionInfo
	// Suppressed are the latest notifications it would have suppressed in
	// shadow mode.
	Suppressed []state.ShadowSuppression `json:"suppressed"`
	// DryRun is the true-positive check made when the exclusion was
	// created or activated, when one was needed.
	DryRun *exclude.DryRunResult `json:"dry_run,omitempty"`
}

// ExclusionRequest is the body of POST /api/v1/exclusions.
type ExclusionRequest struct {
	Exclusion exclude.Exclusion `json:"exclusion"`
	// Force applies the exclusion although it suppresses notifications
	// triaged as true positives; ForceReason says why and is required
	// with it.
	Force       bool   `json:"force,omitempty"`
	ForceReason string `json:"force_reason,omitempty"`
	// Since is the window of the true-positive check (default 7d), ending
	// at Until (default now).
	Since string    `json:"since,omitempty"`
	Until time.Time `json:"until,omitzero"`
}

// ActivateRequest is the body of POST /api/v1/exclusions/{id}/activate.
type ActivateRequest struct {
	Force       bool      `json:"force,omitempty"`
	ForceReason string    `json:"force_reason,omitempty"`
	Since       string    `json:"since,omitempty"`
	Until       time.Time `json:"until,omitzero"`
}

// DryRunRequest is the body of POST /api/v1/exclusions/dry-run: a stored
// exclusion (ID) or a draft (Exclusion). A draft may leave out its id,
// reason and expiry; without a scope it covers every rule.
type DryRunRequest struct {
	ID        string             `json:"id,omitempty"`
	Exclusion *exclude.Exclusion `json:"exclusion,omitempty"`
	// Since is the window (default 7d) ending at Until (default now).
	Since string    `json:"since,omitempty"`
	Until time.Time `json:"until,omitzero"`
	// Progress, when set, receives progress reports; over HTTP the server
	// streams them (POST …/dry-run?stream=true).
	Progress func(exclude.Progress) `json:"-"`
}

// SuggestionQuery selects the window of GET /api/v1/exclusions/suggestions.
type SuggestionQuery struct {
	Since string
	Until time.Time
	Max   int
	// Narrate has the configured LLM word each suggestion for a reviewer;
	// the suggestions themselves are computed either way.
	Narrate bool
}

// Values encodes q as query parameters.
func (q SuggestionQuery) Values() url.Values {
	v := url.Values{}
	if q.Since != "" {
		v.Set("since", q.Since)
	}
	if !q.Until.IsZero() {
		v.Set("until", q.Until.UTC().Format(time.RFC3339))
	}
	if q.Max > 0 {
		v.Set("max", strconv.Itoa(q.Max))
	}
	if q.Narrate {
		v.Set("narrate", "true")
	}
	return v
}

// SuggestionList answers GET /api/v1/exclusions/suggestions.
type SuggestionList struct {
	From        time.Time            `json:"from"`
	To          time.Time            `json:"to"`
	Suggestions []exclude.Suggestion `json:"suggestions"`
	// Narratives, with Narrate, hold the LLM's wording of each suggestion,
	// in order; NarrativeError says why there is none.
	Narratives     []SuggestionNarrative `json:"narratives,omitempty"`
	NarrativeError string                `json:"narrative_error,omitempty"`
}

// SuggestionNarrative is the LLM's wording of one suggestion, checked
// against its computed facts, or why it was rejected.
type SuggestionNarrative struct {
	Narrative *llm.Narrative `json:"narrative,omitempty"`
	Error     string         `json:"error,omitempty"`
}

// routeExclusions registers the exclusion routes: reading and dry runs for
// viewers, changes for analysts.
func (s *Server) routeExclusions(b ExclusionsBackend) {
	h := &exclusionHandlers{b: b, log: s.log}
	s.handle("GET /api/v1/exclusions", auth.RoleViewer, h.list)
	s.handle("GET /api/v1/exclusions/suggestions", auth.RoleViewer, h.suggestions)
	s.handle("GET /api/v1/exclusions/{id}", auth.RoleViewer, h.get)
	s.handle("POST /api/v1/exclusions", auth.RoleAnalyst, h.add)
	s.handle("DELETE /api/v1/exclusions/{id}", auth.RoleAnalyst, h.delete)
	s.handle("POST /api/v1/exclusions/{id}/activate", auth.RoleAnalyst, h.activate)
	s.handle("POST /api/v1/exclusions/dry-run", auth.RoleViewer, h.dryRun)
}

type exclusionHandlers struct {
	b   ExclusionsBackend
	log *slog.Logger
}

func (h *exclusionHandlers) list(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	res, err := h.b.Exclusions(r.Context(), ExclusionQuery{Expired: q.Get("expired") == "true", All: q.Get("all") == "true"})
	reply(w, h.log, res, err)
}

func (h *exclusionHandlers) get(w http.ResponseWriter, r *http.Request) {
	res, err := h.b.Exclusion(r.Context(), r.PathValue("id"))
	reply(w, h.log, res, err)
}

func (h *exclusionHandlers) add(w http.ResponseWriter, r *http.Request) {
	var req ExclusionRequest
	if err := decodeJSON(w, r, &req); err != nil {
		writeError(w, h.log, err)
		return
	}
	res, err := h.b.AddExclusion(r.Context(), req)
	reply(w, h.log, res, err)
}

func (h *exclusionHandlers) delete(w http.ResponseWriter, r *http.Request) {
	reply(w, h.log, nil, h.b.DeleteExclusion(r.Context(), r.PathValue("id")))
}

func (h *exclusionHandlers) activate(w http.ResponseWriter, r *http.Request) {
	var req ActivateRequest
	if err := decodeJSON(w, r, &req); err != nil {
		writeError(w, h.log, err)
		return
	}
	res, err := h.b.ActivateExclusion(r.Context(), r.PathValue("id"), req)
	reply(w, h.log, res, err)
}

func (h *exclusionHandlers) suggestions(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	sq := SuggestionQuery{Since: q.Get("since")}
	if u := q.Get("until"); u != "" {
		t, err := time.Parse(time.RFC3339, u)
		if err != nil {
			writeError(w, h.log, fmt.Errorf("%w: until: want an RFC 3339 time", ErrBadRequest))
			return
		}
		sq.Until = t
	}
	if m := q.Get("max"); m != "" {
		n, err := strconv.Atoi(m)
		if err != nil || n <= 0 {
			writeError(w, h.log, fmt.Errorf("%w: max: want a positive number", ErrBadRequest))
			return
		}
		sq.Max = n
	}
	sq.Narrate = q.Get("narrate") == "true"
	res, err := h.b.ExclusionSuggestions(r.Context(), sq)
	reply(w, h.log, res, err)
}

// dryRunLine is one line of a streamed dry run: progress reports, then
// the result or an error.
type dryRunLine struct {
	Progress *exclude.Progress     `json:"progress,omitempty"`
	Result   *exclude.DryRunResult `json:"result,omitempty"`
	Error    *errorDetail          `json:"error,omitempty"`
}

func (h *exclusionHandlers) dryRun(w http.ResponseWriter, r *http.Request) {
	var req DryRunRequest
	if err := decodeJSON(w, r, &req); err != nil {
		writeError(w, h.log, err)
		return
	}
	if r.URL.Query().Get("stream") != "true" {
		res, err := h.b.DryRunExclusion(r.Context(), req)
		reply(w, h.log, res, err)
		return
	}
	// Streamed: a long dry run shows progress and keeps the connection
	// busy.
	send := startStream(w)
	req.Progress = func(p exclude.Progress) { send(dryRunLine{Progress: &p}) }
	res, err := h.b.DryRunExclusion(r.Context(), req)
	if err != nil {
		send(dryRunLine{Error: streamError(h.log, err)})
		return
	}
	send(dryRunLine{Result: res})
}

// SilencesBackend serves notification silences: label matchers that mute
// alerts for a while (they are still recorded for triage). Changes are
// audit-logged.
type SilencesBackend interface {
	// Silences lists the silences that have not ended, or all with all.
	Silences(ctx context.Context, all bool) (*SilenceList, error)
	// AddSilence creates a silence.
	AddSilence(ctx context.Context, req SilenceRequest) (*exclude.Silence, error)
	// DeleteSilence removes a silence.
	DeleteSilence(ctx context.Context, id string) error
}

// SilenceRequest is the body of POST /api/v1/silences: matchers in
// Alertmanager syntax (alertname="bulk_reads_per_ip", peer_ip=~"10\\..*"),
// from StartsAt (default now) until EndsAt, or for Duration ("2h").
type SilenceRequest struct {
	ID       string    `json:"id,omitempty"`
	Matchers []string  `json:"matchers"`
	StartsAt time.Time `json:"starts_at,omitzero"`
	EndsAt   time.Time `json:"ends_at,omitzero"`
	Duration string    `json:"duration,omitempty"`
	Comment  string    `json:"comment"`
}

// SilenceInfo is a silence with whether it mutes now.
type SilenceInfo struct {
	exclude.Silence
	Active bool `json:"active"`
}

// SilenceList answers GET /api/v1/silences.
type SilenceList struct {
	Silences []SilenceInfo `json:"silences"`
}

// routeSilences registers the silence routes: reading for viewers,
// changes for analysts.
func (s *Server) routeSilences(b SilencesBackend) {
	log := s.log
	s.handle("GET /api/v1/silences", auth.RoleViewer, func(w http.ResponseWriter, r *http.Request) {
		res, err := b.Silences(r.Context(), r.URL.Query().Get("all") == "true")
		reply(w, log, res, err)
	})
	s.handle("POST /api/v1/silences", auth.RoleAnalyst, func(w http.ResponseWriter, r *http.Request) {
		var req SilenceRequest
		if err := decodeJSON(w, r, &req); err != nil {
			writeError(w, log, err)
			return
		}
		res, err := b.AddSilence(r.Context(), req)
		reply(w, log, res, err)
	})
	s.handle("DELETE /api/v1/silences/{id}", auth.RoleAnalyst, func(w http.ResponseWriter, r *http.Request) {
		reply(w, log, nil, b.DeleteSilence(r.Context(), r.PathValue("id")))
	})
}
