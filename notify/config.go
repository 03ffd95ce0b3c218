package notify

import (
	"errors"
	"fmt"
	"io"
	"net"
	"net/url"
	"os"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"gopkg.in/yaml.v3"
)

// Defaults of the timing options, as in Alertmanager.
const (
	DefaultGroupWait      = 30 * time.Second
	DefaultGroupInterval  = 5 * time.Minute
	DefaultRepeatInterval = 4 * time.Hour
)

// Config is the notification configuration, the `notify:` section of the
// tracehound configuration file:
//
//	external_url: https://tracehound.example.com
//	route:
//	  receiver: security
//	  group_by: [alertname]
//	  routes:
//	    - matchers: ['severity=~"high|critical"']
//	      receiver: oncall
//	receivers:
//	  - name: security
//	    slack_configs: [{webhook_url: https://hooks.example/T0/B0/x, send_resolved: true}]
//	  - name: oncall
//	    webhook_configs: [{url: https://pager.example/alertmanager, bearer_token: s3cret}]
type Config struct {
	// ExternalURL is the UI's base URL; links point to {external_url}/alerts/{fingerprint}.
	ExternalURL string      `yaml:"external_url" json:"external_url"`
	Route       *Route      `yaml:"route" json:"route"`
	Receivers   []*Receiver `yaml:"receivers" json:"receivers"`
}

// Route is one node of the routing tree. An alert goes depth first to the
// first matching child (and further siblings when that child has
// Continue); when no child matches, the node itself takes it. Unset
// options are inherited from the parent.
type Route struct {
	Receiver string `yaml:"receiver" json:"receiver,omitempty"`
	// GroupBy names the labels that split alerts into groups; "..." groups
	// by every label.
	GroupBy []string `yaml:"group_by" json:"group_by,omitempty"`
	// Matchers select alerts, Alertmanager syntax: name="v", name!="v",
	// name=~"regexp", name!~"regexp". They see the alert's labels plus
	// "mode" and "rule_id" when the labels lack them.
	Matchers       []string  `yaml:"matchers" json:"matchers,omitempty"`
	Continue       bool      `yaml:"continue" json:"continue,omitempty"`
	GroupWait      *Duration `yaml:"group_wait" json:"group_wait,omitempty"`
	GroupInterval  *Duration `yaml:"group_interval" json:"group_interval,omitempty"`
	RepeatInterval *Duration `yaml:"repeat_interval" json:"repeat_interval,omitempty"`
	Routes         []*Route  `yaml:"routes" json:"routes,omitempty"`
}

// Receiver is a named set of integrations that all get each notification.
type Receiver struct {
	Name           string           `yaml:"name" json:"name"`
	SlackConfigs   []*SlackConfig   `yaml:"slack_configs" json:"slack_configs,omitempty"`
	WebhookConfigs []*WebhookConfig `yaml:"webhook_configs" json:"webhook_configs,omitempty"`
	EmailConfigs   []*EmailConfig   `yaml:"email_configs" json:"email_configs,omitempty"`
}

// SlackConfig posts to a Slack incoming webhook.
type SlackConfig struct {
	// WebhookURL is a secret: whoever has it can post to the channel.
	WebhookURL Secret `yaml:"webhook_url" json:"webhook_url"`
	// WebhookURLFile names a file holding the webhook URL instead.
	WebhookURLFile string `yaml:"webhook_url_file" json:"webhook_url_file,omitempty"`
	Channel        string `yaml:"channel" json:"channel,omitempty"`
	Username       string `yaml:"username" json:"username,omitempty"`
	IconEmoji      string `yaml:"icon_emoji" json:"icon_emoji,omitempty"`
	SendResolved   bool   `yaml:"send_resolved" json:"send_resolved"`
	// MaxAlerts caps the alerts listed in one message (default 5); the
	// rest are counted.
	MaxAlerts int `yaml:"max_alerts" json:"max_alerts,omitempty"`
}

