package app

import (
	"context"
	"fmt"
	"strings"

	"github.com/tracehound/tracehound/api"
	"github.com/tracehound/tracehound/exclude"
	"github.com/tracehound/tracehound/llm"
)

// maxNarratedSuggestions bounds the LLM calls of one suggestion list.
const maxNarratedSuggestions = 5

// narrateSuggestions has the LLM word each suggestion for its reviewer:
// why the traffic looks benign and what the exclusion would change. The
// wording is checked against the computed facts (llm.Narrate); a rejected
// one leaves the suggestion as computed, with the reason.
func (a *App) narrateSuggestions(ctx context.Context, res *api.SuggestionList) {
	if a.llm == nil {
		res.NarrativeError = "no LLM is configured (llm.base_url); the suggestions above are complete without one"
		return
	}
	for i, s := range res.Suggestions {
		if i == maxNarratedSuggestions {
			break
		}
		n, err := llm.Narrate(ctx, a.llm, suggestionFacts(s))
		out := api.SuggestionNarrative{}
		if err != nil {
			out.Error = err.Error()
		} else {
			out.Narrative = &n
		}
		res.Narratives = append(res.Narratives, out)
	}
}

// suggestionFacts are what the LLM may say about a suggestion: the
// computed rationale, the caller's profile and the dry run's figures.
func suggestionFacts(s exclude.Suggestion) llm.Facts {
	var conds []string
	for _, c := range s.Exclusion.Conditions {
		conds = append(conds, string(c.Kind)+" "+c.Value)
	}
	f := llm.Facts{
		Subject:   "exclusion suggested from " + strings.ReplaceAll(s.Source, "_", " ") + " notifications: " + strings.Join(conds, ", "),
		Verdict:   "Benign",
		Certainty: "medium",
		Findings:  []string{s.Rationale},
		Remediation: []string{
			"apply the exclusion in shadow first and review what it would have suppressed",
			"keep an expiry on it and review it when it expires",
		},
		Figures: map[string]float64{
			"notifications_targeted": float64(len(s.Notifications)),
			"notifications_removed":  float64(s.Removes),
			"caller_requests":        float64(s.Caller.Requests),
			"caller_addresses":       float64(len(s.Caller.IPs)),
			"active_days":            float64(s.Caller.ActiveDays),
			"window_days":            float64(s.Caller.WindowDays),
			"error_rate_percent":     s.Caller.ErrorRate * 100,
		},
	}
	if d := s.DryRun; d != nil {
		f.Figures["notifications_before"] = float64(d.NotificationsBefore)
		f.Figures["notifications_after"] = float64(d.NotificationsAfter)
		f.Figures["spans_excluded"] = float64(d.RowsExcluded)
		f.Figures["spans_in_window"] = float64(d.RowsTotal)
		f.Figures["suppressed_true_positives"] = float64(len(d.SuppressedTruePositives))
		f.Findings = append(f.Findings, fmt.Sprintf("dry run: %d notifications become %d; %d of %d server spans excluded; %d true positives suppressed",
			d.NotificationsBefore, d.NotificationsAfter, d.RowsExcluded, d.RowsTotal, len(d.SuppressedTruePositives)))
		if len(d.SuppressedTruePositives) == 0 && s.Removes == len(s.Notifications) {
			f.Certainty = "high"
		}
	}
	if c := s.Caller; len(c.IPs) > 0 || c.UserAgent != "" {
		f.Findings = append(f.Findings, fmt.Sprintf("caller: %s, user agent %q, active %d of %d days",
			strings.Join(c.IPs, ", "), c.UserAgent, c.ActiveDays, c.WindowDays))
	}
	return f
}
