"""Websocket echo under uvicorn: round trips per second, and memory per idle connection.

Each app is served by uvicorn (uvloop, one worker) exactly as in the HTTP load run. The
client is a minimal websocket client on raw asyncio streams, written so that it costs far
less than any server: the frame it sends is built once, and a reply is read as the exact
number of bytes it must be. Only 127.0.0.1 is ever targeted.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import os
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from benchmarks.frameworks import Framework
from benchmarks.loadtest import HOST, Server

MESSAGE = b"Hello, websocket!"
PATH = "/ws"
WS_SERVER_ARGS = ("--ws", "websockets")
"""uvicorn's websocket protocol, named so that every environment uses the same one."""


@dataclass(frozen=True)
class WebsocketSettings:
    """The same for every framework, so results compare."""

    duration: float = 5.0
    """Seconds of measured echoes per connection count."""
    warmup: float = 1.0
    connection_counts: tuple[int, ...] = (1, 100)
    idle_connections: int = 500
    """Connections held open, doing nothing, to measure the memory each one costs."""


TEXT, CLOSE = 0x1, 0x8


def masked_frame(opcode: int, payload: bytes) -> bytes:
    """A short client-to-server frame: FIN, the opcode, the payload masked (as clients
    must mask)."""
    assert len(payload) < 126
    mask = os.urandom(4)
    masked = bytes(byte ^ mask[index % 4] for index, byte in enumerate(payload))
    return bytes([0x80 | opcode, 0x80 | len(payload)]) + mask + masked


class Client:
    """One websocket connection that sends MESSAGE and reads its echo."""

    frame = masked_frame(TEXT, MESSAGE)
    reply = bytes([0x81, len(MESSAGE)]) + MESSAGE

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader = reader
        self.writer = writer

    @classmethod
    async def connect(cls, port: int) -> Client:
        reader, writer = await asyncio.open_connection(HOST, port)
        key = base64.b64encode(os.urandom(16)).decode()
        writer.write(
            f"GET {PATH} HTTP/1.1\r\nHost: {HOST}:{port}\r\nUpgrade: websocket\r\n"
            f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\n"
            "Sec-WebSocket-Version: 13\r\n\r\n".encode()
        )
        head = await reader.readuntil(b"\r\n\r\n")
        if not head.startswith(b"HTTP/1.1 101"):
            writer.close()
            raise RuntimeError(f"the handshake failed: {head.splitlines()[0]!r}")
        return cls(reader, writer)

    async def echo(self) -> None:
        self.writer.write(self.frame)
        reply = await self.reader.readexactly(len(self.reply))
        if reply != self.reply:
            raise RuntimeError(f"expected the echo {self.reply!r}, got {reply!r}")

    async def echo_until(self, deadline: float) -> int:
        count = 0
        while time.monotonic() < deadline:
            await self.echo()
            count += 1
        return count

    async def close(self) -> None:
        self.writer.write(masked_frame(CLOSE, (1000).to_bytes(2, "big")))
        self.writer.close()
        with contextlib.suppress(OSError):
            await self.writer.wait_closed()


def resident_kib(pid: int) -> int:
    """The process's resident memory (VmRSS), in KiB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise RuntimeError("no VmRSS line")


async def round_trips(port: int, connections: int, settings: WebsocketSettings) -> float:
    """Echo round trips per second over ``connections`` connections, each echoing in turn."""
    clients = await asyncio.gather(*(Client.connect(port) for _ in range(connections)))
    try:
        warm_until = time.monotonic() + settings.warmup
        await asyncio.gather(*(client.echo_until(warm_until) for client in clients))
        start = time.monotonic()
        deadline = start + settings.duration
        counts = await asyncio.gather(*(client.echo_until(deadline) for client in clients))
        return sum(counts) / (time.monotonic() - start)
    finally:
        await asyncio.gather(*(client.close() for client in clients))


async def idle_memory(port: int, pid: int, settings: WebsocketSettings) -> float:
    """KiB of server memory per open, idle connection (each has echoed once)."""
    first = await Client.connect(port)
    await first.echo()
    await asyncio.sleep(0.5)
    before = resident_kib(pid)
    clients = [await Client.connect(port) for _ in range(settings.idle_connections)]
    try:
        await asyncio.gather(*(client.echo() for client in clients))
        await asyncio.sleep(0.5)
        after = resident_kib(pid)
    finally:
        await asyncio.gather(*(client.close() for client in [first, *clients]))
    return (after - before) / settings.idle_connections


MEASURES = ("rt_1", "rt_100", "idle_kib")
"""Result names: round trips per second on 1 and on 100 connections, KiB per idle
connection. Round trips are better higher, memory lower (see ``better``)."""


def better(measure: str) -> Any:
    """``max`` or ``min``: how to keep the best of several passes."""
    return min if measure == "idle_kib" else max


async def measure(port: int, pid: int, settings: WebsocketSettings) -> dict[str, Any]:
    check = await Client.connect(port)
    try:
        await asyncio.wait_for(check.echo(), 5)
    finally:
        await check.close()
    results: dict[str, Any] = {}
    for connections in settings.connection_counts:
        rate = await round_trips(port, connections, settings)
        results[f"rt_{connections}"] = {"ok": True, "error": None, "value": rate}
    kib = await idle_memory(port, pid, settings)
    results["idle_kib"] = {"ok": True, "error": None, "value": kib}
    return results


def run_framework(framework: Framework, settings: WebsocketSettings) -> dict[str, Any]:
    """Serve one framework with uvicorn and measure its websocket echo."""
    missing = framework.missing()
    if missing is not None:
        return {"error": missing}
    with tempfile.TemporaryDirectory(prefix="bench-ws-") as directory:
        server = Server(framework, Path(directory) / "uvicorn.log", WS_SERVER_ARGS)
        try:
            server.start()
            assert server.process is not None
            return {"scenarios": asyncio.run(measure(server.port, server.process.pid, settings))}
        except (RuntimeError, OSError, asyncio.IncompleteReadError, TimeoutError) as exc:
            return {"error": f"{type(exc).__name__}: {exc}; uvicorn log: {server.log()}"}
        finally:
            server.stop()


def run(frameworks: list[Framework], settings: WebsocketSettings) -> dict[str, dict[str, Any]]:
    """Measure every framework in turn (never two servers at once)."""
    results = {}
    for framework in frameworks:
        print(f"websocket echo under uvicorn: {framework.title} ...", file=sys.stderr, flush=True)
        results[framework.key] = run_framework(framework, settings)
        if "error" in results[framework.key]:
            print(f"  error: {results[framework.key]['error']}", file=sys.stderr)
        for name, result in results[framework.key].get("scenarios", {}).items():
            print(f"  {name}: {result['value']:,.1f}", file=sys.stderr, flush=True)
    return results
