package llm

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync/atomic"
	"time"
)

// Defaults of Config.
const (
	// DefaultTimeout bounds one Complete call. Local models on a CPU are
	// slow; a hosted one answers well within it.
	DefaultTimeout = 60 * time.Second
	// DefaultMaxTokens bounds the answer's length.
	DefaultMaxTokens = 1024
	// MaxResponseBytes bounds the response body read from the server.
	MaxResponseBytes = 4 << 20
)

// Error kinds. Errors of Complete wrap one of them (or are an *APIError
// that unwraps to one) so that callers can tell a broken configuration
// from a passing failure; all of them call for the deterministic fallback.
var (
	// ErrUnauthorized: the server refused the API key (HTTP 401 or 403).
	ErrUnauthorized = errors.New("the LLM server refused the API key")
	// ErrRateLimited: the server asks to slow down (HTTP 429); the
	// *APIError has RetryAfter when the server said.
	ErrRateLimited = errors.New("the LLM server is rate limiting")
	// ErrTimeout: no complete answer within Config.Timeout.
	ErrTimeout = errors.New("the LLM did not answer in time")
	// ErrTruncated: the answer hit the token limit (finish_reason "length").
	ErrTruncated = errors.New("the LLM's answer was cut off at the token limit")
	// ErrRefused: the model refused, or a content filter stopped it.
	ErrRefused = errors.New("the LLM refused to answer")
	// ErrInvalidOutput: the response or its content is not what was asked
	// for: not a chat completion, no choices, content that is not JSON or
	// does not match the schema, or a body over MaxResponseBytes.
	ErrInvalidOutput = errors.New("the LLM's answer is not valid")
)

// Config configures a Client.
type Config struct {
	// BaseURL is the server, with or without the /v1 suffix:
	// http://localhost:11434 and http://localhost:11434/v1 are the same.
	// Any other path is used as given (https://host/api/v1,
	// https://host/v1beta/openai). It may not hold credentials.
	BaseURL string
	// Model is the model name the server knows, e.g. "llama3.1:8b".
	Model string
	// APIKey is sent as a Bearer token when set. Local servers need none.
	APIKey Secret
	// Timeout bounds one Complete call, retries included (DefaultTimeout
	// when zero).
	Timeout time.Duration
	// MaxTokens bounds each answer (DefaultMaxTokens when zero).
	MaxTokens int
	// HTTPClient sends the requests (a client without a timeout of its own
	// when nil; Timeout applies either way).
	HTTPClient *http.Client
}

// Client is an OpenAI-compatible chat-completions client that asks for
// JSON in a schema. It is safe for concurrent use.
type Client struct {
	endpoint string
	model    string
	// key is a pointer so that even formatting a Client value with %+v,
	// which does not call methods on unexported fields, prints an address
	// rather than the key. nil without a key.
	key       *Secret
	timeout   time.Duration
	maxTokens int
	http      *http.Client

	// noSchema is set once the server refused a json_schema response
	// format; later calls ask for json_object straight away.
	noSchema atomic.Bool
	// completionTokens is set once the server refused max_tokens and asked
	// for max_completion_tokens (newer OpenAI models).
	completionTokens atomic.Bool
}

// Completer is what Narrate needs of a Client; tests and callers may wrap
// one.
type Completer interface {
	// Complete sends one chat completion and returns its content, checked
	// against req.Schema, and the tokens used.
	Complete(ctx context.Context, req Request) (json.RawMessage, Usage, error)
}

var _ Completer = (*Client)(nil)

// New returns a client for cfg. It checks the configuration but does not
// contact the server.
func New(cfg Config) (*Client, error) {
	endpoint, err := chatEndpoint(cfg.BaseURL)
	if err != nil {
		return nil, err
	}
	if strings.TrimSpace(cfg.Model) == "" {
		return nil, errors.New("llm: a model name is required")
	}
	if cfg.Timeout < 0 || cfg.MaxTokens < 0 {
		return nil, errors.New("llm: timeout and max tokens may not be negative")
	}
	c := &Client{
		endpoint:  endpoint,
		model:     strings.TrimSpace(cfg.Model),
		timeout:   cfg.Timeout,
		maxTokens: cfg.MaxTokens,
		http:      cfg.HTTPClient,
	}
	if key := Secret(strings.TrimSpace(string(cfg.APIKey))); key != "" {
		c.key = &key
	}
	if c.timeout == 0 {
		c.timeout = DefaultTimeout
	}
	if c.maxTokens == 0 {
		c.maxTokens = DefaultMaxTokens
	}
	if c.http == nil {
		c.http = &http.Client{}
	}
	return c, nil
}

