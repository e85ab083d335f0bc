"""Broadcast fan-out: websocket subscribers across workers, fed through Redis (or memory).

``python -m benchmarks.fanout`` (``--help`` for the options). For each backend it serves
``benchmarks/apps/fanout_app.py`` with uvicorn (uvloop, httptools, the ``websockets``
protocol): the Redis backend with two workers sharing a ``redis-server`` started here on
127.0.0.1 (persistence off), the memory backend with one worker. It connects N websocket
subscribers with the ``websockets`` library, spread over client processes, checks which
worker holds each (every worker must hold some: if a burst of connections left one with
none, a subscriber is moved to it before anything is published), then publishes at
steady rates, one step after another, each message carrying its sequence number and its
send time. From Redis the benchmark publishes through a ``Broadcast`` of its own, as
another app process would; in memory it publishes through the app (a websocket to its
``/publish`` endpoint). It reports deliveries per second, publish-to-receipt latency, the
workers' CPU time per delivery and their resident memory per subscriber; ``--write`` puts
the figures into docs/scaling.md. Every subscriber must get every message exactly once and
in order (or, if the app cut it off for falling behind, every message until then), or the
run fails. Only 127.0.0.1 is targeted.
"""

from __future__ import annotations

import argparse
import array
import asyncio
import contextlib
import datetime
import importlib.metadata
import multiprocessing
import os
import platform
import re
import shutil
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed

from benchmarks.fanout_processes import (
    HOST,
    ROOT,
    AppServer,
    RedisProcess,
    cpu_seconds,
    resident_kib,
)

DOC = ROOT / "docs" / "scaling.md"
BEGIN, END = "<!-- fanout:begin -->", "<!-- fanout:end -->"
BACKENDS = {"redis": ("Redis pub/sub", 2), "memory": ("memory", 1)}
"""Backend key: its title and how many uvicorn workers serve it."""
MS = 1_000_000  # nanoseconds
TOO_SLOW = 1013
"""The close code of a subscriber the app cut off for falling behind (SubscriberTooSlow)."""
Summary = tuple[list[int], list[int], list[int], list[int | None]]
"""Per subscriber: the next sequence number expected, messages received, messages out of
order, the close code (None while open)."""


@dataclass(frozen=True)
class FanoutSettings:
    subscribers: int = 1000
    rates: tuple[float, ...] = (5, 10, 15, 20, 25, 30, 40, 50, 60, 80)
    """Messages per second, one step each, in order; stepping stops at the first step that
    is not sustained."""
    step_seconds: float = 4.0
    warmup_seconds: float = 1.0
    """A step at the first rate, not reported, before memory is measured."""
    size: int = 100
    """Bytes per message (text: sequence number, send time, padding)."""
    client_processes: int = 2
    """Processes the subscribers are spread over (0: this process)."""
    p99_limit_ms: float = 250.0
    """A step is sustained when every message reached every subscriber and p99 latency
    stayed under this."""
    drain_seconds: float = 10.0
    """The longest wait, after a step's last publish, for its last delivery."""
    queue_size: int = 256


# ------------------------------------------------------------------- subscribers


async def open_websocket(url: str) -> ClientConnection:
    return await connect(url, compression=None, ping_interval=None, proxy=None, open_timeout=10)


@dataclass
class Receipt:
    """What one group of subscribers saw of one step."""

    latencies: array.array[int] = field(default_factory=lambda: array.array("q"))
    """Nanoseconds from publish to receipt, one per delivery."""
    last_receipt: int = 0
    """monotonic_ns of the step's last delivery."""
    reached: int = 0
    """How many subscribers got the step's last message."""
    cut_off: int = 0
    """How many subscribers the app cut off for falling behind (closed with 1013)."""


