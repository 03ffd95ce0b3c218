// Package contain turns IP decisions into enforcement: it sets the status
// of addresses and ranges (monitoring, investigating, blocked, trusted)
// through an undoable change log, computes the effective blocked set
// (trusted always wins, expiries are honoured), renders it as blocklists
// for nginx, ipset, nftables, AWS WAFv2 and Cloudflare, serves it to
// CrowdSec bouncers through a LAPI-compatible decisions API, and posts
// response webhooks on block, unblock and API key revocation.
package contain
