package auth

import (
	"bytes"
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"slices"
	"sync/atomic"
	"time"

	"github.com/MicahParks/keyfunc/v3"
	"github.com/golang-jwt/jwt/v5"
)

// ClaimPermissions is the JWT claim holding a token's [Permissions].
const ClaimPermissions = "httpmq"

// Claims are the JWT claims httpmq reads: the registered ones (sub and
// exp required; iss and aud checked when configured; nbf honoured) and
// "httpmq" with the permissions. A token without "httpmq" may do nothing.
type Claims struct {
	jwt.RegisteredClaims
	Httpmq Permissions `json:"httpmq"`
}

// JWTConfig configures [NewJWT]. At least one of Secret, PublicKeys, JWKS
// and Files must be set; each enables its algorithms only.
type JWTConfig struct {
	// Secret is the HMAC key: enables HS256, HS384, HS512.
	Secret []byte
	// PublicKeys are RSA or ECDSA keys: enable RS*, PS* and ES*.
	PublicKeys []crypto.PublicKey
	// JWKS resolves keys by the token's kid ([LoadJWKSFile],
	// [NewJWKSURL]): enables RS*, PS* and ES*.
	JWKS keyfunc.Keyfunc
	// Files are key material read at [NewJWT] and again at each
	// [JWT.Reload], beside the keys above.
	Files KeyFiles
	// Issuer and Audience, when set, must match iss and aud.
	Issuer, Audience string
	// Leeway tolerates clock skew on exp and nbf. Default 0.
	Leeway time.Duration
	// Now is the clock; default time.Now.
	Now func() time.Time
}

// KeyFiles name files holding JWT keys ([JWTConfig.Files]). A secret
// file cannot be combined with [JWTConfig.Secret], nor a JWKS file with
// [JWTConfig.JWKS]; public keys add up.
type KeyFiles struct {
	// Secret holds the HMAC secret; trailing line breaks are ignored.
	Secret string
	// PublicKeys hold PEM public keys or certificates ([ParsePublicKeys]).
	PublicKeys []string
	// JWKS holds a JWK Set document ([LoadJWKSFile]).
	JWKS string
}

// Paths lists the files, for watching them.
func (f KeyFiles) Paths() []string {
	var paths []string
	if f.Secret != "" {
		paths = append(paths, f.Secret)
	}
	paths = append(paths, f.PublicKeys...)
	if f.JWKS != "" {
		paths = append(paths, f.JWKS)
	}
	return paths
}

// JWT verifies JSON Web Tokens with golang-jwt. It is safe for
// concurrent use, [JWT.Reload] included.
type JWT struct {
	cfg    JWTConfig
	parser *jwt.Parser
	keys   atomic.Pointer[jwtKeys]
}

// jwtKeys is the key material in use: cfg's keys and its files'.
type jwtKeys struct {
	secret []byte
	public []crypto.PublicKey
	jwks   keyfunc.Keyfunc
}

