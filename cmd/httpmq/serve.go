package main

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"

	"github.com/httpmq/httpmq/admin"
	"github.com/httpmq/httpmq/bridge"
	"github.com/httpmq/httpmq/internal/metrics"
)

// deps is what the API handlers are built from.
type deps struct {
	cfg     *Config
	bridge  *bridge.Bridge
	sec     *security
	log     *slog.Logger
	metrics *metrics.Metrics
	// onShutdown registers work to do when shutdown begins (see
	// [shutdownHooks]), e.g. closing WebSocket sessions with a going-away
	// close frame.
	onShutdown *shutdownHooks
}

// runServer runs the API groups of mode m until ctx is cancelled, then
// shuts down gracefully: HTTP servers first (bounded by
// --shutdown-timeout), then the NATS connection, then the embedded server.
func runServer(ctx context.Context, cfg *Config, md mode, log *slog.Logger) (err error) {
	log.Info("starting httpmq", "mode", md.name, "version", versionString())
	defer func() {
		if err == nil {
			log.Info("stopped")
		}
	}()
	securityWarnings(cfg, md, log)
	log.Debug("configuration", cfg.logAttrs(md)...)

	// Ends background work of the security setup (JWKS refresh) on return.
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	m := metrics.New(versionString())
	sec, err := newSecurity(ctx, cfg, log, m)
	if err != nil {
		return err
	}
	if len(sec.keyFiles) > 0 {
		stop := watchFiles("JWT key", sec.keyFiles, sec.reloadKeys, log)
		defer stop()
	}

	nats, err := connectNATS(ctx, cfg, log, m)
	if err != nil {
		if ctx.Err() != nil {
			return nil // stopped by a signal while starting
		}
		return err
	}
	defer nats.close()

	d := deps{
		cfg:        cfg,
		bridge:     nats.bridge,
		sec:        sec,
		log:        log,
		metrics:    m,
		onShutdown: &shutdownHooks{},
	}
	var apis []api
	if md.management {
		apis = append(apis, api{name: "management", addr: cfg.ManagementAddr, clientCAs: sec.clientCAs,
			handler: withOps(managementHandler(d), d, sec.management)})
	}
	if md.dataplane {
		h := dataplaneHandler(d)
		if !md.management { // /metrics goes where it can (see withOps)
			h = withOps(h, d, sec.dataplane)
		}
		apis = append(apis, api{name: "dataplane", addr: cfg.DataplaneAddr, handler: h})
	}
	return serveAPIs(ctx, cfg, log, apis, d.onShutdown)
}

// managementHandler is the management (admin) REST API.
func managementHandler(d deps) http.Handler {
	return admin.New(admin.Options{
		Bridge:       d.bridge,
		Gate:         d.sec.management,
		Logger:       d.log.With("api", "management"),
		MaxBodyBytes: int64(d.cfg.MaxBody),
	})
}

// natsConn is the bridge and, without --nats-url, the embedded server.
type natsConn struct {
	bridge   *bridge.Bridge
	embedded *bridge.Embedded // nil with --nats-url
	unlock   func()           // releases --data-dir; nil with --nats-url
	log      *slog.Logger
}

// connectNATS starts the embedded JetStream server (no --nats-url) or
// dials the external one: an external NATS not up yet is retried in the
// background (readiness fails meanwhile). The connection's state is
// recorded in m.
func connectNATS(ctx context.Context, cfg *Config, log *slog.Logger, m *metrics.Metrics) (*natsConn, error) {
	bcfg := bridge.Config{
		Name:           "httpmq",
		RequestTimeout: cfg.RequestTimeout,
		Logger:         log,
		OnStateChange:  func(s bridge.ConnState) { m.NATSState(string(s)) },
	}
	if len(cfg.NATSURLs) == 0 {
		unlock, err := lockDataDir(cfg.DataDir)
		if err != nil {
			return nil, err
		}
		dir := filepath.Join(cfg.DataDir, "jetstream")
		emb, err := bridge.StartEmbedded(bridge.EmbeddedConfig{
			StoreDir: dir,
			Listen:   cfg.NATSEmbeddedListen,
			Logger:   log,
		})
		if err != nil {
			unlock()
			return nil, err
		}
		log.Info("embedded JetStream started", "store_dir", dir, "nats_listen", cfg.NATSEmbeddedListen)
		bcfg.InProcess = emb
		b, err := bridge.Connect(ctx, bcfg)
		if err != nil {
			emb.Shutdown()
			unlock()
			return nil, err
		}
		return &natsConn{bridge: b, embedded: emb, unlock: unlock, log: log}, nil
	}

	tlsCfg, err := natsTLS(cfg)
	if err != nil {
		return nil, err
	}
	bcfg.URLs = cfg.NATSURLs
	bcfg.CredsFile = cfg.NATSCreds
	bcfg.User, bcfg.Password = cfg.NATSUser, cfg.NATSPassword
	bcfg.Token = cfg.NATSToken
	bcfg.TLS = tlsCfg
	b, err := bridge.Connect(ctx, bcfg)
	if err != nil {
		return nil, err
	}
	return &natsConn{bridge: b, log: log}, nil
}

// close closes the connection, then stops the embedded server and waits
// until it has stopped (JetStream's store is flushed and closed).
func (n *natsConn) close() {
	n.bridge.Close()
	if n.embedded != nil {
		n.embedded.Shutdown()
		n.unlock()
		n.log.Info("embedded JetStream stopped")
	}
}

// natsTLS is the TLS configuration for an external NATS, or nil when no
// --nats-tls-* option is set (a tls:// URL still works then, verified
// against the system's roots).
func natsTLS(cfg *Config) (*tls.Config, error) {
	if cfg.NATSTLSCA == "" && cfg.NATSTLSCert == "" {
		return nil, nil
	}
	t := &tls.Config{MinVersion: tls.VersionTLS12}
	if cfg.NATSTLSCA != "" {
		var err error
		if t.RootCAs, err = certPool("nats-tls-ca", cfg.NATSTLSCA); err != nil {
			return nil, err
		}
	}
	if cfg.NATSTLSCert != "" {
		cert, err := tls.LoadX509KeyPair(cfg.NATSTLSCert, cfg.NATSTLSKey)
		if err != nil {
			return nil, fmt.Errorf("--nats-tls-cert/--nats-tls-key: %w", err)
		}
		t.Certificates = []tls.Certificate{cert}
	}
	return t, nil
}

// certPool reads the PEM certificates of the file a flag names.
func certPool(flagName, path string) (*x509.CertPool, error) {
	pem, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("--%s: %w", flagName, err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(pem) {
		return nil, fmt.Errorf("--%s: no PEM certificate in %s", flagName, path)
	}
	return pool, nil
}
