package exclude

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"strings"

	"gopkg.in/yaml.v3"
)

// MaxFileBytes bounds an exclusion file.
const MaxFileBytes = 1 << 20

// fileYAML is an exclusion file holding several exclusions.
type fileYAML struct {
	Exclusions []Exclusion `yaml:"exclusions"`
}

// ParseFile reads exclusions from YAML (or JSON, which is YAML): either
// one exclusion as a mapping, or a top-level exclusions: list. Unknown
// fields are refused. Every exclusion is normalized and validated (see
// Exclusion.Validate, except that the id may be left for the creator to
// choose); the errors of all of them are returned together.
func ParseFile(data []byte) ([]Exclusion, error) {
	if len(data) > MaxFileBytes {
		return nil, invalidf("the file is %d bytes; at most %d", len(data), MaxFileBytes)
	}
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		return nil, invalidf("%s", strings.TrimPrefix(err.Error(), "yaml: "))
	}
	if doc.Kind != yaml.DocumentNode || len(doc.Content) == 0 || doc.Content[0].Kind != yaml.MappingNode {
		return nil, invalidf("want one exclusion as a mapping, or an exclusions: list")
	}
	list := false
	for i := 0; i+1 < len(doc.Content[0].Content); i += 2 {
		if doc.Content[0].Content[i].Value == "exclusions" {
			list = true
		}
	}
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	var out []Exclusion
	if list {
		var f fileYAML
		if err := dec.Decode(&f); err != nil {
			return nil, invalidf("%s", strings.TrimPrefix(err.Error(), "yaml: "))
		}
		out = f.Exclusions
	} else {
		var e Exclusion
		if err := dec.Decode(&e); err != nil {
			return nil, invalidf("%s", strings.TrimPrefix(err.Error(), "yaml: "))
		}
		out = []Exclusion{e}
	}
	var more yaml.Node
	if err := dec.Decode(&more); !errors.Is(err, io.EOF) {
		return nil, invalidf("more than one YAML document; put the exclusions under one exclusions: list")
	}
	if len(out) == 0 {
		return nil, invalidf("no exclusions in the file")
	}
	var errs []error
	seen := map[string]bool{}
	for i := range out {
		out[i].Normalize()
		check := out[i]
		if check.ID == "" {
			check.ID = "draft" // the creator names it
		}
		if err := check.Validate(); err != nil {
			errs = append(errs, fmt.Errorf("exclusion %d (%s): %w", i+1, clip(out[i].ID), err))
		}
		if out[i].ID != "" && seen[out[i].ID] {
			errs = append(errs, invalidf("exclusion %d: the id %s is used twice", i+1, clip(out[i].ID)))
		}
		seen[out[i].ID] = true
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	return out, nil
}

// UnmarshalYAML reads an expiry from a YAML scalar: never, a time or a
// duration.
func (e *Expiry) UnmarshalYAML(n *yaml.Node) error {
	if n.Kind != yaml.ScalarNode {
		return invalidf("line %d: expires_at: want never, an RFC 3339 time or a duration such as 30d", n.Line)
	}
	return e.UnmarshalText([]byte(n.Value))
}

// MarshalYAML writes an expiry as its text.
func (e Expiry) MarshalYAML() (any, error) { return e.String(), nil }
