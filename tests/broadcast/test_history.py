"""History on both backends: ids, and resuming after one (``last_id``): the kept messages
after it, then live ones, with no duplicate and no gap."""

from __future__ import annotations

import asyncio
from typing import Any

from quart.broadcast import Broadcast

from .conftest import MakeBroadcast
from .support import TIMEOUT, take, take_with_ids


def key(message_id: str | None) -> tuple[int, int]:
    assert message_id is not None
    milliseconds, sequence = message_id.split("-")
    return int(milliseconds), int(sequence)


async def until(subscription: Any, marker: Any) -> list[Any]:
    """Messages up to (not including) ``marker``."""
    got = []
    async with asyncio.timeout(TIMEOUT):
        async for message in subscription:
            if message == marker:
                return got
            got.append(message)
    raise AssertionError("the subscription ended early")


async def test_publish_returns_increasing_ids_that_subscribers_see(
    url: str, broadcasts: MakeBroadcast
) -> None:
    broadcast = await broadcasts(url, history=10)
    async with broadcast.subscribe("room") as subscription:
        assert subscription.last_id is None
        ids = [await broadcast.publish("room", {"n": number}) for number in range(5)]
        got = await take_with_ids(subscription, 5)
    assert all(isinstance(message_id, str) for message_id in ids)
    keys = [key(message_id) for message_id in ids]
    assert keys == sorted(set(keys))  # unique, increasing
    assert got == [({"n": number}, ids[number]) for number in range(5)]


async def test_resuming_replays_what_came_after_the_id_then_goes_live(
    url: str, broadcasts: MakeBroadcast
) -> None:
    broadcast = await broadcasts(url, history=100)
    ids = [await broadcast.publish("room", f"m{number}") for number in range(10)]
    await broadcast.publish("elsewhere", "another channel's history")
    async with broadcast.subscribe("room", last_id=ids[4]) as subscription:
        replayed = await take_with_ids(subscription, 5)
        live_id = await broadcast.publish("room", "live")
        assert await take_with_ids(subscription, 1) == [("live", live_id)]
        await broadcast.publish("room", "end")
        assert await take(subscription, 1) == ["end"]  # nothing twice
    assert replayed == [(f"m{number}", ids[number]) for number in range(5, 10)]


async def test_a_resume_while_messages_keep_coming_has_no_gap_and_no_duplicate(
    url: str, broadcasts: MakeBroadcast
) -> None:
    publisher = await broadcasts(url, history=1000)
    # On Redis, another Broadcast resumes, as another process would (in memory, a
    # Broadcast is a world of its own).
    subscriber = publisher if url == "memory://" else await broadcasts(url, history=1000)
    count = 300
    ids: list[str | None] = []
    halfway = asyncio.get_running_loop().create_future()

    async def publish() -> None:
        for number in range(count):
            ids.append(await publisher.publish("room", number))
            if number == 50:
                halfway.set_result(None)
            await asyncio.sleep(0)  # let the subscriber interleave

    async with asyncio.timeout(TIMEOUT):
        task = asyncio.create_task(publish())
        await halfway
        async with subscriber.subscribe("room", last_id=ids[20]) as subscription:
            got = await take(subscription, count - 21)
        await task
    assert got == list(range(21, count))


async def test_an_id_older_than_what_is_kept_replays_all_that_is_kept(
    url: str, broadcasts: MakeBroadcast
) -> None:
    broadcast = await broadcasts(url, history=5)
    count = 250
    ids = [await broadcast.publish("room", number) for number in range(count)]
    async with broadcast.subscribe("room", last_id=ids[0]) as subscription:
        await broadcast.publish("room", "live")
        kept = await until(subscription, "live")
    assert kept == list(range(count - len(kept), count))  # the newest, in order
    if url == "memory://":
        assert len(kept) == 5  # exactly history
    else:
        assert 5 <= len(kept) < count - 1  # MAXLEN ~ 5: at least 5, trimmed by whole nodes


async def test_an_id_newer_than_everything_replays_nothing_and_live_ones_arrive(
    url: str, broadcasts: MakeBroadcast
) -> None:
    broadcast = await broadcasts(url, history=10)
    await broadcast.publish("room", "old")
    future = "99999999999999-0"
    async with broadcast.subscribe("room", last_id=future) as subscription:
        await broadcast.publish("room", "live")  # its id is older than last_id
        assert await take(subscription, 1) == ["live"]


async def test_id_zero_and_a_milliseconds_only_id_are_ids(
    url: str, broadcasts: MakeBroadcast
) -> None:
    broadcast = await broadcasts(url, history=10)
    published = {await broadcast.publish("room", number): number for number in range(3)}
    async with broadcast.subscribe("room", last_id="0") as subscription:
        published[await broadcast.publish("room", "end")] = "end"
        assert await until(subscription, "end") == [0, 1, 2]
    # "<ms>" means "<ms>-0": the replay starts after it, within that millisecond.
    milliseconds = next(iter(published)).split("-")[0]  # type: ignore[union-attr]
    async with broadcast.subscribe("room", last_id=milliseconds) as subscription:
        await broadcast.publish("room", "live")
        replayed = await until(subscription, "live")
    assert replayed == [
        message
        for message_id, message in published.items()
        if key(message_id) > (int(milliseconds), 0)
    ]


async def test_without_last_id_a_subscriber_gets_no_history(
    url: str, broadcasts: MakeBroadcast
) -> None:
    broadcast = await broadcasts(url, history=10)
    await broadcast.publish("room", "old")
    async with broadcast.subscribe("room") as subscription:
        await broadcast.publish("room", "new")
        assert await take(subscription, 1) == ["new"]


async def test_a_replay_is_not_held_to_the_queue_bound(url: str, broadcasts: MakeBroadcast) -> None:
    broadcast = await broadcasts(url, history=50, queue_size=2)
    ids = [await broadcast.publish("room", number) for number in range(20)]
    async with broadcast.subscribe("room", last_id=ids[0]) as subscription:
        assert await take(subscription, 19) == list(range(1, 20))


async def test_history_is_per_channel_and_messages_keep_their_types(
    url: str,
) -> None:
    async with Broadcast(url, history=10) as broadcast:
        first = await broadcast.publish("a", "text")
        await broadcast.publish("b", "b's")
        await broadcast.publish("a", b"bytes")
        await broadcast.publish("a", {"json": [1]})
        async with broadcast.subscribe("a", last_id=first) as subscription:
            got = await take(subscription, 2)
    assert got == [b"bytes", {"json": [1]}]
