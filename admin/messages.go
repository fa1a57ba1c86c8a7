package admin

import (
	"net/http"
	"strconv"

	"github.com/httpmq/httpmq/bridge"
	"github.com/httpmq/httpmq/internal/auth"
	"github.com/httpmq/httpmq/internal/httpx"
	"github.com/httpmq/httpmq/protocol"
	"github.com/julienschmidt/httprouter"
)

// purgeRequest is the optional body of POST …/purge (extension;
// protocol.Purge). Empty purges everything.
type purgeRequest = protocol.Purge

func (a *api) purgeStream(r *http.Request, ps httprouter.Params) (any, error) {
	name := ps.ByName("stream")
	var req purgeRequest
	opts := a.decode
	opts.AllowEmpty = true
	if err := httpx.DecodeJSON(r, &req, opts); err != nil {
		return nil, err
	}
	if err := a.allow(r, auth.AdminWrite, name, ""); err != nil {
		return nil, err
	}
	if err := validName("stream", name); err != nil {
		return nil, err
	}
	if req.Subject != "" {
		if err := validSubjects("subject", []string{req.Subject}); err != nil {
			return nil, err
		}
	}
	if req.Sequence > 0 && req.Keep > 0 {
		return nil, badRequest("sequence and keep are exclusive")
	}
	n, err := a.bridge.PurgeStream(r.Context(), name, bridge.PurgeOptions{
		Subject: req.Subject, Sequence: req.Sequence, Keep: req.Keep,
	})
	if err != nil {
		return nil, err
	}
	return struct {
		Purged uint64 `json:"purged"`
	}{n}, nil
}

// getMessage reads one stored message by its stream sequence (extension).
func (a *api) getMessage(r *http.Request, ps httprouter.Params) (any, error) {
	name, _, err := a.target(r, auth.AdminRead, ps)
	if err != nil {
		return nil, err
	}
	seq, err := strconv.ParseUint(ps.ByName("seq"), 10, 64)
	if err != nil || seq == 0 {
		return nil, badRequest("sequence %q is not a positive integer", ps.ByName("seq"))
	}
	m, err := a.bridge.StoredMessage(r.Context(), name, seq)
	if err != nil {
		return nil, err
	}
	return struct {
		Message protocol.StoredMessage `json:"message"`
	}{toStoredMessage(m)}, nil
}
