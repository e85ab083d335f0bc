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
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from collections import deque
from collections.abc import Awaitable, Callable, MutableMapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TextIO

from benchmarks.frameworks import ROOT, Framework
from benchmarks.scenarios import SCENARIOS_BY_NAME, Scenario, cookie_header

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

    rounds: int = 40
    round_time: float = 0.05
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

    def set_cookies(self) -> list[str]:
        """Every ``Set-Cookie`` header of the response (``response`` keeps only the last)."""
        return [
            bytes(value).decode("latin-1")
            for message in self.messages
            if message["type"] == "http.response.start"
            for name, value in message.get("headers", [])
            if bytes(name).lower() == b"set-cookie"
        ]

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


def make_scope(scenario: Scenario, cookie: str | None = None) -> dict[str, Any]:
    """The HTTP (or websocket) scope a server would build for this scenario's request."""
    if scenario.kind == "websocket":
        return {
            "type": "websocket",
            "asgi": {"version": "3.0", "spec_version": "2.3"},
            "http_version": "1.1",
            "scheme": "ws",
            "path": scenario.path,
            "raw_path": scenario.path.encode(),
            "query_string": b"",
            "root_path": "",
            "headers": [(b"host", b"127.0.0.1:8000"), (b"sec-websocket-version", b"13")],
            "client": ("127.0.0.1", 50000),
            "server": ("127.0.0.1", 8000),
            "subprotocols": [],
            "state": {},
        }
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
        "headers": scenario.headers(cookie),
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


class WebsocketClient:
    """The client side of one in-memory websocket conversation, as a server would relay
    it: ``push`` hands the app a message; what the app sends resolves ``reply``."""

    def __init__(self) -> None:
        loop = asyncio.get_running_loop()
        self.loop = loop
        self.inbox: deque[Message] = deque([{"type": "websocket.connect"}])
        self.waiting: asyncio.Future[Message] | None = None
        self.accepted: asyncio.Future[None] = loop.create_future()
        self.reply: asyncio.Future[Message] = loop.create_future()

    def push(self, message: Message) -> None:
        waiting, self.waiting = self.waiting, None
        if waiting is not None and not waiting.done():
            waiting.set_result(message)
        else:
            self.inbox.append(message)

    async def receive(self) -> Message:
        if self.inbox:
            return self.inbox.popleft()
        self.waiting = self.loop.create_future()
        return await self.waiting

    async def send(self, message: Message) -> None:
        kind = message["type"]
        if kind == "websocket.accept" and not self.accepted.done():
            self.accepted.set_result(None)
        elif kind == "websocket.send" and not self.reply.done():
            self.reply.set_result(message)
        elif kind == "websocket.close":
            for future in (self.accepted, self.reply):
                if not future.done():
                    future.set_exception(RuntimeError(f"the app closed the websocket: {message}"))


async def websocket_batch(
    app: ASGIApp, scope: dict[str, Any], scenario: Scenario, count: int
) -> float:
    """Seconds for ``count`` echo round trips on one connection (opened and closed
    untimed): send a text message, wait for the app to send it back, again."""
    client = WebsocketClient()
    conversation = asyncio.ensure_future(app(dict(scope), client.receive, client.send))
    try:
        await client.accepted
        message = {"type": "websocket.receive", "text": scenario.body.decode()}
        start = time.perf_counter()
        for _ in range(count):
            client.reply = client.loop.create_future()
            client.push(message)
            reply = await client.reply
        elapsed = time.perf_counter() - start
        if reply.get("text") != message["text"]:
            raise RuntimeError(f"expected the echo {message['text']!r}, got {reply!r}")
    finally:
        client.push({"type": "websocket.disconnect", "code": 1000})
        async with asyncio.timeout(CHECK_TIMEOUT):
            await conversation
    return elapsed


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