class Subscribers:
    """A group of websocket subscribers in one process, each checking that messages
    come once and in order, all recording latency."""

    def __init__(self, port: int) -> None:
        self.url = f"ws://{HOST}:{port}/subscribe"
        self.connections: list[ClientConnection] = []
        self.tasks: list[asyncio.Task[None]] = []
        self.expected: list[int] = []  # next sequence number, per subscriber
        self.received: list[int] = []
        self.errors: list[int] = []  # messages out of order, repeated or after a gap
        self.closed: list[int | None] = []  # the close code, per subscriber
        self.pids: list[int] = []  # the worker holding each subscriber
        self.receipt = Receipt()
        self.target = 0
        self.short = 0  # subscribers still short of ``target``
        self.all_reached = asyncio.Event()

    async def connect(self, count: int, concurrency: int = 50) -> dict[int, int]:
        """Connect ``count`` subscribers; how many each worker (by pid) holds."""
        limit = asyncio.Semaphore(concurrency)
        pids: dict[int, int] = {}

        async def one() -> None:
            async with limit:
                websocket, pid = await self.open()
                pids[pid] = pids.get(pid, 0) + 1
                index = len(self.connections)
                self.connections.append(websocket)
                self.expected.append(0)
                self.received.append(0)
                self.errors.append(0)
                self.closed.append(None)
                self.pids.append(pid)
                self.tasks.append(asyncio.create_task(self.read(index, websocket)))

        await asyncio.gather(*(one() for _ in range(count)))
        return pids

    async def open(self) -> tuple[ClientConnection, int]:
        """A subscriber's connection, once subscribed, and the pid of its worker."""
        websocket = await open_websocket(self.url)
        ready = await asyncio.wait_for(websocket.recv(), 10)
        return websocket, int(str(ready).removeprefix("ready "))

    async def move(self, source: int, target: int, attempts: int = 200) -> bool:
        """Before anything is published: replace a subscriber held by worker ``source``
        with one held by ``target`` (the kernel hands connections to whichever worker
        accepts first, so a burst may leave a worker with none)."""
        for _ in range(attempts):
            websocket, pid = await self.open()
            if pid == target:
                break
            await websocket.close()
        else:
            return False
        index = self.pids.index(source)
        self.tasks[index].cancel()
        await asyncio.gather(self.tasks[index], return_exceptions=True)
        await self.connections[index].close()
        self.connections[index] = websocket
        self.pids[index] = pid
        self.tasks[index] = asyncio.create_task(self.read(index, websocket))
        return True

    async def read(self, index: int, websocket: ClientConnection) -> None:
        clock = time.monotonic_ns
        expected, received, errors = self.expected, self.received, self.errors
        try:
            async for message in websocket:
                now = clock()
                seq_text, sent_text, _ = str(message).split(" ", 2)
                seq = int(seq_text)
                receipt = self.receipt
                receipt.latencies.append(now - int(sent_text))
                receipt.last_receipt = now
                received[index] += 1
                before = expected[index]
                if seq != before:
                    errors[index] += 1
                expected[index] = seq + 1
                if before < self.target <= seq + 1:
                    self.reach()
        except ConnectionClosed:
            pass
        # Closed by the server (a normal close ends the loop without an error).
        self.closed[index] = code = websocket.close_code
        if code == TOO_SLOW:
            self.receipt.cut_off += 1
        if expected[index] < self.target:
            self.reach()  # it never will

    def reach(self) -> None:
        self.short -= 1
        if self.short == 0:
            self.all_reached.set()

    async def wait(self, target: int, timeout: float) -> Receipt:
        """Until every subscriber got message ``target - 1`` (or ``timeout``): what they
        saw since the last wait."""
        self.target = target
        self.short = sum(
            1
            for next_seq, code in zip(self.expected, self.closed, strict=True)
            if next_seq < target and code is None  # a closed one never will
        )
        self.all_reached.clear()
        if self.short:
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(timeout):
                    await self.all_reached.wait()
        receipt, self.receipt = self.receipt, Receipt()
        receipt.reached = sum(1 for next_seq in self.expected if next_seq >= target)
        return receipt

    def summary(self) -> Summary:
        return self.expected, self.received, self.errors, self.closed

    async def close(self) -> None:
        for task in self.tasks:
            task.cancel()
        await asyncio.gather(*self.tasks, return_exceptions=True)
        await asyncio.gather(*(ws.close() for ws in self.connections), return_exceptions=True)


