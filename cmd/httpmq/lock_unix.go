//go:build unix

package main

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"syscall"
)

// lockDataDir takes an exclusive lock on dir/httpmq.lock, so that two
// embedded servers never share one JetStream store. The lock goes with
// the process; unlock releases it earlier.
func lockDataDir(dir string) (unlock func(), err error) {
	if err := os.MkdirAll(dir, 0o750); err != nil {
		return nil, fmt.Errorf("--data-dir: %w", err)
	}
	path := filepath.Join(dir, "httpmq.lock")
	f, err := os.OpenFile(path, os.O_CREATE|os.O_RDWR, 0o600)
	if err != nil {
		return nil, fmt.Errorf("--data-dir: %w", err)
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		_ = f.Close()
		if errors.Is(err, syscall.EWOULDBLOCK) {
			return nil, fmt.Errorf("--data-dir %s is in use by another httpmq (%s is locked); "+
				"one embedded JetStream server cannot be shared by two processes: to run \"httpmq management\" and "+
				"\"httpmq dataplane\" apart, run NATS with JetStream and give both --nats-url (see docs/operations.md)", dir, path)
		}
		return nil, fmt.Errorf("--data-dir: lock %s: %w", path, err)
	}
	return func() { _ = f.Close() }, nil
}
