package llm

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"strings"
)

// parseContent reads a model's answer as one JSON value matching schema
// (any JSON object when schema is nil) and returns it compacted. It
// tolerates what local models wrap JSON in even in JSON mode: surrounding
// space, a leading <think>…</think> block (reasoning models) and a
// Markdown code fence. Errors wrap ErrInvalidOutput and quote the start of
// the content.
func parseContent(content string, schema *Schema) (json.RawMessage, error) {
	s := unwrapContent(content)
	if schema == nil {
		if err := jsonObject(s); err != nil {
			return nil, fmt.Errorf("llm: %w: %v; the answer begins %q", ErrInvalidOutput, err, printable(content, 80))
		}
	} else if err := schema.ValidateJSON([]byte(s)); err != nil {
		return nil, fmt.Errorf("llm: %w: %w; the answer begins %q", ErrInvalidOutput, err, printable(content, 80))
	}
	var b bytes.Buffer
	if err := json.Compact(&b, []byte(s)); err != nil {
		return nil, fmt.Errorf("llm: %w: %v", ErrInvalidOutput, err)
	}
	return b.Bytes(), nil
}

// jsonObject checks that s is exactly one JSON object, of any properties.
func jsonObject(s string) error {
	var m map[string]json.RawMessage
	dec := json.NewDecoder(strings.NewReader(s))
	if err := dec.Decode(&m); err != nil {
		return fmt.Errorf("not a JSON object: %v", err)
	}
	if m == nil {
		return fmt.Errorf("not a JSON object: null")
	}
	if _, err := dec.Token(); err != io.EOF {
		return fmt.Errorf("more than one JSON value")
	}
	return nil
}

// unwrapContent strips space, a leading <think>…</think> block and a
// Markdown code fence around the JSON.
func unwrapContent(s string) string {
	s = strings.TrimSpace(s)
	if rest, ok := strings.CutPrefix(s, "<think>"); ok {
		if _, after, found := strings.Cut(rest, "</think>"); found {
			s = strings.TrimSpace(after)
		}
	}
	if rest, ok := strings.CutPrefix(s, "```"); ok {
		if nl := strings.IndexByte(rest, '\n'); nl >= 0 && strings.HasSuffix(rest, "```") {
			lang := strings.TrimSpace(rest[:nl])
			if lang == "" || strings.EqualFold(lang, "json") {
				s = strings.TrimSpace(strings.TrimSuffix(rest[nl+1:], "```"))
			}
		}
	}
	return s
}
