// Package httpx is the HTTP plumbing shared by httpmq's REST APIs (the
// management API in package admin and the REST dataplane).
//
// Every answer is one JSON envelope: {"success":true,"request_id":"…",
// …payload…} or {"success":false,"request_id":"…","error":{"code":404,
// "reason":"stream_not_found","message":"…","detail":"…"}}, where "code"
// is the HTTP status (an integer, as in the original httpmq) and "reason"
// the stable [protocol.Code]. [Reply] writes the first, [WriteError] the
// second; [Classify] is the one mapping of any Go error onto a wire error
// ([*protocol.Error]) and is usable without an http.ResponseWriter (the
// WebSocket session layer builds its error frames with it).
//
// Start with [NewRouter] (an httprouter whose 404, 405 and panics answer the
// envelope) wrapped by [Wrap] (request id, access log, identity), and decode
// request bodies with [DecodeJSON].
package httpx
