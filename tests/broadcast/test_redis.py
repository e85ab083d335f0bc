"""The Redis backend with a real Redis server: several Broadcasts (standing in for
processes) see each other's messages, a channel is subscribed on Redis once per process
and unsubscribed with its last local subscriber (checked with PUBSUB NUMSUB), however the
subscriber ends."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import pytest
import redis.asyncio as aioredis

from quart.broadcast import SubscriberTooSlow
from redis_support import RedisServer

from .conftest import MakeBroadcast
from .support import PREFIX, TIMEOUT, numsub, numsub_is, take


async def test_two_processes_see_each_others_messages_once_in_order(
    redis_server: RedisServer, broadcasts: MakeBroadcast
) -> None:
    first = await broadcasts(redis_server.url)
    second = await broadcasts(redis_server.url)
    async with (
        first.subscribe("room") as a,
        first.subscribe("room") as b,
        second.subscribe("room") as c,
    ):
        for number in range(50):
            await (first if number % 2 else second).publish("room", {"n": number})
        expected = [{"n": number} for number in range(50)]
        for subscription in (a, b, c):
            assert await take(subscription, 50) == expected
        await first.publish("room", "end")
        for subscription in (a, b, c):  # nothing came twice
            assert await take(subscription, 1) == ["end"]


async def test_a_channel_is_subscribed_once_per_process_and_left_with_its_last_subscriber(
    redis_server: RedisServer, broadcasts: MakeBroadcast
) -> None:
    url = redis_server.url
    first = await broadcasts(url)
    second = await broadcasts(url)
    assert await numsub(url, "room") == 0
    async with first.subscribe("room"):
        assert await numsub(url, "room") == 1  # confirmed before the block starts
        async with first.subscribe("room"), second.subscribe("room"):
            assert await numsub(url, "room") == 2  # one per Broadcast, not per subscriber
        await numsub_is(url, "room", 1)
    await numsub_is(url, "room", 0)


async def test_cancelling_a_task_that_iterates_unsubscribes(
    redis_server: RedisServer, broadcasts: MakeBroadcast
) -> None:
    broadcast = await broadcasts(redis_server.url)
    entered = asyncio.get_running_loop().create_future()

    async def listen() -> None:
        async with broadcast.subscribe("room") as subscription:
            entered.set_result(None)
            async for _ in subscription:
                pass

    task = asyncio.create_task(listen())
    async with asyncio.timeout(TIMEOUT):
        await entered
    assert await numsub(redis_server.url, "room") == 1
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    await numsub_is(redis_server.url, "room", 0)
    async with broadcast.subscribe("room") as again:  # the channel works as before
        await broadcast.publish("room", "hello")
        assert await take(again, 1) == ["hello"]


async def test_cancelling_a_subscriber_while_it_subscribes_leaves_nothing_behind(
    redis_server: RedisServer, broadcasts: MakeBroadcast
) -> None:
    broadcast = await broadcasts(redis_server.url)

    async def enter() -> None:
        async with broadcast.subscribe("room"):
            await asyncio.get_running_loop().create_future()  # forever

    for _ in range(5):
        task = asyncio.create_task(enter())
        await asyncio.sleep(0)  # it sends SUBSCRIBE and waits for the answer
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
    await numsub_is(redis_server.url, "room", 0)
    async with broadcast.subscribe("room") as subscription:
        assert await numsub(redis_server.url, "room") == 1
        await broadcast.publish("room", "still works")
        assert await take(subscription, 1) == ["still works"]


async def test_subscribers_entering_together_all_receive(
    redis_server: RedisServer, broadcasts: MakeBroadcast
) -> None:
    broadcast = await broadcasts(redis_server.url)
    subscriptions = [broadcast.subscribe("room") for _ in range(5)]
    await asyncio.gather(*(subscription.__aenter__() for subscription in subscriptions))
    try:
        # Each waited for Redis to confirm the channel: a message published now reaches all.
        await broadcast.publish("room", "now")
        for subscription in subscriptions:
            assert await take(subscription, 1) == ["now"]
    finally:
        for subscription in subscriptions:
            await subscription.__aexit__(None, None, None)
    await numsub_is(redis_server.url, "room", 0)


async def test_a_cut_off_subscriber_that_leaves_unsubscribes(
    redis_server: RedisServer, broadcasts: MakeBroadcast
) -> None:
    broadcast = await broadcasts(redis_server.url, queue_size=2)
    async with broadcast.subscribe("room") as slow:
        for number in range(5):
            await broadcast.publish("room", number)
        with pytest.raises(SubscriberTooSlow):
            async with asyncio.timeout(TIMEOUT):
                while True:  # it got some of them before the bound was passed
                    await anext(slow)
    await numsub_is(redis_server.url, "room", 0)


async def test_key_prefixes_keep_apps_apart(
    redis_server: RedisServer, broadcasts: MakeBroadcast
) -> None:
    url = redis_server.url
    one = await broadcasts(url, key_prefix="one:")
    two = await broadcasts(url, key_prefix="two:", history=5)
    async with one.subscribe("room") as first, two.subscribe("room") as second:
        assert await numsub(url, "room", prefix="one:") == 1
        assert await numsub(url, "room", prefix="two:") == 1
        assert await numsub(url, "room") == 0  # not under the default prefix
        await one.publish("room", "for one")
        await two.publish("room", "for two")
        assert await take(first, 1) == ["for one"]
        assert await take(second, 1) == ["for two"]
    client = aioredis.Redis.from_url(url)
    try:
        assert await client.xlen("two:room") == 1  # the history stream is named alike
        assert not await client.exists("one:room")  # no history, no stream
    finally:
        await client.aclose()


async def test_what_no_broadcast_published_is_ignored(
    redis_server: RedisServer, broadcasts: MakeBroadcast, caplog: pytest.LogCaptureFixture
) -> None:
    broadcast = await broadcasts(redis_server.url)
    client = aioredis.Redis.from_url(redis_server.url)
    try:
        async with broadcast.subscribe("room") as subscription:
            for garbage in (b"", b"garbage", b"\x00\x01", b"12-0:"):
                await client.publish(PREFIX + "room", garbage)
            await broadcast.publish("room", "real")
            with caplog.at_level(logging.WARNING, logger="quart.broadcast"):
                assert await take(subscription, 1) == ["real"]
    finally:
        await client.aclose()
    ignored = [record for record in caplog.records if "no broadcast published" in record.message]
    assert len(ignored) == 4


async def test_history_is_shared_by_processes(
    redis_server: RedisServer, broadcasts: MakeBroadcast
) -> None:
    """An EventSource reconnecting to another worker resumes where it stopped."""
    worker_one = await broadcasts(redis_server.url, history=100)
    worker_two = await broadcasts(redis_server.url, history=100)
    ids: list[Any] = [await worker_one.publish("feed", f"note {n}") for n in range(6)]
    async with worker_two.subscribe("feed", last_id=ids[2]) as subscription:
        assert await take(subscription, 3) == ["note 3", "note 4", "note 5"]
        assert subscription.last_id == ids[5]
