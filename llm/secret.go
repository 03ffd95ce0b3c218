package llm

import "log/slog"

// Secret is a credential. It formats, logs and marshals as "[REDACTED]" so
// that a configuration holding it can be printed or logged without leaking
// it; only the client reads its value, to build the Authorization header.
type Secret string

// String implements fmt.Stringer.
func (Secret) String() string { return "[REDACTED]" }

// GoString implements fmt.GoStringer, for %#v.
func (Secret) GoString() string { return `"[REDACTED]"` }

// LogValue implements slog.LogValuer.
func (Secret) LogValue() slog.Value { return slog.StringValue("[REDACTED]") }

// MarshalText implements encoding.TextMarshaler.
func (Secret) MarshalText() ([]byte, error) { return []byte("[REDACTED]"), nil }
