"""The framings against the repository's golden frames, and the small
parsers (errors, tokens, times) without a server."""

from __future__ import annotations

import base64
import json
from datetime import datetime, timedelta, timezone
from pathlib import Path

import msgpack
import pytest
from support import REPO_ROOT, make_jwt

from httpmq_client import APIError
from httpmq_client._auth import token_expiry
from httpmq_client._connection import session_url
from httpmq_client._util import duration_ns, rfc3339, rfc3339_ns
from httpmq_client.codec import JSONCodec, MsgpackCodec, codec_for

GOLDEN = REPO_ROOT / "testdata" / "protocol"
NAMES = sorted(p.stem for p in GOLDEN.glob("*.json"))
JSON, MSGPACK = JSONCodec(), MsgpackCodec()


def test_golden_frames_exist() -> None:
    assert {"hello", "msg", "msg_binary", "ok_publish", "error", "closed", "subscribe", "ack"} <= set(NAMES)


@pytest.mark.parametrize("name", NAMES)
def test_golden_frame(name: str) -> None:
    """Both golden encodings of a frame decode to the same frame, and
    encoding it again in either codec reads back the same."""
    from_json, err = JSON.decode(Path(GOLDEN / f"{name}.json").read_text())
    assert err is None and len(from_json) == 1
    from_msgpack, err = MSGPACK.decode(Path(GOLDEN / f"{name}.msgpack").read_bytes())
    assert err is None and len(from_msgpack) == 1
    assert from_json == from_msgpack
    frame = from_json[0]
    for c in (JSON, MSGPACK):
        assert c.decode(c.encode(frame)) == ([frame], None)


def test_msg_frame_fields() -> None:
    [f], _ = MSGPACK.decode(Path(GOLDEN / "msg_binary.msgpack").read_bytes())
    assert f["type"] == "msg" and isinstance(f["data"], bytes)
    [j], _ = JSON.decode(Path(GOLDEN / "msg_binary.json").read_text())
    assert j["data"] == f["data"]


def test_zero_values_are_left_out() -> None:
    frame = {"type": "subscribe", "id": "1", "sub": "s", "stream": "S", "consumer": "c", "filter": "", "max_inflight": 0}
    assert json.loads(JSON.encode(frame)) == {"type": "subscribe", "id": "1", "sub": "s", "stream": "S", "consumer": "c"}
    assert msgpack.unpackb(MSGPACK.encode({"type": "ack", "data": b"", "deliveries": 0})) == {"type": "ack"}


def test_json_payload_is_base64() -> None:
    out = json.loads(JSON.encode({"type": "publish", "id": "1", "subject": "a", "data": b"\x00\xff"}))
    assert out["data"] == base64.b64encode(b"\x00\xff").decode()


def test_several_frames_per_message() -> None:
    text = '{"type":"ok","id":"1"}\n\n{"type":"pong","id":"2"}\n'
    assert JSON.decode(text) == ([{"type": "ok", "id": "1"}, {"type": "pong", "id": "2"}], None)
    packed = msgpack.packb({"type": "ok", "id": "1"}) + msgpack.packb({"type": "pong", "id": "2"})
    assert MSGPACK.decode(packed) == ([{"type": "ok", "id": "1"}, {"type": "pong", "id": "2"}], None)


def test_bad_frames() -> None:
    frames, err = JSON.decode('{"type":"ok","id":"1"}\nnot json\n{"type":"pong","id":"2"}')
    assert [f["type"] for f in frames] == ["ok", "pong"] and err is not None  # the next line goes on
    assert JSON.decode('{"id":"1"}')[1] is not None  # no type
    assert JSON.decode(b"{}")[1] is not None  # wrong message kind
    frames, err = MSGPACK.decode(msgpack.packb({"type": "ok", "id": "1"}) + b"\xc1")
    assert [f["type"] for f in frames] == ["ok"] and err is not None
    assert MSGPACK.decode("text")[1] is not None


def test_codec_for() -> None:
    assert codec_for("json").name == "httpmq.v1.json"
    assert codec_for("httpmq.v1.msgpack").binary
    with pytest.raises(ValueError):
        codec_for("xml")


@pytest.mark.parametrize(
    "err, status, reason",
    [
        ({"code": 404, "reason": "stream_not_found", "message": "m"}, 404, "stream_not_found"),
        ({"code": "stream_not_found", "message": "m"}, None, "stream_not_found"),  # servers before integer codes
        ({}, None, ""),
    ],
)
def test_api_error_shapes(err: dict[str, object], status: int | None, reason: str) -> None:
    e = APIError.from_error(err)
    assert (e.status, e.reason) == (status, reason)


def test_api_error_fields() -> None:
    e = APIError.from_error(
        {
            "code": 429,
            "reason": "rate_limited",
            "message": "rate limited",
            "detail": "slow down",
            "retryable": True,
            "retry_after": 250_000_000,
        },
        request_id="r1",
    )
    assert (e.retryable, e.retry_after, e.request_id, e.detail) == (True, 0.25, "r1", "slow down")
    assert str(e) == "httpmq: rate_limited: rate limited (slow down) [request r1]"
    assert APIError.from_error({"code": 409}, status=409).reason == ""


def test_token_expiry() -> None:
    tok = make_jwt(b"k" * 32, "me", 60, {})
    exp = token_expiry(tok)
    assert exp is not None and 60 <= exp - datetime.now(timezone.utc).timestamp() <= 62
    assert token_expiry("hmq_an-api-key") is None
    assert token_expiry("a.!!!.c") is None


def test_times_and_durations() -> None:
    assert rfc3339_ns("1970-01-01T00:00:01.000000002Z") == 1_000_000_002
    assert rfc3339_ns("2026-05-01T12:00:00+02:00") == rfc3339_ns("2026-05-01T10:00:00Z")
    assert rfc3339_ns("garbage") == 0
    assert rfc3339("2026-05-01T10:00:00.5Z") == datetime(2026, 5, 1, 10, 0, 0, 500000, tzinfo=timezone.utc)
    assert rfc3339(None) is None
    assert duration_ns(1.5) == 1_500_000_000
    assert duration_ns(timedelta(minutes=2)) == 120_000_000_000
    with pytest.raises(ValueError):
        duration_ns(-1)


@pytest.mark.parametrize(
    "given, want",
    [
        ("ws://h:1", "ws://h:1/v1/session"),
        ("http://h:1/", "ws://h:1/v1/session"),
        ("https://h/v1/session", "wss://h/v1/session"),
        ("wss://h/proxy/v1/session?x=1", "wss://h/proxy/v1/session?x=1"),
    ],
)
def test_session_url(given: str, want: str) -> None:
    assert session_url(given) == want


def test_session_url_scheme() -> None:
    with pytest.raises(ValueError):
        session_url("ftp://h")
