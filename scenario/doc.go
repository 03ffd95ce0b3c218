// Package scenario generates realistic, deterministic API traffic with
// ground truth, emitted as OpenTelemetry spans through the real Go SDK.
//
// The traffic is that of DataVault, a B2B document-management API
// (PRODUCT.md §1): about 500 enterprise clients, internal services,
// monitoring, CI pipelines, trial signups and a partner's nightly bulk
// sync, with their daily rhythms, errors, retries and pagination. A
// scenario adds labelled actors on top of that benign base; the default,
// "datavault", is the reference exfiltration through the undocumented
// GET /v1/admin/export (14,603 requests from three addresses over four
// days, 3,847 collections, about 2.7 GB), with the same figures at every
// scale. Scenarios lists the others.
//
// There are two ways to produce spans:
//
//   - Backfill creates them directly with the SDK's tracer, with explicit
//     timestamps, exactly the attributes otelhttp v0.72 and the DataVault
//     handlers set on a live request, and exports them over OTLP (HTTP or
//     gRPC) through a blocking batch span processor. It writes the ground
//     truth (a manifest of every request and a summary) next to the data,
//     never into the spans. The same seed and options give the same spans,
//     ids included, and the same manifest.
//   - RunLive serves the instrumented DataVault service (NewDataVault) on
//     loopback and drives it with simulated clients making real requests.
//
// Server spans carry the attributes otelhttp v0.72 sets (server.address,
// http.request.method, url.scheme, server.port when not the default,
// network.peer.address, network.peer.port, user_agent.original,
// client.address, url.path, network.protocol.version, http.route,
// http.request.body.size, http.response.body.size,
// http.response.status_code) and those the DataVault handlers add
// (url.query, which otelhttp leaves out; enduser.id, the account;
// app.api_key_id, the public id of the API key, never its secret;
// app.account.plan; app.signup.email_domain on signups). Child spans are
// the cache lookup of the credential and the PostgreSQL, OpenSearch and S3
// calls of the handler.
package scenario