class LocalGroup:
    """Subscribers in this process."""

    def __init__(self, port: int, count: int) -> None:
        self.count = count
        self.subscribers = Subscribers(port)

    async def call(self, command: str, *args: Any) -> Any:
        subscribers = self.subscribers
        if command == "connect":
            return await subscribers.connect(self.count)
        if command == "wait":
            return await subscribers.wait(*args)
        if command == "summary":
            return subscribers.summary()
        if command == "move":
            return await subscribers.move(*args)
        await subscribers.close()
        return None

    def kill(self) -> None:
        pass


def client_process(connection: Any, port: int, count: int) -> None:
    """A client process's main: a LocalGroup driven by commands over a pipe."""
    import uvloop

    async def serve() -> None:
        group = LocalGroup(port, count)
        while True:
            command, args = await asyncio.to_thread(connection.recv)
            connection.send(await group.call(command, *args))
            if command == "close":
                return

    uvloop.run(serve())


class ProcessGroup:
    """Subscribers in a client process of their own."""

    def __init__(self, port: int, count: int) -> None:
        context = multiprocessing.get_context("spawn")
        self.connection, child = context.Pipe()
        self.process = context.Process(target=client_process, args=(child, port, count))
        self.process.start()
        child.close()

    async def call(self, command: str, *args: Any) -> Any:
        self.connection.send((command, args))
        return await asyncio.to_thread(self.connection.recv)

    def kill(self) -> None:
        if self.process.is_alive():
            self.process.kill()
        self.process.join(5)


# ---------------------------------------------------------------------- measuring


@dataclass
class Step:
    rate: float
    published: int
    publish_rate: float
    delivered: int
    expected: int
    per_second: float
    p50_ms: float
    p99_ms: float
    max_ms: float
    cut_off: int
    cpu_us: float
    """The workers' CPU time per delivery, in microseconds."""
    sustained: bool


@dataclass
class BackendResult:
    key: str
    title: str
    workers: int
    subscribers: int
    per_worker: list[int]
    kib_per_subscriber: float
    steps: list[Step]
    messages: int
    """Published in all, warm-up included: what every subscriber must have got."""
    failures: list[str]

    def headline(self) -> Step | None:
        """The highest sustained step (the first if none was)."""
        sustained = [step for step in self.steps if step.sustained]
        return sustained[-1] if sustained else (self.steps[0] if self.steps else None)


def percentile(ordered: list[int], fraction: float) -> float:
    if not ordered:
        return float("nan")
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))] / MS


async def publish_at(
    publish: Callable[[str], Awaitable[Any]], first: int, count: int, rate: float, size: int
) -> float:
    """Publish ``count`` messages at ``rate`` per second, each stamped just before it goes;
    the seconds it took."""
    start = time.monotonic()
    for index in range(count):
        delay = start + index / rate - time.monotonic()
        if delay > 0:
            await asyncio.sleep(delay)
        head = f"{first + index} {time.monotonic_ns()} "
        await publish(head + "x" * max(0, size - len(head)))
    return time.monotonic() - start


