package agent

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"

	"github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/tracehound/tracehound/api"
	"github.com/tracehound/tracehound/apimap"
	"github.com/tracehound/tracehound/auth"
)

// Resource URIs.
const (
	URIMap       = "tracehound://map"
	URIIncidents = "tracehound://incidents/open"
	URIRules     = "tracehound://rules"
)

// maxResourceItems bounds the items of one resource.
const maxResourceItems = 500

func (s *Server) addResources() {
	if b, ok := s.b.(api.MapBackend); ok {
		s.resource(&mcp.Resource{URI: URIMap, Name: "api-map", Title: "API map",
			Description: "The API surface seen in traffic: every endpoint with its hits, documentation state, auth state, tags and risk, riskiest first (at most 500)."},
			func(ctx context.Context) (any, error) {
				res, err := b.Map(ctx, api.MapQuery{})
				if err != nil {
					return nil, err
				}
				eps := slices.Clone(res.Endpoints)
				slices.SortStableFunc(eps, func(a, b apimap.Endpoint) int { return b.RiskScore - a.RiskScore })
				out := MapOutput{Since: stamp(res.Since), Until: stamp(res.Until), Total: len(eps), Endpoints: []EndpointSummary{}}
				for i, e := range eps {
					if i == maxResourceItems {
						out.More = true
						break
					}
					out.Endpoints = append(out.Endpoints, summarize(e))
				}
				return out, nil
			})
	}
	if b, ok := s.b.(api.AlertsBackend); ok {
		s.resource(&mcp.Resource{URI: URIIncidents, Name: "open-incidents", Title: "Open incidents",
			Description: "Incidents not yet resolved: related notifications grouped by campaign, newest first."},
			func(ctx context.Context) (any, error) {
				return b.Incidents(ctx, api.IncidentQuery{Status: "open,investigating", Limit: maxResourceItems})
			})
	}
	if b, ok := s.b.(api.RulesBackend); ok {
		s.resource(&mcp.Resource{URI: URIRules, Name: "rules", Title: "Alert rules",
			Description: "The loaded alert rules with their SQL, schedule, severity, mode and health."},
			func(ctx context.Context) (any, error) { return b.Rules(ctx) })
	}
}

// resource registers a JSON resource read through get, audited like a tool
// call.
func (s *Server) resource(r *mcp.Resource, get func(ctx context.Context) (any, error)) {
	r.MIMEType = "application/json"
	s.mcp.AddResource(r, func(ctx context.Context, req *mcp.ReadResourceRequest) (*mcp.ReadResourceResult, error) {
		if req != nil && req.Extra != nil && req.Extra.TokenInfo != nil {
			if p, ok := req.Extra.TokenInfo.Extra[principalKey].(auth.Principal); ok {
				ctx = auth.WithPrincipal(ctx, p)
			}
		}
		v, err := get(ctx)
		if aerr := s.recordRead(ctx, r.URI, err); aerr != nil && err == nil {
			return nil, fmt.Errorf("audit the read: %w", aerr)
		}
		if err != nil {
			return nil, err
		}
		b, err := json.Marshal(v)
		if err != nil {
			return nil, fmt.Errorf("encode %s: %w", r.URI, err)
		}
		return &mcp.ReadResourceResult{Contents: []*mcp.ResourceContents{{URI: r.URI, MIMEType: r.MIMEType, Text: string(b)}}}, nil
	})
}

func (s *Server) recordRead(ctx context.Context, uri string, readErr error) error {
	if s.audit == nil {
		return nil
	}
	var rec callRecord
	if readErr != nil {
		rec.Error = readErr.Error()
	}
	return s.audit(ctx, "mcp.read", "resource:"+uri, nil, rec)
}

func (s *Server) addPrompts() {
	s.mcp.AddPrompt(&mcp.Prompt{Name: "triage_notifications", Title: "Triage the open notifications",
		Description: "Work through the open notifications: group them, investigate the callers behind them and propose a status and an action for each."},
		func(context.Context, *mcp.GetPromptRequest) (*mcp.GetPromptResult, error) {
			return userPrompt("Triage the open notifications in tracehound.",
				`1. Call list_alerts with status "open" and read the rules, severities, IPs, API keys and endpoints.
2. Group notifications that share an IP, an API key or an endpoint; they are likely one campaign.
3. For each group, call ip_info on its addresses and endpoint_detail on its endpoint (is it a shadow endpoint? sensitive? what auth state?), and ask a forensic question such as "top 10 IPs by requests to <endpoint> in the last 7 days".
4. Decide for each group: true positive (set_alert_status investigating), benign (false_positive, with the reason), or needs more data. Say which figures support each decision.
5. For confirmed abuse, propose block_ips with a reason as a dry run first; only confirm after I agree.`), nil
		})
	s.mcp.AddPrompt(&mcp.Prompt{Name: "investigate_ip", Title: "Investigate an IP address",
		Description: "Investigate one address: who it is, what it did, whether it is abuse, and what to do.",
		Arguments:   []*mcp.PromptArgument{{Name: "ip", Description: "the address", Required: true}}},
		func(_ context.Context, req *mcp.GetPromptRequest) (*mcp.GetPromptResult, error) {
			ip := req.Params.Arguments["ip"]
			if ip == "" {
				return nil, fmt.Errorf("the ip argument is required")
			}
			return userPrompt("Investigate "+ip+" in tracehound.",
				`1. Call ip_info for `+ip+`: enrichment (country, ASN, data center, abuse reports), status, traffic.
2. Ask: "top endpoints by requests from `+ip+` in the last 7 days" and "bytes downloaded by `+ip+` per day in the last 7 days".
3. Look at the endpoints it called with endpoint_detail (shadow? sensitive? export or admin?), and at one of its traces with get_trace.
4. Check list_alerts with ip `+ip+`.
5. Give a verdict (malicious, suspicious, benign, inconclusive) with the figures behind it, the likely attack pattern, and recommended actions (block_ips as a dry run first, a rule to write, an endpoint to fix).`), nil
		})
	s.mcp.AddPrompt(&mcp.Prompt{Name: "write_rule", Title: "Write a rule for an endpoint",
		Description: "Draft an alert rule that watches one endpoint for abuse, and backtest it before proposing it.",
		Arguments:   []*mcp.PromptArgument{{Name: "endpoint", Description: "method and path, such as GET /v1/admin/export", Required: true}}},
		func(_ context.Context, req *mcp.GetPromptRequest) (*mcp.GetPromptResult, error) {
			ep := req.Params.Arguments["endpoint"]
			if ep == "" {
				return nil, fmt.Errorf("the endpoint argument is required")
			}
			return userPrompt("Write a tracehound alert rule for "+ep+".",
				`1. Call endpoint_detail for `+ep+` to learn its traffic: callers, status mix, bytes, parameters, auth state.
2. Use run_sql to find what normal use looks like (requests per caller per 15 minutes, per day; bytes per request) over the last 7 days.
3. Draft a rule in YAML: id, name, description, interval, sql (ClickHouse dialect over traces, windowed with now() - INTERVAL, grouped by peer_ip or api_key_id, with a HAVING threshold above normal use), for, severity, annotations.
4. Backtest the draft with backtest_rule (body) over 7 days: how often would it have fired, for whom? Tune the threshold until legitimate callers stay quiet.
5. Show the final rule, its backtest figures, and what it would have caught.`), nil
		})
}

func userPrompt(description, text string) *mcp.GetPromptResult {
	return &mcp.GetPromptResult{Description: description, Messages: []*mcp.PromptMessage{{Role: "user", Content: &mcp.TextContent{Text: text}}}}
}
