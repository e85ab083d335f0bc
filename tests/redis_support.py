"""A real Redis server for the tests: Debian's ``redis-server`` on 127.0.0.1 at a free port,
with persistence off, started and stopped by the test that needs it.

``make test`` installs ``redis-server`` when it is missing (as it does Chromium). Where it
is missing all the same, tests that need it skip, saying why; under CI they fail instead.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import tempfile
import time

from server.serving import HOST, free_port

REDIS_SERVER = shutil.which("redis-server")
MISSING = "redis-server is not installed: apt-get install redis-server (make test does it)"


class RedisServer:
    """One ``redis-server`` process. ``stop()`` and ``start()`` again keep its port, so that
    clients of the old process reconnect to the new one, as after a real restart (its data
    is gone: persistence is off)."""

    def __init__(self, port: int | None = None) -> None:
        if REDIS_SERVER is None:
            raise RuntimeError(MISSING)
        self.port = port or free_port()
        self.process: subprocess.Popen[bytes] | None = None
        self._directory = tempfile.mkdtemp(prefix="quart-redis-")

    @property
    def url(self) -> str:
        return f"redis://{HOST}:{self.port}/0"

    def start(self) -> None:
        assert REDIS_SERVER is not None
        if self.process is not None and self.process.poll() is None:
            return
        settings = {
            "bind": HOST,
            "port": str(self.port),
            "save": "",  # persistence off
            "appendonly": "no",
            "dir": self._directory,
            "daemonize": "no",
            "loglevel": "warning",
        }
        arguments = [item for name, value in settings.items() for item in (f"--{name}", value)]
        self.process = subprocess.Popen(
            [REDIS_SERVER, *arguments],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )
        self._wait_until_answering()

    def _wait_until_answering(self) -> None:
        """Until the server answers PING (nothing announces that it is ready)."""
        assert self.process is not None
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                errors = self.process.stderr.read() if self.process.stderr else b""
                raise RuntimeError(f"redis-server exited: {errors.decode(errors='replace')}")
            try:
                with socket.create_connection((HOST, self.port), timeout=1) as connection:
                    connection.sendall(b"PING\r\n")
                    if connection.recv(64).startswith(b"+PONG"):
                        return
            except OSError:
                pass
            time.sleep(0.02)
        raise RuntimeError("redis-server did not start answering")

    def stop(self) -> None:
        """Stop the server (as an outage would: clients see their connections close)."""
        process, self.process = self.process, None
        if process is None:
            return
        if process.poll() is None:
            process.terminate()
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        if process.stderr is not None:
            process.stderr.close()

    def kill(self) -> None:
        """Kill the server outright (SIGKILL): no goodbye to its clients."""
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
        self.stop()

    def close(self) -> None:
        self.stop()
        shutil.rmtree(self._directory, ignore_errors=True)


def redis_required() -> str | None:
    """None when tests can start a Redis server; otherwise the reason they skip (outside
    CI only: under CI a missing server is a failure, not a skip)."""
    if REDIS_SERVER is not None:
        return None
    if os.environ.get("CI"):
        raise RuntimeError(MISSING)
    return MISSING
