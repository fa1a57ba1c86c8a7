package main

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"sync"
	"syscall"
	"time"

	"github.com/httpmq/httpmq/internal/httpx"
	"github.com/httpmq/httpmq/internal/tlsreload"
)

// Timeouts of the HTTP servers. There is deliberately no ReadTimeout or
// WriteTimeout: they would cut long-lived subscriptions and WebSockets.
// Request bodies are bounded by --body-read-timeout instead
// (httpx.WithBodyTimeout, per request, through http.ResponseController).
const (
	readHeaderTimeout = 10 * time.Second
	idleTimeout       = 2 * time.Minute
)

// api is one HTTP listener: the management or the dataplane API.
type api struct {
	name    string // "management" or "dataplane"
	addr    string
	handler http.Handler
	// clientCAs, with TLS, verify the client certificates this listener
	// asks for (optional for clients; see --admin-client-ca).
	clientCAs *x509.CertPool
}

// shutdownHooks is work to do when shutdown begins, registered by the
// handlers (see [dataplaneHandler]). Safe for concurrent use.
type shutdownHooks struct {
	mu  sync.Mutex
	fns []func(ctx context.Context)
}

// Add registers f. At shutdown f runs once, in its own goroutine, after
// every listener has stopped accepting and while http.Server.Shutdown
// waits for in-flight requests. ctx ends at the shutdown deadline; f
// should return by then.
func (h *shutdownHooks) Add(f func(ctx context.Context)) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.fns = append(h.fns, f)
}

func (h *shutdownHooks) run(ctx context.Context) {
	h.mu.Lock()
	fns := h.fns
	h.mu.Unlock()
	var wg sync.WaitGroup
	for _, f := range fns {
		wg.Go(func() { f(ctx) })
	}
	wg.Wait()
}

// serveAPIs listens on every api's address and serves until ctx is
// cancelled or a server fails, then shuts down gracefully within
// cfg.ShutdownTimeout.
func serveAPIs(ctx context.Context, cfg *Config, log *slog.Logger, apis []api, hooks *shutdownHooks) error {
	tlsCfg, certs, err := serverTLS(cfg, log)
	if err != nil {
		return err
	}
	if certs != nil {
		stop := watchFiles("TLS", []string{cfg.TLSCert, cfg.TLSKey}, certs.ReloadAndLog, log)
		defer stop()
	}
	var servers []*http.Server
	var listeners []net.Listener
	closeAll := func() {
		for _, ln := range listeners {
			_ = ln.Close()
		}
	}
	for _, a := range apis {
		ln, err := net.Listen("tcp", a.addr)
		if err != nil {
			closeAll()
			return fmt.Errorf("%s API: %w", a.name, err)
		}
		listeners = append(listeners, ln)
		var t *tls.Config
		if tlsCfg != nil {
			// One each: a server writes its ALPN protocols into it.
			t = tlsCfg.Clone()
			if a.clientCAs != nil {
				t.ClientCAs = a.clientCAs
				t.ClientAuth = tls.VerifyClientCertIfGiven
			}
		}
		servers = append(servers, newHTTPServer(httpx.WithBodyTimeout(a.handler, cfg.BodyReadTimeout), t, log))
	}

	errc := make(chan error, len(servers))
	for i, srv := range servers {
		ln, a := listeners[i], apis[i]
		scheme := "http"
		if tlsCfg != nil {
			scheme = "https"
		}
		log.Info("listening", "api", a.name, "addr", ln.Addr().String(), "url", scheme+"://"+ln.Addr().String())
		go func() {
			var err error
			if tlsCfg != nil {
				err = srv.ServeTLS(ln, "", "")
			} else {
				err = srv.Serve(ln)
			}
			if errors.Is(err, http.ErrServerClosed) {
				err = nil
			} else {
				err = fmt.Errorf("%s API: %w", a.name, err)
			}
			errc <- err
		}()
	}

	var serveErr error
	select {
	case <-ctx.Done():
		log.Info("shutting down", "timeout", cfg.ShutdownTimeout)
	case serveErr = <-errc:
		log.Error("server failed, shutting down", "err", serveErr)
	}
	shutdown(servers, hooks, cfg.ShutdownTimeout, log)
	for range len(servers) - btoi(serveErr != nil) {
		if err := <-errc; err != nil && serveErr == nil {
			serveErr = err
		}
	}
	return serveErr
}

