// Package xconnect turns on HTTP/2 extended CONNECT (RFC 8441) in Go's
// HTTP/2 server, so WebSockets can ride on HTTP/2 streams.
//
// This is httpmq's one deliberate init() side effect. Go keeps extended
// CONNECT behind GODEBUG=http2xconnect=1 (golang/go#71128) and net/http
// reads that setting once, in its own init; neither //go:debug nor a
// godebug line in go.mod is accepted for it. Go initialises packages that
// are ready in import-path order, and this package imports only os and
// strings, so its init runs before net/http's: importing it (blank) from
// any package of the program is enough. Without it a browser on an h2
// origin could still open WebSockets over HTTP/1.1, but only because the
// server would not advertise SETTINGS_ENABLE_CONNECT_PROTOCOL.
package xconnect

import (
	"os"
	"strings"
)

const setting = "http2xconnect=1"

func init() {
	cur := os.Getenv("GODEBUG")
	if strings.Contains(cur, "http2xconnect=") {
		return // the operator decided
	}
	if cur != "" {
		cur += ","
	}
	_ = os.Setenv("GODEBUG", cur+setting) // cannot fail for a valid name
}

// Enabled reports whether the setting is in the environment.
func Enabled() bool { return strings.Contains(os.Getenv("GODEBUG"), setting) }
