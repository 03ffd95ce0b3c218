package api

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"github.com/tracehound/tracehound/auth"
	"github.com/tracehound/tracehound/config"
	"github.com/tracehound/tracehound/detect"
	"github.com/tracehound/tracehound/llm"
)

// InvestigateBackend serves investigations, the API key inventory and
// campaigns.
type InvestigateBackend interface {
	// Investigate runs the behavioural detectors over the callers' traffic
	// and returns a verdict for each, with its evidence.
	Investigate(ctx context.Context, req InvestigationRequest) (*InvestigationResult, error)
	// Keys lists the API keys seen in traffic, riskiest first.
	Keys(ctx context.Context, q KeysQuery) (*detect.KeyInventory, error)
	// Campaigns finds the coordinated campaigns of a window.
	Campaigns(ctx context.Context, q CampaignQuery) (*detect.CampaignReport, error)
}

// InvestigationRequest is the body of POST /api/v1/investigations.
type InvestigationRequest struct {
	// Callers are IP addresses and API key ids ("key:ID" for a key id that
	// reads as an address).
	Callers []string `json:"callers"`
	// Since and Until are durations back from now (7d) or RFC 3339 times;
	// the default window is the last 7 days.
	Since string `json:"since,omitempty"`
	Until string `json:"until,omitempty"`
	// Narrate asks the configured LLM to word the worst finding.
	Narrate bool `json:"narrate,omitempty"`
	// Progress, in process, is called as callers are analysed.
	Progress func(done, total int) `json:"-"`
}

// InvestigationResult answers POST /api/v1/investigations: the report,
// and the LLM's narrative when asked for (or why there is none).
type InvestigationResult struct {
	*detect.Report
	Narrative      *llm.Narrative `json:"narrative,omitempty"`
	NarrativeError string         `json:"narrative_error,omitempty"`
}

// KeysQuery selects API keys.
type KeysQuery struct {
	Since, Until string
	// FirstSeenWithin keeps keys first seen that recently (60d: the trial
	// accounts of the last two months).
	FirstSeenWithin time.Duration
	Limit           int
}

// CampaignQuery selects the window of a campaign search.
type CampaignQuery struct {
	Since, Until string
	Progress     func(done, total int) `json:"-"`
}

func (s *Server) routeInvestigate(b InvestigateBackend) {
	s.handle("POST /api/v1/investigations", auth.RoleViewer, func(w http.ResponseWriter, r *http.Request) {
		var req InvestigationRequest
		if err := decodeJSON(w, r, &req); err != nil {
			writeError(w, s.log, err)
			return
		}
		res, err := b.Investigate(r.Context(), req)
		reply(w, s.log, res, err)
	})
	s.handle("GET /api/v1/keys", auth.RoleViewer, func(w http.ResponseWriter, r *http.Request) {
		v := r.URL.Query()
		q := KeysQuery{Since: v.Get("since"), Until: v.Get("until")}
		if f := v.Get("first_seen_within"); f != "" {
			d, err := config.ParseDuration(f)
			if err != nil || d <= 0 {
				writeError(w, s.log, fmt.Errorf("%w: first_seen_within=%q: want a duration such as 60d", ErrBadRequest, f))
				return
			}
			q.FirstSeenWithin = d
		}
		if l := v.Get("limit"); l != "" {
			n, err := strconv.Atoi(l)
			if err != nil || n <= 0 || n > 10_000 {
				writeError(w, s.log, fmt.Errorf("%w: limit=%q: want 1 to 10000", ErrBadRequest, l))
				return
			}
			q.Limit = n
		}
		res, err := b.Keys(r.Context(), q)
		reply(w, s.log, res, err)
	})
	s.handle("GET /api/v1/campaigns", auth.RoleViewer, func(w http.ResponseWriter, r *http.Request) {
		v := r.URL.Query()
		res, err := b.Campaigns(r.Context(), CampaignQuery{Since: v.Get("since"), Until: v.Get("until")})
		reply(w, s.log, res, err)
	})
}

// Investigate implements InvestigateBackend.
func (c *Client) Investigate(ctx context.Context, req InvestigationRequest) (*InvestigationResult, error) {
	res := InvestigationResult{Report: &detect.Report{}}
	return &res, c.do(ctx, http.MethodPost, "/api/v1/investigations", req, &res)
}

// Keys implements InvestigateBackend.
func (c *Client) Keys(ctx context.Context, q KeysQuery) (*detect.KeyInventory, error) {
	v := url.Values{}
	for k, s := range map[string]string{"since": q.Since, "until": q.Until} {
		if s != "" {
			v.Set(k, s)
		}
	}
	if q.FirstSeenWithin > 0 {
		v.Set("first_seen_within", windowParam(q.FirstSeenWithin))
	}
	if q.Limit > 0 {
		v.Set("limit", strconv.Itoa(q.Limit))
	}
	var res detect.KeyInventory
	return &res, c.do(ctx, http.MethodGet, "/api/v1/keys?"+v.Encode(), nil, &res)
}

// Campaigns implements InvestigateBackend.
func (c *Client) Campaigns(ctx context.Context, q CampaignQuery) (*detect.CampaignReport, error) {
	v := url.Values{}
	for k, s := range map[string]string{"since": q.Since, "until": q.Until} {
		if s != "" {
			v.Set(k, s)
		}
	}
	var res detect.CampaignReport
	return &res, c.do(ctx, http.MethodGet, "/api/v1/campaigns?"+v.Encode(), nil, &res)
}
