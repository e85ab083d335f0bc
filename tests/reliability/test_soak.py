"""Soak: a mixed load on our app under uvicorn for a while, sampling the worker's
memory. After a warm-up, memory must not grow with the number of requests, and no task
may be left behind.

Bounded in ``make test`` (``QUART_SOAK_SECONDS``, 30 by default); ``make soak`` runs 10
minutes and prints the figures recorded in docs/reliability.md.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import os
import random
import statistics
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from websockets.asyncio.client import connect

from server.serving import HOST
from server.subprocess_server import served

HERE = Path(__file__).parent
SECONDS = float(os.environ.get("QUART_SOAK_SECONDS", "30"))
CLIENTS = 8


@pytest.fixture(scope="module")
def port() -> Iterator[int]:
    with served("uvicorn-websockets", "soak_app:app", HERE) as (_process, port):
        yield port


async def one_round(client: httpx.AsyncClient, port: int, rng: random.Random) -> int:
    """One request (or websocket session, or stream cut short) of the mix; how many
    requests it made."""
    choice = rng.randrange(8)
    if choice == 0:
        response = await client.post("/json", json={"n": rng.random()})
        assert response.status_code == 200
    elif choice == 1:
        response = await client.post("/upload", files={"file": ("a.bin", b"x" * 20_000)})
        assert response.json() == {"size": 20_000}
    elif choice == 2:
        response = await client.get("/session")
        assert response.status_code == 200
    elif choice == 3:
        assert (await client.get("/fail")).status_code == 500
        assert (await client.get("/forbidden")).status_code == 403
        return 2
    elif choice == 4:
        async with client.stream("GET", "/stream") as response:
            async for _chunk in response.aiter_bytes():
                break  # the client leaves mid-stream
    elif choice == 5:
        async with connect(f"ws://{HOST}:{port}/ws") as conversation:
            for index in range(5):
                await conversation.send(json.dumps(index))
                assert json.loads(await conversation.recv()) == {"echo": index}
        return 5
    else:
        assert (await client.get("/")).status_code == 200
    return 1


async def load(port: int, seconds: float, counted: list[int]) -> None:
    async def worker(seed: int) -> None:
        rng = random.Random(seed)
        async with httpx.AsyncClient(base_url=f"http://{HOST}:{port}") as client:
            while time.monotonic() < deadline:
                counted[0] += await one_round(client, port, rng)

    deadline = time.monotonic() + seconds
    await asyncio.gather(*(worker(seed) for seed in range(CLIENTS)))


READINGS = 4


async def sample(port: int) -> dict[str, int]:
    """The worker's memory and tasks once the load has stopped, as the least of a few
    readings a quarter of a second apart: objects of requests still closing (on a slow
    machine, for a while after the clients leave) only ever add to a reading, while what
    the worker keeps is in every one."""
    await asyncio.sleep(0.5)  # connections the load closed finish closing
    readings = []
    async with httpx.AsyncClient() as client:
        for _ in range(READINGS):
            readings.append((await client.get(f"http://{HOST}:{port}/state")).json())
            await asyncio.sleep(0.25)
    return {measure: min(reading[measure] for reading in readings) for measure in readings[0]}


def slope_per_10k(points: list[tuple[int, int]]) -> float:
    """The growth of a measure per 10,000 requests, as the median of the slopes between
    every two samples (Theil-Sen): a sample taken while some request's objects were
    still alive swings a difference of two samples, or a least-squares fit, but not a
    median."""
    slopes = [
        (y2 - y1) / (x2 - x1)
        for (x1, y1), (x2, y2) in itertools.combinations(points, 2)
        if x2 != x1
    ]
    return statistics.median(slopes) * 10_000


def test_slope_per_10k_is_the_growth_per_10k_requests() -> None:
    assert slope_per_10k([(0, 5), (10_000, 1029), (20_000, 2053)]) == 1024
    assert slope_per_10k([(0, 7), (5_000, 9), (10_000, 7)]) == 0
    # One sample far off (a burst of objects alive when it was taken) does not count.
    assert slope_per_10k([(0, 0), (1, 1), (2, 2), (3, 900), (4, 4)]) == 10_000


# Samples after the warm-up, one every 2.5 s or so; the figure is a slope over the
# second half, so the longer the run, the finer it resolves.
SAMPLES = max(8, round(SECONDS * 2 / 3 / 2.5))


async def test_memory_stays_flat_under_a_mixed_load(port: int) -> None:
    counted = [0]
    await load(port, SECONDS / 3, counted)  # warm-up: caches, pools and arenas fill
    samples = [(0, await sample(port))]
    start_count = counted[0]
    for _ in range(SAMPLES):
        await load(port, SECONDS * 2 / 3 / SAMPLES, counted)
        samples.append((counted[0] - start_count, await sample(port)))
    # The growth over the second half, when bounded caches have filled.
    half = samples[SAMPLES // 2 :]
    requests = half[-1][0] - half[0][0]
    per_10k = {
        measure: slope_per_10k([(n, state[measure]) for n, state in half])
        for measure in ("traced", "blocks", "rss_kib")
    }
    growth = per_10k["traced"] * requests / 10_000  # bytes over the half, as fitted
    print(
        f"\nsoak: {samples[-1][0]} requests after warm-up in {SECONDS:.0f} s; over the last "
        f"{requests}, per 10k requests: {per_10k['traced'] / 1024:+.2f} KiB held by Python, "
        f"{per_10k['blocks']:+.1f} allocated blocks, {per_10k['rss_kib']:+.1f} KiB of RSS; "
        f"samples (requests, traced bytes, blocks, RSS KiB, tasks): "
        f"{[(n, s['traced'], s['blocks'], s['rss_kib'], s['tasks']) for n, s in samples]}"
    )
    assert samples[-1][0] > 5 * SECONDS  # the load really ran
    # The target is flat: under 1 KiB per 10,000 requests, which only the long run can
    # resolve (docs/reliability.md). In a short run on a busy machine the last caches
    # may still be filling and a sample moves by up to 200 KiB with what is alive when
    # it is taken, so it allows 256 KiB more: over the few hundred requests of the half
    # that still fails a leak of a few kilobytes a request (what keeping a request's objects
    # costs).
    assert growth < requests / 10_000 * 1024 + 256 * 1024, samples
    assert samples[-1][1]["tasks"] <= samples[0][1]["tasks"], samples