// chatEndpoint returns the chat-completions URL of a base URL.
func chatEndpoint(base string) (string, error) {
	base = strings.TrimSpace(base)
	if base == "" {
		return "", errors.New("llm: a base URL is required, e.g. http://localhost:11434/v1")
	}
	u, err := url.Parse(base)
	if err != nil {
		return "", fmt.Errorf("llm: base URL: %w", err)
	}
	if u.Scheme != "http" && u.Scheme != "https" || u.Host == "" {
		return "", fmt.Errorf("llm: base URL %q: want http:// or https:// and a host", base)
	}
	if u.User != nil {
		return "", errors.New("llm: the base URL may not hold credentials; set the API key instead")
	}
	if u.RawQuery != "" || u.Fragment != "" {
		return "", fmt.Errorf("llm: base URL %q: no query or fragment allowed", base)
	}
	p := strings.TrimRight(u.Path, "/")
	p = strings.TrimSuffix(p, "/chat/completions")
	if p == "" {
		p = "/v1"
	}
	u.Path, u.RawPath = p+"/chat/completions", ""
	return u.String(), nil
}

// Endpoint returns the chat-completions URL the client posts to.
func (c *Client) Endpoint() string { return c.endpoint }

// Model returns the configured model name.
func (c *Client) Model() string { return c.model }

// Request is one chat completion.
type Request struct {
	// System and User are the two messages. User is required.
	System string
	User   string
	// Schema is the JSON schema the answer must match, named SchemaName
	// (letters, digits, _ and -). A nil Schema asks for any JSON object.
	Schema     *Schema
	SchemaName string
	// MaxTokens overrides Config.MaxTokens for this request.
	MaxTokens int
}

// Usage is the tokens a completion used, as the server reported them.
type Usage struct {
	PromptTokens     int `json:"prompt_tokens"`
	CompletionTokens int `json:"completion_tokens"`
	TotalTokens      int `json:"total_tokens"`
}

// APIError is an error the server answered with: a non-2xx status and,
// when the server sent one, the message of its {"error": {...}} body.
// It unwraps to ErrUnauthorized (401, 403) or ErrRateLimited (429).
type APIError struct {
	StatusCode int
	// Message, Type, Code and Param are the error body's fields (Message
	// is the body's text when it is not JSON), with the API key scrubbed.
	Message, Type, Code, Param string
	// RetryAfter is the server's Retry-After (429 and 503), 0 when unset.
	RetryAfter time.Duration
}

// Error implements error.
func (e *APIError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "LLM server answered %d %s", e.StatusCode, http.StatusText(e.StatusCode))
	if e.Message != "" {
		b.WriteString(": " + e.Message)
	}
	switch {
	case e.StatusCode == http.StatusUnauthorized || e.StatusCode == http.StatusForbidden:
		b.WriteString(" (" + ErrUnauthorized.Error() + "; check the configured API key)")
	case e.StatusCode == http.StatusTooManyRequests:
		b.WriteString(" (" + ErrRateLimited.Error())
		if e.RetryAfter > 0 {
			b.WriteString("; retry after " + e.RetryAfter.String())
		}
		b.WriteString(")")
	case e.RetryAfter > 0:
		b.WriteString(" (retry after " + e.RetryAfter.String() + ")")
	}
	return b.String()
}

// Unwrap returns the error kind of the status.
func (e *APIError) Unwrap() error {
	switch e.StatusCode {
	case http.StatusUnauthorized, http.StatusForbidden:
		return ErrUnauthorized
	case http.StatusTooManyRequests:
		return ErrRateLimited
	}
	return nil
}

// chatRequest is the body of POST /v1/chat/completions.
type chatRequest struct {
	Model               string          `json:"model"`
	Messages            []chatMessage   `json:"messages"`
	Temperature         float64         `json:"temperature"`
	MaxTokens           int             `json:"max_tokens,omitempty"`
	MaxCompletionTokens int             `json:"max_completion_tokens,omitempty"`
	ResponseFormat      *responseFormat `json:"response_format,omitempty"`
	Stream              bool            `json:"stream"`
}