// WebhookConfig posts the Alertmanager v4 webhook payload.
type WebhookConfig struct {
	URL Secret `yaml:"url" json:"url"`
	// URLFile names a file holding the URL instead.
	URLFile      string `yaml:"url_file" json:"url_file,omitempty"`
	SendResolved bool   `yaml:"send_resolved" json:"send_resolved"`
	BearerToken  Secret `yaml:"bearer_token" json:"bearer_token,omitempty"`
	// BearerTokenFile names a file holding the bearer token instead.
	BearerTokenFile string     `yaml:"bearer_token_file" json:"bearer_token_file,omitempty"`
	BasicAuth       *BasicAuth `yaml:"basic_auth" json:"basic_auth,omitempty"`
	// MaxAlerts caps the alerts in one payload (0: no cap); the rest are
	// counted in truncatedAlerts.
	MaxAlerts int `yaml:"max_alerts" json:"max_alerts,omitempty"`
}

// BasicAuth is an HTTP basic authorization header.
type BasicAuth struct {
	Username string `yaml:"username" json:"username"`
	Password Secret `yaml:"password" json:"password"`
	// PasswordFile names a file holding the password instead.
	PasswordFile string `yaml:"password_file" json:"password_file,omitempty"`
}

// EmailConfig sends mail through an SMTP server, with STARTTLS when the
// server offers it.
type EmailConfig struct {
	To []string `yaml:"to" json:"to"`
	// From is the sender address.
	From string `yaml:"from" json:"from"`
	// Smarthost is the SMTP server, host:port.
	Smarthost    string `yaml:"smarthost" json:"smarthost"`
	AuthUsername string `yaml:"auth_username" json:"auth_username,omitempty"`
	AuthPassword Secret `yaml:"auth_password" json:"auth_password,omitempty"`
	// AuthPasswordFile names a file holding the password instead.
	AuthPasswordFile string `yaml:"auth_password_file" json:"auth_password_file,omitempty"`
	// RequireTLS refuses to send when the server does not offer STARTTLS.
	RequireTLS   bool `yaml:"require_tls" json:"require_tls,omitempty"`
	SendResolved bool `yaml:"send_resolved" json:"send_resolved"`
	MaxAlerts    int  `yaml:"max_alerts" json:"max_alerts,omitempty"`
}

// Secret is a configuration value that must not be shown: it prints,
// marshals and logs as "<secret>".
type Secret string

const redacted = "<secret>"

// String implements fmt.Stringer.
func (s Secret) String() string {
	if s == "" {
		return ""
	}
	return redacted
}

// MarshalJSON implements json.Marshaler.
func (s Secret) MarshalJSON() ([]byte, error) { return []byte(strconv.Quote(s.String())), nil }

// MarshalYAML implements yaml.Marshaler.
func (s Secret) MarshalYAML() (any, error) { return s.String(), nil }

// Duration is a time.Duration read from YAML as "30s", "5m", "4h" or "1d".
type Duration time.Duration

// UnmarshalYAML implements yaml.Unmarshaler.
func (d *Duration) UnmarshalYAML(n *yaml.Node) error {
	var s string
	if err := n.Decode(&s); err != nil {
		return err
	}
	v, err := parseDuration(s)
	if err != nil {
		return err
	}
	*d = Duration(v)
	return nil
}

// MarshalYAML implements yaml.Marshaler.
func (d Duration) MarshalYAML() (any, error) { return time.Duration(d).String(), nil }

// MarshalJSON implements json.Marshaler.
func (d Duration) MarshalJSON() ([]byte, error) {
	return []byte(strconv.Quote(time.Duration(d).String())), nil
}

func parseDuration(s string) (time.Duration, error) {
	if n, ok := strings.CutSuffix(s, "d"); ok {
		days, err := strconv.Atoi(n)
		if err != nil || days < 0 || days > 3650 {
			return 0, fmt.Errorf("duration %q: want a whole number of days up to 3650", s)
		}
		return time.Duration(days) * 24 * time.Hour, nil
	}
	d, err := time.ParseDuration(s)
	if err != nil {
		return 0, fmt.Errorf("duration %q: %w", s, err)
	}
	if d < 0 {
		return 0, fmt.Errorf("duration %q is negative", s)
	}
	return d, nil
}