async def run_step(
    groups: list[Any],
    workers: list[int],
    publish: Callable[[str], Awaitable[Any]],
    first: int,
    rate: float,
    seconds: float,
    settings: FanoutSettings,
) -> Step:
    count = max(1, round(rate * seconds))
    cpu = cpu_seconds(workers)
    started = time.monotonic_ns()
    took = await publish_at(publish, first, count, rate, settings.size)
    receipts = await asyncio.gather(
        *(group.call("wait", first + count, settings.drain_seconds) for group in groups)
    )
    cpu = cpu_seconds(workers) - cpu
    latencies = sorted(value for receipt in receipts for value in receipt.latencies)
    last = max(receipt.last_receipt for receipt in receipts)
    delivered = len(latencies)
    expected = count * settings.subscribers
    p99 = percentile(latencies, 0.99)
    complete = sum(receipt.reached for receipt in receipts) == settings.subscribers
    return Step(
        rate=rate,
        published=count,
        publish_rate=(count - 1) / took if count > 1 and took > 0 else rate,
        delivered=delivered,
        expected=expected,
        # Over the step's nominal length, or longer when the last delivery came later.
        per_second=delivered / max((last - started) / 1e9, count / rate),
        p50_ms=percentile(latencies, 0.50),
        p99_ms=p99,
        max_ms=latencies[-1] / MS if latencies else float("nan"),
        cut_off=sum(receipt.cut_off for receipt in receipts),
        cpu_us=cpu / delivered * 1e6 if delivered else float("nan"),
        sustained=complete and delivered == expected and p99 <= settings.p99_limit_ms,
    )


async def warm_up(port: int, workers: list[int], publish: Callable[[str], Awaitable[Any]]) -> None:
    """Until every worker has served a subscriber that got a message (code loaded, the
    broadcast's channel subscribed once): connections that are then closed."""
    url = f"ws://{HOST}:{port}/subscribe"
    seen: set[int] = set()
    opened: list[ClientConnection] = []
    try:
        async with asyncio.timeout(30):
            while seen != set(workers):
                try:
                    websocket = await open_websocket(url)
                except OSError:
                    await asyncio.sleep(0.1)  # the workers are still starting
                    continue
                opened.append(websocket)
                seen.add(int(str(await websocket.recv()).removeprefix("ready ")))
        await publish(f"-1 {time.monotonic_ns()} warm-up")
        for websocket in opened:
            await asyncio.wait_for(websocket.recv(), 10)
    finally:
        await asyncio.gather(*(ws.close() for ws in opened), return_exceptions=True)


async def find_workers(server: AppServer) -> list[int]:
    async with asyncio.timeout(30):
        while len(pids := server.worker_pids()) < server.workers:
            if server.process.poll() is not None:
                raise RuntimeError(f"uvicorn exited: {server.output()}")
            await asyncio.sleep(0.05)
    return pids


@contextlib.asynccontextmanager
async def publisher(backend: str, url: str, port: int) -> Any:
    """``publish(text)``: from Redis, a Broadcast of this process; in memory, through the
    app's ``/publish`` websocket."""
    if backend == "redis":
        from quart.broadcast import Broadcast

        async with Broadcast(url) as broadcast:

            async def publish(text: str) -> None:
                await broadcast.publish("fanout", text)

            yield publish
    else:
        async with asyncio.timeout(30):
            while True:
                try:
                    websocket = await open_websocket(f"ws://{HOST}:{port}/publish")
                    break
                except OSError:
                    await asyncio.sleep(0.1)
        try:
            yield websocket.send
        finally:
            await websocket.close()


