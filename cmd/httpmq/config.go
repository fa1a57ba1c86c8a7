package main

import (
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"net/url"
	"strings"
	"time"

	"github.com/httpmq/httpmq/internal/auth"
	"github.com/httpmq/httpmq/session"
)

// Config is everything a run mode (serve, management, dataplane) is
// configured with. Its fields are set from flags, HTTPMQ_* environment
// variables and the config file, in that order of precedence, on top of
// [defaultConfig].
//
// To add an option: add a field here, its default in [defaultConfig], one
// line in [Config.register], and a row in docs/configuration.md.
type Config struct {
	ConfigFile string
	LogLevel   slog.LevelVar
	LogJSON    bool

	ManagementAddr string
	DataplaneAddr  string
	InsecureListen bool
	TLSCert        string
	TLSKey         string
	MaxBody        byteSize
	// BodyReadTimeout bounds the reading of a request body, on both
	// listeners (slow-loris protection).
	BodyReadTimeout time.Duration
	MaxPublishBody  byteSize
	MetricsNoAuth   bool
	PProf           bool

	DataDir            string
	NATSEmbeddedListen string
	NATSURLs           stringList
	NATSCreds          string
	NATSUser           string
	NATSPassword       string
	NATSToken          string
	NATSTLSCA          string
	NATSTLSCert        string
	NATSTLSKey         string

	RequestTimeout  time.Duration
	ShutdownTimeout time.Duration

	// Dataplane REST subscriptions.
	Heartbeat time.Duration
	// WebSocket sessions.
	MaxSessions         int
	MaxSubscriptions    int
	MaxFrame            byteSize
	PingInterval        time.Duration
	SlowConsumerTimeout time.Duration
	MaxQueuedBytes      byteSize
	AllowedOrigins      stringList

	// Security (docs/security.md).
	AuthJWTSecretFile      string
	AuthJWTPublicKeys      stringList
	AuthJWKS               string
	AuthJWTIssuer          string
	AuthJWTAudience        string
	APIKeys                lineList
	AuthQueryToken         bool
	AdminClientCA          string
	CORSOrigins            stringList
	RatePublish            float64
	RatePublishBytes       byteSize
	MaxSessionsPerIdentity int
}

// lineList is a repeatable flag whose values are kept whole (no comma
// splitting): one API key per flag or config line.
type lineList []string

func (l *lineList) String() string { return strings.Join(*l, "; ") }

func (l *lineList) Set(s string) error {
	if s = strings.TrimSpace(s); s != "" {
		*l = append(*l, s)
	}
	return nil
}

// authConfigured reports whether bearer-token authentication is on.
func (c *Config) authConfigured() bool {
	return c.AuthJWTSecretFile != "" || len(c.AuthJWTPublicKeys) > 0 || c.AuthJWKS != "" || len(c.APIKeys) > 0
}

// The defaults, shown by --help and in docs/configuration.md.
const (
	defaultManagementAddr      = "127.0.0.1:3000"
	defaultDataplaneAddr       = "127.0.0.1:3001"
	defaultDataDir             = "./data"
	defaultRequestTimeout      = 5 * time.Second
	defaultShutdownTimeout     = 10 * time.Second
	defaultHeartbeat           = 15 * time.Second
	defaultMaxSessions         = 10_000
	defaultMaxSubscriptions    = 1024
	defaultMaxFrame            = 2 << 20
	defaultPingInterval        = 20 * time.Second
	defaultSlowConsumerTimeout = 30 * time.Second
	defaultMaxQueuedBytes      = 8 << 20
	// defaultMaxBody fits a base64-encoded 1 MiB message (NATS's default
	// max payload) with room to spare.
	defaultMaxBody = 2 << 20
	// defaultBodyReadTimeout lets the largest body (a base64 1 MiB
	// message, about 1.4 MB) through at about 400 kbit/s.
	defaultBodyReadTimeout = 30 * time.Second
)

