package apimap

import "fmt"

// named is an enumeration that prints as its JSON name.
type named interface {
	~uint8
	String() string
}

// unmarshalName sets *dst to the value between first and last (inclusive)
// whose name is text, so that every enumeration's JSON reads back.
func unmarshalName[T named](dst *T, text []byte, first, last T, what string) error {
	for v := first; v <= last; v++ {
		if v.String() == string(text) {
			*dst = v
			return nil
		}
	}
	return fmt.Errorf("unknown %s %q", what, text)
}
