// Package sqlguard decides whether a query may run against the trace store:
// exactly one read-only SELECT (or WITH … SELECT, or DuckDB's FROM-first
// form) over allow-listed tables, calling only allow-listed functions, with
// no syntax that reaches outside the store (files, URLs, other databases,
// the catalog, settings). It is used by `tracehound sql`, /api/v1/sql,
// alert rules and natural-language forensics.
//
// The guard works on tokens, not text, so keywords hidden in string
// literals or comments neither trigger nor escape it. It reads every query
// twice, once with backslashes in strings as plain characters (DuckDB) and
// once as escapes (ClickHouse), and both readings must pass. Anything the
// two engines, or an engine and a human reader, might read differently is
// refused rather than interpreted: nested or MySQL-style comments, #
// comments, a carriage return inside a -- comment, E” and U&” strings,
// $ inside identifiers, non-ASCII letters in identifiers, invisible and
// bidirectional control characters.
//
// Its checks are:
//   - one statement, starting with SELECT, WITH or FROM;
//   - no keyword that writes, changes settings, loads code, inspects the
//     catalog or controls transactions (INSERT, SET, ATTACH, COPY, PRAGMA,
//     INSTALL, LOAD, EXPLAIN, DESCRIBE, SHOW, SUMMARIZE, PIVOT, TABLE,
//     VALUES, INTO, SETTINGS, …), wherever it appears;
//   - every relation after FROM, JOIN or a comma in a FROM list is an
//     allowed table, a common table expression in scope, or a subquery:
//     no table functions, no schema-qualified names, no file names in
//     strings or quoted identifiers (DuckDB replacement scans);
//   - every function call (a word or quoted identifier followed by "(")
//     is on the allow-list; refusals name the function and suggest the
//     closest allowed one;
//   - no FORMAT clause and no "x IN table" (ClickHouse reads the table);
//   - size limits (Limits): bytes, tokens and bracket nesting, checked
//     without recursion so hostile input cannot exhaust the stack.
//
// # Layers
//
// The guard is the first of several layers, and none of them trusts the
// others:
//  1. Queries the product writes itself (NL forensics, detectors) are built
//     by typed compilers that escape literals; they pass the guard too.
//  2. The guard refuses anything outside the read-only subset, with a
//     message that says why ([ErrRefused], [RefusalError]).
//  3. The store runs what passes with a row cap and a timeout
//     (store.QueryOptions) through store.Querier. On ClickHouse the query
//     runs as a user granted SELECT on the trace table only, with the
//     per-query settings of [ClickHouseSettings]: readonly=2, no DDL,
//     execution time, result rows and memory bounded by the same Limits.
//     On DuckDB the store's own configuration (external access, extension
//     autoloading, lock_configuration) is the last line; the guard's
//     tests in store/duckdb record which hostile inputs DuckDB itself
//     would also stop.
//
// BindNow and RewriteNow, which pin now() and friends to an evaluation
// time, share the tokenizer, so they never rewrite text in a literal or a
// comment.
package sqlguard