func defaultConfig() *Config {
	c := &Config{
		ManagementAddr:  defaultManagementAddr,
		DataplaneAddr:   defaultDataplaneAddr,
		DataDir:         defaultDataDir,
		RequestTimeout:  defaultRequestTimeout,
		ShutdownTimeout: defaultShutdownTimeout,
		MaxBody:         defaultMaxBody,
		BodyReadTimeout: defaultBodyReadTimeout,

		Heartbeat:           defaultHeartbeat,
		MaxSessions:         defaultMaxSessions,
		MaxSubscriptions:    defaultMaxSubscriptions,
		MaxFrame:            defaultMaxFrame,
		PingInterval:        defaultPingInterval,
		SlowConsumerTimeout: defaultSlowConsumerTimeout,
		MaxQueuedBytes:      defaultMaxQueuedBytes,
	}
	c.LogLevel.Set(slog.LevelInfo)
	return c
}

// mode says which API groups a run mode serves.
type mode struct {
	name       string
	management bool
	dataplane  bool
}

var (
	modeServe      = mode{name: "serve", management: true, dataplane: true}
	modeManagement = mode{name: "management", management: true}
	modeDataplane  = mode{name: "dataplane", dataplane: true}
)

// register defines the flags of run mode m on fs, bound to c's fields,
// with c's current values as defaults. One line per option.
func (c *Config) register(fs *flag.FlagSet, m mode) {
	fs.StringVar(&c.ConfigFile, "config", c.ConfigFile, "read options from this `file` (lines of \"option value\"; see docs/configuration.md)")
	fs.Var(levelFlag{&c.LogLevel}, "log-level", "log `level`: debug, info, warn or error")
	fs.BoolVar(&c.LogJSON, "log-json", c.LogJSON, "log JSON lines instead of key=value text")

	if m.management {
		fs.StringVar(&c.ManagementAddr, "management-addr", c.ManagementAddr, "`host:port` of the management (admin) REST API; port 0 picks a free one")
		fs.Var(&c.MaxBody, "max-body", "largest request body the management API accepts, in `bytes` (suffixes KiB, MiB, GiB)")
	}
	if m.dataplane {
		fs.StringVar(&c.DataplaneAddr, "dataplane-addr", c.DataplaneAddr, "`host:port` of the dataplane API; port 0 picks a free one")
		fs.Var(&c.MaxPublishBody, "max-publish-body", "largest REST publish body, in `bytes`; 0: what NATS's max payload takes in the body's encoding (base64: 4/3 of it)")
		fs.DurationVar(&c.Heartbeat, "heartbeat", c.Heartbeat, "interval of heartbeats on idle REST subscription streams (negative: none)")
		fs.IntVar(&c.MaxSessions, "max-sessions", c.MaxSessions, "most WebSocket sessions open at once; more are refused with 503")
		fs.IntVar(&c.MaxSubscriptions, "max-subscriptions", c.MaxSubscriptions, "most subscriptions on one WebSocket session")
		fs.Var(&c.MaxFrame, "max-frame", "largest WebSocket frame a client may send, in `bytes`; larger closes the session (1009)")
		fs.DurationVar(&c.PingInterval, "ping-interval", c.PingInterval, "interval of WebSocket pings; a peer silent for two intervals is closed (4002)")
		fs.DurationVar(&c.SlowConsumerTimeout, "slow-consumer-timeout", c.SlowConsumerTimeout, "how long one write to a client (session or REST stream) may block before it is closed as a slow consumer (4000)")
		fs.Var(&c.MaxQueuedBytes, "max-queued-bytes", "`bytes` that may wait to be written to one client (session or REST stream); beyond, it is closed as a slow consumer (4000)")
		fs.Var(&c.AllowedOrigins, "allowed-origin", "host `pattern`s (besides the server's own) whose pages may open WebSocket sessions, comma-separated or repeated")
		fs.Var(&c.CORSOrigins, "cors-origin", "`origin`s (https://app.example.com, * wildcards) whose pages may call the REST dataplane (CORS), comma-separated or repeated")
		fs.Float64Var(&c.RatePublish, "rate-publish", c.RatePublish, "publishes per second per identity (REST and sessions); 0: unlimited")
		fs.Var(&c.RatePublishBytes, "rate-publish-bytes", "published payload `bytes` per second per identity; 0: unlimited")
		fs.IntVar(&c.MaxSessionsPerIdentity, "max-sessions-per-identity", c.MaxSessionsPerIdentity, "most WebSocket sessions one identity may have open; 0: unlimited")
	}
	if m.management {
		fs.StringVar(&c.AdminClientCA, "admin-client-ca", c.AdminClientCA, "PEM CA `file`: TLS client certificates it verifies authenticate on the management API with full admin rights (needs --tls-cert)")
	}
	fs.StringVar(&c.AuthJWTSecretFile, "auth-jwt-secret-file", c.AuthJWTSecretFile, "`file` holding the HMAC secret (at least 32 bytes) of HS256/384/512 JWTs")
	fs.Var(&c.AuthJWTPublicKeys, "auth-jwt-public-key", "PEM `file` of RSA or ECDSA public keys (or certificates) for RS*/PS*/ES* JWTs, comma-separated or repeated")
	fs.StringVar(&c.AuthJWKS, "auth-jwks", c.AuthJWKS, "JWK Set for JWTs: a `file` or an https:// URL (fetched, cached, refreshed hourly)")
	fs.StringVar(&c.AuthJWTIssuer, "auth-jwt-issuer", c.AuthJWTIssuer, "required iss claim of JWTs (unchecked when empty)")
	fs.StringVar(&c.AuthJWTAudience, "auth-jwt-audience", c.AuthJWTAudience, "required aud claim of JWTs (unchecked when empty)")
	fs.Var(&c.APIKeys, "api-key", "an API key: \"`NAME SHA256HEX [admin=none|read|full] [publish=P,...] [subscribe=STREAM/CONSUMER,...]`\"; repeated for more")
	fs.BoolVar(&c.AuthQueryToken, "auth-query-token", c.AuthQueryToken, "also accept tokens in ?access_token= on GET requests (EventSource, WebSocket); they may end up in proxy logs")
	fs.DurationVar(&c.BodyReadTimeout, "body-read-timeout", c.BodyReadTimeout, "how long a client may take to send a request body, on both listeners; slower ones get 408")
	fs.BoolVar(&c.InsecureListen, "insecure-listen", c.InsecureListen, "allow non-loopback addresses without authentication (anyone who can connect gets full access)")
	fs.StringVar(&c.TLSCert, "tls-cert", c.TLSCert, "serve HTTPS (HTTP/2 and HTTP/1.1) with this PEM certificate `file` (needs --tls-key)")
	fs.StringVar(&c.TLSKey, "tls-key", c.TLSKey, "PEM private key `file` for --tls-cert")

	fs.BoolVar(&c.MetricsNoAuth, "metrics-no-auth", c.MetricsNoAuth, "serve /metrics without credentials (for Prometheus scrapers without a token); by default it needs admin read rights when authentication is on")
	fs.BoolVar(&c.PProf, "pprof", c.PProf, "serve Go's profiler (net/http/pprof) under /debug/pprof/, beside /metrics; needs admin full rights when authentication is on")

	fs.StringVar(&c.DataDir, "data-dir", c.DataDir, "`directory` of the embedded JetStream server's data (unused with --nats-url)")
	fs.StringVar(&c.NATSEmbeddedListen, "nats-embedded-listen", c.NATSEmbeddedListen, "also serve the embedded NATS server to TCP clients on this `host:port` (e.g. for the nats CLI)")
	fs.Var(&c.NATSURLs, "nats-url", "external NATS server `URL`s, comma-separated or repeated; when set, no embedded server runs")
	fs.StringVar(&c.NATSCreds, "nats-creds", c.NATSCreds, "NATS credentials `file` (JWT and nkey seed)")
	fs.StringVar(&c.NATSUser, "nats-user", c.NATSUser, "NATS `user` name")
	fs.StringVar(&c.NATSPassword, "nats-password", c.NATSPassword, "NATS `password` (prefer the env var or config file to keep it out of ps)")
	fs.StringVar(&c.NATSToken, "nats-token", c.NATSToken, "NATS authentication `token` (prefer the env var or config file)")
	fs.StringVar(&c.NATSTLSCA, "nats-tls-ca", c.NATSTLSCA, "PEM CA certificate `file` to verify the NATS servers with")
	fs.StringVar(&c.NATSTLSCert, "nats-tls-cert", c.NATSTLSCert, "PEM client certificate `file` for NATS (needs --nats-tls-key)")
	fs.StringVar(&c.NATSTLSKey, "nats-tls-key", c.NATSTLSKey, "PEM client private key `file` for NATS")

	fs.DurationVar(&c.RequestTimeout, "request-timeout", c.RequestTimeout, "bound on each NATS request (API call, publish, confirmed ack)")
	fs.DurationVar(&c.ShutdownTimeout, "shutdown-timeout", c.ShutdownTimeout, "how long in-flight requests may take to finish at shutdown")
}

