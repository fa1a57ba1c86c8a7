package main

import (
	"io"
	"log"
	"log/slog"
)

// newLogger logs to w at cfg's level, as text (key=value) or JSON lines.
// Every line carries the time, level and message; the "listening" line
// carries api= and addr= (tests and scripts read it).
func newLogger(w io.Writer, cfg *Config) *slog.Logger {
	opts := &slog.HandlerOptions{Level: &cfg.LogLevel}
	if cfg.LogJSON {
		return slog.New(slog.NewJSONHandler(w, opts))
	}
	return slog.New(slog.NewTextHandler(w, opts))
}

// errorLog adapts log for net/http's internal errors (TLS handshakes,
// panics in handlers), which it reports through a *log.Logger.
func errorLog(l *slog.Logger) *log.Logger {
	return slog.NewLogLogger(l.Handler(), slog.LevelWarn)
}
