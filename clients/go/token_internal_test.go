package httpmq

import (
	"encoding/base64"
	"testing"
	"time"
)

func TestTokenExpiry(t *testing.T) {
	jwt := func(payload string) string {
		enc := base64.RawURLEncoding.EncodeToString
		return enc([]byte(`{"alg":"HS256"}`)) + "." + enc([]byte(payload)) + ".c2ln"
	}
	for _, tc := range []struct {
		name, token string
		want        time.Time
	}{
		{"exp", jwt(`{"sub":"alice","exp":1767229200}`), time.Unix(1767229200, 0)},
		{"fractional exp", jwt(`{"exp":1767229200.5}`), time.Unix(1767229200, 500_000_000)},
		{"padded payload", "e30." + base64.URLEncoding.EncodeToString([]byte(`{"exp":1767229200}`)) + ".c2ln", time.Unix(1767229200, 0)},
		{"no exp", jwt(`{"sub":"alice"}`), time.Time{}},
		{"exp as a string", jwt(`{"exp":"1767229200"}`), time.Time{}},
		{"negative exp", jwt(`{"exp":-5}`), time.Time{}},
		{"not JSON", jwt(`exp`), time.Time{}},
		{"API key", "k3y-without-dots", time.Time{}},
		{"not base64", "a.%%%.c", time.Time{}},
	} {
		if got := tokenExpiry(tc.token); !got.Equal(tc.want) {
			t.Errorf("%s: tokenExpiry(%q) = %v, want %v", tc.name, tc.token, got, tc.want)
		}
	}
}

func TestRefreshAt(t *testing.T) {
	now := time.Now()
	if got, want := refreshAt(now, now.Add(5*time.Minute)), now.Add(4*time.Minute); !got.Equal(want) {
		t.Errorf("5-minute token: refresh at %v, want %v (80%%)", got.Sub(now), want.Sub(now))
	}
	if got := refreshAt(now, now.Add(-time.Second)); got.Before(now.Add(minRefreshWait)) {
		t.Errorf("expired token: refresh after %v, want at least %v", got.Sub(now), minRefreshWait)
	}
}
