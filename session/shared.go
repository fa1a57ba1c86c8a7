package session

import (
	"sync"

	"github.com/httpmq/httpmq/bridge"
	"github.com/httpmq/httpmq/protocol"
)

// codecTransport is a transport whose bytes for a frame are its codec's
// encoding (a WebSocket): the same for every client of that codec.
type codecTransport interface {
	Codec() protocol.Codec
}

// shared encodes a live message once for all the sessions of a codec
// that receive it. A feed hands one delivery to each of its local
// subscribers in turn, so remembering the last delivery per codec is
// enough: the first subscriber encodes it, the others copy the bytes
// with their own subscription id (protocol.WithSub).
type shared struct {
	mu   sync.Mutex
	last map[string]sharedEntry // by codec name
}

type sharedEntry struct {
	d *bridge.Delivery
	b []byte
}

// encode returns d's msg frame for subscription sub, encoded by c.
func (s *shared) encode(c protocol.Codec, d *bridge.Delivery, sub string) ([]byte, error) {
	s.mu.Lock()
	e := s.last[c.Name()]
	if e.d != d {
		f := msgFrameValue(d, "")
		b, err := c.Encode(&f)
		if err != nil {
			s.mu.Unlock()
			return nil, err
		}
		e = sharedEntry{d, b}
		if s.last == nil {
			s.last = map[string]sharedEntry{}
		}
		s.last[c.Name()] = e
	}
	b := e.b
	s.mu.Unlock()
	return protocol.WithSub(c, b, sub)
}
