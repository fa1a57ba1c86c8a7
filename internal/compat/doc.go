// Package compat is the compatibility suite for the original httpmq's
// clients: its tests send, byte for byte, the requests that the original
// Go SDK (github.com/alwitt/httpmq-go) and Python SDK
// (github.com/alwitt/httpmq-python) send, and decode the answers with the
// same types and the same strictness (an error's "code" into an int32 in
// Go, through int() in Python), against the real management API and REST
// dataplane on an embedded JetStream, over HTTP/1.1 and h2c.
//
// Neither SDK can be fetched here (the module proxy does not serve the Go
// one, PyPI is out of reach), so the suite re-enacts their documented
// calls instead of importing them: gosdk_test.go mirrors the Go SDK's
// generated models and request building, and
// testdata/compat/python/sdk_calls.py (stdlib only, run by
// python_test.go) mirrors the Python SDK's. Neither contains the SDKs'
// code. The package has no non-test code; this file only documents it.
package compat
