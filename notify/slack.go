package notify

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"net/http"
	"slices"
	"strings"

	"github.com/tracehound/tracehound/alert"
)

// defaultSlackMaxAlerts caps the alerts one Slack message lists.
const defaultSlackMaxAlerts = 5

// Attachment colours: by the most severe firing alert, green when all
// resolved.
var severityColor = map[alert.Severity]string{
	alert.SeverityCritical: "#b3001b",
	alert.SeverityHigh:     "#e4572e",
	alert.SeverityMedium:   "#f3a712",
	alert.SeverityLow:      "#2e86ab",
	alert.SeverityInfo:     "#8d99ae",
}

const resolvedColor = "#2eb67d"

// slackNotifier posts to a Slack incoming webhook.
type slackNotifier struct {
	cfg    *SlackConfig
	client *http.Client
}

// SlackPayload is what an incoming webhook receives: Block Kit blocks with
// a text fallback, and an attachment whose colour says the severity.
type SlackPayload struct {
	Channel     string            `json:"channel,omitempty"`
	Username    string            `json:"username,omitempty"`
	IconEmoji   string            `json:"icon_emoji,omitempty"`
	Text        string            `json:"text"`
	Blocks      []SlackBlock      `json:"blocks"`
	Attachments []SlackAttachment `json:"attachments"`
}

// SlackAttachment carries the coloured bar and the alert list.
type SlackAttachment struct {
	Color    string       `json:"color"`
	Fallback string       `json:"fallback"`
	Blocks   []SlackBlock `json:"blocks"`
}

// SlackBlock is a Block Kit block (header, section, context, actions,
// divider).
type SlackBlock struct {
	Type     string         `json:"type"`
	Text     *SlackText     `json:"text,omitempty"`
	Fields   []SlackText    `json:"fields,omitempty"`
	Elements []SlackElement `json:"elements,omitempty"`
}

// SlackText is a Block Kit text object.
type SlackText struct {
	Type string `json:"type"` // plain_text or mrkdwn
	Text string `json:"text"`
}

// SlackElement is a context text or an actions button.
type SlackElement struct {
	Type string `json:"type"`
	// Text is a string in a context element, a SlackText in a button.
	Text any    `json:"text,omitempty"`
	URL  string `json:"url,omitempty"`
}

func (s *slackNotifier) notify(ctx context.Context, m *Message) (bool, error) {
	max := s.cfg.MaxAlerts
	if max == 0 {
		max = defaultSlackMaxAlerts
	}
	p := slackPayload(m, max)
	p.Channel, p.Username, p.IconEmoji = s.cfg.Channel, s.cfg.Username, s.cfg.IconEmoji
	body, err := json.Marshal(p)
	if err != nil {
		return false, err
	}
	return post(ctx, s.client, string(s.cfg.WebhookURL), nil, body)
}

// slackEscape escapes the characters Slack's mrkdwn reserves.
var slackEscape = strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;")

// truncate keeps s within n runes (Block Kit limits text lengths).
func truncate(s string, n int) string {
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	return string(r[:n-1]) + "…"
}

func slackPayload(m *Message, maxAlerts int) SlackPayload {
	title := m.Title()
	color := resolvedColor
	for _, a := range m.Alerts { // firing alerts come first, most severe first
		if a.State == alert.StateFiring {
			if c, ok := severityColor[a.Severity]; ok {
				color = c
			}
			break
		}
	}
	p := SlackPayload{Text: truncate(title, 3000)}
	p.Blocks = append(p.Blocks, SlackBlock{Type: "header", Text: &SlackText{"plain_text", truncate(title, 150)}})
	if len(m.CommonLabels) > 0 {
		var fields []SlackText
		for _, k := range slices.Sorted(maps.Keys(m.CommonLabels)) {
			if len(fields) == 10 { // Block Kit allows ten fields
				break
			}
			fields = append(fields, SlackText{"mrkdwn", truncate("*"+slackEscape.Replace(k)+"*\n"+slackEscape.Replace(m.CommonLabels[k]), 2000)})
		}
		p.Blocks = append(p.Blocks, SlackBlock{Type: "section", Fields: fields})
	}
	var list []SlackBlock
	shown := m.Alerts
	if len(shown) > maxAlerts {
		shown = shown[:maxAlerts]
	}
	for _, a := range shown {
		list = append(list, SlackBlock{Type: "section", Text: &SlackText{"mrkdwn", truncate(slackAlertText(m, a), 3000)}})
	}
	if rest := len(m.Alerts) - len(shown); rest > 0 {
		list = append(list, SlackBlock{Type: "context", Elements: []SlackElement{{Type: "mrkdwn",
			Text: fmt.Sprintf("…and %d more alert%s in this group", rest, plural(rest))}}})
	}
	if m.ExternalURL != "" {
		list = append(list, SlackBlock{Type: "actions", Elements: []SlackElement{{Type: "button",
			Text: SlackText{"plain_text", "Open alerts in tracehound"}, URL: m.ExternalURL + "/alerts"}}})
	}
	p.Attachments = []SlackAttachment{{Color: color, Fallback: p.Text, Blocks: list}}
	return p
}

// slackAlertText is one alert's section: state, linked rule name,
// severity, identity labels and summary.
func slackAlertText(m *Message, a alert.Alert) string {
	name := slackEscape.Replace(ruleName(a))
	if u := m.AlertURL(a); u != "" {
		name = "<" + u + "|" + name + ">"
	}
	icon := ":rotating_light:"
	if a.State == alert.StateResolved {
		icon = ":white_check_mark:"
	}
	var b strings.Builder
	fmt.Fprintf(&b, "%s *%s* · `%s`", icon, name, a.Severity)
	var ids []string
	for _, k := range []string{alert.LabelIP, alert.LabelAPIKey, alert.LabelEndpoint, alert.LabelService} {
		if v := a.Labels[k]; v != "" && m.CommonLabels[k] != v {
			ids = append(ids, k+"=`"+slackEscape.Replace(v)+"`")
		}
	}
	if len(ids) > 0 {
		b.WriteString("\n" + strings.Join(ids, " "))
	}
	if s := a.Annotations["summary"]; s != "" {
		b.WriteString("\n" + slackEscape.Replace(s))
	}
	return b.String()
}

func plural(n int) string {
	if n == 1 {
		return ""
	}
	return "s"
}
