package apimap

import (
	"encoding"
	"testing"
)

// TestEnumerationsRoundTrip checks that every value of every enumeration
// in the API map's JSON reads back as itself, and that unknown names fail.
func TestEnumerationsRoundTrip(t *testing.T) {
	type textual interface {
		encoding.TextMarshaler
		encoding.TextUnmarshaler
	}
	tests := []struct {
		name   string
		values []encoding.TextMarshaler
		fresh  func() textual
	}{
		{"SegmentKind", []encoding.TextMarshaler{KindLiteral, KindInt, KindUUID, KindCard, KindSlug, KindString},
			func() textual { return new(SegmentKind) }},
		{"Source", []encoding.TextMarshaler{SourcePin, SourceRoute, SourceSpec, SourceClassifier, SourceTrie, SourceOverflow},
			func() textual { return new(Source) }},
		{"ShadowReason", []encoding.TextMarshaler{ShadowPathUndocumented, ShadowMethodUndocumented},
			func() textual { return new(ShadowReason) }},
		{"ZombieKind", []encoding.TextMarshaler{ZombieUnused, ZombieDeprecatedLive},
			func() textual { return new(ZombieKind) }},
		{"DriftKind", []encoding.TextMarshaler{DriftMethod, DriftStatus, DriftQueryParam},
			func() textual { return new(DriftKind) }},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			for _, v := range tc.values {
				text, err := v.MarshalText()
				if err != nil {
					t.Fatal(err)
				}
				got := tc.fresh()
				if err := got.UnmarshalText(text); err != nil {
					t.Errorf("UnmarshalText(%q) = %v", text, err)
					continue
				}
				if back, _ := got.MarshalText(); string(back) != string(text) {
					t.Errorf("UnmarshalText(%q) reads back as %q", text, back)
				}
			}
			if err := tc.fresh().UnmarshalText([]byte("unknown")); err == nil {
				t.Errorf("%s.UnmarshalText(unknown) = nil, want an error", tc.name)
			}
		})
	}
}
