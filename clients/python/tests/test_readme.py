"""The README's example runs as written against a real server."""

from __future__ import annotations

import asyncio
import os
import re
import sys
from pathlib import Path

from support import HttpmqServer

README = Path(__file__).resolve().parents[1] / "README.md"
SRC = Path(__file__).resolve().parents[1] / "src"


def example() -> str:
    blocks = re.findall(r"```python\n(.*?)```", README.read_text(), re.S)
    assert len(blocks) == 1, "the README has one Python example"
    return str(blocks[0])


def test_example_is_short() -> None:
    assert len([line for line in example().splitlines() if line.strip()]) <= 22


async def test_readme_example(server: HttpmqServer) -> None:
    code = example().replace("127.0.0.1:3000", f"127.0.0.1:{server.admin_port}")
    code = code.replace("127.0.0.1:3001", f"127.0.0.1:{server.data_port}")
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-c",
        code,
        env={**os.environ, "PYTHONPATH": str(SRC)},
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    out, _ = await asyncio.wait_for(proc.communicate(), 60)
    text = out.decode()
    assert proc.returncode == 0, text
    assert "stored in orders at 1" in text
    assert "orders.new b'order 1042' delivery 1" in text
