"""The fan-out benchmark (benchmarks/fanout.py) at a tiny size: a real redis-server, uvicorn
with two workers (and one for the memory backend), real websocket clients. Its own
correctness checks must pass (every subscriber got every message once, in order; both
workers held subscribers), and its report must render and fit into docs/scaling.md."""

from __future__ import annotations

import asyncio
import math

from benchmarks.fanout import (
    BEGIN,
    DOC,
    END,
    TOO_SLOW,
    BackendResult,
    FanoutSettings,
    Summary,
    check_order,
    connect_all,
    measure_backend,
    render,
    section,
    splice,
)

from redis_support import RedisServer

SETTINGS = FanoutSettings(
    subscribers=20,
    rates=(40.0,),
    step_seconds=1.0,
    warmup_seconds=0.25,
    client_processes=1,
    p99_limit_ms=5000.0,  # a loaded test machine must not fail a correctness test
    drain_seconds=5.0,
)


def check(result: BackendResult, workers: int) -> None:
    assert result.failures == []
    assert result.workers == workers
    assert len(result.per_worker) == workers
    assert all(count > 0 for count in result.per_worker)
    assert sum(result.per_worker) == SETTINGS.subscribers
    [step] = result.steps
    assert step.cut_off == 0
    assert step.published == 40
    assert step.delivered == step.expected == 40 * SETTINGS.subscribers
    assert step.sustained
    assert 0 < step.p50_ms <= step.p99_ms <= step.max_ms
    assert step.per_second > 0
    assert math.isfinite(step.cpu_us) and step.cpu_us >= 0
    assert math.isfinite(result.kib_per_subscriber)
    assert result.messages == 10 + 40  # the warm-up step, then the measured one


async def test_fanout_measures_and_reports(redis_server: RedisServer) -> None:
    redis, memory = await asyncio.gather(
        measure_backend("redis", SETTINGS, redis_server.url),
        measure_backend("memory", SETTINGS),
    )
    check(redis, 2)
    check(memory, 1)

    table = render([redis, memory], SETTINGS)
    assert "| Redis pub/sub | 2 (" in table
    assert "| memory | 1 (20) | 40 msg/s, the highest tried |" in table
    assert "Failures" not in table

    text = section([redis, memory], SETTINGS, 0.5)
    assert text.startswith(BEGIN) and text.endswith(END)
    assert "redis-server" in text and "uvicorn" in text and "load average 0.50" in text
    page = DOC.read_text(encoding="utf-8")
    spliced = splice(page, text)
    assert table in spliced
    assert spliced.split(BEGIN)[0] == page.split(BEGIN)[0]
    assert spliced.split(END)[1] == page.split(END)[1]


def test_order_check_names_what_went_wrong() -> None:
    # Of 5 messages: one subscriber got them all; one is short; one got one twice; one was
    # cut off for falling behind after 3 (allowed); one got a gap before being cut off;
    # one was closed otherwise.
    summaries: list[Summary] = [
        ([5, 3, 5], [5, 3, 6], [0, 0, 1], [None, None, None]),
        ([3, 4, 2], [3, 3, 2], [0, 1, 0], [TOO_SLOW, TOO_SLOW, 1011]),
    ]
    assert check_order(summaries, 5) == [
        "1 subscribers got 3 of 5 messages, 0 of them out of order, repeated or after a gap",
        "1 subscribers got 3 of 5 messages, 1 of them out of order, repeated or after a gap",
        "1 subscribers got 6 of 5 messages, 1 of them out of order, repeated or after a gap",
        "1 subscribers' connections closed (code 1011)",
    ]
    assert check_order(summaries[:1], 3) == [
        "1 subscribers got 5 of 3 messages, 0 of them out of order, repeated or after a gap",
        "1 subscribers got 6 of 3 messages, 1 of them out of order, repeated or after a gap",
    ]


class FakeGroup:
    """A group of subscribers that all landed on worker 1 (as a burst of connections
    may); moving one to another worker succeeds or not, as told."""

    def __init__(self, count: int, movable: bool) -> None:
        self.count = count
        self.movable = movable
        self.moves: list[tuple[int, int]] = []

    async def call(self, command: str, *args: int) -> object:
        if command == "connect":
            return {1: self.count}
        assert command == "move"
        source, target = args
        self.moves.append((source, target))
        return self.movable


async def test_every_worker_gets_a_subscriber() -> None:
    empty, full = FakeGroup(0, movable=True), FakeGroup(3, movable=True)
    assert await connect_all([empty, full], [1, 2, 3]) == {1: 1, 2: 1, 3: 1}
    assert full.moves == [(1, 2), (1, 3)]
    assert empty.moves == []
    # A move that fails leaves the worker empty (the benchmark then reports it), and
    # one subscriber is never moved away from the only worker that has it.
    stuck, single = FakeGroup(3, movable=False), FakeGroup(1, movable=True)
    assert await connect_all([stuck], [1, 2]) == {1: 3, 2: 0}
    assert await connect_all([single], [1, 2]) == {1: 1, 2: 0}
    assert single.moves == []
