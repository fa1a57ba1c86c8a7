module github.com/httpmq/httpmq/clients/go

go 1.25.0

require (
	github.com/coder/websocket v1.8.15
	github.com/httpmq/httpmq/protocol v0.0.0
	golang.org/x/net v0.55.0
)

require (
	github.com/vmihailenco/msgpack/v5 v5.4.1 // indirect
	github.com/vmihailenco/tagparser/v2 v2.0.0 // indirect
	golang.org/x/text v0.37.0 // indirect
)

replace github.com/httpmq/httpmq/protocol => ../../protocol