// secret reports whether a flag's value must never be logged or printed.
func secret(name string) bool {
	switch name {
	case "nats-password", "nats-token", "api-key":
		return true
	}
	return false
}

// shortFlags maps one-letter aliases to the long flag they stand for.
// They are rewritten before parsing (see [expandArgs]) so that flag, env
// and file precedence is decided on one flag only.
var shortFlags = map[string]string{"l": "log-level", "f": "force", "v": "verbose"}

// allFlagNames is the union of every run mode's flags: a config file may
// hold options of modes other than the one running (one file for all
// three), but nothing else.
func allFlagNames() map[string]bool {
	names := map[string]bool{}
	fs := flag.NewFlagSet("", flag.ContinueOnError)
	defaultConfig().register(fs, modeServe)
	fs.VisitAll(func(f *flag.Flag) { names[f.Name] = true })
	return names
}

// validate checks what flag parsing cannot: combinations and ranges.
func (c *Config) validate(m mode) error {
	var errs []error
	check := func(cond bool, format string, args ...any) {
		if !cond {
			errs = append(errs, fmt.Errorf(format, args...))
		}
	}
	check(c.RequestTimeout > 0, "--request-timeout must be positive, got %s", c.RequestTimeout)
	check(c.ShutdownTimeout > 0, "--shutdown-timeout must be positive, got %s", c.ShutdownTimeout)
	check(c.BodyReadTimeout > 0, "--body-read-timeout must be positive, got %s", c.BodyReadTimeout)
	check((c.TLSCert == "") == (c.TLSKey == ""), "--tls-cert and --tls-key go together")
	check((c.NATSTLSCert == "") == (c.NATSTLSKey == ""), "--nats-tls-cert and --nats-tls-key go together")
	check(c.NATSPassword == "" || c.NATSUser != "", "--nats-password needs --nats-user")
	check(len(c.NATSURLs) > 0 || c.DataDir != "", "--data-dir must not be empty when no --nats-url is given")
	check(len(c.NATSURLs) == 0 || c.NATSEmbeddedListen == "", "--nats-embedded-listen makes no sense with --nats-url (no embedded server runs)")
	check(c.AuthJWKS == "" || !strings.HasPrefix(c.AuthJWKS, "http://"), "--auth-jwks: fetch a JWK Set over https://, not http://")
	var keys []auth.APIKey
	for _, line := range c.APIKeys {
		k, err := auth.ParseAPIKey(line)
		if err != nil {
			errs = append(errs, fmt.Errorf("--api-key: %w", err))
		}
		keys = append(keys, k)
	}
	if _, err := auth.NewAPIKeys(keys); err != nil && len(errs) == 0 {
		errs = append(errs, fmt.Errorf("--api-key: %w", err))
	}
	if m.management {
		check(c.MaxBody > 0, "--max-body must be positive, got %d", c.MaxBody)
		check(c.AdminClientCA == "" || c.TLSCert != "", "--admin-client-ca needs --tls-cert and --tls-key")
		errs = append(errs, c.checkListen("management-addr", c.ManagementAddr, c.authConfigured() || c.AdminClientCA != ""))
	}
	if m.dataplane {
		errs = append(errs, c.checkListen("dataplane-addr", c.DataplaneAddr, c.authConfigured()))
		check(c.RatePublish >= 0, "--rate-publish must not be negative, got %g", c.RatePublish)
		check(c.MaxSessionsPerIdentity >= 0, "--max-sessions-per-identity must not be negative, got %d", c.MaxSessionsPerIdentity)
		check(c.MaxSessions > 0, "--max-sessions must be positive, got %d", c.MaxSessions)
		check(c.MaxSubscriptions > 0, "--max-subscriptions must be positive, got %d", c.MaxSubscriptions)
		check(c.MaxFrame >= 1024, "--max-frame must be at least 1KiB, got %d", c.MaxFrame)
		check(c.PingInterval > 0, "--ping-interval must be positive, got %s", c.PingInterval)
		check(c.SlowConsumerTimeout > 0, "--slow-consumer-timeout must be positive, got %s", c.SlowConsumerTimeout)
		check(c.MaxQueuedBytes >= 64<<10, "--max-queued-bytes must be at least 64KiB, got %d", c.MaxQueuedBytes)
		for _, p := range c.AllowedOrigins {
			check(session.ValidOriginPattern(p), "--allowed-origin %q is not a valid pattern (a host like app.example.com, * and ? as wildcards)", p)
		}
	}
	if c.NATSEmbeddedListen != "" {
		// The embedded NATS server's socket has no authentication at all.
		errs = append(errs, c.checkListen("nats-embedded-listen", c.NATSEmbeddedListen, false))
	}
	return errors.Join(errs...)
}