class Worker:
    """The worker side: one framework's app module on one event loop, answering the parent's
    commands (one JSON object a line on stdin, one reply a line on the reply stream).

    The module's apps (``app``, ``realistic_app``) are loaded, and their lifespan started,
    when a scenario first needs them; ``app`` right away."""

    def __init__(self, module: str, settings: Settings) -> None:
        self.module = importlib.import_module(module)
        self.settings = settings
        self.apps: dict[str, ASGIApp] = {}
        self.lifespans: list[Lifespan] = []
        self.scopes: dict[str, dict[str, Any]] = {}

    async def load(self, attribute: str) -> ASGIApp:
        """The module's app of that name, its lifespan started the first time."""
        app = self.apps.get(attribute)
        if app is None:
            app = getattr(self.module, attribute)
            lifespan = Lifespan(app)
            self.lifespans.append(lifespan)
            await lifespan.startup()
            self.apps[attribute] = app
        return app

    async def shutdown(self) -> None:
        for lifespan in reversed(self.lifespans):
            await lifespan.shutdown()

    async def timed(self, scenario: Scenario, count: int) -> float:
        """Seconds for ``count`` requests (or websocket round trips) of the scenario."""
        app = self.apps[scenario.app]
        if scenario.kind == "websocket":
            return await websocket_batch(app, self.scopes[scenario.name], scenario, count)
        return await batch(app, self.scopes[scenario.name], scenario.body, count)

    async def check(self, scenario: Scenario) -> str | None:
        """Why the app's answer to the scenario is wrong, or None."""
        try:
            async with asyncio.timeout(CHECK_TIMEOUT):
                if scenario.kind == "websocket":
                    await self.timed(scenario, 1)
                    return None
                app = self.apps[scenario.app]
                connection = await call(app, self.scopes[scenario.name], scenario.body)
        except TimeoutError:
            return f"no complete answer within {CHECK_TIMEOUT:g}s"
        except Exception as exc:
            return f"the app raised {exc!r}"
        return scenario.check(*connection.response())

    async def prime(self, scenario: Scenario) -> str | None:
        """The Cookie header made from what ``scenario.prime`` sets (see Scenario.prime)."""
        if scenario.prime is None:
            return None
        priming = Scenario(f"{scenario.name}-prime", "priming", "GET", scenario.prime)
        async with asyncio.timeout(CHECK_TIMEOUT):
            connection = await call(self.apps[scenario.app], make_scope(priming), b"")
        return cookie_header(connection.set_cookies())

    async def setup(self, scenario: Scenario) -> str | None:
        """Load the app, build the request (with its primed cookie) and check the answer:
        why it is wrong, or None."""
        try:
            await self.load(scenario.app)
            self.scopes[scenario.name] = make_scope(scenario, await self.prime(scenario))
        except Exception as exc:
            return f"setting up raised {exc!r}"
        return await self.check(scenario)

    async def prepare(self, scenario: Scenario) -> dict[str, Any]:
        """Check the answer, warm up, and find how many requests make a round."""
        error = await self.setup(scenario)
        if error is not None:
            return {"error": error}
        count, spent, per_request = 10, 0.0, 0.0
        while spent < self.settings.warmup:
            elapsed = await self.timed(scenario, count)
            spent += elapsed
            per_request = elapsed / count
            count *= 2
        return {"iterations": max(50, int(self.settings.round_time / max(per_request, 1e-9)))}

    async def round(self, scenario: Scenario, iterations: int) -> dict[str, Any]:
        return {"per_request": await self.timed(scenario, iterations) / iterations}

    async def finish(self, scenario: Scenario) -> dict[str, Any]:
        """Check again: an app that starts failing under repetition must not pass as fast."""
        return {"error": await self.check(scenario)}

    async def serve(self, commands: TextIO, replies: TextIO) -> None:
        await self.load("app")
        for line in commands:  # blocking reads: nothing else runs in this process meanwhile
            command = json.loads(line)
            action = command["action"]
            if action == "quit":
                break
            scenario = SCENARIOS_BY_NAME[command["scenario"]]
            if action == "prepare":
                reply = await self.prepare(scenario)
            elif action == "round":
                reply = await self.round(scenario, command["iterations"])
            else:
                reply = await self.finish(scenario)
            replies.write(json.dumps(reply) + "\n")
            replies.flush()
        await self.shutdown()


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
    """Subprocess side: serve the parent's commands, then write the environment to
    ``args.result``. Replies go to the original stdout; anything the app prints goes to
    stderr so that it cannot corrupt them."""
    settings = Settings(args.rounds, args.round_time, args.warmup, args.loop)
    replies = os.fdopen(os.dup(sys.stdout.fileno()), "w")
    os.dup2(sys.stderr.fileno(), sys.stdout.fileno())
    factory, loop_name = loop_factory(args.loop)
    with asyncio.Runner(loop_factory=factory) as runner:
        worker = Worker(args.module, settings)
        runner.run(worker.serve(sys.stdin, replies))
    Path(args.result).write_text(json.dumps(environment(loop_name), indent=2))


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


class WorkerProcess:
    """The parent's handle on one framework's worker subprocess."""

    def __init__(self, framework: Framework, settings: Settings, directory: Path) -> None:
        self.framework = framework
        self.result = directory / f"{framework.key}.json"
        self.stderr = directory / f"{framework.key}.stderr"
        command = [
            str(framework.python),
            "-m",
            "benchmarks.inprocess",
            "--worker",
            f"--module=benchmarks.apps.{framework.module}",
            f"--result={self.result}",
            *settings.args(),
        ]
        with self.stderr.open("w") as stderr:
            self.process = subprocess.Popen(
                command,
                cwd=ROOT,
                env=framework.env(),
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=stderr,
                text=True,
            )

    def ask(self, action: str, **fields: Any) -> dict[str, Any]:
        """Send one command and wait for its reply."""
        assert self.process.stdin is not None and self.process.stdout is not None
        self.process.stdin.write(json.dumps({"action": action, **fields}) + "\n")
        self.process.stdin.flush()
        line = self.process.stdout.readline()
        if not line:
            raise RuntimeError(self.failure())
        reply: dict[str, Any] = json.loads(line)
        return reply

    def failure(self) -> str:
        code = self.process.wait(timeout=30)
        lines = self.stderr.read_text().strip().splitlines()
        return f"worker failed (exit {code}): " + " | ".join(lines[-3:])

    def quit(self, timeout: float = 60) -> dict[str, Any]:
        """Stop the worker; its environment, checked to be the right quart."""
        assert self.process.stdin is not None
        self.process.stdin.write(json.dumps({"action": "quit"}) + "\n")
        self.process.stdin.close()
        if self.process.wait(timeout=timeout) != 0 or not self.result.exists():
            raise RuntimeError(self.failure())
        env: dict[str, Any] = json.loads(self.result.read_text())
        return env


