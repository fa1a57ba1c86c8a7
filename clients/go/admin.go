package httpmq

import (
	"context"
	"net/http"
	"strconv"

	"github.com/httpmq/httpmq/protocol"
)

// AdminClient calls the management REST API (/v1/admin/…, by default on
// 127.0.0.1:3000). It is safe for concurrent use. Every method returns an
// *[APIError] when the server refuses.
type AdminClient struct{ rest }

// NewAdminClient returns a client for the management API at baseURL
// ("http://127.0.0.1:3000"). opts may be nil.
func NewAdminClient(baseURL string, opts *ClientOptions) *AdminClient {
	return &AdminClient{newRest(baseURL, opts)}
}

// Alive returns nil while the server serves HTTP.
func (c *AdminClient) Alive(ctx context.Context) error {
	return c.call(ctx, http.MethodGet, "/v1/admin/alive", nil, nil)
}

// Ready returns nil when the server's NATS connection works.
func (c *AdminClient) Ready(ctx context.Context) error {
	return c.call(ctx, http.MethodGet, "/v1/admin/ready", nil, nil)
}

type streamAnswer struct {
	Stream StreamInfo `json:"stream"`
}

type consumerAnswer struct {
	Consumer ConsumerInfo `json:"consumer"`
}

func streamPath(name string) string { return "/v1/admin/stream/" + esc(name) }

func consumerPath(stream, name string) string {
	p := streamPath(stream) + "/consumer"
	if name != "" {
		p += "/" + esc(name)
	}
	return p
}

// CreateStream defines a stream. Defining an identical one again
// succeeds; a different one fails with code stream_exists.
func (c *AdminClient) CreateStream(ctx context.Context, s NewStream) (*StreamInfo, error) {
	var a streamAnswer
	if err := c.call(ctx, http.MethodPost, "/v1/admin/stream", s, &a); err != nil {
		return nil, err
	}
	return &a.Stream, nil
}

// Streams returns every stream, by name.
func (c *AdminClient) Streams(ctx context.Context) (map[string]StreamInfo, error) {
	var a struct {
		Streams map[string]StreamInfo `json:"streams"`
	}
	if err := c.call(ctx, http.MethodGet, "/v1/admin/stream", nil, &a); err != nil {
		return nil, err
	}
	return a.Streams, nil
}

// Stream returns one stream.
func (c *AdminClient) Stream(ctx context.Context, name string) (*StreamInfo, error) {
	var a streamAnswer
	if err := c.call(ctx, http.MethodGet, streamPath(name), nil, &a); err != nil {
		return nil, err
	}
	return &a.Stream, nil
}

// UpdateStream changes a stream's subjects, limits or settings; what u
// leaves out stays.
func (c *AdminClient) UpdateStream(ctx context.Context, name string, u StreamUpdate) (*StreamInfo, error) {
	return c.putStream(ctx, streamPath(name), u)
}

// SetStreamSubjects replaces a stream's subjects.
func (c *AdminClient) SetStreamSubjects(ctx context.Context, name string, subjects []string) (*StreamInfo, error) {
	return c.putStream(ctx, streamPath(name)+"/subject", protocol.StreamSubjects{Subjects: subjects})
}

// SetStreamLimits changes the limits given in l.
func (c *AdminClient) SetStreamLimits(ctx context.Context, name string, l StreamLimits) (*StreamInfo, error) {
	return c.putStream(ctx, streamPath(name)+"/limit", l)
}

func (c *AdminClient) putStream(ctx context.Context, path string, body any) (*StreamInfo, error) {
	var a streamAnswer
	if err := c.call(ctx, http.MethodPut, path, body, &a); err != nil {
		return nil, err
	}
	return &a.Stream, nil
}

// DeleteStream deletes a stream with its messages and consumers.
func (c *AdminClient) DeleteStream(ctx context.Context, name string) error {
	return c.call(ctx, http.MethodDelete, streamPath(name), nil, nil)
}

// PurgeStream removes messages (all, for the zero Purge) and returns how
// many.
func (c *AdminClient) PurgeStream(ctx context.Context, name string, p Purge) (uint64, error) {
	var a struct {
		Purged uint64 `json:"purged"`
	}
	if err := c.call(ctx, http.MethodPost, streamPath(name)+"/purge", p, &a); err != nil {
		return 0, err
	}
	return a.Purged, nil
}

// Message reads the message stored at sequence seq of a stream.
func (c *AdminClient) Message(ctx context.Context, stream string, seq uint64) (*StoredMessage, error) {
	var a struct {
		Message StoredMessage `json:"message"`
	}
	path := streamPath(stream) + "/message/" + strconv.FormatUint(seq, 10)
	if err := c.call(ctx, http.MethodGet, path, nil, &a); err != nil {
		return nil, err
	}
	return &a.Message, nil
}

// CreateConsumer defines a durable consumer on a stream. Defining an
// identical one again succeeds; a different one fails with code
// consumer_exists.
func (c *AdminClient) CreateConsumer(ctx context.Context, stream string, nc NewConsumer) (*ConsumerInfo, error) {
	var a consumerAnswer
	if err := c.call(ctx, http.MethodPost, consumerPath(stream, ""), nc, &a); err != nil {
		return nil, err
	}
	return &a.Consumer, nil
}

// Consumers returns every consumer of a stream, by name.
func (c *AdminClient) Consumers(ctx context.Context, stream string) (map[string]ConsumerInfo, error) {
	var a struct {
		Consumers map[string]ConsumerInfo `json:"consumers"`
	}
	if err := c.call(ctx, http.MethodGet, consumerPath(stream, ""), nil, &a); err != nil {
		return nil, err
	}
	return a.Consumers, nil
}

// Consumer returns one consumer.
func (c *AdminClient) Consumer(ctx context.Context, stream, name string) (*ConsumerInfo, error) {
	var a consumerAnswer
	if err := c.call(ctx, http.MethodGet, consumerPath(stream, name), nil, &a); err != nil {
		return nil, err
	}
	return &a.Consumer, nil
}

// DeleteConsumer deletes a consumer.
func (c *AdminClient) DeleteConsumer(ctx context.Context, stream, name string) error {
	return c.call(ctx, http.MethodDelete, consumerPath(stream, name), nil, nil)
}
