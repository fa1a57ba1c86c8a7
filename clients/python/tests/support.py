"""A real httpmq process for the tests: built once from the repository,
started on free loopback ports with a data directory of its own, stopped
and started again at will."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import json
import os
import signal
import socket
import ssl
import subprocess
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

from httpmq_client import EventKind, SessionEvent

REPO_ROOT = Path(__file__).resolve().parents[3]


# Readiness probes of a TLS server with a self-signed certificate.
_UNVERIFIED = ssl.create_default_context()
_UNVERIFIED.check_hostname = False
_UNVERIFIED.verify_mode = ssl.CERT_NONE


def build_binary(out_dir: Path) -> Path:
    """The httpmq binary: $HTTPMQ_BIN if set, else built from the repository
    (``go build ./cmd/httpmq``, with $GO or ``go``)."""
    given = os.environ.get("HTTPMQ_BIN")
    if given:
        return Path(given)
    out = out_dir / "httpmq"
    go = os.environ.get("GO", "go")
    subprocess.run([go, "build", "-o", str(out), "./cmd/httpmq"], cwd=REPO_ROOT, check=True)
    return out


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class HttpmqServer:
    """``httpmq serve`` on two free ports of 127.0.0.1 over ``data_dir``;
    the ports and the directory stay the same across restarts."""

    def __init__(self, binary: Path, data_dir: Path, *args: str) -> None:
        self.binary = binary
        self.data_dir = data_dir
        self.args = list(args)
        self.admin_port = free_port()
        self.data_port = free_port()
        self.log_path = data_dir.parent / (data_dir.name + ".log")
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def admin_url(self) -> str:
        return f"http://127.0.0.1:{self.admin_port}"

    @property
    def data_url(self) -> str:
        return f"http://127.0.0.1:{self.data_port}"

    @property
    def session_url(self) -> str:
        return f"ws://127.0.0.1:{self.data_port}/v1/session"

    def start(self, timeout: float = 30.0, tls: bool = False) -> None:
        """Starts the server and waits until both listeners answer ready
        (over HTTPS, unverified, with ``tls``)."""
        assert self.proc is None, "already started"
        with open(self.log_path, "ab") as logf:
            self.proc = subprocess.Popen(
                [
                    str(self.binary),
                    "serve",
                    "--data-dir",
                    str(self.data_dir),
                    "--management-addr",
                    f"127.0.0.1:{self.admin_port}",
                    "--dataplane-addr",
                    f"127.0.0.1:{self.data_port}",
                    "--log-level",
                    "warn",
                    "--shutdown-timeout",
                    "2s",
                    *self.args,
                ],
                stdout=logf,
                stderr=subprocess.STDOUT,
            )
        deadline = time.monotonic() + timeout
        for url in (self.admin_url + "/v1/admin/ready", self.data_url + "/v1/data/ready"):
            if tls:
                url = url.replace("http:", "https:")
            while not self._ready(url):
                if self.proc.poll() is not None:
                    raise RuntimeError(f"httpmq exited with {self.proc.returncode}:\n{self.log()}")
                if time.monotonic() > deadline:
                    self.stop()
                    raise RuntimeError(f"httpmq not ready within {timeout}s:\n{self.log()}")
                time.sleep(0.02)

    @staticmethod
    def _ready(url: str) -> bool:
        try:
            with urllib.request.urlopen(url, timeout=2, context=_UNVERIFIED) as r:
                return bool(r.status == 200)
        except (urllib.error.URLError, OSError):
            return False

    def stop(self) -> None:
        """Stops the server gracefully (SIGTERM: sessions are closed with
        1001 going_away), killing it if it takes too long."""
        if self.proc is None:
            return
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        self.proc = None

    async def astart(self) -> None:
        """start() off the event loop, which keeps serving the clients."""
        await asyncio.to_thread(self.start)

    async def astop(self) -> None:
        """stop() off the event loop, so that clients answer the server's
        closing handshakes meanwhile."""
        await asyncio.to_thread(self.stop)

    def log(self) -> str:
        try:
            return self.log_path.read_text(errors="replace")[-4000:]
        except OSError:
            return ""


def make_jwt(secret: bytes, sub: str, ttl: float, permissions: dict[str, Any]) -> str:
    """An HS256 JWT for httpmq: ``sub``, ``exp`` in ``ttl`` seconds (rounded
    up to the next whole second) and the ``httpmq`` permissions claim."""

    def b64(b: bytes) -> str:
        return base64.urlsafe_b64encode(b).rstrip(b"=").decode()

    header = b64(json.dumps({"alg": "HS256", "typ": "JWT"}).encode())
    exp = int(time.time() + ttl) + 1
    payload = b64(json.dumps({"sub": sub, "exp": exp, "httpmq": permissions}).encode())
    sig = hmac.new(secret, f"{header}.{payload}".encode(), hashlib.sha256).digest()
    return f"{header}.{payload}.{b64(sig)}"


async def eventually(cond: Any, what: str, timeout: float = 15.0, interval: float = 0.02) -> Any:
    """Polls ``cond`` (a function, sync or async) until it returns a truthy
    value, which is returned; fails the test after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        v = cond()
        if asyncio.iscoroutine(v):
            v = await v
        if v:
            return v
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}")
        await asyncio.sleep(interval)


class EventLog:
    """Records a session's events (its ``on_event``) and waits for them."""

    def __init__(self) -> None:
        self.events: list[SessionEvent] = []
        self._changed = asyncio.Event()

    def __call__(self, e: SessionEvent) -> None:
        self.events.append(e)
        self._changed.set()

    def of(self, kind: EventKind) -> list[SessionEvent]:
        return [e for e in self.events if e.kind is kind]

    async def wait(self, kind: EventKind, count: int = 1, timeout: float = 15.0) -> SessionEvent:
        """Waits until ``count`` events of ``kind`` came; returns the last."""

        async def seen() -> None:
            while len(self.of(kind)) < count:
                self._changed.clear()
                await self._changed.wait()

        try:
            await asyncio.wait_for(seen(), timeout)
        except asyncio.TimeoutError:
            raise AssertionError(f"timed out waiting for {count} {kind.value} event(s); got {self.events}") from None
        return self.of(kind)[count - 1]
