// Package apimap builds the API map: it turns the raw paths of HTTP server
// spans into endpoint templates, compares the result with an OpenAPI spec,
// tags endpoints by function and sensitivity, scores their risk, and
// builds the endpoint inventory from the span store (Build). Everything but
// Build and Services is pure logic; those two only read through a
// store.Querier. Keeping snapshots, reviews, specs and pins is the
// caller's.
//
// # Templating
//
// A Templater resolves each Observation to a template such as
// /documents/{document_id}. The first step that applies wins:
//
//  1. Normalise: strip the query and fragment, percent-decode once, drop
//     empty segments (so // collapses and a trailing / is dropped, and
//     recorded in Result.TrailingSlash).
//  2. Pin: a user-pinned template that matches the path.
//  3. Route: the http.route attribute, when it is trustworthy: it has a
//     parameter, its literal segments look like no id, it fits the raw path
//     (possibly mounted under a prefix of words such as /api/v2) and differs
//     from it. Every framework syntax (:id, <int:id>, {id:[0-9]+}, [id],
//     *path, {path...}) becomes {id}.
//  4. Spec: the service's OpenAPI spec, with its servers' base paths;
//     constants before parameters, then fewest parameters.
//  5. Classifier: ClassifySegment makes ids, UUIDs, ObjectIds, ULIDs,
//     hashes, dates, tokens, e-mails, IPs, JWTs, phones, SSNs and card
//     numbers parameters, and keeps api, v1..v99, N.N and dictionary words
//     (words.txt, up to three words per segment) literal.
//  6. Cardinality trie: what is still literal is inserted into a trie per
//     service and host, one node per segment with its traffic. Top-down,
//     the literal children of a node collapse into one {param} child, their
//     subtrees merged, when
//     (a) at least 10 of them are undecided slugs (not words), each carries
//     at most 10% of the node's traffic, at least one was answered with a
//     2xx, and at least 80% of them share a next-segment shape (the path
//     ends there, goes on with a parameter, or goes on with a literal); the
//     words among the children stay literal beside the parameter; or
//     (b) the node has more than 100 distinct literal children, whatever
//     they are; only user-reserved words and do-not-merge paths stay.
//     The children of the root, and of a leading run of reserved segments
//     (/api, /api/v1), are never collapsed. A parameter directly under a
//     parameter needs rule (b), so GitHub-style /repos/{owner}/{repo} needs
//     many owners and many repos. A single digit becomes a parameter only
//     with peer evidence: its parameter sibling holds integers, or three or
//     more single digits are siblings.
//
// Paths longer than MaxSegments (10) keep their first 9 segments and end in
// {rest}. A service with more than Options.MaxTemplatesPerService templates
// (default 2000) sends the least-visited ones to OverflowTemplate; pinned and
// documented templates always stay. Do-not-merge paths stay literal
// everywhere.
//
// Parameter names come from the spec, the route or the pin when one gave the
// template. Otherwise a value kind names itself ({date}, {email}, {ip},
// {phone}, {ssn}, {card_number}, {jwt}); an identifier under a literal
// collection is named after the collection's singular with an _id suffix
// (/documents/{document_id}, /order-items/{order_item_id},
// /payment_intents/{payment_intent_id}); any other identifier, such as one
// directly under a parameter or under /v1, is {id}. Repeated names in one
// template get _2, _3. Templating a template returns it unchanged: {name}
// segments are kept as parameters with their names.
//
// An endpoint is a service, method and template; EndpointID hashes the three
// into a stable id.
//
// # Specs and diffs
//
// LoadSpec reads an OpenAPI 3 document (JSON or YAML) with kin-openapi and
// prefixes every path with its servers' base paths. DiffSpec compares the
// observed endpoints with it: shadow endpoints (undocumented path or method
// with real traffic), zombies (documented but unused in the window, or
// deprecated but still called) and drift (undocumented methods, status codes
// and query parameters).
//
// # Tags
//
// ClassifyEndpoint tags an endpoint's functions (auth, admin, export,
// search, crud_read, crud_write, health, upload, graphql) and sensitivity
// (credentials, pii, bulk) from generic word lists, its method, its query
// parameter names and its response sizes, with the evidence for each tag.
package apimap
