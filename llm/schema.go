package llm

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"slices"
	"strconv"
	"unicode/utf8"
)

// Type is a JSON Schema type.
type Type string

// The types a Schema may have.
const (
	TypeObject  Type = "object"
	TypeArray   Type = "array"
	TypeString  Type = "string"
	TypeNumber  Type = "number"
	TypeInteger Type = "integer"
	TypeBoolean Type = "boolean"
)

// Schema is the subset of JSON Schema that strict structured outputs accept
// and that this package validates: closed objects whose properties are all
// required, arrays with an item schema and an optional bound, strings with
// an optional enum, and bounded numbers. It marshals to the JSON Schema sent
// in response_format; ValidateJSON checks a model's answer against it,
// because servers may ignore the schema.
type Schema struct {
	Type        Type
	Description string
	// Properties are an object's properties, in the order a model should
	// write them. Every one is required and no other is allowed, as strict
	// mode demands.
	Properties []Property
	// Items is the schema of an array's elements; MaxItems bounds their
	// number (0: unbounded).
	Items    *Schema
	MaxItems int
	// Enum lists the values a string may take (empty: any).
	Enum []string
	// Minimum and Maximum bound a number or integer (nil: unbounded).
	Minimum, Maximum *float64
	// MaxLength bounds a string, in characters (0: unbounded). It is
	// checked here but not sent: not every strict server accepts it.
	MaxLength int
}

// Property is a named property of an object schema.
type Property struct {
	Name   string
	Schema *Schema
}

// Object returns a closed object schema with the given properties.
func Object(props ...Property) *Schema { return &Schema{Type: TypeObject, Properties: props} }

// Prop returns a property for Object.
func Prop(name string, s *Schema) Property { return Property{Name: name, Schema: s} }

// String returns a string schema of at most maxLength characters (0: any
// length).
func String(maxLength int) *Schema { return &Schema{Type: TypeString, MaxLength: maxLength} }

// Enum returns a string schema that takes one of values.
func Enum(values ...string) *Schema { return &Schema{Type: TypeString, Enum: values} }

// Integer returns an integer schema bounded by min and max.
func Integer(min, max int64) *Schema {
	lo, hi := float64(min), float64(max)
	return &Schema{Type: TypeInteger, Minimum: &lo, Maximum: &hi}
}

// Number returns a number schema bounded by min and max.
func Number(min, max float64) *Schema {
	return &Schema{Type: TypeNumber, Minimum: &min, Maximum: &max}
}

// Boolean returns a boolean schema.
func Boolean() *Schema { return &Schema{Type: TypeBoolean} }

// Array returns an array schema of items, at most maxItems of them (0:
// unbounded).
func Array(items *Schema, maxItems int) *Schema {
	return &Schema{Type: TypeArray, Items: items, MaxItems: maxItems}
}

// Describe sets the description a model reads and returns s.
func (s *Schema) Describe(text string) *Schema {
	s.Description = text
	return s
}

// MarshalJSON writes the JSON Schema, with object properties in order,
// every property required and additionalProperties false.
func (s *Schema) MarshalJSON() ([]byte, error) {
	var b bytes.Buffer
	if err := s.write(&b); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}

func (s *Schema) write(b *bytes.Buffer) error {
	str := func(v string) {
		q, _ := json.Marshal(v)
		b.Write(q)
	}
	b.WriteString(`{"type":`)
	str(string(s.Type))
	if s.Description != "" {
		b.WriteString(`,"description":`)
		str(s.Description)
	}
	switch s.Type {
	case TypeObject:
		b.WriteString(`,"properties":{`)
		for i, p := range s.Properties {
			if p.Schema == nil {
				return fmt.Errorf("schema property %q has no schema", p.Name)
			}
			if i > 0 {
				b.WriteByte(',')
			}
			str(p.Name)
			b.WriteByte(':')
			if err := p.Schema.write(b); err != nil {
				return err
			}
		}
		b.WriteString(`},"required":[`)
		for i, p := range s.Properties {
			if i > 0 {
				b.WriteByte(',')
			}
			str(p.Name)
		}
		b.WriteString(`],"additionalProperties":false`)
	case TypeArray:
		if s.Items == nil {
			return fmt.Errorf("array schema has no items")
		}
		b.WriteString(`,"items":`)
		if err := s.Items.write(b); err != nil {
			return err
		}
		if s.MaxItems > 0 {
			b.WriteString(`,"maxItems":` + strconv.Itoa(s.MaxItems))
		}
	case TypeString:
		if len(s.Enum) > 0 {
			b.WriteString(`,"enum":[`)
			for i, e := range s.Enum {
				if i > 0 {
					b.WriteByte(',')
				}
				str(e)
			}
			b.WriteByte(']')
		}
	case TypeNumber, TypeInteger:
		if s.Minimum != nil {
			b.WriteString(`,"minimum":` + strconv.FormatFloat(*s.Minimum, 'g', -1, 64))
		}
		if s.Maximum != nil {
			b.WriteString(`,"maximum":` + strconv.FormatFloat(*s.Maximum, 'g', -1, 64))
		}
	case TypeBoolean:
	default:
		return fmt.Errorf("unsupported schema type %q", s.Type)
	}
	b.WriteByte('}')
	return nil
}