// ParseConfig reads a YAML notification configuration and checks it.
// Unknown keys are errors, so that a typo does not silently drop a route.
func ParseConfig(data []byte) (Config, error) {
	var c Config
	dec := yaml.NewDecoder(strings.NewReader(string(data)))
	dec.KnownFields(true)
	if err := dec.Decode(&c); err != nil && !errors.Is(err, io.EOF) {
		return Config{}, fmt.Errorf("notify config: %w", err)
	}
	if err := readSecretFiles(&c); err != nil {
		return Config{}, fmt.Errorf("notify config: %w", err)
	}
	if _, err := compile(c); err != nil {
		return Config{}, err
	}
	return c, nil
}

// route is a compiled Route.
type route struct {
	key            string
	receiver       string
	groupBy        []string
	groupByAll     bool
	matchers       []matcher
	cont           bool
	groupWait      time.Duration
	groupInterval  time.Duration
	repeatInterval time.Duration
	routes         []*route
}

// compiled is a checked configuration.
type compiled struct {
	root      *route
	receivers map[string]*Receiver
}

// compile checks c and builds the routing tree. An empty config (no
// route) compiles to nil: nothing is sent.
func compile(c Config) (*compiled, error) {
	if c.ExternalURL != "" {
		if u, err := url.Parse(c.ExternalURL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return nil, fmt.Errorf("notify config: external_url %q is not an http(s) URL", c.ExternalURL)
		}
	}
	receivers := map[string]*Receiver{}
	for i, r := range c.Receivers {
		if r == nil || r.Name == "" {
			return nil, fmt.Errorf("notify config: receiver %d has no name", i)
		}
		if receivers[r.Name] != nil {
			return nil, fmt.Errorf("notify config: receiver %q defined twice", r.Name)
		}
		if err := checkReceiver(r); err != nil {
			return nil, fmt.Errorf("notify config: receiver %q: %w", r.Name, err)
		}
		receivers[r.Name] = r
	}
	if c.Route == nil {
		if len(c.Receivers) > 0 {
			return nil, errors.New("notify config: receivers without a route")
		}
		return &compiled{receivers: receivers}, nil
	}
	if c.Route.Receiver == "" {
		return nil, errors.New("notify config: the root route needs a receiver")
	}
	if len(c.Route.Matchers) > 0 || c.Route.Continue {
		return nil, errors.New("notify config: the root route takes every alert: no matchers or continue")
	}
	root := &route{key: "{}", groupWait: DefaultGroupWait, groupInterval: DefaultGroupInterval, repeatInterval: DefaultRepeatInterval}
	if err := compileRoute(c.Route, root, root, receivers, 0); err != nil {
		return nil, fmt.Errorf("notify config: %w", err)
	}
	return &compiled{root: root, receivers: receivers}, nil
}

