// Package tlsreload serves a TLS certificate from files and reloads it
// when they change, without touching established connections.
//
// Start with [New], put [Reloader.GetCertificate] in a tls.Config, and run
// [Reloader.Watch] for as long as the server runs; call [Reloader.Reload]
// on SIGHUP too. A reload that fails (a half-written file, a key that does
// not match) keeps the previous certificate and is logged.
package tlsreload

import (
	"context"
	"crypto/tls"
	"fmt"
	"log/slog"
	"path/filepath"
	"strings"
	"sync/atomic"

	"github.com/fsnotify/fsnotify"
)

// Reloader holds the current certificate of a cert/key file pair. Its
// methods may be called concurrently.
type Reloader struct {
	certFile, keyFile string
	log               *slog.Logger
	cert              atomic.Pointer[tls.Certificate]
	reloads           atomic.Int64
}

// New loads certFile and keyFile (PEM) once; failing that, it fails.
func New(certFile, keyFile string, log *slog.Logger) (*Reloader, error) {
	if log == nil {
		log = slog.Default()
	}
	r := &Reloader{certFile: certFile, keyFile: keyFile, log: log}
	if err := r.Reload(); err != nil {
		return nil, err
	}
	return r, nil
}

// Reload reads the files again. On failure the current certificate stays.
func (r *Reloader) Reload() error {
	c, err := tls.LoadX509KeyPair(r.certFile, r.keyFile)
	if err != nil {
		return fmt.Errorf("TLS certificate %s / key %s: %w", r.certFile, r.keyFile, err)
	}
	r.cert.Store(&c)
	r.reloads.Add(1)
	return nil
}

// Loads is how many times the files were loaded successfully (1 after
// New), for tests and metrics.
func (r *Reloader) Loads() int64 { return r.reloads.Load() }

// Certificate returns the current certificate.
func (r *Reloader) Certificate() *tls.Certificate { return r.cert.Load() }

// GetCertificate is for tls.Config.GetCertificate: every new handshake
// gets the current certificate.
func (r *Reloader) GetCertificate(*tls.ClientHelloInfo) (*tls.Certificate, error) {
	return r.cert.Load(), nil
}

// Watch reloads the files whenever their directories change (watching
// directories, not files, catches editors' renames and Kubernetes'
// symlink swaps), until ctx ends. It returns nil then, or an error if
// watching cannot start.
func (r *Reloader) Watch(ctx context.Context) error {
	w, err := fsnotify.NewWatcher()
	if err != nil {
		return fmt.Errorf("watching TLS files: %w", err)
	}
	defer func() { _ = w.Close() }()
	dirs := map[string]bool{filepath.Dir(r.certFile): true, filepath.Dir(r.keyFile): true}
	for d := range dirs {
		if err := w.Add(d); err != nil {
			return fmt.Errorf("watching TLS files in %s: %w", d, err)
		}
	}
	for {
		select {
		case <-ctx.Done():
			return nil
		case err := <-w.Errors:
			r.log.Warn("watching TLS files", "err", err)
		case ev := <-w.Events:
			if ev.Op == fsnotify.Chmod || !r.concerns(ev.Name) {
				continue
			}
			r.ReloadAndLog("file changed: " + ev.Name)
		}
	}
}

// concerns reports whether a change to path may change the pair: the
// files themselves, or Kubernetes' "..data" style symlinks beside them.
func (r *Reloader) concerns(path string) bool {
	base := filepath.Base(path)
	return base == filepath.Base(r.certFile) || base == filepath.Base(r.keyFile) || strings.HasPrefix(base, "..")
}

// ReloadAndLog reloads and logs the outcome (why says what triggered it).
func (r *Reloader) ReloadAndLog(why string) {
	if err := r.Reload(); err != nil {
		// Often transient: the certificate is written before its key.
		r.log.Warn("TLS certificate not reloaded; keeping the current one", "why", why, "err", err)
		return
	}
	r.log.Info("TLS certificate reloaded", "why", why, "cert", r.certFile)
}