async def measure_backend(
    backend: str, settings: FanoutSettings, redis_url: str | None = None
) -> BackendResult:
    """Serve the app on ``backend``, connect the subscribers, step the publish rate."""
    title, workers = BACKENDS[backend]
    url = redis_url if backend == "redis" else "memory://"
    assert url is not None, "the Redis backend needs a redis_url"
    server = AppServer(url, workers, settings.queue_size)
    groups: list[Any] = []
    try:
        pids = await find_workers(server)
        async with publisher(backend, url, server.port) as publish:
            await warm_up(server.port, pids, publish)
            await asyncio.sleep(0.5)
            before = sum(resident_kib(pid) for pid in pids)
            groups = split(server.port, settings)
            per_pid = await connect_all(groups, pids)
            failures = [f"pid {pid} is not a worker" for pid in per_pid if pid not in pids]
            failures += [f"worker {pid} holds no subscriber" for pid in pids if not per_pid[pid]]
            messages = 0
            warm = await run_step(
                groups, pids, publish, messages, settings.rates[0], settings.warmup_seconds,
                settings,
            )  # fmt: skip
            messages += warm.published
            await asyncio.sleep(0.5)
            after = sum(resident_kib(pid) for pid in pids)
            steps: list[Step] = []
            for rate in settings.rates:
                step = await run_step(
                    groups, pids, publish, messages, rate, settings.step_seconds, settings
                )
                messages += step.published
                steps.append(step)
                print(f"  {title}: {describe(step)}", file=sys.stderr, flush=True)
                if not step.sustained:
                    break
            summaries = await asyncio.gather(*(group.call("summary") for group in groups))
        failures += check_order(summaries, messages)
        if server.process.poll() is not None or server.worker_pids() != pids:
            failures.append(f"uvicorn or a worker exited or was replaced: {server.output()}")
        return BackendResult(
            key=backend,
            title=title,
            workers=workers,
            subscribers=settings.subscribers,
            per_worker=[per_pid[pid] for pid in pids],
            kib_per_subscriber=(after - before) / settings.subscribers,
            steps=steps,
            messages=messages,
            failures=failures,
        )
    finally:
        await asyncio.gather(*(close_group(group) for group in groups))
        server.close()


async def connect_all(groups: list[Any], workers: list[int]) -> dict[int, int]:
    """Connect every group's subscribers, then make sure every worker holds some; how
    many each worker (pid) holds."""
    per_group: list[dict[int, int]] = list(
        await asyncio.gather(*(group.call("connect") for group in groups))
    )

    def totals() -> dict[int, int]:
        per_pid = dict.fromkeys(workers, 0)
        for counts in per_group:
            for pid, count in counts.items():
                per_pid[pid] = per_pid.get(pid, 0) + count
        return per_pid

    for worker in workers:
        per_pid = totals()
        if per_pid[worker] or max(per_pid.values()) < 2:
            continue
        busiest = max(per_pid, key=lambda pid: per_pid[pid])
        index, counts = next((i, c) for i, c in enumerate(per_group) if c.get(busiest))
        if await groups[index].call("move", busiest, worker):
            counts[busiest] -= 1
            counts[worker] = counts.get(worker, 0) + 1
    return totals()


def split(port: int, settings: FanoutSettings) -> list[Any]:
    if settings.client_processes == 0:
        return [LocalGroup(port, settings.subscribers)]
    size, extra = divmod(settings.subscribers, settings.client_processes)
    counts = [size + (index < extra) for index in range(settings.client_processes)]
    return [ProcessGroup(port, count) for count in counts if count]


async def close_group(group: Any) -> None:
    try:
        async with asyncio.timeout(15):
            await group.call("close")
    except (TimeoutError, EOFError, OSError, BrokenPipeError):
        pass
    group.kill()


def check_order(summaries: list[Summary], messages: int) -> list[str]:
    """Every subscriber got messages 0 to ``messages - 1``, each once, in order; or, if
    the app cut it off for falling behind, the messages up to then, each once, in order."""
    wrong: Counter[tuple[int, int]] = Counter()
    closed: Counter[int] = Counter()
    for expected, received, errors, codes in summaries:
        for next_seq, count, misplaced, code in zip(expected, received, errors, codes, strict=True):
            if code == TOO_SLOW:
                if misplaced or count != next_seq:
                    wrong[count, misplaced] += 1
            elif code is not None:
                closed[code] += 1
            elif next_seq != messages or count != messages or misplaced:
                wrong[count, misplaced] += 1
    failures = [
        f"{subscribers} subscribers got {count} of {messages} messages, {misplaced} of them "
        "out of order, repeated or after a gap"
        for (count, misplaced), subscribers in sorted(wrong.items())
    ]
    failures += [f"{n} subscribers' connections closed (code {code})" for code, n in closed.items()]
    return failures


