// Package exclude keeps benign traffic out of detection rules without
// switching the rules off: exclusions, their compilation into the rules'
// SQL, the dry run that shows what one would have suppressed, and
// suggestions.
//
// An exclusion is a set of conditions on spans (path glob or API-map
// template, IP address or range, API key, user agent, autonomous system,
// status code, or a guarded SQL predicate), matched all or any, scoped to
// one rule, some rules, the rules that exist when it is created or every
// rule, with a required reason and expiry. It is compiled into a
// predicate whose values are positional arguments, and Rewrite applies it
// inside a rule's query: every read of the traces table becomes a read of
// the rows the predicate does not match, so that the exclusion acts
// before the rule's aggregation and threshold (Sigma filters, CrowdSec
// whitelists). Notification silences, which act on alerts after the
// rules, are not exclusions.
//
// DryRun replays the rules an exclusion covers over history through
// alert.Backtest with and without it and reports the notifications that
// would disappear or appear, the rows it matches per day and by key, and
// the suppressions that must not pass unnoticed: notifications triaged as
// true positives, and alerts or traffic from addresses rated malicious.
// Suggest proposes the narrowest exclusion that would have removed the
// notifications of a benign caller, each with its dry run.
//
// A shadow exclusion filters nothing: it records the rows it matches and
// the notifications it would have suppressed, for review.
package exclude
