"""The processes of the fan-out benchmark (``benchmarks/fanout.py``): a ``redis-server`` and
uvicorn serving the fan-out app, started on 127.0.0.1 at free ports and stopped with every
process they made, and what /proc says of their CPU time and memory."""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
HOST = "127.0.0.1"
APP = "benchmarks.apps.fanout_app:app"
UVICORN_ARGS = (
    "--loop", "uvloop", "--http", "httptools", "--ws", "websockets",
    "--no-access-log", "--log-level", "warning",
)  # fmt: skip


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        port: int = sock.getsockname()[1]
        return port


def resident_kib(pid: int) -> int:
    """VmRSS of a process, in KiB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise RuntimeError(f"no VmRSS for {pid}")


def cpu_seconds(pids: list[int]) -> float:
    """User and system CPU time the processes have used so far."""
    ticks = 0
    for pid in pids:
        fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
        ticks += int(fields[11]) + int(fields[12])  # utime, stime
    return ticks / os.sysconf("SC_CLK_TCK")


def children(pid: int) -> list[int]:
    """The processes whose parent is ``pid``."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        with contextlib.suppress(OSError):
            stat = (entry / "stat").read_text()
            if int(stat.rpartition(")")[2].split()[1]) == pid:
                found.append(int(entry.name))
    return found


def stop_process(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(process.pid, signal.SIGKILL)  # a worker left behind


class RedisProcess:
    """``redis-server`` on 127.0.0.1 at a free port, persistence off, in a directory of
    its own."""

    def __init__(self) -> None:
        binary = shutil.which("redis-server")
        if binary is None:
            raise RuntimeError("redis-server is not installed: apt-get install redis-server")
        self.port = free_port()
        self.directory = tempfile.mkdtemp(prefix="fanout-redis-")
        self.process = subprocess.Popen(
            [binary, "--bind", HOST, "--port", str(self.port), "--save", "",
             "--appendonly", "no", "--dir", self.directory, "--loglevel", "warning"],
            stdout=subprocess.DEVNULL,
            start_new_session=True,
        )  # fmt: skip
        deadline = time.monotonic() + 10
        while True:
            with contextlib.suppress(OSError), socket.create_connection((HOST, self.port), 1) as s:
                s.sendall(b"PING\r\n")
                if s.recv(16).startswith(b"+PONG"):
                    return
            if self.process.poll() is not None or time.monotonic() > deadline:
                self.close()
                raise RuntimeError("redis-server did not start")
            time.sleep(0.02)

    @property
    def url(self) -> str:
        return f"redis://{HOST}:{self.port}/0"

    def close(self) -> None:
        stop_process(self.process)
        shutil.rmtree(self.directory, ignore_errors=True)


class AppServer:
    """uvicorn serving the fan-out app with ``workers`` workers on the given broadcast
    URL; its worker processes are the ones whose memory is measured."""

    def __init__(self, broadcast_url: str, workers: int, queue_size: int) -> None:
        self.port = free_port()
        self.workers = workers
        self.log = tempfile.TemporaryFile()  # noqa: SIM115 - closed by close()
        env = {key: value for key, value in os.environ.items() if key != "PYTHONPATH"}
        env |= {
            "PYTHONPATH": str(ROOT / "src"),
            "FANOUT_BROADCAST_URL": broadcast_url,
            "FANOUT_QUEUE_SIZE": str(queue_size),
        }
        self.command = [
            sys.executable, "-m", "uvicorn", *UVICORN_ARGS, "--workers", str(workers),
            "--host", HOST, "--port", str(self.port), APP,
        ]  # fmt: skip
        self.process = subprocess.Popen(
            self.command, cwd=ROOT, env=env, stdout=self.log, stderr=subprocess.STDOUT,
            start_new_session=True,
        )  # fmt: skip

    def worker_pids(self) -> list[int]:
        """The processes serving the app: uvicorn itself with one worker, else the
        workers it spawned (not multiprocessing's helpers)."""
        if self.workers == 1:
            return [self.process.pid]
        pids = []
        for pid in children(self.process.pid):
            with contextlib.suppress(OSError):
                if b"spawn_main" in Path(f"/proc/{pid}/cmdline").read_bytes():
                    pids.append(pid)
        return sorted(pids)

    def output(self) -> str:
        self.log.seek(0)
        lines = self.log.read().decode(errors="replace").strip().splitlines()
        return " | ".join(lines[-8:])

    def close(self) -> None:
        stop_process(self.process)
        self.log.close()
