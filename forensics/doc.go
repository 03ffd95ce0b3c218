// Package forensics answers forensic questions in plain English over the
// trace store: a deterministic parser turns a question into a typed
// intermediate representation (IR), a compiler turns the IR into a
// time-bounded, row-capped SELECT in the ClickHouse dialect subset that both
// trace stores run, and Ask runs it with a per-hour or per-day timeline.
//
// The parser never guesses: every word of a question is either part of the
// grammar, a value (a path, an address, a number, a quoted string) or a name
// resolved against the endpoints and query parameters observed in traffic
// (a Catalog). Anything else is refused with "did you mean" suggestions.
// Values reach SQL as positional arguments, or, for alert rules that are
// stored as text, as quoted literals; never by pasting user text into SQL.
//
// Client addresses are matched without IP functions, which the two engines
// do not share: an IPv4 prefix by the textual prefixes of dotted addresses;
// an IPv6 prefix or address, which peer_ip may spell in many ways, by
// resolving it against the IPv6 addresses seen in the question's window
// (Ask), or, without the store, by a pattern that accepts exactly the
// spellings of the addresses inside (see addr.go, which also says how
// IPv4-mapped addresses and zones are read).
//
// Questions the grammar refuses may go to an optional LLM (PrepareLLM,
// AskLLM), which writes the same IR as JSON: DecodeIR checks it against the
// catalog, and the same compiler and guard apply. The LLM never writes SQL.
package forensics
