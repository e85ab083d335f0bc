"""Loopback load run: each app served by uvicorn (httptools + uvloop, one worker), and again
by granian (ASGI interface, uvloop, one worker), driven by wrk.

This measures what a deployment sees: the framework's cost plus the server's and the sockets'.
Only 127.0.0.1 is ever targeted, and every step has a time limit.
"""

from __future__ import annotations

import contextlib
import http.client
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from benchmarks.frameworks import ROOT, Framework
from benchmarks.scenarios import Scenario, cookie_header

HOST = "127.0.0.1"
WRK_INSTALL_HINT = "wrk is not installed; on Debian: apt-get update && apt-get install -y wrk"
SERVERS = ("uvicorn", "granian")
UVICORN_ARGS = (
    "--loop", "uvloop", "--http", "httptools", "--workers", "1",
    "--no-access-log", "--log-level", "warning",
)  # fmt: skip
GRANIAN_ARGS = (
    "--interface", "asgi", "--loop", "uvloop", "--http", "1", "--workers", "1",
    "--no-ws", "--log-level", "warning",
)  # fmt: skip
"""How each server is started, besides host, port and app (shown in the report)."""


@dataclass(frozen=True)
class LoadSettings:
    """wrk parameters, the same for every framework."""

    duration: int = 5
    """Seconds of measured load per scenario."""
    warmup: int = 1
    """Seconds of unmeasured load per scenario first (0 to skip)."""
    connections: int = 64
    threads: int = 1


def wrk_path() -> str | None:
    return shutil.which("wrk")


def wrk_version() -> str | None:
    """wrk prints its version on the first line of its usage text."""
    path = wrk_path()
    if path is None:
        return None
    process = subprocess.run([path, "--version"], capture_output=True, text=True, timeout=10)
    first_line = (process.stdout or process.stderr).strip().splitlines()[:1]
    return first_line[0].split(" Copyright")[0] if first_line else "unknown"


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((HOST, 0))
        port: int = sock.getsockname()[1]
        return port


def request(
    port: int, method: str, target: str, body: bytes, headers: dict[str, str], timeout: float = 5
) -> tuple[int, list[tuple[str, str]], bytes]:
    """One request over a real socket: status, headers as sent, body."""
    connection = http.client.HTTPConnection(HOST, port, timeout=timeout)
    try:
        connection.request(method, target, body=body or None, headers=headers)
        response = connection.getresponse()
        return response.status, response.getheaders(), response.read()
    finally:
        connection.close()


def prime(port: int, scenario: Scenario) -> str | None:
    """The Cookie header from what ``scenario.prime`` sets (see Scenario.prime)."""
    if scenario.prime is None:
        return None
    _, headers, _ = request(port, "GET", scenario.prime, b"", {})
    return cookie_header([value for name, value in headers if name.lower() == "set-cookie"])


def request_headers(scenario: Scenario, cookie: str | None) -> dict[str, str]:
    headers = {"Content-Type": scenario.content_type} if scenario.body else {}
    if cookie:
        headers["Cookie"] = cookie
    return headers


def fetch(
    port: int, scenario: Scenario, cookie: str | None = None, timeout: float = 5
) -> tuple[int, dict[str, str], bytes]:
    """One request over a real socket, as the correctness check before loading."""
    status, headers, body = request(
        port, scenario.method, scenario.target, scenario.body,
        request_headers(scenario, cookie), timeout,
    )  # fmt: skip
    return status, {name.lower(): value for name, value in headers}, body


