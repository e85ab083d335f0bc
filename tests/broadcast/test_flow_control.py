"""Flow control on both backends: each subscriber's queue is bounded; one that falls
behind is cut off (``SubscriberTooSlow``) or loses its oldest messages, by setting, and
never slows the others."""

from __future__ import annotations

import pytest

from quart.broadcast import Broadcast, SubscriberTooSlow, Subscription

from .conftest import MakeBroadcast
from .support import take


async def publish_while_one_sleeps(
    broadcast: Broadcast, fast: Subscription, numbers: range
) -> None:
    """Publish ``numbers``: ``fast`` gets each one before the next is published, while
    the other subscriber of the channel reads nothing."""
    for number in numbers:
        await broadcast.publish("room", number)
        assert await take(fast, 1) == [number]


async def test_a_subscriber_that_falls_behind_is_cut_off_and_the_others_are_not_slowed(
    url: str, broadcasts: MakeBroadcast
) -> None:
    broadcast = await broadcasts(url, queue_size=4)
    async with broadcast.subscribe("room") as slow, broadcast.subscribe("room") as fast:
        await publish_while_one_sleeps(broadcast, fast, range(20))
        with pytest.raises(SubscriberTooSlow, match="'room' fell 4 messages behind"):
            await anext(slow)
        with pytest.raises(SubscriberTooSlow):  # it stays cut off
            await anext(slow)
        await publish_while_one_sleeps(broadcast, fast, range(20, 25))
        with pytest.raises(SubscriberTooSlow):
            await anext(slow)


async def test_a_subscriber_at_the_bound_keeps_everything(
    url: str, broadcasts: MakeBroadcast
) -> None:
    broadcast = await broadcasts(url, queue_size=4)
    async with broadcast.subscribe("room") as slow, broadcast.subscribe("room") as fast:
        await publish_while_one_sleeps(broadcast, fast, range(4))
        assert await take(slow, 4) == [0, 1, 2, 3]
        assert slow.dropped == 0


async def test_drop_oldest_keeps_the_newest_messages(url: str, broadcasts: MakeBroadcast) -> None:
    broadcast = await broadcasts(url, queue_size=4, overflow="drop_oldest")
    async with broadcast.subscribe("room") as slow, broadcast.subscribe("room") as fast:
        await publish_while_one_sleeps(broadcast, fast, range(20))
        assert await take(slow, 4) == [16, 17, 18, 19]
        assert (slow.dropped, fast.dropped) == (16, 0)
        await publish_while_one_sleeps(broadcast, fast, range(20, 21))
        assert await take(slow, 1) == [20]  # and it goes on as usual
        assert slow.dropped == 16


async def test_a_cut_off_subscriber_resumes_from_its_last_id_without_a_gap(
    url: str, broadcasts: MakeBroadcast
) -> None:
    broadcast = await broadcasts(url, queue_size=3, history=100)
    async with broadcast.subscribe("room") as slow, broadcast.subscribe("room") as fast:
        await publish_while_one_sleeps(broadcast, fast, range(2))
        assert await take(slow, 2) == [0, 1]
        await publish_while_one_sleeps(broadcast, fast, range(2, 12))
        with pytest.raises(SubscriberTooSlow):
            await anext(slow)
        last_id = slow.last_id  # the last message it did get
    async with broadcast.subscribe("room", last_id=last_id) as resumed:
        assert await take(resumed, 10) == list(range(2, 12))


async def test_a_burst_far_beyond_the_bound_keeps_memory_bounded(
    url: str, broadcasts: MakeBroadcast
) -> None:
    broadcast = await broadcasts(url, queue_size=8, overflow="drop_oldest")
    async with broadcast.subscribe("room") as stalled, broadcast.subscribe("room") as last:
        for number in range(2000):
            await broadcast.publish("room", number)
        # The second subscriber's last message means both got the burst dispatched.
        got = []
        while not got or got[-1] != 1999:
            got.extend(await take(last, 1))
        assert await take(stalled, 8) == list(range(1992, 2000))
        assert stalled.dropped == 1992
