// Command httpmq bridges NATS JetStream to HTTP/2 REST and WebSockets.
//
//	httpmq serve        management and dataplane APIs together
//	httpmq management   the management (admin) REST API only
//	httpmq dataplane    the dataplane API only
//	httpmq version      print the version
//
// Options come from flags, HTTPMQ_* environment variables and a config file
// (--config), in that order of precedence; `httpmq serve --help` lists them
// and docs/configuration.md explains them.
//
// The program is [run]; main only adds signal handling. A run mode wires
// NATS ([connectNATS]), the API handlers ([managementHandler],
// [dataplaneHandler]) and the HTTP servers ([serveAPIs]) together.
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"

	// Turns on HTTP/2 extended CONNECT (RFC 8441) for WebSockets over h2;
	// it must be initialised before net/http (see its doc).
	_ "github.com/httpmq/httpmq/internal/xconnect"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	go func() {
		// After the first signal, restore the default behaviour: a second
		// SIGINT or SIGTERM kills a shutdown that takes too long.
		<-ctx.Done()
		stop()
	}()
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}