class Server:
    """uvicorn or granian serving one of a framework's apps in a subprocess we own and
    always stop (with the workers granian starts: they share its process group)."""

    def __init__(
        self,
        framework: Framework,
        log: Path,
        extra_args: tuple[str, ...] = (),
        server: str = "uvicorn",
        app: str = "app",
    ) -> None:
        self.framework = framework
        self.port = free_port()
        self.log_path = log
        self.extra_args = extra_args
        self.server = server
        self.app = app
        self.process: subprocess.Popen[bytes] | None = None

    def command(self) -> list[str]:
        options = UVICORN_ARGS if self.server == "uvicorn" else GRANIAN_ARGS
        return [
            str(self.framework.python), "-m", self.server, *options, *self.extra_args,
            "--host", HOST, "--port", str(self.port), self.framework.app_ref(self.app),
        ]  # fmt: skip

    def start(self, ready_timeout: float = 30) -> None:
        with self.log_path.open("wb") as log:
            self.process = subprocess.Popen(
                self.command(),
                cwd=ROOT,
                env=self.framework.env(),
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        deadline = time.monotonic() + ready_timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                code = self.process.returncode
                raise RuntimeError(f"{self.server} exited with {code}: {self.log()}")
            try:
                with socket.create_connection((HOST, self.port), timeout=0.5):
                    return
            except OSError:
                time.sleep(0.1)
        raise RuntimeError(
            f"{self.server} did not listen within {ready_timeout:.0f}s: {self.log()}"
        )

    def log(self) -> str:
        lines = self.log_path.read_text(errors="replace").strip().splitlines()
        return " | ".join(lines[-5:])

    def stop(self) -> None:
        if self.process is None:
            return
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=10)
        # Anything left in the group we created (a granian worker) goes too.
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self.process.pid, signal.SIGKILL)


def lua_string(data: bytes) -> str:
    """A Lua string literal holding exactly these bytes (escapes keep CR LF intact, which
    a Lua long string would not)."""
    parts = []
    for byte in data:
        if byte in (0x22, 0x5C):  # " and \
            parts.append("\\" + chr(byte))
        elif 0x20 <= byte < 0x7F:
            parts.append(chr(byte))
        else:
            parts.append(f"\\{byte:03d}")
    return '"' + "".join(parts) + '"'


def lua_script(scenario: Scenario, cookie: str | None, directory: Path) -> Path | None:
    """A wrk script for requests wrk cannot express on its command line (a body, a cookie)."""
    if not scenario.body and not cookie:
        return None
    lines = [f"wrk.method = {lua_string(scenario.method.encode())}"]
    if scenario.body:
        lines.append(f"wrk.body = {lua_string(scenario.body)}")
    for name, value in request_headers(scenario, cookie).items():
        lines.append(f"wrk.headers[{lua_string(name.encode())}] = {lua_string(value.encode())}")
    path = directory / f"{scenario.name}.lua"
    path.write_text("\n".join(lines) + "\n")
    return path


def parse_wrk(output: str) -> dict[str, Any]:
    """Requests/sec, request count, non-2xx/3xx count, socket errors and mean latency."""

    def number(pattern: str, default: float | None = None) -> float | None:
        match = re.search(pattern, output)
        return float(match.group(1)) if match else default

    errors = re.search(
        r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", output
    )
    return {
        "rps": number(r"Requests/sec:\s+([\d.]+)"),
        "requests": int(number(r"(\d+) requests in", 0) or 0),
        "non_2xx_3xx": int(number(r"Non-2xx or 3xx responses:\s+(\d+)", 0) or 0),
        "socket_errors": sum(int(n) for n in errors.groups()) if errors else 0,
        "latency": (re.search(r"Latency\s+(\S+)", output) or [None, None])[1],
    }


def run_wrk(
    port: int,
    scenario: Scenario,
    cookie: str | None,
    seconds: int,
    settings: LoadSettings,
    directory: Path,
) -> dict[str, Any]:
    command = [
        wrk_path() or "wrk", f"-t{settings.threads}", f"-c{settings.connections}",
        f"-d{seconds}s", "--timeout", "5s",
    ]  # fmt: skip
    script = lua_script(scenario, cookie, directory)
    if script is not None:
        command += ["-s", str(script)]
    command.append(f"http://{HOST}:{port}{scenario.target}")
    process = subprocess.run(command, capture_output=True, text=True, timeout=seconds + 30)
    if process.returncode != 0:
        raise RuntimeError(f"wrk failed: {process.stderr.strip() or process.stdout.strip()}")
    return parse_wrk(process.stdout)


