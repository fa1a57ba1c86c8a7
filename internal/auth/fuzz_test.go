package auth_test

import (
	"context"
	"encoding/json"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/httpmq/httpmq/internal/auth"
)

// FuzzTokenFrom: no Authorization, subprotocol or query value crashes
// the extraction, and an error never quotes the input.
func FuzzTokenFrom(f *testing.F) {
	f.Add("Bearer abc", "httpmq.v1.json, httpmq.auth.x.y.z", "access_token=q")
	f.Add("bearer", "httpmq.auth.", "access_token=%zz")
	f.Add("Basic dXNlcjpwYXNz", ",,,", "")
	f.Add("Bearer  \t", "httpmq.auth.\x00", "access_token=a&access_token=b")
	f.Fuzz(func(t *testing.T, authz, proto, query string) {
		r := httptest.NewRequest("GET", "/v1/session", nil)
		r.URL.RawQuery = query
		if authz != "" {
			r.Header["Authorization"] = []string{authz}
		}
		r.Header["Sec-Websocket-Protocol"] = []string{proto}
		tok, err := auth.TokenFrom(r, true)
		if err != nil && len(authz) > 8 && strings.Contains(err.Error(), authz) {
			t.Fatalf("error quotes the header: %v", err)
		}
		_ = tok
	})
}

// FuzzAuthenticate: arbitrary bearer tokens through API-key lookup and
// JWT verification never crash and never authenticate.
func FuzzAuthenticate(f *testing.F) {
	f.Add("eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJhIn0.sig")
	f.Add("a.b.c")
	f.Add("eyJhbGciOiJub25lIn0.eyJzdWIiOiJhIiwiZXhwIjo5OTk5OTk5OTk5fQ.")
	f.Add("eyJhbGciOiJIUzI1NiIsImtpZCI6WzFdfQ.e30.e30")
	f.Add(strings.Repeat("A", 9000))
	tk := hsTokens(f)
	keys, err := auth.NewAPIKeys([]auth.APIKey{{Name: "k", SHA256: auth.HashAPIKey("hmq_known")}})
	if err != nil {
		f.Fatal(err)
	}
	tk.Keys = keys
	valid := sign(f, testSecret, "alice", time.Hour, auth.Permissions{})
	f.Fuzz(func(t *testing.T, tok string) {
		r := httptest.NewRequest("GET", "/", nil)
		r.Header.Set("Authorization", "Bearer "+tok)
		id, err := tk.Authenticate(r)
		if err == nil && tok != "hmq_known" && strings.TrimSpace(tok) != valid {
			t.Fatalf("%q authenticated as %+v", tok, id)
		}
		_, _ = tk.AuthenticateToken(context.Background(), tok)
	})
}

// FuzzJWTClaims: correctly signed tokens with arbitrary header and claims
// JSON never crash verification, and one accepted has one JSON object of
// claims with a numeric exp and a subject, and a header without crit.
func FuzzJWTClaims(f *testing.F) {
	hs := `{"alg":"HS256","typ":"JWT"}`
	f.Add(hs, `{"sub":"a","exp":9999999999}`)
	f.Add(hs, `{"sub":"a","exp":"9999999999"}`)
	f.Add(hs, `{"sub":"a","exp":9999999999,"EXP":"1"}`)
	f.Add(hs, `{"sub":"a","exp":9999999999,"httpmq":{"admin":"none","admin":"full"}}`)
	f.Add(`{"alg":"HS256","crit":["b64"],"b64":false}`, `{"sub":"a","exp":9999999999}`)
	f.Add(`{"alg":"none","alg":"HS256"}`, `{"sub":"a","exp":9999999999}`)
	f.Add(hs, `{"sub":"a","exp":9999999999,"x":[[[{"a":1,"\u0061":2}]]]}`)
	tk := hsTokens(f)
	f.Fuzz(func(t *testing.T, header, claims string) {
		id, err := tk.AuthenticateToken(context.Background(), rawHS256(testSecret, header, claims))
		if err != nil {
			return
		}
		var c, h map[string]any
		if json.Unmarshal([]byte(claims), &c) != nil || json.Unmarshal([]byte(header), &h) != nil {
			t.Fatalf("accepted claims %q or header %q that are not JSON objects", claims, header)
		}
		if _, ok := c["exp"].(float64); !ok {
			t.Fatalf("accepted exp %#v", c["exp"])
		}
		if sub, _ := c["sub"].(string); sub == "" || sub != id.Subject {
			t.Fatalf("accepted sub %#v as %q", c["sub"], id.Subject)
		}
		if _, ok := h["crit"]; ok {
			t.Fatalf("accepted a crit header: %q", header)
		}
	})
}

// FuzzParseAPIKey: config lines never crash the parser.
func FuzzParseAPIKey(f *testing.F) {
	h := auth.HashAPIKey("k")
	f.Add("ci " + h + " admin=read publish=orders.*,a.> subscribe=S/c,*/*")
	f.Add("ops sha256:" + h + ` {"admin":"full","publish":[">"]}`)
	f.Add("x y admin=")
	f.Add(`n ` + h + ` {"admin":1}`)
	f.Fuzz(func(t *testing.T, line string) {
		k, err := auth.ParseAPIKey(line)
		if err != nil {
			return
		}
		_, _ = auth.NewAPIKeys([]auth.APIKey{k})
		_ = k.Perms.Allows(auth.Action{Kind: auth.Publish, Subject: "a.b"})
		_ = k.Perms.Allows(auth.Action{Kind: auth.Subscribe, Stream: "S", Consumer: "c"})
	})
}