// compileRoute fills r from cfg, inheriting from parent (r itself for the
// root).
func compileRoute(cfg *Route, r, parent *route, receivers map[string]*Receiver, depth int) error {
	if depth > 32 {
		return errors.New("routes nest deeper than 32")
	}
	r.receiver, r.groupBy, r.groupByAll = parent.receiver, parent.groupBy, parent.groupByAll
	r.groupWait, r.groupInterval, r.repeatInterval = parent.groupWait, parent.groupInterval, parent.repeatInterval
	if cfg.Receiver != "" {
		if receivers[cfg.Receiver] == nil {
			return fmt.Errorf("route %s: unknown receiver %q", r.key, cfg.Receiver)
		}
		r.receiver = cfg.Receiver
	}
	if cfg.GroupBy != nil {
		r.groupBy, r.groupByAll = nil, false
		for _, l := range cfg.GroupBy {
			switch {
			case l == "...":
				r.groupByAll = true
			case validLabelName(l):
				r.groupBy = append(r.groupBy, l)
			default:
				return fmt.Errorf("route %s: group_by %q is not a label name", r.key, l)
			}
		}
		if r.groupByAll && len(cfg.GroupBy) > 1 {
			return fmt.Errorf("route %s: group_by \"...\" stands alone", r.key)
		}
		slices.Sort(r.groupBy)
		r.groupBy = slices.Compact(r.groupBy)
	}
	if cfg.GroupWait != nil {
		r.groupWait = time.Duration(*cfg.GroupWait)
	}
	if cfg.GroupInterval != nil {
		r.groupInterval = time.Duration(*cfg.GroupInterval)
	}
	if cfg.RepeatInterval != nil {
		r.repeatInterval = time.Duration(*cfg.RepeatInterval)
	}
	if r.groupInterval <= 0 || r.repeatInterval <= 0 {
		return fmt.Errorf("route %s: group_interval and repeat_interval must be positive", r.key)
	}
	for _, m := range cfg.Matchers {
		pm, err := parseMatcher(m)
		if err != nil {
			return fmt.Errorf("route %s: %w", r.key, err)
		}
		r.matchers = append(r.matchers, pm)
	}
	r.cont = cfg.Continue
	for i, child := range cfg.Routes {
		if child == nil {
			return fmt.Errorf("route %s: child %d is empty", r.key, i)
		}
		c := &route{key: r.key + "/" + strconv.Itoa(i) + "{" + strings.Join(child.Matchers, ",") + "}"}
		if err := compileRoute(child, c, r, receivers, depth+1); err != nil {
			return err
		}
		r.routes = append(r.routes, c)
	}
	return nil
}

func checkReceiver(r *Receiver) error {
	for _, s := range r.SlackConfigs {
		if s == nil || checkURL(string(s.WebhookURL)) != nil {
			return errors.New("slack_configs: webhook_url must be an http(s) URL")
		}
		if s.MaxAlerts < 0 {
			return errors.New("slack_configs: max_alerts is negative")
		}
	}
	for _, w := range r.WebhookConfigs {
		if w == nil || checkURL(string(w.URL)) != nil {
			return errors.New("webhook_configs: url must be an http(s) URL")
		}
		if w.BearerToken != "" && w.BasicAuth != nil {
			return errors.New("webhook_configs: set bearer_token or basic_auth, not both")
		}
		if w.MaxAlerts < 0 {
			return errors.New("webhook_configs: max_alerts is negative")
		}
	}
	for _, e := range r.EmailConfigs {
		if e == nil || len(e.To) == 0 || e.From == "" {
			return errors.New("email_configs: to and from are required")
		}
		if _, _, err := net.SplitHostPort(e.Smarthost); err != nil {
			return fmt.Errorf("email_configs: smarthost %q is not host:port", e.Smarthost)
		}
		for _, a := range append([]string{e.From}, e.To...) {
			if strings.ContainsAny(a, "\r\n") {
				return errors.New("email_configs: an address holds a line break")
			}
		}
	}
	return nil
}

// readSecretFiles fills each secret from its *_file option: a file keeps
// the secret out of the configuration (a mounted Kubernetes or Docker
// secret, say). Setting both a secret and its file is an error; errors
// name the file, never its contents.
func readSecretFiles(c *Config) error {
	for _, r := range c.Receivers {
		if r == nil {
			continue
		}
		for _, s := range r.SlackConfigs {
			if s != nil {
				if err := readSecretFile(&s.WebhookURL, s.WebhookURLFile, "slack_configs: webhook_url"); err != nil {
					return err
				}
			}
		}
		for _, w := range r.WebhookConfigs {
			if w == nil {
				continue
			}
			if err := readSecretFile(&w.URL, w.URLFile, "webhook_configs: url"); err != nil {
				return err
			}
			if err := readSecretFile(&w.BearerToken, w.BearerTokenFile, "webhook_configs: bearer_token"); err != nil {
				return err
			}
			if w.BasicAuth != nil {
				if err := readSecretFile(&w.BasicAuth.Password, w.BasicAuth.PasswordFile, "webhook_configs: basic_auth password"); err != nil {
					return err
				}
			}
		}
		for _, e := range r.EmailConfigs {
			if e != nil {
				if err := readSecretFile(&e.AuthPassword, e.AuthPasswordFile, "email_configs: auth_password"); err != nil {
					return err
				}
			}
		}
	}
	return nil
}