def describe(step: Step) -> str:
    mark = "sustained" if step.sustained else "NOT sustained"
    cut = f", {step.cut_off} cut off" if step.cut_off else ""
    return (
        f"{step.rate:g} msg/s: {step.delivered:,}/{step.expected:,} delivered, "
        f"{step.per_second:,.0f}/s, p50 {step.p50_ms:.1f} ms, p99 {step.p99_ms:.1f} ms, "
        f"workers' CPU {step.cpu_us:.0f} us per delivery{cut} "
        f"({mark})"
    )


# ------------------------------------------------------------------------ report


def version(name: str) -> str:
    try:
        return importlib.metadata.version(name)
    except importlib.metadata.PackageNotFoundError:
        return "not installed"


def machine() -> str:
    model = "unknown CPU"
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    memory = "?"
    with contextlib.suppress(OSError):
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                memory = f"{int(line.split()[1]) / 1024 / 1024:.0f} GiB"
    server = "not installed"
    binary = shutil.which("redis-server")
    if binary:
        text = subprocess.run([binary, "--version"], capture_output=True, text=True).stdout
        found = re.search(r"v=(\S+)", text)
        server = found[1] if found else text.strip()
    return (
        f"{os.cpu_count()} cores ({model}), {memory} RAM, Linux {platform.release()}, "
        f"Python {platform.python_version()}, uvicorn {version('uvicorn')}, "
        f"uvloop {version('uvloop')}, websockets {version('websockets')}, "
        f"redis-py {version('redis')}, redis-server {server}"
    )


def ms(value: float) -> str:
    return f"{value:.1f} ms" if value < 100 else f"{value:,.0f} ms"


