package agent

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/tracehound/tracehound/api"
	"github.com/tracehound/tracehound/auth"
	"github.com/tracehound/tracehound/exclude"
)

// DryRunInput is an exclusion to test, or a stored one's id.
type DryRunInput struct {
	ID        string         `json:"id,omitempty" jsonschema:"a stored exclusion's id; or give exclusion"`
	Exclusion map[string]any `json:"exclusion,omitempty" jsonschema:"a draft exclusion: {conditions: [{kind: path_glob|ip_cidr|api_key|user_agent|asn|status|sql_predicate, value}], match: all|any, scope: {kind: rule|rules|existing|any, rule_ids}, reason, expires_at (RFC 3339 or never)}"`
	Since     string         `json:"since,omitempty" jsonschema:"how far back to replay the affected rules (default 7d)"`
}

// DryRunOutput is what the exclusion would have suppressed.
type DryRunOutput struct {
	Result map[string]any `json:"result"`
}

func (s *Server) addExclusionTools(b api.ExclusionsBackend) {
	add(s, &mcp.Tool{Name: "dry_run_exclusion", Title: "Test an exclusion before applying it",
		Description: "Replay the rules an exclusion affects over history with and without it, through the real backtest: the notifications that would disappear, rows excluded, top excluded keys, a per-day histogram, and any suppressed notification that triage marked a true positive or that investigations rate malicious. Nothing is saved.",
		Annotations: readOnly()}, auth.RoleViewer, func(ctx context.Context, in DryRunInput) (DryRunOutput, error) {
		req := api.DryRunRequest{ID: in.ID, Since: in.Since}
		if (in.ID == "") == (in.Exclusion == nil) {
			return DryRunOutput{}, fmt.Errorf("%w: give id or exclusion", api.ErrBadRequest)
		}
		if in.Exclusion != nil {
			raw, err := json.Marshal(in.Exclusion)
			if err != nil {
				return DryRunOutput{}, err
			}
			var ex exclude.Exclusion
			if err := json.Unmarshal(raw, &ex); err != nil {
				return DryRunOutput{}, fmt.Errorf("%w: exclusion: %v", api.ErrBadRequest, err)
			}
			req.Exclusion = &ex
		}
		res, err := b.DryRunExclusion(ctx, req)
		if err != nil {
			return DryRunOutput{}, err
		}
		m, err := asMap(res)
		return DryRunOutput{Result: m}, err
	})
}