type chatMessage struct {
	Role    string `json:"role"`
	Content string `json:"content"`
}

type responseFormat struct {
	Type       string      `json:"type"` // "json_schema" or "json_object"
	JSONSchema *jsonSchema `json:"json_schema,omitempty"`
}

type jsonSchema struct {
	Name   string          `json:"name"`
	Strict bool            `json:"strict"`
	Schema json.RawMessage `json:"schema"`
}

// Complete sends req with temperature 0 and a strict json_schema response
// format, and returns the content once it is one JSON value matching
// req.Schema. A server that refuses the json_schema format (HTTP 400 or 422
// about response_format) is asked again with json_object and the schema in
// the system message, and so are later calls; one that wants
// max_completion_tokens instead of max_tokens is asked again with it.
// Usage is returned whenever the server reported it, errors included. A
// nil Client fails with an error rather than a panic, so that a nil
// *Client stored in an interface reads as "no LLM".
func (c *Client) Complete(ctx context.Context, req Request) (json.RawMessage, Usage, error) {
	if c == nil {
		return nil, Usage{}, errors.New("llm: no LLM is configured")
	}
	if strings.TrimSpace(req.User) == "" {
		return nil, Usage{}, errors.New("llm: empty user message")
	}
	name := req.SchemaName
	if name == "" {
		name = "answer"
	}
	var schema json.RawMessage
	if req.Schema != nil {
		if !schemaNameRE(name) {
			return nil, Usage{}, fmt.Errorf("llm: schema name %q: use letters, digits, _ and - (at most 64)", name)
		}
		var err error
		if schema, err = json.Marshal(req.Schema); err != nil {
			return nil, Usage{}, fmt.Errorf("llm: schema %s: %w", name, err)
		}
	}
	tctx, cancel := context.WithTimeout(ctx, c.timeout)
	defer cancel()
	for attempt := 0; ; attempt++ {
		jsonObject := req.Schema == nil || c.noSchema.Load()
		content, usage, err := c.post(tctx, c.body(req, name, schema, jsonObject))
		var ae *APIError
		if attempt < 2 && errors.As(err, &ae) && (ae.StatusCode == http.StatusBadRequest || ae.StatusCode == http.StatusUnprocessableEntity) {
			switch {
			case !jsonObject && ae.mentions("response_format", "json_schema", "grammar", "structured"):
				c.noSchema.Store(true)
				continue
			case !c.completionTokens.Load() && ae.mentions("max_tokens") && ae.mentions("max_completion_tokens"):
				c.completionTokens.Store(true)
				continue
			}
		}
		if err != nil {
			if ctx.Err() != nil {
				return nil, usage, fmt.Errorf("llm: %w", ctx.Err())
			}
			if errors.Is(err, context.DeadlineExceeded) {
				return nil, usage, fmt.Errorf("llm: %w (%s)", ErrTimeout, c.timeout)
			}
			return nil, usage, err
		}
		raw, err := parseContent(content, req.Schema)
		if err != nil {
			return nil, usage, c.scrub(err)
		}
		return raw, usage, nil
	}
}

func schemaNameRE(s string) bool {
	if len(s) > 64 {
		return false
	}
	for _, r := range s {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '_' || r == '-') {
			return false
		}
	}
	return true
}

// body builds the request body. schema is req.Schema marshalled (nil
// without one); in json_object mode it goes into the system message.
func (c *Client) body(req Request, name string, schema json.RawMessage, jsonObject bool) chatRequest {
	system := req.System
	body := chatRequest{Model: c.model, Temperature: 0}
	if jsonObject {
		body.ResponseFormat = &responseFormat{Type: "json_object"}
		note := "Answer with one JSON object and nothing else."
		if schema != nil {
			note = "Answer with one JSON object and nothing else, matching this JSON schema:\n" + string(schema)
		}
		system = strings.TrimSpace(system + "\n\n" + note)
	} else {
		body.ResponseFormat = &responseFormat{Type: "json_schema", JSONSchema: &jsonSchema{Name: name, Strict: true, Schema: schema}}
	}
	if system != "" {
		body.Messages = append(body.Messages, chatMessage{Role: "system", Content: system})
	}
	body.Messages = append(body.Messages, chatMessage{Role: "user", Content: req.User})
	maxTokens := c.maxTokens
	if req.MaxTokens > 0 {
		maxTokens = req.MaxTokens
	}
	if c.completionTokens.Load() {
		body.MaxCompletionTokens = maxTokens
	} else {
		body.MaxTokens = maxTokens
	}
	return body
}

