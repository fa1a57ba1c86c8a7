// Package tlsreload serves a TLS certificate from files and reloads it
// when they change, without touching established connections.
//
// Start with [New], put [Reloader.GetCertificate] in a tls.Config, and run
// [Reloader.Watch] for as long as the server runs; call [Reloader.Reload]
// on SIGHUP too. A reload that fails (a half-written file, a key that does
// not match) keeps the previous certificate and is logged.
//
// [WatchFiles], the watcher underneath, serves other files reloaded the
// same way (JWT keys).
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
// Reloads are logged to log (nil: not logged).
func New(certFile, keyFile string, log *slog.Logger) (*Reloader, error) {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
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

// Watch reloads the files whenever their directories change (see
// [WatchFiles]), until ctx ends. It returns nil then, or an error if
// watching cannot start.
func (r *Reloader) Watch(ctx context.Context) error {
	return WatchFiles(ctx, []string{r.certFile, r.keyFile}, r.log, r.ReloadAndLog)
}

// WatchFiles calls reload whenever one of files may have changed, until
// ctx ends; why says which change. It watches the files' directories,
// not the files, which catches editors' renames and Kubernetes' symlink
// swaps ("..data"). It is the one watcher of httpmq's reloadable files:
// TLS certificates and JWT keys alike. It returns nil when ctx ends, or
// an error if watching cannot start. Watch errors are logged to log
// (nil: not logged).
func WatchFiles(ctx context.Context, files []string, log *slog.Logger, reload func(why string)) error {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	w, err := fsnotify.NewWatcher()
	if err != nil {
		return fmt.Errorf("watching %s: %w", strings.Join(files, ", "), err)
	}
	defer func() { _ = w.Close() }()
	dirs := map[string]bool{}
	names := map[string]bool{}
	for _, f := range files {
		dirs[filepath.Dir(f)] = true
		names[filepath.Base(f)] = true
	}
	for d := range dirs {
		if err := w.Add(d); err != nil {
			return fmt.Errorf("watching files in %s: %w", d, err)
		}
	}
	for {
		select {
		case <-ctx.Done():
			return nil
		case err := <-w.Errors:
			log.Warn("watching files", "files", files, "err", err)
		case ev := <-w.Events:
			base := filepath.Base(ev.Name)
			// The files themselves, or Kubernetes' "..data" style
			// symlinks beside them.
			if ev.Op == fsnotify.Chmod || !(names[base] || strings.HasPrefix(base, "..")) {
				continue
			}
			reload("file changed: " + ev.Name)
		}
	}
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
