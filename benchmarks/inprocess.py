"""In-process ASGI driver: calls each app directly, with no server and no sockets.

This isolates the framework's own per-request cost. The parent process starts one worker
subprocess per framework (with that framework's interpreter, see frameworks.py); each worker
runs lifespan startup, checks every scenario's answer once, then times the scenarios on one
event loop and writes JSON results to a file.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import importlib
import importlib.metadata
import json
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable, MutableMapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from benchmarks.frameworks import ROOT, Framework
from benchmarks.scenarios import SCENARIOS, SCENARIOS_BY_NAME, Scenario

Message = MutableMapping[str, Any]
ASGIApp = Callable[
    [Message, Callable[[], Awaitable[Message]], Callable[[Message], Awaitable[None]]],
    Awaitable[None],
]
REPORTED_DISTRIBUTIONS = ("quart", "starlette", "werkzeug", "flask", "uvloop")
YIELD_EVERY = 16
"""Requests between two turns of the event loop in a timed batch (see ``batch``)."""
CHECK_TIMEOUT = 10.0
"""Seconds the correctness check waits for an answer, so a hanging app cannot stall the run."""


@dataclass(frozen=True)
class Settings:
    """How long to measure: the same for every framework, so results compare."""

    rounds: int = 20
    round_time: float = 0.1
    """Target seconds per timed round; the iteration count is calibrated to reach it."""
    warmup: float = 0.3
    """Seconds of untimed requests per scenario before the rounds (also used to calibrate)."""
    loop: str = "auto"

    def args(self) -> list[str]:
        return [
            f"--rounds={self.rounds}",
            f"--round-time={self.round_time}",
            f"--warmup={self.warmup}",
            f"--loop={self.loop}",
        ]


class Connection:
    """One request's ASGI receive and send, behaving like a server would.

    The body arrives in one message; a later receive waits until the response is complete and
    then reports a disconnect (as uvicorn does), so frameworks that watch for disconnects in a
    task behave as they would when served.
    """

    __slots__ = ("_done", "body", "body_sent", "complete", "messages")

    def __init__(self, body: bytes) -> None:
        self.body = body
        self.body_sent = False
        self.complete = False
        self.messages: list[Message] = []
        self._done: asyncio.Event | None = None

    async def receive(self) -> Message:
        if not self.body_sent:
            self.body_sent = True
            return {"type": "http.request", "body": self.body, "more_body": False}
        if not self.complete:
            if self._done is None:
                self._done = asyncio.Event()
            await self._done.wait()
        return {"type": "http.disconnect"}

    async def send(self, message: Message) -> None:
        self.messages.append(message)
        if message["type"] == "http.response.body" and not message.get("more_body", False):
            self.complete = True
            if self._done is not None:
                self._done.set()

    def response(self) -> tuple[int, dict[str, str], bytes]:
        """Status, headers (lower-case names) and body assembled from the sent messages."""
        status, headers, chunks = 0, {}, []
        for message in self.messages:
            if message["type"] == "http.response.start":
                status = message["status"]
                headers = {
                    bytes(name).decode("latin-1").lower(): bytes(value).decode("latin-1")
                    for name, value in message.get("headers", [])
                }
            elif message["type"] == "http.response.body":
                chunks.append(bytes(message.get("body", b"")))
        return status, headers, b"".join(chunks)


def make_scope(scenario: Scenario) -> dict[str, Any]:
    """The HTTP scope a server would build for this scenario's request."""
    return {
        "type": "http",
        "asgi": {"version": "3.0", "spec_version": "2.3"},
        "http_version": "1.1",
        "method": scenario.method,
        "scheme": "http",
        "path": scenario.path,
        "raw_path": scenario.path.encode(),
        "query_string": scenario.query.encode(),
        "root_path": "",
        "headers": scenario.headers(),
        "client": ("127.0.0.1", 50000),
        "server": ("127.0.0.1", 8000),
        "state": {},
    }


async def call(app: ASGIApp, scope: dict[str, Any], body: bytes) -> Connection:
    """One request; the scope is copied because frameworks add keys to it."""
    connection = Connection(body)
    await app(dict(scope), connection.receive, connection.send)
    return connection


async def batch(app: ASGIApp, scope: dict[str, Any], body: bytes, count: int) -> float:
    """Seconds taken by ``count`` sequential requests (``call`` inlined: no extra await).

    An app that never really suspends would otherwise run the whole batch without the event
    loop turning once, so work it defers to the loop (cancelled timers, callbacks, task
    cancellations) would pile up uncounted. A server turns the loop between requests; yielding
    every ``YIELD_EVERY`` requests, and once before the clock stops, runs and counts that work
    while adding almost nothing per request.
    """
    start = time.perf_counter()
    for index in range(count):
        connection = Connection(body)
        await app(dict(scope), connection.receive, connection.send)
        if index % YIELD_EVERY == 0:
            await asyncio.sleep(0)
    await asyncio.sleep(0)
    return time.perf_counter() - start