// post sends one request and returns the first choice's content.
func (c *Client) post(ctx context.Context, body chatRequest) (string, Usage, error) {
	b, err := json.Marshal(body)
	if err != nil {
		return "", Usage{}, fmt.Errorf("llm: encode the request: %w", err)
	}
	hreq, err := http.NewRequestWithContext(ctx, http.MethodPost, c.endpoint, bytes.NewReader(b))
	if err != nil {
		return "", Usage{}, fmt.Errorf("llm: %w", err)
	}
	hreq.Header.Set("Content-Type", "application/json")
	hreq.Header.Set("Accept", "application/json")
	if c.key != nil {
		hreq.Header.Set("Authorization", "Bearer "+string(*c.key))
	}
	resp, err := c.http.Do(hreq)
	if err != nil {
		return "", Usage{}, fmt.Errorf("llm: POST %s: %w", c.endpoint, err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, MaxResponseBytes+1))
	if err != nil {
		return "", Usage{}, fmt.Errorf("llm: read the response of %s: %w", c.endpoint, err)
	}
	if len(data) > MaxResponseBytes {
		return "", Usage{}, fmt.Errorf("llm: %w: the response is larger than %d MiB", ErrInvalidOutput, MaxResponseBytes>>20)
	}
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		ae := errorBody(resp.StatusCode, data)
		ae.RetryAfter = retryAfter(resp.Header.Get("Retry-After"), time.Now())
		ae.Message = c.scrubText(ae.Message)
		return "", Usage{}, fmt.Errorf("llm: %w", ae)
	}
	res, err := decodeResponse(data)
	if err != nil {
		var ae *APIError
		if errors.As(err, &ae) {
			ae.Message = c.scrubText(ae.Message)
		}
		return "", res.Usage, c.scrub(fmt.Errorf("llm: %w", err))
	}
	return res.Content, res.Usage, nil
}

// chatResponse is the part of a chat completion the client reads.
type chatResponse struct {
	Choices []struct {
		Message struct {
			Content   json.RawMessage `json:"content"`
			Refusal   *string         `json:"refusal"`
			ToolCalls json.RawMessage `json:"tool_calls"`
		} `json:"message"`
		FinishReason *string `json:"finish_reason"`
	} `json:"choices"`
	Usage *Usage          `json:"usage"`
	Error json.RawMessage `json:"error"`
}

// chatResult is a decoded chat completion.
type chatResult struct {
	Content      string
	FinishReason string
	Usage        Usage
}

// decodeResponse reads a 2xx response body: the first choice's content
// (a string, or an array of text parts), checked for refusals, truncation
// and tool calls. A body holding an error object (some servers answer 200
// with one) is an *APIError.
func decodeResponse(data []byte) (chatResult, error) {
	var resp chatResponse
	var res chatResult
	if err := json.Unmarshal(data, &resp); err != nil {
		return res, fmt.Errorf("%w: the response is not a chat completion: %v", ErrInvalidOutput, err)
	}
	if resp.Usage != nil {
		res.Usage = *resp.Usage
	}
	if len(resp.Error) > 0 && string(resp.Error) != "null" {
		return res, errorBody(http.StatusOK, data)
	}
	if len(resp.Choices) == 0 {
		return res, fmt.Errorf("%w: the response has no choices", ErrInvalidOutput)
	}
	ch := resp.Choices[0]
	if ch.FinishReason != nil {
		res.FinishReason = *ch.FinishReason
	}
	if r := ch.Message.Refusal; r != nil && strings.TrimSpace(*r) != "" {
		return res, fmt.Errorf("%w: %s", ErrRefused, printable(*r, 200))
	}
	switch res.FinishReason {
	case "length":
		return res, fmt.Errorf("%w (finish_reason length); raise max_tokens", ErrTruncated)
	case "content_filter":
		return res, fmt.Errorf("%w: a content filter stopped the answer", ErrRefused)
	case "tool_calls", "function_call":
		return res, fmt.Errorf("%w: the model asked for a tool call", ErrInvalidOutput)
	}
	content, err := messageContent(ch.Message.Content)
	if err != nil {
		return res, err
	}
	if strings.TrimSpace(content) == "" {
		return res, fmt.Errorf("%w: the answer is empty", ErrInvalidOutput)
	}
	res.Content = content
	return res, nil
}

