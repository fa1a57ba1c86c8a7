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
)

// deps is what the API handlers are built from.
type deps struct {
	cfg    *Config
	bridge *bridge.Bridge
	sec    *security
	log    *slog.Logger
	// onShutdown registers work to do when shutdown begins (see
	// [shutdownHooks]), e.g. closing WebSocket sessions with a going-away
	// close frame.
	onShutdown *shutdownHooks
}

// runServer runs the API groups of mode m until ctx is cancelled, then
// shuts down gracefully: HTTP servers first (bounded by
// --shutdown-timeout), then the NATS connection, then the embedded server.
func runServer(ctx context.Context, cfg *Config, m mode, log *slog.Logger) (err error) {
	log.Info("starting httpmq", "mode", m.name, "version", versionString())
	defer func() {
		if err == nil {
			log.Info("stopped")
		}
	}()
	securityWarnings(cfg, m, log)
	log.Debug("configuration", cfg.logAttrs(m)...)

	// Ends background work of the security setup (JWKS refresh) on return.
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	sec, err := newSecurity(ctx, cfg, log)
	if err != nil {
		return err
	}
	if len(sec.keyFiles) > 0 {
		stop := watchFiles("JWT key", sec.keyFiles, sec.reloadKeys, log)
		defer stop()
	}

	nats, err := connectNATS(ctx, cfg, log)
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
		onShutdown: &shutdownHooks{},
	}
	var apis []api
	if m.management {
		apis = append(apis, api{name: "management", addr: cfg.ManagementAddr, handler: managementHandler(d), clientCAs: sec.clientCAs})
	}
	if m.dataplane {
		apis = append(apis, api{name: "dataplane", addr: cfg.DataplaneAddr, handler: dataplaneHandler(d)})
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
// dials the external one.
func connectNATS(ctx context.Context, cfg *Config, log *slog.Logger) (*natsConn, error) {
	bcfg := bridge.Config{
		Name:           "httpmq",
		RequestTimeout: cfg.RequestTimeout,
		Logger:         log,
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