// checkListen refuses addresses other than loopback ones for a listener
// without authentication (authenticated false) unless --insecure-listen
// is set.
func (c *Config) checkListen(flagName, addr string, authenticated bool) error {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return fmt.Errorf("--%s %q: %v", flagName, addr, err)
	}
	if authenticated || c.InsecureListen || isLoopback(host) {
		return nil
	}
	return fmt.Errorf("--%s %q is not a loopback address and nothing authenticates its clients, "+
		"so anyone who can reach it could read, publish and delete your messages and streams; "+
		"configure authentication (--auth-jwt-*, --auth-jwks, --api-key; see docs/security.md), "+
		"listen on 127.0.0.1 or [::1], or pass --insecure-listen to accept the risk", flagName, addr)
}

// exposed lists the listeners of mode m on non-loopback addresses, by
// flag name, and whether each authenticates its clients.
func (c *Config) exposed(m mode) map[string]bool {
	out := map[string]bool{}
	add := func(name, addr string, authenticated bool) {
		if host, _, err := net.SplitHostPort(addr); err == nil && !isLoopback(host) {
			out[name] = authenticated
		}
	}
	if m.management {
		add("management-addr", c.ManagementAddr, c.authConfigured() || c.AdminClientCA != "")
	}
	if m.dataplane {
		add("dataplane-addr", c.DataplaneAddr, c.authConfigured())
	}
	if c.NATSEmbeddedListen != "" && len(c.NATSURLs) == 0 {
		add("nats-embedded-listen", c.NATSEmbeddedListen, false)
	}
	return out
}

