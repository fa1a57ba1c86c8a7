package bridge

import (
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"strconv"
	"time"

	"github.com/nats-io/nats-server/v2/server"
)

// EmbeddedConfig configures an in-process NATS server with JetStream.
type EmbeddedConfig struct {
	// StoreDir holds JetStream's data. Required.
	StoreDir string
	// Name of the server. Default "httpmq-embedded".
	Name string
	// Listen, when set ("127.0.0.1:4222", or "127.0.0.1:-1" for a random
	// port), also accepts NATS clients over TCP. Default: in-process only.
	Listen string
	// MaxPayload in bytes. Default NATS's 1 MiB.
	MaxPayload int32
	// Logger receives the server's notices and errors. Default slog.Default().
	Logger *slog.Logger
}

// Embedded is a NATS server with JetStream running inside this process.
type Embedded struct {
	srv *server.Server
}

// StartEmbedded starts the server and waits until it accepts clients.
func StartEmbedded(cfg EmbeddedConfig) (*Embedded, error) {
	if cfg.StoreDir == "" {
		return nil, fmt.Errorf("%w: embedded server needs a store directory", ErrInvalidConfig)
	}
	if err := os.MkdirAll(cfg.StoreDir, 0o750); err != nil {
		return nil, fmt.Errorf("embedded store dir: %w", err)
	}
	name := cfg.Name
	if name == "" {
		name = "httpmq-embedded"
	}
	opts := &server.Options{
		ServerName:             name,
		JetStream:              true,
		StoreDir:               cfg.StoreDir,
		DontListen:             cfg.Listen == "",
		NoSigs:                 true,
		MaxPayload:             cfg.MaxPayload,
		Host:                   "127.0.0.1",
		Port:                   -1,
		DisableJetStreamBanner: true,
	}
	if cfg.Listen != "" {
		host, port, err := splitHostPort(cfg.Listen)
		if err != nil {
			return nil, fmt.Errorf("%w: embedded listen address %q: %v", ErrInvalidConfig, cfg.Listen, err)
		}
		opts.Host, opts.Port = host, port
	}
	srv, err := server.NewServer(opts)
	if err != nil {
		return nil, fmt.Errorf("embedded NATS: %w", err)
	}
	log := cfg.Logger
	if log == nil {
		log = slog.Default()
	}
	srv.SetLoggerV2(&serverLogger{log: log.With("component", "nats-server")}, false, false, false)
	srv.Start()
	if !srv.ReadyForConnections(30 * time.Second) {
		srv.Shutdown()
		return nil, errors.New("embedded NATS did not become ready within 30s")
	}
	return &Embedded{srv: srv}, nil
}

// ClientURL is where TCP clients reach the server (when it listens).
func (e *Embedded) ClientURL() string { return e.srv.ClientURL() }

// Shutdown stops the server and waits until it has stopped. Idempotent.
func (e *Embedded) Shutdown() {
	e.srv.Shutdown()
	e.srv.WaitForShutdown()
}

func splitHostPort(addr string) (string, int, error) {
	host, p, err := net.SplitHostPort(addr)
	if err != nil {
		return "", 0, err
	}
	port, err := strconv.Atoi(p)
	return host, port, err
}

// serverLogger adapts nats-server's logger to slog. Notices are debug
// level: the embedded server is an implementation detail of httpmq.
type serverLogger struct{ log *slog.Logger }

func (l *serverLogger) Noticef(format string, v ...any) { l.log.Debug(fmt.Sprintf(format, v...)) }
func (l *serverLogger) Warnf(format string, v ...any)   { l.log.Warn(fmt.Sprintf(format, v...)) }
func (l *serverLogger) Fatalf(format string, v ...any)  { l.log.Error(fmt.Sprintf(format, v...)) }
func (l *serverLogger) Errorf(format string, v ...any)  { l.log.Error(fmt.Sprintf(format, v...)) }
func (l *serverLogger) Debugf(format string, v ...any)  { l.log.Debug(fmt.Sprintf(format, v...)) }
func (l *serverLogger) Tracef(format string, v ...any)  {}
