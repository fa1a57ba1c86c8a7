package protocol

import "bytes"

// A WebSocket message carries one or more frames, so that a busy sender
// can write many frames with one write: in JSON, frames separated by a
// newline ('\n', which encoded frames never contain); in msgpack, maps
// back to back. A message of one frame is the common case and is the
// frame's encoding alone.

// AppendFrame appends the encoded frame to msg, a message being built of
// frames encoded by c, and returns the extended message.
func AppendFrame(c Codec, msg, frame []byte) []byte {
	if len(msg) > 0 && !c.Binary() {
		msg = append(msg, '\n')
	}
	return append(msg, frame...)
}

// Frames decodes every frame of one message, calling fn with each frame
// or with the error that frame's bytes produced. A JSON frame that fails
// does not affect the next line; in msgpack a malformed frame ends the
// message, as there is no telling where the next one would start.
func Frames(c Codec, msg []byte, fn func(*Frame, error)) {
	if !c.Binary() {
		for len(msg) > 0 {
			line := msg
			if i := bytes.IndexByte(msg, '\n'); i >= 0 {
				line, msg = msg[:i], msg[i+1:]
			} else {
				msg = nil
			}
			if len(bytes.TrimSpace(line)) == 0 && len(msg) > 0 {
				continue // a blank line between frames
			}
			fn(c.Decode(line))
		}
		return
	}
	for {
		n, id, typ, err := checkMsgpackPrefix(msg)
		if err != nil {
			fn(nil, &DecodeError{Codec: c.Name(), Kind: ErrMalformed, Type: typ, ID: id, Err: err})
			return
		}
		if _, ours := c.(MsgpackCodec); ours {
			fn(decodeCheckedMsgpack(msg[:n])) // checked just now
		} else {
			fn(c.Decode(msg[:n]))
		}
		msg = msg[n:]
		if len(msg) == 0 {
			return
		}
	}
}

// Limits of one batched message: a sender draining its queue puts at most
// this many frames, or about this many bytes, in one message.
const (
	MaxBatchFrames = 128
	MaxBatchBytes  = 64 << 10
)

// Batch returns first as a message, with the encoded frames already
// waiting in queue appended (without waiting for more), up to
// [MaxBatchFrames] and [MaxBatchBytes]. With nothing waiting it returns
// first itself; otherwise the message is built in buf's storage.
func Batch(c Codec, buf, first []byte, queue <-chan []byte) []byte {
	if len(queue) == 0 {
		return first
	}
	msg := append(buf[:0], first...)
	for n := 1; n < MaxBatchFrames && len(msg) < MaxBatchBytes; n++ {
		select {
		case b := <-queue:
			msg = AppendFrame(c, msg, b)
		default:
			return msg
		}
	}
	return msg
}
