"""httpmq over TLS: the REST clients speak HTTP/2 (streaming subscriptions
included) and sessions connect with wss://."""

from __future__ import annotations

import asyncio
import os
import ssl
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from support import HttpmqServer

from httpmq_client import Admin, Dataplane, Session
from httpmq_client._rest import http2_available


@pytest.fixture(scope="module")
def tls_server(httpmq_binary: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[HttpmqServer, Path]]:
    d = tmp_path_factory.mktemp("tls")
    go = os.environ.get("GO", "go")
    goroot = subprocess.run([go, "env", "GOROOT"], capture_output=True, text=True, check=True).stdout.strip()
    # A self-signed certificate for 127.0.0.1, made by Go's own generator.
    subprocess.run(
        [go, "run", f"{goroot}/src/crypto/tls/generate_cert.go", "--host", "127.0.0.1", "--ca", "--ecdsa-curve", "P256"],
        cwd=d,
        check=True,
        capture_output=True,
    )
    s = HttpmqServer(httpmq_binary, d / "data", "--tls-cert", str(d / "cert.pem"), "--tls-key", str(d / "key.pem"))
    s.start(tls=True)
    yield s, d / "cert.pem"
    s.stop()


@pytest.mark.skipif(not http2_available(), reason="the h2 package is not installed")
async def test_rest_over_http2(tls_server: tuple[HttpmqServer, Path]) -> None:
    server, cert = tls_server
    admin_url = server.admin_url.replace("http:", "https:")
    data_url = server.data_url.replace("http:", "https:")
    async with Admin(admin_url, verify=str(cert)) as admin, Dataplane(data_url, verify=str(cert)) as dp:
        await admin.create_stream("tls", subjects=["tls.>"])
        await admin.create_consumer("tls", "c", mode="pull")
        # The SDK's own httpx client negotiated HTTP/2.
        assert (await admin._http.get(admin_url + "/v1/admin/alive")).http_version == "HTTP/2"
        async with dp.subscribe("tls", "c", max_inflight=10) as sub:
            for i in range(3):  # publishes share the connection with the open stream
                await dp.publish("tls.a", f"m{i}")
            for i in range(3):
                m = await asyncio.wait_for(sub.next(), 10)
                assert m.data == f"m{i}".encode()
                await m.ack()


async def test_session_over_wss(tls_server: tuple[HttpmqServer, Path]) -> None:
    server, cert = tls_server
    ctx = ssl.create_default_context(cafile=str(cert))
    url = server.session_url.replace("ws:", "wss:")
    async with Admin(server.admin_url.replace("http:", "https:"), verify=str(cert)) as admin:
        await admin.create_stream("wss", subjects=["wss.>"])
    async with Session.connect(url, ssl=ctx, codec="msgpack") as session:
        ack = await session.publish("wss.a", b"secure")
        assert (ack.stream, ack.sequence) == ("wss", 1)
