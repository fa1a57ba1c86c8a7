package auth_test

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/httpmq/httpmq/internal/auth"
)

// rawHS256 signs header and claims given as JSON text, as they are, with
// secret: tokens no well-behaved library would make.
func rawHS256(secret []byte, header, claims string) string {
	enc := base64.RawURLEncoding
	signing := enc.EncodeToString([]byte(header)) + "." + enc.EncodeToString([]byte(claims))
	mac := hmac.New(sha256.New, secret)
	mac.Write([]byte(signing))
	return signing + "." + enc.EncodeToString(mac.Sum(nil))
}

// TestJWTStrictJSON: claims of the wrong JSON type, duplicated names
// (anywhere, in any case encoding/json would match) and a crit header
// make a correctly signed token invalid, where golang-jwt and
// encoding/json alone would accept them.
func TestJWTStrictJSON(t *testing.T) {
	tk := hsTokens(t)
	exp := time.Now().Add(time.Hour).Unix()
	hs := `{"alg":"HS256","typ":"JWT"}`
	cases := []struct {
		name, header, claims string
		why                  string // in the error; "" means accepted
	}{
		{"well formed", hs, fmt.Sprintf(`{"sub":"a","exp":%d,"httpmq":{"admin":"read"}}`, exp), ""},
		{"fractional exp", hs, fmt.Sprintf(`{"sub":"a","exp":%d.5}`, exp), ""},
		{"unknown claims", hs, fmt.Sprintf(`{"sub":"a","exp":%d,"other":{"x":[1,{"y":2}]}}`, exp), ""},
		{"exp as a string", hs, fmt.Sprintf(`{"sub":"a","exp":"%d"}`, exp), "exp must be a JSON number"},
		{"nbf as a string", hs, fmt.Sprintf(`{"sub":"a","exp":%d,"nbf":"0"}`, exp), "nbf must be a JSON number"},
		{"iat as a boolean", hs, fmt.Sprintf(`{"sub":"a","exp":%d,"iat":true}`, exp), "iat must be a JSON number"},
		{"exp null", hs, `{"sub":"a","exp":null}`, "exp must be a JSON number"},
		{"Exp as a string beside exp", hs, fmt.Sprintf(`{"sub":"a","exp":%d,"Exp":"9999999999"}`, exp), "duplicate"},
		{"duplicate exp", hs, fmt.Sprintf(`{"sub":"a","exp":1,"exp":%d}`, exp), `duplicate member "exp"`},
		{"duplicate sub", hs, fmt.Sprintf(`{"sub":"a","exp":%d,"sub":"root"}`, exp), `duplicate member "sub"`},
		{"duplicate by escape", hs, fmt.Sprintf(`{"sub":"a","exp":%d,"\u0073ub":"root"}`, exp), "duplicate"},
		{"duplicate by case", hs, fmt.Sprintf(`{"sub":"a","exp":%d,"SUB":"root"}`, exp), "duplicate"},
		{"duplicate by Unicode folding", hs, fmt.Sprintf(`{"sub":"a","exp":%d,"ſub":"root"}`, exp), "duplicate"},
		{"duplicate permission", hs, fmt.Sprintf(`{"sub":"a","exp":%d,"httpmq":{"admin":"none","admin":"full"}}`, exp), `duplicate member "admin"`},
		{"duplicate deep inside", hs, fmt.Sprintf(`{"sub":"a","exp":%d,"x":[{"k":1,"k":2}]}`, exp), `duplicate member "k"`},
		{"duplicate claim", hs, fmt.Sprintf(`{"sub":"a","exp":%d,"httpmq":{},"httpmq":{"admin":"full"}}`, exp), `duplicate member "httpmq"`},
		{"crit header", `{"alg":"HS256","crit":["exp"],"exp":1}`, fmt.Sprintf(`{"sub":"a","exp":%d}`, exp), "crit"},
		{"empty crit header", `{"alg":"HS256","crit":[]}`, fmt.Sprintf(`{"sub":"a","exp":%d}`, exp), "crit"},
		{"duplicate alg", `{"alg":"none","alg":"HS256"}`, fmt.Sprintf(`{"sub":"a","exp":%d}`, exp), `duplicate member "alg"`},
		{"claims not an object", hs, `[1,2]`, "malformed token"},
		{"trailing data", hs, fmt.Sprintf(`{"sub":"a","exp":%d} {}`, exp), "malformed token"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			id, err := tk.AuthenticateToken(context.Background(), rawHS256(testSecret, c.header, c.claims))
			if c.why == "" {
				require.NoError(t, err)
				assert.Equal(t, "a", id.Subject)
				return
			}
			require.ErrorIs(t, err, auth.ErrUnauthenticated)
			assert.Contains(t, err.Error(), c.why)
		})
	}
}
