package main

import (
	"context"
	"crypto/x509"
	"fmt"
	"log/slog"
	"net/http"
	"strings"

	"github.com/rs/cors"

	"github.com/httpmq/httpmq/internal/auth"
	"github.com/httpmq/httpmq/internal/metrics"
)

// security is who may do what: the gates of the two APIs and the client
// CAs of the management listener. See docs/security.md.
type security struct {
	dataplane  *auth.Gate
	management *auth.Gate
	// clientCAs verify client certificates on the management listener;
	// nil without --admin-client-ca.
	clientCAs *x509.CertPool
	// jwt verifies JWTs, nil without; its key files (keyFiles) are
	// reloaded by reloadKeys.
	jwt      *auth.JWT
	keyFiles []string
	log      *slog.Logger
}

// newSecurity builds the gates from cfg. Without authentication options
// both gates allow everyone as anonymous (listening on loopback only,
// unless --insecure-listen). A JWKS URL is refreshed until ctx ends.
// Quota refusals are counted in m.
func newSecurity(ctx context.Context, cfg *Config, log *slog.Logger, m *metrics.Metrics) (*security, error) {
	s := &security{dataplane: &auth.Gate{}, management: &auth.Gate{}, log: log}
	if cfg.RatePublish > 0 || cfg.RatePublishBytes > 0 || cfg.MaxSessionsPerIdentity > 0 {
		s.dataplane.Limits = auth.NewLimiter(auth.Limits{
			PublishRate:         cfg.RatePublish,
			PublishBytes:        float64(cfg.RatePublishBytes),
			BytesBurst:          int(max(cfg.MaxFrame, cfg.RatePublishBytes)),
			SessionsPerIdentity: cfg.MaxSessionsPerIdentity,
			Refused:             m.RateLimited,
		})
	}
	var tokens *auth.Tokens
	if cfg.authConfigured() {
		var err error
		if tokens, err = newTokens(ctx, cfg, log); err != nil {
			return nil, err
		}
		s.dataplane.Authn, s.dataplane.Authz = tokens, auth.Policy{}
		if tokens.JWT != nil {
			s.jwt, s.keyFiles = tokens.JWT, jwtKeyFiles(cfg).Paths()
		}
		s.management.Authn, s.management.Authz = tokens, auth.Policy{}
	}
	if cfg.AdminClientCA != "" {
		var err error
		if s.clientCAs, err = certPool("admin-client-ca", cfg.AdminClientCA); err != nil {
			return nil, err
		}
		certs := auth.ClientCert{Perms: auth.Permissions{Admin: auth.AdminFull}}
		if tokens != nil {
			s.management.Authn = auth.Any{tokens, certs}
		} else {
			s.management.Authn = certs
		}
		s.management.Authz = auth.Policy{}
	}
	return s, nil
}

// newTokens is the bearer-token authenticator of --api-key and the
// --auth-jwt-* / --auth-jwks options.
func newTokens(ctx context.Context, cfg *Config, log *slog.Logger) (*auth.Tokens, error) {
	t := &auth.Tokens{AllowQuery: cfg.AuthQueryToken}
	if len(cfg.APIKeys) > 0 {
		keys := make([]auth.APIKey, 0, len(cfg.APIKeys))
		for _, line := range cfg.APIKeys {
			k, err := auth.ParseAPIKey(line)
			if err != nil {
				return nil, fmt.Errorf("--api-key: %w", err)
			}
			keys = append(keys, k)
		}
		var err error
		if t.Keys, err = auth.NewAPIKeys(keys); err != nil {
			return nil, fmt.Errorf("--api-key: %w", err)
		}
	}
	if cfg.AuthJWTSecretFile == "" && len(cfg.AuthJWTPublicKeys) == 0 && cfg.AuthJWKS == "" {
		return t, nil
	}
	jc := auth.JWTConfig{Issuer: cfg.AuthJWTIssuer, Audience: cfg.AuthJWTAudience, Files: jwtKeyFiles(cfg)}
	if strings.HasPrefix(cfg.AuthJWKS, "https://") {
		jwks, err := auth.NewJWKSURL(ctx, cfg.AuthJWKS, log)
		if err != nil {
			return nil, fmt.Errorf("--auth-jwks: %w", err)
		}
		jc.JWKS = jwks
	}
	var err error
	if t.JWT, err = auth.NewJWT(jc); err != nil {
		return nil, fmt.Errorf("--auth-jwt-*/--auth-jwks: %w", err)
	}
	return t, nil
}

// jwtKeyFiles are the files of --auth-jwt-secret-file,
// --auth-jwt-public-key and a file --auth-jwks: reloaded when they
// change and on SIGHUP (see [security.reloadKeys]).
func jwtKeyFiles(cfg *Config) auth.KeyFiles {
	f := auth.KeyFiles{Secret: cfg.AuthJWTSecretFile, PublicKeys: cfg.AuthJWTPublicKeys}
	if !strings.HasPrefix(cfg.AuthJWKS, "https://") {
		f.JWKS = cfg.AuthJWKS
	}
	return f
}

// reloadKeys reads the JWT key files again (why says what triggered
// it); when one is broken the current keys stay, with a warning.
func (s *security) reloadKeys(why string) {
	if err := s.jwt.Reload(); err != nil {
		s.log.Warn("JWT keys not reloaded; keeping the current ones", "why", why, "err", err)
		return
	}
	s.log.Info("JWT keys reloaded", "why", why)
}

// withCORS answers CORS preflights and adds CORS headers for the REST
// dataplane when --cors-origin is set. Credentials are bearer tokens, not
// cookies, so no Access-Control-Allow-Credentials.
func withCORS(h http.Handler, origins []string) http.Handler {
	if len(origins) == 0 {
		return h
	}
	return cors.New(cors.Options{
		AllowedOrigins: origins,
		AllowedMethods: []string{http.MethodGet, http.MethodHead, http.MethodPost},
		// Every request header: Httpmq-Header-* names are open-ended, and
		// with no cookies involved a header grants nothing by itself.
		AllowedHeaders: []string{"*"},
		ExposedHeaders: []string{"Httpmq-Request-Id", "Retry-After"},
		MaxAge:         600,
	}).Handler(h)
}

// securityWarnings logs what is exposed without protection.
func securityWarnings(cfg *Config, m mode, log *slog.Logger) {
	for name, authenticated := range cfg.exposed(m) {
		switch {
		case !authenticated:
			log.Warn("listening on a non-loopback address WITHOUT authentication (--insecure-listen): "+
				"anyone who can connect can read, publish and delete", "option", name)
		case cfg.TLSCert == "" && name != "nats-embedded-listen":
			log.Warn("listening on a non-loopback address without TLS: tokens and API keys travel in clear text", "option", name)
		}
	}
	if cfg.AuthQueryToken {
		log.Info("--auth-query-token: tokens in URLs may be recorded by proxies and browser history; use short-lived ones")
	}
}