// NewJWT checks cfg, reads its key files and returns a verifier.
func NewJWT(cfg JWTConfig) (*JWT, error) {
	k, err := loadKeys(&cfg)
	if err != nil {
		return nil, err
	}
	var methods []string
	if len(k.secret) > 0 {
		methods = append(methods, "HS256", "HS384", "HS512")
	}
	if len(k.public) > 0 || k.jwks != nil {
		methods = append(methods, "RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512")
	}
	if len(methods) == 0 {
		return nil, errors.New("jwt: no secret, public key or JWKS configured")
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	opts := []jwt.ParserOption{
		jwt.WithValidMethods(methods), jwt.WithExpirationRequired(),
		jwt.WithLeeway(cfg.Leeway), jwt.WithTimeFunc(cfg.Now),
	}
	if cfg.Issuer != "" {
		opts = append(opts, jwt.WithIssuer(cfg.Issuer))
	}
	if cfg.Audience != "" {
		opts = append(opts, jwt.WithAudience(cfg.Audience))
	}
	j := &JWT{cfg: cfg, parser: jwt.NewParser(opts...)}
	j.keys.Store(k)
	return j, nil
}

// Reload reads the key files ([JWTConfig.Files]) again; tokens are
// verified with the new keys from then on. When a file cannot be read or
// holds no valid key, Reload returns the error and the keys in use stay.
// The kinds of key, hence the algorithms accepted, never change: a file
// yields its kind of key or an error.
func (j *JWT) Reload() error {
	k, err := loadKeys(&j.cfg)
	if err != nil {
		return err
	}
	j.keys.Store(k)
	return nil
}

// loadKeys merges cfg's keys with those of its files and checks them.
func loadKeys(cfg *JWTConfig) (*jwtKeys, error) {
	k := &jwtKeys{secret: cfg.Secret, public: slices.Clip(cfg.PublicKeys), jwks: cfg.JWKS}
	f := cfg.Files
	if f.Secret != "" {
		if len(cfg.Secret) > 0 {
			return nil, errors.New("jwt: both a secret and a secret file configured")
		}
		b, err := os.ReadFile(f.Secret)
		if err != nil {
			return nil, fmt.Errorf("jwt: secret: %w", err)
		}
		k.secret = bytes.TrimRight(b, "\r\n")
	}
	for _, path := range f.PublicKeys {
		b, err := os.ReadFile(path)
		if err != nil {
			return nil, fmt.Errorf("jwt: public key: %w", err)
		}
		keys, err := ParsePublicKeys(b)
		if err != nil {
			return nil, fmt.Errorf("jwt: public key %s: %w", path, err)
		}
		k.public = append(k.public, keys...)
	}
	if f.JWKS != "" {
		if cfg.JWKS != nil {
			return nil, errors.New("jwt: both a JWKS and a JWKS file configured")
		}
		b, err := os.ReadFile(f.JWKS)
		if err != nil {
			return nil, fmt.Errorf("jwt: JWKS: %w", err)
		}
		if k.jwks, err = LoadJWKSFile(b); err != nil {
			return nil, fmt.Errorf("jwt: JWKS %s: %w", f.JWKS, err)
		}
	}
	if (len(k.secret) > 0 || f.Secret != "") && len(k.secret) < 32 {
		return nil, errors.New("jwt: the HMAC secret must be at least 32 bytes")
	}
	for _, pk := range k.public {
		switch pk.(type) {
		case *rsa.PublicKey, *ecdsa.PublicKey:
		default:
			return nil, fmt.Errorf("jwt: public key of type %T is not RSA or ECDSA", pk)
		}
	}
	return k, nil
}

// Verify checks tok's signature and claims and returns its identity. Its
// errors wrap [ErrUnauthenticated] and say what was wrong (expired, bad
// signature...) without quoting the token. Beyond golang-jwt's checks it
// refuses a header with "crit", claims exp, nbf and iat that are not JSON
// numbers, and a member name given twice anywhere ([checkTokenJSON]).
func (j *JWT) Verify(ctx context.Context, tok string) (Identity, error) {
	if err := checkTokenJSON(tok); err != nil {
		return Identity{}, fmt.Errorf("%w: %v", ErrUnauthenticated, err)
	}
	var c Claims
	_, err := j.parser.ParseWithClaims(tok, &c, func(t *jwt.Token) (any, error) { return j.key(ctx, t) })
	if err != nil {
		return Identity{}, fmt.Errorf("%w: %s", ErrUnauthenticated, jwtReason(err))
	}
	if c.Subject == "" {
		return Identity{}, fmt.Errorf("%w: token has no sub claim", ErrUnauthenticated)
	}
	if err := c.Httpmq.Validate(); err != nil {
		return Identity{}, fmt.Errorf("%w: claim %s: %v", ErrUnauthenticated, ClaimPermissions, err)
	}
	return Identity{Subject: c.Subject, Method: MethodJWT, Perms: c.Httpmq, Expires: c.ExpiresAt.Time}, nil
}

// jwtReason is a short, token-free reason for a verification failure.
func jwtReason(err error) string {
	for _, r := range []struct {
		err error
		why string
	}{
		{jwt.ErrTokenExpired, "token expired"},
		{jwt.ErrTokenNotValidYet, "token not valid yet"},
		{jwt.ErrTokenSignatureInvalid, "bad token signature"},
		{jwt.ErrTokenUnverifiable, "token cannot be verified (unknown algorithm or key)"},
		{jwt.ErrTokenMalformed, "malformed token"},
		{jwt.ErrTokenRequiredClaimMissing, "token lacks a required claim (exp)"},
		{jwt.ErrTokenInvalidIssuer, "wrong token issuer"},
		{jwt.ErrTokenInvalidAudience, "wrong token audience"},
		{jwt.ErrTokenInvalidClaims, "invalid token claims"},
	} {
		if errors.Is(err, r.err) {
			return r.why
		}
	}
	return "invalid token"
}

// key picks the verification key for t: the HMAC secret for HS*, the
// JWKS entry for a token with a kid, else every configured public key.
func (j *JWT) key(ctx context.Context, t *jwt.Token) (any, error) {
	k := j.keys.Load()
	if _, ok := t.Method.(*jwt.SigningMethodHMAC); ok {
		return k.secret, nil
	}
	if _, hasKID := t.Header["kid"]; k.jwks != nil && (hasKID || len(k.public) == 0) {
		return k.jwks.KeyfuncCtx(ctx)(t)
	}
	set := jwt.VerificationKeySet{}
	for _, pk := range k.public {
		set.Keys = append(set.Keys, pk)
	}
	return set, nil
}

// ParsePublicKeys reads every RSA or ECDSA public key (PUBLIC KEY, RSA
// PUBLIC KEY or CERTIFICATE blocks) in PEM data.
func ParsePublicKeys(data []byte) ([]crypto.PublicKey, error) {
	var keys []crypto.PublicKey
	for {
		var b *pem.Block
		b, data = pem.Decode(data)
		if b == nil {
			break
		}
		var k any
		var err error
		switch b.Type {
		case "PUBLIC KEY":
			k, err = x509.ParsePKIXPublicKey(b.Bytes)
		case "RSA PUBLIC KEY":
			k, err = x509.ParsePKCS1PublicKey(b.Bytes)
		case "CERTIFICATE":
			var c *x509.Certificate
			if c, err = x509.ParseCertificate(b.Bytes); err == nil {
				k = c.PublicKey
			}
		default:
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("PEM %s: %w", b.Type, err)
		}
		keys = append(keys, k)
	}
	if len(keys) == 0 {
		return nil, errors.New("no PEM public key or certificate found")
	}
	return keys, nil
}

// LoadJWKSFile reads a JWK Set document.
func LoadJWKSFile(data []byte) (keyfunc.Keyfunc, error) {
	return keyfunc.NewJWKSetJSON(data)
}

// NewJWKSURL fetches a JWK Set from url, caches it and refreshes it every
// hour (and, at most every five minutes, when a token names an unknown
// kid) until ctx ends. Failures to refresh are logged; the cached keys
// stay in use.
func NewJWKSURL(ctx context.Context, url string, log *slog.Logger) (keyfunc.Keyfunc, error) {
	return keyfunc.NewDefaultOverrideCtx(ctx, []string{url}, keyfunc.Override{
		HTTPTimeout: 10 * time.Second,
		RefreshErrorHandlerFunc: func(u string) func(context.Context, error) {
			return func(_ context.Context, err error) { log.Warn("refreshing the JWKS failed", "url", u, "err", err) }
		},
	})
}
