// Package bench measures httpmq against native nats.go on the same
// JetStream server, in the same run. cmd/httpmq-bench is its command
// line; the test suite runs a short mode of every scenario.
//
// [StartServer] runs what is measured: an embedded JetStream server that
// also listens on loopback TCP (for the native client), and httpmq's
// admin, dataplane and session handlers on one loopback HTTP listener
// (HTTP/1.1 and h2c), with the bridge connected over TCP like an
// external deployment. [Run] executes scenarios against it (in this
// process, or in another one started with the command's -serve flag, so
// that client load does not share the server's memory and CPU
// accounting) and returns one [Result] per measurement.
package bench
