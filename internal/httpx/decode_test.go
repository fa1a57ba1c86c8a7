package httpx_test

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/httpmq/httpmq/internal/httpx"
	"github.com/httpmq/httpmq/protocol"
)

type target struct {
	Name  string   `json:"name"`
	Count int      `json:"count"`
	Tags  []string `json:"tags"`
}

func TestDecodeJSON(t *testing.T) {
	tests := []struct {
		name        string
		body        string
		contentType string
		opts        httpx.DecodeOptions
		code        protocol.Code // "" for success
		detail      string        // substring of the detail
	}{
		{name: "json", body: `{"name":"a","count":2}`, contentType: "application/json"},
		{name: "octet-stream", body: `{"name":"a"}`, contentType: "application/octet-stream"},
		{name: "no content type", body: `{"name":"a"}`},
		{name: "surrounding whitespace", body: " \n{\"name\":\"a\"}\n\t"},
		{name: "exactly at the limit", body: `{"name":"abc"}`, opts: httpx.DecodeOptions{MaxBytes: 14}},
		{name: "empty allowed", body: "", opts: httpx.DecodeOptions{AllowEmpty: true}},
		{name: "blank allowed", body: "  \n", opts: httpx.DecodeOptions{AllowEmpty: true}},

		{name: "empty", body: "", code: protocol.CodeBadRequest, detail: "JSON object"},
		{name: "unknown field", body: `{"name":"a","colour":"red"}`, code: protocol.CodeBadRequest, detail: `"colour"`},
		{name: "syntax", body: "{\n\"name\": \"a\",\n\"count\": x}", code: protocol.CodeBadRequest, detail: "line 3"},
		{name: "wrong type", body: `{"count":"two"}`, code: protocol.CodeBadRequest, detail: "count: expected int, got JSON string"},
		{name: "wrong nested type", body: `{"tags":[1]}`, code: protocol.CodeBadRequest, detail: "tags"},
		{name: "truncated", body: `{"name":"a"`, code: protocol.CodeBadRequest, detail: "unexpected end"},
		{name: "trailing value", body: `{"name":"a"}{"name":"b"}`, code: protocol.CodeBadRequest, detail: "after the JSON value"},
		{name: "trailing garbage", body: `{"name":"a"} x`, code: protocol.CodeBadRequest, detail: "after the JSON value"},
		{name: "array", body: `[1]`, code: protocol.CodeBadRequest},
		{name: "too large", body: `{"name":"abcd"}`, opts: httpx.DecodeOptions{MaxBytes: 14}, code: protocol.CodeBodyTooLarge, detail: "14 bytes"},
	}
	for _, tt := range tests {
		for _, chunked := range []bool{false, true} {
			name := tt.name
			if chunked {
				name += " (no Content-Length)"
			}
			t.Run(name, func(t *testing.T) {
				r := httptest.NewRequest(http.MethodPost, "/", strings.NewReader(tt.body))
				if chunked {
					r.ContentLength = -1
					r.Body = io.NopCloser(strings.NewReader(tt.body))
				}
				if tt.contentType != "" {
					r.Header.Set("Content-Type", tt.contentType)
				}
				var dst target
				err := httpx.DecodeJSON(r, &dst, tt.opts)
				if tt.code == "" {
					require.NoError(t, err)
					return
				}
				require.Error(t, err)
				e, ok := protocol.AsError(err)
				require.True(t, ok, "DecodeJSON returns *protocol.Error")
				assert.Equal(t, tt.code, e.Code)
				assert.Contains(t, e.Detail, tt.detail)
			})
		}
	}

	t.Run("decodes", func(t *testing.T) {
		r := httptest.NewRequest(http.MethodPost, "/", strings.NewReader(`{"name":"a","count":2,"tags":["x"]}`))
		var dst target
		require.NoError(t, httpx.DecodeJSON(r, &dst, httpx.DecodeOptions{}))
		assert.Equal(t, target{Name: "a", Count: 2, Tags: []string{"x"}}, dst)
	})
	t.Run("http.MaxBytesReader upstream", func(t *testing.T) {
		r := httptest.NewRequest(http.MethodPost, "/", strings.NewReader(`{"name":"abcdefgh"}`))
		r.ContentLength = -1
		r.Body = http.MaxBytesReader(httptest.NewRecorder(), r.Body, 5)
		err := httpx.DecodeJSON(r, &target{}, httpx.DecodeOptions{})
		e, _ := protocol.AsError(err)
		require.NotNil(t, e)
		assert.Equal(t, protocol.CodeBodyTooLarge, e.Code)
	})
}

func TestAppendAll(t *testing.T) {
	tests := []struct {
		name string
		buf  []byte
		in   string
		want string
	}{
		{"nil buffer", nil, "hello", "hello"},
		{"exact room plus one", make([]byte, 0, 6), "hello", "hello"},
		{"too small a buffer grows", make([]byte, 0, 2), "hello world", "hello world"},
		{"appends after what is there", []byte("> "), "hi", "> hi"},
		{"empty reader", make([]byte, 0, 1), "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := httpx.AppendAll(tt.buf, io.LimitReader(strings.NewReader(tt.in), 1<<20))
			require.NoError(t, err)
			assert.Equal(t, tt.want, string(got))
		})
	}
}
