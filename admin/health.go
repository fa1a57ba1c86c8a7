package admin

import (
	"context"
	"errors"
	"fmt"
	"net/http"

	"github.com/httpmq/httpmq/bridge"
	"github.com/httpmq/httpmq/internal/httpx"
	"github.com/julienschmidt/httprouter"
)

// alive answers 200 as long as the process serves HTTP.
func (a *api) alive(w http.ResponseWriter, r *http.Request, _ httprouter.Params) {
	httpx.OK(w, r, nil)
}

// ready answers 200 when NATS is connected and JetStream answers within
// the ready timeout, else 503 unavailable. It never takes longer than the
// timeout, whatever NATS does.
func (a *api) ready(w http.ResponseWriter, r *http.Request, _ httprouter.Params) {
	if a.bridge == nil {
		httpx.WriteError(w, r, fmt.Errorf("%w: %v", bridge.ErrUnavailable, errNoBridge))
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), a.readyTimeout)
	defer cancel()
	if err := a.bridge.Ready(ctx); err != nil {
		if !errors.Is(err, bridge.ErrUnavailable) {
			// Whatever went wrong, the answer is "not ready", never 500.
			err = fmt.Errorf("%w: %v", bridge.ErrUnavailable, err)
		}
		httpx.WriteError(w, r, err)
		return
	}
	httpx.OK(w, r, nil)
}