class Pool:
    """Every framework's worker, and the results gathered from them.

    A worker that dies marks its framework failed and leaves the pool; the others go on.
    """

    def __init__(self, frameworks: list[Framework], settings: Settings, directory: Path) -> None:
        self.settings = settings
        self.results: dict[str, dict[str, Any]] = {}
        self.workers: dict[str, WorkerProcess] = {}
        for framework in frameworks:
            missing = framework.missing()
            if missing is not None:
                self.results[framework.key] = {"error": missing}
            else:
                self.workers[framework.key] = WorkerProcess(framework, settings, directory)
                self.results[framework.key] = {"scenarios": {}}

    def ask(self, key: str, action: str, **fields: Any) -> dict[str, Any] | None:
        """The worker's reply, or None if it is gone."""
        worker = self.workers.get(key)
        if worker is None:
            return None
        try:
            return worker.ask(action, **fields)
        except (RuntimeError, OSError, ValueError) as exc:
            self.fail(key, str(exc))
            return None

    def fail(self, key: str, error: str) -> None:
        self.results[key] = {"error": error}
        self.workers.pop(key).process.kill()

    def record(self, key: str, scenario: Scenario, result: dict[str, Any]) -> None:
        self.results[key]["scenarios"][scenario.name] = result

    def measure(self, scenario: Scenario) -> None:
        """Prepare every worker, run the rounds in turn, check every answer again."""
        rounds = self.settings.rounds
        iterations: dict[str, int] = {}
        for key in list(self.workers):
            if not self.workers[key].framework.runs(scenario.name):
                continue  # left out of the results: "n/a" in the table
            reply = self.ask(key, "prepare", scenario=scenario.name)
            if reply is not None and "error" in reply:
                self.record(key, scenario, {"ok": False, "error": reply["error"]})
            elif reply is not None:
                iterations[key] = reply["iterations"]
        times: dict[str, list[float]] = {key: [] for key in iterations}
        keys = list(iterations)
        for index in range(rounds):
            shift = index % len(keys) if keys else 0
            for key in keys[shift:] + keys[:shift]:
                reply = self.ask(key, "round", scenario=scenario.name, iterations=iterations[key])
                if reply is not None:
                    times[key].append(reply["per_request"])
        for key, samples in times.items():
            reply = self.ask(key, "finish", scenario=scenario.name)
            if reply is None:
                continue
            if reply["error"] is not None:
                error = f"after {rounds} timed rounds: {reply['error']}"
                self.record(key, scenario, {"ok": False, "error": error})
                continue
            best_us = min(samples) * 1e6
            self.record(
                key,
                scenario,
                {
                    "ok": True,
                    "error": None,
                    "best_us": best_us,
                    "median_us": statistics.median(samples) * 1e6,
                    "iterations": iterations[key],
                    "rounds": rounds,
                },
            )
            print(f"  {key}: {best_us:.1f} us", file=sys.stderr, flush=True)

    def close(self) -> None:
        """Stop every worker and check that each ran the right quart."""
        for key, worker in list(self.workers.items()):
            try:
                env = worker.quit()
            except (RuntimeError, OSError, ValueError, subprocess.TimeoutExpired) as exc:
                self.fail(key, str(exc))
                continue
            self.results[key]["environment"] = env
            identity_error = check_identity(worker.framework, env)
            if identity_error is not None:
                self.results[key] = {"error": identity_error, "environment": env}


def run(
    frameworks: list[Framework], scenarios: list[Scenario], settings: Settings
) -> dict[str, dict[str, Any]]:
    """Measure every framework, one worker subprocess each, the workers taking turns.

    Rounds are interleaved: for each scenario, round 1 of every framework, then round 2 of
    every framework (the order rotating), and so on. A machine that slows down for a while
    then slows every framework alike instead of whichever ran at the time. Only one worker
    runs at any moment.
    """
    with tempfile.TemporaryDirectory(prefix="bench-") as directory:
        pool = Pool(frameworks, settings, Path(directory))
        try:
            for scenario in scenarios:
                print(f"in-process: {scenario.name} ...", file=sys.stderr, flush=True)
                pool.measure(scenario)
        finally:
            pool.close()
    return pool.results


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--worker", action="store_true", help="internal: measure one app")
    parser.add_argument("--module", help="internal: the module holding the ASGI apps")
    parser.add_argument("--result", help="internal: where the worker writes its JSON")
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
