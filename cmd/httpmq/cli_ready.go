package main

import (
	"context"
	"flag"
	"fmt"
	"net/http"
	"strings"

	"github.com/peterbourgon/ff/v3/ffcli"
)

// readyCommand is "httpmq ready": a readiness probe for places without
// curl (the container image, docker compose healthchecks).
func (a *app) readyCommand() *ffcli.Command {
	var dataplane bool
	return a.command("", leaf{name: "ready", help: "check that a server is ready (exit status 0) or not (1)",
		long: strings.TrimSpace(`
Asks the management API's readiness probe (GET /v1/admin/ready), or the
dataplane's with --dataplane (GET /v1/data/ready): ready means the server
is up and its NATS connection works. Prints "ready", or why not.`),
		flags: func(fs *flag.FlagSet) {
			fs.BoolVar(&dataplane, "dataplane", false, "ask the dataplane listener (--data-url), as for \"httpmq dataplane\"")
		},
		run: func(ctx context.Context, cf *clientFlags, _ []string) error {
			url := cf.adminURL + "/v1/admin/ready"
			if dataplane {
				url = cf.dataURL + "/v1/data/ready"
			}
			ctx, cancel := cf.ctx(ctx)
			defer cancel()
			req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
			if err != nil {
				return usageError{err}
			}
			resp, err := (&http.Client{Transport: cf.transport}).Do(req)
			if err != nil {
				return fmt.Errorf("not ready: %w", err)
			}
			_ = resp.Body.Close()
			if resp.StatusCode != http.StatusOK {
				return fmt.Errorf("not ready: %s answered %s", url, resp.Status)
			}
			_, err = fmt.Fprintln(a.stdout, "ready")
			return err
		},
	})
}
