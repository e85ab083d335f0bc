"""Serve an app module with uvicorn or hypercorn in a subprocess on 127.0.0.1, as a
production worker runs: a test client in the test's own process then sees exactly what
any other client would, including a worker that stops answering."""

from __future__ import annotations

import asyncio
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from .serving import HOST, free_port

#: Seconds within which a healthy worker answers; a frozen one never does.
PROMPT = 5.0
SERVERS = {
    "uvicorn-websockets": ["-m", "uvicorn", "--ws", "websockets", "--log-level", "warning"],
    "uvicorn-wsproto": ["-m", "uvicorn", "--ws", "wsproto", "--log-level", "warning"],
    "hypercorn": ["-m", "hypercorn", "--log-level", "warning"],
}


def _command(server: str, app: str, port: int, extra: list[str]) -> list[str]:
    arguments = [sys.executable, *SERVERS[server], *extra, app]
    if server == "hypercorn":
        return [*arguments, "--bind", f"{HOST}:{port}"]
    return [*arguments, "--host", HOST, "--port", str(port)]


def _wait_until_listening(port: int, process: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"the server exited with {process.returncode}")
        try:
            socket.create_connection((HOST, port), timeout=1).close()
            return
        except OSError:
            time.sleep(0.05)  # nothing announces that the subprocess is listening
    raise RuntimeError("the server did not start listening")


@contextmanager
def served(
    server: str, app: str, directory: Path, extra: list[str] | None = None
) -> Iterator[tuple[subprocess.Popen[bytes], int]]:
    """Serve ``app`` ("module:name", importable from ``directory``) with ``server`` (a
    key of SERVERS); yields the process and its port. On exit the server is stopped and
    must not have logged a traceback."""
    port = free_port()
    environment = {**os.environ, "PYTHONPATH": os.pathsep.join([str(directory), *sys.path])}
    process = subprocess.Popen(
        _command(server, app, port, extra or []),
        cwd=directory,
        env=environment,
        stderr=subprocess.PIPE,
    )
    try:
        _wait_until_listening(port, process)
        yield process, port
    finally:
        process.terminate()
        try:
            _out, errors = process.communicate(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            _out, errors = process.communicate()
        assert b"Traceback" not in errors, errors.decode(errors="replace")


async def get(port: int, path: str) -> tuple[int, bytes]:
    """A plain HTTP/1.1 GET on a new connection, answered within PROMPT seconds."""
    async with asyncio.timeout(PROMPT):
        reader, writer = await asyncio.open_connection(HOST, port)
        try:
            request = f"GET {path} HTTP/1.1\r\nHost: {HOST}\r\nConnection: close\r\n\r\n"
            writer.write(request.encode())
            response = await reader.read()
        finally:
            writer.close()
    head, _, body = response.partition(b"\r\n\r\n")
    return int(head.split(b" ", 2)[1]), body