// loopbackDev reports whether the dataplane runs as in development:
// without authentication, on a loopback address. Pages from any
// loopback origin (a dev server on another port) may then open
// sessions.
func (c *Config) loopbackDev() bool {
	host, _, err := net.SplitHostPort(c.DataplaneAddr)
	return err == nil && isLoopback(host) && !c.authConfigured()
}

// isLoopback reports whether host is "localhost" or a loopback IP. Other
// host names are not resolved: what they point to can change.
func isLoopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// logAttrs is the configuration as log attributes, secrets redacted.
func (c *Config) logAttrs(m mode) []any {
	fs := flag.NewFlagSet("", flag.ContinueOnError)
	c.register(fs, m) // rebinding to c's own fields changes nothing
	var attrs []any
	fs.VisitAll(func(f *flag.Flag) {
		v := f.Value.String()
		switch {
		case secret(f.Name) && v != "":
			v = "REDACTED"
		case f.Name == "nats-url":
			v = redactURLs(c.NATSURLs)
		}
		attrs = append(attrs, slog.String(f.Name, v))
	})
	return attrs
}

// redactURLs hides passwords in URLs (nats://user:pass@host).
func redactURLs(urls []string) string {
	out := make([]string, len(urls))
	for i, raw := range urls {
		u, err := url.Parse(raw)
		switch {
		case err != nil:
			out[i] = "UNPARSABLE-REDACTED"
		case u.User != nil:
			u.User = url.User("REDACTED")
			out[i] = u.String()
		default:
			out[i] = raw
		}
	}
	return strings.Join(out, ",")
}
