package auth_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"encoding/pem"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/MicahParks/jwkset"
	"github.com/golang-jwt/jwt/v5"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/httpmq/httpmq/internal/auth"
	"github.com/httpmq/httpmq/internal/testenv"
	"github.com/httpmq/httpmq/internal/tlsreload"
)

// keyFile is one kind of JWT key file: gen writes generation n of the
// key material to path and returns a token signed with it.
type keyFile struct {
	name   string
	files  func(path string) auth.KeyFiles
	gen    func(t *testing.T, path string, n int) string
	broken string
}

var keyFiles = []keyFile{
	{
		name:  "secret",
		files: func(p string) auth.KeyFiles { return auth.KeyFiles{Secret: p} },
		gen: func(t *testing.T, path string, n int) string {
			secret := fmt.Appendf(nil, "secret generation %d, long enough for HS256", n)
			writeAtomically(t, path, append(secret, '\n'))
			return sign(t, secret, "bob", time.Hour, auth.Permissions{})
		},
		broken: "too short\n",
	},
	{
		name:  "pem",
		files: func(p string) auth.KeyFiles { return auth.KeyFiles{PublicKeys: []string{p}} },
		gen: func(t *testing.T, path string, n int) string {
			key := ecKey(t)
			der, err := x509.MarshalPKIXPublicKey(&key.PublicKey)
			require.NoError(t, err)
			writeAtomically(t, path, pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der}))
			return signES256(t, key, "")
		},
		broken: "-----BEGIN PUBLIC KEY-----\nnot base64\n",
	},
	{
		name:  "jwks",
		files: func(p string) auth.KeyFiles { return auth.KeyFiles{JWKS: p} },
		gen: func(t *testing.T, path string, n int) string {
			key := ecKey(t)
			kid := fmt.Sprintf("k%d", n)
			set := jwkset.NewMemoryStorage()
			jwk, err := jwkset.NewJWKFromKey(&key.PublicKey, jwkset.JWKOptions{Metadata: jwkset.JWKMetadataOptions{KID: kid}})
			require.NoError(t, err)
			require.NoError(t, set.KeyWrite(context.Background(), jwk))
			doc, err := set.JSONPublic(context.Background())
			require.NoError(t, err)
			writeAtomically(t, path, doc)
			return signES256(t, key, kid)
		},
		broken: `{"keys": [`,
	},
}

// TestJWTKeyFilesReload: a key file rotated on disk is picked up by the
// watcher: a token signed with the new key is accepted, one signed with
// the old key refused. A broken file keeps the current key.
func TestJWTKeyFilesReload(t *testing.T) {
	for _, kf := range keyFiles {
		t.Run(kf.name, func(t *testing.T) {
			t.Parallel()
			path := filepath.Join(t.TempDir(), "key")
			first := kf.gen(t, path, 1)
			j, err := auth.NewJWT(auth.JWTConfig{Files: kf.files(path)})
			require.NoError(t, err)
			verifies := func(tok string) bool {
				_, err := j.Verify(context.Background(), tok)
				return err == nil
			}
			require.True(t, verifies(first))

			var loads, failures atomic.Int64
			ctx, cancel := context.WithCancel(context.Background())
			var wg sync.WaitGroup
			wg.Go(func() {
				assert.NoError(t, tlsreload.WatchFiles(ctx, kf.files(path).Paths(), testenv.Logger(), func(string) {
					if j.Reload() != nil {
						failures.Add(1)
					} else {
						loads.Add(1)
					}
				}))
			})
			t.Cleanup(func() { cancel(); wg.Wait() })
			// The watcher is up once rewriting the file unchanged reloads it.
			testenv.Eventually(t, "the watcher to start", func() bool {
				b, err := os.ReadFile(path)
				require.NoError(t, err)
				writeAtomically(t, path, b)
				return loads.Load() > 0
			})

			second := kf.gen(t, path, 2)
			testenv.Eventually(t, "the rotated key accepted", func() bool { return verifies(second) })
			_, err = j.Verify(context.Background(), first)
			assert.ErrorIs(t, err, auth.ErrUnauthenticated, "the old key is gone")

			before := failures.Load()
			writeAtomically(t, path, []byte(kf.broken))
			testenv.Eventually(t, "the broken file read", func() bool { return failures.Load() > before })
			assert.Error(t, j.Reload())
			assert.True(t, verifies(second), "a broken file keeps the current key")
			assert.False(t, verifies(first))
		})
	}
}

// TestJWTKeyFilesErrors: NewJWT fails on a missing or broken key file and
// on a file and a key of the same kind both configured.
func TestJWTKeyFilesErrors(t *testing.T) {
	dir := t.TempDir()
	broken := filepath.Join(dir, "broken")
	require.NoError(t, os.WriteFile(broken, []byte("x"), 0o600))
	for name, cfg := range map[string]auth.JWTConfig{
		"missing secret":   {Files: auth.KeyFiles{Secret: filepath.Join(dir, "none")}},
		"short secret":     {Files: auth.KeyFiles{Secret: broken}},
		"broken PEM":       {Files: auth.KeyFiles{PublicKeys: []string{broken}}},
		"broken JWKS":      {Files: auth.KeyFiles{JWKS: broken}},
		"secret and file":  {Secret: testSecret, Files: auth.KeyFiles{Secret: broken}},
		"no key material":  {Files: auth.KeyFiles{}},
		"static too short": {Secret: []byte("short")},
	} {
		_, err := auth.NewJWT(cfg)
		assert.Error(t, err, name)
	}
}

// writeAtomically replaces path's content by a rename, as careful tools
// (and Kubernetes) do, so a reader never sees half a file.
func writeAtomically(t *testing.T, path string, b []byte) {
	t.Helper()
	tmp := filepath.Join(filepath.Dir(path), ".tmp-"+filepath.Base(path))
	require.NoError(t, os.WriteFile(tmp, b, 0o600))
	require.NoError(t, os.Rename(tmp, path))
}

func ecKey(t *testing.T) *ecdsa.PrivateKey {
	t.Helper()
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	require.NoError(t, err)
	return k
}

// signES256 returns a token for bob signed with key, naming kid if set.
func signES256(t *testing.T, key *ecdsa.PrivateKey, kid string) string {
	t.Helper()
	tok := jwt.NewWithClaims(jwt.SigningMethodES256, auth.Claims{RegisteredClaims: jwt.RegisteredClaims{
		Subject: "bob", ExpiresAt: jwt.NewNumericDate(time.Now().Add(time.Hour))}})
	if kid != "" {
		tok.Header["kid"] = kid
	}
	s, err := tok.SignedString(key)
	require.NoError(t, err)
	return s
}