func readSecretFile(dst *Secret, file, what string) error {
	if file == "" {
		return nil
	}
	if *dst != "" {
		return fmt.Errorf("%s: set the value or its _file, not both", what)
	}
	b, err := readSmallFile(file, 64<<10)
	if err != nil {
		return fmt.Errorf("%s_file: %w", what, err)
	}
	v := strings.TrimRight(string(b), "\r\n")
	if v == "" {
		return fmt.Errorf("%s_file %s is empty", what, file)
	}
	*dst = Secret(v)
	return nil
}

// readSmallFile reads a regular file of at most limit bytes.
func readSmallFile(path string, limit int64) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, err
	}
	if !st.Mode().IsRegular() {
		return nil, fmt.Errorf("%s is not a regular file", path)
	}
	if st.Size() > limit {
		return nil, fmt.Errorf("%s is larger than %d bytes", path, limit)
	}
	return io.ReadAll(io.LimitReader(f, limit))
}

// checkURL accepts absolute http(s) URLs. Its error never holds the URL,
// which may be a secret.
func checkURL(s string) error {
	u, err := url.Parse(s)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return errors.New("not an http(s) URL")
	}
	return nil
}

var labelName = regexp.MustCompile(`^[a-zA-Z_][a-zA-Z0-9_]*$`)

func validLabelName(s string) bool { return labelName.MatchString(s) }

// matcher is one label matcher.
type matcher struct {
	name, op, value string
	re              *regexp.Regexp
}

// parseMatcher reads name="value", name!="value", name=~"re" or
// name!~"re"; the quotes are optional when the value has no spaces,
// commas or quotes.
func parseMatcher(s string) (matcher, error) {
	s = strings.TrimSpace(s)
	i := strings.IndexAny(s, "=!")
	if i <= 0 {
		return matcher{}, fmt.Errorf("matcher %q: want name=\"value\", name!=, name=~ or name!~", s)
	}
	m := matcher{name: strings.TrimSpace(s[:i])}
	rest := s[i:]
	for _, op := range []string{"=~", "!~", "!=", "="} {
		if strings.HasPrefix(rest, op) {
			m.op, rest = op, strings.TrimSpace(rest[len(op):])
			break
		}
	}
	if m.op == "" || !validLabelName(m.name) {
		return matcher{}, fmt.Errorf("matcher %q: want name=\"value\", name!=, name=~ or name!~", s)
	}
	if strings.HasPrefix(rest, `"`) {
		v, err := strconv.Unquote(rest)
		if err != nil {
			return matcher{}, fmt.Errorf("matcher %q: bad quoted value", s)
		}
		m.value = v
	} else {
		if strings.ContainsAny(rest, "\" ,") {
			return matcher{}, fmt.Errorf("matcher %q: quote a value with spaces, commas or quotes", s)
		}
		m.value = rest
	}
	if m.op == "=~" || m.op == "!~" {
		re, err := regexp.Compile("^(?:" + m.value + ")$")
		if err != nil {
			return matcher{}, fmt.Errorf("matcher %q: %w", s, err)
		}
		m.re = re
	}
	return m, nil
}

// matches reports whether labels satisfy m; a missing label is "".
func (m matcher) matches(labels map[string]string) bool {
	v := labels[m.name]
	switch m.op {
	case "=":
		return v == m.value
	case "!=":
		return v != m.value
	case "=~":
		return m.re.MatchString(v)
	default:
		return !m.re.MatchString(v)
	}
}

// String renders m in the syntax parseMatcher reads.
func (m matcher) String() string { return m.name + m.op + strconv.Quote(m.value) }

// match returns the routes that take an alert with labels, depth first.
func (r *route) match(labels map[string]string) []*route {
	for _, m := range r.matchers {
		if !m.matches(labels) {
			return nil
		}
	}
	var all []*route
	for _, c := range r.routes {
		got := c.match(labels)
		all = append(all, got...)
		if got != nil && !c.cont {
			break
		}
	}
	if len(all) == 0 {
		all = append(all, r)
	}
	return all
}
