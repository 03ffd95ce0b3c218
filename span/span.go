// Package span defines tracehound's normalised span: one row of the traces
// table, with the HTTP facts of a server span lifted out of its attributes
// into typed columns, whichever generation of OpenTelemetry semantic
// conventions the instrumentation used.
package span

import "time"

// Span is one stored span. HTTP columns are filled for SERVER spans only;
// other spans keep them zero so that queries over http_* count each request
// once. SpanAttributes and ResourceAttributes keep the original attributes,
// stringified, with credential values replaced by a redaction marker; on a
// server span, an attribute whose value a typed column now holds unchanged
// is not repeated.
type Span struct {
	Timestamp     time.Time // span start, UTC
	TraceID       string    // 32 lowercase hex digits
	SpanID        string    // 16 lowercase hex digits
	ParentSpanID  string    // empty for a root span
	ServiceName   string
	SpanName      string
	SpanKind      string // Server, Client, Internal, Producer, Consumer or Unspecified
	DurationNS    uint64
	OtelStatus    string // Unset, Ok or Error
	HTTPMethod    string
	HTTPTarget    string // path, plus "?" and the query when there is one
	HTTPPath      string
	HTTPQuery     string
	HTTPRoute     string
	StatusCode    uint16 // 0 when the span has none
	PeerIP        string // the original client (client.address and its predecessors)
	NetPeerIP     string // the socket peer (network.peer.address and its predecessors)
	ServerAddress string
	UserAgent     string
	RequestBytes  int64
	ResponseBytes int64
	UserID        string
	APIKeyID      string // a stable id or keyed hash of the caller's credential, never the secret

	SpanAttributes     []Attr
	ResourceAttributes []Attr
}

// Attr is one attribute, its value stringified the way the OpenTelemetry
// Collector's ClickHouse exporter does (numbers in decimal, arrays as JSON).
type Attr struct {
	Key   string
	Value string
}

// Attribute returns the value of the span attribute key and whether it is set.
func (s *Span) Attribute(key string) (string, bool) {
	for _, a := range s.SpanAttributes {
		if a.Key == key {
			return a.Value, true
		}
	}
	return "", false
}

// Span kinds as stored in span_kind.
const (
	KindUnspecified = "Unspecified"
	KindInternal    = "Internal"
	KindServer      = "Server"
	KindClient      = "Client"
	KindProducer    = "Producer"
	KindConsumer    = "Consumer"
)

// DropInvalid removes, in place, the spans that cannot be stored because
// they lack a trace or span id (OTLP allows neither to be empty), and
// returns the remaining spans and how many were removed.
func DropInvalid(spans []Span) ([]Span, int) {
	valid := spans[:0]
	for _, s := range spans {
		if len(s.TraceID) == 32 && len(s.SpanID) == 16 {
			valid = append(valid, s)
		}
	}
	return valid, len(spans) - len(valid)
}
