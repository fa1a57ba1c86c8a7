//go:build unix

package main

import (
	"context"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/stretchr/testify/require"

	"github.com/httpmq/httpmq/internal/auth"
	"github.com/httpmq/httpmq/internal/testenv"
)

// TestJWTSecretFileReload: the wiring of --auth-jwt-secret-file reloads
// the secret when the file changes and on SIGHUP; a broken file keeps the
// current secret, with a warning.
func TestJWTSecretFileReload(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "jwt.secret")
	write := func(secret string) {
		t.Helper()
		require.NoError(t, os.WriteFile(path+".tmp", []byte(secret+"\n"), 0o600))
		require.NoError(t, os.Rename(path+".tmp", path))
	}
	sign := func(secret string) string {
		t.Helper()
		tok, err := jwt.NewWithClaims(jwt.SigningMethodHS256, jwt.RegisteredClaims{
			Subject: "bob", ExpiresAt: jwt.NewNumericDate(time.Now().Add(time.Hour))}).SignedString([]byte(secret))
		require.NoError(t, err)
		return tok
	}
	first, second := strings.Repeat("1", 32), strings.Repeat("2", 32)
	write(first)

	cfg := defaultConfig()
	cfg.AuthJWTSecretFile = path
	logs := &testenv.LogBuffer{}
	log := slog.New(slog.NewJSONHandler(logs, nil))
	sec, err := newSecurity(t.Context(), cfg, log, nil)
	require.NoError(t, err)
	require.Equal(t, []string{path}, sec.keyFiles)
	tokens := sec.dataplane.Authn.(*auth.Tokens)
	accepts := func(tok string) bool {
		_, err := tokens.AuthenticateToken(context.Background(), tok)
		return err == nil
	}
	require.True(t, accepts(sign(first)))

	stop := watchFiles("JWT key", sec.keyFiles, sec.reloadKeys, log)
	defer stop()
	// The watcher is up once rewriting the file unchanged reloads it.
	testenv.Eventually(t, "the watcher to start", func() bool {
		write(first)
		return strings.Contains(logs.String(), `"msg":"JWT keys reloaded","why":"file changed: `)
	})
	write(second)
	testenv.Eventually(t, "the new secret accepted", func() bool { return accepts(sign(second)) })
	require.False(t, accepts(sign(first)), "the old secret is refused")

	// SIGHUP reloads too (its handler is registered once watchFiles returns).
	require.NoError(t, syscall.Kill(os.Getpid(), syscall.SIGHUP))
	testenv.Eventually(t, "a reload on SIGHUP", func() bool {
		return strings.Contains(logs.String(), `"msg":"JWT keys reloaded","why":"SIGHUP"`)
	})

	write("short")
	testenv.Eventually(t, "a warning for the broken file", func() bool {
		return strings.Contains(logs.String(), "JWT keys not reloaded; keeping the current ones")
	})
	require.True(t, accepts(sign(second)), "a broken file keeps the current secret")
	require.NotContains(t, logs.String(), second, "the secret never reaches the logs")
}
