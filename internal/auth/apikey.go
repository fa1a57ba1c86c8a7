package auth

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"strings"
)

// APIKeys holds static API keys by the SHA-256 of the key, never the key
// itself. It is read-only once built, so safe for concurrent use.
//
// Why SHA-256 and not bcrypt or argon2: those slow hashes protect
// low-entropy passwords against guessing. API keys are random strings of
// at least 128 bits (docs/security.md shows how to make one), which no
// one can guess whatever the hash's speed; a slow hash would only make
// every request cost tens of milliseconds of CPU, a denial-of-service
// lever. Lookups index by the digest, so no secret-dependent comparison
// runs on the key.
type APIKeys struct {
	byHash map[[sha256.Size]byte]Identity
}

// APIKey is one configured key.
type APIKey struct {
	// Name is the identity's subject (for logs and quotas).
	Name string
	// SHA256 is the hex SHA-256 digest of the key.
	SHA256 string
	Perms  Permissions
}

// ParseAPIKey reads the config file form "NAME SHA256HEX PERMISSIONS",
// PERMISSIONS as [ParsePermissions] reads them. The hex digest may be
// prefixed "sha256:".
func ParseAPIKey(s string) (APIKey, error) {
	f := strings.Fields(s)
	if len(f) < 2 {
		return APIKey{}, fmt.Errorf("api key: want \"NAME SHA256HEX [admin=...] [publish=...] [subscribe=...]\"")
	}
	rest := strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(s), f[0]))
	rest = strings.TrimSpace(strings.TrimPrefix(rest, f[1]))
	p, err := ParsePermissions(rest)
	if err != nil {
		return APIKey{}, fmt.Errorf("api key %s: %w", f[0], err)
	}
	return APIKey{Name: f[0], SHA256: strings.TrimPrefix(f[1], "sha256:"), Perms: p}, nil
}

// NewAPIKeys indexes keys, refusing malformed digests and duplicates.
func NewAPIKeys(keys []APIKey) (*APIKeys, error) {
	k := &APIKeys{byHash: make(map[[sha256.Size]byte]Identity, len(keys))}
	names := map[string]bool{}
	for _, key := range keys {
		raw, err := hex.DecodeString(key.SHA256)
		if err != nil || len(raw) != sha256.Size {
			return nil, fmt.Errorf("api key %s: the digest must be 64 hex digits (sha256sum of the key)", key.Name)
		}
		if err := key.Perms.Validate(); err != nil {
			return nil, fmt.Errorf("api key %s: %w", key.Name, err)
		}
		var h [sha256.Size]byte
		copy(h[:], raw)
		if _, dup := k.byHash[h]; dup || names[key.Name] {
			return nil, fmt.Errorf("api key %s: configured twice", key.Name)
		}
		names[key.Name] = true
		k.byHash[h] = Identity{Subject: key.Name, Method: MethodAPIKey, Perms: key.Perms}
	}
	return k, nil
}

// HashAPIKey returns the hex SHA-256 of key, the form [APIKey] stores.
func HashAPIKey(key string) string {
	h := sha256.Sum256([]byte(key))
	return hex.EncodeToString(h[:])
}

// Lookup returns the identity of key, if it is a configured key.
func (k *APIKeys) Lookup(key string) (Identity, bool) {
	id, ok := k.byHash[sha256.Sum256([]byte(key))]
	return id, ok
}

// Len is the number of keys.
func (k *APIKeys) Len() int { return len(k.byHash) }
