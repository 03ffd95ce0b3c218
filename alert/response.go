package alert

import (
	"fmt"
	"regexp"
	"strings"
	"time"

	"github.com/tracehound/tracehound/config"
)

// Response modes: what a rule's actions do when an instance starts firing.
const (
	// ResponseShadow records what the actions would have done and does
	// nothing else; it is the default, so a new rule proves itself first.
	ResponseShadow = "shadow"
	// ResponseEnforce runs the actions.
	ResponseEnforce = "enforce"
)

// MaxResponseBlock bounds an automatic block.
const MaxResponseBlock = 365 * 24 * time.Hour

// Response is what a rule does, besides alerting, when an instance starts
// firing: block the instance's client address (label peer_ip), record
// the revocation of its API key (label api_key_id), advise a rate limit.
// Trusted addresses are never touched; every action is audited and can be
// undone in one step.
type Response struct {
	// Mode is ResponseShadow (the default) or ResponseEnforce.
	Mode string `json:"mode"`
	// Block is how long to block the client address; zero blocks nothing.
	Block time.Duration `json:"block,omitempty"`
	// RevokeKey records a revocation of the API key; the response
	// webhooks tell the system that holds the key.
	RevokeKey bool `json:"revoke_key,omitempty"`
	// RateLimit is advice such as "60/min", sent with the actions and, on
	// its own, as a rate-limit event to the response webhooks.
	RateLimit string `json:"rate_limit,omitempty"`
}

// IsZero reports whether the rule has no response.
func (r *Response) IsZero() bool {
	return r == nil || r.Block == 0 && !r.RevokeKey && r.RateLimit == ""
}

// Enforced reports whether the actions run rather than being recorded.
func (r *Response) Enforced() bool { return r != nil && r.Mode == ResponseEnforce }

// responseYAML is the YAML form of a rule's response.
type responseYAML struct {
	Mode      string `yaml:"mode"`
	Block     string `yaml:"block"`
	RevokeKey bool   `yaml:"revoke_key"`
	RateLimit string `yaml:"rate_limit"`
}

var rateLimitPattern = regexp.MustCompile(`^[1-9][0-9]{0,8}/(s|sec|second|m|min|minute|h|hour|d|day)$`)

// response validates ry; fail reports a problem in the response field.
func (ry *responseYAML) response(source string, fail func(format string, args ...any)) *Response {
	if ry == nil {
		return nil
	}
	r := &Response{Mode: ry.Mode, RevokeKey: ry.RevokeKey, RateLimit: strings.TrimSpace(ry.RateLimit)}
	switch r.Mode {
	case "":
		r.Mode = ResponseShadow
	case ResponseShadow, ResponseEnforce:
	default:
		fail("mode %q: want shadow or enforce", ry.Mode)
	}
	if ry.Block != "" {
		d, err := ParseDuration(ry.Block)
		switch {
		case err != nil:
			fail("block: %v", err)
		case d <= 0:
			fail("block: %q: want a positive duration such as 1h or 7d", ry.Block)
		case d > MaxResponseBlock:
			fail("block: %v is longer than a year; block by hand for that", ry.Block)
		default:
			r.Block = d
		}
	}
	if r.RateLimit != "" && !rateLimitPattern.MatchString(r.RateLimit) {
		fail("rate_limit: %q: want requests per unit such as 60/min, 5/s or 1000/hour", ry.RateLimit)
	}
	if r.IsZero() && ry.Block == "" && ry.RateLimit == "" {
		fail("names no action (want block, revoke_key or rate_limit)")
	}
	if source == SourceAPIMapEvent {
		fail("an apimap_event rule has no client address or API key to act on")
	}
	return r
}

// Summary describes the actions in a few words: "block 24h, revoke key".
func (r *Response) Summary() string {
	if r.IsZero() {
		return ""
	}
	var parts []string
	if r.Block > 0 {
		parts = append(parts, "block "+config.Duration(r.Block).String())
	}
	if r.RevokeKey {
		parts = append(parts, "revoke key")
	}
	if r.RateLimit != "" {
		parts = append(parts, "rate-limit "+r.RateLimit)
	}
	return fmt.Sprintf("%s (%s)", strings.Join(parts, ", "), r.Mode)
}