// shutdown stops the servers' listeners, runs the hooks, and waits for
// in-flight requests up to timeout; then it closes what is left.
func shutdown(servers []*http.Server, hooks *shutdownHooks, timeout time.Duration, log *slog.Logger) {
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()

	// Server.Shutdown closes its listeners, then calls the functions
	// registered with RegisterOnShutdown: once all have, nothing new is
	// accepted and the hooks may run.
	var stopped sync.WaitGroup
	stopped.Add(len(servers))
	for _, srv := range servers {
		srv.RegisterOnShutdown(stopped.Done)
	}
	var wg sync.WaitGroup
	for _, srv := range servers {
		wg.Go(func() {
			if err := srv.Shutdown(ctx); err != nil {
				log.Warn("shutdown timed out, closing remaining connections", "err", err)
				_ = srv.Close()
			}
		})
	}
	stopped.Wait()
	hooks.run(ctx)
	wg.Wait()
}

// newHTTPServer serves HTTP/1.1 and HTTP/2: over TLS (ALPN h2) when
// tlsCfg is set, else as cleartext HTTP/2 with prior knowledge (h2c, e.g.
// curl --http2-prior-knowledge) beside HTTP/1.1.
func newHTTPServer(h http.Handler, tlsCfg *tls.Config, log *slog.Logger) *http.Server {
	var protocols http.Protocols
	protocols.SetHTTP1(true)
	protocols.SetHTTP2(true)
	protocols.SetUnencryptedHTTP2(true)
	return &http.Server{
		Handler:           h,
		Protocols:         &protocols,
		TLSConfig:         tlsCfg,
		ReadHeaderTimeout: readHeaderTimeout,
		IdleTimeout:       idleTimeout,
		ErrorLog:          errorLog(log),
	}
}

// serverTLS loads --tls-cert and --tls-key, or returns nils without
// them. The certificate comes from the reloader at each handshake, so a
// reload serves new connections and leaves established ones alone.
func serverTLS(cfg *Config, log *slog.Logger) (*tls.Config, *tlsreload.Reloader, error) {
	if cfg.TLSCert == "" {
		return nil, nil, nil
	}
	certs, err := tlsreload.New(cfg.TLSCert, cfg.TLSKey, log)
	if err != nil {
		return nil, nil, fmt.Errorf("--tls-cert/--tls-key: %w", err)
	}
	return &tls.Config{GetCertificate: certs.GetCertificate, MinVersion: tls.VersionTLS12}, certs, nil
}

// watchFiles calls reload when one of files changes and on SIGHUP, until
// stop is called; stop waits for the watcher to end. what names the files
// in logs ("TLS", "JWT key").
func watchFiles(what string, files []string, reload func(why string), log *slog.Logger) (stop func()) {
	ctx, cancel := context.WithCancel(context.Background())
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	var wg sync.WaitGroup
	wg.Go(func() {
		if err := tlsreload.WatchFiles(ctx, files, log, reload); err != nil {
			log.Warn(what+" files are not watched; reload with SIGHUP", "err", err)
		}
	})
	wg.Go(func() {
		for {
			select {
			case <-ctx.Done():
				return
			case <-hup:
				reload("SIGHUP")
			}
		}
	})
	return func() {
		signal.Stop(hup)
		cancel()
		wg.Wait()
	}
}

func btoi(b bool) int {
	if b {
		return 1
	}
	return 0
}
