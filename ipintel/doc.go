// Package ipintel enriches IP addresses with what is known about them:
// AbuseIPDB reputation (per-address checks and a locally cached blacklist),
// geography and autonomous system from MaxMind-format .mmdb files and from
// range CSV tables, an embedded set of data-center and cloud ASNs, a Tor exit
// list and reverse DNS.
//
// Every source is optional. An [Enricher] asks the configured sources in
// order of precedence and merges their answers into one [Record]; a source
// that could not answer (no key configured, quota spent, timeout) is named in
// [Record.NotEnriched] with a [Reason] instead of failing the batch.
//
// Nothing here reaches the network unless the caller configures AbuseIPDB or
// reverse DNS; the offline sources read local files only.
package ipintel