class Lifespan:
    """Drives the ASGI lifespan protocol (the published Quart needs startup before requests)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self.to_app: asyncio.Queue[Message] = asyncio.Queue()
        self.from_app: asyncio.Queue[Message] = asyncio.Queue()
        self.task: asyncio.Future[None] | None = None

    async def _exchange(self, kind: str) -> None:
        assert self.task is not None
        await self.to_app.put({"type": f"lifespan.{kind}"})
        reply = asyncio.ensure_future(self.from_app.get())
        pending: set[asyncio.Future[Any]] = {reply, self.task}
        async with asyncio.timeout(30):
            await asyncio.wait(pending, return_when=asyncio.FIRST_COMPLETED)
        if not reply.done():
            # The app returned or raised without replying: it does not speak lifespan, and
            # servers serve such apps anyway.
            reply.cancel()
            if not self.task.cancelled():
                self.task.exception()  # retrieved, so asyncio does not log it as lost
            return
        if reply.result()["type"] != f"lifespan.{kind}.complete":
            raise RuntimeError(f"lifespan {kind} failed: {reply.result()}")

    async def startup(self) -> None:
        scope = {"type": "lifespan", "asgi": {"version": "3.0", "spec_version": "2.0"}, "state": {}}
        self.task = asyncio.ensure_future(self.app(scope, self.to_app.get, self.from_app.put))
        await self._exchange("startup")

    async def shutdown(self) -> None:
        if self.task is not None and not self.task.done():
            await self._exchange("shutdown")


def load_app(reference: str) -> ASGIApp:
    module_name, _, attribute = reference.partition(":")
    app: ASGIApp = getattr(importlib.import_module(module_name), attribute)
    return app


def environment(loop_name: str) -> dict[str, Any]:
    """What the worker ran on: interpreter, event loop, library versions, which quart."""
    versions: dict[str, str] = {}
    for name in REPORTED_DISTRIBUTIONS:
        with contextlib.suppress(importlib.metadata.PackageNotFoundError):
            versions[name] = importlib.metadata.version(name)
    quart = sys.modules.get("quart")
    return {
        "python": platform.python_version(),
        "executable": sys.executable,
        "loop": loop_name,
        "versions": versions,
        "quart_file": getattr(quart, "__file__", None),
        "quart_version": getattr(quart, "__version__", None),
    }


async def measure(app: ASGIApp, scenario: Scenario, settings: Settings) -> dict[str, Any]:
    """Check the scenario's answer once, then warm up, calibrate and time it."""
    scope = make_scope(scenario)
    try:
        async with asyncio.timeout(CHECK_TIMEOUT):
            connection = await call(app, scope, scenario.body)
    except TimeoutError:
        return {"ok": False, "error": f"no complete answer within {CHECK_TIMEOUT:g}s"}
    except Exception as exc:
        return {"ok": False, "error": f"the app raised {exc!r}"}
    error = scenario.check(*connection.response())
    if error is not None:
        return {"ok": False, "error": error}

    count, spent, per_request = 10, 0.0, 0.0
    while spent < settings.warmup:
        elapsed = await batch(app, scope, scenario.body, count)
        spent += elapsed
        per_request = elapsed / count
        count *= 2
    iterations = max(50, int(settings.round_time / max(per_request, 1e-9)))

    times = []
    for _ in range(settings.rounds):
        times.append(await batch(app, scope, scenario.body, iterations) / iterations)
    # Check again: an app that starts failing under repetition must not pass as fast.
    error = scenario.check(*(await call(app, scope, scenario.body)).response())
    if error is not None:
        return {"ok": False, "error": f"after {settings.rounds} timed rounds: {error}"}
    return {
        "ok": True,
        "error": None,
        "best_us": min(times) * 1e6,
        "median_us": statistics.median(times) * 1e6,
        "iterations": iterations,
        "rounds": settings.rounds,
    }


async def run_worker(
    reference: str, scenarios: list[Scenario], settings: Settings
) -> dict[str, Any]:
    app = load_app(reference)
    lifespan = Lifespan(app)
    await lifespan.startup()
    results = {scenario.name: await measure(app, scenario, settings) for scenario in scenarios}
    await lifespan.shutdown()
    return results


