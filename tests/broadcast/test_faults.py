"""Redis going away mid-stream (stopped, killed, or only our pub/sub connection cut):
subscribers stay subscribed and resume; with history they miss nothing; publishers raise
at once or wait, by setting; closing during an outage leaves no task behind."""

from __future__ import annotations

import asyncio
import logging
import signal
import time
from collections.abc import Awaitable, Callable
from typing import Any

import pytest
import redis.asyncio as aioredis

from quart.broadcast import Broadcast, BroadcastUnavailable
from quart.broadcast.redis import RedisBackend
from redis_support import RedisServer

from .conftest import MakeBroadcast
from .support import PREFIX, TIMEOUT, numsub_is, outage, take, wait_until


async def kill_pubsub_connections(url: str) -> None:
    """Cut the pub/sub connections, Redis staying up (as a proxy or a network might)."""
    client = aioredis.Redis.from_url(url)
    try:
        assert await client.client_kill_filter(_type="pubsub") >= 1
    finally:
        await client.aclose()


async def until(subscription: Any, marker: Any) -> list[Any]:
    got = []
    async with asyncio.timeout(TIMEOUT):
        async for message in subscription:
            if message == marker:
                return got
            got.append(message)
    raise AssertionError("the subscription ended early")


@pytest.mark.parametrize("how", ["stop", "kill"])
async def test_without_history_subscribers_resume_and_publishers_raise_meanwhile(
    how: str, redis_server: RedisServer, broadcasts: MakeBroadcast
) -> None:
    broadcast = await broadcasts(redis_server.url)
    async with broadcast.subscribe("room") as subscription:
        await broadcast.publish("room", "before")
        assert await take(subscription, 1) == ["before"]
        outage(redis_server, how)
        started = time.monotonic()
        with pytest.raises(BroadcastUnavailable, match="Redis is unavailable"):
            await broadcast.publish("room", "during")
        assert time.monotonic() - started < 1  # at once, not after publish_timeout
        redis_server.start()
        await numsub_is(redis_server.url, "room", 1)  # the reader subscribed again
        await broadcast.publish("room", "after")
        assert await take(subscription, 1) == ["after"]


@pytest.mark.parametrize("how", ["stop", "kill"])
async def test_with_history_nothing_is_missed_across_a_restart(
    how: str, redis_server: RedisServer, broadcasts: MakeBroadcast
) -> None:
    subscriber = await broadcasts(redis_server.url, history=100)
    publisher = await broadcasts(redis_server.url, history=100, when_unavailable="wait")
    async with subscriber.subscribe("room") as subscription:
        for number in range(5):
            await publisher.publish("room", number)
        assert await take(subscription, 5) == [0, 1, 2, 3, 4]
        outage(redis_server, how)

        async def publish_more() -> list[str | None]:
            return [await publisher.publish("room", number) for number in range(5, 10)]

        waiting = asyncio.create_task(publish_more())
        await asyncio.sleep(0)  # let it start: it tries, finds Redis away, and waits
        redis_server.start()
        async with asyncio.timeout(TIMEOUT):
            ids = await waiting
        assert all(isinstance(message_id, str) for message_id in ids)
        # Published as soon as Redis was back, likely before the subscriber's reader
        # subscribed again: the catch-up from the stream brings them, once each.
        assert await take(subscription, 5) == [5, 6, 7, 8, 9]
        assert subscription.last_id == ids[-1]
        await publisher.publish("room", "end")
        assert await take(subscription, 1) == ["end"]


async def test_messages_sent_while_the_pubsub_connection_is_cut_are_caught_up(
    redis_server: RedisServer, broadcasts: MakeBroadcast, caplog: pytest.LogCaptureFixture
) -> None:
    subscriber = await broadcasts(redis_server.url, history=100)
    publisher = await broadcasts(redis_server.url, history=100)
    async with subscriber.subscribe("room") as first, subscriber.subscribe("room") as second:
        await publisher.publish("room", "before")
        assert await take(first, 1) == await take(second, 1) == ["before"]
        await kill_pubsub_connections(redis_server.url)
        # The reader waits at least 25 ms before it reconnects: these go meanwhile.
        for number in range(10):
            await publisher.publish("room", number)
        await publisher.publish("room", "end")
        assert await until(first, "end") == list(range(10))
        assert await until(second, "end") == list(range(10))
    messages = [record.getMessage() for record in caplog.records]
    assert any(message.startswith("Lost the connection to Redis") for message in messages)
    assert any(message.startswith("Reconnected to Redis") for message in messages)


async def test_without_history_a_cut_connection_loses_only_what_came_meanwhile(
    redis_server: RedisServer, broadcasts: MakeBroadcast
) -> None:
    subscriber = await broadcasts(redis_server.url)
    publisher = await broadcasts(redis_server.url)
    raw = aioredis.Redis.from_url(redis_server.url)
    try:
        async with subscriber.subscribe("room") as subscription:
            await kill_pubsub_connections(redis_server.url)
            # PUBLISH says how many connections got it: none, while ours is down.
            receivers = await raw.publish(PREFIX + "room", b"smeanwhile")
            await numsub_is(redis_server.url, "room", 1)
            await publisher.publish("room", "after")
            got = await until(subscription, "after")
    finally:
        await raw.aclose()
    assert got == (["meanwhile"] if receivers else [])


