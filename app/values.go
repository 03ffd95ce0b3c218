package app

import (
	"fmt"
	"time"

	"github.com/tracehound/tracehound/store"
)

// Conversions of store.Result values, which are Go scalars of the
// column's type (see store.Result); a NULL is the zero value.

func str(v any) string {
	switch x := v.(type) {
	case string:
		return x
	case nil:
		return ""
	case fmt.Stringer:
		return x.String()
	}
	return fmt.Sprint(v)
}

func num(v any) int64 {
	n, _ := store.AsInt64(v)
	return n
}

func tm(v any) time.Time {
	if t, ok := v.(time.Time); ok {
		return t.UTC()
	}
	return time.Time{}
}
