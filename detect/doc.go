// Package detect finds API abuse in stored traces: behavioural detectors
// over a window per caller (a client address or an API key), verdicts
// with risk and certainty, campaign correlation, and the inventory of API
// keys as seen in traffic. It reads the store only through
// store.Querier, in a handful of aggregate queries, and never depends on
// an endpoint's or parameter's name: ids, pages and search terms are
// discovered from the requests themselves.
//
// # Investigations
//
// Investigate reads, for each batch of callers, in one query, their
// profile (per endpoint, key, user agent, address, day and hour) and the
// first requests of their busiest endpoints in time order; then the facts
// of the API keys they used (first request since the lookback, addresses,
// daily volume); then the distribution of the other callers of their
// endpoints (the peers); and, when some caller failed to log in, the
// failed-login cohorts of those endpoints. Three to five queries answer
// a small investigation.
//
// The detectors, each a score in [0, 1] (fired at 0.5), a one-line
// finding with its figures, and a query that reproduces them in
// `tracehound sql`:
//
//   - enumeration: for every numeric path segment and query parameter,
//     the rank correlation of the ids with time, their coverage of their
//     range (and the share of consecutive distinct ids one step apart),
//     and the share of id changes by the commonest step; for non-numeric
//     ones, the distinct values against the endpoint's other callers;
//   - pagination: a parameter that steps by a constant within each
//     traversal, one page after another, deeper than other callers page;
//   - export_volume: bytes and bytes per response as robust z-scores
//     (median and MAD of logarithms) against the endpoint's callers, or
//     the volume itself when the endpoint has too few callers;
//   - endpoint_focus: the share of the busiest endpoint;
//   - key_sharing: networks (/24, or ASNs with enrichment) using the key,
//     and how many at once;
//   - credential_attack: failures on authentication endpoints, and
//     membership of a cohort of addresses that did nothing but fail there
//     in one burst (credential stuffing from many addresses, a few
//     attempts each);
//   - forced_browsing: distinct unknown paths answered 404;
//   - timing_regularity: the coefficient of variation of inter-arrival
//     times, within blocks of 50 gaps;
//   - new_key_volume: the key's age when its volume began.
//
// Risk is the weighted sum of the threat detectors (enumeration,
// credential attacks, forced browsing, export volume, pagination, new
// key), plus, once one of them fired, the amplifiers (timing, focus,
// sharing) and context (campaign, shadow or public endpoint, data centre,
// Tor, abuse reports). A caller whose key (or itself) predates the data
// and whose activity recurs on a daily schedule is discounted, unless it
// enumerates ids or attacks credentials: that is a partner's sync or a
// monitor. Certainty grows with the number of detectors that fired and
// with the requests behind them.
//
// # Campaigns
//
// Addresses are linked when they share their main key and endpoint, or
// their user agent and endpoint while walking complementary id ranges; a
// failed-login cohort is one campaign. Campaigns searches a window for
// them without being told where to look.
//
// # Cost
//
// Each query scans the window once; on DuckDB the scans that filter by
// address or key read those columns in full, about 25 ns of CPU per
// stored span. Investigating a few callers takes three such scans; key
// ages also scan the lookback (14 days by default).
package detect
