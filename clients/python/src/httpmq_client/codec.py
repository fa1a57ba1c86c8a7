"""The session protocol's two framings (docs/protocol.md): JSON objects in
text messages, msgpack maps in binary ones. A WebSocket message holds one
frame or several (JSON: one per line; msgpack: maps back to back).

Frames are plain dicts with the protocol's snake_case field names; ``data``
is bytes whatever the framing. Encoding leaves out zero values (the protocol
reads an absent field as zero).
"""

from __future__ import annotations

import base64
import binascii
import json
from typing import Any, Literal, Union

import msgpack

__all__ = ["CODECS", "Codec", "DecodeError", "Frame", "JSONCodec", "MsgpackCodec", "codec_for"]

#: One protocol frame.
Frame = dict[str, Any]
#: What a WebSocket message carries.
WireMessage = Union[str, bytes]

SUBPROTOCOL_JSON = "httpmq.v1.json"
SUBPROTOCOL_MSGPACK = "httpmq.v1.msgpack"


class DecodeError(ValueError):
    """A frame could not be decoded."""


def _compact(frame: Frame) -> Frame:
    return {k: v for k, v in frame.items() if v}


class Codec:
    """A framing: its subprotocol name, whether its messages are binary, and
    how frames are encoded and decoded."""

    name: str
    binary: bool

    def encode(self, frame: Frame) -> WireMessage:
        """One frame as a WebSocket message."""
        raise NotImplementedError

    def join(self, frames: list[WireMessage]) -> WireMessage:
        """Encoded frames as one WebSocket message (docs/protocol.md: a
        message carries one frame or several)."""
        raise NotImplementedError

    def decode(self, msg: WireMessage) -> tuple[list[Frame], DecodeError | None]:
        """The frames of a message, and the first error met (frames after an
        undecodable JSON line are still read; in msgpack nothing tells where
        the next frame would begin)."""
        raise NotImplementedError


def _check(f: Any) -> Frame:
    if not isinstance(f, dict) or not isinstance(f.get("type"), str) or not all(isinstance(k, str) for k in f):
        raise DecodeError("a frame is a map with a string type")
    return f


class JSONCodec(Codec):
    """``httpmq.v1.json``: JSON objects in text messages, ``data`` as
    standard base64."""

    name = SUBPROTOCOL_JSON
    binary = False

    def encode(self, frame: Frame) -> str:
        f = _compact(frame)
        if "data" in f:
            f["data"] = base64.b64encode(f["data"]).decode("ascii")
        return json.dumps(f, separators=(",", ":"), ensure_ascii=False)

    def join(self, frames: list[WireMessage]) -> str:
        return "\n".join(frames)  # type: ignore[arg-type]

    def decode(self, msg: WireMessage) -> tuple[list[Frame], DecodeError | None]:
        if not isinstance(msg, str):
            return [], DecodeError("binary message on the JSON subprotocol")
        frames: list[Frame] = []
        err: DecodeError | None = None
        for line in msg.split("\n"):
            if not line.strip():
                continue
            try:
                f = _check(json.loads(line))
                data = f.get("data")
                if data is not None:
                    if not isinstance(data, str):
                        raise DecodeError("data is not a base64 string")
                    f["data"] = base64.b64decode(data, validate=True)
                frames.append(f)
            except (ValueError, binascii.Error) as e:
                err = err or DecodeError(f"malformed JSON frame: {e}")
        return frames, err


class MsgpackCodec(Codec):
    """``httpmq.v1.msgpack``: msgpack maps in binary messages, ``data`` as
    bin."""

    name = SUBPROTOCOL_MSGPACK
    binary = True

    def encode(self, frame: Frame) -> bytes:
        f = _compact(frame)
        if "data" in f:
            f["data"] = bytes(f["data"])
        return msgpack.packb(f, use_bin_type=True)  # type: ignore[no-any-return]

    def join(self, frames: list[WireMessage]) -> bytes:
        return b"".join(frames)  # type: ignore[arg-type]

    def decode(self, msg: WireMessage) -> tuple[list[Frame], DecodeError | None]:
        if not isinstance(msg, (bytes, bytearray)):
            return [], DecodeError("text message on the msgpack subprotocol")
        frames: list[Frame] = []
        u = msgpack.Unpacker(raw=False, max_buffer_size=len(msg) + 1)
        u.feed(msg)
        try:
            for obj in u:
                f = _check(obj)
                if f.get("data") is not None and not isinstance(f["data"], bytes):
                    raise DecodeError("data is not bin")
                frames.append(f)
        except (ValueError, msgpack.UnpackException) as e:
            return frames, DecodeError(f"malformed msgpack frame: {e}")
        return frames, None


#: The codecs by the name a session is opened with.
CODECS: dict[str, Codec] = {"json": JSONCodec(), "msgpack": MsgpackCodec()}


def codec_for(name: Literal["json", "msgpack"] | str) -> Codec:
    """The codec called ``name`` (``"json"`` or ``"msgpack"``, or a
    subprotocol name)."""
    for key, c in CODECS.items():
        if name in (key, c.name):
            return c
    raise ValueError(f"unknown codec {name!r}: json or msgpack")
