package httpx

import (
	"fmt"
	"net/http"
	"runtime/debug"

	"github.com/httpmq/httpmq/protocol"
	"github.com/julienschmidt/httprouter"
)

// NewRouter returns an httprouter.Router whose every answer is the JSON
// envelope: unknown routes answer 404 not_found, a known route with
// another method 405 method_not_allowed with an Allow header, a panic in
// a handler 500 internal (logged with its stack). OPTIONS answers 204 with
// the Allow header. Paths are not rewritten: "/v1/admin/stream/" and
// "/V1/admin/stream" are unknown routes rather than redirects.
func NewRouter() *httprouter.Router {
	r := httprouter.New()
	r.RedirectTrailingSlash = false
	r.RedirectFixedPath = false
	r.HandleMethodNotAllowed = true
	r.HandleOPTIONS = true
	r.GlobalOPTIONS = http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.WriteHeader(http.StatusNoContent)
	})
	r.NotFound = http.HandlerFunc(NotFound)
	r.MethodNotAllowed = http.HandlerFunc(MethodNotAllowed)
	r.PanicHandler = Panic
	return r
}

// NotFound answers 404 not_found.
func NotFound(w http.ResponseWriter, r *http.Request) {
	WriteError(w, r, NewError(protocol.CodeNotFound, "no such route",
		fmt.Sprintf("%s %s is not a route of this API", r.Method, r.URL.Path)))
}

// MethodNotAllowed answers 405 method_not_allowed; the Allow header is
// the router's.
func MethodNotAllowed(w http.ResponseWriter, r *http.Request) {
	WriteError(w, r, NewError(protocol.CodeMethodNotAllowed, "method not allowed",
		fmt.Sprintf("%s is not allowed on %s; allowed: %s", r.Method, r.URL.Path, w.Header().Get("Allow"))))
}

// Panic answers a recovered panic with 500 internal and logs it with its
// stack. If the handler had already started its answer, nothing more is
// written. http.ErrAbortHandler is re-raised, as net/http expects.
func Panic(w http.ResponseWriter, r *http.Request, v any) {
	if v == http.ErrAbortHandler {
		panic(v)
	}
	Logger(r.Context()).Error("panic in handler", "panic", fmt.Sprint(v), "stack", string(debug.Stack()))
	if written(w) {
		return
	}
	WriteError(w, r, NewError(protocol.CodeInternal, "internal error", ""))
}