async def test_wait_mode_gives_up_after_publish_timeout(
    redis_server: RedisServer, broadcasts: MakeBroadcast
) -> None:
    broadcast = await broadcasts(redis_server.url, when_unavailable="wait", publish_timeout=0.3)
    redis_server.stop()
    started = time.monotonic()
    with pytest.raises(BroadcastUnavailable, match=r"publish_timeout \(0.3 s\)") as caught:
        await broadcast.publish("room", "nobody hears this")
    assert 0.3 <= time.monotonic() - started < 3
    assert isinstance(caught.value.__cause__, Exception)  # the last connection error


async def test_subscribing_during_an_outage_starts_when_redis_is_back(
    redis_server: RedisServer, broadcasts: MakeBroadcast
) -> None:
    broadcast = await broadcasts(redis_server.url)
    redis_server.stop()
    async with asyncio.timeout(TIMEOUT), broadcast.subscribe("room") as subscription:
        redis_server.start()
        await numsub_is(redis_server.url, "room", 1)
        await broadcast.publish("room", "welcome back")
        assert await take(subscription, 1) == ["welcome back"]


async def test_closing_during_an_outage_ends_everything_at_once(
    redis_server: RedisServer, caplog: pytest.LogCaptureFixture
) -> None:
    broadcast = Broadcast(redis_server.url, when_unavailable="wait", publish_timeout=30)
    await broadcast.connect()
    entered = asyncio.get_running_loop().create_future()

    async def listen() -> list[Any]:
        async with broadcast.subscribe("room") as subscription:
            entered.set_result(None)
            return [message async for message in subscription]

    async with asyncio.timeout(TIMEOUT):
        listener = asyncio.create_task(listen())
        await entered
        outage(redis_server, "kill")
        publishing = asyncio.create_task(broadcast.publish("room", "waits for Redis"))
        await asyncio.sleep(0)  # let it start: it finds Redis away and waits
        with caplog.at_level(logging.DEBUG, logger="quart.broadcast"):
            await broadcast.close()
        assert await listener == []  # its loop ended
        with pytest.raises(BroadcastUnavailable, match="closed"):
            await publishing  # it gave up rather than waiting 30 s


def logged(caplog: pytest.LogCaptureFixture, start: str) -> Callable[[], Awaitable[bool]]:
    async def check() -> bool:
        return any(record.getMessage().startswith(start) for record in caplog.records)

    return check


async def test_a_quiet_connection_is_checked_with_ping_and_kept(
    redis_server: RedisServer,
    broadcasts: MakeBroadcast,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    monkeypatch.setattr(RedisBackend, "health_check_interval", 0.05)
    client = aioredis.Redis.from_url(redis_server.url)

    async def pings() -> int:
        stats = await client.info("commandstats")
        return int(stats.get("cmdstat_ping", {}).get("calls", 0))

    try:
        broadcast = await broadcasts(redis_server.url)
        async with broadcast.subscribe("room") as subscription:
            before = await pings()

            async def pinged_thrice() -> bool:
                return await pings() >= before + 3

            await wait_until(pinged_thrice)
            await broadcast.publish("room", "still here")
            assert await take(subscription, 1) == ["still here"]
    finally:
        await client.aclose()
    assert not await logged(caplog, "Lost the connection")()  # answered: kept


async def test_a_frozen_redis_is_noticed_and_the_reader_reconnects(
    redis_server: RedisServer,
    broadcasts: MakeBroadcast,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    monkeypatch.setattr(RedisBackend, "health_check_interval", 0.05)
    broadcast = await broadcasts(redis_server.url, publish_timeout=0.5)
    process = redis_server.process
    assert process is not None
    async with broadcast.subscribe("room") as subscription:
        process.send_signal(signal.SIGSTOP)  # the socket stays open; nothing answers
        try:
            await wait_until(logged(caplog, "Lost the connection"))
        finally:
            process.send_signal(signal.SIGCONT)
        await wait_until(logged(caplog, "Reconnected to Redis"))
        await numsub_is(redis_server.url, "room", 1)
        await broadcast.publish("room", "awake")
        assert await take(subscription, 1) == ["awake"]


async def test_resuming_while_redis_is_away_replays_once_it_is_back(
    redis_server: RedisServer, broadcasts: MakeBroadcast
) -> None:
    broadcast = await broadcasts(redis_server.url, history=100)
    ids = [await broadcast.publish("room", number) for number in range(5)]
    client = aioredis.Redis.from_url(redis_server.url)
    try:
        await client.save()  # so that the restarted server has the history back
    finally:
        await client.aclose()
    outage(redis_server, "stop")
    # The EventSource reconnects during the outage: it is taken at once, and replayed
    # when Redis is back.
    async with asyncio.timeout(TIMEOUT), broadcast.subscribe("room", last_id=ids[1]) as resumed:
        redis_server.start()
        assert await take(resumed, 3) == [2, 3, 4]
        assert resumed.last_id == ids[4]
        await numsub_is(redis_server.url, "room", 1)
        await broadcast.publish("room", "live")
        assert await take(resumed, 1) == ["live"]
