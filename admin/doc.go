// Package admin is httpmq's management REST API: streams, consumers,
// stored messages, liveness and readiness, under /v1/admin/, with the
// original httpmq's paths and JSON field names (durations in nanoseconds).
//
// [New] returns the whole API as one http.Handler; mount it on a server
// (or under another mux) as it is. Handlers are thin: decode the body,
// validate it, ask the gate ([auth.Gate.Check]), call the
// [bridge.Bridge], answer the envelope of package internal/httpx. The
// contract is docs/openapi.yaml, kept true by this package's tests.
package admin
