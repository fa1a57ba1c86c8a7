// Package gosdk holds the Go SDK's (clients/go, a module of its own)
// tests and examples that need a real httpmq: they start the server's
// packages over an embedded JetStream, which the SDK's module must not
// require. The SDK's pure unit tests stay beside it.
package gosdk
