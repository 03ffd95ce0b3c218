// Package postgres is the state store for tracehound run as several
// replicas: PostgreSQL through pgx, with migrations embedded in the binary
// and applied at open under an advisory lock, so that replicas starting
// together migrate once.
//
// It keeps the semantics of state/sqlite, which the statetest suite pins
// for both. Where SQLite's single writer made a read-then-write
// transaction atomic, this store takes a transaction-level advisory lock
// (map snapshots, triage, IP changes, decisions) or a row lock, so that
// replicas writing at once lose no update; transactions that PostgreSQL
// aborts for a deadlock or a serialization failure are retried.
//
// Times are stored as bigint nanoseconds since the Unix epoch: the state
// interface promises nanosecond precision, which timestamptz (microseconds)
// cannot keep. The schema's tracehound_time(bigint) shows them as
// timestamptz for people querying by hand.
//
// What PostgreSQL does not take that SQLite does: times before 1678 or
// after 2262 (refused with an error; the zero time is kept), and text
// holding a NUL byte or invalid UTF-8. Ids come from identity columns:
// they grow, but a rolled-back insert leaves a gap.
package postgres
