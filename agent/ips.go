package agent

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/tracehound/tracehound/api"
	"github.com/tracehound/tracehound/auth"
)

// IPInfoInput names an address.
type IPInfoInput struct {
	IP     string `json:"ip" jsonschema:"an IPv4 or IPv6 address, or a CIDR range"`
	Window string `json:"window,omitempty" jsonschema:"traffic window, such as 24h or 7d (default 7d)"`
}

// IPInfoOutput is what tracehound knows of an address: its record and
// enrichment, what enforcement does now, the ranges that cover it, its
// latest changes and its traffic.
type IPInfoOutput struct {
	IP api.IPDetail `json:"ip"`
}

// maxHistory bounds the history ip_info returns.
const maxHistory = 20

// IPActionInput blocks or trusts addresses.
type IPActionInput struct {
	IPs     []string `json:"ips" jsonschema:"addresses or CIDR ranges (at most 100)"`
	Reason  string   `json:"reason" jsonschema:"why: kept in the audit log and the block list"`
	For     string   `json:"for,omitempty" jsonschema:"how long the status lasts, such as 24h or 7d; empty lasts until changed"`
	Confirm bool     `json:"confirm,omitempty" jsonschema:"true applies the change; otherwise the call only shows what would change"`
}

// IPAction is what happens, or would happen, to one address.
type IPAction struct {
	IP string `json:"ip"`
	// Before is what enforcement does now: blocked, trusted or none.
	Before string `json:"before"`
	// Action is change, unchanged or skipped.
	Action string `json:"action"`
	// Why explains a skip.
	Why string `json:"why,omitempty"`
}

// IPActionOutput answers block_ips and trust_ips.
type IPActionOutput struct {
	DryRun bool   `json:"dry_run"`
	Status string `json:"status"`
	// ChangeID names the applied change for undo; 0 on a dry run or when
	// nothing changed.
	ChangeID  int64      `json:"change_id,omitempty"`
	ExpiresAt string     `json:"expires_at,omitempty"`
	IPs       []IPAction `json:"ips"`
}

func (s *Server) addIPTools(b api.IPBackend) {
	add(s, &mcp.Tool{Name: "ip_info", Title: "Describe an IP address",
		Description: "Everything tracehound knows of an address: enrichment (country, ASN and organisation, data-center usage, abuse confidence and reports), its monitoring status and what enforcement does now (blocked, trusted), ranges that cover it, its latest changes and its traffic in the window (requests, endpoints, bytes, API keys).",
		Annotations: readOnly()}, auth.RoleViewer, func(ctx context.Context, in IPInfoInput) (IPInfoOutput, error) {
		if strings.TrimSpace(in.IP) == "" {
			return IPInfoOutput{}, fmt.Errorf("%w: ip is empty", api.ErrBadRequest)
		}
		w, err := window(in.Window, 0)
		if err != nil {
			return IPInfoOutput{}, err
		}
		d, err := b.IP(ctx, in.IP, w)
		if err != nil {
			return IPInfoOutput{}, err
		}
		if len(d.History) > maxHistory {
			d.History = d.History[:maxHistory]
		}
		return IPInfoOutput{IP: *d}, nil
	})
	add(s, &mcp.Tool{Name: "block_ips", Title: "Block IP addresses",
		Description: "Block addresses or ranges: they go on the block list that CrowdSec bouncers, firewalls and WAFs pull. Trusted addresses are never blocked (they are skipped). A dry run unless confirm is true; a reason is required. Needs the analyst role; the change can be undone.",
		Annotations: destructive()}, auth.RoleAnalyst, func(ctx context.Context, in IPActionInput) (IPActionOutput, error) {
		return setIPs(ctx, b, "blocked", in)
	})
	add(s, &mcp.Tool{Name: "trust_ips", Title: "Trust IP addresses",
		Description: "Trust addresses or ranges (partners, monitors, your own infrastructure): trusted addresses are never blocked, by people or automatic responses. A dry run unless confirm is true; a reason is required. Needs the analyst role.",
		Annotations: destructive()}, auth.RoleAnalyst, func(ctx context.Context, in IPActionInput) (IPActionOutput, error) {
		return setIPs(ctx, b, "trusted", in)
	})
}

// setIPs plans status for the input's addresses, and applies it when
// confirmed. An address that enforcement trusts is never blocked.
func setIPs(ctx context.Context, b api.IPBackend, status string, in IPActionInput) (IPActionOutput, error) {
	out := IPActionOutput{DryRun: !in.Confirm, Status: status, IPs: []IPAction{}}
	if len(in.IPs) == 0 || len(in.IPs) > MaxIPs {
		return out, fmt.Errorf("%w: give 1 to %d addresses", api.ErrBadRequest, MaxIPs)
	}
	if strings.TrimSpace(in.Reason) == "" {
		return out, fmt.Errorf("%w: a reason is required", api.ErrBadRequest)
	}
	var apply []string
	for _, ip := range in.IPs {
		d, err := b.IP(ctx, ip, 0)
		if err != nil {
			return out, fmt.Errorf("%s: %w", ip, err)
		}
		a := IPAction{IP: ip, Before: d.Effective, Action: "change"}
		switch {
		case status == "blocked" && d.Effective == "trusted":
			a.Action, a.Why = "skipped", "the address is trusted; trusted addresses are never blocked"
		case d.Effective == status:
			a.Action = "unchanged"
		}
		out.IPs = append(out.IPs, a)
		if a.Action != "skipped" && !slices.Contains(apply, ip) {
			apply = append(apply, ip)
		}
	}
	if !in.Confirm || len(apply) == 0 {
		return out, nil
	}
	res, err := b.SetIPStatus(ctx, api.IPStatusRequest{IPs: apply, Status: status, For: in.For, Reason: in.Reason, Tags: []string{"mcp"}})
	if err != nil {
		return out, err
	}
	out.ChangeID, out.ExpiresAt = res.ChangeID, stamp(res.ExpiresAt)
	for i := range out.IPs {
		if slices.Contains(res.Unchanged, out.IPs[i].IP) && out.IPs[i].Action == "change" {
			out.IPs[i].Action = "unchanged"
		}
	}
	return out, nil
}
