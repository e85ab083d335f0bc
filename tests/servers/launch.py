"""Start a server the way its users do: its own command line, in a subprocess, serving
``smoke_app:app`` from a directory that holds a copy of ``smoke_app.py``; stop it with a
signal, as a terminal's CTRL+C (SIGINT) or a process manager (SIGTERM) does."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import httpx

HOST = "127.0.0.1"
START_TIMEOUT = 20.0
STOP_TIMEOUT = 15.0
SMOKE_APP = Path(__file__).with_name("smoke_app.py")

# Each server's command line, as its documentation gives it.
COMMANDS: dict[str, Callable[[int], list[str]]] = {
    "hypercorn": lambda port: ["hypercorn", "smoke_app:app", "--bind", f"{HOST}:{port}"],
    "uvicorn": lambda port: ["uvicorn", "smoke_app:app", "--host", HOST, "--port", str(port)],
    "granian": lambda port: [
        "granian", "--interface", "asgi", "smoke_app:app", "--host", HOST, "--port", str(port),
    ],
}  # fmt: skip
SERVERS = list(COMMANDS)


def free_port() -> int:
    """A port that was free a moment ago (the OS picks it)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((HOST, 0))
        return int(sock.getsockname()[1])


def _executable(name: str) -> str:
    """The server's script beside this interpreter (the virtual environment's), else on
    the PATH."""
    found = shutil.which(name, path=str(Path(sys.executable).parent)) or shutil.which(name)
    if found is None:
        raise RuntimeError(f"{name} is not installed: pip install -e '.[test]'")
    return found


@dataclass
class ServerProcess:
    """One server serving the smoke app from ``directory``."""

    name: str
    directory: Path
    port: int = field(default_factory=free_port)
    process: subprocess.Popen[bytes] | None = None

    @property
    def base_url(self) -> str:
        return f"http://{HOST}:{self.port}"

    @property
    def log(self) -> Path:
        return self.directory / "server.log"

    def output(self) -> str:
        return self.log.read_text(errors="replace") if self.log.exists() else ""

    def start(self) -> None:
        """Start the server and return once it has answered a request."""
        shutil.copy(SMOKE_APP, self.directory / "smoke_app.py")
        command = COMMANDS[self.name](self.port)
        command[0] = _executable(command[0])
        with self.log.open("wb") as log:
            self.process = subprocess.Popen(
                command,
                cwd=self.directory,
                stdout=log,
                stderr=subprocess.STDOUT,
                # A group of its own, so that kill() reaches the workers a server spawns.
                start_new_session=True,
            )
        self._wait_until_serving()

    def _wait_until_serving(self) -> None:
        """Poll until a request gets an answer (nothing else says the server is ready);
        fail at once, with the server's output, if it exited."""
        assert self.process is not None
        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(
                    f"{self.name} exited with {self.process.returncode}:\n{self.output()}"
                )
            try:
                httpx.get(self.base_url + "/", timeout=START_TIMEOUT)
            except httpx.TransportError:
                time.sleep(0.05)
            else:
                return
        self.kill()
        raise RuntimeError(f"{self.name} did not start in {START_TIMEOUT}s:\n{self.output()}")

    def stop(self, signum: int = signal.SIGTERM) -> int:
        """Send ``signum`` and wait for the server to exit; its exit status."""
        assert self.process is not None
        if self.process.poll() is None:
            self.process.send_signal(signum)
            try:
                self.process.wait(STOP_TIMEOUT)
            except subprocess.TimeoutExpired:
                self.kill()
                raise RuntimeError(
                    f"{self.name} did not stop on signal {signum} in {STOP_TIMEOUT}s:\n"
                    + self.output()
                ) from None
        return self.process.returncode

    def kill(self) -> None:
        """The last resort for a server that will not stop: its whole process group."""
        if self.process is not None and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait()
