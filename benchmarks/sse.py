"""Server-sent events under uvicorn: events per second to one client.

Each app's ``realistic_app`` is served by uvicorn exactly as in the HTTP load run, and one
client asks for a long stream (``GET /sse?n=...``) and reads it to the end. The client reads
in large blocks and only counts event terminators, so it costs far less per event than any
server does. Only 127.0.0.1 is ever targeted.
"""

from __future__ import annotations

import asyncio
import dataclasses
import http.client
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from benchmarks.frameworks import Framework
from benchmarks.loadtest import HOST, Server, fetch
from benchmarks.scenarios import SSE


@dataclass(frozen=True)
class SseSettings:
    """The same for every framework, so results compare."""

    events: int = 100_000
    """Events in each measured stream."""
    streams: int = 3
    """Measured streams; the best one counts."""
    warmup_events: int = 10_000


async def stream(port: int, events: int, timeout: float = 120) -> float:
    """Seconds from sending the request to the end of a stream of ``events`` events."""
    reader, writer = await asyncio.open_connection(HOST, port)
    try:
        start = time.perf_counter()
        writer.write(
            f"GET {SSE.path}?n={events} HTTP/1.1\r\nHost: {HOST}:{port}\r\n"
            "Accept: text/event-stream\r\nConnection: close\r\n\r\n".encode()
        )
        data = bytearray()
        async with asyncio.timeout(timeout):
            while chunk := await reader.read(1 << 18):
                data += chunk
        elapsed = time.perf_counter() - start
    finally:
        writer.close()
    head, _, body = bytes(data).partition(b"\r\n\r\n")
    if not head.startswith(b"HTTP/1.1 200"):
        raise RuntimeError(f"expected a 200 stream, got {head[:100]!r}")
    received = body.count(b"\n\n")
    if received != events:
        raise RuntimeError(f"expected {events} events, counted {received}")
    return elapsed


async def measure(port: int, settings: SseSettings) -> dict[str, Any]:
    await stream(port, settings.warmup_events)
    best = min([await stream(port, settings.events) for _ in range(settings.streams)])
    return {"events_per_s": {"ok": True, "error": None, "value": settings.events / best}}


def run_framework(framework: Framework, settings: SseSettings) -> dict[str, Any]:
    """Serve one framework with uvicorn, check a short stream, then measure long ones."""
    missing = framework.missing()
    if missing is not None:
        return {"error": missing}
    short = dataclasses.replace(SSE, query="n=10", events=10)
    with tempfile.TemporaryDirectory(prefix="bench-sse-") as directory:
        server = Server(framework, Path(directory) / "uvicorn.log", app=SSE.app)
        try:
            server.start()
            error = short.check(*fetch(server.port, short))
            if error is not None:
                return {"scenarios": {"events_per_s": {"ok": False, "error": error}}}
            return {"scenarios": asyncio.run(measure(server.port, settings))}
        except (RuntimeError, OSError, http.client.HTTPException, TimeoutError) as exc:
            return {"error": f"{type(exc).__name__}: {exc}; uvicorn log: {server.log()}"}
        finally:
            server.stop()


def run(frameworks: list[Framework], settings: SseSettings) -> dict[str, dict[str, Any]]:
    """Measure every framework in turn (never two servers at once)."""
    results = {}
    for framework in frameworks:
        print(f"server-sent events under uvicorn: {framework.title} ...", file=sys.stderr)
        results[framework.key] = run_framework(framework, settings)
        if "error" in results[framework.key]:
            print(f"  error: {results[framework.key]['error']}", file=sys.stderr)
        for name, result in results[framework.key].get("scenarios", {}).items():
            shown = f"{result['value']:,.0f}" if result["ok"] else result["error"]
            print(f"  {name}: {shown}", file=sys.stderr, flush=True)
    return results