def loop_factory(choice: str) -> tuple[Callable[[], asyncio.AbstractEventLoop], str]:
    """uvloop when available (and asked for), else asyncio's default loop."""
    if choice in ("auto", "uvloop"):
        try:
            import uvloop
        except ImportError:
            if choice == "uvloop":
                raise
        else:
            return uvloop.new_event_loop, f"uvloop {importlib.metadata.version('uvloop')}"
    return asyncio.new_event_loop, "asyncio"


def worker_main(args: argparse.Namespace) -> None:
    """Subprocess side: measure one framework and write JSON to ``args.result``."""
    settings = Settings(args.rounds, args.round_time, args.warmup, args.loop)
    scenarios = [SCENARIOS_BY_NAME[name] for name in args.scenarios.split(",")]
    factory, loop_name = loop_factory(args.loop)
    with asyncio.Runner(loop_factory=factory) as runner:
        results = runner.run(run_worker(args.app, scenarios, settings))
    output = {"environment": environment(loop_name), "scenarios": results}
    Path(args.result).write_text(json.dumps(output, indent=2))


def check_identity(framework: Framework, env: dict[str, Any]) -> str | None:
    """Make sure "this project" ran our src/quart and "published Quart" did not."""
    if framework.module != "quart_app":
        return None
    quart_file = env.get("quart_file") or ""
    ours = Path(quart_file).resolve().is_relative_to(ROOT / "src")
    if framework.key == "ours" and not ours:
        return f"expected this project's quart from src/, imported {quart_file}"
    if framework.key == "quart" and ours:
        return f"expected the published quart, imported this project's {quart_file}"
    return None


def run_framework(
    framework: Framework, scenarios: list[Scenario], settings: Settings, timeout: float = 900
) -> dict[str, Any]:
    """Parent side: run one framework's worker and return its results, or an ``error``."""
    missing = framework.missing()
    if missing is not None:
        return {"error": missing}
    with tempfile.TemporaryDirectory(prefix="bench-") as directory:
        result = Path(directory) / "result.json"
        command = [
            str(framework.python),
            "-m",
            "benchmarks.inprocess",
            "--worker",
            f"--app={framework.app_ref}",
            f"--scenarios={','.join(scenario.name for scenario in scenarios)}",
            f"--result={result}",
            *settings.args(),
        ]
        try:
            process = subprocess.run(
                command,
                cwd=ROOT,
                env=framework.env(),
                capture_output=True,
                text=True,
                timeout=timeout,
            )
        except subprocess.TimeoutExpired:
            return {"error": f"worker did not finish within {timeout:.0f}s"}
        if process.returncode != 0 or not result.exists():
            lines = (process.stderr or process.stdout).strip().splitlines()
            return {
                "error": f"worker failed (exit {process.returncode}): " + " | ".join(lines[-3:])
            }
        output: dict[str, Any] = json.loads(result.read_text())
    identity_error = check_identity(framework, output["environment"])
    if identity_error is not None:
        return {"error": identity_error, "environment": output["environment"]}
    return output


def run(
    frameworks: list[Framework], scenarios: list[Scenario], settings: Settings
) -> dict[str, dict[str, Any]]:
    """Measure every framework, one subprocess each, one after another (never in parallel)."""
    results = {}
    for framework in frameworks:
        print(f"in-process: {framework.title} ...", file=sys.stderr, flush=True)
        results[framework.key] = run_framework(framework, scenarios, settings)
        if "error" in results[framework.key]:
            print(f"  error: {results[framework.key]['error']}", file=sys.stderr)
        for name, result in results[framework.key].get("scenarios", {}).items():
            shown = f"{result['best_us']:.1f} us" if result["ok"] else f"FAILED: {result['error']}"
            print(f"  {name}: {shown}", file=sys.stderr, flush=True)
    return results


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--worker", action="store_true", help="internal: measure one app")
    parser.add_argument("--app", help="internal: module:attribute of the ASGI app")
    parser.add_argument("--result", help="internal: where the worker writes its JSON")
    parser.add_argument("--scenarios", default=",".join(s.name for s in SCENARIOS))
    parser.add_argument("--rounds", type=int, default=Settings.rounds)
    parser.add_argument("--round-time", type=float, default=Settings.round_time)
    parser.add_argument("--warmup", type=float, default=Settings.warmup)
    parser.add_argument("--loop", choices=("auto", "uvloop", "asyncio"), default="auto")
    return parser.parse_args(argv)


if __name__ == "__main__":
    arguments = parse_args()
    if not arguments.worker:
        sys.exit("use `python -m benchmarks` to run the benchmarks; this entry is the worker")
    worker_main(arguments)