// SchemaError is a JSON document that does not match a Schema.
type SchemaError struct {
	// Path locates the offending value: "$", "$.filters[2].op".
	Path string
	Msg  string
}

// Error implements error.
func (e *SchemaError) Error() string { return e.Path + ": " + e.Msg }

// ValidateJSON checks that data is exactly one JSON value matching s. An
// error is a *SchemaError.
func (s *Schema) ValidateJSON(data []byte) error {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return &SchemaError{Path: "$", Msg: "not JSON: " + err.Error()}
	}
	if _, err := dec.Token(); err != io.EOF {
		return &SchemaError{Path: "$", Msg: "more than one JSON value"}
	}
	return s.validate("$", v)
}

func (s *Schema) validate(path string, v any) error {
	fail := func(format string, args ...any) error {
		return &SchemaError{Path: path, Msg: fmt.Sprintf(format, args...)}
	}
	switch s.Type {
	case TypeObject:
		m, ok := v.(map[string]any)
		if !ok {
			return fail("want an object, got %s", jsonType(v))
		}
		for _, p := range s.Properties {
			pv, ok := m[p.Name]
			if !ok {
				return fail("missing property %q", p.Name)
			}
			if err := p.Schema.validate(path+"."+p.Name, pv); err != nil {
				return err
			}
		}
		var extra []string
		for k := range m {
			if !slices.ContainsFunc(s.Properties, func(p Property) bool { return p.Name == k }) {
				extra = append(extra, k)
			}
		}
		if len(extra) > 0 {
			slices.Sort(extra)
			return fail("unexpected property %q", extra[0])
		}
	case TypeArray:
		a, ok := v.([]any)
		if !ok {
			return fail("want an array, got %s", jsonType(v))
		}
		if s.MaxItems > 0 && len(a) > s.MaxItems {
			return fail("%d items, at most %d allowed", len(a), s.MaxItems)
		}
		for i, e := range a {
			if err := s.Items.validate(path+"["+strconv.Itoa(i)+"]", e); err != nil {
				return err
			}
		}
	case TypeString:
		str, ok := v.(string)
		if !ok {
			return fail("want a string, got %s", jsonType(v))
		}
		if s.MaxLength > 0 && utf8.RuneCountInString(str) > s.MaxLength {
			return fail("%d characters, at most %d allowed", utf8.RuneCountInString(str), s.MaxLength)
		}
		if len(s.Enum) > 0 && !slices.Contains(s.Enum, str) {
			return fail("%q is not one of %q", truncate(str, 40), s.Enum)
		}
	case TypeInteger, TypeNumber:
		n, ok := v.(json.Number)
		if !ok {
			return fail("want %s, got %s", s.Type, jsonType(v))
		}
		var f float64
		if s.Type == TypeInteger {
			i, err := n.Int64()
			if err != nil {
				return fail("want an integer, got %s", truncate(n.String(), 40))
			}
			f = float64(i)
		} else {
			var err error
			if f, err = n.Float64(); err != nil || math.IsInf(f, 0) {
				return fail("%s is not a finite number", truncate(n.String(), 40))
			}
		}
		if s.Minimum != nil && f < *s.Minimum || s.Maximum != nil && f > *s.Maximum {
			return fail("%s is out of range [%s, %s]", n, bound(s.Minimum), bound(s.Maximum))
		}
	case TypeBoolean:
		if _, ok := v.(bool); !ok {
			return fail("want a boolean, got %s", jsonType(v))
		}
	default:
		return fail("unsupported schema type %q", s.Type)
	}
	return nil
}

func bound(f *float64) string {
	if f == nil {
		return "∞"
	}
	return strconv.FormatFloat(*f, 'g', -1, 64)
}

func jsonType(v any) string {
	switch v.(type) {
	case nil:
		return "null"
	case map[string]any:
		return "an object"
	case []any:
		return "an array"
	case string:
		return "a string"
	case json.Number:
		return "a number"
	case bool:
		return "a boolean"
	}
	return fmt.Sprintf("%T", v)
}

// truncate shortens s to at most n bytes on a rune boundary, marking the cut.
func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n] + "…"
}