def judge(scenario: Scenario, result: dict[str, Any]) -> str | None:
    """Why a wrk run cannot be trusted (wrong statuses, errors, nothing parsed), or None."""
    if result["rps"] is None or result["requests"] == 0:
        return "wrk reported no completed requests"
    expected_errors = result["requests"] if scenario.status >= 400 else 0
    if result["non_2xx_3xx"] != expected_errors:
        return (
            f"{result['non_2xx_3xx']} of {result['requests']} responses were not 2xx/3xx"
            f" (expected {expected_errors})"
        )
    if result["socket_errors"]:
        return f"{result['socket_errors']} socket errors"
    return None


def load_scenario(
    server: Server, scenario: Scenario, settings: LoadSettings, directory: Path
) -> dict[str, Any]:
    """Check one scenario over HTTP, then load it with wrk."""
    cookie = None
    try:
        cookie = prime(server.port, scenario)
        error = scenario.check(*fetch(server.port, scenario, cookie))
    except (OSError, http.client.HTTPException) as exc:
        error = f"no valid HTTP answer: {exc!r}"
    if error is not None:
        return {"ok": False, "error": error}
    if settings.warmup:
        run_wrk(server.port, scenario, cookie, settings.warmup, settings, directory)
    result = run_wrk(server.port, scenario, cookie, settings.duration, settings, directory)
    error = judge(scenario, result)
    return {"ok": error is None, "error": error, **result}


def run(
    frameworks: list[Framework],
    scenarios: list[Scenario],
    settings: LoadSettings,
    server_name: str = "uvicorn",
) -> dict[str, dict[str, Any]]:
    """Serve every framework's apps at once (each idle but for its turn), then load the
    scenarios one at a time: for each scenario every framework in turn, the order rotating.
    A stretch when the machine is busier then weighs on every framework alike; wrk only
    ever loads one server at a time, so they never share the CPU."""
    if wrk_path() is None:
        print(f"{server_name} load run skipped: {WRK_INSTALL_HINT}", file=sys.stderr)
        return {framework.key: {"error": WRK_INSTALL_HINT} for framework in frameworks}
    results: dict[str, dict[str, Any]] = {}
    servers: dict[tuple[str, str], Server] = {}
    apps = sorted({scenario.app for scenario in scenarios})
    with tempfile.TemporaryDirectory(prefix="bench-load-") as tmp:
        directory = Path(tmp)
        try:
            for framework in frameworks:
                missing = framework.missing()
                if missing is not None:
                    results[framework.key] = {"error": missing}
                    continue
                results[framework.key] = {"scenarios": {}}
                for app in apps:
                    log = directory / f"{server_name}-{framework.key}-{app}.log"
                    server = Server(framework, log, server=server_name, app=app)
                    try:
                        server.start()
                    except (OSError, RuntimeError, subprocess.SubprocessError) as exc:
                        server.stop()
                        results[framework.key] = {"error": str(exc)}
                        break
                    servers[framework.key, app] = server
            for index, scenario in enumerate(scenarios):
                print(f"{server_name} + wrk: {scenario.name} ...", file=sys.stderr, flush=True)
                keys = [
                    framework.key
                    for framework in frameworks
                    if (framework.key, scenario.app) in servers and framework.runs(scenario.name)
                ]
                shift = index % len(keys) if keys else 0
                for key in keys[shift:] + keys[:shift]:
                    server = servers[key, scenario.app]
                    try:
                        result = load_scenario(server, scenario, settings, directory)
                    except (OSError, RuntimeError, subprocess.SubprocessError) as exc:
                        error = f"{exc}; {server_name} log: {server.log()}"
                        result = {"ok": False, "error": error}
                    results[key]["scenarios"][scenario.name] = result
                    shown = f"{result['rps']:.0f} req/s" if result["ok"] else result["error"]
                    print(f"  {key}: {shown}", file=sys.stderr, flush=True)
        finally:
            for server in servers.values():
                server.stop()
    return results
