package llm

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"
)

// testSchema is a small schema with every type the validator knows.
var testSchema = Object(
	Prop("name", String(10)),
	Prop("kind", Enum("a", "b")),
	Prop("count", Integer(0, 100)),
	Prop("ratio", Number(0, 1)),
	Prop("ok", Boolean()),
	Prop("tags", Array(String(0), 2)),
	Prop("inner", Object(Prop("x", Integer(-5, 5)))),
)

func TestSchemaMarshal(t *testing.T) {
	b, err := json.Marshal(testSchema.Describe("test"))
	if err != nil {
		t.Fatal(err)
	}
	want := `{"type":"object","description":"test","properties":{` +
		`"name":{"type":"string"},"kind":{"type":"string","enum":["a","b"]},` +
		`"count":{"type":"integer","minimum":0,"maximum":100},"ratio":{"type":"number","minimum":0,"maximum":1},` +
		`"ok":{"type":"boolean"},"tags":{"type":"array","items":{"type":"string"},"maxItems":2},` +
		`"inner":{"type":"object","properties":{"x":{"type":"integer","minimum":-5,"maximum":5}},"required":["x"],"additionalProperties":false}},` +
		`"required":["name","kind","count","ratio","ok","tags","inner"],"additionalProperties":false}`
	if string(b) != want {
		t.Errorf("json.Marshal(testSchema) =\n%s\nwant\n%s", b, want)
	}
	if _, err := json.Marshal(&Schema{Type: TypeArray}); err == nil {
		t.Error("json.Marshal(array without items) succeeded, want an error")
	}
	if _, err := json.Marshal(Object(Prop("x", nil))); err == nil {
		t.Error("json.Marshal(property without schema) succeeded, want an error")
	}
}

func TestValidateJSON(t *testing.T) {
	valid := `{"name":"n","kind":"a","count":3,"ratio":0.5,"ok":true,"tags":["x"],"inner":{"x":-5}}`
	tests := []struct {
		name, doc string
		wantPath  string // "" for valid
		wantMsg   string
	}{
		{"valid", valid, "", ""},
		{"valid with space and order", ` {"inner":{"x":5},"tags":[],"ok":false,"ratio":1,"count":0,"kind":"b","name":"ñññññññññ"} `, "", ""},
		{"not JSON", `Sure! {"name":`, "$", "not JSON"},
		{"two values", valid + ` {}`, "$", "more than one"},
		{"array at the top", `[1]`, "$", "want an object"},
		{"missing property", `{"name":"n"}`, "$", `missing property "kind"`},
		{"extra property", strings.Replace(valid, `"name":"n"`, `"name":"n","verdict":"Benign"`, 1), "$", `unexpected property "verdict"`},
		{"string too long", strings.Replace(valid, `"n"`, `"12345678901"`, 1), "$.name", "11 characters"},
		{"enum", strings.Replace(valid, `"a"`, `"c"`, 1), "$.kind", "not one of"},
		{"integer as string", strings.Replace(valid, `"count":3`, `"count":"3"`, 1), "$.count", "want integer"},
		{"fraction for integer", strings.Replace(valid, `"count":3`, `"count":3.5`, 1), "$.count", "want an integer"},
		{"integer over max", strings.Replace(valid, `"count":3`, `"count":101`, 1), "$.count", "out of range"},
		{"number under min", strings.Replace(valid, `"ratio":0.5`, `"ratio":-0.1`, 1), "$.ratio", "out of range"},
		{"number overflow", strings.Replace(valid, `"ratio":0.5`, `"ratio":1e999`, 1), "$.ratio", "finite"},
		{"null string", strings.Replace(valid, `"n"`, `null`, 1), "$.name", "got null"},
		{"boolean", strings.Replace(valid, `true`, `"true"`, 1), "$.ok", "want a boolean"},
		{"too many items", strings.Replace(valid, `["x"]`, `["x","y","z"]`, 1), "$.tags", "at most 2"},
		{"bad item", strings.Replace(valid, `["x"]`, `["x",1]`, 1), "$.tags[1]", "want a string"},
		{"nested", strings.Replace(valid, `{"x":-5}`, `{"x":-6}`, 1), "$.inner.x", "out of range"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := testSchema.ValidateJSON([]byte(tc.doc))
			if tc.wantPath == "" {
				if err != nil {
					t.Fatalf("ValidateJSON(%s) = %v, want nil", tc.doc, err)
				}
				return
			}
			var se *SchemaError
			if !errors.As(err, &se) {
				t.Fatalf("ValidateJSON(%s) = %v, want a *SchemaError", tc.doc, err)
			}
			if se.Path != tc.wantPath || !strings.Contains(se.Msg, tc.wantMsg) {
				t.Errorf("ValidateJSON(%s) = %v, want path %s and a message containing %q", tc.doc, err, tc.wantPath, tc.wantMsg)
			}
		})
	}
}
