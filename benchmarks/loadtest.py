"""Loopback load run: each app served by uvicorn (httptools + uvloop, one worker), driven by wrk.

This measures what a deployment sees: the framework's cost plus the server's and the sockets'.
Only 127.0.0.1 is ever targeted, and every step has a time limit.
"""

from __future__ import annotations

import http.client
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from benchmarks.frameworks import ROOT, Framework
from benchmarks.scenarios import Scenario

HOST = "127.0.0.1"
WRK_INSTALL_HINT = "wrk is not installed; on Debian: apt-get update && apt-get install -y wrk"


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


def fetch(port: int, scenario: Scenario, timeout: float = 5) -> tuple[int, dict[str, str], bytes]:
    """One request over a real socket, as the correctness check before loading."""
    connection = http.client.HTTPConnection(HOST, port, timeout=timeout)
    try:
        headers = {"Content-Type": "application/json"} if scenario.body else {}
        connection.request(
            scenario.method, scenario.target, body=scenario.body or None, headers=headers
        )
        response = connection.getresponse()
        body = response.read()
        return response.status, {k.lower(): v for k, v in response.getheaders()}, body
    finally:
        connection.close()


class Server:
    """uvicorn serving one framework's app in a subprocess we own and always stop."""

    def __init__(self, framework: Framework, log: Path, extra_args: tuple[str, ...] = ()) -> None:
        self.framework = framework
        self.port = free_port()
        self.log_path = log
        self.extra_args = extra_args
        self.process: subprocess.Popen[bytes] | None = None

    def start(self, ready_timeout: float = 30) -> None:
        command = [
            str(self.framework.python), "-m", "uvicorn", self.framework.app_ref,
            "--host", HOST, "--port", str(self.port),
            "--loop", "uvloop", "--http", "httptools", "--workers", "1",
            "--no-access-log", "--log-level", "warning", *self.extra_args,
        ]  # fmt: skip
        with self.log_path.open("wb") as log:
            self.process = subprocess.Popen(
                command, cwd=ROOT, env=self.framework.env(), stdout=log, stderr=subprocess.STDOUT
            )
        deadline = time.monotonic() + ready_timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"uvicorn exited with {self.process.returncode}: {self.log()}")
            try:
                with socket.create_connection((HOST, self.port), timeout=0.5):
                    return
            except OSError:
                time.sleep(0.1)
        raise RuntimeError(f"uvicorn did not listen within {ready_timeout:.0f}s: {self.log()}")

    def log(self) -> str:
        lines = self.log_path.read_text(errors="replace").strip().splitlines()
        return " | ".join(lines[-5:])

    def stop(self) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        self.process.terminate()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout=10)


def lua_script(scenario: Scenario, directory: Path) -> Path | None:
    """A wrk script for requests wrk cannot express on its command line (a POST with a body)."""
    if not scenario.body:
        return None
    body = scenario.body.decode()
    assert "]]" not in body, "the body must fit in a Lua long string"
    path = directory / f"{scenario.name}.lua"
    path.write_text(
        f'wrk.method = "{scenario.method}"\n'
        f"wrk.body = [[{body}]]\n"
        'wrk.headers["Content-Type"] = "application/json"\n'
    )
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
    port: int, scenario: Scenario, seconds: int, settings: LoadSettings, directory: Path
) -> dict[str, Any]:
    command = [
        wrk_path() or "wrk", f"-t{settings.threads}", f"-c{settings.connections}",
        f"-d{seconds}s", "--timeout", "5s",
    ]  # fmt: skip
    script = lua_script(scenario, directory)
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
    try:
        error = scenario.check(*fetch(server.port, scenario))
    except (OSError, http.client.HTTPException) as exc:
        error = f"no valid HTTP answer: {exc!r}"
    if error is not None:
        return {"ok": False, "error": error}
    if settings.warmup:
        run_wrk(server.port, scenario, settings.warmup, settings, directory)
    result = run_wrk(server.port, scenario, settings.duration, settings, directory)
    error = judge(scenario, result)
    return {"ok": error is None, "error": error, **result}


def run(
    frameworks: list[Framework], scenarios: list[Scenario], settings: LoadSettings
) -> dict[str, dict[str, Any]]:
    """Serve every framework at once (each idle but for its turn), then load the scenarios
    one at a time: for each scenario every framework in turn, the order rotating. A stretch
    when the machine is busier then weighs on every framework alike; wrk only ever loads
    one server at a time, so they never share the CPU."""
    if wrk_path() is None:
        print(f"uvicorn load run skipped: {WRK_INSTALL_HINT}", file=sys.stderr)
        return {framework.key: {"error": WRK_INSTALL_HINT} for framework in frameworks}
    results: dict[str, dict[str, Any]] = {}
    servers: dict[str, Server] = {}
    with tempfile.TemporaryDirectory(prefix="bench-load-") as tmp:
        directory = Path(tmp)
        try:
            for framework in frameworks:
                missing = framework.missing()
                if missing is not None:
                    results[framework.key] = {"error": missing}
                    continue
                server = Server(framework, directory / f"uvicorn-{framework.key}.log")
                try:
                    server.start()
                except (OSError, RuntimeError, subprocess.SubprocessError) as exc:
                    server.stop()
                    results[framework.key] = {"error": str(exc)}
                    continue
                servers[framework.key] = server
                results[framework.key] = {"scenarios": {}}
            for index, scenario in enumerate(scenarios):
                print(f"uvicorn + wrk: {scenario.name} ...", file=sys.stderr, flush=True)
                keys = list(servers)
                shift = index % len(keys) if keys else 0
                for key in keys[shift:] + keys[:shift]:
                    try:
                        result = load_scenario(servers[key], scenario, settings, directory)
                    except (OSError, RuntimeError, subprocess.SubprocessError) as exc:
                        result = {"ok": False, "error": f"{exc}; uvicorn log: {servers[key].log()}"}
                    results[key]["scenarios"][scenario.name] = result
                    shown = f"{result['rps']:.0f} req/s" if result["ok"] else result["error"]
                    print(f"  {key}: {shown}", file=sys.stderr, flush=True)
        finally:
            for server in servers.values():
                server.stop()
    return results
