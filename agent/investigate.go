package agent

import (
	"context"
	"fmt"
	"strings"

	"github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/tracehound/tracehound/api"
	"github.com/tracehound/tracehound/auth"
	"github.com/tracehound/tracehound/report"
)

// InvestigateInput names the callers to investigate.
type InvestigateInput struct {
	Callers []string `json:"callers" jsonschema:"IP addresses or API key ids (key:ID for an id that reads as an address), at most 100"`
	Since   string   `json:"since,omitempty" jsonschema:"start of the window: a duration back from now such as 7d (default) or an RFC 3339 time"`
	Until   string   `json:"until,omitempty" jsonschema:"end of the window (default now)"`
}

// InvestigateOutput is an investigation's report: the overall verdict, one
// verdict per caller with its findings, ATT&CK techniques, OWASP API
// categories, remediation and evidence queries, and the campaigns found.
type InvestigateOutput struct {
	Report map[string]any `json:"report"`
}

func (s *Server) addInvestigateTools(b api.InvestigateBackend) {
	add(s, &mcp.Tool{Name: "investigate", Title: "Investigate callers",
		Description: "Investigate IP addresses or API keys: run the behavioural detectors (enumeration, crawling, export volume vs peers, endpoint focus, key sharing, credential stuffing, forced browsing, automation) over their traffic and return, per caller, a verdict such as \"Malicious — Data Exfiltration\" with certainty, risk 0-100, findings with figures, MITRE ATT&CK techniques, OWASP API Top 10 categories, remediation steps, the evidence SQL of each detector, and the campaign the callers form. Every number comes from a query.",
		Annotations: readOnly()}, auth.RoleViewer, func(ctx context.Context, in InvestigateInput) (InvestigateOutput, error) {
		if len(in.Callers) == 0 || len(in.Callers) > 100 {
			return InvestigateOutput{}, fmt.Errorf("%w: give 1 to 100 callers", api.ErrBadRequest)
		}
		res, err := b.Investigate(ctx, api.InvestigationRequest{Callers: in.Callers, Since: in.Since, Until: in.Until})
		if err != nil {
			return InvestigateOutput{}, err
		}
		m, err := asMap(res)
		if err != nil {
			return InvestigateOutput{}, err
		}
		return InvestigateOutput{Report: m}, nil
	})
}

// ReportInput names an incident.
type ReportInput struct {
	IncidentID int64 `json:"incident_id" jsonschema:"the incident's id, from the open-incidents resource or list_alerts"`
}

// ReportOutput is an incident report in Markdown, ready for a ticket, and
// its structured form.
type ReportOutput struct {
	Markdown string         `json:"markdown"`
	Report   map[string]any `json:"report"`
}

func (s *Server) addReportTools(b api.ReportBackend) {
	add(s, &mcp.Tool{Name: "incident_report", Title: "Write an incident report",
		Description: "Investigate an incident's addresses and keys and write its report: verdict and attack vector, duration, infrastructure, exposure (requests, bytes, unique objects), root cause (the target endpoint's documentation and auth state, rate limiting), detection gap, ATT&CK and OWASP mapping, actions taken, timeline, remediation and evidence queries.",
		Annotations: readOnly()}, auth.RoleViewer, func(ctx context.Context, in ReportInput) (ReportOutput, error) {
		if in.IncidentID <= 0 {
			return ReportOutput{}, fmt.Errorf("%w: incident_id must be positive", api.ErrBadRequest)
		}
		rep, err := b.IncidentReport(ctx, in.IncidentID)
		if err != nil {
			return ReportOutput{}, err
		}
		var md strings.Builder
		if err := report.Markdown(&md, rep); err != nil {
			return ReportOutput{}, err
		}
		m, err := asMap(rep)
		if err != nil {
			return ReportOutput{}, err
		}
		return ReportOutput{Markdown: md.String(), Report: m}, nil
	})
}