// messageContent reads a message's content: a string, null, or an array of
// {"type": "text", "text": …} parts.
func messageContent(raw json.RawMessage) (string, error) {
	if len(raw) == 0 || string(raw) == "null" {
		return "", nil
	}
	var s string
	if err := json.Unmarshal(raw, &s); err == nil {
		return s, nil
	}
	var parts []struct {
		Type string `json:"type"`
		Text string `json:"text"`
	}
	if err := json.Unmarshal(raw, &parts); err != nil {
		return "", fmt.Errorf("%w: the message content is neither text nor text parts", ErrInvalidOutput)
	}
	var b strings.Builder
	for _, p := range parts {
		if p.Type == "text" || p.Type == "output_text" {
			b.WriteString(p.Text)
		}
	}
	return b.String(), nil
}

// errorBody reads an error body: {"error": {"message", "type", "code",
// "param"}}, {"error": "message"} (Ollama), or text.
func errorBody(status int, data []byte) *APIError {
	ae := &APIError{StatusCode: status}
	var body struct {
		Error json.RawMessage `json:"error"`
	}
	if json.Unmarshal(data, &body) == nil && len(body.Error) > 0 {
		var obj struct {
			Message string `json:"message"`
			Type    string `json:"type"`
			Param   any    `json:"param"`
			Code    any    `json:"code"`
		}
		var msg string
		if json.Unmarshal(body.Error, &obj) == nil {
			ae.Message, ae.Type = printable(obj.Message, 300), printable(obj.Type, 60)
			ae.Code, ae.Param = printable(scalar(obj.Code), 60), printable(scalar(obj.Param), 60)
			return ae
		}
		if json.Unmarshal(body.Error, &msg) == nil {
			ae.Message = printable(msg, 300)
			return ae
		}
	}
	ae.Message = printable(string(data), 200)
	return ae
}

// scalar formats a JSON scalar (codes are strings or numbers); others are "".
func scalar(v any) string {
	switch v := v.(type) {
	case string:
		return v
	case float64:
		return strconv.FormatFloat(v, 'f', -1, 64)
	}
	return ""
}

// mentions reports whether the error's message or param names any of words.
func (e *APIError) mentions(words ...string) bool {
	text := strings.ToLower(e.Message + " " + e.Param + " " + e.Code)
	for _, w := range words {
		if strings.Contains(text, w) {
			return true
		}
	}
	return false
}

// retryAfter reads a Retry-After header: seconds or an HTTP date.
func retryAfter(h string, now time.Time) time.Duration {
	h = strings.TrimSpace(h)
	if h == "" {
		return 0
	}
	if s, err := strconv.Atoi(h); err == nil {
		if s < 0 {
			return 0
		}
		return time.Duration(min(s, 86400)) * time.Second
	}
	if t, err := http.ParseTime(h); err == nil && t.After(now) {
		return min(t.Sub(now), 24*time.Hour).Round(time.Second)
	}
	return 0
}

// printable keeps at most n bytes of s, with control characters as spaces
// and runs of space collapsed, for a one-line error message.
func printable(s string, n int) string {
	s = strings.Map(func(r rune) rune {
		if r < ' ' || r == 0x7f {
			return ' '
		}
		return r
	}, s)
	return truncate(strings.Join(strings.Fields(s), " "), n)
}

// scrubText replaces the API key in s.
func (c *Client) scrubText(s string) string {
	if c.key == nil || len(*c.key) < 4 {
		return s
	}
	return strings.ReplaceAll(s, string(*c.key), "[REDACTED]")
}

// scrub returns err with the API key replaced in its text, keeping the
// error kinds it wraps.
func (c *Client) scrub(err error) error {
	if err == nil || c.scrubText(err.Error()) == err.Error() {
		return err
	}
	return &scrubbed{msg: c.scrubText(err.Error()), err: err}
}

// scrubbed is an error whose text has been scrubbed of the API key.
type scrubbed struct {
	msg string
	err error
}

func (e *scrubbed) Error() string { return e.msg }
func (e *scrubbed) Unwrap() error { return e.err }