def render(results: list[BackendResult], settings: FanoutSettings) -> str:
    lines = [
        "| backend | workers (subscribers each) | publish rate | delivered per second "
        "| p50 latency | p99 latency | workers' CPU per delivery | memory per subscriber |",
        "| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for result in results:
        step = result.headline()
        if step is None:
            continue
        if not step.sustained:
            note = " (not sustained)"
        elif len(result.steps) == len(settings.rates):
            note = ", the highest tried"
        else:
            note = ""
        split_text = " + ".join(f"{count:,}" for count in result.per_worker)
        lines.append(
            f"| {result.title} | {result.workers} ({split_text}) | {step.rate:g} msg/s{note} "
            f"| {step.per_second:,.0f} | {ms(step.p50_ms)} | {ms(step.p99_ms)} "
            f"| {step.cpu_us:.0f} µs | {result.kib_per_subscriber:.1f} KiB |"
        )
    lines += [
        "",
        "Every step (stepping stops at the first step that is not sustained):",
        "",
        "| backend | publish rate (achieved) | delivered | delivered per second "
        "| p50 | p99 | max | workers' CPU per delivery | cut off | sustained |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- |",
    ]
    for result in results:
        for step in result.steps:
            lines.append(
                f"| {result.title} | {step.rate:g} msg/s ({step.publish_rate:.1f}) "
                f"| {step.delivered:,} of {step.expected:,} | {step.per_second:,.0f} "
                f"| {ms(step.p50_ms)} | {ms(step.p99_ms)} | {ms(step.max_ms)} "
                f"| {step.cpu_us:.0f} µs | {step.cut_off} | {'yes' if step.sustained else 'no'} |"
            )
    failures = [f"- {r.title}: {failure}" for r in results for failure in r.failures]
    if failures:
        lines += ["", "**Failures:**", "", *failures]
    return "\n".join(lines) + "\n"


def settings_text(settings: FanoutSettings) -> str:
    rates = ", ".join(f"{rate:g}" for rate in settings.rates)
    return (
        f"{settings.subscribers:,} websocket subscribers on one channel, spread over "
        f"{settings.client_processes or 'no extra'} client processes; {settings.size}-byte "
        f"text messages; steps of {settings.step_seconds:g} s at {rates} messages per "
        f"second after a {settings.warmup_seconds:g} s warm-up; a step is sustained when "
        f"every subscriber got every message and p99 latency stayed under "
        f"{settings.p99_limit_ms:g} ms; queue_size {settings.queue_size}, and a subscriber "
        f"that falls that far behind is cut off (closed with {TOO_SLOW})."
    )


def section(results: list[BackendResult], settings: FanoutSettings, load: float) -> str:
    """The figures for docs/scaling.md; ``load`` is the machine's load average (1 min)
    when the run started: on a shared machine, other work competes for the cores."""
    today = datetime.datetime.now(datetime.UTC).date().isoformat()
    return (
        f"{BEGIN}\nMeasured on {today} with `python -m benchmarks.fanout --write`.\n\n"
        f"Machine: {machine()}; load average {load:.2f} when the run started.\n\n"
        f"Settings: {settings_text(settings)}\n\n"
        f"{render(results, settings)}{END}"
    )


def splice(text: str, new_section: str) -> str:
    """``text`` with what lies between the markers (the markers included) replaced."""
    start, end = text.find(BEGIN), text.find(END)
    if start < 0 or end < start:
        raise ValueError(f"{DOC} has no {BEGIN} ... {END} section")
    return text[:start] + new_section + text[end + len(END) :]


# ------------------------------------------------------------------- command line


@contextlib.contextmanager
def redis_if_needed(backends: list[str]) -> Iterator[str | None]:
    if "redis" not in backends:
        yield None
        return
    server = RedisProcess()
    try:
        yield server.url
    finally:
        server.close()


async def measure(backends: list[str], settings: FanoutSettings) -> list[BackendResult]:
    results = []
    with redis_if_needed(backends) as redis_url:
        for backend in backends:
            print(f"fan-out, {BACKENDS[backend][0]} ...", file=sys.stderr, flush=True)
            results.append(await measure_backend(backend, settings, redis_url))
    return results


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    defaults = FanoutSettings()
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.fanout",
        description=__doc__.split("\n\n")[0],
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    parser.add_argument(
        "--subscribers", type=int, default=defaults.subscribers, help="websocket subscribers"
    )
    parser.add_argument(
        "--rates",
        default=",".join(f"{rate:g}" for rate in defaults.rates),
        help="messages per second, comma-separated, one step each, in order; stepping "
        "stops at the first step that is not sustained",
    )
    parser.add_argument(
        "--step-seconds", type=float, default=defaults.step_seconds, help="seconds per step"
    )
    parser.add_argument("--size", type=int, default=defaults.size, help="bytes per message")
    parser.add_argument(
        "--client-processes",
        type=int,
        default=defaults.client_processes,
        help="processes the subscribers are spread over; 0 for this one",
    )
    parser.add_argument(
        "--p99-limit",
        type=float,
        default=defaults.p99_limit_ms,
        help="milliseconds: a step whose p99 latency is higher is not sustained",
    )
    parser.add_argument(
        "--backends",
        default=",".join(BACKENDS),
        help="comma-separated: redis (2 workers), memory (1 worker)",
    )
    parser.add_argument(
        "--write", action="store_true", help=f"put the figures into {DOC.relative_to(ROOT)}"
    )
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    backends = [name for name in args.backends.split(",") if name]
    unknown = set(backends) - set(BACKENDS)
    if unknown:
        print(f"unknown backends: {', '.join(sorted(unknown))}", file=sys.stderr)
        return 2
    settings = FanoutSettings(
        subscribers=args.subscribers,
        rates=tuple(float(rate) for rate in args.rates.split(",")),
        step_seconds=args.step_seconds,
        size=args.size,
        client_processes=args.client_processes,
        p99_limit_ms=args.p99_limit,
    )
    import uvloop

    load = os.getloadavg()[0]
    results = uvloop.run(measure(backends, settings))
    print(render(results, settings))
    if any(result.failures for result in results):
        print("the run failed: see Failures", file=sys.stderr)
        return 1
    if args.write:
        DOC.write_text(splice(DOC.read_text(encoding="utf-8"), section(results, settings, load)))
        print(f"wrote {DOC.relative_to(ROOT)}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
